"""Incremental Socrata fetches (``since=``) against a replay portal whose data changes while served."""
from __future__ import annotations

import pytest
import requests

from civicmash.connectors import socrata
from civicmash.devkit.replay import ReplayPortal, Route

from .conftest import CRIMES, chicago

EPOCH = "1970-01-01T00:00:00.000"
N_SMALL = 23


def _all(pages):
    return [r for p in pages for r in p.records]


def _new_row(i: int) -> dict:
    return {"id": str(9000 + i), "case_number": f"JX{i:04d}", "date": "2018-11-20T10:00:00.000",
            "primary_type": "THEFT", "arrest": False, "ward": str(1 + i)}


def test_incremental_request_shape(small_portal):
    page = next(socrata.iter_pages(small_portal.base_url, "smal-l001", since=EPOCH, page_size=5,
                                   where="primary_type = 'THEFT'"))
    url = requests.utils.unquote(page.url).replace("+", " ")
    assert "$select=:*,*" in url and "$order=:updated_at,:id" in url
    assert f"$where=:updated_at > '{EPOCH}' AND (primary_type = 'THEFT')" in url
    assert all(":id" in r and ":updated_at" in r and r["primary_type"] == "THEFT" for r in page.records)
    assert page.meta["watermark"] == max(r[":updated_at"] for r in page.records)


def test_append_and_update_then_incremental_returns_exactly_the_changes(small_portal):
    base = small_portal.base_url
    full = list(socrata.iter_pages(base, "smal-l001", since=EPOCH, page_size=4))
    rows = _all(full)
    assert len(rows) == N_SMALL and len({r[":id"] for r in rows}) == N_SMALL
    stamps = [r[":updated_at"] for r in rows]
    assert stamps == sorted(stamps)                           # ordered by :updated_at, :id
    watermark = full[-1].meta["watermark"]
    assert watermark == max(stamps)

    new_ids = small_portal.append_rows("smal-l001", [_new_row(i) for i in range(10)])
    touched = small_portal.update_rows("smal-l001", {str(100 + i): {"primary_type": "ROBBERY"} for i in range(5)})
    assert len(set(new_ids)) == 10 and not set(new_ids) & {r[":id"] for r in rows}

    changes = list(socrata.iter_pages(base, "smal-l001", since=watermark, page_size=4))
    got = _all(changes)
    assert len(got) == 15 and {r[":id"] for r in got} == set(new_ids) | set(touched)
    assert {r["id"] for r in got} == {str(9000 + i) for i in range(10)} | {str(100 + i) for i in range(5)}
    assert all(r[":updated_at"] > watermark for r in got)
    assert {r["primary_type"] for r in got if int(r["id"]) < 9000} == {"ROBBERY"}
    assert changes[-1].meta["watermark"] == max(r[":updated_at"] for r in got)

    # nothing changed since: one empty page, the watermark stays
    again = list(socrata.iter_pages(base, "smal-l001", since=changes[-1].meta["watermark"]))
    assert [len(p.records) for p in again] == [0]
    assert again[0].meta["watermark"] == changes[-1].meta["watermark"]


def test_rows_changing_while_paging_are_never_skipped(small_root):
    with ReplayPortal(small_root, [Route("socrata", "smal-l001", "small.csv", "csv")]) as portal:
        pages = socrata.iter_pages(portal.base_url, "smal-l001", since=EPOCH, page_size=5)
        first = next(pages)
        seen = [r["id"] for r in first.records]
        unread = sorted({str(100 + i) for i in range(N_SMALL)} - set(seen))
        # one row already read and one not yet read both move to the newest timestamp
        portal.update_rows("smal-l001", {seen[0]: {"primary_type": "ARSON"}, unread[0]: {"primary_type": "ARSON"}})
        rest = _all(pages)
    ids = seen + [r["id"] for r in rest]
    assert set(ids) == {str(100 + i) for i in range(N_SMALL)}  # no row lost
    assert ids.count(seen[0]) == 2 and ids.count(unread[0]) == 1   # the re-read one comes back, newer


def test_many_rows_sharing_one_timestamp_page_through(tmp_path):
    # no "Updated On" column: every row has the same :updated_at, so keyset paging relies on the tie offset
    (tmp_path / "t.csv").write_text("ID,Name\n" + "".join(f"{i},n{i}\n" for i in range(17)))
    with ReplayPortal(tmp_path, [Route("socrata", "tttt-0002", "t.csv")]) as portal:
        pages = list(socrata.iter_pages(portal.base_url, "tttt-0002", since=EPOCH, page_size=5))
    assert [len(p.records) for p in pages] == [5, 5, 5, 2]
    assert sorted(int(r["id"]) for r in _all(pages)) == list(range(17))


def test_incremental_with_faults(small_root, fast_session):
    with ReplayPortal(small_root, [Route("socrata", "smal-l001", "small.csv", "csv")], faults=0.3, seed=5) as p:
        for fmt in ("json", "csv"):
            rows = _all(socrata.iter_pages(p.base_url, "smal-l001", fmt=fmt, since=EPOCH, page_size=3,
                                           session=fast_session))
            assert sorted(int(r["id"]) for r in rows) == [100 + i for i in range(N_SMALL)]


def test_incremental_argument_checks(small_portal):
    base = small_portal.base_url
    with pytest.raises(ValueError, match="ISO timestamp"):
        list(socrata.iter_pages(base, "smal-l001", since="yesterday' OR 1=1"))
    with pytest.raises(ValueError, match="ordered by"):
        list(socrata.iter_pages(base, "smal-l001", since=EPOCH, order="date"))
    with pytest.raises(ValueError, match="watermark"):
        list(socrata.iter_pages(base, "smal-l001", since=EPOCH, start_offset=10))


def test_portal_changes_are_validated(small_portal):
    with pytest.raises(ValueError, match="no such field"):
        small_portal.append_rows("smal-l001", [{"nope": "1"}])
    with pytest.raises(KeyError):
        small_portal.update_rows("smal-l001", {"999999": {"ward": "3"}})
    with pytest.raises(KeyError):
        small_portal.append_rows("zzzz-zzzz", [])
    assert small_portal.update_rows("smal-l001", {"row-00000002": {"ward": "7"}}, key=":id") == ["row-00000002"]


@pytest.mark.slow
def test_incremental_on_real_crimes():
    root = chicago()
    chicago(CRIMES)
    with ReplayPortal(root, [Route("socrata", "ijzp-q8t2", CRIMES, "csv")]) as portal:
        base = portal.base_url
        newest = requests.get(base + "/resource/ijzp-q8t2.json",
                              params={"$select": ":*,*", "$order": ":updated_at DESC", "$limit": 1}).json()[0]
        watermark = newest[":updated_at"]
        assert list(socrata.iter_pages(base, "ijzp-q8t2", since=watermark))[0].records == []
        new_ids = portal.append_rows("ijzp-q8t2", [_new_row(i) for i in range(10)])
        some = requests.get(base + "/resource/ijzp-q8t2.json", params={"$limit": 5, "$offset": 777}).json()
        touched = portal.update_rows("ijzp-q8t2", {r["id"]: {"arrest": True} for r in some})
        got = _all(socrata.iter_pages(base, "ijzp-q8t2", since=watermark, page_size=4))
    assert {r[":id"] for r in got} == set(new_ids) | set(touched) and len(got) == 15
    assert all(r["arrest"] is True for r in got if r[":id"] in touched)
