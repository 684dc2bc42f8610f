"""The replay portal's CKAN handler: the action API (``package_show``, ``datastore_search``, ``datastore_search_sql``)
from a CSV export."""


import csv
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

from civicmash.connectors.pages import unique_names

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))   # WKT cells in park exports exceed the 131,072 default


from .replay_portal import ReplayHandler, ReplayPortal, ReplayRequest, Reply, Route

CKAN_ROWS_MAX = 32000      # CKAN's ckan.datastore.search.rows_max default: larger limits are clamped



_CKAN_SQL = re.compile(r'\s*SELECT\s+\*\s+FROM\s+"([^"]+)"\s+WHERE\s+"?_id"?\s*>\s*(\d+)\s+'
                       r'ORDER\s+BY\s+"?_id"?(?:\s+ASC)?\s+LIMIT\s+(\d+)\s*;?\s*', re.I)


def _ckan_error(status: int, kind: str, message: str | None = None, **fields) -> Reply:
    error: dict[str, Any] = {"__type": kind, **fields}
    if message is not None:
        error["message"] = message
    return Reply(status, {"help": "/api/3/action/help_show", "success": False, "error": error})


def _ckan_ok(action: str, result: Any) -> Reply:
    return Reply(200, {"help": f"/api/3/action/help_show?name={action}", "success": True, "result": result})


class _CkanPackage:
    """A CSV source as a CKAN package with one resource; in the DataStore unless ``route.datastore`` is False.

    Field ids are the CSV headers as written (CKAN keeps them), all typed ``text``; ``_id`` is the 1-based
    row number. Empty cells are null.
    """

    def __init__(self, route: Route, headers: list[str], rows: list[list[str]]):
        self.route = route
        self.package_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicmash-replay/package/{route.dataset_id}"))
        self.resource_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicmash-replay/resource/{route.dataset_id}"))
        self.columns = unique_names(headers)
        self.rows = rows

    @classmethod
    def load(cls, path: Path, route: Route) -> "_CkanPackage":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            headers = next(reader, [])
            width = len(headers)
            rows = [r if len(r) == width else (r + [""] * width)[:width] for r in reader if r]
        return cls(route, headers, rows)

    def package(self, base_url: str) -> dict:
        path = self.route.path
        resource = {"id": self.resource_id, "package_id": self.package_id, "name": Path(path).name,
                    "format": (self.route.fmt or Path(path).suffix.lstrip(".")).upper(),
                    "url": f"{base_url}/files/{path}", "url_type": "upload",
                    "datastore_active": self.route.datastore, "position": 0}
        return {"id": self.package_id, "name": self.route.dataset_id, "title": self.route.dataset_id,
                "state": "active", "num_resources": 1, "resources": [resource]}

    def fields(self) -> list[dict]:
        return [{"id": "_id", "type": "int"}] + [{"id": c, "type": "text"} for c in self.columns]

    def record(self, i: int, full_text: bool = False) -> dict:
        obj: dict[str, Any] = {"_id": i + 1}
        for c, v in zip(self.columns, self.rows[i]):
            obj[c] = v if v != "" else None
        if full_text:
            obj["_full_text"] = " ".join(f"'{v.lower()}'" for v in self.rows[i] if v)
        return obj

    def search(self, q: dict, base_url: str, after_id_supported: bool, count_skew: int = 0) -> Reply:
        limit = min(_ckan_int(q, "limit", 100), CKAN_ROWS_MAX)
        offset = _ckan_int(q, "offset", 0)
        if q.get("q"):
            raise _ckan_error(409, "Validation Error", q=["the replay portal does not support full-text q"])
        sort = re.sub(r"\s+", " ", q.get("sort", "_id asc").strip().strip('"')).lower()
        if sort not in ("_id", "_id asc", "_id desc", '_id" asc', '_id" desc'):
            raise _ckan_error(409, "Validation Error", sort=[f"the replay portal sorts by _id only, not {q['sort']!r}"])
        index = list(range(len(self.rows)))
        if q.get("filters"):
            try:
                filters = json.loads(q["filters"])
                assert isinstance(filters, dict)
            except (ValueError, AssertionError):
                raise _ckan_error(409, "Validation Error", filters=["Not a JSON object"]) from None
            for name, wanted in filters.items():
                if name not in self.columns:
                    raise _ckan_error(409, "Validation Error", filters=[f"field {name!r} not in table"])
                col = self.columns.index(name)
                allowed = {str(w) for w in (wanted if isinstance(wanted, list) else [wanted])}
                index = [i for i in index if self.rows[i][col] in allowed]
        if after_id_supported and q.get("after_id") not in (None, ""):
            after = _ckan_int(q, "after_id", 0)
            index = [i for i in index if i + 1 > after]
        if sort.endswith("desc"):
            index.reverse()
        page = index[offset:offset + limit]
        start = f"/api/3/action/datastore_search?resource_id={self.resource_id}"
        result = {"include_total": True, "resource_id": self.resource_id, "fields": self.fields(),
                  "records_format": "objects", "records": [self.record(i) for i in page], "limit": limit,
                  "offset": offset, "total": len(index) + count_skew,
                  "_links": {"start": start, "next": f"{start}&offset={offset + limit}"}}
        return _ckan_ok("datastore_search", result)

    def sql(self, statement: str) -> Reply:
        m = _CKAN_SQL.fullmatch(statement)
        if not m:
            raise _ckan_error(409, "Validation Error", query=[
                'the replay portal answers only SELECT * FROM "<resource_id>" WHERE _id > N ORDER BY _id LIMIT M'])
        if m.group(1) != self.resource_id:
            raise _ckan_error(404, "Not Found Error", f'Resource "{m.group(1)}" was not found.')
        after, wanted = int(m.group(2)), int(m.group(3))
        limit = min(wanted, CKAN_ROWS_MAX)
        page = range(after, min(after + limit, len(self.rows)))
        result = {"sql": statement, "fields": self.fields() + [{"id": "_full_text", "type": "tsvector"}],
                  "records": [self.record(i, full_text=True) for i in page]}
        if wanted > limit and after + limit < len(self.rows):
            result["records_truncated"] = True
        return _ckan_ok("datastore_search_sql", result)


def _ckan_int(q: dict, name: str, default: int) -> int:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise _ckan_error(409, "Validation Error", **{name: ["Invalid integer"]})
    return int(raw)


def _ckan_action(portal: "ReplayPortal", action: str, q: dict, base_url: str) -> Reply:
    """``/api/3/action/<action>`` with CKAN's envelopes: ``{"success": true, "result": ...}``, errors as
    ``{"success": false, "error": {"__type": ..., "message": ...}}`` with 404 (not found), 409 (validation)
    or 400 (unknown action)."""
    packages = {d: portal.table(CkanReplay.protocol, d) for (p, d) in portal.routes if p == CkanReplay.protocol}
    if action == "package_show":
        package = portal.table(CkanReplay.protocol, q.get("id", "")) or next(
            (t for t in packages.values() if t.package_id == q.get("id")), None)
        if package is None:
            raise _ckan_error(404, "Not Found Error", "Not found")
        return _ckan_ok(action, package.package(base_url))
    if action == "datastore_search_sql" and portal.ckan_sql:
        m = _CKAN_SQL.fullmatch(q.get("sql", ""))
        if not m:
            raise _ckan_error(409, "Validation Error", query=[
                'the replay portal answers only SELECT * FROM "<resource_id>" WHERE _id > N ORDER BY _id LIMIT M'])
        package = next((t for t in packages.values() if t.resource_id == m.group(1) and t.route.datastore), None)
        if package is None:
            raise _ckan_error(404, "Not Found Error", f'Resource "{m.group(1)}" was not found.')
        return package.sql(q["sql"])
    if action == "datastore_search":
        rid = q.get("resource_id") or q.get("id")
        if not rid:
            raise _ckan_error(409, "Validation Error", resource_id=["Missing value"])
        package = next((t for t in packages.values() if t.resource_id == rid and t.route.datastore), None)
        if package is None:
            raise _ckan_error(404, "Not Found Error", f'Resource "{rid}" was not found.')
        return package.search(q, base_url, portal.ckan_after_id, portal.count_skew.get(package.route.dataset_id, 0))
    raise _ckan_error(400, "Bad Request", f"Bad request - Action name not known: {action}")



class CkanReplay(ReplayHandler):
    """CKAN action API (``package_show``, ``datastore_search``, ``datastore_search_sql``) from a CSV export."""

    protocol = "ckan"
    _PATH = re.compile(r"/api(?:/3)?/action/(\w+)")

    def load(self, portal: ReplayPortal, route: Route) -> "_CkanPackage":
        return _CkanPackage.load(portal.source(route)[0], route)

    def answer(self, portal: ReplayPortal, request: ReplayRequest) -> Reply | None:
        m = self._PATH.fullmatch(request.path)
        return _ckan_action(portal, m.group(1), request.query, request.base_url) if m else None

    def endpoint(self, *, dataset_id: str, fmt: str) -> str:
        return f"/api/3/action/package_show?id={dataset_id}"


