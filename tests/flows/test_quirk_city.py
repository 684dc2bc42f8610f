"""The quirk city: one generated city whose exports carry every variant a real portal throws at a profile, served
by the devkit replay portal as the city's own portal (``domain = "http://127.0.0.1:PORT"``: Socrata CSV, an ArcGIS
layer, plain files over HTTP) and run through the real Prefect pipeline with a profile the test writes as TOML.

Generator: tests/warehouse/quirk_city.py (``generate_city``, ``city_profile``). What is exercised, by dataset:

- ``crimes`` (Socrata): ``MM/DD/YYYY hh:mm:ss AM`` dates at midnight with the time of day in a separate HHMM
  integer column (``2230``, ``615``, ``5``); report times ``YYYY/MM/DD hh:mm:ss+00``; a lost millennium (1025) and the
  future (2099) quarantined ``implausible_date``, a year-1025 report time only flagged; unreadable values
  ``bad_timestamp``; ``0,0``, ``-1``, a lost decimal point, swapped lat/lon and a point in Arizona flagged; a DST gap;
  divisions spelled ``FIRST``/``second`` mapped to 1/2 by ``[areas]``; an offence no crosswalk category takes.
- ``crimes_arcgis`` (ArcGIS): epoch milliseconds, ISO report times with an offset, X/Y in State Plane feet
  (EPSG:2229) used where the geometry is missing and flagged where they disagree with it.
- ``victims`` (file CSV): ISO times whose ``Z`` is really local time, the report time chosen as the incident time,
  date-only values, a composite id (case + victim) with ``row_unit = "victim"``, a duplicate victim row, a ``drop``
  row filter, clusters written ``Cluster 8``.
- ``precincts``: a shapefile published as loose ``.shp/.shx/.dbf/.prj`` files (sidecars fetched over HTTP), in
  State Plane feet, codes ``FIRST``/``SECOND``; ``clusters``: GeoJSON with a self-crossing polygon (repaired), in
  force to 2024-02-14, and ``clusters_2024`` its redrawn vintage: each incident gets the map in force on its date.
- ``libraries``: a Latin-1 CSV read with ``encoding``; X/Y that disagree with lat/lon flagged.
- ``[places]``: a city block form of its own (``1400 HUNDRED BLOCK WILSHIRE BL``) and the ``dc_bo`` preset, read by
  the place resolver. No streets, no spending: a partial city whose run and pages say what is missing.

311-style service requests are not in this city's run: their table is checked by the profile here and loaded in
tests/warehouse/test_service_requests.py.
"""

from __future__ import annotations

import contextlib
import re
from html import unescape
from pathlib import Path

import pytest

from civicmash.devkit.city_portal import replay_routes
from civicmash.devkit.replay import ReplayPortal
from tests.conftest import run_pipeline
from tests.flows.sample_variants import profile_of, write_profile
from tests.warehouse import quirk_city as qc

pytestmark = pytest.mark.slow

CITY = qc.QUIRK_CITY


@pytest.fixture(scope="module")
def quirk_run(prefect_harness, tmp_path_factory) -> dict:
    """The quirk city generated, served by its own loopback portal and run through ``civic_pipeline`` (all four
    maps asked for) with the profile written as TOML; the summary plus ``out`` and ``profile`` (the file)."""
    root = qc.generate_city(tmp_path_factory.mktemp("quirk_city"))
    out = tmp_path_factory.mktemp("quirk_out")
    served = profile_of(qc.city_profile())          # the replay paths say which file the portal serves
    with ReplayPortal(root, replay_routes(served, root)) as portal:
        base_url = portal.base_url
        profile = write_profile(out / f"{CITY}.toml", qc.city_profile(base_url))
        summary = run_pipeline(CITY, out=str(out), profile_path=str(profile))
    return {**summary, "out": out, "profile": profile, "base_url": base_url}


@pytest.fixture(scope="module")
def con(quirk_run):
    from civicmash.warehouse.db import connect

    with contextlib.closing(connect(quirk_run["warehouse"], read_only=True)) as connection:
        yield connection


def _sql(con, sql: str, *params) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def _record(con, source_id: str) -> dict:
    row = con.execute(
        """SELECT strftime(occurred_at, '%Y-%m-%d %H:%M') AS occurred_at,
                  strftime(timezone('UTC', occurred_at_utc), '%Y-%m-%d %H:%M') AS utc,
                  strftime(reported_at, '%Y-%m-%d %H:%M') AS reported_at,
                  strftime(occurred_start_at, '%Y-%m-%d %H:%M') AS start, time_unknown, time_flag, location_flag,
                  lat, lon, district, community_area, area_mismatch, offence, case_number
           FROM incidents WHERE city = ? AND source_id = ?""", [CITY, source_id])
    values = con.fetchone()
    assert values is not None, f"incident {source_id} was not loaded"
    return dict(zip([d[0] for d in row.description], values))


def _loads(quirk_run) -> dict[str, dict]:
    return {r["dataset"]: r for r in quirk_run["datasets"]}


# --- reconciliation: rows in = loaded + quarantined, each reason counted ------------------------------------------

ROWS_IN = {"crimes": qc.FILLER + 15, "crimes_arcgis": 4, "victims": 6, "precincts": 2, "clusters": 3,
           "clusters_2024": 2, "libraries": 2}
REASONS = {
    "crimes": {("implausible_date", "occurred_at"): 2, ("bad_timestamp", "occurred_at"): 1,
               ("bad_timestamp", "occurred_time"): 1},
    "victims": {("duplicate_source_id", "source_id"): 1, ("excluded_by_profile", "drop Status: one of UNFOUNDED"): 1},
}


def test_every_dataset_reconciles_reason_by_reason(quirk_run, con):
    assert quirk_run["status"] == "completed", quirk_run.get("health")   # the limits the profile states hold
    loads = _loads(quirk_run)
    assert {n: r["rows_in"] for n, r in loads.items()} == ROWS_IN
    for name, r in loads.items():
        assert r["rows_in"] == r["rows_loaded"] + r["rows_quarantined"], r
        got = {(reason, field): n for reason, field, n in _sql(
            con, "SELECT reason, field, count(*) FROM quarantine WHERE city = ? AND dataset = ? GROUP BY ALL",
            CITY, name)}
        assert got == REASONS.get(name, {}), name
        assert sum(got.values()) == r["rows_quarantined"]
    assert {(q["dataset"], q["source_id"]) for q in [dict(zip(("dataset", "source_id"), t)) for t in _sql(
        con, "SELECT dataset, source_id FROM quarantine WHERE city = ?", CITY)]} == {
        ("crimes", "S04"), ("crimes", "S05"), ("crimes", "S11"), ("crimes", "S12"), ("victims", "Q100|1"),
        ("victims", "Q102|1")}
    health = {h["dataset"]: h for h in quirk_run["health"]}
    assert {(x["reason"], x["field"]): x["rows"] for x in health["crimes"]["reasons"]} == REASONS["crimes"]


# --- time: every format, zones, several time columns -------------------------------------------------------------

TIMES = {   # source_id -> (occurred_at local, its UTC instant, reported_at local, occurred_start_at, unknown, flag)
    "S01": ("2024-02-14 22:30", "2024-02-15 06:30", "2024-02-15 00:00", "2024-02-14 22:30", False, None),  # HHMM 2230
    "S02": ("2024-02-14 06:15", "2024-02-14 14:15", "2024-02-20 10:00", "2024-02-14 06:15", False, None),  # 615
    "S03": ("2024-02-15 00:05", "2024-02-15 08:05", "2024-02-20 10:00", "2024-02-15 00:05", False, None),  # 5
    "S14": ("2024-03-10 02:30", "2024-03-10 10:30", "2024-02-20 10:00", "2024-03-10 02:30", False, "dst_gap"),
    "A01": ("2024-02-19 22:30", "2024-02-20 06:30", "2024-02-20 09:15", "2024-02-19 22:30", False, None),  # epoch ms
    "A04": ("2024-03-01 12:00", "2024-03-01 20:00", "2024-03-01 04:00", "2024-03-01 12:00", False, None),  # ...Z
    # Z is local, and the profile makes the report time the incident time: the occurrence stays the start
    "Q100|1": ("2024-02-11 09:30", "2024-02-11 17:30", "2024-02-11 09:30", "2024-02-10 21:00", False, None),
    "Q103|1": ("2024-02-14 22:15", "2024-02-15 06:15", "2024-02-14 22:15", "2024-02-14 10:00", False, None),
    "Q101|1": ("2024-02-12 00:00", "2024-02-12 08:00", "2024-02-12 00:00", "2024-02-12 00:00", True, None),  # dates
}


def test_each_time_format_zone_and_column_lands_right(con):
    keys = ("occurred_at", "utc", "reported_at", "start", "time_unknown", "time_flag")
    got = {sid: tuple(_record(con, sid)[k] for k in keys) for sid in TIMES}
    assert got == TIMES


def test_implausible_dates_are_quarantined_or_flagged_and_counted(quirk_run, con):
    s06 = _record(con, "S06")                       # a year-1025 report time beside a good occurrence: flagged
    assert (s06["occurred_at"], s06["time_flag"]) == ("2024-02-16 18:00", "implausible_reported_at")
    flags = _loads(quirk_run)["crimes"]["flags"]
    assert flags["implausible_reported_at"] == 1 and flags["dst_gap"] == 1


# --- coordinates -------------------------------------------------------------------------------------------------

def test_implausible_coordinates_are_flagged_and_counted(quirk_run, con):
    want = {"S07": "invalid_coordinates", "S08": "sentinel_coordinates", "S09": "misplaced_decimal",
            "S10": "outside_city", "S15": "swapped_coordinates"}
    got = {sid: _record(con, sid) for sid in want}
    assert {sid: r["location_flag"] for sid, r in got.items()} == want
    assert all(got[sid]["lat"] is None for sid in ("S07", "S08", "S09", "S15"))   # never moved, not mapped
    assert (got["S10"]["lat"], got["S10"]["lon"]) == qc.PHOENIX                   # kept where published, flagged
    flags = _loads(quirk_run)["crimes"]["flags"]
    assert {f: flags.get(f) for f in want.values()} == dict.fromkeys(want.values(), 1)


def test_state_plane_coordinates_and_disagreeing_positions(quirk_run, con):
    a02 = _record(con, "A02")                       # no geometry: X/Y in EPSG:2229 feet give the point
    assert abs(a02["lat"] - qc.P3[0]) * 111_000 < 1 and abs(a02["lon"] - qc.P3[1]) * 92_000 < 1
    a03 = _record(con, "A03")                       # geometry and X/Y 2 km apart: flagged, the geometry kept
    assert (a03["location_flag"], a03["lat"], a03["lon"]) == ("coordinates_disagree", *qc.P1)
    libraries = dict(_sql(con, "SELECT name, coalesce(location_flag, 'ok') FROM services WHERE city = ?", CITY))
    assert libraries == {"Biblioteca Peñasco": "ok", "Café Ñandú Reading Room": "coordinates_disagree"}
    assert _loads(quirk_run)["crimes_arcgis"]["flags"]["coordinates_disagree"] == 1


# --- areas: the city's own kinds and code value maps ----------------------------------------------------------------

def test_area_kinds_code_value_maps_and_vintages(con):
    boundaries = set(_sql(con, "SELECT dataset, kind, code, name FROM boundaries WHERE city = ?", CITY))
    assert boundaries == {("precincts", "precinct", "1", "First Precinct"),
                          ("precincts", "precinct", "2", "Second Precinct"),
                          *{("clusters", "neighbourhood_cluster", str(n), f"Cluster {n}") for n in (8, 9, 10)},
                          *{("clusters_2024", "neighbourhood_cluster", str(n), f"Cluster {n}") for n in (8, 9)}}
    areas = {sid: (r["district"], r["community_area"]) for sid in ("S01", "S02", "S03", "A02", "Q100|1", "Q103|1")
             for r in [_record(con, sid)]}
    # FIRST / "second" / " First " -> 1, 2, 1; A02 and the victims state no precinct: filled from the coordinates.
    # The clusters were redrawn on 2024-02-15 (8 and 9 swap places): S01 (14 Feb, P1) is in 8 on the old map,
    # S03 (15 Feb, the same point) in 9 on the new one; A02 (21 Feb, P3) in 9, Q100 (11 Feb, P3) in 8.
    assert areas == {"S01": (1, 8), "S02": (2, 9), "S03": (1, 9), "A02": (2, 9), "Q100|1": (2, 8), "Q103|1": (1, 9)}
    assert "community_area" in (_record(con, "Q103|1")["area_mismatch"] or "")   # "cluster 9" stated at cluster 8
    assert _sql(con, "SELECT count(*) FROM incidents WHERE city = ? AND (ward IS NOT NULL OR beat IS NOT NULL)",
                CITY)[0][0] == 0


def test_the_invalid_polygon_is_repaired_and_the_shapefile_came_with_its_sidecars(quirk_run, con):
    rows = _sql(con, "SELECT dataset, code, geom_repaired, ST_IsValid(geom), ST_XMin(geom), ST_YMax(geom) "
                     "FROM boundaries WHERE city = ? ORDER BY 1, 2", CITY)
    assert [(d, c, r, v) for d, c, r, v, _, _ in rows] == [
        ("clusters", "10", True, True), ("clusters", "8", False, True), ("clusters", "9", False, True),
        ("clusters_2024", "8", False, True), ("clusters_2024", "9", False, True),
        ("precincts", "1", False, True), ("precincts", "2", False, True)]
    west, north = {c: (x, y) for d, c, _, _, x, y in rows if d == "precincts"}["1"]   # .prj read: feet -> degrees
    assert abs(west - -118.32) < 1e-4 and abs(north - 34.08) < 1e-4
    assert _loads(quirk_run)["clusters"]["flags"]["geom_repaired"] == 1


# --- categories, identity, filters, encodings ----------------------------------------------------------------------

def test_offence_crosswalk_reports_the_unmapped_value(quirk_run, con):
    assert _sql(con, "SELECT dataset, source_value, rows FROM offence_unmapped WHERE city = ?", CITY) == [
        ("crimes", "JAYWALKING", 1)]
    assert _record(con, "S13")["offence"] is None and _record(con, "S01")["offence"] == "robbery"
    line = quirk_run["offences"]["line"]
    assert "1 unmapped (1 source values)" in line and "'JAYWALKING' 1 (crimes)" in line
    assert _sql(con, "SELECT count(*) FROM incidents WHERE city = ? AND offence IS NULL", CITY)[0][0] == 1


def test_composite_ids_and_one_row_per_victim(con):
    victims = _sql(con, "SELECT source_id, case_number FROM incidents WHERE city = ? AND dataset = 'victims' "
                        "ORDER BY 1", CITY)
    assert victims == [("Q100|1", "Q100"), ("Q100|2", "Q100"), ("Q101|1", "Q101"), ("Q103|1", "Q103")]
    assert dict(_sql(con, "SELECT dataset, row_unit FROM datasets WHERE city = ? AND table_name = 'incidents'",
                     CITY)) == {"crimes": "case", "crimes_arcgis": "case", "victims": "victim"}


def test_the_latin1_file_is_read_with_its_encoding(con):
    names = {n for (n,) in _sql(con, "SELECT name FROM services WHERE city = ?", CITY)}
    assert names == {"Biblioteca Peñasco", "Café Ñandú Reading Room"}


# --- places: the city's block forms --------------------------------------------------------------------------------

def test_the_city_block_patterns_are_resolved_by_the_place_resolver(quirk_run, con):
    from civicmash.analysis.places import resolve
    from civicmash.cities.profile import load_profile

    patterns = load_profile(quirk_run["profile"]).places.block_patterns()
    own = resolve(con, city=CITY, text="1423 hundred block Wilshire Bl", patterns=patterns)   # the city's own form
    assert own.kind in ("address", "block") and (own.lat, own.lon) == qc.P1, own
    preset = resolve(con, city=CITY, text="520 B/O S Normandie Ave", patterns=patterns)   # the dc_bo preset
    assert preset.kind in ("address", "block") and (round(preset.lat, 6), round(preset.lon, 6)) == qc.P3, preset


# --- portals as they are, and a partial city -----------------------------------------------------------------------

def test_an_http_host_port_domain_is_fetched_as_written(quirk_run, con):
    assert quirk_run["base_url"].startswith("http://127.0.0.1:")
    text = Path(quirk_run["profile"]).read_text(encoding="utf-8")
    assert f'"domain" = "{quirk_run["base_url"]}"' in text and "replay" not in text
    urls = dict(_sql(con, "SELECT dataset, portal_url FROM datasets WHERE city = ?", CITY))
    assert urls["crimes"] == f"{quirk_run['base_url']}/resource/qrk1-crim"
    assert all(u.startswith(quirk_run["base_url"]) for u in urls.values()), urls


def _missing_notice(html: str) -> list[str]:
    section = re.search(r'<section class="cm-missing" id="missing".*?</section>', html, re.DOTALL)
    return [unescape(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", section.group(0))] if section else []


def test_a_partial_city_builds_what_its_data_allows_and_says_what_is_missing(quirk_run):
    assert set(quirk_run["maps"]) == {"explorer"}
    skipped = quirk_run["skipped_maps"]
    assert set(skipped) == {"safe_route", "locator", "spending", "providers"}
    assert "no outcomes of service locations" in skipped["providers"]
    assert "no street network" in skipped["safe_route"] and "street network" in skipped["locator"]
    assert "no spending rows" in skipped["spending"]
    html = Path(quirk_run["maps"]["explorer"]).read_text(encoding="utf-8")
    assert _missing_notice(html) == ["No population figures: no rates per 1,000 residents."]
    assert "Synthetic sample data" in html or "synthetic" in html.lower()


def test_the_explorer_areas_are_the_city_s_own(quirk_run):
    html = Path(quirk_run["maps"]["explorer"]).read_text(encoding="utf-8")
    labels = dict(re.findall(r'<label for="(f-[a-z]+)">([^<]+)</label>', html))
    assert labels.get("f-district") == "Precinct" and labels.get("f-ca") == "Neighbourhood cluster", labels
    assert "f-beat" not in labels and "f-ward" not in labels
    assert not re.search(r">\s*(Community area|Police beat|Police district|Ward)\s*<", html)


# --- what the profile cannot say yet -------------------------------------------------------------------------------

def test_service_requests_are_a_table_a_profile_can_feed():
    """A city's 311 requests (streetlight outages for the safe route's unlit factor, response times as outcomes):
    the canonical ``service_requests`` table (loaded and tested in tests/warehouse/test_service_requests.py)."""
    raw = qc.city_profile()
    raw["datasets"]["requests"] = {**raw["datasets"]["libraries"], "table": "service_requests"}
    raw["datasets"]["requests"].pop("kind")
    raw["datasets"]["requests"]["fields"] = {"request_id": "id", "request_type": "type", "opened_at": "opened"}
    raw["datasets"]["requests"]["options"] = {"streetlight_types": ["Street Light Out"]}
    profile = profile_of(raw)
    assert profile.datasets["requests"].table_options.streetlight_types == ["Street Light Out"]
