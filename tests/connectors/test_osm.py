"""osm connector: street segments from OSM XML and Overpass JSON, dangling refs counted."""
from __future__ import annotations

import json

from civicmash.connectors import osm
from civicmash.connectors.files import SEGMENT_KEYS
from civicmash.devkit.replay import ReplayPortal

from .conftest import chicago


def _rows(pages):
    return [r for p in pages for r in p.records]


def test_osm_xml_segments():
    pages = list(osm.iter_pages(chicago("streets/osm_logan_square_2012.osm"), fmt="osm-xml", page_size=500))
    rows = _rows(pages)
    # counted independently: 258 ways have a highway tag, with 1,989 node pairs; the export is not clipped
    assert len(rows) == 1989 and sum(p.meta["ways"] for p in pages) == 258
    assert sum(p.meta["dangling_refs"] for p in pages) == 0
    assert all(p.meta["crs"] == "EPSG:4326" for p in pages)
    assert set(rows[0]) == set(SEGMENT_KEYS)
    assert all(41.9 < r["u_y"] < 42.0 and -87.8 < r["u_x"] < -87.6 for r in rows)
    assert {"residential", "service", "motorway"} <= {r["highway"] for r in rows}   # kept, not filtered


def test_osm_xml_clipped_extract_counts_dangling_refs(tmp_path):
    xml = """<?xml version="1.0"?><osm version="0.6">
      <node id="1" lat="41.0" lon="-87.0"/><node id="2" lat="41.1" lon="-87.0"/>
      <node id="4" lat="41.3" lon="-87.0"/><node id="5" lat="41.4" lon="-87.0"/>
      <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="6"/>
        <tag k="highway" v="residential"/><tag k="name" v="Test St"/><tag k="lit" v="yes"/></way>
      <way id="101"><nd ref="1"/><nd ref="7"/><tag k="building" v="yes"/></way>
    </osm>"""
    (tmp_path / "clip.osm").write_text(xml)
    pages = list(osm.iter_pages(tmp_path / "clip.osm", fmt="osm-xml", page_size=1))
    rows = _rows(pages)
    assert [(r["u"], r["v"]) for r in rows] == [(1, 2), (4, 5)]         # split at 3, continues after it
    assert sum(p.meta["dangling_refs"] for p in pages) == 2             # refs 3 and 6; way 101 is no street
    assert rows[0]["name"] == "Test St" and rows[0]["lit"] == "yes" and rows[0]["way_id"] == 100


def test_overpass_json_segments():
    path = chicago("streets/osm_overpass_loop_drive_2023-04.json")
    ways = [e for e in json.loads(path.read_text())["elements"] if e["type"] == "way" and "highway" in e["tags"]]
    pages = list(osm.iter_pages(path, fmt="overpass-json", page_size=1000))
    rows = _rows(pages)
    assert len(rows) == sum(len(w["nodes"]) - 1 for w in ways)
    assert sum(p.meta["dangling_refs"] for p in pages) == 0
    assert sum(r["sidewalk"] == "separate" for r in rows) > 0 and sum(r["oneway"] == "yes" for r in rows) > 0
    assert {r["highway"] for r in rows} >= {"primary", "secondary", "residential"}


def test_overpass_json_over_http_with_dangling(tmp_path, fast_session):
    doc = {"elements": [{"type": "node", "id": 1, "lat": 41.0, "lon": -87.0},
                        {"type": "node", "id": 2, "lat": 41.1, "lon": -87.1},
                        {"type": "way", "id": 9, "nodes": [1, 2, 3], "tags": {"highway": "footway"}}]}
    (tmp_path / "o.json").write_text(json.dumps(doc))
    with ReplayPortal(tmp_path, [], faults=0.3, seed=1) as portal:
        pages = list(osm.iter_pages(portal.base_url + "/files/o.json", fmt="overpass-json", session=fast_session))
    assert [(r["u"], r["v"], r["u_x"], r["v_y"]) for r in pages[0].records] == [(1, 2, -87.0, 41.1)]
    assert pages[0].meta["dangling_refs"] == 1
