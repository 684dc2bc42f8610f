"""An in-memory DuckDB with spatial, for the connectors that read vector files (shapefile, GeoPackage, Parquet).

Connectors import nothing of the warehouse (one-way rooms), so this small reader keeps its own quoting and
loads the spatial extension from the pinned ``duckdb-extension-spatial`` wheel (``INSTALL`` cannot download
offline).
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def ident(name: str) -> str:
    """Quote an identifier for DuckDB (any characters)."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def spatial_connection() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection with the spatial extension loaded (from the wheel when installed)."""
    con = duckdb.connect()
    try:
        import duckdb_extension_spatial
    except ImportError:  # pragma: no cover - the wheel is a pinned dependency
        con.execute("INSTALL spatial")
        con.execute("LOAD spatial")
        return con
    base = Path(duckdb_extension_spatial.__file__).resolve().parent / "extensions"
    found = [base / f"v{duckdb.__version__}" / "spatial.duckdb_extension"]
    found = [p for p in found if p.exists()] or sorted(base.glob("v*/spatial.duckdb_extension"))
    con.execute(f"LOAD {lit(str(found[-1]))}")
    return con
