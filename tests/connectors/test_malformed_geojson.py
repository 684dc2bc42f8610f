"""A malformed GeoJSON or JSON answer is an error that says what was found, never an empty or shortened read."""
from __future__ import annotations

import http.server
import json
import threading

import pytest

from civicmash.connectors import arcgis, files, socrata
from civicmash.connectors import http as cm_http
from civicmash.devkit.replay import ReplayPortal, Route


def _rows(pages):
    return [r for p in pages for r in p.records]


@pytest.mark.parametrize("doc, found", [
    ({"type": "FeatureCollection", "features": {"0": {"type": "Feature"}}}, "'features': dict"),
    ({"type": "FeatureCollection"}, "'features': NoneType"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}, "oops"]}, "feature 2 is a str"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, "got type 'Polygon'"),
    ([{"type": "Feature"}], "expected a GeoJSON object, got list"),
])
def test_geojson_file_that_is_not_a_feature_collection(tmp_path, doc, found):
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=found) as err:
        _rows(files.iter_pages(path, fmt="geojson"))
    assert str(path) in str(err.value)


def test_a_single_feature_file_is_one_record(tmp_path):
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps({"type": "Feature", "properties": {"n": 1}, "geometry": None}))
    assert _rows(files.iter_pages(path, fmt="geojson")) == [{"n": 1, "_geometry": None}]


def test_json_array_with_a_non_object_names_the_record(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"a": 1}, 7, {"a": 3}]))
    with pytest.raises(ValueError, match="record 2 is a int, not an object"):
        _rows(files.iter_pages(path, fmt="json"))


def test_replay_portal_answers_500_naming_a_malformed_source(tmp_path, fast_session):
    (tmp_path / "bad.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": {}}))
    with ReplayPortal(tmp_path, [Route("socrata", "badd-0001", "bad.geojson", "geojson")]) as portal:
        with pytest.raises(cm_http.FetchError) as err:
            _rows(socrata.iter_pages(portal.base_url, "badd-0001", fmt="geojson", session=fast_session))
    assert err.value.status == 500 and "bad.geojson" in str(err.value) and "list of features" in str(err.value)


class _Fixed(http.server.BaseHTTPRequestHandler):
    """Answers 200 with the JSON body of the first path suffix in ``bodies`` the request's path ends with."""
    bodies: dict = {}

    def do_GET(self):
        path = self.path.split("?")[0]
        body = json.dumps(next(v for k, v in self.bodies.items() if path.endswith(k))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fixed_server():
    """A bare loopback server answering fixed bodies: a portal whose 200 answers are malformed."""
    servers = []

    def start(bodies: dict) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Fixed,), {"bodies": bodies}))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_socrata_geojson_answer_without_a_feature_list_fails_the_page(fixed_server, fast_session):
    base = fixed_server({".geojson": {"type": "FeatureCollection", "features": None}})
    with pytest.raises(cm_http.FetchError, match="dataset abcd-1234: page 1 of .*list of features"):
        _rows(socrata.iter_pages(base, "abcd-1234", fmt="geojson", session=fast_session))


def test_arcgis_query_answer_without_a_feature_list_fails_the_page(fixed_server, fast_session):
    base = fixed_server({"/FeatureServer/0": {"objectIdField": "OBJECTID", "maxRecordCount": 1000},
                         "/query": {"type": "FeatureCollection", "features": {"OBJECTID": 1}}})
    with pytest.raises(cm_http.FetchError, match="dataset Beats: page 1 of .*'features': dict"):
        _rows(arcgis.iter_pages(base, "Beats", session=fast_session))


def test_lines_geojson_file_without_a_feature_list_names_dataset_and_file(tmp_path):
    path = tmp_path / "centrelines.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": "none"}))
    with pytest.raises(ValueError, match=f"dataset centrelines: {path}: .*'features': str"):
        _rows(files.iter_pages(path, fmt="lines-geojson", dataset_name="centrelines", options={}))
