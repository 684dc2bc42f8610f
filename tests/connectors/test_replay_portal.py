"""The replay portal itself: SODA and ArcGIS semantics, files, faults, loopback only."""
from __future__ import annotations

import http.client
import json
import time

import pytest
import requests

from civicmash.connectors import arcgis
from civicmash.devkit.replay import ReplayPortal, Route
from civicmash.devkit.replay_socrata import api_name

from .conftest import CRIMES, chicago


def _raw_get(portal: ReplayPortal, path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (requests would normalise ``..`` away)."""
    host, port = portal.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
    conn.endheaders()
    response = conn.getresponse()
    return response.status, response.read()


def test_api_names():
    assert api_name("\ufeffID") == "id"
    assert api_name("Primary Type") == "primary_type"
    assert api_name("2019 ORDINANCE (AMOUNT $)") == "2019_ordinance_amount"
    assert api_name("NAME ") == "name"
    assert api_name(":@computed_region_awaf_s7ux") == "computed_region_awaf_s7ux"


def test_refuses_non_loopback_host(tmp_path):
    with pytest.raises(ValueError, match="loopback"):
        ReplayPortal(tmp_path, [], host="0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        ReplayPortal(tmp_path, [], host="192.168.1.10")


def test_soda_json_shape(small_portal):
    url = small_portal.base_url + "/resource/smal-l001.json"
    r = requests.get(url, params={"$limit": 2, "$select": ":*,*"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    row = r.json()[0]
    assert row[":id"] == "row-00000001" and row[":updated_at"] == "2018-11-10T16:22:02.000"
    assert row["id"] == "100" and row["latitude"] == "41.800000"          # numbers stay strings
    assert row["arrest"] is True and "ward" not in row                    # checkbox -> bool, null omitted
    assert json.loads(r.headers["X-SODA2-Fields"])[:3] == [":id", ":updated_at", "id"]
    default = requests.get(url).json()
    assert len(default) == 23 and ":id" not in default[0]


def test_soda_errors(small_portal):
    base = small_portal.base_url
    r = requests.get(base + "/resource/zzzz-zzzz.json")
    assert r.status_code == 404 and r.json()["error"] is True and "zzzz-zzzz" in r.json()["message"]
    r = requests.get(base + "/resource/smal-l001.json", params={"$limit": 50001})
    assert r.status_code == 400 and r.json()["error"] is True
    r = requests.get(base + "/resource/smal-l001.json", params={"$where": "nope > '1'"})
    assert r.status_code == 400 and "nope" in r.json()["message"]
    r = requests.get(base + "/resource/smal-l001.json", params={"$where": "ward >= 10 AND ward < 12"})
    assert sorted(x["ward"] for x in r.json()) == ["10", "11"]           # numeric comparison


def test_files_are_served_with_type_and_length(small_portal, small_root):
    r = requests.get(small_portal.base_url + "/files/small.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert int(r.headers["Content-Length"]) == (small_root / "small.csv").stat().st_size == len(r.content)
    assert requests.get(small_portal.base_url + "/files/missing.csv").status_code == 404


def test_files_carry_their_version_and_answer_head(tmp_path):
    """As a static file server does: ``ETag`` and ``Last-Modified`` on a file, the same headers without the body
    for ``HEAD`` (a refresh learns a file's version in one request), a new ``ETag`` once the file is edited."""
    (tmp_path / "a.csv").write_text("x\n1\n")
    with ReplayPortal(tmp_path, []) as portal:
        url = portal.base_url + "/files/a.csv"
        got, head = requests.get(url), requests.head(url)
        assert head.status_code == 200 and head.content == b"" and got.content == b"x\n1\n"
        for name in ("ETag", "Last-Modified", "Content-Length", "Content-Type"):
            assert head.headers[name] == got.headers[name], name
        (tmp_path / "a.csv").write_text("x\n2\n")   # same size, new content
        assert requests.head(url).headers["ETag"] != head.headers["ETag"]


@pytest.mark.parametrize("path", ["/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/a/../../secret.txt",
                                  "/files/..%2fsecret.txt", "/files//etc/passwd"])
def test_path_traversal_is_refused(tmp_path, path):
    (tmp_path / "secret.txt").write_text("do not serve")
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    with ReplayPortal(root, []) as portal:
        status, body = _raw_get(portal, path)
    assert status == 403 and b"do not serve" not in body


def test_fault_mode_is_deterministic(small_root):
    def outcomes(seed):
        with ReplayPortal(small_root, [Route("socrata", "smal-l001", "small.csv", "csv")],
                          faults=0.5, seed=seed) as p:
            out = []
            for _ in range(20):
                try:
                    r = requests.get(p.base_url + "/resource/smal-l001.json", timeout=5)
                    out.append((r.status_code, r.headers.get("Content-Type", "")[:9], len(r.content)))
                except requests.RequestException as exc:
                    out.append(type(exc).__name__)
            return out
    first = outcomes(11)
    assert first == outcomes(11)
    assert len(set(map(str, first))) >= 3          # a mix of good answers and several fault kinds


def test_latency(small_root):
    with ReplayPortal(small_root, [], latency=0.2) as p:
        t = time.perf_counter()
        requests.get(p.base_url + "/files/small.csv")
        assert time.perf_counter() - t >= 0.2


def test_arcgis_layer_info_and_ids(chicago_portal):
    layer = chicago_portal.base_url + "/arcgis/rest/services/PoliceBeats/FeatureServer/0"
    info = requests.get(layer, params={"f": "json"}).json()
    assert info["maxRecordCount"] == 50 and info["objectIdField"] == "OBJECTID"
    ids = requests.get(layer + "/query", params={"where": "1=1", "returnIdsOnly": "true", "f": "json"}).json()
    assert ids["objectIdFieldName"] == "OBJECTID" and ids["objectIds"] == list(range(1, 278))
    some = requests.get(layer + "/query", params={"objectIds": "3,1,2", "outFields": "beat_num", "f": "geojson"}).json()
    assert [f["id"] for f in some["features"]] == [1, 2, 3]
    assert set(some["features"][0]["properties"]) == {"beat_num", "OBJECTID"}
    assert "exceededTransferLimit" not in some.get("properties", {})
    assert requests.get(chicago_portal.base_url + "/arcgis/rest/services/Nope/FeatureServer/0",
                        params={"f": "json"}).status_code == 404


def test_arcgis_paging_past_max_record_count(chicago_portal):
    pages = list(arcgis.iter_pages(chicago_portal.base_url, "PoliceBeats", page_size=1000))
    assert [len(p.records) for p in pages] == [50, 50, 50, 50, 50, 27]     # capped at maxRecordCount
    oids = [r["OBJECTID"] for p in pages for r in p.records]
    assert oids == list(range(1, 278))                                      # no duplicates, none missing
    assert all(r["_geometry"] for p in pages for r in p.records)
    assert sorted(r["beat_num"] for p in pages for r in p.records).count("3100") == 3


def test_arcgis_paging_with_faults(tmp_path, fast_session):
    src = chicago("boundaries/police_districts.geojson")
    with ReplayPortal(src.parent, [Route("arcgis", "Districts", src.name, max_records=4)], faults=0.3, seed=5) as p:
        pages = list(arcgis.iter_pages(p.base_url, "Districts", page_size=3, session=fast_session))
    assert [r["OBJECTID"] for pg in pages for r in pg.records] == list(range(1, 26))


@pytest.mark.slow
def test_a_50000_row_page_is_fast(chicago_portal):
    chicago(CRIMES)
    url = chicago_portal.base_url + "/resource/ijzp-q8t2.json"
    requests.get(url, params={"$limit": 1})                  # first use loads and converts the CSV once
    # CPU time of this process (the portal serves from a thread of it): what a page costs, whatever else the
    # machine runs at the time (the wall clock doubled when the whole suite ran beside it on two cores)
    t = time.process_time()
    rows = requests.get(url, params={"$limit": 50000, "$offset": 100000}).json()
    assert time.process_time() - t < 2.0
    assert len(rows) == 50000 and rows[0]["date"].endswith(".000")


def test_midnight_and_noon_timestamps(tmp_path):
    (tmp_path / "t.csv").write_text("Date,Flag\n05/01/2018 12:00:00 AM,true\n05/01/2018 12:30:00 PM,\n"
                                    "11/12/2018 11:59:00 PM,false\n")
    with ReplayPortal(tmp_path, [Route("socrata", "tttt-0001", "t.csv")]) as p:
        rows = requests.get(p.base_url + "/resource/tttt-0001.json").json()
    assert rows == [{"date": "2018-05-01T00:00:00.000", "flag": True}, {"date": "2018-05-01T12:30:00.000"},
                    {"date": "2018-11-12T23:59:00.000", "flag": False}]


def test_portal_is_quiet(small_root, capfd):
    with ReplayPortal(small_root, [Route("socrata", "smal-l001", "small.csv")], faults=0.5, seed=1) as p:
        for path in ("/resource/smal-l001.json", "/files/small.csv", "/nope"):
            for _ in range(4):
                try:
                    requests.get(p.base_url + path, timeout=5)
                except requests.RequestException:
                    pass
    assert capfd.readouterr().err == ""


def test_a_running_portal_serves_an_edited_file_as_an_updated_dataset(small_root, tmp_path):
    """A portal kept running between runs (``civicmash portal serve`` + ``run --replay-url``) keeps each parsed
    file only while the file is unchanged: an edit is served at once, as a real portal serves an updated dataset."""
    import csv
    import shutil

    root = tmp_path / "root"
    shutil.copytree(small_root, root)
    with ReplayPortal(root, [Route("socrata", "smal-l001", "small.csv", "csv")]) as portal:
        url = portal.base_url + "/resource/smal-l001.json"
        count = lambda: int(requests.get(url, params={"$select": "count(*)"}).json()[0]["count"])  # noqa: E731
        before = count()
        with open(root / "small.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        with open(root / "small.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows[:-2])   # the publisher drops two rows
        assert count() == before - 2
        assert count() == before - 2   # read again only when the file changes
