"""landing: one all-string Parquet file plus a JSON sidecar per page."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from civicmash.connectors.landing import write_page
from civicmash.connectors.pages import Page


def test_write_page(tmp_path):
    fetched = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    page = Page(3, [{"a": 1, "b": True, "c": None}, {"c": "x", "a": 2.5, "d": '{"k":1}'}],
                "http://127.0.0.1/resource/x.json", fetched, {"types": {"a": "number"}, "dangling_refs": 0})
    path = write_page(page, directory=tmp_path / "landing")
    assert path.name == "page-000003.parquet"
    table = pq.read_table(path)
    assert table.column_names == ["a", "b", "c", "d", "_page", "_fetched_at", "_url"]
    assert all(table.schema.field(c).type == pa.string() for c in "abcd")
    assert table.to_pylist()[0] | {"_fetched_at": None} == {
        "a": "1", "b": "true", "c": None, "d": None, "_page": 3, "_fetched_at": None, "_url": page.url}
    assert table.column("a").to_pylist() == ["1", "2.5"]
    assert table.column("_fetched_at")[0].as_py() == fetched
    sidecar = json.loads((tmp_path / "landing" / "page-000003.json").read_text())
    assert sidecar["meta"] == page.meta and sidecar["records"] == 2 and sidecar["page"] == 3


def test_empty_page(tmp_path):
    path = write_page(Page(1, [], "file:///x.csv", datetime.now(timezone.utc), {}), directory=tmp_path)
    assert pq.read_table(path).num_rows == 0
