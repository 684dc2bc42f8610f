"""The portal's own row count (Socrata ``$select=count(*)``, ArcGIS ``returnCountOnly``, CKAN ``total``) and the
Socrata id listing of the deletion sweep, over real HTTP to the replay portal, through each protocol's
declared ``count``/``source_ids`` (what the flow calls). Small generated files: no real-data bundle needed."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import requests

from civicmash.connectors import FetchRequest, arcgis, ckan, protocol, socrata
from civicmash.devkit.replay import ReplayPortal, Route

ROWS = 37


@pytest.fixture
def root(tmp_path: Path) -> Path:
    with open(tmp_path / "rows.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ID", "Kind", "Amount"])
        writer.writerows([[f"A{i:03d}", "x" if i % 2 else "y", i] for i in range(ROWS)])
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-87.6 + i / 1000, 41.8]},
                 "properties": {"name": f"p{i}"}} for i in range(ROWS)]
    (tmp_path / "points.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return tmp_path


ROUTES = [Route("socrata", "rows-0001", "rows.csv", "csv"), Route("arcgis", "Points", "points.geojson"),
          Route("ckan", "rows-pkg", "rows.csv"), Route("ckan", "rows-file", "rows.csv", datastore=False)]


def _request(name: str, portal: ReplayPortal, dataset_id: str, **options) -> FetchRequest:
    proto = protocol(name)
    fmt = proto.formats[0]
    return FetchRequest(dataset=dataset_id, format=fmt, location=portal.base_url, dataset_id=dataset_id,
                        options=proto.options_model(fmt)(**options))


def test_each_portal_protocol_declares_a_count_and_files_have_none(root):
    with ReplayPortal(root, ROUTES) as portal:
        assert protocol("socrata").count(_request("socrata", portal, "rows-0001")) == ROWS
        assert protocol("arcgis").count(_request("arcgis", portal, "Points")) == ROWS
        assert protocol("ckan").count(_request("ckan", portal, "rows-pkg")) == ROWS
        # a CKAN resource that is only a file: the portal keeps no count
        assert protocol("ckan").count(_request("ckan", portal, "rows-file")) is None
    assert protocol("file").count is None      # a file's rows are its count: "n/a"


def test_counts_are_asked_as_the_real_portals_answer_them(root):
    with ReplayPortal(root, ROUTES) as portal:
        base = portal.base_url
        soda = requests.get(f"{base}/resource/rows-0001.json", params={"$select": "count(*)"}, timeout=10).json()
        assert soda == [{"count": str(ROWS)}]
        where = requests.get(f"{base}/resource/rows-0001.json",
                             params={"$select": "count(*)", "$where": "kind = 'x'"}, timeout=10).json()
        assert where == [{"count": str(ROWS // 2)}]
        assert socrata.count_rows(base, "rows-0001", where="kind = 'x'") == ROWS // 2
        esri = requests.get(f"{base}/arcgis/rest/services/Points/FeatureServer/0/query",
                            params={"where": "1=1", "returnCountOnly": "true", "f": "json"}, timeout=10).json()
        assert esri == {"count": ROWS}
        assert arcgis.count_rows(base, "Points") == ROWS
        result = requests.get(f"{base}/api/3/action/package_show", params={"id": "rows-pkg"}, timeout=10).json()
        rid = result["result"]["resources"][0]["id"]
        total = requests.get(f"{base}/api/3/action/datastore_search", params={"resource_id": rid, "limit": 0},
                             timeout=10).json()["result"]
        assert total["total"] == ROWS and total["records"] == []
        assert ckan.count_rows(base, "rows-pkg") == ROWS


def test_count_skew_makes_the_portal_report_a_count_unlike_its_rows(root):
    skew = {"rows-0001": 5, "Points": -2, "rows-pkg": 3}
    with ReplayPortal(root, ROUTES, count_skew=skew) as portal:
        assert socrata.count_rows(portal.base_url, "rows-0001") == ROWS + 5
        assert arcgis.count_rows(portal.base_url, "Points") == ROWS - 2
        assert ckan.count_rows(portal.base_url, "rows-pkg") == ROWS + 3
        # the rows served are unchanged
        assert sum(p.row_count for p in socrata.iter_pages(portal.base_url, "rows-0001", page_size=10)) == ROWS


def test_socrata_lists_every_id_in_pages(root):
    with ReplayPortal(root, ROUTES) as portal:
        request = _request("socrata", portal, "rows-0001", page_size=10)   # 4 pages of ids
        ids = list(protocol("socrata").source_ids(request, "id"))
        assert ids == [f"A{i:03d}" for i in range(ROWS)]
        system = list(socrata.iter_ids(portal.base_url, "rows-0001", page_size=8))
        assert system == [f"row-{i + 1:08d}" for i in range(ROWS)]
        assert len(list(socrata.iter_ids(portal.base_url, "rows-0001", field="id", where="kind = 'y'"))) == 19
    assert protocol("arcgis").source_ids is None and protocol("ckan").source_ids is None


def test_socrata_metadata_says_when_the_rows_last_changed(root):
    with ReplayPortal(root, ROUTES) as portal:
        meta = requests.get(f"{portal.base_url}/api/views/rows-0001.json", timeout=10).json()
        assert meta["id"] == "rows-0001" and isinstance(meta["rowsUpdatedAt"], int)
        # no updated_on column: every row has the replay portal's fixed :updated_at, 2024-01-01 00:00
        assert protocol("socrata").updated_at(_request("socrata", portal, "rows-0001")) == "2024-01-01T00:00:00+00:00"
        portal.append_rows("rows-0001", [{"id": "NEW", "kind": "x", "amount": "1"}])   # published now
        assert socrata.rows_updated_at(portal.base_url, "rows-0001") > "2024-01-02"
    assert protocol("arcgis").updated_at is None


def test_a_broken_count_answer_names_the_dataset(root):
    with ReplayPortal(root, ROUTES) as portal:
        with pytest.raises(Exception, match="nope-0001"):
            socrata.count_rows(portal.base_url, "nope-0001")
