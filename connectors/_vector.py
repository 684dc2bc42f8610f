"""Binary vector and columnar files through DuckDB (spatial/GDAL and Parquet readers): shapefile (zip),
GeoPackage and (Geo)Parquet.

Each is read in batches of ``page_size`` rows into columnar pages (``Page.table``: every column text, null
for a missing value) so memory does not grow with the file. Geometry leaves as ``_geometry``, a GeoJSON
string in WGS84 (longitude, latitude), like the GeoJSON reader's; the source CRS goes to
``meta["source_crs"]``. Attribute values are cast to text as DuckDB prints them (numbers without padding,
timestamps ``YYYY-MM-DD HH:MM:SS``), the same way a CSV export would carry them.
"""
from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator

import pyarrow as pa

from ._duckdb import ident as _ident
from ._duckdb import lit as _lit
from ._duckdb import spatial_connection
from .pages import Page, now

VECTOR_FORMATS = ("shapefile", "geopackage", "parquet")
_WGS84 = ("EPSG:4326", "WGS84", "OGC:CRS84", "CRS84")


class VectorFileError(ValueError):
    """A vector file that cannot be read as the profile describes it (names the dataset and the fix)."""


def vector_pages(path: Path, *, fmt: str, options: dict, page_size: int, name: str, url: str) -> Iterator[Page]:
    """Pages of one shapefile zip, GeoPackage layer or Parquet file (see the module doc).

    ``options``: ``layer`` (which .shp member of a zip, or which GeoPackage table, when there are several),
    ``crs`` (the source CRS when the file does not say, e.g. a shapefile without ``.prj``; it overrides
    nothing a file does state: a clash raises), ``geometry`` (Parquet: the WKB/GEOMETRY column, default
    ``geometry`` when present).
    """
    if fmt not in VECTOR_FORMATS:
        raise ValueError(f"vector format must be one of {', '.join(VECTOR_FORMATS)}, got {fmt!r}")
    con = spatial_connection()
    try:
        if fmt == "parquet":
            relation, meta = _parquet(con, path, options, name)
        else:
            relation, meta = _gdal(con, path, fmt, options, name)
        meta.update(format=fmt, source=url)
        reader = con.execute(relation).to_arrow_reader(page_size)
        number, fetched_at = 1, now()
        for batch in reader:
            yield Page(number, [], url, fetched_at, dict(meta), table=pa.Table.from_batches([batch]))
            number += 1
        if number == 1:   # an empty file still gives page 1 (it carries the meta)
            yield Page(1, [], url, fetched_at, dict(meta), table=pa.table({}))
    finally:
        con.close()


def _gdal(con, path: Path, fmt: str, options: dict, name: str) -> tuple[str, dict]:
    source, layer = _gdal_source(path, fmt, options, name)
    layers = con.execute("SELECT layers FROM ST_Read_Meta(?)", [source]).fetchone()[0]
    names = [entry["name"] for entry in layers]
    if layer is None:
        if len(names) != 1:
            raise VectorFileError(f"dataset {name}: {path.name} has layers {', '.join(names)}; "
                                  f"choose one with options.layer")
        layer = names[0]
    elif layer not in names:
        raise VectorFileError(f"dataset {name}: no layer {layer!r} in {path.name} (layers: {', '.join(names)})")
    info = next(e for e in layers if e["name"] == layer)
    fields = info.get("geometry_fields") or []
    stated = _auth(fields[0].get("crs")) if fields else None
    crs = _crs(stated, options.get("crs"), name, path.name)
    columns = [d[0] for d in con.execute(
        f"DESCRIBE SELECT * FROM ST_Read({_lit(source)}, layer := {_lit(layer)})").fetchall()]
    geom = next((c for c in columns if c in ("geom", "geometry")), None)
    select = _select(columns, geom, crs)
    meta = {"layer": layer, "layers": names, "source_crs": crs, "rows": int(info.get("feature_count") or 0)}
    return f"SELECT {select} FROM ST_Read({_lit(source)}, layer := {_lit(layer)})", meta


def _gdal_source(path: Path, fmt: str, options: dict, name: str) -> tuple[str, str | None]:
    """The GDAL path to read and the layer asked for. A shapefile comes zipped (``/vsizip/``) or as a .shp."""
    layer = options.get("layer")
    if fmt == "shapefile" and path.suffix.lower() == ".shp":
        _check_sidecars(path, name)
        return str(path), layer
    if fmt == "geopackage":
        return str(path), layer
    if not zipfile.is_zipfile(path):
        raise VectorFileError(f"dataset {name}: {path.name} is not a zip file (a shapefile comes as a .zip "
                              f"holding .shp, .shx, .dbf and usually .prj)")
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist()
                   if m.lower().endswith(".shp") and not PurePosixPath(m).name.startswith(("._", "__MACOSX"))
                   and "__MACOSX/" not in m]
    if not members:
        raise VectorFileError(f"dataset {name}: no .shp inside {path.name}")
    if layer is not None:
        chosen = [m for m in members if PurePosixPath(m).stem == layer or m == layer]
        if not chosen:
            stems = ", ".join(PurePosixPath(m).stem for m in members)
            raise VectorFileError(f"dataset {name}: no shapefile {layer!r} in {path.name} (found: {stems})")
        member = chosen[0]
    elif len(members) > 1:
        stems = ", ".join(PurePosixPath(m).stem for m in members)
        raise VectorFileError(f"dataset {name}: {path.name} holds several shapefiles ({stems}); "
                              f"choose one with options.layer")
    else:
        member = members[0]
    return f"/vsizip/{path}/{member}", PurePosixPath(member).stem


def _check_sidecars(shp: Path, name: str) -> None:
    """A .shp is only readable with its .shx and .dbf beside it (same stem, any case): DuckDB spatial crashes
    the whole process (segmentation fault) on a lone .shp, so one is never handed to it."""
    present = {p.suffix.lower() for p in shp.parent.glob("*") if p.stem.lower() == shp.stem.lower()}
    missing = [s for s in (".shx", ".dbf") if s not in present]
    if missing:
        raise VectorFileError(f"dataset {name}: the shapefile {shp.name} has no {' or '.join(missing)} beside it "
                              f"({', '.join(shp.stem + s for s in missing)} missing in {shp.parent}); a shapefile "
                              f"is read from its .shp, .shx and .dbf together (or from a .zip holding them)")


def _parquet(con, path: Path, options: dict, name: str) -> tuple[str, dict]:
    source = f"read_parquet({_lit(str(path))})"
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    columns = [d[0] for d in described]
    types = {d[0]: str(d[1]) for d in described}
    geom = options.get("geometry") or ("geometry" if "geometry" in columns else None)
    if geom is not None and geom not in columns:
        raise VectorFileError(f"dataset {name}: no geometry column {geom!r} in {path.name} "
                              f"(columns: {', '.join(columns)})")
    stated = _geoparquet_crs(path, geom) if geom else None
    crs = _crs(stated, options.get("crs"), name, path.name) if geom else None
    if geom and not types[geom].startswith("GEOMETRY"):
        columns = [c for c in columns if c != geom]
        geom_expr = f"ST_GeomFromWKB({_ident(geom)})"
        select = _select(columns, None, crs)
        select += f", {_to_geojson(geom_expr, crs)} AS _geometry"
    else:
        select = _select(columns, geom, crs)
    rows = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
    return f"SELECT {select} FROM {source}", {"source_crs": crs, "rows": int(rows)}


def _geoparquet_crs(path: Path, geom: str) -> str | None:
    """The CRS a GeoParquet file states for ``geom`` (its ``geo`` metadata); None when it says nothing.

    GeoParquet's default, when the column has no ``crs`` key, is OGC:CRS84 (longitude, latitude)."""
    import json

    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(b"geo")
    if not raw:
        return None
    column = json.loads(raw).get("columns", {}).get(geom)
    if column is None:
        return None
    if "crs" not in column:
        return "OGC:CRS84"
    crs = column["crs"]
    if crs is None:
        return None
    if isinstance(crs, dict):
        ident = crs.get("id") or {}
        return f"{ident.get('authority')}:{ident.get('code')}" if ident else None
    return str(crs)


def _auth(crs: dict | None) -> str | None:
    if not crs:
        return None
    if crs.get("auth_name") and crs.get("auth_code"):
        return f"{crs['auth_name']}:{crs['auth_code']}"
    return crs.get("wkt") or None


def _crs(stated: str | None, given: str | None, name: str, file: str) -> str:
    """The file's own CRS unless it is missing; a .prj without an authority code (plain WKT) yields to the
    profile's ``crs`` when one is given. Two different authority codes are a clash."""
    if stated and given and ":" in stated and "[" not in stated and _norm(stated) != _norm(given):
        raise VectorFileError(f"dataset {name}: {file} says its CRS is {stated}, the profile says {given}")
    crs = given if (given and stated and "[" in stated) else (stated or given)
    if not crs:
        raise VectorFileError(f"dataset {name}: {file} does not state its coordinate system (no .prj / CRS); "
                              f"set options.crs, e.g. 'EPSG:3435' for Illinois State Plane East feet")
    return crs


def _norm(crs: str) -> str:
    crs = crs.upper().replace(" ", "")
    return "EPSG:4326" if crs in _WGS84 else crs


def _select(columns: list[str], geom: str | None, crs: str | None) -> str:
    parts = [f"CAST({_ident(c)} AS VARCHAR) AS {_ident(c)}" for c in columns if c != geom and c != "OGC_FID"]
    if geom:
        parts.append(f"{_to_geojson(_ident(geom), crs)} AS _geometry")
    return ", ".join(parts) if parts else "1 AS _empty"


def _to_geojson(expr: str, crs: str | None) -> str:
    if crs is None or _norm(crs) == "EPSG:4326":
        return f"ST_AsGeoJSON({expr})"
    return f"ST_AsGeoJSON(ST_Transform({expr}, {_lit(crs)}, 'EPSG:4326', always_xy := true))"


