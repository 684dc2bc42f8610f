"""The real Chicago walk graph as the pipeline builds it: four street datasets (edge list, .osm, Overpass JSON,
centreline GeoJSON) merged into one graph, and street_coverage saying which community areas it covers."""

from __future__ import annotations

import contextlib

import duckdb
import pytest

from civicmash.analysis import route_planner
from civicmash.analysis.routing import WalkGraph

pytestmark = pytest.mark.slow

STREETS = {"streets_west_loop", "streets_logan_square", "streets_loop_overpass", "street_centrelines"}


@pytest.fixture(scope="module")
def con(chicago_run):
    with contextlib.closing(duckdb.connect(chicago_run["warehouse"], read_only=True)) as c:
        yield c


def test_pipeline_merges_the_street_datasets(chicago_run, con):
    net = chicago_run["street_network"]
    assert set(net["datasets"]) == STREETS
    # the centrelines and the Loop extract duplicate streets the full-detail datasets already map
    assert net["superseded"]["street_centrelines"] > 1000 and net["superseded"]["streets_loop_overpass"] > 500
    assert "streets_west_loop" not in net["superseded"] and "streets_logan_square" not in net["superseded"]
    assert {"street_centrelines|streets_west_loop", "street_centrelines|streets_logan_square",
            "streets_loop_overpass|streets_west_loop"} <= set(net["links"])
    g = WalkGraph.from_warehouse(con, "chicago")
    assert set(g.dataset.tolist()) == STREETS | {"street_links"}
    # Logan Square and the West Loop are 6 km apart with only arterials between them: one walk
    a = g.nearest_node(41.9290, -87.7100)      # Logan Square (the .osm extract)
    b = g.nearest_node(41.8841, -87.6488)      # Randolph & Green (the West Loop edge list)
    nodes, metres = g.route(a, b)
    assert 6000 < metres < 11000
    used = set(g.dataset[g.path_edges(nodes)].tolist())
    assert {"streets_logan_square", "street_centrelines", "streets_west_loop", "street_links"} <= used


def test_street_coverage_records_what_the_walk_graph_covers(con):
    rows = con.execute("SELECT dataset, area_code, area_name, detail, edge_m, covered_share FROM street_coverage "
                       "WHERE city = 'chicago' AND area_kind = 'community_area'").fetchall()
    assert len(rows) == 4 * 77                                  # every dataset x community area, zeros included
    by = {(d, c): (name, detail, m, share) for d, c, name, detail, m, share in rows}
    assert by[("streets_west_loop", "28")][0] == "NEAR WEST SIDE"
    assert by[("streets_west_loop", "28")][3] > 0.5             # the edge list maps much of the Near West Side
    assert by[("streets_logan_square", "22")][3] > 0.1          # Logan Square
    assert by[("streets_loop_overpass", "32")][3] > 0.5         # the Loop
    assert by[("streets_west_loop", "1")][2:] == (0.0, 0.0)     # nothing in Rogers Park
    major = [v for (d, _), v in by.items() if d == "street_centrelines"]
    assert {v[1] for v in major} == {"major_streets"} and sum(v[2] > 0 for v in major) == 77
    comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'street_coverage'").fetchone()[0]
    assert comment and "community area" in comment
    words = route_planner.coverage_words(route_planner.coverage_summary(con, city="chicago"))
    assert words.startswith("walk graph covers: every street in") and "major streets only in" in words
