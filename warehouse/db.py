"""Opening the warehouse: a DuckDB file with the spatial extension loaded and the schema in place."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

__all__ = ["MEMORY_LIMIT_ENV", "connect", "ensure_schema", "load_spatial", "spatial_extension_path"]

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


def connect(path: str | Path = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) the warehouse at ``path`` with spatial loaded.

    A writable connection also gets the schema (``ensure_schema``); a read-only one does not
    (it cannot write) and expects a warehouse that was built before.
    """
    path = str(path)
    if path != ":memory:" and not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = {}
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if limit:
        config["memory_limit"] = limit
    try:
        con = duckdb.connect(path, read_only=read_only, config=config)
    except duckdb.Error as exc:
        if limit and "memory" in str(exc).lower():
            raise ValueError(f"{MEMORY_LIMIT_ENV}={limit!r} is not a DuckDB memory size (e.g. 256MB, 2GB): {exc}") from None
        raise
    con.execute("SET enable_progress_bar = false")   # stdout carries the CLI's answers (--format json/csv)
    load_spatial(con)
    if not read_only:
        ensure_schema(con)
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every canonical table (if missing) with its comments. Safe to call repeatedly."""
    from .schema import apply_schema

    apply_schema(con)


def _quote_path(path: Path) -> str:
    return str(path).replace("'", "''")
