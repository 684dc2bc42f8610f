"""Spatial enrichment of incidents: fill empty areas from the coordinates, flag disagreements.

For each boundary kind present for the city (community_area, beat, district, ward) every incident
point is matched to the polygon(s) it falls in (``ST_Intersects``: a point on a border touches both
areas and gets the smaller code). Where the source left the area empty it is filled and named in
``filled_from_coordinates``; where the stated area differs from the polygon the point falls in, the
column is named in ``area_mismatch`` and the published value is kept.

How the point-in-polygon join is made fast (``assign_areas``): the polygons are cut along a regular
grid (``GRID_DEG[kind]`` degrees: 0.002 for the 77 large community areas, 0.001 for the 277 small beats; a
fine grid is cut from the pieces of a ``COARSE_DEG`` grid, not from the whole polygons, to keep the build short). A
grid cell that lies entirely inside one area (and touches no other) assigns that area to every point in it by
a plain integer join on the cell key (``cx * 2**32 + cy``, computed from the coordinates by arithmetic),
without any geometry. Only points in cells crossed by a border are tested exactly, with ``ST_Intersects``
against the small pieces of the polygons inside that cell, after a bounding-box check of the piece, and with
two savings: (1) when the pieces of a cell cover it (checked with ``ST_Covers`` of their union when the grid is
built), the piece with the largest code is not stored: a point in none of the others must be in it, and a point
on its border with another piece still touches the smaller code, which wins; so a cell that two areas share
tests one piece, not two. A cell with a gap between its areas (or at the edge of the city) keeps all its pieces.
(2) Points at the same location are tested once (many crimes share a geocoded block). The result
is identical to ``ST_Intersects`` against the whole polygons (cells are widened by ``EPS_DEG`` so a point on
a cell edge is still tested against the right pieces).

The grid depends only on the boundaries, so it is built once and stored in the ``enrich_cache`` schema
(``cells``, ``pieces``; outside ``main``, so not part of the catalogue, schema docs or exports), keyed by an
md5 of the boundary codes and geometries, the grid size and ``CACHE_VERSION``. Changed boundaries get a new
key and a rebuilt grid (the stale one of that city and kind is deleted).
"""

from __future__ import annotations

import hashlib

import duckdb

from ._sqlexpr import ident
from .schema import not_fixture

AREA_KINDS = {"community_area": "INTEGER", "beat": "VARCHAR", "district": "INTEGER", "ward": "INTEGER"}
# grid cell size in degrees per kind: coarse for the few large areas, fine for the many small ones
GRID_DEG = {"community_area": 0.002, "beat": 0.001, "district": 0.002, "ward": 0.002}
EPS_DEG = 1e-9       # cells are widened by this much so points on a cell edge are tested in both cells
COARSE_DEG = 0.004   # the grid is built in two levels: polygons cut on this grid, then the pieces on the fine one
CELL_MUL = 4294967296  # cell key = cx * 2**32 + cy (cy fits in 32 bits for any grid >= 1e-4 degrees)
CACHE_SCHEMA = "enrich_cache"   # outside main: not part of the catalogue, the schema docs or exports
CACHE_VERSION = 4    # bump when the tiling changes so stale grids are rebuilt

# code: the area of a point of the cell found in none of the cell's stored pieces (NULL: none); tested: the cell
# has pieces to test its points against (false: every point of the cell is in ``code``, no geometry needed)
_CELL_COLUMNS = {"grid_key": "VARCHAR", "city": "VARCHAR", "kind": "VARCHAR", "cell": "BIGINT", "code": "VARCHAR",
                 "tested": "BOOLEAN"}
_BOUNDS = f"""FROM boundaries b WHERE city = $city AND kind = $kind AND geom IS NOT NULL AND NOT ST_IsEmpty(geom)
               AND {not_fixture('b')}"""


def _grid_key(con: duckdb.DuckDBPyConnection, *, city: str, kind: str, grid: float) -> str:
    """A hash of the boundary set (codes + exact geometry), the grid size and the tiling version."""
    h = con.execute(f"""SELECT md5(coalesce(string_agg(md5(coalesce(code, '')) || md5(ST_AsWKB(geom)), ','
                                                       ORDER BY code, md5(ST_AsWKB(geom))), ''))
                        {_BOUNDS}""", {"city": city, "kind": kind}).fetchone()[0]
    return hashlib.md5(f"{CACHE_VERSION}|{city}|{kind}|{grid!r}|{EPS_DEG!r}|{h}".encode()).hexdigest()


def _ensure_cache(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {CACHE_SCHEMA}")
    cols = [r[0] for r in con.execute("""SELECT column_name FROM information_schema.columns
        WHERE table_schema = $s AND table_name = 'cells' ORDER BY ordinal_position""", {"s": CACHE_SCHEMA}).fetchall()]
    if cols and cols != list(_CELL_COLUMNS):   # a grid stored by an older layout: it is only a cache, rebuild it
        con.execute(f"DROP TABLE {CACHE_SCHEMA}.cells")
        con.execute(f"DROP TABLE IF EXISTS {CACHE_SCHEMA}.pieces")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {CACHE_SCHEMA}.cells (
        {", ".join(f"{c} {t}" for c, t in _CELL_COLUMNS.items())})""")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {CACHE_SCHEMA}.pieces (
        grid_key VARCHAR, city VARCHAR, kind VARCHAR, cell BIGINT, code VARCHAR, piece GEOMETRY,
        x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE)""")


def build_grid(con: duckdb.DuckDBPyConnection, *, city: str, kind: str, grid: float, key: str) -> None:
    """Tile ``city``'s ``kind`` polygons on the grid and store the result under ``key`` (replacing older grids
    of the same city and kind)."""
    _ensure_cache(con)
    typ = AREA_KINDS[kind]  # fixed allow-list, safe to inline
    k = max(1, round(COARSE_DEG / grid))   # the polygons are first cut on a k-times coarser grid
    p = {"city": city, "kind": kind, "s": grid, "S": grid * k, "k": k, "e": EPS_DEG, "m": CELL_MUL}
    # level 1: every polygon cut on the coarse grid (NULL piece = the polygon covers the coarse cell)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _enrich_coarse AS
        WITH polys AS (SELECT code, geom, ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1,
                              ST_YMax(geom) AS y1 {_BOUNDS}),
        c AS (
            SELECT code, geom, cx, unnest(range(CAST(floor(y0 / $S) AS BIGINT), CAST(floor(y1 / $S) AS BIGINT) + 1)) AS cy
            FROM (SELECT code, geom, y0, y1,
                         unnest(range(CAST(floor(x0 / $S) AS BIGINT), CAST(floor(x1 / $S) AS BIGINT) + 1)) AS cx
                  FROM polys)),
        w AS (SELECT code, geom, cx, cy, ST_MakeEnvelope(cx * $S - $e, cy * $S - $e, (cx + 1) * $S + $e,
                                                          (cy + 1) * $S + $e) AS cell FROM c)
        SELECT cx, cy, code, CASE WHEN NOT ST_Covers(geom, cell) THEN ST_Intersection(geom, cell) END AS piece
        FROM w WHERE ST_Intersects(geom, cell)""", {k: p[k] for k in ("city", "kind", "S", "e")})
    # level 2: the fine cells of a covered coarse cell are covered, the others are cut from the small coarse
    # piece (a separate statement: written as one query with level 1, DuckDB 1.5 lost every cut piece)
    if k == 1:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _enrich_tiles AS SELECT cx * {CELL_MUL} + cy AS cell, cx, cy, code, piece,
            ST_XMin(piece) AS x0, ST_YMin(piece) AS y0, ST_XMax(piece) AS x1, ST_YMax(piece) AS y1 FROM _enrich_coarse""")
    else:
        con.execute("""CREATE OR REPLACE TEMP TABLE _enrich_tiles AS
            WITH f AS (SELECT code, cpiece, fx, unnest(range(cy * $k, cy * $k + $k)) AS fy
                  FROM (SELECT code, piece AS cpiece, cy, unnest(range(cx * $k, cx * $k + $k)) AS fx FROM _enrich_coarse)),
            fw AS (SELECT code, cpiece, fx, fy, ST_MakeEnvelope(fx * $s - $e, fy * $s - $e, (fx + 1) * $s + $e,
                                                                (fy + 1) * $s + $e) AS fcell FROM f),
            t AS (SELECT fx * $m + fy AS cell, fx AS cx, fy AS cy, code, NULL::GEOMETRY AS piece FROM fw WHERE cpiece IS NULL
                  UNION ALL
                  SELECT fx * $m + fy AS cell, fx AS cx, fy AS cy, code,
                         CASE WHEN NOT ST_Covers(cpiece, fcell) THEN ST_Intersection(cpiece, fcell) END AS piece
                  FROM fw WHERE cpiece IS NOT NULL AND ST_Intersects(cpiece, fcell))
            SELECT cell, cx, cy, code, piece, ST_XMin(piece) AS x0, ST_YMin(piece) AS y0, ST_XMax(piece) AS x1,
                   ST_YMax(piece) AS y1 FROM t""", {k: p[k] for k in ("s", "k", "e", "m")})
    con.execute(f"DELETE FROM {CACHE_SCHEMA}.cells WHERE city = $city AND kind = $kind", {"city": city, "kind": kind})
    con.execute(f"DELETE FROM {CACHE_SCHEMA}.pieces WHERE city = $city AND kind = $kind", {"city": city, "kind": kind})
    # per cell: do its pieces cover it (then a point found in none of the others is in the last one), and which
    # code is that last one: the largest, so that a point on a border still gets the smallest code it touches
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _enrich_cover AS
        WITH g AS (SELECT cell, min(cx) AS cx, min(cy) AS cy, bool_or(piece IS NULL) AS whole, count(*) AS n,
                          arg_max(code, TRY_CAST(code AS {typ})) AS last FROM _enrich_tiles GROUP BY cell),
        u AS (SELECT cell, ST_Union_Agg(piece) AS joined FROM _enrich_tiles
              SEMI JOIN (SELECT cell FROM g WHERE n > 1 AND NOT whole) USING (cell) GROUP BY cell)
        SELECT cell, whole OR coalesce(ST_Covers(joined, ST_MakeEnvelope(cx * $s - $e, cy * $s - $e, (cx + 1) * $s + $e,
                                                                         (cy + 1) * $s + $e)), false) AS covered, last
        FROM g LEFT JOIN u USING (cell)""", {"s": grid, "e": EPS_DEG})
    # code: what a point of the cell that lies in none of its stored pieces gets (NULL: no area); a cell inside
    # one area stores no piece at all, so its points get their area by the cell key alone, without geometry
    con.execute(f"""INSERT INTO {CACHE_SCHEMA}.cells
        SELECT $key, $city, $kind, cell, CASE WHEN covered THEN last END, NOT covered OR count(DISTINCT code) > 1
        FROM _enrich_tiles JOIN _enrich_cover USING (cell) GROUP BY cell, covered, last""",
                {"key": key, "city": city, "kind": kind})
    # the pieces the points of the other cells are tested against (NULL piece = covers the cell)
    con.execute(f"""INSERT INTO {CACHE_SCHEMA}.pieces
        SELECT $key, $city, $kind, t.cell, t.code, t.piece, t.x0, t.y0, t.x1, t.y1
        FROM _enrich_tiles t JOIN _enrich_cover c USING (cell)
        WHERE NOT c.covered OR t.code IS DISTINCT FROM c.last
        ORDER BY t.cell, t.code""", {"key": key, "city": city, "kind": kind})
    con.execute("DROP TABLE IF EXISTS _enrich_cover")
    con.execute("DROP TABLE IF EXISTS _enrich_tiles")
    con.execute("DROP TABLE IF EXISTS _enrich_coarse")


def assign_areas(con: duckdb.DuckDBPyConnection, *, city: str, kind: str, points: str = "incidents", grid_deg: float | None = None,
                 rebuild: bool = False) -> int:
    """(Re)create the temp table ``_enrich_assign(dataset, source_id, spatial)``: for every point of
    ``points`` (a table with city, dataset, source_id, lat, lon) of ``city``, the code of the ``kind`` boundary
    it intersects (the smallest code when it touches several), cast to the incidents column type. A point is
    its ``lat``/``lon`` (the loader sets ``geom`` = ST_Point(lon, lat) whenever both are set); points without
    them or outside every polygon get no row. Returns the number of rows.

    The grid (``GRID_DEG[kind]`` unless ``grid_deg`` is given) is read from the ``enrich_cache`` schema when one
    for exactly these boundaries is stored, else built and stored first (``rebuild=True`` forces that)."""
    typ = AREA_KINDS[kind]  # fixed allow-list, safe to inline
    pts = ident(points)
    grid = float(grid_deg or GRID_DEG.get(kind, 0.004))
    key = _grid_key(con, city=city, kind=kind, grid=grid)
    if rebuild or not _has_grid(con, key):
        build_grid(con, city=city, kind=kind, grid=grid, key=key)
    # the assignment has no order; not keeping the insertion order lets both threads write the result freely
    pio = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    try:
        _assign(con, pts=pts, typ=typ, city=city, grid=grid, key=key)
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if pio else 'false'}")
    return con.execute("SELECT count(*) FROM _enrich_assign").fetchone()[0]


def _assign(con: duckdb.DuckDBPyConnection, *, pts: str, typ: str, city: str, grid: float, key: str) -> None:
    # points sharing a location (many crimes are geocoded to the same block) are tested once: u holds the
    # distinct locations of the points in tested cells, hit the smallest code of a piece each one touches
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _enrich_assign AS
        WITH cells AS (SELECT cell, code, tested FROM {CACHE_SCHEMA}.cells WHERE grid_key = $key),
        pieces AS (SELECT cell, code, piece, x0, y0, x1, y1 FROM {CACHE_SCHEMA}.pieces WHERE grid_key = $key),
        p AS (SELECT dataset, source_id, lon, lat,
                     CAST(floor(lon / $s) AS BIGINT) * $m + CAST(floor(lat / $s) AS BIGINT) AS cell
              FROM {pts} WHERE city = $city AND lat IS NOT NULL AND lon IS NOT NULL),
        pc AS (SELECT p.*, c.code, c.tested FROM p JOIN cells c USING (cell)),
        u AS (SELECT DISTINCT cell, lon, lat FROM pc WHERE tested),
        hit AS (SELECT u.cell, u.lon, u.lat, min(TRY_CAST(t.code AS {typ})) AS hit
                FROM u JOIN pieces t USING (cell)
                WHERE t.piece IS NULL OR (u.lon BETWEEN t.x0 AND t.x1 AND u.lat BETWEEN t.y0 AND t.y1
                                          AND ST_Intersects(ST_Point(u.lon, u.lat), t.piece))
                GROUP BY u.cell, u.lon, u.lat)
        SELECT dataset, source_id, TRY_CAST(code AS {typ}) AS spatial FROM pc WHERE NOT tested AND code IS NOT NULL
        UNION ALL
        SELECT pc.dataset, pc.source_id, coalesce(h.hit, TRY_CAST(pc.code AS {typ})) AS spatial
        FROM pc LEFT JOIN hit h USING (cell, lon, lat)
        WHERE pc.tested AND (h.hit IS NOT NULL OR pc.code IS NOT NULL)""",
                {"city": city, "s": grid, "m": CELL_MUL, "key": key})


def _has_grid(con: duckdb.DuckDBPyConnection, key: str) -> bool:
    try:
        return con.execute(f"SELECT count(*) FROM {CACHE_SCHEMA}.cells WHERE grid_key = $key",
                           {"key": key}).fetchone()[0] > 0
    except duckdb.CatalogException:
        return False


def enrich_incidents(con: duckdb.DuckDBPyConnection, *, city: str) -> dict[str, dict[str, int]]:
    """Assign/check community_area, beat, district, ward of ``city``'s incidents; returns counts per kind
    ``{"community_area": {"filled": n, "mismatch": m, "unmatched": k}, ...}`` (only kinds with boundaries)."""
    kinds = [r[0] for r in con.execute(
        "SELECT DISTINCT kind FROM boundaries b WHERE city = $city AND kind IN ('community_area', 'beat', "
        f"'district', 'ward') AND geom IS NOT NULL AND {not_fixture('b')} ORDER BY kind", {"city": city}).fetchall()]
    out: dict[str, dict[str, int]] = {}
    con.execute("UPDATE incidents SET area_mismatch = NULL WHERE city = $city AND area_mismatch IS NOT NULL",
                {"city": city})
    for kind in kinds:
        col, typ = kind, AREA_KINDS[kind]  # both from a fixed allow-list, safe to inline
        assign_areas(con, city=city, kind=kind)
        filled = con.execute(f"""UPDATE incidents SET {col} = a.spatial,
                filled_from_coordinates = concat_ws(',', filled_from_coordinates, '{col}')
            FROM _enrich_assign a
            WHERE incidents.city = $city AND incidents.dataset = a.dataset AND incidents.source_id = a.source_id
              AND incidents.{col} IS NULL AND a.spatial IS NOT NULL""", {"city": city}).fetchone()[0]
        mismatch = con.execute(f"""UPDATE incidents SET area_mismatch = concat_ws(',', area_mismatch, '{col}')
            FROM _enrich_assign a
            WHERE incidents.city = $city AND incidents.dataset = a.dataset AND incidents.source_id = a.source_id
              AND incidents.{col} IS NOT NULL AND a.spatial IS NOT NULL AND incidents.{col} <> a.spatial
              AND NOT list_contains(string_split(coalesce(incidents.filled_from_coordinates, ''), ','), '{col}')""",
                               {"city": city}).fetchone()[0]
        unmatched = con.execute("""SELECT count(*) FROM incidents i ANTI JOIN _enrich_assign a
                                   USING (dataset, source_id) WHERE i.city = $city AND i.geom IS NOT NULL""",
                                {"city": city}).fetchone()[0]
        out[kind] = {"filled": filled, "mismatch": mismatch, "unmatched": unmatched}
    con.execute("DROP TABLE IF EXISTS _enrich_assign")
    return out
