"""A malformed GeoJSON or JSON answer is an error that says what was found, never an empty or shortened read."""
from __future__ import annotations

import http.server
import json
import threading

import pytest

from connectors import files, http as cm_http, socrata
from connectors.replay import ReplayPortal, Route


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
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.geo+json;charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_socrata_geojson_answer_without_a_feature_list_fails_the_page(fast_session):
    """A portal (here a bare loopback server) answering 200 with a FeatureCollection whose features are not a list."""
    handler = type("H", (_Fixed,), {"body": json.dumps({"type": "FeatureCollection", "features": None}).encode()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(cm_http.FetchError, match="dataset abcd-1234: page 1 of .*list of features"):
            _rows(socrata.iter_pages(f"http://127.0.0.1:{server.server_port}", "abcd-1234", fmt="geojson",
                                     session=fast_session))
    finally:
        server.shutdown()
        server.server_close()
