"""Nearest services by walking time, walking areas and coverage gaps, with known answers on a street grid.

The test city (tests/maps/maps_citydb.py) is an 8 x 8 grid of 150 m blocks; extra services are placed at points
whose walking distance can be worked out by hand (Manhattan distance along the grid plus the straight step from
the street to the site)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from civicmash.analysis import coverage, service_access
from civicmash.analysis.nearest import ServiceNetwork, ServiceSet, minutes
from civicmash.analysis.places import ResolveError
from civicmash.maps import locator
from civicmash.maps.render import PageContext, page_data

from tests.maps import maps_citydb as citydb

STEP = citydb.STEP_M
CITY = citydb.CITY


def _lat_lon_east(i, j, east_m=0.0):
    lat, lon = citydb.node_ll(i, j)
    return lat, lon + east_m / (111_320.0 * math.cos(math.radians(citydb.LAT0)))


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = citydb.make_city(tmp_path_factory.mktemp("locator") / "city.duckdb")
    extra = [
        ("on_edge", "Library", "On-edge library", *citydb.node_ll(4, 3.2), None),            # 150 + 30 m
        ("same_seg", "Clinic", "Same-segment clinic", *citydb.node_ll(3.8, 0), "Mon-Fri 9-17; Sat-Sun closed"),
        ("offset", "School", "Offset school", *_lat_lon_east(3, 4.5, 20.0), "Mon-Fri 8am-3pm"),
        ("diag", "Fire", "Diagonal fire station", *citydb.node_ll(5, 5), None),               # 4 blocks away
        ("straight", "Fire", "Straight fire station", *citydb.node_ll(3, 6.5), None),         # 3.5 blocks away
        ("far", "Library", "Far library", citydb.LAT0 - 0.2, citydb.LON0 - 0.2, None),        # off the graph
    ]
    c.executemany("INSERT INTO services (city, dataset, source_id, category, name, lat, lon, hours, address) "
                  "VALUES (?, 'extra', ?, ?, ?, ?, ?, ?, ?)",
                  [(CITY, k, cat, name, la, lo, h, f"{n} Extra St") for n, (k, cat, name, la, lo, h) in enumerate(extra)])
    (a, b), (cc, d) = citydb.node_ll(5, 5), citydb.node_ll(6, 6)   # a park as a polygon (lat/lon = its middle)
    c.execute("INSERT INTO services (city, dataset, source_id, category, name, lat, lon, geom) VALUES "
              "(?, 'extra', 'park_poly', 'Park', 'Square park', ?, ?, ST_GeomFromText(?))",
              [CITY, (a + cc) / 2, (b + d) / 2, f"POLYGON(({b} {a}, {d} {a}, {d} {cc}, {b} {cc}, {b} {a}))"])
    yield c
    c.close()


@pytest.fixture(scope="module")
def net(con):
    return service_access.network(con, city=CITY)


def _dist(net, origin, category, name):
    for e in net.nearest(*origin, categories=[category], n=20):
        for r in e["results"]:
            if r["name"] == name:
                return r["dist_m"]
    return None


def test_services_are_read_with_the_taxonomy(net):
    s = net.services
    assert set(s.categories) == {"library", "police", "hospital", "park", "clinic", "school", "fire"}
    assert s.category[s.name.index("Police station 2")] == "police"   # published "Police station"
    far = s.name.index("Far library")
    assert not net.on_network[far] and net.on_network.sum() == len(s) - 1


def test_known_walking_distances(net):
    origin = citydb.node_ll(3, 3)
    assert _dist(net, origin, "library", "On-edge library") == pytest.approx(STEP + 0.2 * STEP, abs=0.5)
    assert _dist(net, origin, "school", "Offset school") == pytest.approx(1.5 * STEP + 20.0, abs=0.5)
    assert _dist(net, origin, "hospital", "Hospital 4") == pytest.approx(300.0, abs=0.5)   # (2.1, 2.1)
    r = net.nearest(*origin, categories=["library"], n=1)[0]["results"][0]
    assert r["minutes"] == pytest.approx(180.0 / 1.3 / 60, abs=0.05)
    assert r["path"][0] == [round(origin[0], 6), round(origin[1], 6)] and len(r["path"]) >= 4


def test_along_the_same_segment_is_direct(net):
    origin = citydb.node_ll(3.2, 0)          # on the segment (3, 0)-(4, 0), the clinic at 3.8 on the same one
    assert _dist(net, origin, "clinic", "Same-segment clinic") == pytest.approx(0.6 * STEP, abs=0.5)


def test_network_ranking_differs_from_straight_line(net):
    origin = citydb.node_ll(3, 3)
    fire = net.nearest(*origin, categories=["fire"], n=2)[0]["results"]
    assert [f["name"] for f in fire] == ["Straight fire station", "Diagonal fire station"]
    assert fire[0]["dist_m"] == pytest.approx(3.5 * STEP, abs=0.5) and fire[1]["dist_m"] == pytest.approx(4 * STEP, abs=0.5)
    diag, straight = citydb.node_ll(5, 5), citydb.node_ll(3, 6.5)
    crow = [math.hypot((p[0] - origin[0]) * 110_540, (p[1] - origin[1]) * 111_320 * math.cos(math.radians(p[0])))
            for p in (diag, straight)]
    assert crow[0] < crow[1]   # as the crow flies the diagonal one is nearer


def test_an_area_is_measured_to_its_edge(net):
    origin = citydb.node_ll(3, 3)
    assert _dist(net, origin, "park", "Square park") == pytest.approx(4 * STEP, abs=1.0)   # its corner (5, 5)


def test_services_off_the_graph_are_reported_not_measured(net):
    lib = net.nearest(*citydb.node_ll(3, 3), categories=["library"], n=10)[0]
    assert lib["off_network"] == 1 and "Far library" not in [r["name"] for r in lib["results"]]


def test_open_at_and_open_only(net):
    origin = citydb.node_ll(3, 3)
    mon = net.nearest(*origin, categories=["clinic", "school", "library"], n=5, at=(1, 600))
    flags = {r["name"]: r["open"] for e in mon for r in e["results"]}
    assert flags["Same-segment clinic"] is True and flags["Offset school"] is True and flags["Library 0"] is None
    sat = net.nearest(*origin, categories=["clinic", "school"], n=5, at=(6, 600))
    flags = {r["name"]: r["open"] for e in sat for r in e["results"]}
    assert flags["Same-segment clinic"] is False and flags["Offset school"] is None   # weekend not stated
    only = net.nearest(*origin, categories=["clinic", "school"], n=5, at=(6, 600), open_only=True)
    assert all(not e["results"] for e in only)


def test_batch_equals_one_by_one(net):
    rng = np.random.default_rng(7)
    (la0, lo0), (la1, lo1) = citydb.node_ll(-0.5, -0.5), citydb.node_ll(7.5, 7.5)
    lat, lon = rng.uniform(la0, la1, 300), rng.uniform(lo0, lo1, 300)
    for cat in ("library", "hospital", "park", "clinic"):
        dist, who, _ = net.nearest_batch(lat, lon, cat)
        for k in range(0, 300, 7):
            e = net.nearest(lat[k], lon[k], categories=[cat], n=1)[0]["results"]
            assert e and e[0]["dist_m"] == pytest.approx(dist[k], abs=0.06) and e[0]["index"] == who[k]


def test_locate_resolves_places_and_names_near_matches(con, net):
    out = service_access.locate(con, city=CITY, near="4 Service Rd", categories=["hospital"], n=1, net=net)
    assert out["place"]["kind"] == "address" and out["categories"][0]["results"][0]["name"] == "Hospital 4"
    # standing on the site: 15 m out to the street and 15 m back (every walk goes by the street graph)
    assert out["categories"][0]["results"][0]["dist_m"] == pytest.approx(30.0, abs=0.5)
    out = service_access.locate(con, city=CITY, near="Library 1", categories=["libraries"], at="Mon 10:00", net=net)
    assert out["place"]["kind"] == "service" and out["categories"][0]["category"] == "library"
    assert out["at"] == {"day": "Monday", "time": "10:00", "iso_day": 1, "minute": 600}
    with pytest.raises(ResolveError) as err:
        service_access.locate(con, city=CITY, near="Liberry 1", net=net)
    assert "Library 1" in str(err.value)
    with pytest.raises(ValueError, match="did you mean: library"):
        service_access.locate(con, city=CITY, near=citydb.node_ll(3, 3), categories=["libary"], net=net)
    text = service_access.format_table(service_access.locate(con, city=CITY, near=citydb.node_ll(3, 3), categories=["fire"],
                                               at="Sat 10:00", net=net))
    assert "Straight fire station" in text and "hours unknown" in text and "min" in text


def test_point_walking_areas_grow_and_match_the_grid(con, net):
    origin = citydb.node_ll(3, 3)
    rows = coverage.point_rows(con, city=CITY, net=net, lat=origin[0], lon=origin[1], label="here")
    areas = {r["minutes"]: r["area_m2"] for r in rows}
    assert areas[5] < areas[10] <= areas[15]
    r5 = 5 * 60 * 1.3   # on a full street grid the area within r of a crossing is the diamond 2 r^2
    assert areas[5] == pytest.approx(2 * r5 ** 2, rel=0.15)
    inside = con.execute("SELECT ST_Contains(ST_GeomFromHEXWKB(?), ST_Point(?, ?))",
                         [rows[0]["wkb"], origin[1], origin[0]]).fetchone()[0]
    assert inside


def test_coverage_gaps_per_area(con, net):
    lattice = coverage.build_lattice(con, city=CITY, graph=net.graph, spacing_m=25)
    rows = coverage.coverage_rows(con, city=CITY, net=net, lattice=lattice, categories=["police"], thresholds=(5, 10))
    by = {(r["area_code"], r["threshold_min"]): r["share_area_beyond"] for r in rows}
    assert {r["area_code"] for r in rows} == {"1", "2", "3", "4"}
    assert all(r["network_status"] == "covered" for r in rows)
    # The station is at the corner of area 1, a 525 m square; on a grid the land within r of it is the triangle
    # r^2 / 2: 390 m (5 min) leaves 72% of the square beyond, 780 m (10 min) 13%. Area 4 starts 1,050 m away.
    assert by[("1", 5)] == pytest.approx(1 - 390 ** 2 / 2 / 525 ** 2, abs=0.08)
    assert by[("1", 10)] == pytest.approx((1050 - 780) ** 2 / 2 / 525 ** 2, abs=0.06)
    assert by[("4", 5)] == by[("4", 10)] == 1.0
    assert all(r["residents_beyond"] is None and r["share_on_network"] == 1.0 for r in rows)   # no population here
    cat = coverage.catchment_rows(con, city=CITY, net=net, lattice=lattice, categories=["police"], thresholds=(5, 10))
    assert [r["minutes"] for r in cat] == [5, 10] and cat[0]["area_m2"] < cat[1]["area_m2"]


def test_network_status_rules():
    assert coverage.network_status(0.01, None) == "none"
    assert coverage.network_status(0.5, None) == "partial"
    assert coverage.network_status(0.99, None) == "covered"
    assert coverage.network_status(1.0, [("osm", "full", 0.95), ("major", "major_streets", 1.0)]) == "full"
    assert coverage.network_status(1.0, [("osm", "full", 0.4), ("major", "major_streets", 1.0)]) == "mixed"
    assert coverage.network_status(1.0, [("major", "major_streets", 1.0)]) == "major_streets"


def test_page_embeds_the_same_numbers(con, tmp_path):

    path = locator.build(PageContext(con=con, city=CITY, out_path=tmp_path / "locator.html",
                                     options={"near": citydb.node_ll(3, 3)}))
    html = path.read_text()
    data = page_data(html)
    assert [c["id"] for c in data["cats"]][:3] == ["clinic", "fire", "hospital"]
    fire = next(e for e in data["initial"] if e["category"] == "fire")["results"][0]
    assert data["services"]["name"][fire["index"]] == "Straight fire station" and fire["dist_m"] == pytest.approx(525, abs=0.5)
    assert {p["minutes"] for p in data["iso"]["point"]} == {5, 10, 15}
    assert "</script><img" not in html.split('id="data">')[1].split("</script>")[0]   # escaped in the JSON block


def test_minutes_helper():
    assert float(minutes(78.0)) == pytest.approx(1.0)
    assert ServiceSet is not None and ServiceNetwork is not None


def test_misspelt_service_isochrone_category_is_an_error(con, net):
    with pytest.raises(ValueError, match="no located services of category 'libary'; did you mean: library"):
        service_access.analyse(con, city=CITY, options={"service_isochrones": ["libary"]}, net=net)
