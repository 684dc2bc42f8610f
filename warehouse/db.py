"""Opening the warehouse: a DuckDB file with the spatial extension loaded and the schema in place."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

__all__ = ["LOCK_WAIT_ENV", "MEMORY_LIMIT_ENV", "WarehouseBusy", "connect", "ensure_schema", "keep_open",
           "load_spatial", "spatial_extension_path"]

LOCK_WAIT_ENV = "CIVICMASH_LOCK_WAIT"
"""Environment variable: seconds a connection waits for a warehouse file another process holds (DuckDB lets one
process write a file, or several read it) before :class:`WarehouseBusy` (default 10)."""
_LOCK_POLL_S = 0.2
_HOLDER = re.compile(r"PID (\d+)")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file (a run writing it, or readers while this one would write)."""

MEMORY_LIMIT_ENV = "CIVICMASH_DUCKDB_MEMORY_LIMIT"
"""Environment variable: DuckDB's ``memory_limit`` for every warehouse connection (e.g. ``256MB``; default:
DuckDB's own, 80 % of RAM). DuckDB keeps loaded table blocks cached up to this limit, so without it the peak
memory of a load grows with the data even though the connectors stream page by page."""


def spatial_extension_path() -> Path | None:
    """The spatial extension shipped in the pinned ``duckdb-extension-spatial`` wheel, if installed."""
    try:
        import duckdb_extension_spatial
    except ImportError:
        return None
    base = Path(duckdb_extension_spatial.__file__).resolve().parent / "extensions"
    exact = base / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if exact.exists():
        return exact
    found = sorted(base.glob("v*/spatial.duckdb_extension"))
    return found[-1] if found else None


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """LOAD spatial from the wheel; fall back to INSTALL/LOAD from the extension repository."""
    path = spatial_extension_path()
    if path is not None:
        con.execute(f"LOAD '{_quote_path(path)}'")
        return
    con.execute("INSTALL spatial")
    con.execute("LOAD spatial")


def connect(path: str | Path = ":memory:", *, read_only: bool = False,
            spatial: bool = True) -> duckdb.DuckDBPyConnection:
    """Open (or create) the warehouse at ``path`` with spatial loaded.

    A writable connection also gets the schema (``ensure_schema``); a read-only one does not
    (it cannot write) and expects a warehouse that was built before. ``spatial=False``: without the spatial
    extension (loading it costs a few tenths of a second a connection), for bookkeeping that calls no ``ST_``
    function: GEOMETRY columns are a core type and read fine, the spatial views do not bind.
    """
    path = str(path)
    if path != ":memory:":
        kept = _kept_cursor(path)
        if kept is not None:   # inside keep_open(path): the open instance, spatial and schema already there
            return kept
    if path != ":memory:" and not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = {}
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if limit:
        config["memory_limit"] = limit
    try:
        con = _connect_when_free(path, read_only=read_only, config=config)
    except duckdb.Error as exc:
        if limit and "memory" in str(exc).lower():
            raise ValueError(f"{MEMORY_LIMIT_ENV}={limit!r} is not a DuckDB memory size (e.g. 256MB, 2GB): {exc}") from None
        raise
    try:
        con.execute("SET enable_progress_bar = false")   # stdout carries the CLI's answers (--format json/csv)
    except duckdb.InvalidInputException as exc:
        # the file is already open in this process by a locked-down read-only query (warehouse/sql.py), whose
        # configuration DuckDB shares with every connection to the file until it closes: nothing to set then
        if "configuration has been locked" not in str(exc):
            raise
    if spatial:
        load_spatial(con)
    if not read_only:
        ensure_schema(con)
    return con


# ---- one open warehouse for a whole run --------------------------------------------------------------------------

_KEPT: dict[str, duckdb.DuckDBPyConnection] = {}
_KEPT_LOCK = threading.Lock()


def _kept_key(path: str | Path) -> str:
    return os.path.realpath(str(path))


def _kept_cursor(path: str) -> duckdb.DuckDBPyConnection | None:
    with _KEPT_LOCK:
        keeper = _KEPT.get(_kept_key(path)) if _KEPT else None
        if keeper is None:
            return None
        cursor = keeper.cursor()   # a new connection to the same database instance (safe in another thread)
    cursor.execute("SET enable_progress_bar = false")
    return cursor


@contextlib.contextmanager
def keep_open(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Hold the warehouse at ``path`` open for the block (a pipeline run): every :func:`connect` to the same file
    in this process, read-only or not, with or without spatial, gets a new connection to this one open database
    (``cursor()``) instead of opening the file again. Opening it again loaded the spatial extension and checked the
    schema each time, 0.3-0.8 s a connection and ~25 connections in a run of a small city; here both happen once.
    The file stays locked for writing by this process for the whole block (DuckDB lets one process write a file),
    so another process's reader waits for the run (:data:`LOCK_WAIT_ENV`) rather than slipping in between two
    steps. Nested blocks on the same file share the outer one."""
    key = _kept_key(path)
    with _KEPT_LOCK:
        nested = key in _KEPT
    if nested:
        yield _KEPT[key]
        return
    keeper = connect(path)
    with _KEPT_LOCK:
        _KEPT[key] = keeper
    try:
        yield keeper
    finally:
        with _KEPT_LOCK:
            _KEPT.pop(key, None)
        keeper.close()


def _connect_when_free(path: str, *, read_only: bool, config: dict) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, retried while another process holds the file's lock (up to ``CIVICMASH_LOCK_WAIT``
    seconds), then :class:`WarehouseBusy` naming the file and the holder's pid."""
    try:
        wait = float(os.environ.get(LOCK_WAIT_ENV, "") or 10.0)
    except ValueError:
        raise ValueError(f"{LOCK_WAIT_ENV} must be a number of seconds, not {os.environ[LOCK_WAIT_ENV]!r}") from None
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                holder = _HOLDER.search(str(exc))
                who = f"process {holder.group(1)}" if holder else "another process"
                raise WarehouseBusy(f"the warehouse {path} is in use by {who} (a run writing it, or a reader while "
                                    f"this would write); waited {wait:g} s ({LOCK_WAIT_ENV} sets how long)") from None
            time.sleep(_LOCK_POLL_S)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every canonical table (if missing) with its comments. Safe to call repeatedly."""
    from .schema import apply_schema

    apply_schema(con)


def _quote_path(path: Path) -> str:
    return str(path).replace("'", "''")
