"""files connector: csv quirks, geojson, json and edgelist, from local paths and over HTTP."""
from __future__ import annotations

import json

import pytest

from civicmash.connectors import files
from civicmash.devkit.replay import ReplayPortal

from .conftest import chicago

EDGES = {"vertices": "chicago_vertices_osm.txt", "edges": "chicago_edges_osm.txt", "crs": "EPSG:32616"}


def _rows(pages):
    return [r for p in pages for r in p.records]


def test_csv_with_cr_cr_lf_gives_no_blank_records():
    path = chicago("demographics/community_area_population_2000_2010.csv")
    assert b"\r\r\n" in path.read_bytes()
    rows = _rows(files.iter_pages(path, fmt="csv", page_size=10))
    assert len(rows) == 77
    assert all(r["community"] and r["NID"] for r in rows)
    assert not any(v.endswith("\r") for r in rows for v in r.values())
    assert sum(int(r["POP2010"]) for r in rows) == 2_695_598


def test_csv_bom_is_dropped():
    rows = _rows(files.iter_pages(chicago("crime/crimes_2024_sample_fullschema.csv"), fmt="csv"))
    assert len(rows) == 10_000 and list(rows[0])[0] == "ID"


def test_csv_multiline_cells():
    rows = _rows(files.iter_pages(chicago("services/fire_stations.csv"), fmt="csv"))
    assert len(rows) == 92
    assert all(r["LOCATION"] is None or r["LOCATION"].count("\n") == 2 for r in rows)


def test_csv_huge_wkt_cells():
    rows = _rows(files.iter_pages(chicago("services/parks_cpd.csv"), fmt="csv", page_size=100))
    assert len(rows) == 614
    assert max(len(r["the_geom"]) for r in rows) > 131_072
    assert all(r["the_geom"].startswith("MULTIPOLYGON") for r in rows)


def test_csv_duplicate_and_empty_headers_are_kept_apart():
    pages = list(files.iter_pages(chicago("services/primary_care_community_health_centers.csv"), fmt="csv"))
    assert len(_rows(pages)) == 120
    assert pages[0].meta["renamed_columns"] == {"column_12": "", "Address_2": "Address"}


def test_csv_empty_cells_ragged_rows_and_line_endings(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b'\xef\xbb\xbfa,b,c\r\n1,,3\r\r\n"multi\r\nline",2\r\n4,5,6,7\n')
    pages = list(files.iter_pages(path, fmt="csv"))
    assert pages[0].records == [{"a": "1", "b": None, "c": "3"}, {"a": "multi\r\nline", "b": "2", "c": None},
                                {"a": "4", "b": "5", "c": "6", "_extra": '["7"]'}]
    assert pages[0].meta["ragged_rows"] == 2


def test_geojson_features_and_legacy_crs(tmp_path):
    rows = _rows(files.iter_pages(chicago("boundaries/community_areas.geojson"), fmt="geojson", page_size=50))
    assert len(rows) == 77 and json.loads(rows[0]["_geometry"])["type"] == "MultiPolygon"
    legacy = tmp_path / "legacy.geojson"
    legacy.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": [
        {"type": "Feature", "properties": {"n": 1, "tags": ["a"]}, "geometry": None}]}))
    page = next(files.iter_pages(legacy, fmt="geojson"))
    assert page.records == [{"n": 1, "tags": '["a"]', "_geometry": None}]
    assert page.meta["legacy_crs"]["properties"]["name"].endswith("CRS84")


def test_json_object_with_a_list_member():
    pages = list(files.iter_pages(chicago("licenses/lastcall_census_bars_2mi_330NWabash.json"), fmt="json",
                                  page_size=400))
    rows = _rows(pages)
    assert len(rows) == 1020 and pages[0].meta["records_key"] == "venues"
    assert rows[0]["tags"] == "[]" and isinstance(rows[0]["lat"], float)


def test_edgelist_all_vertices_exist():
    base = chicago("streets/mapconstruction_chicago_osm")
    pages = list(files.iter_pages(base, fmt="edgelist", options=EDGES, page_size=5000))
    rows = _rows(pages)
    assert len(rows) == 11_801 and len({r["edge_id"] for r in rows}) == 11_801
    assert sum(p.meta["dangling_refs"] for p in pages) == 0
    assert pages[0].meta["crs"] == "EPSG:32616"
    first = rows[0]
    assert set(files.SEGMENT_KEYS) <= set(first) and first["flag"] in ("0", "1")
    assert 441000 <= first["u_x"] <= 448000 and 4633500 <= first["u_y"] <= 4638000


def test_edgelist_dangling_refs_are_counted(tmp_path):
    (tmp_path / "v.txt").write_text("1,0.0,0.0\n2,1.0,0.0\n3,1.0,1.0\n")
    (tmp_path / "e.txt").write_text("10,1,2,0\n11,2,3,1\n12,3,99,0\n13,98,99,0\n")
    pages = list(files.iter_pages(tmp_path, fmt="edgelist", options={"vertices": "v.txt", "edges": "e.txt"},
                                  page_size=1))
    assert [r["edge_id"] for r in _rows(pages)] == [10, 11]
    assert sum(p.meta["dangling_refs"] for p in pages) == 3
    assert pages[0].meta["crs"] is None


def test_files_over_http_with_faults(fast_session):
    root = chicago()
    with ReplayPortal(root, [], faults=0.3, seed=2) as portal:
        csv_rows = _rows(files.iter_pages(portal.base_url + "/files/services/fire_stations.csv", fmt="csv",
                                          session=fast_session))
        edge_pages = list(files.iter_pages(portal.base_url + "/files/streets/mapconstruction_chicago_osm/chicago_edges_osm.txt",
                                           fmt="edgelist", options=EDGES, session=fast_session))
    assert len(csv_rows) == 92
    assert sum(len(p.records) for p in edge_pages) == 11_801
    assert edge_pages[0].url.endswith("/files/streets/mapconstruction_chicago_osm/chicago_edges_osm.txt")


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="format"):
        files.iter_pages(tmp_path, fmt="xlsx")
    with pytest.raises(FileNotFoundError):
        list(files.iter_pages(tmp_path / "nope.csv", fmt="csv"))
