"""The replay portal: a local HTTP server that serves saved exports the way the real portals do.

Socrata (``/resource/<id>.json|.csv|.geojson``) from CSV exports or GeoJSON, ArcGIS FeatureServer
(``/arcgis/rest/services/<id>/FeatureServer/0`` and ``.../0/query``) from GeoJSON, CKAN
(``/api/3/action/package_show|datastore_search|datastore_search_sql``) from CSV, and any file under
``root`` at ``/files/<relative path>``. Each protocol is one :class:`ReplayHandler` registered under the
protocol's name (:func:`register_handler`; a plugin protocol registers its own). Socrata datasets can be changed while served
(``append_rows`` / ``update_rows``) to test incremental fetches. Loopback only. Optional fault injection (``faults``) and
``latency`` make connector retries testable; faults are drawn from ``random.Random(seed)``.
"""
from __future__ import annotations

import csv
import io
import json
import mimetypes
import random
import re
import shutil
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from civicmash.connectors.files import haversine_m
from civicmash.connectors.pages import features_of, unique_names

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))   # WKT cells in park exports exceed the 131,072 default

FIXED_UPDATED_AT = "2024-01-01T00:00:00.000"   # :updated_at when the source has no updated_on column
SODA_MAX_LIMIT = 50000
CKAN_ROWS_MAX = 32000      # CKAN's ckan.datastore.search.rows_max default: larger limits are clamped
FAULT_KINDS = ("500", "429", "html", "truncated", "drop", "timeout")
FAULT_HELP = {
    "500": "HTTP 500 with a JSON error body",
    "429": "HTTP 429 with Retry-After: 0",
    "html": "an HTML error page with status 200 (a portal's maintenance page)",
    "truncated": "the right answer cut off half way (Content-Length promises more)",
    "drop": "the connection closed with no answer (connection reset)",
    "timeout": "no answer for `stall` seconds, then the connection closes (a client with a shorter read "
               "timeout sees its timeout, others a reset)",
}
CONTENT_TYPES = {".csv": "text/csv; charset=utf-8", ".geojson": "application/geo+json",
                 ".json": "application/json", ".osm": "application/xml", ".txt": "text/plain; charset=utf-8",
                 ".pbf": "application/octet-stream", ".md": "text/markdown; charset=utf-8"}


@dataclass(frozen=True)
class Route:
    """One dataset served by the portal.

    protocol: a protocol with a registered :class:`ReplayHandler` (built in: "socrata", "arcgis", "ckan";
    file protocols need no route: their files are served under /files/);
    dataset_id: the Socrata 4x4 id, ArcGIS service name or CKAN package name; path: source file relative
    to root; fmt: source format, "csv" or "geojson" (None: from the file suffix);
    max_records: ArcGIS ``maxRecordCount`` (default 1000);
    datastore: CKAN only - whether the package's resource is in the DataStore (``datastore_active``);
    when False only its file URL is offered.
    """

    protocol: str
    dataset_id: str
    path: str
    fmt: str | None = None
    max_records: int | None = None
    datastore: bool = True


class ReplayPortal:
    """``with ReplayPortal(root, routes) as portal: requests.get(portal.base_url + "/resource/x.json")``."""

    def __init__(self, root: str | Path, routes: list[Route], *, host: str = "127.0.0.1", port: int = 0,
                 faults: float | dict[str, float] = 0.0, latency: float = 0.0, seed: int = 0,
                 stall: float = 1.0, ckan_sql: bool = True, ckan_after_id: bool = True,
                 cache_bytes: int = 256 << 20):
        """``faults``: a probability per request, spread evenly over :data:`FAULT_KINDS`, or a rate per
        kind (``{"429": 0.05, "timeout": 0.02}``; kinds left out never happen); ``stall``: seconds a
        ``timeout`` fault keeps the client waiting. ``ckan_sql``: answer ``datastore_search_sql`` (else it is an unknown action, as on CKAN >= 2.9
        with ``ckan.datastore.sqlsearch.enabled = false``); ``ckan_after_id``: honour our ``after_id``
        keyset stand-in on ``datastore_search`` (else it is ignored, as a real CKAN would).
        ``cache_bytes``: per Socrata dataset, the serialised answers kept for repeated identical queries
        (oldest dropped first; 0 turns the answer cache off)."""
        if not _is_loopback(host):
            raise ValueError(f"the replay portal binds to loopback only (127.0.0.1, ::1, localhost), not {host!r}")
        self.fault_rates = fault_rates(faults)
        self.root = Path(root).resolve()
        unserved = sorted({r.protocol for r in routes if handler_for(r.protocol) is None})
        if unserved:
            raise ValueError(f"no replay handler for protocol(s) {', '.join(unserved)} "
                             f"(handlers: {', '.join(_HANDLERS)})")
        self.routes = {(r.protocol, r.dataset_id): r for r in routes}
        self.host, self.port, self.latency, self.stall = host, port, latency, stall
        self.faults = sum(self.fault_rates.values())
        self.ckan_sql, self.ckan_after_id = ckan_sql, ckan_after_id
        self.cache_bytes = cache_bytes
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.injected: dict[str, int] = dict.fromkeys(self.fault_rates, 0)  # faults served so far, per kind
        self._tables: dict[tuple[str, str], Any] = {}
        self._load_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the replay portal is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_address[1]}"

    def start(self) -> "ReplayPortal":
        if self._server is not None:
            return self
        server_class = _Server6 if ":" in self.host else _Server
        self._server = server_class((self.host, self.port), _Handler)
        self._server.portal = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="replay-portal", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "ReplayPortal":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- used by the handler ---

    def table(self, protocol: str, dataset_id: str):
        """The loaded, converted source of a route (loaded once, on first use), or None if unknown."""
        route = self.routes.get((protocol, dataset_id))
        if route is None:
            return None
        key = (protocol, dataset_id)
        with self._load_lock:
            if key not in self._tables:
                self._tables[key] = _HANDLERS[protocol].load(self, route)
            return self._tables[key]

    def source(self, route: Route) -> tuple[Path, str]:
        """A route's source file under ``root`` and its format (``route.fmt``, else ``csv`` for a ``.csv``
        file and ``geojson`` for anything else)."""
        path = self.root / route.path
        return path, route.fmt or ("csv" if path.suffix.lower() == ".csv" else "geojson")

    def append_rows(self, dataset_id: str, rows: list[dict]) -> list[str]:
        """Add rows to a served Socrata dataset, as if published now; returns their new ``:id``s.

        ``rows`` map API field names to values (str, number, bool or None; unknown fields raise
        ``ValueError``). The new rows get ``:updated_at`` newer than any row's, and so does their
        ``updated_on`` column when the source has one.
        """
        return self._soda(dataset_id).append(rows)

    def update_rows(self, dataset_id: str, updates: dict[str, dict], *, key: str = "id") -> list[str]:
        """Change rows of a served Socrata dataset, as if edited now; returns the touched ``:id``s.

        ``updates`` maps a source id - the value of column ``key`` (default ``id``), or with
        ``key=":id"`` a system id like ``row-00000007`` - to ``{field: new value}``. Touched rows get an
        ``:updated_at`` newer than any row's (and ``updated_on`` when present). Unknown ids raise ``KeyError``.
        """
        return self._soda(dataset_id).update(updates, key)

    def _soda(self, dataset_id: str) -> "_SodaTable":
        table = self.table("socrata", dataset_id)
        if table is None:
            raise KeyError(f"no socrata route for dataset {dataset_id!r}")
        return table

    def draw_fault(self) -> str | None:
        """The fault to inject into this request, or None (one seeded draw per request)."""
        if self.faults <= 0:
            return None
        with self._rng_lock:
            u = self._rng.random()
            for kind, rate in self.fault_rates.items():
                if u < rate:
                    self.injected[kind] += 1
                    return kind
                u -= rate
        return None


@dataclass(frozen=True)
class ReplayRequest:
    """A GET the portal received: its path, its query (last value per name) and the portal's base URL."""

    path: str
    query: dict[str, str]
    base_url: str


class ReplayHandler:
    """How the replay portal serves one protocol from saved exports: subclass, set ``protocol``, register.

    ``load`` reads a route's source once (the portal keeps it); ``answer`` returns the :class:`Reply` for a
    request that is this protocol's, or None to let another handler answer (raise a :class:`Reply` for an
    error answer). ``route`` turns a profile's dataset into a :class:`Route` (``options``: the dataset's
    typed protocol options); ``endpoint`` is the path a person would open to see the dataset.
    """

    protocol: str = ""

    def route(self, *, dataset_id: str, path: str, options: Any = None) -> Route:
        return Route(self.protocol, dataset_id, path)

    def load(self, portal: "ReplayPortal", route: Route) -> Any:
        raise NotImplementedError

    def answer(self, portal: "ReplayPortal", request: ReplayRequest) -> Reply | None:
        raise NotImplementedError

    def endpoint(self, *, dataset_id: str, fmt: str) -> str:
        return "/"


_HANDLERS: dict[str, ReplayHandler] = {}


def register_handler(handler: ReplayHandler, *, replace: bool = False) -> ReplayHandler:
    """Serve ``handler.protocol`` with ``handler`` (a second handler for one protocol needs ``replace``)."""
    if not handler.protocol:
        raise ValueError(f"{type(handler).__name__} has no protocol name")
    known = _HANDLERS.get(handler.protocol)
    if known is not None and known is not handler and not replace:
        raise ValueError(f"protocol {handler.protocol!r} already has a replay handler; pass replace=True")
    _HANDLERS[handler.protocol] = handler
    return handler


def unregister_handler(protocol: str) -> None:
    """Stop serving a plugin protocol (the built-in handlers stay)."""
    if protocol in BUILTIN_HANDLERS:
        raise ValueError(f"the {protocol!r} replay handler is built in")
    _HANDLERS.pop(protocol, None)


def handler_for(protocol: str) -> ReplayHandler | None:
    """The handler serving ``protocol``, or None (file protocols need none: ``/files/`` serves them)."""
    return _HANDLERS.get(protocol)


def fault_rates(faults: float | dict[str, float]) -> dict[str, float]:
    """Per-kind fault probabilities from a total (spread evenly) or a mapping; checked, in FAULT_KINDS order."""
    if isinstance(faults, dict):
        unknown = sorted(set(faults) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kind {', '.join(unknown)}; kinds are {', '.join(FAULT_KINDS)}")
        rates = {k: float(faults[k]) for k in FAULT_KINDS if k in faults}
    else:
        if not 0.0 <= float(faults) <= 1.0:
            raise ValueError(f"faults is a probability in 0..1, got {faults}")
        rates = {k: float(faults) / len(FAULT_KINDS) for k in FAULT_KINDS} if faults else {}
    bad = {k: r for k, r in rates.items() if not 0.0 <= r <= 1.0}
    if bad or sum(rates.values()) > 1.0 + 1e-9:
        raise ValueError(f"fault rates must be probabilities adding up to at most 1, got {rates}")
    return {k: r for k, r in rates.items() if r > 0}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:   # quiet: a dropped client is not news
        pass


class _Server6(_Server):
    address_family = socket.AF_INET6


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class Reply(Exception):
    """An HTTP answer: raised anywhere below the handler to answer at once."""

    def __init__(self, status: int, body: Any, content_type: str = "application/json; charset=utf-8",
                 headers: dict | None = None):
        self.status, self.content_type, self.headers = status, content_type, headers or {}
        self.body = body if isinstance(body, (bytes, Path)) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())


def _soda_error(status: int, message: str, code: str = "query.compiler.malformed") -> Reply:
    return Reply(status, {"code": code, "error": True, "message": message})


def _arcgis_error(code: int, message: str) -> Reply:
    return Reply(200, {"error": {"code": code, "message": message, "details": []}})


class _Handler(BaseHTTPRequestHandler):
    server_version = "civicmash-replay/0.1"

    def log_message(self, *args) -> None:   # quiet: nothing on stderr per request
        pass

    def do_GET(self) -> None:
        portal: ReplayPortal = self.server.portal  # type: ignore[attr-defined]
        if portal.latency:
            time.sleep(portal.latency)
        fault = portal.draw_fault()
        if fault in ("drop", "timeout"):
            if fault == "timeout":
                time.sleep(portal.stall)
            self.close_connection = True
            return
        if fault == "500":
            return self._send(Reply(500, {"error": True, "message": "injected fault: internal error"}))
        if fault == "429":
            return self._send(Reply(429, {"error": True, "message": "injected fault: too many requests"},
                                     headers={"Retry-After": "0"}))
        if fault == "html":
            return self._send(Reply(200, "<!DOCTYPE html><html><body>Service temporarily unavailable"
                                          "</body></html>", "text/html; charset=utf-8"))
        try:
            reply = self._route(portal)
        except Reply as r:
            reply = r
        except ValueError as e:   # a source file the portal cannot serve: say so, as a portal would
            reply = Reply(500, {"error": True, "message": str(e)})
        self._send(reply, truncate=fault == "truncated")

    def _route(self, portal: ReplayPortal) -> Reply:
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path.startswith("/files/"):
            return _serve_file(portal.root, path[len("/files/"):])
        request = ReplayRequest(path=path, query=query, base_url=self._base_url())
        for handler in list(_HANDLERS.values()):
            reply = handler.answer(portal, request)
            if reply is not None:
                return reply
        if path in ("", "/"):
            return Reply(200, {"datasets": [{"protocol": p, "dataset_id": d} for p, d in portal.routes]})
        raise Reply(404, {"error": True, "message": f"No such endpoint: {path}"})

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def _send(self, reply: Reply, *, truncate: bool = False) -> None:
        body = reply.body
        size = body.stat().st_size if isinstance(body, Path) else len(body)
        if truncate and size < 2:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(size))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        limit = size // 2 if truncate else size
        try:
            if isinstance(body, Path):
                with open(body, "rb") as fh:
                    shutil.copyfileobj(_Limited(fh, limit), self.wfile, 1 << 20)
            else:
                self.wfile.write(body[:limit])
        except (BrokenPipeError, ConnectionResetError):
            pass
        if truncate:
            self.close_connection = True


class _Limited:
    def __init__(self, fh, limit: int):
        self.fh, self.left = fh, limit

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(self.left if n < 0 else min(n, self.left))
        self.left -= len(data)
        return data


def _serve_file(root: Path, raw: str) -> Reply:
    rel = unquote(raw)
    parts = rel.replace("\\", "/").split("/")
    if rel.startswith("/") or "\x00" in rel or any(p == ".." for p in parts):
        raise Reply(403, {"error": True, "message": "path escapes the portal root"})
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        raise Reply(403, {"error": True, "message": "path escapes the portal root"})
    if not path.is_file():
        raise Reply(404, {"error": True, "message": f"No such file: {rel}"})
    ctype = CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Reply(200, path, ctype)


# --- Socrata ---------------------------------------------------------------------------------------

_US_DATETIME = re.compile(r"(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([AP]M)")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")   # ints and decimals alike are SODA `number`
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}")
_CONDITION = re.compile(r"\s*([:\w]+)\s*(>=|<=|!=|=|>|<)\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*", re.S)
_NUM = r"(-?\d+(?:\.\d+)?)"
_POINT_TEXT = re.compile(r"\(\s*[-+]?\d+(?:\.\d+)?\s*,\s*[-+]?\d+(?:\.\d+)?\s*\)")
_WITHIN_CIRCLE = re.compile(rf"\s*within_circle\(\s*([:\w]+)\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*\)\s*",
                            re.I)
_AND = re.compile(r"and\b", re.I)
_OPEN, _CLOSE = re.compile(r"\s*\("), re.compile(r"\s*\)\s*")


def api_name(header: str) -> str:
    """A CSV export header -> its SODA API field name (``Primary Type`` -> ``primary_type``)."""
    return re.sub(r"[^0-9a-z]+", "_", header.lstrip("\ufeff").lower()).strip("_")


def _iso(v: str) -> str:
    """``05/01/2018 07:25:00 PM`` -> ``2018-05-01T19:25:00.000``; anything else unchanged."""
    if len(v) != 22 or not _US_DATETIME.fullmatch(v):
        return v
    hour = int(v[11:13]) % 12 + (12 if v[20] == "P" else 0)
    return f"{v[6:10]}-{v[0:2]}-{v[3:5]}T{hour:02d}{v[13:19]}.000"


def _column_type(values) -> str:
    """SODA type of a column from all its values ("" is null): headers, numeric compare and sort.

    ``number`` only when every value is a decimal numeral (ints and decimals alike, as in SODA)."""
    distinct = set(values)
    distinct.discard("")
    if not distinct:
        return "text"
    if distinct <= {"true", "false"}:
        return "checkbox"
    for kind, pattern in (("floating_timestamp", _ISO), ("number", _NUMBER)):
        if all(pattern.fullmatch(v) for v in distinct):
            return kind
    return "text"


def _load_features(path: Path) -> list[dict]:
    """The features of a GeoJSON FeatureCollection file the portal serves; a malformed one is an error naming it."""
    with open(path, encoding="utf-8-sig") as fh:
        return features_of(json.load(fh), source=str(path))


def _source_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class _SodaTable:
    """A source converted once to SODA semantics; answers $order/$where/$limit/$offset/$select queries."""

    def __init__(self, headers: list[str], rows: list[list[str]], geoms: list | None):
        """``rows``: lists of strings as wide as ``headers``, ``""`` meaning null. Converted in place."""
        self.columns = unique_names([api_name(h) for h in headers], first_repeat=1)  # SODA: address_1
        self.rows = rows
        n = len(rows)
        sample = rows[::max(1, n // 5000)]
        for c in range(len(self.columns)):
            if any(_US_DATETIME.fullmatch(r[c]) for r in sample[:200]):
                for r in rows:
                    r[c] = _iso(r[c])
        self.types = {name: _column_type([r[c] for r in rows]) for c, name in enumerate(self.columns)}
        self.geoms = geoms
        self._points: set[str] | None = None   # see _point_fields
        self.ids = [f"row-{i + 1:08d}" for i in range(n)]
        upd = self.columns.index("updated_on") if "updated_on" in self.columns else None
        self.updated = [(r[upd] if upd is not None and r[upd] else FIXED_UPDATED_AT) for r in rows]
        self._json: dict[bool, list[str | None]] = {True: [None] * n, False: [None] * n}
        self._csv_rows: dict[bool, list[str | None]] = {True: [None] * n, False: [None] * n}
        self._replies: dict[tuple, Reply] = {}      # whole answers by normalised query, oldest first
        self._reply_bytes = 0
        self.cache_bytes = 256 << 20
        self._orders: dict[str, list[int]] = {}
        self._lock = threading.RLock()
        ltype = None
        if geoms is not None:
            ltype = next((g["type"].lower() for g in geoms if g), "multipolygon")
        self.geom_type = ltype

    @classmethod
    def load(cls, path: Path, fmt: str) -> "_SodaTable":
        if fmt == "csv":
            with open(path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                headers = next(reader)
                width = len(headers)
                rows = [r if len(r) == width else (r + [""] * width)[:width] for r in reader if r]
            return cls(headers, rows, None)
        features = _load_features(path)
        headers = list(dict.fromkeys(k for f in features for k in (f.get("properties") or {})))
        props = [f.get("properties") or {} for f in features]
        rows = [[_source_text(p.get(h)) for h in headers] for p in props]
        return cls(headers, rows, [f.get("geometry") for f in features])

    # -- query --

    def query(self, fmt: str, q: dict) -> Reply:
        with self._lock:      # a consistent snapshot while append/update may run
            return self._query(fmt, q)

    def _query(self, fmt: str, q: dict) -> Reply:
        system = self._select(q.get("$select"))
        limit = _int_param(q, "$limit", 1000)
        offset = _int_param(q, "$offset", 0)
        if limit > SODA_MAX_LIMIT:
            raise _soda_error(400, f"$limit must be at most {SODA_MAX_LIMIT}")
        key = (fmt, system, q.get("$order", ":id").strip(), q.get("$where"), offset, limit)
        reply = self._replies.get(key)
        if reply is None:
            reply = self._render(fmt, system, key[2], key[3], offset, limit)
            self._remember(key, reply)
        return reply

    def _remember(self, key: tuple, reply: Reply) -> None:
        """Keep an answer for the same query again (bounded by ``cache_bytes``, oldest dropped first)."""
        size = len(reply.body)
        if size > self.cache_bytes:
            return
        while self._replies and self._reply_bytes + size > self.cache_bytes:
            self._reply_bytes -= len(self._replies.pop(next(iter(self._replies))).body)
        self._replies[key] = reply
        self._reply_bytes += size

    def _forget(self) -> None:
        self._replies.clear()
        self._reply_bytes = 0

    def _render(self, fmt: str, system: bool, order: str, where: str | None, offset: int, limit: int) -> Reply:
        index = self._index(order, where)[offset:offset + limit]
        fields = ([":id", ":updated_at"] if system else []) + self.columns + (["the_geom"] if self.geoms else [])
        types = ["meta_data"] * (2 if system else 0) + [self.types[c] for c in self.columns] + (
            [self.geom_type] if self.geoms else [])
        headers = {"X-SODA2-Fields": json.dumps(fields), "X-SODA2-Types": json.dumps(types)}
        if fmt == "json":
            body = "[" + ",\n".join(self._row_json(i, system) for i in index) + "]"
            return Reply(200, body, "application/json; charset=utf-8", headers)
        if fmt == "csv":
            return Reply(200, self._csv(index, system, fields), "text/csv; charset=utf-8", headers)
        features = [{"type": "Feature", "geometry": self._geometry(i), "properties": self._row_obj(i, system, False)}
                    for i in index]
        return Reply(200, {"type": "FeatureCollection", "features": features},
                      "application/vnd.geo+json; charset=utf-8", headers)

    def _select(self, select: str | None) -> bool:
        if select is None or select.replace(" ", "") in ("*", ""):
            return False
        if select.replace(" ", "") == ":*,*":
            return True
        raise _soda_error(400, f"the replay portal supports only $select=:*,* (got {select!r})")

    def _index(self, order: str, where: str | None) -> list[int]:
        index = self._ordered(order)
        if where:
            predicates = self._parse_where(where)
            index = [i for i in index if all(p(i) for p in predicates)]
        return index

    def _ordered(self, order: str) -> list[int]:
        key = order.strip()
        with self._lock:
            if key not in self._orders:
                index = list(range(len(self.rows)))
                for term in reversed([t.strip() for t in key.split(",") if t.strip()]):
                    m = re.fullmatch(r"([:\w]+)(?:\s+(asc|desc))?", term, re.I)
                    if not m:
                        raise _soda_error(400, f"cannot parse $order term {term!r}")
                    value = self._getter(m.group(1))
                    index.sort(key=lambda i: (value(i) is None, value(i) or 0),
                               reverse=(m.group(2) or "").lower() == "desc")
                self._orders[key] = index
            return self._orders[key]

    def _getter(self, field: str):
        """i -> comparable value of ``field`` in row i (float for number columns)."""
        if field == ":id":
            return lambda i: i
        if field == ":updated_at":
            return lambda i: self.updated[i]
        if field not in self.types:
            raise _soda_error(400, f"No such column: {field}")
        col = self.columns.index(field)
        if self.types[field] == "number":
            return lambda i: _float(self.rows[i][col])
        return lambda i: self.rows[i][col] or None

    def _parse_where(self, where: str) -> list:
        """``field op value`` conditions joined by AND, optionally grouped in parentheses (a no-op with
        AND only)."""
        predicates, pos, depth = [], 0, 0
        while True:
            while (o := _OPEN.match(where, pos)):
                depth, pos = depth + 1, o.end()
            if (c := _WITHIN_CIRCLE.match(where, pos)):
                predicates.append(self._within_circle(c.group(1), *map(float, c.groups()[1:])))
                pos = c.end()
            elif (m := _CONDITION.match(where, pos)):
                predicates.append(self._predicate(*m.groups()))
                pos = m.end()
            else:
                raise _soda_error(400, f"the replay portal supports `field op 'value'` and "
                                       f"`within_circle(field, lat, lon, metres)` joined by AND; "
                                       f"cannot parse {where[pos:]!r}")
            while depth and (c := _CLOSE.match(where, pos)):
                depth, pos = depth - 1, c.end()
            if pos >= len(where):
                if depth:
                    raise _soda_error(400, f"unbalanced parentheses in $where {where!r}")
                return predicates
            a = _AND.match(where, pos)
            if not a:
                raise _soda_error(400, f"expected AND at {where[pos:]!r}")
            pos = a.end()

    def _within_circle(self, field: str, lat: float, lon: float, radius_m: float):
        """SoQL ``within_circle(location, lat, lon, radius_m)``: the row's point (its geometry, or its
        ``latitude``/``longitude`` columns) within ``radius_m`` metres, great-circle (haversine)."""
        points = self._point_fields()
        if field not in points:
            if field not in self.types and field != "the_geom":
                raise _soda_error(400, f"No such column: {field}")
            raise _soda_error(400, f"within_circle needs a point column ({', '.join(sorted(points)) or 'none here'}); "
                                   f"{field} is not one")
        def inside(i: int) -> bool:
            geometry = self._geometry(i)
            if not geometry or geometry.get("type") != "Point":
                return False
            x, y = geometry["coordinates"][:2]
            return haversine_m(lon, lat, x, y) <= radius_m
        return inside

    def _point_fields(self) -> set[str]:
        """The fields holding the row's point: ``the_geom`` of a GeoJSON source; of a CSV source with latitude and
        longitude columns, ``location`` (the point column of a Socrata dataset such as Chicago's crimes, which
        exports drop) and any column whose every value is a ``(lat, lon)`` pair."""
        if self.geoms:
            return {"the_geom"}
        if not {"latitude", "longitude"} <= set(self.types):
            return set()
        if self._points is None:
            self._points = {"location"} | {name for c, name in enumerate(self.columns) if self.types[name] == "text"
                            and (vals := [r[c] for r in self.rows if r[c]])
                            and all(_POINT_TEXT.fullmatch(v) for v in vals)}
        return self._points

    def _predicate(self, field: str, op: str, literal: str):
        value = self._getter(field)
        ftype = "floating_timestamp" if field == ":updated_at" else ("number" if field == ":id" else self.types[field])
        if literal.startswith("'"):
            literal = literal[1:-1].replace("''", "'")
        if ftype == "number":
            try:
                target: Any = float(literal) if field != ":id" else self.ids.index(literal)
            except ValueError:
                raise _soda_error(400, f"{field} is a number, {literal!r} is not") from None
        elif ftype == "floating_timestamp" and re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?", literal):
            target = literal + ("T00:00:00.000" if len(literal) == 10 else ".000")
        else:
            target = literal
        compare = {">": lambda a: a > target, ">=": lambda a: a >= target, "<": lambda a: a < target,
                   "<=": lambda a: a <= target, "=": lambda a: a == target, "!=": lambda a: a != target}[op]
        return lambda i: (v := value(i)) is not None and compare(v)

    # -- changes while serving --

    def _next_stamp(self) -> str:
        """A floating timestamp newer than every row's :updated_at (now, or the newest + 1 s)."""
        newest = max(self.updated, default=FIXED_UPDATED_AT)
        stamp = datetime.now().strftime("%Y-%m-%dT%H:%M:%S.000")
        if stamp <= newest:
            base = datetime.strptime(newest[:19], "%Y-%m-%dT%H:%M:%S")
            stamp = (base + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000")
        return stamp

    def _cells(self, values: dict) -> dict[int, str]:
        unknown = [k for k in values if k not in self.types]
        if unknown:
            raise ValueError(f"no such field(s) {unknown}; fields are {self.columns}")
        return {self.columns.index(k): _source_text(_iso(v) if isinstance(v, str) else v)
                for k, v in values.items()}

    def _touched(self, i: int, stamp: str) -> None:
        self.updated[i] = stamp
        if "updated_on" in self.types:
            self.rows[i][self.columns.index("updated_on")] = stamp
        self._json[True][i] = self._json[False][i] = None
        self._csv_rows[True][i] = self._csv_rows[False][i] = None

    def append(self, rows: list[dict]) -> list[str]:
        with self._lock:
            stamp = self._next_stamp()
            cells = [self._cells(r) for r in rows]
            new_ids = []
            for cell in cells:
                i = len(self.rows)
                self.rows.append([cell.get(c, "") for c in range(len(self.columns))])
                self.ids.append(f"row-{i + 1:08d}")
                self.updated.append(stamp)
                self._json[True].append(None)
                self._json[False].append(None)
                self._csv_rows[True].append(None)
                self._csv_rows[False].append(None)
                if self.geoms is not None:
                    self.geoms.append(None)
                self._touched(i, stamp)
                new_ids.append(self.ids[i])
            self._orders.clear()
            self._forget()
            return new_ids

    def update(self, updates: dict[str, dict], key: str) -> list[str]:
        with self._lock:
            if key == ":id":
                where = {rid: i for i, rid in enumerate(self.ids)}
            elif key in self.types:
                col = self.columns.index(key)
                where = {r[col]: i for i, r in enumerate(self.rows)}
            else:
                raise ValueError(f"no such key field {key!r}")
            missing = [k for k in updates if str(k) not in where]
            if missing:
                raise KeyError(f"no row with {key} in {missing}")
            stamp = self._next_stamp()
            touched = []
            for source_id, values in updates.items():
                i = where[str(source_id)]
                for c, v in self._cells(values).items():
                    self.rows[i][c] = v
                self._touched(i, stamp)
                touched.append(self.ids[i])
            self._orders.clear()
            self._forget()
            return touched

    # -- rendering --

    def _row_obj(self, i: int, system: bool, with_geometry: bool = True) -> dict:
        obj: dict[str, Any] = {":id": self.ids[i], ":updated_at": self.updated[i]} if system else {}
        for c, v in zip(self.columns, self.rows[i]):
            if v:
                obj[c] = (v == "true") if self.types[c] == "checkbox" and v in ("true", "false") else v
        if with_geometry and self.geoms and self.geoms[i]:
            obj["the_geom"] = self.geoms[i]
        return obj

    def _row_json(self, i: int, system: bool) -> str:
        cache = self._json[system]
        if cache[i] is None:
            cache[i] = json.dumps(self._row_obj(i, system), separators=(",", ":"), ensure_ascii=False)
        return cache[i]

    def _csv(self, index: list[int], system: bool, fields: list[str]) -> str:
        """The CSV answer; each row is rendered once (``csv.writer``, ``\\n`` line ends) and kept."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(fields)
        cache = self._csv_rows[system]
        parts = [out.getvalue()]
        for i in index:
            line = cache[i]
            if line is None:
                out.seek(0)
                out.truncate()
                row = [self.ids[i], self.updated[i]] if system else []
                row += self.rows[i]
                if self.geoms:
                    row.append(_wkt(self.geoms[i]) if self.geoms[i] else "")
                writer.writerow(row)
                line = cache[i] = out.getvalue()
            parts.append(line)
        return "".join(parts)

    def _geometry(self, i: int) -> dict | None:
        if self.geoms:
            return self.geoms[i]
        if "latitude" in self.types and "longitude" in self.types:
            row = self.rows[i]
            lat, lon = row[self.columns.index("latitude")], row[self.columns.index("longitude")]
            if lat and lon:
                return {"type": "Point", "coordinates": [float(lon), float(lat)]}
        return None


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _int_param(q: dict, name: str, default: int) -> int:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise _soda_error(400, f"{name} must be a non-negative integer, got {raw!r}")
    return int(raw)


def _wkt(geometry: dict) -> str:
    """GeoJSON geometry -> WKT (as Socrata CSV exports write geometry columns)."""
    def pt(p): return f"{p[0]} {p[1]}"
    def seq(s): return "(" + ", ".join(map(pt, s)) + ")"
    def poly(p): return "(" + ", ".join(map(seq, p)) + ")"
    t, c = geometry["type"], geometry.get("coordinates")
    body = {"Point": lambda: f"({pt(c)})", "LineString": lambda: seq(c), "Polygon": lambda: poly(c),
            "MultiPoint": lambda: "(" + ", ".join(f"({pt(p)})" for p in c) + ")",
            "MultiLineString": lambda: "(" + ", ".join(map(seq, c)) + ")",
            "MultiPolygon": lambda: "(" + ", ".join(map(poly, c)) + ")"}[t]()
    return f"{t.upper()} {body}"


# --- ArcGIS ----------------------------------------------------------------------------------------

_ESRI_GEOMETRY = {"Point": "esriGeometryPoint", "MultiPoint": "esriGeometryMultipoint",
                  "LineString": "esriGeometryPolyline", "MultiLineString": "esriGeometryPolyline",
                  "Polygon": "esriGeometryPolygon", "MultiPolygon": "esriGeometryPolygon"}


class _ArcgisLayer:
    """A GeoJSON source as FeatureServer layer 0; OBJECTID is the 1-based feature index."""

    OID = "OBJECTID"

    def __init__(self, features: list[dict], max_records: int, name: str):
        self.features, self.max_records, self.name = features, max_records, name
        self.fields = list(dict.fromkeys(k for f in features for k in (f.get("properties") or {}) if k != self.OID))

    @classmethod
    def load(cls, path: Path, max_records: int, name: str) -> "_ArcgisLayer":
        return cls(_load_features(path), max_records, name)

    def info(self, q: dict) -> Reply:
        gtype = next((f["geometry"]["type"] for f in self.features if f.get("geometry")), "Point")
        fields = [{"name": self.OID, "type": "esriFieldTypeOID", "alias": self.OID}] + [
            {"name": k, "type": self._field_type(k), "alias": k} for k in self.fields]
        return Reply(200, {
            "currentVersion": 10.91, "id": 0, "name": self.name, "type": "Feature Layer",
            "geometryType": _ESRI_GEOMETRY.get(gtype, "esriGeometryPoint"), "objectIdField": self.OID,
            "maxRecordCount": self.max_records, "supportsPagination": True,
            "advancedQueryCapabilities": {"supportsPagination": True, "supportsOrderBy": True},
            "fields": fields})

    def _field_type(self, key: str) -> str:
        sample = next((f["properties"][key] for f in self.features
                       if (f.get("properties") or {}).get(key) is not None), None)
        if isinstance(sample, bool) or not isinstance(sample, (int, float)):
            return "esriFieldTypeString"
        return "esriFieldTypeInteger" if isinstance(sample, int) else "esriFieldTypeDouble"

    def query(self, q: dict) -> Reply:
        where = q.get("where", "1=1").replace(" ", "")
        if where not in ("", "1=1"):
            raise _arcgis_error(400, f"the replay portal supports only where=1=1 (got {q['where']!r})")
        oids = list(range(1, len(self.features) + 1))
        if q.get("objectIds"):
            try:
                wanted = {int(x) for x in q["objectIds"].split(",") if x.strip()}
            except ValueError:
                raise _arcgis_error(400, "objectIds must be integers") from None
            oids = [o for o in oids if o in wanted]
        oids = self._order(oids, q.get("orderByFields", ""))
        if q.get("returnIdsOnly", "").lower() == "true":
            return Reply(200, {"objectIdFieldName": self.OID, "objectIds": oids})
        if q.get("f", "json") != "geojson":
            raise _arcgis_error(400, "the replay portal answers queries with f=geojson only")
        offset = int(q.get("resultOffset") or 0)
        count = min(int(q.get("resultRecordCount") or self.max_records), self.max_records)
        page = oids[offset:offset + count]
        out_fields = q.get("outFields", "*")
        keep = None if out_fields.strip() in ("*", "") else {f.strip() for f in out_fields.split(",")}
        body: dict[str, Any] = {"type": "FeatureCollection", "features": [self._feature(o, keep) for o in page]}
        if offset + len(page) < len(oids):
            body["properties"] = {"exceededTransferLimit": True}
        return Reply(200, body, "application/geo+json; charset=utf-8")

    def _order(self, oids: list[int], spec: str) -> list[int]:
        for term in reversed([t.strip() for t in spec.split(",") if t.strip()]):
            name, _, direction = term.partition(" ")
            if name != self.OID and name not in self.fields:
                raise _arcgis_error(400, f"orderByFields: no field {name!r}")
            def key(o, name=name):
                v = o if name == self.OID else (self.features[o - 1].get("properties") or {}).get(name)
                return (v is None, str(v) if not isinstance(v, (int, float)) else v)
            oids = sorted(oids, key=key, reverse=direction.strip().upper() == "DESC")
        return oids

    def _feature(self, oid: int, keep: set | None) -> dict:
        f = self.features[oid - 1]
        props = {k: v for k, v in (f.get("properties") or {}).items() if keep is None or k in keep}
        props[self.OID] = oid
        return {"type": "Feature", "id": oid, "geometry": f.get("geometry"), "properties": props}


# --- CKAN ------------------------------------------------------------------------------------------

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

    def search(self, q: dict, base_url: str, after_id_supported: bool) -> Reply:
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
                  "offset": offset, "total": len(index),
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
        return package.search(q, base_url, portal.ckan_after_id)
    raise _ckan_error(400, "Bad Request", f"Bad request - Action name not known: {action}")


# --- the built-in handlers, one per protocol ---------------------------------------------------------

class SocrataReplay(ReplayHandler):
    """Socrata SODA: ``/resource/<id>.json|.csv|.geojson`` from a CSV or GeoJSON export."""

    protocol = "socrata"
    _PATH = re.compile(r"/resource/([^/.]+)(?:\.(json|csv|geojson))?")

    def load(self, portal: ReplayPortal, route: Route) -> "_SodaTable":
        table = _SodaTable.load(*portal.source(route))
        table.cache_bytes = portal.cache_bytes
        return table

    def answer(self, portal: ReplayPortal, request: ReplayRequest) -> Reply | None:
        m = self._PATH.fullmatch(request.path)
        if not m:
            return None
        table = portal.table(self.protocol, m.group(1))
        if table is None:
            raise _soda_error(404, f"Dataset {m.group(1)} not found", "not_found")
        return table.query(m.group(2) or "json", request.query)

    def endpoint(self, *, dataset_id: str, fmt: str) -> str:
        return f"/resource/{dataset_id}.{fmt}"


class ArcgisReplay(ReplayHandler):
    """ArcGIS FeatureServer layer 0 (``?f=json`` info and ``/query``) from a GeoJSON export."""

    protocol = "arcgis"
    _PATH = re.compile(r"/arcgis/rest/services/([^/]+)/FeatureServer/(\d+)(/query)?/?")

    def route(self, *, dataset_id: str, path: str, options: Any = None) -> Route:
        return Route(self.protocol, dataset_id, path, max_records=getattr(options, "replay_max_records", None))

    def load(self, portal: ReplayPortal, route: Route) -> "_ArcgisLayer":
        return _ArcgisLayer.load(portal.source(route)[0], route.max_records or 1000, route.dataset_id)

    def answer(self, portal: ReplayPortal, request: ReplayRequest) -> Reply | None:
        m = self._PATH.fullmatch(request.path)
        if not m:
            return None
        layer = portal.table(self.protocol, m.group(1)) if m.group(2) == "0" else None
        if layer is None:
            raise Reply(404, {"error": True, "message": f"Service {m.group(1)} layer {m.group(2)} not found"})
        return layer.query(request.query) if m.group(3) else layer.info(request.query)

    def endpoint(self, *, dataset_id: str, fmt: str) -> str:
        return f"/arcgis/rest/services/{dataset_id}/FeatureServer/0/query"


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


BUILTIN_HANDLERS = tuple(register_handler(h).protocol for h in (SocrataReplay(), ArcgisReplay(), CkanReplay()))
