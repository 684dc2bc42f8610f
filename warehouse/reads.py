"""Warehouse reads shared by the engines and the pages (always parameterised by city)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np

from .db import load_spatial
from ._sqlexpr import preferred_kind  # noqa: F401 - readers' home of it (civicmash.api, maps)
from .schema import not_fixture


def ensure_spatial(con) -> None:
    """Load DuckDB spatial if needed (warehouse.db.connect normally did already)."""
    loaded = con.execute(
        "SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'spatial' AND loaded"
    ).fetchone()[0]
    if not loaded:
        load_spatial(con)


def has_table(con, table: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0]
    )


def incidents_relation(con) -> str:
    """``incidents_current`` (the warehouse view: current versions, format fixtures left out) when it
    exists, else the plain ``incidents`` table (a bare test database)."""
    return "incidents_current" if has_table(con, "incidents_current") else "incidents"


def columns(con, table: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
    return {r[0] for r in rows}


def fixture_filter(con, alias: str) -> str:
    """``AND <condition> `` leaving out the rows of ``alias`` that come from format-fixture datasets, or ``""`` on
    a bare database without the catalogue's ``role`` column."""
    if has_table(con, "datasets") and "role" in columns(con, "datasets"):
        return f"AND {not_fixture(alias)} "
    return ""


def vintage_filter(con, alias: str) -> str:
    """``AND <condition> `` keeping the boundaries rows of ``alias`` that belong to the latest vintage of their kind
    (:func:`warehouse.enrich.latest_vintage`), or ``""`` on a warehouse without vintages (no ``valid_from``)."""
    from .enrich import latest_vintage

    if has_table(con, "boundaries") and "valid_from" in columns(con, "boundaries") and fixture_filter(con, alias):
        return f"AND {latest_vintage(alias)} "
    return ""


def boundary_kinds(con, *, city: str) -> list[str]:
    """The boundary kinds ``city`` has polygons of (format fixtures left out), sorted."""
    if not has_table(con, "boundaries"):
        return []
    return [r[0] for r in con.execute(
        f"SELECT DISTINCT kind FROM boundaries b WHERE city = ? AND geom IS NOT NULL {fixture_filter(con, 'b')}"
        "ORDER BY kind", [city]).fetchall()]


def sources_for(con, city: str, sources, tables: tuple[str, ...]) -> list[dict]:
    """Attribution rows: the caller's ``sources`` or the ``datasets`` catalogue for ``tables``."""
    if sources is not None:
        return [dict(s) for s in sources]
    if not tables or not has_table(con, "datasets"):   # no table drawn: nothing to credit (and no ``IN ()``)
        return []
    marks = ", ".join("?" for _ in tables)
    # datasets marked as format fixtures (role) are loaded but never drawn, so they are not credited
    fixtures = "AND coalesce(role, 'data') <> 'fixture' " if "role" in columns(con, "datasets") else ""
    rows = con.execute(
        "SELECT dataset, portal_url, licence, fetched_at FROM datasets "
        f"WHERE city = ? AND table_name IN ({marks}) {fixtures}ORDER BY dataset",
        [city, *tables],
    ).fetchall()
    return [dict(zip(("dataset", "portal_url", "licence", "fetched_at"), r)) for r in rows]


def round_coords(obj, nd: int = 5):
    if isinstance(obj, list):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(c), nd) for c in obj]
        return [round_coords(o, nd) for o in obj]
    return obj


def boundaries_geojson(con, *, city: str, kind: str | None = None, tolerance: float = 0.0002,
                       primary: str | None = None) -> dict:
    """Simplified boundary polygons of one kind as a GeoJSON FeatureCollection (``kind``, else
    :func:`preferred_kind` with the city's ``primary`` kind)."""
    empty = {"type": "FeatureCollection", "features": [], "kind": None}
    kinds = boundary_kinds(con, city=city)
    if not kinds:
        return empty
    kind = kind or preferred_kind(kinds, primary=primary)
    # datasets marked as format fixtures (role) repeat real boundaries; they are never drawn
    fixtures = fixture_filter(con, "boundaries")
    fixtures += vintage_filter(con, "boundaries")   # a redrawn kind: the latest map (boundaries.valid_from)
    ensure_spatial(con)
    rows = con.execute(
        "SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, ?)) FROM boundaries "
        f"WHERE city = ? AND kind = ? AND geom IS NOT NULL {fixtures}ORDER BY code",
        [tolerance, city, kind],
    ).fetchall()
    feats = []
    for code, name, gj in rows:
        if not gj:
            continue
        geom = json.loads(gj)
        geom["coordinates"] = round_coords(geom.get("coordinates", []))
        feats.append({"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geom})
    return {"type": "FeatureCollection", "features": feats, "kind": kind}


def incident_window(con, *, city: str, options: dict) -> tuple[datetime, datetime]:
    """[start, end) window: ``options['start']/['end']`` or the last ``days`` (90)
    days ending at the day of the latest incident."""
    latest = con.execute(f"SELECT max(occurred_at) FROM {incidents_relation(con)} WHERE city = ?",
                         [city]).fetchone()[0]
    latest = latest or datetime(1970, 1, 1)
    end = options.get("end")
    end = _as_datetime(end) if end else datetime(latest.year, latest.month, latest.day) + timedelta(days=1)
    start = options.get("start")
    start = _as_datetime(start) if start else end - timedelta(days=int(options.get("days", 90)))
    return start, end


def _as_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def point_rows(con, *, table: str, city: str, cols: tuple[str, ...], where: str = "", params=(),
               limit: int | None = None) -> list[tuple]:
    """Rows of ``table`` for ``city`` that have coordinates.

    ``table``, ``cols`` and ``where`` are trusted code (never data); values go in ``params``.
    """
    sql = (
        f"SELECT {', '.join(cols)}, lat, lon FROM {table} WHERE city = ? "
        f"AND lat IS NOT NULL AND lon IS NOT NULL {where} ORDER BY lat, lon"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return con.execute(sql, [city, *params]).fetchall()


def fetch_columns(con, sql: str, params: list) -> dict[str, np.ndarray]:
    """Run parameterised ``sql``; floats get NaN for NULL, other types get None."""
    out = {}
    for name, arr in con.execute(sql, params).fetchnumpy().items():
        if np.ma.isMaskedArray(arr):
            if arr.dtype.kind == "f":
                arr = arr.filled(np.nan)
            elif arr.mask is np.ma.nomask or not arr.mask.any():
                arr = arr.data
            else:
                obj = arr.data.astype(object)
                obj[arr.mask] = None
                arr = obj
        out[name] = np.asarray(arr)
    return out
