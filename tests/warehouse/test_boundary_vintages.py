"""Boundary vintages: wards are redrawn, and an incident is matched to the ward map in force on its date.

Wardton (generated here) publishes two ward maps: ``wards_2015`` (valid to 2023-05-14: ward 1 is the west half,
ward 2 the east half) and ``wards_2023`` (valid from 2023-05-15: the line moved, ward 1 is now the south half and
ward 2 the north half). The same street corner therefore lies in different wards before and after the changeover.
Everything goes through the real loader into a DuckDB file; the profile is parsed by the real profile parser.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from civicmash.cities.profile import ProfileError, parse_profile
from civicmash.warehouse import enrich, reads, views
from civicmash.warehouse.db import connect, ensure_schema
from civicmash.warehouse.load import load_dataset
from tests.warehouse.helpers import FETCHED, write_landing

PROFILE = """
name = "wardton"
title = "Wardton"
[datasets.crimes]
protocol = "file"
format = "csv"
table = "incidents"
url = "https://example.org/crimes.csv"
[datasets.wards_2015]
protocol = "file"
format = "geojson"
table = "boundaries"
kind = "ward"
url = "https://example.org/wards_2015.geojson"
options = { valid_to = "2023-05-14" }
[datasets.wards_2023]
protocol = "file"
format = "geojson"
table = "boundaries"
kind = "ward"
url = "https://example.org/wards_2023.geojson"
options = { valid_from = "2023-05-15" }
"""

X0, X1, XM = -90.02, -90.00, -90.01
Y0, Y1, YM = 40.00, 40.02, 40.01
NE = (40.015, -90.005)   # 2015: ward 2 (east); 2023: ward 2 (north)
SW = (40.005, -90.015)   # 2015: ward 1 (west); 2023: ward 1 (south)
NW = (40.015, -90.015)   # 2015: ward 1 (west); 2023: ward 2 (north)  <- the corner that changes ward
SE = (40.005, -90.005)   # 2015: ward 2 (east); 2023: ward 1 (south)  <- and this one


def _box(x0, y0, x1, y1):
    return json.dumps({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})


WARDS_2015 = [{"w": "1", "_geometry": _box(X0, Y0, XM, Y1)}, {"w": "2", "_geometry": _box(XM, Y0, X1, Y1)}]
WARDS_2023 = [{"w": "1", "_geometry": _box(X0, Y0, X1, YM)}, {"w": "2", "_geometry": _box(X0, YM, X1, Y1)}]

CRIMES = [  # id, date, point, the ward in force that day
    ("a", "2023-05-14 23:59:00", NW, 1),   # last minute of the 2015 map
    ("b", "2023-05-15 00:00:00", NW, 2),   # first minute of the 2023 map: same corner, new ward
    ("c", "2022-01-10 12:00:00", SE, 2),
    ("d", "2024-03-01 08:30:00", SE, 1),
    ("e", "2019-07-04 21:00:00", SW, 1),
    ("f", "2024-07-04 21:00:00", NE, 2),
]


def _profile(text: str = PROFILE):
    return parse_profile(tomllib.loads(text), source="wardton.toml")


def _load(con, tmp_path, records, *, dataset, table, fields, options=None, kind=None):
    files = write_landing(tmp_path / f"landing-{dataset}", records)
    return load_dataset(con, city="wardton", dataset=dataset, table=table, files=files, fields=fields,
                        options=options or {}, kind=kind, run_id="run-1", fetched_at=FETCHED,
                        source_meta={"protocol": "file", "licence": "test", "title": dataset})


def _load_wards(con, tmp_path, profile):
    for name in ("wards_2015", "wards_2023"):
        spec = profile.datasets[name]
        result = _load(con, tmp_path, WARDS_2015 if name == "wards_2015" else WARDS_2023, dataset=name,
                       table="boundaries", kind=spec.kind, fields={"code": "w"}, options=dict(spec.options))
        assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 2, 0)


def _load_crimes(con, tmp_path, crimes, *, stated_ward=False):
    recs = [{"id": i, "date": d, "primary_type": "THEFT", "ward": str(w) if stated_ward else "",
             "latitude": repr(p[0]), "longitude": repr(p[1])} for i, d, p, w in crimes]
    result = _load(con, tmp_path, recs, dataset="crimes", table="incidents",
                   fields={"source_id": "id", "occurred_at": "date", "primary_type": "primary_type", "ward": "ward",
                           "lat": "latitude", "lon": "longitude"},
                   options={"max_date": "2030-12-31"})   # the helpers' download is dated 2018
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (len(crimes), len(crimes), 0)
    return result


@pytest.fixture
def db(tmp_path):
    con = connect(tmp_path / "wardton.duckdb")
    ensure_schema(con)
    yield con
    con.close()


def test_each_incident_gets_the_ward_of_the_map_in_force_on_its_date(db, tmp_path):
    _load_wards(db, tmp_path, _profile())
    assert db.execute("SELECT dataset, valid_from, valid_to FROM boundaries GROUP BY ALL ORDER BY dataset").fetchall() \
        == [("wards_2015", None, __import__("datetime").date(2023, 5, 14)),
            ("wards_2023", __import__("datetime").date(2023, 5, 15), None)]
    _load_crimes(db, tmp_path, CRIMES)
    counts = enrich.enrich_incidents(db, city="wardton")
    got = dict(db.execute("SELECT source_id, ward FROM incidents ORDER BY source_id").fetchall())
    assert got == {i: w for i, _, _, w in CRIMES}
    assert counts["ward"] == {"filled": 6, "mismatch": 0, "unmatched": 0, "out_of_vintage": 0}
    # a grid per vintage is cached: a second run reuses both and gives the same answer
    assert db.execute("SELECT count(DISTINCT vintage) FROM enrich_cache.cells WHERE city = 'wardton'").fetchone()[0] == 2
    db.execute("UPDATE incidents SET ward = NULL, filled_from_coordinates = NULL")
    enrich.enrich_incidents(db, city="wardton")
    assert dict(db.execute("SELECT source_id, ward FROM incidents").fetchall()) == got


def test_a_stated_ward_is_checked_against_the_map_of_its_day(db, tmp_path):
    _load_wards(db, tmp_path, _profile())
    # the source states the ward of the 2015 map for every crime: only those after the changeover disagree
    stated = [(i, d, p, {NW: 1, SE: 2, SW: 1, NE: 2}[p]) for i, d, p, _ in CRIMES]
    _load_crimes(db, tmp_path, stated, stated_ward=True)
    counts = enrich.enrich_incidents(db, city="wardton")
    assert counts["ward"]["mismatch"] == 2
    assert db.execute("SELECT list(source_id ORDER BY source_id) FROM incidents WHERE area_mismatch = 'ward'"
                      ).fetchone()[0] == ["b", "d"]


def test_an_incident_dated_outside_every_vintage_is_counted_not_stamped(db, tmp_path):
    profile = _profile(PROFILE.replace('options = { valid_from = "2023-05-15" }',
                                       'options = { valid_from = "2023-06-01", valid_to = "2024-12-31" }'))
    _load_wards(db, tmp_path, profile)
    # b (2023-05-15) and g fall between the two maps now, h after the last one ended
    crimes = CRIMES + [("g", "2023-05-20 10:00:00", NW, None), ("h", "2025-02-01 10:00:00", NW, None)]
    _load_crimes(db, tmp_path, [(i, d, p, w or 0) for i, d, p, w in crimes])
    db.execute("UPDATE incidents SET ward = NULL")   # nothing stated: every ward comes from the coordinates
    counts = enrich.enrich_incidents(db, city="wardton")
    assert counts["ward"]["out_of_vintage"] == 3
    assert counts["ward"]["unmatched"] == 3 and counts["ward"]["filled"] == 5
    assert db.execute("SELECT list(source_id ORDER BY source_id) FROM incidents WHERE ward IS NULL").fetchone()[0] \
        == ["b", "g", "h"]


def test_the_maps_draw_the_latest_vintage(db, tmp_path):
    _load_wards(db, tmp_path, _profile())
    views.create_views(db)
    drawn = reads.boundaries_geojson(db, city="wardton", kind="ward")
    assert len(drawn["features"]) == 2
    ys = sorted(max(pt[1] for pt in f["geometry"]["coordinates"][0]) for f in drawn["features"])
    assert ys == [YM, Y1]   # the 2023 map: a south and a north half, not the 2015 west and east halves


def test_overlapping_vintages_are_a_profile_error_and_a_load_error(db, tmp_path):
    overlapping = PROFILE.replace('valid_from = "2023-05-15"', 'valid_from = "2023-05-14"')
    with pytest.raises(ProfileError, match=r"kind 'ward'.*wards_2015.*wards_2023.*overlapping vintages"):
        _profile(overlapping)
    open_ended = PROFILE.replace('options = { valid_to = "2023-05-14" }', "")
    with pytest.raises(ProfileError, match="overlapping vintages"):
        _profile(open_ended)
    with pytest.raises(ProfileError, match="valid_to 2020-01-01 is before valid_from"):
        _profile(PROFILE.replace('valid_to = "2023-05-14"', 'valid_from = "2021-01-01", valid_to = "2020-01-01"'))
    # a warehouse loaded without the profile's check refuses to enrich with overlapping maps
    _load(db, tmp_path, WARDS_2015, dataset="wards_2015", table="boundaries", kind="ward", fields={"code": "w"},
          options={"valid_to": "2023-05-20"})
    _load(db, tmp_path, WARDS_2023, dataset="wards_2023", table="boundaries", kind="ward", fields={"code": "w"},
          options={"valid_from": "2023-05-15"})
    _load_crimes(db, tmp_path, CRIMES)
    with pytest.raises(enrich.VintageError, match=r"wardton: boundaries of kind 'ward' have overlapping vintages: "
                                                  r"wards_2015 \(open to 2023-05-20\) and wards_2023"):
        enrich.enrich_incidents(db, city="wardton")


def test_one_open_ended_map_per_kind_is_matched_as_before(db, tmp_path):
    """Chicago's case: one map per kind, no vintage: nothing about the dates is read."""
    _load(db, tmp_path, WARDS_2015, dataset="wards", table="boundaries", kind="ward", fields={"code": "w"})
    _load_crimes(db, tmp_path, CRIMES)
    counts = enrich.enrich_incidents(db, city="wardton")
    assert counts["ward"] == {"filled": 6, "mismatch": 0, "unmatched": 0}   # no out_of_vintage key
    assert dict(db.execute("SELECT source_id, ward FROM incidents").fetchall()) == {
        "a": 1, "b": 1, "c": 2, "d": 2, "e": 1, "f": 2}
