"""Export a warehouse table or view to a file: CSV, Parquet, GeoJSON or GeoParquet.

The warehouse is opened **read-only**; ``name`` must be a table or view of the warehouse's catalog
(looked up in ``duckdb_tables()`` / ``duckdb_views()``, then quoted), so nothing but a catalog name
reaches the SQL. Geometry columns are written as:

- ``csv``: WKT text (``POINT (-87.6 41.8)``);
- ``parquet``: WKB bytes (BLOB), plain Parquet without GeoParquet metadata;
- ``geojson``: a FeatureCollection; the first geometry column is the feature geometry (``ST_AsGeoJSON``),
  every other column a property (other geometry columns as WKT);
- ``geoparquet``: GEOMETRY kept, which DuckDB's spatial extension writes as WKB with GeoParquet 1.0
  ``geo`` metadata (coordinates are WGS84 longitude/latitude);
- ``hsds`` (``services`` only): an Open Referral HSDS tabular package in the directory ``out_path``
  (:mod:`warehouse.hsds`); the path of its ``datapackage.json`` is returned.

``city`` keeps the rows of one city (the relation must have a ``city`` column).
"""

from __future__ import annotations

from pathlib import Path

from . import _sqlexpr as X
from .db import connect

__all__ = ["FORMATS", "export", "exportable_names"]

FORMATS = ("csv", "parquet", "geojson", "geoparquet", "hsds")


def exportable_names(con) -> list[str]:
    """Tables and views of the main schema (not DuckDB's internal ones, not temporary staging tables)."""
    rows = con.execute("""SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary
                              AND database_name = current_database()
                          UNION SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal
                              AND NOT temporary AND database_name = current_database()
                          ORDER BY 1""").fetchall()
    return [r[0] for r in rows]


def export(db_path: str | Path, name: str, *, fmt: str, out_path: str | Path, city: str | None = None) -> Path:
    """Write table/view ``name`` of the warehouse at ``db_path`` to ``out_path`` in ``fmt``; returns the path.

    Raises ``ValueError`` for an unknown format, a name that is not a table or view of the warehouse,
    a ``city`` filter on a relation without a city column, or geojson/geoparquet of a relation without
    a geometry column.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if fmt == "hsds":  # a directory (one CSV per HSDS resource + datapackage.json): warehouse/hsds.py
        if name != "services":
            raise ValueError(f"fmt='hsds' exports the services table, not {name!r}")
        from .hsds import export_hsds

        return export_hsds(db_path, out_dir=out_path, city=city)[0]
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = connect(db_path, read_only=True)
    try:
        names = exportable_names(con)
        if name not in names:
            raise ValueError(f"{name!r} is not a table or view of {db_path} (known: {', '.join(names)})")
        cols = con.execute(f"DESCRIBE SELECT * FROM {X.ident(name)}").fetchall()
        types = {c[0]: c[1] for c in cols}
        geoms = [c for c, t in types.items() if t == "GEOMETRY"]
        where = ""
        if city is not None:
            if "city" not in types:
                raise ValueError(f"{name!r} has no city column; export it without city=")
            where = f" WHERE city = {X.lit(city)}"
        if fmt in ("geojson", "geoparquet") and not geoms:
            raise ValueError(f"{name!r} has no geometry column: use csv or parquet")
        rel = f"SELECT * FROM {X.ident(name)}{where}"

        if fmt == "geojson":
            _write_geojson(con, rel=rel, columns=list(types), geom=geoms[0], other_geoms=geoms[1:], out=out)
            return out
        if fmt == "geoparquet":
            select = rel
            options = "FORMAT parquet"
        else:
            conv = "ST_AsText" if fmt == "csv" else "ST_AsWKB"
            select = "SELECT " + ", ".join(
                f"{conv}({X.ident(c)}) AS {X.ident(c)}" if c in geoms else X.ident(c) for c in types
            ) + f" FROM ({rel})"
            options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet"
        con.execute(f"COPY ({select}) TO {X.lit(str(out))} ({options})")
        return out
    finally:
        con.close()


def _write_geojson(con, *, rel: str, columns: list[str], geom: str, other_geoms: list[str], out: Path) -> None:
    props = [c for c in columns if c != geom]
    packed = ", ".join(f"{X.lit(c)}: " + (f"ST_AsText({X.ident(c)})" if c in other_geoms else X.ident(c))
                       for c in props)
    sql = (f"SELECT CAST(ST_AsGeoJSON({X.ident(geom)}) AS VARCHAR), "
           f"CAST(to_json({{{packed}}}) AS VARCHAR) FROM ({rel})") if props else \
          f"SELECT CAST(ST_AsGeoJSON({X.ident(geom)}) AS VARCHAR), '{{}}' FROM ({rel})"
    cur = con.execute(sql)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write('{"type": "FeatureCollection", "features": [\n')
        first = True
        while True:
            batch = cur.fetchmany(10_000)
            if not batch:
                break
            for g, p in batch:
                if not first:
                    fh.write(",\n")
                first = False
                fh.write('{"type": "Feature", "geometry": ' + (g if g is not None else "null")
                         + ', "properties": ' + p + "}")
        fh.write("\n]}\n")
