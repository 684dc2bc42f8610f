"""A city whose areas are not Chicago's: its profile's ``[areas]`` drives loading, enrichment, the rates view,
the coverage words, the locator's area and the explorer (labels, which filters exist, the rates' kind).

Riverton (generated here) has two precincts published as words ("FIRST", "SECOND") in the `district` column,
patrol zones with 3-digit codes in `beat`, and 2012 council districts that must never be stamped on incidents.
"""

from __future__ import annotations

import json
import re
import tomllib

from civicmash.cities.profile import parse_profile
from civicmash.maps.render import page_data
from civicmash.warehouse import enrich, views
from civicmash.warehouse.load import load_dataset

from tests.warehouse.helpers import CRIME_FIELDS, FETCHED, write_landing

PROFILE = """
name = "riverton"
title = "Riverton"
[datasets.crimes]
protocol = "file"
format = "csv"
table = "incidents"
url = "https://example.org/crimes.csv"
[datasets.precincts]
protocol = "file"
format = "geojson"
table = "boundaries"
kind = "precinct"
url = "https://example.org/precincts.geojson"
[datasets.zones]
protocol = "file"
format = "geojson"
table = "boundaries"
kind = "patrol_zone"
url = "https://example.org/zones.geojson"
[datasets.council_2012]
protocol = "file"
format = "geojson"
table = "boundaries"
kind = "council_district_2012"
url = "https://example.org/council.geojson"

[areas]
primary = "precinct"
[areas.district]
kind = "precinct"
label = "Precinct"
plural = "precincts"
values = { "FIRST" = "1", "Second" = "2" }
[areas.beat]
kind = "patrol_zone"
label = "Patrol zone"
pad = 3
"""


def _box(x0, y0, x1, y1):
    return json.dumps({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})


WEST, EAST = (-90.02, 40.00, -90.01, 40.01), (-90.01, 40.00, -90.00, 40.01)
IN_WEST, IN_EAST = (40.005, -90.015), (40.005, -90.005)


def _profile():
    return parse_profile(tomllib.loads(PROFILE), source="riverton.toml")


def _load(con, tmp_path, records, *, dataset, table, fields, kind=None, areas=None):
    files = write_landing(tmp_path / f"landing-{dataset}", records)
    return load_dataset(con, city="riverton", dataset=dataset, table=table, files=files, fields=fields,
                        options={}, kind=kind, run_id="run-1", fetched_at=FETCHED,
                        source_meta={"protocol": "file", "licence": "test", "title": dataset}, areas=areas)


def _city(con, tmp_path):
    """Load Riverton with its [areas] (as the flow hands them on) and enrich it."""
    areas = _profile().areas.plain()
    _load(con, tmp_path, [{"c": "FIRST", "n": "Westside", "_geometry": _box(*WEST)},
                          {"c": "second", "n": "Eastside", "_geometry": _box(*EAST)}],
          dataset="precincts", table="boundaries", kind="precinct", fields={"code": "c", "name": "n"}, areas=areas)
    _load(con, tmp_path, [{"c": "7", "_geometry": _box(*WEST)}, {"c": "0008", "_geometry": _box(*EAST)}],
          dataset="zones", table="boundaries", kind="patrol_zone", fields={"code": "c"}, areas=areas)
    _load(con, tmp_path, [{"c": "04", "_geometry": _box(-90.03, 39.99, -89.99, 40.02)}],
          dataset="council_2012", table="boundaries", kind="council_district_2012", fields={"code": "c"},
          areas=areas)
    crimes = [  # id, district as published, beat as published, point
        ("a", "FIRST", "7", IN_WEST),      # stated and right
        ("b", " second ", "", IN_EAST),    # value map: trimmed, any case; beat filled from the zones
        ("c", "", "008", IN_EAST),         # district filled from the precincts
        ("d", "FIRST", "", IN_EAST),       # stated first, lies in the second: mismatch, the stated one kept
        ("e", "3", "9", None),             # no coordinates: kept as stated
    ]
    recs = [{"id": i, "date": "2018-02-0%d 10:00:00" % (k + 1), "primary_type": "THEFT", "district": d, "beat": b,
             "latitude": repr(p[0]) if p else "", "longitude": repr(p[1]) if p else ""}
            for k, (i, d, b, p) in enumerate(crimes)]
    result = _load(con, tmp_path, recs, dataset="crimes", table="incidents",
                   fields={k: v for k, v in CRIME_FIELDS.items() if k in ("source_id", "occurred_at", "primary_type",
                                                                           "district", "beat", "lat", "lon")},
                   areas=areas)
    assert result.rows_in == result.rows_loaded + result.rows_quarantined == 5
    _load(con, tmp_path, [{"k": "01", "p": "2000", "y": "2020"}, {"k": "2", "p": "1000", "y": "2020"}],
          dataset="residents", table="population", kind="precinct",
          fields={"area_code": "k", "population": "p", "year": "y"}, areas=areas)
    counts = enrich.enrich_incidents(con, city="riverton", areas=areas)
    views.create_views(con)
    return counts


def test_value_maps_and_padding_apply_to_incidents_and_boundaries(con, tmp_path):
    _city(con, tmp_path)
    assert con.execute("SELECT kind, list(code ORDER BY code) FROM boundaries GROUP BY kind ORDER BY kind").fetchall() == [
        ("council_district_2012", ["04"]), ("patrol_zone", ["007", "008"]), ("precinct", ["1", "2"])]
    assert con.execute("SELECT list(area_code ORDER BY area_code) FROM population").fetchone()[0] == ["1", "2"]


def test_enrichment_fills_and_checks_the_slot_of_each_kind_and_never_stamps_other_kinds(con, tmp_path):
    counts = _city(con, tmp_path)
    assert set(counts) == {"district", "beat"}     # the council districts fill no column
    assert counts["district"] == {"filled": 1, "mismatch": 1, "unmatched": 0}
    assert counts["beat"]["filled"] == 2
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT source_id, district, beat, ward, filled_from_coordinates, area_mismatch FROM incidents").fetchall()}
    assert rows == {
        "a": (1, "007", None, None, None),
        "b": (2, "008", None, "beat", None),
        "c": (2, "008", None, "district", None),
        "d": (1, "008", None, "beat", "district"),
        "e": (3, "009", None, None, None),
    }
    slots = {r[0]: r[1:] for r in con.execute(
        "SELECT slot, kind, label, plural, pad, is_primary FROM area_slots WHERE city = 'riverton'").fetchall()}
    assert slots["district"] == ("precinct", "Precinct", "precincts", None, True)
    assert slots["beat"] == ("patrol_zone", "Patrol zone", "patrol zones", 3, False)
    assert slots["ward"][0] == "ward" and not slots["ward"][-1]


def test_the_primary_kind_drives_the_rates_view(con, tmp_path):
    _city(con, tmp_path)
    got = con.execute("""SELECT area_kind, area_code, area_name, sum(incidents), any_value(population),
                                round(sum(rate_per_1000), 3), any_value(community_area)
                         FROM incidents_by_area_month WHERE city = 'riverton' GROUP BY ALL ORDER BY 2""").fetchall()
    assert got == [("precinct", "1", "Westside", 2, 2000, 1.0, None),
                   ("precinct", "2", "Eastside", 2, 1000, 2.0, None),
                   ("precinct", "3", None, 1, None, None, None)]


def test_the_primary_kind_drives_coverage_words_and_the_locators_area(con, tmp_path):
    from civicmash.analysis.coverage import boundary_kind
    from civicmash.analysis.route_planner import coverage_summary, coverage_words
    from civicmash.analysis.service_access import _area_of

    _city(con, tmp_path)
    assert boundary_kind(con, city="riverton", kind=None, primary="precinct") == "precinct"
    assert boundary_kind(con, city="riverton", kind=None) == "council_district_2012"   # no preference applies
    con.execute("""INSERT INTO street_coverage (city, dataset, area_kind, area_code, area_name, detail, edge_m,
                                                covered_share)
                   VALUES ('riverton', 'streets', 'precinct', '1', 'Westside', 'full', 900, 0.95),
                          ('riverton', 'streets', 'precinct', '2', 'Eastside', 'full', 100, 0.2)""")
    words = coverage_words(coverage_summary(con, city="riverton"))
    assert words.startswith("walk graph covers: every street in 1 of 2 precincts (Westside), in part of 1 (Eastside)")
    con.execute("""INSERT INTO service_coverage (city, area_kind, area_code, category, threshold_min)
                   VALUES ('riverton', 'precinct', '2', 'library', 5)""")
    area = _area_of(con, city="riverton", lat=IN_EAST[0], lon=IN_EAST[1])
    assert (area["kind"], area["code"], area["name"]) == ("precinct", "2", "Eastside")


def test_the_explorer_names_the_citys_areas(con, tmp_path):
    from civicmash.maps import explorer
    from civicmash.maps.render import PageContext

    _city(con, tmp_path)
    areas = _profile().areas.plain()
    out = tmp_path / "explorer.html"
    explorer.build(PageContext(con=con, city="riverton", out_path=out, options={"areas": areas}))
    html = out.read_text(encoding="utf-8")
    data = page_data(html)
    filters = {f["key"]: f for f in data["filters"]}
    assert filters["district"]["label"] == "Precinct" and filters["district"]["hash_key"] == "district"
    assert filters["beat"]["label"] == "Patrol zone" and filters["beat"]["hash_key"] == "beat"
    assert "ward" not in filters and "community_area" not in filters    # Riverton fills neither column
    assert {k: data["rates"][k] for k in ("kind", "slot", "label", "plural")} == {
        "kind": "precinct", "slot": "district", "label": "Precinct", "plural": "precincts"}
    assert data["rates"]["population"] == {"1": [2000, 2020], "2": [1000, 2020]}
    visible = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert "community area" not in visible.lower()
    assert 'C.t("ex.rates_by", {area: RATE_WORD})' in html     # the page writes the headings from data.rates.label
