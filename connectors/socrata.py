"""Socrata (SODA 2.x) connector: ``/resource/<id>.json|.csv|.geojson`` paged with $order/$limit/$offset.

Full fetches page by offset in a total order (default ``:id``); incremental fetches (``since=``) page by
keyset on ``(:updated_at, :id)`` so that rows changing while we page cannot shift a row out of view.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import datetime, timezone
from itertools import repeat
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import requests
from pydantic import Field

import civicmash.connectors.http as http
from civicmash.connectors.protocol import FetchRequest, Protocol, ProtocolOptions
from civicmash.connectors.pages import (
    Page,
    feature_record,
    features_of,
    flat_record,
    make_page,
    now,
    offset_pages,
    records_table,
)

FORMATS = ("json", "csv", "geojson")
SYSTEM_SELECT = ":*,*"
INCREMENTAL_ORDER = ":updated_at,:id"
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?Z?")


def iter_pages(base_url: str, dataset_id: str, *, fmt: str = "json", page_size: int = 50000,
               order: str | None = None, where: str | None = None, select: str | None = None,
               app_token_env: str | None = None, dataset_name: str | None = None,
               session: requests.Session | None = None, since: str | None = None,
               start_offset: int = 0, start_page: int = 1, columnar: bool = False) -> Iterator[Page]:
    """Yield every row of a Socrata dataset, ``page_size`` rows per page, in a stable ``order``.

    ``app_token_env`` is the *name of an environment variable* holding the token (e.g. "SOCRATA_APP_TOKEN").
    Paging stops on the first short page. ``page.meta`` has ``format``, ``offset``, ``tries`` and, when the
    portal sends them, ``fields``, ``types`` (field -> SODA type) from ``X-SODA2-Fields`` / ``X-SODA2-Types``
    and ``integer_fields`` (the ``number`` fields whose values on this page carry no decimal point).

    ``since`` (an ISO timestamp watermark, e.g. the previous run's ``meta["watermark"]``) makes the fetch
    incremental: only rows with ``:updated_at > since`` (ANDed with ``where``), always with
    ``$select=:*,*`` so every record has ``:id`` and ``:updated_at``, in ``$order=:updated_at,:id``, paged by
    keyset. Every page then has ``meta["watermark"]``: the largest ``:updated_at`` seen so far (``since``
    itself on an empty first page) - store the last page's value for the next run.

    ``start_page``/``start_offset`` resume a full (offset-paged) fetch after its last completed page
    (``connectors.checkpoint.Checkpoint.resume()``); not combinable with ``since``: an interrupted
    incremental run is re-run from the previous watermark (at worst rows are fetched twice, never lost).

    ``columnar=True`` yields columnar pages (``page.table``: a ``pyarrow.Table``, all strings, null for
    an empty/missing value; ``page.records`` empty; count with ``page.row_count``) holding exactly the
    values the record pages would, as landing text. With ``fmt="csv"`` the body is parsed by
    ``pyarrow.csv`` straight into the table (no Python object per value: the fast path); ``json`` and
    ``geojson`` are parsed as usual and the records turned into the table (no faster than records).
    Paging, retries, meta, ``since`` and ``start_offset`` work the same.
    """
    if fmt not in FORMATS:
        raise ValueError(f"socrata format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    url = f"{base_url.rstrip('/')}/resource/{dataset_id}.{fmt}"
    headers = http.app_token_headers(app_token_env)
    name = dataset_name or dataset_id

    parse = (_TABLE_PARSERS if columnar else _PARSERS)[fmt]

    def get(number: int, params: dict) -> tuple[list[dict] | pa.Table, str, dict]:
        response = http.get(url, params=params, session=session, headers=headers, dataset=name, page=number,
                            expect="text" if fmt == "csv" else "json")
        try:
            rows = parse(response)
        except http.FetchError as e:   # a body the parser refuses: name the dataset and page
            raise http.FetchError(name, e.url, number, response.tries, e.reason) from None
        meta = {"protocol": "socrata", "dataset_id": dataset_id, "format": fmt, "offset": params["$offset"],
                "tries": response.tries, **_soda_meta(response.headers, rows)}
        return rows, response.url, meta

    if since is None:
        order = order or ":id"

        def fetch(number: int, offset: int):
            params = {"$order": order, "$limit": page_size, "$offset": offset}
            if where:
                params["$where"] = where
            if select:
                params["$select"] = select
            rows, got_url, meta = get(number, params)
            return rows, got_url, meta, len(rows) >= page_size

        return offset_pages(fetch, start_page=start_page, start_offset=start_offset)

    if start_offset or start_page != 1:
        raise ValueError("start_offset/start_page resume a full fetch; re-run an incremental fetch from "
                         "its previous watermark instead")
    if order not in (None, INCREMENTAL_ORDER):
        raise ValueError(f"an incremental fetch is ordered by {INCREMENTAL_ORDER}, not {order!r}")
    if select is not None and select.replace(" ", "") != SYSTEM_SELECT:
        raise ValueError(f"an incremental fetch selects {SYSTEM_SELECT} (got select={select!r})")
    if not _TIMESTAMP.fullmatch(since):
        raise ValueError(f"since must be an ISO timestamp like 2024-01-31T12:00:00.000, got {since!r}")
    return _incremental_pages(get, since=since, where=where, page_size=page_size)


def _incremental_pages(get, *, since: str, where: str | None, page_size: int) -> Iterator[Page]:
    """Keyset paging on (:updated_at, :id): page n+1 asks for ``:updated_at >= <last seen>`` and skips,
    by ``$offset``, only the rows of that last timestamp already read (ties are ordered by ``:id``).

    A row updated while we page moves to a newer timestamp, i.e. behind the cursor: it is read again
    (newer version), and no unread row shifts below the cursor, unlike plain offset paging.
    """
    extra = f" AND ({where})" if where else ""
    cursor, ties, watermark, number = since, 0, since, 1
    while True:
        op = ">" if number == 1 else ">="
        params = {"$select": SYSTEM_SELECT, "$order": INCREMENTAL_ORDER, "$limit": page_size, "$offset": ties,
                  "$where": f":updated_at {op} {_quote(cursor)}{extra}"}
        fetched_at = now()
        rows, url, meta = get(number, params)
        for stamp in _stamps(rows):
            if stamp is None:
                raise http.FetchError(None, url, number, meta["tries"],
                                      "incremental fetch: a record has no :updated_at (portal ignored $select=:*,*?)")
            if stamp == cursor:
                ties += 1
            else:
                cursor, ties = stamp, 1
            watermark = max(watermark, stamp)
        meta.update(since=since, watermark=watermark, cursor={"updated_at": cursor, "ties": ties})
        if len(rows) or number == 1:
            yield make_page(number, rows, url, fetched_at, meta)
        if len(rows) < page_size:
            return
        number += 1


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _json_records(response: requests.Response) -> list[dict]:
    rows = http.json_body(response)
    if not isinstance(rows, list):
        raise http.FetchError(None, response.url, None, 1, f"expected a JSON array, got {type(rows).__name__}")
    return [flat_record(row) for row in rows]


def _csv_records(response: requests.Response) -> list[dict]:
    text = response.content.decode("utf-8-sig")
    return [{k: (v if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(text, newline=""))]


def _geojson_records(response: requests.Response) -> list[dict]:
    try:
        features = features_of(http.json_body(response))
    except ValueError as e:
        raise http.FetchError(None, response.url, None, 1, str(e)) from None
    return [feature_record(f) for f in features]


_PARSERS = {"json": _json_records, "csv": _csv_records, "geojson": _geojson_records}


def _csv_table(response: requests.Response) -> pa.Table:
    """A CSV body -> an all-string Arrow table with exactly the values ``_csv_records`` gives.

    ``pyarrow.csv`` with quoted newlines allowed, every column typed string and ``""`` (quoted or not)
    null; the UTF-8 BOM is dropped. One block per body, so a huge cell (WKT) never straddles blocks.
    Bodies that ``csv.DictReader`` reads differently (repeated or missing header names, ragged rows,
    not UTF-8) go through ``_csv_records`` instead, so both paths always agree.
    """
    body = response.content
    header = _csv_header(body)
    if not header:
        return records_table(_csv_records(response)) if header is None else pa.table({})
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(block_size=max(len(body) + 1, 1 << 16), use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                 null_values=[""], strings_can_be_null=True,
                                                 quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return records_table(_csv_records(response))
    return table if table.num_rows else pa.table({})     # no rows, no columns: as from no records


def _csv_header(body: bytes) -> list[str] | None:
    """The header row; ``[]`` for an empty body, None when the columnar parser cannot keep
    ``DictReader``'s semantics (an empty or repeated name)."""
    if not body.strip(b"\xef\xbb\xbf\r\n"):
        return []
    text = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline="")
    try:
        header = next(csv.reader(text), [])
    except (UnicodeDecodeError, csv.Error):
        return None
    if not header or "" in header or len(set(header)) != len(header):
        return None
    return header


def _json_table(response: requests.Response) -> pa.Table:
    return records_table(_json_records(response))


def _geojson_table(response: requests.Response) -> pa.Table:
    return records_table(_geojson_records(response))


_TABLE_PARSERS = {"json": _json_table, "csv": _csv_table, "geojson": _geojson_table}


def _stamps(rows: list[dict] | pa.Table) -> list:
    """The ``:updated_at`` of every row (None where missing)."""
    if isinstance(rows, list):
        return [r.get(":updated_at") for r in rows]
    if ":updated_at" not in rows.column_names:
        return [None] * rows.num_rows
    return rows.column(":updated_at").to_pylist()


def _soda_meta(headers, rows: list[dict] | pa.Table) -> dict:
    """``fields``, ``types`` (field -> SODA type) and ``integer_fields`` from the SODA headers and the page."""
    meta: dict = {}
    try:
        fields = json.loads(headers.get("X-SODA2-Fields", "null"))
        types = json.loads(headers.get("X-SODA2-Types", "null"))
    except ValueError:
        return meta
    if isinstance(fields, list):
        meta["fields"] = fields
        if isinstance(types, list) and len(types) == len(fields):
            meta["types"] = dict(zip(fields, types))
            meta["integer_fields"] = integer_fields(rows, [f for f, t in meta["types"].items() if t == "number"])
    return meta


def integer_fields(rows: list[dict] | pa.Table, number_fields: list[str]) -> list[str]:
    """The ``number_fields`` whose values in ``rows`` all look like integers (no ``.``, no exponent).

    SODA types integers and decimals alike as ``number``; this is a guess from one page's values. A field
    with no value on the page is left out (nothing to guess from). ``rows``: records or an all-string table.
    """
    if not isinstance(rows, list):
        return _table_integer_fields(rows, number_fields)
    out = []
    for field in number_fields:
        values = [v for v in map(dict.get, rows, repeat(field)) if v is not None]
        if not values:
            continue
        try:
            text = "\x00".join(values)                  # all strings (as SODA sends numbers): C-speed test
        except TypeError:
            text = "\x00".join(repr(v) if isinstance(v, float) else str(v) for v in values)
        if "." not in text and "e" not in text and "E" not in text:
            out.append(field)
    return out


def _table_integer_fields(table: pa.Table, number_fields: list[str]) -> list[str]:
    out = []
    names = set(table.column_names)
    for field in number_fields:
        if field not in names:
            continue
        column = table.column(field)
        if column.null_count == len(column):
            continue
        if not pa.types.is_string(column.type):
            column = column.cast(pa.string())
        if not pc.any(pc.match_substring_regex(column, "[.eE]")).as_py():
            out.append(field)
    return out


def conform_page(page: Page, *, keep: set[str] = frozenset()) -> Page:
    """The page with the dataset's columns as the portal lists them (``meta["fields"]``, i.e.
    ``X-SODA2-Fields``): in that order, a field with no value on the page as a null column, and the
    system fields (``:id``, ``:updated_at``...) dropped unless named in ``keep`` (the profile maps them).

    So a full fetch and an incremental one (which selects ``:*,*``) land the same columns in the same
    order, and a record gets the same ``row_hash`` from either (the warehouse hashes the landed record).
    Fields the portal does not list (e.g. ``_geometry``) follow in first-seen order. An empty page is
    returned as it is.
    """
    if not page.row_count:
        return page
    fields = page.meta.get("fields")
    order = [f for f in fields if isinstance(f, str)] if isinstance(fields, list) else []
    wanted = lambda c: not c.startswith(":") or c in keep  # noqa: E731
    order = [c for c in order if wanted(c)]
    if page.table is not None:
        table = page.table
        names = table.column_names
        columns = order + [c for c in names if c not in order and wanted(c)]
        if columns == names:
            return page
        arrays = [table.column(c) if c in names else pa.nulls(table.num_rows, pa.string()) for c in columns]
        return dataclasses.replace(page, table=pa.Table.from_arrays(arrays, names=columns))
    seen = dict.fromkeys(order)
    for record in page.records:
        for key in record:
            if key not in seen and wanted(key):
                seen[key] = None
    columns = list(seen)
    return dataclasses.replace(page, records=[{c: r.get(c) for c in columns} for r in page.records])


# --- declaration: what the rest of civicmash knows of this protocol (connectors/protocol.py) ------------

DEFAULT_TOKEN_ENV = "SOCRATA_APP_TOKEN"
"""Environment variable holding a Socrata app token, unless a dataset names another in ``app_token_env``."""


class SocrataOptions(ProtocolOptions):
    """Options of a ``socrata`` dataset (SODA 2.x ``/resource/<dataset_id>``)."""

    page_size: int = Field(50_000, ge=1, le=50_000, description="rows per request ($limit); SODA allows at most 50,000",
                           examples=[50_000])
    where: str | None = Field(None, description="a SoQL $where filter passed to the portal as written (ANDed with "
                              "the watermark on incremental runs)",
                              examples=["primary_type = 'THEFT' AND within_circle(location, 41.88, -87.63, 500)"])
    app_token_env: str = Field(DEFAULT_TOKEN_ENV, description="name of the environment variable holding an app "
                               "token (sent in X-App-Token only; never logged)", examples=["CHICAGO_APP_TOKEN"])
    incremental: bool = Field(False, description="`civicmash run --incremental` fetches only the rows updated "
                              "since the last load (watermark on :updated_at) and merges them by source_id",
                              examples=[True])


def _fetch(request: FetchRequest) -> Iterator[Page]:
    o: SocrataOptions = request.options  # type: ignore[assignment]
    # the connector reads the token from the named environment variable itself: it never passes through here
    return iter_pages(request.location, request.dataset_id, fmt=request.format, page_size=o.page_size,
                      where=o.where, app_token_env=o.app_token_env,
                      columnar=request.format == "csv",  # Arrow pages: no Python dict per row
                      dataset_name=request.dataset, since=request.since, start_page=request.start_page,
                      start_offset=request.start_offset, session=request.session)


def count_rows(base_url: str, dataset_id: str, *, where: str | None = None, app_token_env: str | None = None,
               dataset_name: str | None = None, session: requests.Session | None = None) -> int:
    """The portal's own row count: ``GET /resource/<id>.json?$select=count(*)`` (with the same ``$where``),
    answered by SODA as ``[{"count": "<n>"}]`` (the alias may differ: the one value of the one row is read)."""
    url = f"{base_url.rstrip('/')}/resource/{dataset_id}.json"
    params = {"$select": "count(*)"}
    if where:
        params["$where"] = where
    name = dataset_name or dataset_id
    response = http.get(url, params=params, session=session, headers=http.app_token_headers(app_token_env),
                        dataset=name, page=0)
    body = http.json_body(response)
    try:
        (row,) = body
        (value,) = row.values()
        return int(value)
    except (TypeError, ValueError, AttributeError):
        raise http.FetchError(name, response.url, 0, response.tries,
                              f"count(*): expected [{{\"count\": \"<n>\"}}], got {str(body)[:200]}") from None


def iter_ids(base_url: str, dataset_id: str, *, field: str | None = None, where: str | None = None,
             page_size: int = 50_000, app_token_env: str | None = None, dataset_name: str | None = None,
             session: requests.Session | None = None) -> Iterator[str]:
    """Every record id the portal has: ``$select=<field>`` (default the row id ``:id``) paged by
    ``$offset`` in ``$order=:id``, one small column per request (the deletion sweep). Null ids are skipped."""
    url = f"{base_url.rstrip('/')}/resource/{dataset_id}.json"
    column = field or ":id"
    headers = http.app_token_headers(app_token_env)
    name = dataset_name or dataset_id
    offset, number = 0, 1
    while True:
        params = {"$select": column, "$order": ":id", "$limit": page_size, "$offset": offset}
        if where:
            params["$where"] = where
        response = http.get(url, params=params, session=session, headers=headers, dataset=name, page=number)
        rows = http.json_body(response)
        if not isinstance(rows, list):
            raise http.FetchError(name, response.url, number, response.tries,
                                  f"id sweep: expected a JSON array, got {type(rows).__name__}")
        for row in rows:
            value = row.get(column) if isinstance(row, dict) else None
            if value is not None:
                yield str(value)
        if len(rows) < page_size:
            return
        offset += len(rows)
        number += 1


def rows_updated_at(base_url: str, dataset_id: str, *, app_token_env: str | None = None,
                    dataset_name: str | None = None, session: requests.Session | None = None) -> str | None:
    """When the portal last changed the dataset's rows: ``rowsUpdatedAt`` (Unix seconds) of the dataset's
    metadata, ``GET /api/views/<id>.json``, as ISO 8601 UTC (``2024-01-31T12:00:00+00:00``); None when the
    metadata has no such field."""
    url = f"{base_url.rstrip('/')}/api/views/{dataset_id}.json"
    name = dataset_name or dataset_id
    response = http.get(url, session=session, headers=http.app_token_headers(app_token_env), dataset=name, page=0)
    body = http.json_body(response)
    stamp = body.get("rowsUpdatedAt") if isinstance(body, dict) else None
    if stamp is None:
        return None
    try:
        return datetime.fromtimestamp(int(stamp), tz=timezone.utc).isoformat()
    except (TypeError, ValueError, OverflowError):
        raise http.FetchError(name, response.url, 0, response.tries,
                              f"metadata: rowsUpdatedAt is not Unix seconds: {stamp!r}") from None


def _updated_at(request: FetchRequest) -> str | None:
    o: SocrataOptions = request.options  # type: ignore[assignment]
    return rows_updated_at(request.location, request.dataset_id, app_token_env=o.app_token_env,
                           dataset_name=request.dataset, session=request.session)


def _count(request: FetchRequest) -> int:
    o: SocrataOptions = request.options  # type: ignore[assignment]
    return count_rows(request.location, request.dataset_id, where=o.where, app_token_env=o.app_token_env,
                      dataset_name=request.dataset, session=request.session)


def _source_ids(request: FetchRequest, field: str | None) -> Iterator[str]:
    o: SocrataOptions = request.options  # type: ignore[assignment]
    return iter_ids(request.location, request.dataset_id, field=field, where=o.where, page_size=o.page_size,
                    app_token_env=o.app_token_env, dataset_name=request.dataset, session=request.session)


PROTOCOL = Protocol(
    name="socrata", summary="Socrata SODA 2.x API (`https://<domain>/resource/<dataset_id>`), paged by $offset",
    formats=FORMATS, addressing="portal", options=SocrataOptions, fetch=_fetch,
    dataset_path="/resource/{dataset_id}", resumable=True, incremental=True, conform=conform_page,
    count=_count, source_ids=_source_ids, updated_at=_updated_at)
