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
import json
import mimetypes
import random
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from civicmash.connectors.pages import features_of

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))   # WKT cells in park exports exceed the 131,072 default

from .faults import FAULT_HELP, FAULT_KINDS  # noqa: E402,F401  (defined there: the CLI reads them alone)

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
                 cache_bytes: int = 256 << 20, count_skew: dict[str, int] | None = None):
        """``faults``: a probability per request, spread evenly over :data:`FAULT_KINDS`, or a rate per
        kind (``{"429": 0.05, "timeout": 0.02}``; kinds left out never happen); ``stall``: seconds a
        ``timeout`` fault keeps the client waiting. ``ckan_sql``: answer ``datastore_search_sql`` (else it is an unknown action, as on CKAN >= 2.9
        with ``ckan.datastore.sqlsearch.enabled = false``); ``ckan_after_id``: honour our ``after_id``
        keyset stand-in on ``datastore_search`` (else it is ignored, as a real CKAN would).
        ``cache_bytes``: per Socrata dataset, the serialised answers kept for repeated identical queries
        (oldest dropped first; 0 turns the answer cache off). ``count_skew``: dataset id -> rows added to the
        count the portal reports for it (Socrata ``$select=count(*)``, ArcGIS ``returnCountOnly``, CKAN
        ``total``) while it serves the rows unchanged: a portal whose count disagrees with its rows, to test
        the count reconciliation."""
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
        self.count_skew = {str(k): int(v) for k, v in (count_skew or {}).items()}
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.injected: dict[str, int] = dict.fromkeys(self.fault_rates, 0)  # faults served so far, per kind
        self._tables: dict[tuple[str, str], tuple[Any, Any]] = {}   # route -> (file stamp, table)
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
        """The loaded, converted source of a route, or None if unknown. Loaded on first use and kept while its
        file is unchanged (same size and modification time): a long-running portal serves an edited file as a
        real portal serves an updated dataset (rows added with :meth:`append_rows` live until then)."""
        route = self.routes.get((protocol, dataset_id))
        if route is None:
            return None
        key = (protocol, dataset_id)
        try:
            stat = self.source(route)[0].stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        with self._load_lock:
            held = self._tables.get(key)
            if held is None or held[0] != stamp:
                held = self._tables[key] = (stamp, _HANDLERS[protocol].load(self, route))
            return held[1]

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

    def _soda(self, dataset_id: str) -> Any:   # a replay_socrata table
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
_BUILTIN: set[str] = set()   # protocols served by devkit's own handler modules (devkit/replay.py registers them)


def register_handler(handler: ReplayHandler, *, replace: bool = False, builtin: bool = False) -> ReplayHandler:
    """Serve ``handler.protocol`` with ``handler`` (a second handler for one protocol needs ``replace``)."""
    if not handler.protocol:
        raise ValueError(f"{type(handler).__name__} has no protocol name")
    known = _HANDLERS.get(handler.protocol)
    if known is not None and known is not handler and not replace:
        raise ValueError(f"protocol {handler.protocol!r} already has a replay handler; pass replace=True")
    _HANDLERS[handler.protocol] = handler
    if builtin:
        _BUILTIN.add(handler.protocol)
    return handler


def unregister_handler(protocol: str) -> None:
    """Stop serving a plugin protocol (the built-in handlers stay)."""
    if protocol in _BUILTIN:
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


class _Handler(BaseHTTPRequestHandler):
    server_version = "civicmash-replay/0.1"

    def log_message(self, *args) -> None:   # quiet: nothing on stderr per request
        pass

    def do_HEAD(self) -> None:
        """As ``GET`` without the body (a file's ``ETag`` and ``Last-Modified`` tell a client its version)."""
        self._head_only = True
        try:
            self.do_GET()
        finally:
            self._head_only = False

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
        if getattr(self, "_head_only", False):
            return
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
    stat = path.stat()   # the version headers a static file server sends (nginx's ETag: mtime-size, in hex)
    return Reply(200, path, ctype, headers={"ETag": f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"',
                                            "Last-Modified": formatdate(stat.st_mtime, usegmt=True)})


def load_features(path: Path) -> list[dict]:
    """The features of a GeoJSON FeatureCollection file the portal serves; a malformed one is an error naming it."""
    with open(path, encoding="utf-8-sig") as fh:
        return features_of(json.load(fh), source=str(path))
