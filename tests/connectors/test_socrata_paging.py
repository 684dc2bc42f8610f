"""Socrata connector against the replay portal over real HTTP."""
from __future__ import annotations

import csv
import logging

import pytest

from civicmash.connectors import socrata
from civicmash.connectors.http import FetchError
from civicmash.devkit.replay import ReplayPortal, Route

from .conftest import CRIMES, chicago

N_SMALL = 23


def _all(pages):
    return [r for p in pages for r in p.records]


@pytest.mark.parametrize("page_size", [1, 5, 7, 23, 50])
def test_paging_returns_every_row_once_in_id_order(small_portal, page_size):
    pages = list(socrata.iter_pages(small_portal.base_url, "smal-l001", page_size=page_size, select=":*,*"))
    rows = _all(pages)
    assert [r[":id"] for r in rows] == [f"row-{i:08d}" for i in range(1, N_SMALL + 1)]
    assert sorted(r["id"] for r in rows) == sorted(str(100 + i) for i in range(N_SMALL))
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    assert all(len(p.records) == page_size for p in pages[:-1])


def test_paging_is_stable_for_another_order(small_portal):
    rows = _all(socrata.iter_pages(small_portal.base_url, "smal-l001", page_size=4, order="date DESC"))
    assert len(rows) == N_SMALL and len({r["id"] for r in rows}) == N_SMALL
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates, reverse=True)


def test_system_fields_only_with_select_star(small_portal):
    plain = _all(socrata.iter_pages(small_portal.base_url, "smal-l001", page_size=100))
    assert not any(k.startswith(":") for r in plain for k in r)


def test_where_on_updated_at(small_portal):
    expected = sum(1 for i in range(N_SMALL) if 10 + i % 10 >= 15)   # Updated On 11/15..11/19
    rows = _all(socrata.iter_pages(small_portal.base_url, "smal-l001", page_size=3, select=":*,*",
                                   where=":updated_at >= '2018-11-15T00:00:00'"))
    assert len(rows) == expected > 0
    assert all(r[":updated_at"] >= "2018-11-15" for r in rows)
    both = _all(socrata.iter_pages(small_portal.base_url, "smal-l001", page_size=3,
                                   where=":updated_at >= '2018-11-15' AND primary_type = 'THEFT'"))
    assert 0 < len(both) < expected and {r["primary_type"] for r in both} == {"THEFT"}


def test_csv_json_and_geojson_endpoints_agree(small_portal):
    by_fmt = {fmt: _all(socrata.iter_pages(small_portal.base_url, "smal-l001", fmt=fmt, page_size=6))
              for fmt in ("json", "csv", "geojson")}
    as_text = lambda r: {k: str(v).lower() if isinstance(v, bool) else v   # noqa: E731
                         for k, v in r.items() if v is not None and k != "_geometry"}
    assert [as_text(r) for r in by_fmt["json"]] == [as_text(r) for r in by_fmt["csv"]] \
        == [as_text(r) for r in by_fmt["geojson"]]
    first = by_fmt["json"][0]
    assert first["arrest"] is True and by_fmt["csv"][0]["arrest"] == "true"      # checkbox: bool in JSON only
    assert first["date"] == "2018-05-01T13:15:00.000"   # 01:15:00 PM
    assert "ward" not in first                                                   # empty -> omitted in JSON
    assert by_fmt["csv"][0]["ward"] is None
    assert by_fmt["json"][7]["notes"] == "line one\r\nline, two"                 # multi-line cell survives
    assert by_fmt["geojson"][1]["_geometry"].startswith('{"type":"Point"')


def test_soda_headers_land_in_meta(small_portal):
    page = next(socrata.iter_pages(small_portal.base_url, "smal-l001", page_size=5))
    assert page.meta["types"]["date"] == "floating_timestamp"
    assert page.meta["types"]["arrest"] == "checkbox"
    assert page.meta["fields"][:3] == ["id", "case_number", "date"]
    assert "$offset=0" in page.url.replace("%24", "$")


def test_faults_still_give_exact_rows(small_root, fast_session):
    routes = [Route("socrata", "smal-l001", "small.csv", "csv")]
    with ReplayPortal(small_root, routes, faults=0.3, seed=7) as portal:
        for fmt in ("json", "csv"):
            pages = list(socrata.iter_pages(portal.base_url, "smal-l001", fmt=fmt, page_size=2,
                                            session=fast_session))
            rows = _all(pages)
            assert sorted(int(r["id"]) for r in rows) == [100 + i for i in range(N_SMALL)]
        assert any(p.meta["tries"] > 1 for p in pages), "the fault mode should have forced retries"


def test_fetch_error_names_dataset_url_page_and_tries(small_root, fast_session):
    with ReplayPortal(small_root, [Route("socrata", "smal-l001", "small.csv", "csv")], faults=1.0) as portal:
        with pytest.raises(FetchError) as err:
            list(socrata.iter_pages(portal.base_url, "smal-l001", dataset_name="crimes", session=fast_session))
    msg = str(err.value)
    assert "crimes" in msg and "page 1" in msg and "9 tries" in msg and "/resource/smal-l001.json" in msg
    assert err.value.tries == 9


def test_unknown_dataset_fails_at_once(small_portal, fast_session):
    with pytest.raises(FetchError) as err:
        list(socrata.iter_pages(small_portal.base_url, "nope-nope", session=fast_session))
    assert err.value.tries == 1 and "404" in str(err.value) and "not found" in str(err.value)


def test_app_token_is_sent_from_env_and_never_logged(small_root, fast_session, monkeypatch, caplog):
    monkeypatch.setenv("CIVICMASH_TEST_TOKEN", "s3cr3t-token-value")
    with ReplayPortal(small_root, [Route("socrata", "smal-l001", "small.csv", "csv")], faults=0.5, seed=3) as p:
        with caplog.at_level(logging.DEBUG):
            pages = list(socrata.iter_pages(p.base_url, "smal-l001", page_size=5, app_token_env="CIVICMASH_TEST_TOKEN",
                                            session=fast_session))
    assert sum(len(pg.records) for pg in pages) == N_SMALL
    assert "s3cr3t" not in caplog.text and all("s3cr3t" not in pg.url for pg in pages)
    assert caplog.text  # retries were logged, just without the token


def test_geojson_source_pages(chicago_portal):
    pages = list(socrata.iter_pages(chicago_portal.base_url, "cauq-8yn6", fmt="geojson", page_size=10))
    rows = _all(pages)
    assert len(rows) == 77 and len({r["area_numbe"] for r in rows}) == 77
    assert all(r["_geometry"].startswith('{"type":"MultiPolygon"') for r in rows)
    assert pages[0].meta["types"]["the_geom"] == "multipolygon"


def test_iucr_codes_keep_their_text(chicago_portal):
    rows = _all(socrata.iter_pages(chicago_portal.base_url, "c7ck-438e", fmt="csv", page_size=100))
    assert len(rows) == 401 and set(rows[0]) == {"iucr", "primary_description", "secondary_description",
                                                 "index_code"}


@pytest.mark.slow
def test_all_crime_rows_page_through(chicago_portal):
    chicago(CRIMES)
    pages = list(socrata.iter_pages(chicago_portal.base_url, "ijzp-q8t2", page_size=50000, select=":*,*"))
    rows = _all(pages)
    assert [len(p.records) for p in pages] == [50000, 50000, 50000, 1176]
    assert len(rows) == 151_176
    assert len({r[":id"] for r in rows}) == 151_176
    with open(chicago(CRIMES), newline="") as fh:
        assert [r["id"] for r in rows[:1000]] == [row["ID"] for _, row in zip(range(1000), csv.DictReader(fh))]
