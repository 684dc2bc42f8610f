import pytest

from tests.warehouse.helpers import load


def seg(u, v, ux, uy, vx, vy, **kw):
    rec = {"u": u, "v": v, "u_x": ux, "u_y": uy, "v_x": vx, "v_y": vy, "way_id": "10", "highway": "residential",
           "name": "W Randolph St", "lit": "yes", "foot": None, "access": None, "oneway": "yes"}
    rec.update(kw)
    return rec


def test_osm_segments_walkability_and_ids(con, tmp_path):
    recs = [seg("100", "101", "-87.65", "41.884", "-87.649", "41.884"),
            seg("101", "102", "-87.649", "41.884", "-87.649", "41.885"),
            seg("102", "103", "-87.649", "41.885", "-87.648", "41.885", highway="motorway"),
            seg("103", "104", "-87.648", "41.885", "-87.647", "41.885", foot="no"),
            seg("104", "105", "-87.647", "41.885", "-87.646", "41.885", access="private"),
            seg("105", "106", "-87.646", "41.885", "-87.645", "41.885", access="private", foot="yes"),
            seg("106", None, "-87.645", "41.885", None, None)]
    r = load(con, tmp_path, recs, table="streets", dataset="osm", fields={},
             source_meta={"protocol": "osm", "crs": "EPSG:4326"})
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (7, 3, 4)
    assert r.reasons == {"not_walkable": 3, "bad_node_id": 1}
    nodes = [n for (n,) in con.execute("SELECT node_id FROM street_nodes ORDER BY 1").fetchall()]
    assert nodes == [100, 101, 102, 105, 106]  # OSM node ids kept
    length, typ = con.execute("SELECT length_m, ST_GeometryType(geom)::VARCHAR FROM street_edges WHERE u = 101").fetchone()
    assert length == pytest.approx(111.2, abs=0.5) and typ == "LINESTRING"
    assert con.execute("SELECT count(DISTINCT edge_id) FROM street_edges").fetchone()[0] == 3
    # a second street dataset of the same city with the same local ids does not collide
    load(con, tmp_path, recs[:2], table="streets", dataset="other", fields={}, options={"node_ids": "offset"})
    assert con.execute("SELECT count(DISTINCT node_id), count(*) FROM street_nodes").fetchone() == (8, 8)
    assert con.execute("SELECT count(DISTINCT edge_id), count(*) FROM street_edges").fetchone() == (5, 5)


def edgelist_records(root):
    verts = {}
    for line in (root / "chicago_vertices_osm.txt").read_text().splitlines():
        if line.strip():
            i, x, y = line.split(",")
            verts[i] = (x, y)
    recs = []
    for line in (root / "chicago_edges_osm.txt").read_text().splitlines():
        if line.strip():
            eid, a, b, flag = line.split(",")
            recs.append({"edge_id": eid, "u": a, "v": b, "u_x": verts[a][0], "u_y": verts[a][1],
                         "v_x": verts[b][0], "v_y": verts[b][1], "flag": flag})
    return recs


def test_real_west_loop_edge_list(con, tmp_path, chicago):
    recs = edgelist_records(chicago / "streets/mapconstruction_chicago_osm")
    r = load(con, tmp_path, recs, table="streets", dataset="west_loop", fields={},
             options={"crs": "EPSG:32616"}, source_meta={"protocol": "file"})
    assert (r.rows_in, r.rows_loaded) == (11_801, 11_801)
    n_nodes, min_lat, max_lat, min_lon, max_lon, neg = con.execute(
        "SELECT count(*), min(lat), max(lat), min(lon), max(lon), bool_and(node_id < 0) FROM street_nodes").fetchone()
    assert n_nodes == 9_429 - 38  # isolated vertices have no edge
    assert 41.850 < min_lat and max_lat < 41.893 and -87.712 < min_lon and max_lon < -87.626 and neg
    total_km, zero = con.execute("SELECT sum(length_m) / 1000, count(*) FILTER (WHERE length_m < 0.01) FROM street_edges").fetchone()
    assert total_km == pytest.approx(605.6, rel=0.002) and zero == 1  # "1 edge has zero length" (8 mm)
    assert con.execute("SELECT count(*) FROM street_edges WHERE source_flag = '1'").fetchone()[0] == 3_512
    # every edge end is a node
    assert con.execute("""SELECT count(*) FROM street_edges e WHERE NOT EXISTS (SELECT 1 FROM street_nodes n WHERE n.node_id = e.u)
                          OR NOT EXISTS (SELECT 1 FROM street_nodes n WHERE n.node_id = e.v)""").fetchone()[0] == 0
