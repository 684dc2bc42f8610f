"""CKAN connector: ``package_show`` to find a resource, then the DataStore paged by ``_id``, or the file.

DataStore paging, best first:

1. ``sql`` - ``datastore_search_sql`` with ``SELECT * FROM "<resource>" WHERE _id > <last> ORDER BY _id
   LIMIT <n>`` (keyset; used when the portal answers it - many CKAN >= 2.9 sites disable it);
2. ``keyset`` - ``datastore_search`` with ``sort=_id asc`` and ``after_id=<last>``. ``after_id`` is **not**
   a CKAN parameter: it is the replay portal's stand-in for the SQL ``WHERE _id > n``. A portal that
   ignores it is detected (an ``_id`` not above the bound) and we fall back to
3. ``offset`` - ``datastore_search`` with ``sort=_id asc``, ``limit`` and ``offset``.

A resource without ``datastore_active`` is downloaded from its ``url`` and parsed by ``connectors.files``.
"""
from __future__ import annotations

from typing import Iterator

import requests
from pydantic import Field

import civicmash.connectors.files as files
import civicmash.connectors.http as http
from civicmash.connectors.protocol import FetchRequest, Protocol, ProtocolOptions
from civicmash.connectors.pages import Page, flat_record, now

ROWS_MAX = 32000            # CKAN's default ckan.datastore.search.rows_max
FILE_FORMATS = {"csv": "csv", "text/csv": "csv", "geojson": "geojson", "json": "json"}
_FALLBACK_STATUSES = (400, 403, 404, 405, 409)   # "no such action" / "not authorised" / "invalid"


def iter_pages(base_url: str, dataset_id: str, *, resource: str | None = None, page_size: int = ROWS_MAX,
               dataset_name: str | None = None, session: requests.Session | None = None) -> Iterator[Page]:
    """Yield every row of one resource of the CKAN package ``dataset_id`` (name or id).

    ``resource``: a resource id or name; default the first resource with ``datastore_active``, else the
    first one in a format ``files`` reads (CSV, GeoJSON, JSON). Records are the DataStore rows (``_id``
    kept, ``_full_text`` dropped) or the file's records. ``page.meta`` has ``protocol``, ``resource_id``,
    ``mode`` (``sql``, ``keyset``, ``offset`` or ``download``), ``fields`` and ``types`` (DataStore field
    types), ``last_id`` and ``tries``.
    """
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    api = f"{base_url.rstrip('/')}/api/3/action"
    name = dataset_name or dataset_id
    package = _result(http.get(f"{api}/package_show", params={"id": dataset_id}, session=session,
                               dataset=name, page=0), name, 0)
    chosen = _choose(package.get("resources") or [], resource, name)
    if chosen.get("datastore_active"):
        return _datastore_pages(api, chosen["id"], min(page_size, ROWS_MAX), name, session)
    return _download_pages(chosen, page_size, name, session)


def _choose(resources: list[dict], wanted: str | None, name: str) -> dict:
    if wanted is not None:
        for r in resources:
            if wanted in (r.get("id"), r.get("name")):
                return r
        raise ValueError(f"dataset {name}: no resource {wanted!r}; resources are "
                         f"{[r.get('name') or r.get('id') for r in resources]}")
    for r in resources:
        if r.get("datastore_active"):
            return r
    for r in resources:
        if str(r.get("format", "")).lower() in FILE_FORMATS:
            return r
    raise ValueError(f"dataset {name}: no DataStore resource and no CSV/GeoJSON/JSON file among "
                     f"{[(r.get('name'), r.get('format')) for r in resources]}")


def _download_pages(resource: dict, page_size: int, name: str, session) -> Iterator[Page]:
    fmt = FILE_FORMATS.get(str(resource.get("format", "")).lower())
    if fmt is None or not resource.get("url"):
        raise ValueError(f"dataset {name}: resource {resource.get('id')} ({resource.get('format')}) "
                         "is not in the DataStore and not a CSV/GeoJSON/JSON file")
    for page in files.iter_pages(resource["url"], fmt=fmt, page_size=page_size, dataset_name=name,
                                 session=session):
        page.meta.update(protocol="ckan", resource_id=resource.get("id"), mode="download")
        yield page


def _datastore_pages(api: str, resource_id: str, size: int, name: str, session) -> Iterator[Page]:
    mode = "sql"
    number, last_id, offset = 1, 0, 0
    while True:
        fetched_at = now()
        if mode == "sql":
            statement = f'SELECT * FROM "{resource_id}" WHERE _id > {last_id} ORDER BY _id LIMIT {size}'
            try:
                response = http.get(f"{api}/datastore_search_sql", params={"sql": statement}, session=session,
                                    dataset=name, page=number)
            except http.FetchError as exc:
                if number == 1 and exc.status in _FALLBACK_STATUSES:
                    mode = "keyset"      # the portal does not offer SQL search: use datastore_search
                    continue
                raise
        else:
            params = {"resource_id": resource_id, "limit": size, "sort": "_id asc"}
            if mode == "keyset":
                params["after_id"] = last_id
            else:
                params["offset"] = offset
            response = http.get(f"{api}/datastore_search", params=params, session=session, dataset=name,
                                page=number)
        result = _result(response, name, number)
        rows = result.get("records") or []
        if mode == "keyset" and rows and _row_id(rows[0]) <= last_id:
            mode = "offset"              # after_id was ignored: this page restarted at the top
            continue
        records = []
        for row in rows:
            row.pop("_full_text", None)
            records.append(flat_record(row))
        fields = [f["id"] for f in result.get("fields") or [] if f.get("id") != "_full_text"]
        meta = {"protocol": "ckan", "resource_id": resource_id, "mode": mode, "offset": offset,
                "after_id": last_id, "fields": fields,
                "types": {f["id"]: f.get("type") for f in result.get("fields") or [] if f.get("id") != "_full_text"},
                "tries": response.tries}
        if "total" in result:
            meta["total"] = result["total"]
        if records:
            last_id = max(last_id, max(_row_id(r) for r in rows))
        meta["last_id"] = last_id
        offset += len(records)
        if records or number == 1:
            yield Page(number, records, response.url, fetched_at, meta)
        # the portal may clamp the limit (rows_max): only a page shorter than what it granted is the last
        granted = min(size, int(result.get("limit") or size))
        if not records or (len(records) < granted and not result.get("records_truncated")):
            return
        number += 1


def _row_id(row: dict) -> int:
    try:
        return int(row["_id"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"DataStore row without an integer _id: {str(row)[:200]}") from None


def _result(response: requests.Response, name: str, page: int):
    """The ``result`` of a CKAN action answer; ``success: false`` (even with HTTP 200) raises FetchError."""
    body = http.json_body(response)
    if not isinstance(body, dict) or body.get("success") is not True or "result" not in body:
        error = body.get("error") if isinstance(body, dict) else body
        raise http.FetchError(name, response.url, page, response.tries, f"CKAN error: {error}")
    return body["result"]


def count_rows(base_url: str, dataset_id: str, *, resource: str | None = None, dataset_name: str | None = None,
               session: requests.Session | None = None) -> int | None:
    """The DataStore's own row count of the resource ``iter_pages`` reads: ``total`` of
    ``datastore_search?resource_id=<id>&limit=0``; None for a resource that is only a file (no DataStore:
    the portal keeps no count of it)."""
    api = f"{base_url.rstrip('/')}/api/3/action"
    name = dataset_name or dataset_id
    package = _result(http.get(f"{api}/package_show", params={"id": dataset_id}, session=session,
                               dataset=name, page=0), name, 0)
    chosen = _choose(package.get("resources") or [], resource, name)
    if not chosen.get("datastore_active"):
        return None
    response = http.get(f"{api}/datastore_search", params={"resource_id": chosen["id"], "limit": 0},
                        session=session, dataset=name, page=0)
    result = _result(response, name, 0)
    try:
        return int(result["total"])
    except (KeyError, TypeError, ValueError):
        raise http.FetchError(name, response.url, 0, response.tries,
                              f"datastore_search: no integer total in {str(result)[:200]}") from None


# --- declaration: what the rest of civicmash knows of this protocol (connectors/protocol.py) ------------

class CkanOptions(ProtocolOptions):
    """Options of a ``ckan`` dataset (a CKAN package named by ``dataset_id``)."""

    resource: str | None = Field(None, description="the resource (id or name) to read; default the first in "
                                 "the DataStore, else the first CSV/GeoJSON/JSON file", examples=["crimes-2023"])
    page_size: int = Field(ROWS_MAX, ge=1, description="rows per DataStore request (capped at 32,000, CKAN's "
                           "default rows_max)", examples=[32000])


def _fetch(request: FetchRequest) -> Iterator[Page]:
    o: CkanOptions = request.options  # type: ignore[assignment]
    return iter_pages(request.location, request.dataset_id, resource=o.resource, page_size=o.page_size,
                      dataset_name=request.dataset, session=request.session)


def _count(request: FetchRequest) -> int | None:
    o: CkanOptions = request.options  # type: ignore[assignment]
    return count_rows(request.location, request.dataset_id, resource=o.resource, dataset_name=request.dataset,
                      session=request.session)


PROTOCOL = Protocol(
    name="ckan", summary="CKAN action API: package_show, then the DataStore paged by _id (or the resource file)",
    formats=("json", "csv"), addressing="portal", options=CkanOptions, fetch=_fetch,
    dataset_path="/dataset/{dataset_id}", count=_count)
