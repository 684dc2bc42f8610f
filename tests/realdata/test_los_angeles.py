"""`civicmash run los_angeles --replay ../shared/data/los_angeles`: the second real city, from its profile alone.

One run of the Prefect pipeline over the real Los Angeles bundle (through the loopback replay portal) into a
temporary warehouse, then: every dataset reconciles (rows in = loaded + quarantined, each reason counted, rows in
recounted from the raw files); counts by crime type, LAPD division, reporting district, day and hour recomputed
from the raw CSV with the csv module equal the warehouse and the explorer page; the maps the data supports exist;
the Koreatown centrelines are one routable graph; ``route`` and ``locate`` answer there. The bundle's format
fixtures and its licence-unclear population file run through ``tests/profiles/los_angeles_formats.toml`` into a
warehouse of their own. Every figure asserted comes from the bundle's PROVENANCE.md or from the raw files.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from civicmash.cities.profile import load_profile
from civicmash.maps import _packed
from civicmash.maps.render import page_data
from civicmash.warehouse import db

from tests.conftest import run_pipeline

pytestmark = pytest.mark.slow

CITY = "los_angeles"
CRIMES = "crime/lapd_crimes_2024-02-01_to_2024-03-31.csv"
CRIME_ROWS = 30_371
FORMATS_PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "los_angeles_formats.toml"
SHAPEFILES = ("lapd_reporting_districts", "la_city_council_districts_2012")
EPOCH = datetime(1970, 1, 1)
KOREATOWN = {"from": "34.0637,-118.2986", "to": "34.0690,-118.2917", "near": "34.0618,-118.3009"}


# --- fixtures ----------------------------------------------------------------------------------------------------
# `la_dir` and `la_run` (the one Los Angeles pipeline run of the session, shared with the browser tests) are in
# tests/conftest.py; `_run` is the same runner for this module's own runs (the format fixtures).

_run = run_pipeline


@pytest.fixture(scope="module")
def con(la_run):
    with contextlib.closing(db.connect(la_run["warehouse"], read_only=True)) as connection:
        yield connection


@pytest.fixture(scope="module")
def raw_crimes(la_dir) -> list[dict]:
    with open(la_dir / CRIMES, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def explorer_incidents(la_run) -> tuple[dict, dict]:
    """The explorer page's own incident data, decoded from the published HTML."""
    html = Path(la_run["maps"]["explorer"]).read_text(encoding="utf-8")
    data = page_data(html)
    return _packed.unpack(data["incidents"])


def _sql(con, sql: str, *params) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def _csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[dict]:
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.DictReader(f))


# --- the profile -------------------------------------------------------------------------------------------------

def test_every_dataset_says_its_title_licence_and_replay_file(la_dir):
    profile = load_profile(CITY)
    for name, spec in profile.datasets.items():
        assert spec.title and spec.replay, name
        assert not spec.licence.startswith("unknown"), f"{name}: licence not stated"
        assert (la_dir / spec.replay).is_file(), f"{name}: {spec.replay} not in the bundle"


def test_fixtures_and_unpublishable_files_are_only_in_the_test_profile():
    """The SODA first page (2020 rows), the payments head, the 2025 shelter vintage and the licence-unclear
    population file are in the test profile; the city's profile has none of them and no population at all,
    so no map built from it can show the Mapping L.A. figures."""
    city = load_profile(CITY).datasets
    fixtures = load_profile(FORMATS_PROFILE).datasets
    assert not {s.replay for s in city.values()} & {s.replay for s in fixtures.values()}
    assert "demographics/mappingla_neighborhood_population.csv" in {s.replay for s in fixtures.values()}
    assert not [n for n, s in city.items() if s.table == "population"]


# --- reconciliation ----------------------------------------------------------------------------------------------

def _raw_record_count(path: Path) -> int | None:
    """Records in a raw bundle file, counted without civicmash (None for formats counted elsewhere)."""
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            return sum(1 for _ in csv.DictReader(f))
    if path.suffix in (".geojson", ".json"):
        return len(json.loads(path.read_text(encoding="utf-8"))["features"])
    return None


def test_every_dataset_reconciles_reason_by_reason(la_run, con, la_dir):
    profile = load_profile(CITY)
    loaded = {r["dataset"]: r for r in la_run["datasets"]}
    assert set(loaded) == set(profile.datasets)
    by_reason = _sql(con, "SELECT dataset, reason, count(*) FROM quarantine WHERE city = ? AND run_id = ? "
                          "GROUP BY ALL", CITY, la_run["run_id"])
    for name, r in loaded.items():
        assert r["rows_in"] == r["rows_loaded"] + r["rows_quarantined"], r
        assert sum(n for d, _, n in by_reason if d == name) == r["rows_quarantined"], name
        spec = profile.datasets[name]
        raw = _raw_record_count(la_dir / spec.replay) if spec.table != "streets" else None
        if raw is not None:
            assert r["rows_in"] == raw, f"{name}: {r['rows_in']} rows in, the raw file has {raw}"


def test_the_run_is_healthy(la_run):
    """No dataset loads nothing or quarantines more than its limit (needs run health, the per-dataset time
    formats and the HHMM time column: without them every crime is quarantined or at midnight)."""
    assert la_run["status"] == "completed", la_run.get("health")


def test_every_crime_loads_with_its_time_of_day(la_run, con, raw_crimes):
    crimes = next(r for r in la_run["datasets"] if r["dataset"] == "crimes")
    assert len(raw_crimes) == crimes["rows_in"] == CRIME_ROWS
    assert crimes["rows_quarantined"] == 0
    got = dict(_sql(con, "SELECT strftime(occurred_at, '%H%M'), count(*) FROM incidents WHERE city = ? "
                         "GROUP BY 1", CITY))
    assert got == Counter(r["TIME OCC"] for r in raw_crimes)   # "0001" stays 00:01, "1200" stays noon
    assert got["1200"] == 711 and got["0001"] == 348           # the LAPD's placeholder times (PROVENANCE.md)


# --- the independent recount -------------------------------------------------------------------------------------

def _raw_counts(raw_crimes: list[dict]) -> dict[str, Counter]:
    """Counts by type, division, reporting district, day and hour, from the raw CSV alone."""
    def day(row):
        return datetime.strptime(row["DATE OCC"], "%m/%d/%Y %I:%M:%S %p").date().isoformat()
    return {
        "type": Counter(r["Crm Cd Desc"].strip() for r in raw_crimes),
        "district": Counter(str(int(r["AREA"])) for r in raw_crimes),
        "beat": Counter(r["Rpt Dist No"] for r in raw_crimes),
        "day": Counter(day(r) for r in raw_crimes),
        "hour": Counter(int(r["TIME OCC"][:2]) for r in raw_crimes),
    }


def test_counts_by_type_area_and_time_equal_the_raw_file(con, raw_crimes):
    raw = _raw_counts(raw_crimes)
    assert len(raw["district"]) == 21 and len(raw["beat"]) == 1_123   # PROVENANCE.md
    got = {
        "type": _sql(con, "SELECT primary_type, count(*) FROM incidents WHERE city = ? GROUP BY 1", CITY),
        "district": _sql(con, "SELECT CAST(district AS VARCHAR), count(*) FROM incidents WHERE city = ? GROUP BY 1",
                         CITY),
        "beat": _sql(con, "SELECT beat, count(*) FROM incidents WHERE city = ? GROUP BY 1", CITY),
        "day": _sql(con, "SELECT strftime(occurred_at, '%Y-%m-%d'), count(*) FROM incidents WHERE city = ? "
                         "GROUP BY 1", CITY),
        "hour": _sql(con, "SELECT hour(occurred_at), count(*) FROM incidents WHERE city = ? GROUP BY 1", CITY),
    }
    for key, rows in got.items():
        assert dict(rows) == raw[key], key
    assert raw["day"]["2024-03-01"] == 702 and raw["day"]["2024-03-31"] == 207   # the month-end dip


def test_the_explorer_page_holds_the_same_counts(explorer_incidents, raw_crimes):
    header, cols = explorer_incidents
    raw = _raw_counts(raw_crimes)
    assert header["n"] == CRIME_ROWS
    kind, place = cols["kind"].astype(int), cols["place"].astype(int)
    types = Counter(header["types"][int(cols["k_type"][k])] for k in kind)
    districts = Counter(header["areas"]["district"][int(cols["p_district"][p])] for p in place)
    minutes = (header["t0"] + cols["dt"].cumsum()).astype(int)   # local minutes since 1970
    hours = Counter(int(m // 60 % 24) for m in minutes)
    days = Counter((EPOCH + timedelta(minutes=int(m))).date().isoformat() for m in minutes)
    assert types == raw["type"]
    assert districts == raw["district"]
    assert hours == raw["hour"]
    assert days == raw["day"]


# --- the products ------------------------------------------------------------------------------------------------

def test_the_maps_the_data_supports_exist(la_run):
    assert set(la_run["maps"]) == {"explorer", "safe_route", "locator", "spending"}, la_run.get("skipped_maps")
    for kind, path in la_run["maps"].items():
        html = Path(path).read_text(encoding="utf-8")
        assert len(html) > 10_000, kind
        assert 'id="synthetic-banner"' not in html   # the words are in every page's message catalogue
        assert "mappingla" not in html.lower() and "Mapping L.A. population" not in html
    assert "2nrs-mtv8" in Path(la_run["maps"]["explorer"]).read_text(encoding="utf-8")


def test_the_explorer_areas_are_the_lapd_divisions(con):
    """The 21 divisions are drawn, and every crime's division (AREA "01") is one of them (PREC 1)."""
    codes = {c for (c,) in _sql(con, "SELECT code FROM boundaries WHERE city = ? AND kind = 'district'", CITY)}
    assert codes == {str(n) for n in range(1, 22)}
    assert _sql(con, "SELECT count(*) FROM incidents WHERE city = ? AND CAST(district AS VARCHAR) NOT IN "
                     f"({', '.join(repr(c) for c in sorted(codes))})", CITY)[0][0] == 0


def test_koreatown_centrelines_are_one_routable_graph(con, la_dir):
    """Endpoints matched to 1e-6 degree give exactly the INT_ID_FROM/INT_ID_TO graph: the 669 intersection ids of
    the raw file are 669 endpoint nodes in the warehouse (shape points become nodes of degree 2), and the 1,011
    block segments form one connected component (PROVENANCE.md)."""
    raw = json.loads((la_dir / "streets/navigatela_streets_centerline_koreatown_2026.geojson").read_text())
    ends = {}
    for feature in raw["features"]:
        line, props = feature["geometry"]["coordinates"], feature["properties"]
        for end, node_id in ((line[0], props["INT_ID_FROM"]), (line[-1], props["INT_ID_TO"])):
            ends[(round(end[1], 6), round(end[0], 6))] = node_id
    assert len(raw["features"]) == 1_011 and len(ends) == len(set(ends.values())) == 669
    nodes = {(round(lat, 6), round(lon, 6)): n for n, lat, lon in _sql(
        con, "SELECT node_id, lat, lon FROM street_nodes WHERE city = ? AND dataset = 'streets_koreatown'", CITY)}
    assert set(ends) <= set(nodes)
    parent = {n: n for n in nodes.values()}

    def root(n):
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for u, v in _sql(con, "SELECT u, v FROM street_edges WHERE city = ? AND dataset = 'streets_koreatown' "
                          "AND superseded_by IS NULL", CITY):
        parent[root(u)] = root(v)
    assert len({root(n) for n in parent}) == 1


def test_licensed_premises_are_venues_but_not_bars(con, la_dir):
    assert _sql(con, "SELECT count(*) FROM venues WHERE city = ? AND dataset = 'onsale_premises' "
                     "AND venue_type = 'on_sale_premises'", CITY)[0][0] == 1_831
    assert _sql(con, "SELECT count(*) FROM venues_bars WHERE city = ?", CITY)[0][0] == 0
    raw = _csv_rows(la_dir / "licenses/active_businesses_full_service_restaurants.csv")
    zero = sum(1 for r in raw if r["LOCATION"].replace(" ", "") == "(0.0,0.0)")
    empty = sum(1 for r in raw if not r["LOCATION"].strip())
    assert (zero, empty) == (59, 201)   # PROVENANCE.md
    flags = dict(_sql(con, "SELECT location_flag, count(*) FROM venues WHERE city = ? AND dataset = 'restaurants' "
                           "GROUP BY 1", CITY))
    assert flags["missing_coordinates"] == empty
    assert flags["invalid_coordinates"] == zero


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The installed ``civicmash`` command, as a reader runs it."""
    return subprocess.run([str(Path(sys.executable).parent / "civicmash"), *args], capture_output=True, text=True,
                          timeout=300)


def test_route_and_locate_answer_in_koreatown(la_run):
    out = str(la_run["out"])
    route = _cli("route", "--city", CITY, "--from", KOREATOWN["from"], "--to", KOREATOWN["to"], "--at", "23:00",
                 "--format", "json", "--out", out)
    assert route.returncode == 0, route.stderr
    assert "shortest" in route.stdout
    locate = _cli("locate", "--city", CITY, "--near", KOREATOWN["near"], "--category", "police,library",
                  "--format", "json", "--out", out)
    assert locate.returncode == 0, locate.stderr
    assert "library" in locate.stdout and "police" in locate.stdout


# --- the format fixtures and the test-only files -----------------------------------------------------------------

@pytest.fixture(scope="module")
def formats_replay(la_dir, tmp_path_factory) -> Path:
    """The bundle as the test profile reads it: a copy of its files (the replay portal serves nothing outside its
    root, links included), plus each shapefile's .shp/.shx/.dbf/.prj zipped byte for byte (a shapefile comes
    zipped over HTTP)."""
    root = tmp_path_factory.mktemp("los_angeles_formats_replay")
    for spec in load_profile(FORMATS_PROFILE).datasets.values():
        if not spec.replay.endswith(".zip"):
            (root / spec.replay).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(la_dir / spec.replay, root / spec.replay)
    (root / "boundaries").mkdir(exist_ok=True)
    for stem in SHAPEFILES:
        with zipfile.ZipFile(root / "boundaries" / f"{stem}.zip", "w") as z:
            for part in (la_dir / "boundaries").glob(f"{stem}.*"):
                z.write(part, part.name)
    return root


@pytest.fixture(scope="module")
def formats_run(prefect_harness, formats_replay, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("los_angeles_formats_out")
    datasets = [n for n in load_profile(FORMATS_PROFILE).datasets if n != "population"]
    return _run("los_angeles_formats", out=str(out), replay=str(formats_replay), profile_path=str(FORMATS_PROFILE),
                maps=[], datasets=datasets)


@pytest.fixture(scope="module")
def fcon(formats_run):
    with contextlib.closing(db.connect(formats_run["warehouse"], read_only=True)) as connection:
        yield connection


def test_the_soda_first_page_loads_with_its_iso_dates_and_padded_codes(fcon, la_dir):
    raw = _csv_rows(la_dir / "crime/lapd_crime_soda_api_first1000.csv")
    got = dict(_sql(fcon, "SELECT source_id, strftime(occurred_at, '%Y-%m-%d %H%M') FROM incidents "
                          "WHERE dataset = 'crimes_soda_first1000'"))
    assert got == {r["dr_no"]: f"{r['date_occ'][:10]} {r['time_occ']}" for r in raw}
    assert sum(1 for r in raw if r["date_occ"].startswith("2020-01")) == 895


def test_reporting_districts_join_the_crimes_once_padded(fcon, raw_crimes):
    """The layer's "101" and the crimes' "0101" are one code; only 0663, 0244 and 1400 are missing."""
    codes = {c for (c,) in _sql(fcon, "SELECT code FROM boundaries WHERE dataset = 'reporting_districts'")}
    assert all(len(c) == 4 for c in codes)
    missing = Counter(r["Rpt Dist No"] for r in raw_crimes if r["Rpt Dist No"] not in codes)
    assert missing == {"0663": 74, "0244": 1, "1400": 1}
    council = {c for (c,) in _sql(fcon, "SELECT code FROM boundaries WHERE dataset = 'council_districts_2012'")}
    assert council == {f"{n:02d}" for n in range(1, 16)}


def test_the_budget_total_row_is_excluded_by_the_profile_and_counted(con, la_run, la_dir):
    """`keep = { "Dept Code" = "not_empty" }` sets the grand total and the empty last row aside as
    excluded_by_profile (never dropped); the lines loaded add up to the published total, recounted with csv."""
    raw = _csv_rows(la_dir / "spending/budget_fy2021-22_expenditures_sec2_adopted.csv")
    lines = [r for r in raw if r["Dept Code"].strip()]
    total = [int(r["2021-22 Adopted"]) for r in raw if not r["Dept Code"].strip() and r["2021-22 Adopted"]]
    assert (len(raw), len(raw) - len(lines), total) == (6_057, 2, [11_480_288_113])   # PROVENANCE.md
    amounts = [int(r["2021-22 Adopted"]) for r in lines if r["2021-22 Adopted"].strip()]
    got = _sql(con, "SELECT count(*), sum(amount), count(*) FILTER (WHERE department IS NULL) FROM spending "
                    "WHERE city = ? AND dataset = 'budget_2021_22'", CITY)[0]
    assert (got[0], float(got[1]), got[2]) == (len(amounts), float(sum(amounts)), 0)
    assert sum(amounts) == total[0]
    reasons = dict(_sql(con, "SELECT reason || ' ' || field, count(*) FROM quarantine WHERE city = ? "
                             "AND dataset = 'budget_2021_22' GROUP BY 1", CITY))
    assert reasons == {"excluded_by_profile keep Dept Code: not_empty": 2,
                       "missing_required amount": len(lines) - len(amounts)}
    budget = next(r for r in la_run["datasets"] if r["dataset"] == "budget_2021_22")
    assert budget["rows_in"] == len(raw) == budget["rows_loaded"] + budget["rows_quarantined"]


def test_the_shapefiles_load_from_their_loose_files(con, raw_crimes, la_dir):
    """The .shp URLs bring their .shx/.dbf/.prj: 1,135 reporting districts (kind beat) and the 15 council districts
    of 2012 (their own kind: no crime is stamped with a ward from them)."""
    beats = {c for (c,) in _sql(con, "SELECT code FROM boundaries WHERE city = ? AND dataset = 'reporting_districts'",
                                CITY)}
    assert len(_sql(con, "SELECT 1 FROM boundaries WHERE city = ? AND dataset = 'reporting_districts'", CITY)) == 1_135
    assert Counter(r["Rpt Dist No"] for r in raw_crimes if r["Rpt Dist No"] not in beats) == {
        "0663": 74, "0244": 1, "1400": 1}
    council = _sql(con, "SELECT code, kind FROM boundaries WHERE city = ? AND dataset = 'council_districts_2012'", CITY)
    assert {c for c, _ in council} == {f"{n:02d}" for n in range(1, 16)}
    assert {k for _, k in council} == {"council_district_2012"}
    assert _sql(con, "SELECT count(*) FROM incidents WHERE city = ? AND ward IS NOT NULL", CITY)[0][0] == 0


def test_the_invalid_neighbourhoods_are_repaired_and_flagged(con, la_run):
    rows = _sql(con, "SELECT count(*), count(*) FILTER (WHERE geom_repaired), bool_and(ST_IsValid(geom)) "
                     "FROM boundaries WHERE city = ? AND dataset = 'neighbourhoods'", CITY)[0]
    assert rows == (114, 17, True)   # docs/new-city.md: 17 of the 114 polygons are invalid as published
    load = next(r for r in la_run["datasets"] if r["dataset"] == "neighbourhoods")
    assert load["flags"]["geom_repaired"] == 17


def test_the_parks_stand_on_the_last_pair_of_their_cell(con, la_dir):
    raw = _csv_rows(la_dir / "services/rap_facilities_and_parks.csv")
    pair = re.compile(r"\(\s*([-+]?[0-9.]+)\s*,\s*([-+]?[0-9.]+)\s*\)")
    last = Counter((round(float(a), 6), round(float(b), 6)) for a, b in
                   (pair.findall(r["Location 1"])[-1] for r in raw))
    got = Counter((round(lat, 6), round(lon, 6)) for lat, lon in _sql(
        con, "SELECT lat, lon FROM services WHERE city = ? AND dataset = 'parks_facilities' AND lat IS NOT NULL", CITY))
    assert len(raw) == 915 and got and all(last[k] >= n for k, n in got.items())
    flags = dict(_sql(con, "SELECT coalesce(location_flag, 'ok'), count(*) FROM services WHERE city = ? "
                           "AND dataset = 'parks_facilities' GROUP BY 1", CITY))
    assert "missing_coordinates" not in flags and sum(flags.values()) == 915


def test_payment_duplicates_are_quarantined_and_counted(fcon, formats_run, la_dir):
    payments = next(r for r in formats_run["datasets"] if r["dataset"] == "echeckbook_first1000")
    assert (payments["rows_in"], payments["rows_quarantined"]) == (999, 324)
    assert _sql(fcon, "SELECT reason, count(*) FROM quarantine WHERE dataset = 'echeckbook_first1000' "
                      "GROUP BY 1") == [("duplicate_source_id", 324)]
    first: dict = {}   # each payment counted once: the first copy of an ID NUMBER, recounted with Decimal
    for r in _csv_rows(la_dir / "spending/checkbook_la_echeckbook_first1000.csv"):
        first.setdefault(r["ID NUMBER"], r)
    total = sum((Decimal(r["DOLLAR AMOUNT"].replace("$", "").replace(",", "")) for r in first.values()), Decimal(0))
    assert _sql(fcon, "SELECT count(*), sum(amount), any_value(line_kind) FROM spending "
                      "WHERE dataset = 'echeckbook_first1000'") == [(len(first), total, "payment")]


def test_state_plane_shelters_land_where_their_latitude_says(fcon, la_dir):
    """The 2025 export's X/Y are CA zone V feet: projected, each lands within 50 m of its own latitude/longitude."""
    raw = {r["post_id"]: (float(r["latitude"]), float(r["longitude"]))
           for r in _csv_rows(la_dir / "services/lacounty_homeless_shelters_and_services_2025export.csv")
           if r["latitude"] and abs(float(r["latitude"]) - 34) < 1}
    got = dict((sid, (lat, lon)) for sid, lat, lon in _sql(
        fcon, "SELECT source_id, lat, lon FROM services WHERE dataset = 'homeless_services_2025' AND lat IS NOT NULL"))
    assert len(raw) > 150
    for sid, (lat, lon) in raw.items():
        glat, glon = got[sid]
        assert abs(glat - lat) * 111_000 < 50 and abs(glon - lon) * 92_000 < 50, sid


def test_population_latin1_loads_for_tests_only(prefect_harness, formats_replay, tmp_path_factory, la_dir):
    out = tmp_path_factory.mktemp("los_angeles_population_out")
    run = _run("los_angeles_formats", out=str(out), replay=str(formats_replay), profile_path=str(FORMATS_PROFILE),
               maps=[], datasets=["population"])
    with contextlib.closing(db.connect(run["warehouse"], read_only=True)) as c:
        names = {n for (n,) in _sql(c, "SELECT area_name FROM population WHERE dataset = 'population'")}
    assert "La Cañada Flintridge" in names and len(names) == 265
