"""Resume a Socrata fetch from the landing zone's checkpoint."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from civicmash.connectors import landing, socrata
from civicmash.connectors.checkpoint import FILE_NAME, Checkpoint
from civicmash.connectors.pages import Page, now


def _landed(directory) -> list[dict]:
    return [row for f in sorted(directory.glob("page-*.parquet")) for row in pq.read_table(f).to_pylist()]


def test_stop_after_two_of_four_pages_then_resume(small_portal, tmp_path):
    base = small_portal.base_url
    full = [r for p in socrata.iter_pages(base, "smal-l001", page_size=6, select=":*,*") for r in p.records]
    assert len(full) == 23                                       # 6 + 6 + 6 + 5: four pages

    out = tmp_path / "landing"
    cp = Checkpoint(out)
    for page in socrata.iter_pages(base, "smal-l001", page_size=6, select=":*,*", **cp.resume()):
        cp.record(page, file=landing.write_page(page, directory=out))
        if page.number == 2:
            break                                                # the run stops here
    saved = json.loads((out / FILE_NAME).read_text())
    assert [(p["page"], p["offset"], p["records"], p["file"]) for p in saved["pages"]] == [
        (1, 0, 6, "page-000001.parquet"), (2, 6, 6, "page-000002.parquet")]
    assert not saved["complete"]

    again = Checkpoint(out)                                      # a new process reads it back
    assert again.resume() == {"start_page": 3, "start_offset": 12}
    resumed = list(socrata.iter_pages(base, "smal-l001", page_size=6, select=":*,*", **again.resume()))
    assert [p.number for p in resumed] == [3, 4]
    for page in resumed:
        again.record(page, file=landing.write_page(page, directory=out))
    again.finish()

    rows = _landed(out)
    ids = [r[":id"] for r in rows]
    assert len(ids) == len(set(ids)) == 23
    assert sorted(ids) == sorted(r[":id"] for r in full)
    assert Checkpoint(out).complete and Checkpoint(out).records == 23
    assert not list(out.glob("*.tmp"))


def test_resume_at_the_end_yields_nothing(small_portal, tmp_path):
    pages = list(socrata.iter_pages(small_portal.base_url, "smal-l001", page_size=23))
    cp = Checkpoint(tmp_path)
    cp.record(pages[0])
    assert cp.resume() == {"start_page": 2, "start_offset": 23}
    assert list(socrata.iter_pages(small_portal.base_url, "smal-l001", page_size=23, **cp.resume())) == []


def test_checkpoint_guards(tmp_path):
    cp = Checkpoint(tmp_path)
    assert cp.resume() == {"start_page": 1, "start_offset": 0} and cp.last() is None
    with pytest.raises(ValueError, match="page 2 recorded after page 0"):
        cp.record(Page(2, [], "u", now(), {}))
    cp.record(Page(1, [{"a": 1}], "u", now(), {"offset": 0}), file=tmp_path / "page-000001.parquet")
    with pytest.raises(FileNotFoundError, match="missing"):
        cp.resume()                                              # recorded, but its file is gone
    cp.clear()
    assert not (tmp_path / FILE_NAME).exists() and cp.resume()["start_page"] == 1
    (tmp_path / FILE_NAME).write_text("{not json")
    with pytest.raises(ValueError, match="not a valid checkpoint"):
        Checkpoint(tmp_path)
