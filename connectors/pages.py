"""The unit every connector yields: one page of flat records, plus shared record/paging helpers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain, repeat
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa


@dataclass
class Page:
    """One page of source records.

    A record is a flat dict of source field name -> str, int, float, bool or None.
    GeoJSON features become their properties plus ``"_geometry"`` (the geometry as a GeoJSON string).

    A **columnar** page (e.g. ``socrata.iter_pages(..., columnar=True)``) carries its rows in ``table``
    (a ``pyarrow.Table``, every column a string, null for a missing value) and ``records`` is empty:
    use ``row_count`` (or ``len(page)``) to count rows and ``to_records()`` if you need dicts.
    A page is always truthy, even with no rows.
    """

    number: int
    records: list[dict]
    url: str
    fetched_at: datetime
    meta: dict = field(default_factory=dict)
    table: pa.Table | None = None

    @property
    def row_count(self) -> int:
        """Rows on this page, for both kinds of page (``len(records)`` is 0 on a columnar page)."""
        return self.table.num_rows if self.table is not None else len(self.records)

    def __len__(self) -> int:
        return self.row_count

    def __bool__(self) -> bool:       # an empty page is still a page (page 1 carries the meta)
        return True

    def to_records(self) -> list[dict]:
        """The rows as dicts: ``records`` itself, or a columnar page's rows (null -> None, every key
        present; slow, for tests and small pages)."""
        return self.records if self.table is None else self.table.to_pylist()


def now() -> datetime:
    return datetime.now(timezone.utc)


def flat_value(value: Any) -> Any:
    """Scalars pass through; nested values (dict, list) are JSON-encoded to str."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_SCALARS = frozenset((str, bool, int, float, type(None)))
_STR = frozenset((str,))


def flat_record(obj: dict) -> dict:
    """``obj`` with nested values JSON-encoded (a new dict; ``obj`` itself when it is already flat)."""
    if _SCALARS.issuperset(map(type, obj.values())) and _STR.issuperset(map(type, obj)):
        return obj                          # the common case, checked at C speed
    return {str(k): flat_value(v) for k, v in obj.items()}


def features_of(doc: Any, *, single: bool = False, source: str | None = None) -> list[dict]:
    """The features of a GeoJSON FeatureCollection (``single``: a lone Feature counts as one). Anything else —
    no ``features`` list, an entry that is not an object — is a ``ValueError`` saying what was found (after
    ``source``, e.g. the dataset and file), so a malformed answer is never read as an empty one."""
    try:
        return _features(doc, single)
    except ValueError as e:
        raise ValueError(f"{source}: {e}" if source else str(e)) from None


def _features(doc: Any, single: bool) -> list[dict]:
    if not isinstance(doc, dict):
        raise ValueError(f"expected a GeoJSON object, got {type(doc).__name__}")
    if single and doc.get("type") != "FeatureCollection":
        if doc.get("type") != "Feature":
            raise ValueError(f"expected a GeoJSON FeatureCollection or Feature, got type {doc.get('type')!r}")
        return [doc]
    features = doc.get("features")
    if not isinstance(features, list):
        raise ValueError(f"expected a GeoJSON FeatureCollection with a list of features, got 'features': "
                         f"{type(features).__name__}")
    for number, feature in enumerate(features, 1):
        if not isinstance(feature, dict):
            raise ValueError(f"feature {number} is a {type(feature).__name__}, not an object")
    return features


def feature_record(feature: dict) -> dict:
    """A GeoJSON feature -> its properties plus ``_geometry`` (GeoJSON text or None)."""
    record = flat_record(feature.get("properties") or {})
    geometry = feature.get("geometry")
    record["_geometry"] = None if geometry is None else json.dumps(geometry, separators=(",", ":"))
    return record


def records_table(records: list[dict]) -> pa.Table:
    """Records -> an all-string Arrow table as the landing zone stores it.

    Columns are the union of the records' keys in first-seen order; str and None pass as they are,
    booleans become ``true``/``false``, dicts/lists JSON text, other values ``str(value)``.
    """
    columns = list(dict.fromkeys(chain.from_iterable(records)))
    return pa.table({c: text_column(records, c) for c in columns}) if columns else pa.table({})


def text_column(records: list[dict], name: str) -> pa.Array:
    """One all-string column: str and None as they are (fast path), anything else through ``text``."""
    values = list(map(dict.get, records, repeat(name)))
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([text(v) for v in values], type=pa.string())


def text(value) -> str | None:
    """A record value as landing text (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def string_table(table: pa.Table) -> pa.Table:
    """``table`` with every column as ``pa.string()`` holding the same text ``records_table`` would give."""
    if all(t == pa.string() for t in table.schema.types):
        return table
    columns = []
    for col in table.columns:
        if col.type == pa.string():
            columns.append(col)
        elif pa.types.is_boolean(col.type) or pa.types.is_null(col.type) or pa.types.is_large_string(col.type) \
                or pa.types.is_integer(col.type):
            columns.append(col.cast(pa.string()))        # true/false, null, digits: same as ``text``
        else:
            columns.append(pa.array([text(v) for v in col.to_pylist()], type=pa.string()))
    return pa.Table.from_arrays(columns, names=table.column_names)


# A fetch function for offset paging: (page_number, offset) -> (rows, url, meta, more), where rows is a
# list of records or (columnar) a pyarrow.Table.
PageFetch = Callable[[int, int], "tuple[list[dict] | pa.Table, str, dict, bool]"]


def make_page(number: int, rows: "list[dict] | pa.Table", url: str, fetched_at: datetime, meta: dict) -> Page:
    """A Page from a list of records or (columnar) a pyarrow Table."""
    if isinstance(rows, list):
        return Page(number, rows, url, fetched_at, meta)
    return Page(number, [], url, fetched_at, meta, table=rows)


def offset_pages(fetch: PageFetch, *, start_page: int = 1, start_offset: int = 0) -> Iterator[Page]:
    """Drive offset paging: call ``fetch`` with a growing offset until it reports no more rows.

    Page 1 is always yielded (even when empty, so the caller gets its meta); a later empty page is not.
    ``start_page``/``start_offset`` resume a run after its last completed page (see ``checkpoint``).
    """
    if start_page < 1 or start_offset < 0:
        raise ValueError(f"start_page must be >= 1 and start_offset >= 0, got {start_page}, {start_offset}")
    number, offset = start_page, start_offset
    while True:
        fetched_at = now()
        rows, url, meta, more = fetch(number, offset)
        n = len(rows)
        if n or number == 1:
            yield make_page(number, rows, url, fetched_at, meta)
        if not more or not n:
            return
        offset += n
        number += 1


def batch_pages(records: Iterable[dict], *, page_size: int, url: str,
                meta: Callable[[], dict]) -> Iterator[Page]:
    """Cut a record stream into pages of ``page_size``.

    ``meta()`` is called once per page when the page is cut. A full page is only cut when the next
    record has arrived (or the stream ended), so counters that ``meta()`` drains cover everything read
    before the cut and the pages' counters sum to the stream's total. At least one page is yielded.
    """
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    buffer: list[dict] = []
    number = 1
    fetched_at = now()
    for record in records:
        if len(buffer) >= page_size:
            yield Page(number, buffer, url, fetched_at, meta())
            buffer, number, fetched_at = [], number + 1, now()
        buffer.append(record)
    yield Page(number, buffer, url, fetched_at, meta())


COUNTERS = ("dangling_refs", "ragged_rows")


def page_meta(meta: dict, counters: tuple[str, ...] = COUNTERS) -> dict:
    """A copy of a stream's ``meta`` for one page; the per-page ``counters`` in ``meta`` restart at 0.

    Summed over all pages, each counter gives the stream's total.
    """
    out = dict(meta)
    for key in counters:
        if isinstance(meta.get(key), int):
            meta[key] = 0
    return out


def unique_names(names: list[str], *, first_repeat: int = 2) -> list[str]:
    """Names kept apart: an empty one becomes ``column_<n>`` (1-based), a repeat gets ``_<k>``
    (``k`` counting from ``first_repeat``)."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names, start=1):
        name = name or f"column_{i}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name] - 2 + first_repeat}")
    return out
