"""Landing zone: one Parquet file (every value a string) plus a JSON sidecar of the meta per page."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from civicmash.connectors.pages import Page, records_table, string_table, text, text_column

SYSTEM_COLUMNS = ("_page", "_fetched_at", "_url")


def write_page(page: Page, *, directory: str | os.PathLike) -> Path:
    """Write ``page-NNNNNN.parquet`` and ``page-NNNNNN.json`` into ``directory``; return the Parquet path.

    Columns are the union of the records' keys in first-seen order, all strings (None stays null;
    booleans are ``true``/``false``), then ``_page`` (int64), ``_fetched_at`` (UTC timestamp), ``_url``.
    A columnar page (``page.table`` set) is written as it is (its columns in order, cast to string if
    they are not) - the same file a record page with the same rows gives, without building dicts.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"page-{page.number:06d}"
    data = records_table(page.records) if page.table is None else string_table(page.table)
    columns = data.column_names
    clash = [c for c in columns if c in SYSTEM_COLUMNS]
    if clash:
        raise ValueError(f"page {page.number} of {page.url}: source fields clash with landing columns {clash}")
    n = data.num_rows
    arrays = list(data.columns) + [
        pa.repeat(pa.scalar(page.number, type=pa.int64()), n),
        pa.repeat(pa.scalar(page.fetched_at, type=pa.timestamp("us", tz="UTC")), n),
        pa.repeat(pa.scalar(page.url, type=pa.string()), n)]
    table = pa.Table.from_arrays(arrays, names=columns + list(SYSTEM_COLUMNS))
    parquet = directory / f"{stem}.parquet"
    _atomic(parquet, lambda tmp: pq.write_table(table, tmp))
    sidecar = {"page": page.number, "url": page.url, "fetched_at": page.fetched_at.isoformat(),
               "records": n, "columns": columns, "meta": page.meta}
    _atomic(directory / f"{stem}.json",
            lambda tmp: tmp.write_text(json.dumps(sidecar, indent=1, default=str, ensure_ascii=False)))
    return parquet


_column = text_column     # the old private names (kept for anything that imported them)
_text = text


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def landed_meta(files: list[Path]) -> dict:
    """The pages' meta from their sidecars: counters add up across pages, the rest keeps the last value."""
    meta: dict = {}
    for path in files:
        try:
            page_meta = json.loads(Path(path).with_suffix(".json").read_text()).get("meta") or {}
        except (OSError, ValueError):
            continue
        for key, value in page_meta.items():
            meta[key] = meta.get(key, 0) + value if isinstance(value, int) and not isinstance(value, bool) else value
    return meta
