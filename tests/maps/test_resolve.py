"""Places typed by people -> points: lat,lon, bar names, police blocks, intersections; clear errors."""

from __future__ import annotations

import contextlib

import duckdb
import pytest

from civicmash.analysis import route_planner
from civicmash.analysis.places import ResolveError, resolve
from civicmash.analysis.routing import load_graph
from tests.maps import maps_citydb as M


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    con = M.make_city(tmp_path_factory.mktemp("resolve") / "city.duckdb")
    # Give some incidents police-style blocks: row j=3 is "W MAIN ST", column i=2 is "N OAK AVE".
    for k, (i, j) in enumerate([(1, 3), (1.2, 3), (5, 3), (2, 1), (2, 6), (2.1, 6)]):
        lat, lon = M.node_ll(i, j)
        block = "001XX W MAIN ST" if j == 3 and i < 4 else "005XX W MAIN ST" if j == 3 else f"00{j}XX N OAK AVE"
        con.execute("INSERT INTO incidents (city, dataset, source_id, occurred_at, primary_type, block, lat, lon) "
                    "VALUES (?, 'crimes', ?, ?, 'THEFT', ?, ?, ?)", [M.CITY, f"b{k}", M.LATEST, block, lat, lon])
    yield con
    con.close()


def test_latlon_and_pairs(city):
    p = resolve(city, city=M.CITY, text="41.8805, -87.6290")
    assert (p.kind, p.lat, p.lon) == ("latlon", 41.8805, -87.6290)
    assert resolve(city, city=M.CITY, text=(41.88, -87.63)).kind == "latlon"
    with pytest.raises(ResolveError):
        resolve(city, city=M.CITY, text="95,200")


def test_venue_names_case_insensitive_unique_or_candidates(city):
    p = resolve(city, city=M.CITY, text="bar 2")
    assert p.kind == "venue" and p.label == "Bar 2"
    with pytest.raises(ResolveError) as err:
        resolve(city, city=M.CITY, text="Bar")  # Bar 1..Bar 5 all contain it
    assert len(err.value.candidates) == 5 and "Bar 1" in err.value.candidates
    with pytest.raises(ResolveError) as err:
        resolve(city, city=M.CITY, text="Bar 11")
    assert "Bar 1" in err.value.candidates and "did you mean" in str(err.value)
    # The crafted name is data, found like any other and returned verbatim.
    assert resolve(city, city=M.CITY, text=M.XSS).label == M.XSS


def test_block_is_median_of_its_incidents(city):
    p = resolve(city, city=M.CITY, text="001xx w main st")
    lat, lon = M.node_ll(1.1, 3)
    assert p.kind == "block" and p.lat == pytest.approx(lat) and p.lon == pytest.approx(lon)
    with pytest.raises(ResolveError) as err:
        resolve(city, city=M.CITY, text="001XX W MAIM ST")
    assert "001XX W MAIN ST" in err.value.candidates


def test_intersection_from_blocks(city):
    p = resolve(city, city=M.CITY, text="W MAIN ST & N OAK AVE")
    assert p.kind == "intersection"
    # closest blocks: 001XX W MAIN ST (i = 1.1, j = 3) and 001XX N OAK AVE (i = 2, j = 1) ... or 006XX (j = 6.05)
    assert M.node_ll(0, 1)[0] < p.lat < M.node_ll(0, 6)[0]
    assert resolve(city, city=M.CITY, text="main st and oak ave").kind == "intersection"
    with pytest.raises(ResolveError) as err:
        resolve(city, city=M.CITY, text="W MAIM ST & N OAK AVE")
    assert "W MAIN ST" in err.value.candidates


def test_far_from_streets_is_refused(city):
    graph = load_graph(city, M.CITY)
    with pytest.raises(ResolveError, match="from the street graph"):
        resolve(city, city=M.CITY, text="40.0,-87.63", graph=graph)


def test_plan_on_the_test_city(city):
    plan = route_planner.plan(city, city=M.CITY, origin=f"{M.ROUTE_FROM[0]},{M.ROUTE_FROM[1]}",
                           destination=M.ROUTE_TO, at="23:30", detour=0.3)
    assert plan["origin"]["kind"] == "latlon" and plan["at"] == "23:30"
    s, r = plan["shortest"], plan["recommended"]
    assert r["length_m"] <= 1.3 * s["length_m"] + 1e-6 and r["exposure"] <= s["exposure"]
    assert "exposure" in plan["comparison"] and plan["pareto"][0]["length_m"] == s["length_m"]
    assert "nodes" not in s
    import json
    json.dumps(plan)  # the CLI prints it


# ---- the real Chicago warehouse -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chicago(chicago_run):
    with contextlib.closing(duckdb.connect(chicago_run["warehouse"], read_only=True)) as con:
        yield con


@pytest.mark.slow
def test_chicago_places(chicago):
    b = resolve(chicago, city="chicago", text="012XX W MADISON ST")
    assert b.kind == "block" and 41.88 < b.lat < 41.885 and -87.66 < b.lon < -87.655
    x = resolve(chicago, city="chicago", text="S HALSTED ST & W HARRISON ST")
    assert x.kind == "intersection" and abs(x.lat - 41.8742) < 0.002 and abs(x.lon - (-87.6473)) < 0.002
    with pytest.raises(ResolveError) as err:
        resolve(chicago, city="chicago", text="012XX W MADISSON ST")
    assert "012XX W MADISON ST" in err.value.candidates
    name = chicago.execute(
        "SELECT any_value(name) FROM venues WHERE city = 'chicago' AND lat BETWEEN 41.86 AND 41.89 "
        "AND lon BETWEEN -87.67 AND -87.64 AND name IS NOT NULL GROUP BY upper(trim(name)) "
        "HAVING count(DISTINCT round(lat, 4) || ',' || round(lon, 4)) = 1 ORDER BY 1 LIMIT 1").fetchone()[0]
    v = resolve(chicago, city="chicago", text=name.lower())
    assert v.kind == "venue" and 41.86 <= v.lat <= 41.89


@pytest.mark.slow
def test_chicago_plan_night_differs_from_noon(chicago):
    kw = dict(city="chicago", origin="41.8841,-87.6488", destination="S HALSTED ST & W HARRISON ST")
    night = route_planner.plan(chicago, at="23:30", **kw)
    noon = route_planner.plan(chicago, at="12:00", **kw)
    assert night["shortest"]["length_m"] == noon["shortest"]["length_m"]
    assert night["shortest"]["exposure"] != noon["shortest"]["exposure"]
    assert night["recommended"]["exposure"] < night["shortest"]["exposure"]
    assert night["recommended"]["length_m"] <= 1.25 * night["shortest"]["length_m"] + 1e-6
