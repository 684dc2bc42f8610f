"""CKAN connector and the replay portal's CKAN API, over real HTTP, on the real 2019 budget CSV."""
from __future__ import annotations

import csv

import pytest
import requests

from civicmash.connectors import ckan
from civicmash.connectors.http import FetchError
from civicmash.devkit.replay import ReplayPortal, Route

from .conftest import chicago

BUDGET = "spending/budget_2019_appropriations.csv"
N_BUDGET = 3507
ROUTES = [Route("ckan", "budget-2019", BUDGET), Route("ckan", "budget-2019-file", BUDGET, datastore=False)]


def _all(pages):
    return [r for p in pages for r in p.records]


@pytest.fixture(scope="module")
def budget_rows() -> list[dict]:
    with open(chicago(BUDGET), encoding="utf-8-sig", newline="") as fh:
        return [{k: (v or None) for k, v in row.items()} for row in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def budget_root():
    return chicago()


def _check(rows: list[dict], budget_rows: list[dict]) -> None:
    assert len(rows) == N_BUDGET
    assert [r["_id"] for r in rows] == list(range(1, N_BUDGET + 1))
    assert [{k: v for k, v in r.items() if k != "_id"} for r in rows] == budget_rows
    assert "_full_text" not in rows[0]


@pytest.mark.parametrize("options, mode", [({}, "sql"), ({"ckan_sql": False}, "keyset"),
                                           ({"ckan_sql": False, "ckan_after_id": False}, "offset")])
def test_datastore_paging_modes(budget_root, budget_rows, options, mode):
    with ReplayPortal(budget_root, ROUTES, **options) as portal:
        pages = list(ckan.iter_pages(portal.base_url, "budget-2019", page_size=1000))
    assert [len(p.records) for p in pages] == [1000, 1000, 1000, 507]
    # page 1 (after_id=0) cannot tell whether after_id is honoured; page 2 can
    assert [p.meta["mode"] for p in pages] == ["keyset" if mode == "offset" else mode] + [mode] * 3
    _check(_all(pages), budget_rows)
    meta = pages[0].meta
    assert meta["protocol"] == "ckan" and meta["fields"][:2] == ["_id", "FUND TYPE"]
    assert meta["types"]["2019 ORDINANCE (AMOUNT $)"] == "text" and meta["types"]["_id"] == "int"
    assert pages[-1].meta["last_id"] == N_BUDGET
    assert budget_rows[0]["FUND CODE"].startswith("0")          # leading zeros survive as text


def test_exact_multiple_of_page_size_ends_cleanly(budget_root):
    with ReplayPortal(budget_root, ROUTES) as portal:
        pages = list(ckan.iter_pages(portal.base_url, "budget-2019", page_size=N_BUDGET))
    assert [len(p.records) for p in pages] == [N_BUDGET]


def test_download_when_not_in_datastore(budget_root, budget_rows):
    with ReplayPortal(budget_root, ROUTES) as portal:
        pages = list(ckan.iter_pages(portal.base_url, "budget-2019-file", page_size=2000))
    assert [len(p.records) for p in pages] == [2000, 1507]
    assert pages[0].meta["mode"] == "download" and pages[0].url.endswith("/files/" + BUDGET)
    assert _all(pages) == budget_rows


def test_resource_by_name(budget_root):
    with ReplayPortal(budget_root, ROUTES) as portal:
        pages = list(ckan.iter_pages(portal.base_url, "budget-2019", resource="budget_2019_appropriations.csv",
                                     page_size=32000))
        assert len(_all(pages)) == N_BUDGET
        with pytest.raises(ValueError, match="no resource"):
            ckan.iter_pages(portal.base_url, "budget-2019", resource="nope")


@pytest.mark.parametrize("options", [{}, {"ckan_sql": False}, {"ckan_sql": False, "ckan_after_id": False}])
def test_faults_still_give_exact_rows(budget_root, budget_rows, fast_session, options):
    with ReplayPortal(budget_root, ROUTES, faults=0.3, seed=9, **options) as portal:
        pages = list(ckan.iter_pages(portal.base_url, "budget-2019", page_size=500, session=fast_session))
        _check(_all(pages), budget_rows)
        assert any(p.meta["tries"] > 1 for p in pages)
        files = _all(ckan.iter_pages(portal.base_url, "budget-2019-file", session=fast_session))
        assert files == budget_rows


def test_unknown_package_fails_at_once(budget_root, fast_session):
    with ReplayPortal(budget_root, ROUTES) as portal:
        with pytest.raises(FetchError) as err:
            ckan.iter_pages(portal.base_url, "nope", dataset_name="budget", session=fast_session)
    assert err.value.status == 404 and err.value.tries == 1 and "budget" in str(err.value)


def test_ckan_envelopes_and_errors(budget_root):
    with ReplayPortal(budget_root, ROUTES) as portal:
        api = portal.base_url + "/api/3/action/"
        pkg = requests.get(api + "package_show", params={"id": "budget-2019"}).json()
        assert pkg["success"] is True
        (res,) = pkg["result"]["resources"]
        assert res["datastore_active"] is True and res["format"] == "CSV"
        rid = res["id"]
        r = requests.get(api + "package_show", params={"id": "nope"})
        assert r.status_code == 404 and r.json()["success"] is False and r.json()["error"]["__type"] == "Not Found Error"
        r = requests.get(api + "datastore_search", params={"resource_id": rid, "limit": 40000})
        body = r.json()["result"]
        assert body["limit"] == 32000 and len(body["records"]) == N_BUDGET and body["total"] == N_BUDGET
        r = requests.get(api + "datastore_search", params={"resource_id": rid, "limit": 2, "offset": 10,
                                                           "sort": "_id asc"})
        assert [x["_id"] for x in r.json()["result"]["records"]] == [11, 12]
        r = requests.get(api + "datastore_search", params={"resource_id": rid, "limit": "x"})
        assert r.status_code == 409 and r.json()["error"]["limit"] == ["Invalid integer"]
        r = requests.get(api + "datastore_search", params={"resource_id": rid, "filters": '{"FUND TYPE": "CDBG"}'})
        assert {x["FUND TYPE"] for x in r.json()["result"]["records"]} == {"CDBG"}
        r = requests.get(api + "datastore_search", params={"resource_id": "nope"})
        assert r.status_code == 404 and r.json()["success"] is False
        sql = f'SELECT * FROM "{rid}" WHERE _id > 3500 ORDER BY _id LIMIT 5'
        r = requests.get(api + "datastore_search_sql", params={"sql": sql}).json()
        assert [x["_id"] for x in r["result"]["records"]] == [3501, 3502, 3503, 3504, 3505]
        assert "_full_text" in r["result"]["records"][0]
        r = requests.get(api + "datastore_search_sql", params={"sql": f'DELETE FROM "{rid}"'})
        assert r.status_code == 409 and r.json()["success"] is False
        r = requests.get(api + "nope_action")
        assert r.status_code == 400 and "Action name not known" in r.json()["error"]["message"]
    with ReplayPortal(budget_root, ROUTES, ckan_sql=False) as portal:
        r = requests.get(portal.base_url + "/api/3/action/datastore_search_sql", params={"sql": sql})
        assert r.status_code == 400


def test_ckan_dataset_of_a_profile_through_the_pipeline(prefect_harness, budget_root, tmp_path):
    """A profile may name a CKAN dataset: the flow fetches it from the DataStore and loads `spending`."""
    import contextlib

    import duckdb

    from civicmash.flows.pipeline import civic_pipeline

    profile = tmp_path / "ckanville.toml"
    profile.write_text(f'''
name = "ckanville"
title = "Ckanville (Chicago's 2019 budget published through CKAN)"
[http]
timeout = 30
[datasets.budget]
protocol = "ckan"
domain = "data.ckanville.example"
dataset_id = "budget-2019"
format = "csv"
table = "spending"
replay = "{BUDGET}"
options = {{ page_size = 1000, defaults = {{ fiscal_year = "2019" }} }}
fields = {{ department = "DEPARTMENT DESCRIPTION", fund_code = "FUND CODE", amount = "2019 ORDINANCE (AMOUNT $)" }}
''')
    run = civic_pipeline("ckanville", out=str(tmp_path / "out"), replay=str(budget_root),
                         profile_path=str(profile), maps=[])
    (ingest,) = run["ingest"]
    assert (ingest["records"], ingest["pages"]) == (N_BUDGET, 4)
    (loaded,) = run["datasets"]
    assert (loaded["rows_in"], loaded["rows_loaded"], loaded["rows_quarantined"]) == (N_BUDGET, N_BUDGET, 0)
    with contextlib.closing(duckdb.connect(run["warehouse"], read_only=True)) as con:
        total, zeros = con.execute("SELECT sum(amount), count(*) FILTER (WHERE fund_code LIKE '0%') "
                                   "FROM spending WHERE city = 'ckanville'").fetchone()
    assert round(float(total) / 1e9, 2) == 11.40 and zeros > 0       # PROVENANCE: $11.40 billion, "0100"
