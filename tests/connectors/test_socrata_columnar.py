"""The columnar fast path (``socrata.iter_pages(..., columnar=True)``) gives exactly the record path's rows,
values, meta and landing files."""
from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from civicmash.connectors import landing, socrata
from civicmash.connectors.checkpoint import Checkpoint
from civicmash.connectors.pages import Page, now

from .conftest import SMALL_CSV

SMALL = "smal-l001"
WHEN = now()


def _pages(base, dataset, **kwargs):
    """The record pages and the columnar pages of one query."""
    return (list(socrata.iter_pages(base, dataset, **kwargs)),
            list(socrata.iter_pages(base, dataset, columnar=True, **kwargs)))


def _same(dict_pages, table_pages, tmp_path):
    """Same rows (values, key order), same page numbers/urls/meta, same landing Parquet content."""
    assert [p.number for p in dict_pages] == [p.number for p in table_pages]
    assert [p.url for p in dict_pages] == [p.url for p in table_pages]
    for d, t in zip(dict_pages, table_pages):
        assert t.table is not None and t.records == [] and d.table is None
        assert t.row_count == len(t) == d.row_count == len(d.records)
        assert {k: v for k, v in d.meta.items() if k != "tries"} == {k: v for k, v in t.meta.items() if k != "tries"}
        assert all(ty == pa.string() for ty in t.table.schema.types)
        assert [list(r) for r in t.to_records()] == [list(r) for r in d.records]     # key order too
        assert t.to_records() == d.records
        # landing: same files (fetched_at made equal: it is the fetch time)
        d.fetched_at = t.fetched_at = WHEN
        a = pq.read_table(landing.write_page(d, directory=tmp_path / "dict"))
        b = pq.read_table(landing.write_page(t, directory=tmp_path / "columnar"))
        assert a.schema == b.schema and a.equals(b)
        assert (tmp_path / "dict" / f"page-{d.number:06d}.json").read_text() == \
            (tmp_path / "columnar" / f"page-{t.number:06d}.json").read_text()


@pytest.mark.parametrize("page_size", [1, 6, 23, 50])
def test_small_csv_same_as_records(small_portal, tmp_path, page_size):
    """Quoted multi-line cells with commas, empty cells, checkbox strings, BOM in the source."""
    dict_pages, table_pages = _pages(small_portal.base_url, SMALL, fmt="csv", page_size=page_size, select=":*,*")
    assert sum(p.row_count for p in table_pages) == 23
    assert any("\n" in (r["notes"] or "") and "," in r["notes"] for p in table_pages for r in p.to_records())
    _same(dict_pages, table_pages, tmp_path)


@pytest.mark.parametrize("fmt", ["json", "geojson"])
def test_json_formats_same_landing(small_portal, tmp_path, fmt):
    """JSON sends checkboxes as booleans and omits nulls: the table has ``true``/``false`` text and nulls,
    as landing writes the records."""
    dict_pages, table_pages = _pages(small_portal.base_url, SMALL, fmt=fmt, page_size=10)
    for d, t in zip(dict_pages, table_pages):
        d.fetched_at = t.fetched_at = WHEN
        a = pq.read_table(landing.write_page(d, directory=tmp_path / "dict"))
        b = pq.read_table(landing.write_page(t, directory=tmp_path / "columnar"))
        assert a.equals(b) and t.row_count == len(d.records)
        assert d.meta == {**t.meta, "tries": d.meta["tries"]}
    assert set(table_pages[0].table.column("arrest").to_pylist()) == {"true", "false"}


def test_incremental_and_resume_same_as_records(small_portal, tmp_path):
    base = small_portal.base_url
    small_portal.update_rows(SMALL, {"105": {"primary_type": "ROBBERY"}, "110": {"ward": "7"}})
    dict_pages, table_pages = _pages(base, SMALL, fmt="csv", page_size=1, since="2018-11-15T00:00:00.000")
    assert [p.meta["watermark"] for p in dict_pages] == [p.meta["watermark"] for p in table_pages]
    assert [p.meta["cursor"] for p in dict_pages] == [p.meta["cursor"] for p in table_pages]
    _same(dict_pages, table_pages, tmp_path / "incremental")
    empty_dict, empty_table = _pages(base, SMALL, fmt="csv", since=dict_pages[-1].meta["watermark"])
    assert [p.row_count for p in empty_table] == [0] and empty_table[0].table.num_columns == 0
    _same(empty_dict, empty_table, tmp_path / "empty")
    resumed = _pages(base, SMALL, fmt="csv", page_size=6, start_page=3, start_offset=12)
    assert [p.number for p in resumed[1]] == [3, 4] and [p.row_count for p in resumed[1]] == [6, 5]
    _same(*resumed, tmp_path / "resumed")


def test_checkpoint_counts_columnar_rows(small_portal, tmp_path):
    out = tmp_path / "landing"
    cp = Checkpoint(out)
    for page in socrata.iter_pages(small_portal.base_url, SMALL, fmt="csv", page_size=6, columnar=True):
        cp.record(page, file=landing.write_page(page, directory=out))
    cp.finish()
    assert Checkpoint(out).records == 23 and Checkpoint(out).resume() == {"start_page": 5, "start_offset": 23}


def test_columnar_survives_faults(small_root, fast_session):
    from civicmash.devkit.replay import ReplayPortal, Route
    with ReplayPortal(small_root, [Route("socrata", SMALL, "small.csv", "csv")], faults=0.3, seed=3) as portal:
        pages = list(socrata.iter_pages(portal.base_url, SMALL, fmt="csv", page_size=4, columnar=True,
                                        session=fast_session))
    assert sum(p.row_count for p in pages) == 23
    assert [r["id"] for p in pages for r in p.to_records()] == [str(100 + i) for i in range(23)]


def _body(data: bytes):
    return SimpleNamespace(content=data)


@pytest.mark.parametrize("body", [
    SMALL_CSV.encode("utf-8"),                                            # BOM, CRLF, quoted CRLF + comma
    b'a,b,c\n1,"x, ""y""",\n"",2,"multi\nline"\n\n3,,"z"\r\n',              # quotes, empty quoted, blank line
    b'a,b,c\n1,2\n4\n',                                                   # short rows: padded with None
    b'a,a,b\n1,2,3\n',                                                    # repeated header: last wins
    b',b\n1,2\n',                                                         # empty header name
    b'a,b\n',                                                             # header only
    b'a,b,c\nNA,null,NaN\nN/A,-,nan\n',                                    # only "" is null
    b'',                                                                  # nothing at all
    b'\xef\xbb\xbf',
])
def test_csv_parser_same_values(body):
    """The columnar CSV parser gives ``_csv_records``'s rows (nulls for empty cells), whatever the body."""
    records = socrata._csv_records(_body(body))
    table = socrata._csv_table(_body(body))
    assert table.num_rows == len(records)
    assert Page(1, [], "u", WHEN, table=table).to_records() == [
        {k: r.get(k) for k in table.column_names} for r in records]
    if records:
        assert table.column_names == list(dict.fromkeys(k for r in records for k in r))


def test_page_row_count_and_truth():
    empty = Page(1, [], "u", WHEN, {})
    assert empty and len(empty) == 0 and empty.row_count == 0
    columnar = Page(2, [], "u", WHEN, {}, table=pa.table({"a": ["1", None]}))
    assert columnar.row_count == len(columnar) == 2 and columnar.to_records() == [{"a": "1"}, {"a": None}]


def test_landing_casts_non_string_tables(tmp_path):
    table = pa.table({"n": [1, None], "b": [True, False], "s": pa.array(["x", None], pa.large_string()),
                      "j": pa.array([[1], None])})
    records = [{"n": 1, "b": True, "s": "x", "j": [1]}, {"n": None, "b": False, "s": None, "j": None}]
    a = pq.read_table(landing.write_page(Page(1, records, "u", WHEN), directory=tmp_path / "a"))
    b = pq.read_table(landing.write_page(Page(1, [], "u", WHEN, table=table), directory=tmp_path / "b"))
    assert a.equals(b)


@pytest.mark.slow
def test_real_crimes_csv_same_as_records(chicago_portal, tmp_path):
    """The real 151,176-row crime export served as ``.csv``: every page, value and landing file agree."""
    dict_pages, table_pages = _pages(chicago_portal.base_url, "ijzp-q8t2", fmt="csv", page_size=50000)
    assert [p.row_count for p in table_pages] == [50000, 50000, 50000, 1176]
    assert table_pages[0].meta["integer_fields"] == dict_pages[0].meta["integer_fields"]
    _same(dict_pages, table_pages, tmp_path)
