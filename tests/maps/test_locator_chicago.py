"""The service locator on the real Chicago run (``chicago_run``: the whole pipeline over ../shared).

Known answers: a point beside a library finds that library first; walking distances equal hand-measured paths
within 5%; every service file's rows are in ``services`` with the taxonomy; unknown hours stay unknown; the
pipeline stored coverage gaps and walking areas; straight-line and walking rankings compared on 1,000 points.

Hand-measured paths (Chicago's address grid has 800 house numbers to the mile, 201.2 m per 100; north-south legs
from the latitude difference, 110.54 km per degree):

- Madison St & Ashland Ave (1600 W) -> Manning branch library, 6 S Hoyne Ave (2100 W): west along Madison
  500 numbers = 1,005.8 m, south on Hoyne to the library's latitude 12 m, across to the building 6 m: 1,024 m.
- Madison St & Racine Ave (1200 W) -> West Loop branch library, 122 N Aberdeen St (1100 W): east along Madison
  100 numbers = 201.2 m, north on Aberdeen 288.7 m (41.88162 -> 41.88423), across to the building 30 m: 520 m.
"""

from __future__ import annotations

import csv
import sys

import pytest

from civicmash.analysis import coverage, service_access
from civicmash.analysis.nearest import compare_straight_line

pytestmark = pytest.mark.slow

MADISON_ASHLAND = (41.88145546761483, -87.66680275077698)   # street-centreline node of the crossing
MADISON_RACINE = (41.88161606122543, -87.65714158609885)
WEST_LOOP = (41.851, -87.711, 41.892, -87.627)              # extent of the West Loop OSM edge list
TOLERANCE = 0.05
SOURCE_ROWS = {"police": ("police_stations.csv", 23), "fire": ("fire_stations.csv", 92),
               "warming_centre": ("warming_centers.csv", 113), "clinic": ("neighborhood_health_clinics.csv", 7),
               "library": ("libraries.csv", 81), "community_health_centre": ("primary_care_community_health_centers.csv", 120),
               "school": ("cps_school_locations_sy1617.csv", 670), "park": ("parks_cpd.csv", 614),
               "ward_office": ("ward_offices.csv", 50)}


@pytest.fixture(scope="module")
def con(chicago_run):
    from civicmash.warehouse.db import connect

    c = connect(chicago_run["warehouse"], read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def net(con):
    return service_access.network(con, city="chicago")


def _first(net, origin, category="library"):
    return net.nearest(*origin, categories=[category], n=3)[0]["results"]


def test_every_service_file_is_in_one_table_with_the_taxonomy(con, chicago_dir):
    csv.field_size_limit(sys.maxsize)
    got = dict(con.execute("SELECT category, count(*) FROM services WHERE city = 'chicago' GROUP BY 1").fetchall())
    for category, (name, rows) in SOURCE_ROWS.items():
        with open(chicago_dir / "services" / name, newline="", encoding="utf-8") as fh:
            assert sum(1 for _ in csv.DictReader(fh)) == rows, name
        assert got.get(category) == rows, (category, got)
    # parks are areas (their outline), the rest are points; all are located
    kinds = dict(con.execute("SELECT category = 'park', count(*) FILTER (WHERE ST_GeometryType(geom) IN "
                             "('POLYGON', 'MULTIPOLYGON')) FROM services WHERE city = 'chicago' GROUP BY 1").fetchall())
    assert kinds == {True: 614, False: 0}


def test_hours_are_read_where_published_and_unknown_stays_unknown(con):
    status = dict(con.execute(
        "SELECT s.category || '/' || h.status, count(*) FROM services s JOIN service_schedules h USING (city, dataset, "
        "source_id) WHERE s.city = 'chicago' GROUP BY 1").fetchall())
    assert status["warming_centre/weekly"] == 113           # per-day columns, every day
    assert status["fire/unknown"] == 92 and status["police/unknown"] == 23   # no hours published: never guessed
    assert status.get("library/weekly", 0) + status.get("library/partial", 0) >= 75
    # "Fri. & Sat., 9-5l" (a typo in the source) leaves Friday and Saturday unknown, not 9-5
    little_italy = con.execute("SELECT h.status, h.problems FROM services s JOIN service_schedules h USING (city, "
                               "dataset, source_id) WHERE s.name = 'Little Italy'").fetchone()
    assert little_italy[0] == "partial" and "9-5l" in little_italy[1]


@pytest.mark.parametrize("library, lat, lon", [("West Loop", 41.884232, -87.654324),
                                               ("Little Italy", 41.867166, -87.660613),
                                               ("Manning", 41.88118570415187, -87.67914211111776)])
def test_a_point_beside_a_library_finds_it_first(net, library, lat, lon):
    beside = (lat + 0.0002, lon + 0.0002)   # 22 m north, 17 m east of the site
    first, second = _first(net, beside)[:2]
    assert first["name"] == library and first["dist_m"] < 300 and second["dist_m"] > 1000


@pytest.mark.parametrize("origin, library, hand_m", [(MADISON_ASHLAND, "Manning", 1024.0),
                                                      (MADISON_RACINE, "West Loop", 520.0)])
def test_walking_minutes_match_a_hand_measured_path(net, origin, library, hand_m):
    r = _first(net, origin)[0]
    assert r["name"] == library
    assert r["dist_m"] == pytest.approx(hand_m, rel=TOLERANCE)
    assert r["minutes"] == pytest.approx(hand_m / 1.3 / 60, rel=TOLERANCE)
    assert r["path"][0] == [round(origin[0], 6), round(origin[1], 6)] and len(r["path"]) > 4


def test_locate_by_address_with_opening_hours(con, net):
    out = service_access.locate(con, city="chicago", near="1336 W Taylor St", categories=["library", "police"], n=2,
                         at="Sat 10:00", net=net)
    assert out["place"]["detail"] == "address of service Little Italy"
    assert out["area"]["code"] == "28" and out["area"]["network_status"] == "full"
    lib = out["categories"][0]["results"]
    assert [r["name"] for r in lib] == ["Little Italy", "Lozano"]
    assert lib[0]["open"] is None and lib[1]["open"] is True   # Saturday unreadable there, 9-5 at Lozano
    assert out["categories"][1]["results"][0]["name"] == "Near West"
    def open_only(at):
        return service_access.locate(con, city="chicago", near="1336 W Taylor St", categories=["library"], n=1, at=at,
                              open_only=True, net=net)["categories"][0]["results"]

    assert open_only("Sun 10:00") == []     # no branch opens before 1 pm on Sundays
    sunday = open_only("Sun 14:00")[0]      # the branches nearby are closed; the central library is open 1-5
    assert sunday["name"] == "Harold Washtington Library Center" and sunday["open"] is True   # (sic) in the source


def test_straight_line_and_walking_rank_differently(con, net):
    lat, lon = coverage.random_points(con, city="chicago", n=1000, seed=1, bbox=WEST_LOOP)
    res = compare_straight_line(net, lat, lon, categories=["library", "school", "police"])
    for cat, r in res.items():
        assert r["points"] >= 950 and r["walk_shorter_than_straight"] == 0, (cat, r)
        assert 0.02 < r["share_changes"] < 0.5 and 1.1 < r["median_walk_over_straight"] < 1.8, (cat, r)


def test_the_pipeline_stored_coverage_and_walking_areas(con):
    q = lambda sql, *p: con.execute(sql, list(p)).fetchall()  # noqa: E731
    cats = {c for (c,) in q("SELECT DISTINCT category FROM service_coverage WHERE city = 'chicago'")}
    assert cats == set(SOURCE_ROWS)
    assert q("SELECT count(DISTINCT area_code), count(*) FROM service_coverage WHERE city = 'chicago'") == \
        [(77, 77 * 9 * 3)]
    status = dict(q("SELECT area_code, any_value(network_status) FROM service_coverage GROUP BY 1"))
    assert status["28"] == "full"            # Near West Side: the West Loop OSM graph
    assert status["76"] == "partial"         # O'Hare: the major streets reach a sixth of it
    assert set(status.values()) <= {"full", "mixed", "major_streets", "partial", "none"}
    # no residents are estimated where the street data covers only part of an area
    assert q("SELECT count(*) FROM service_coverage WHERE network_status IN ('partial', 'none') AND "
             "residents_beyond IS NOT NULL") == [(0,)]
    share = dict(q("SELECT threshold_min, share_area_beyond FROM service_coverage WHERE area_code = '28' AND "
                   "category = 'library'"))
    assert 0 <= share[15] <= share[10] <= share[5] <= 1
    # walking areas: per category 5/10/15 minutes nested, valid polygons; one around the map's point
    rows = q("SELECT category, minutes, area_m2, ST_IsValid(geom), ST_GeometryType(geom)::VARCHAR FROM isochrones "
             "WHERE city = 'chicago' AND kind = 'category' ORDER BY category, minutes")
    by = {}
    for cat, m, area, valid, typ in rows:
        assert valid and typ in ("POLYGON", "MULTIPOLYGON")
        by.setdefault(cat, []).append((m, area))
    assert set(by) == set(SOURCE_ROWS)
    assert all([m for m, _ in v] == [5, 10, 15] and v[0][1] < v[1][1] < v[2][1] for v in by.values())
    point = q("SELECT minutes, area_m2 FROM isochrones WHERE city = 'chicago' AND kind = 'point' ORDER BY minutes")
    assert [m for m, _ in point] == [5, 10, 15]
    r5 = 5 * 60 * 1.3   # on a street grid the land within r is at most the diamond 2 r^2 (plus a cell's width)
    assert 0.3 * 2 * r5 ** 2 < point[0][1] < 1.3 * 2 * r5 ** 2
    lib = q("SELECT label, ST_Contains(geom, ST_Point(origin_lon, origin_lat)) FROM isochrones WHERE city = 'chicago' "
            "AND kind = 'service' AND category = 'library' AND minutes = 5 AND label = 'Manning'")
    assert lib == [("Manning", True)]
    comments = dict(q("SELECT table_name, comment FROM duckdb_tables() WHERE table_name IN "
                      "('service_coverage', 'isochrones', 'service_hours', 'service_schedules')"))
    assert len(comments) == 4 and all(comments.values())
    assert q("SELECT count(*) FROM duckdb_columns() WHERE table_name IN ('service_coverage', 'isochrones') AND "
             "comment IS NULL") == [(0,)]


def test_cli_locate_on_the_real_warehouse(chicago_run, capsys):
    from civicmash.flows.cli import main

    rc = main(["locate", "--city", "chicago", "--near", "122 N Aberdeen St", "--category", "library",
               "--at", "Sat 10:00", "-n", "3", "--db", chicago_run["warehouse"]])
    out = capsys.readouterr().out
    assert rc == 0
    lines = [line for line in out.splitlines() if line.strip().startswith(("1.", "2.", "3."))]
    assert len(lines) == 3 and "West Loop" in lines[0] and "min" in lines[0]
    assert "hours unknown" in lines[0]   # Saturday '9-5l' is not read
    assert main(["locate", "--city", "chicago", "--near", "Nowhere Branch Xyz", "--db", chicago_run["warehouse"]]) == 1
    assert "Nowhere Branch Xyz" in capsys.readouterr().err

