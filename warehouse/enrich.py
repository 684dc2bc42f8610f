"""Spatial enrichment of incidents: fill empty areas from the coordinates, flag disagreements.

The incidents have four area columns, the *slots* (beat, district, ward, community_area); the city's
``[areas]`` profile table says which boundaries kind fills each one (``areas``: the plain dict of
``_sqlexpr.area_slots``; by default each slot's own name, Chicago's). For each slot whose kind the city has
boundaries for, every incident point is matched to the polygon(s) it falls in (``ST_Intersects``: a point on a border touches both
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
md5 of the boundary codes and geometries, their vintage, the grid size and ``CACHE_VERSION``. Changed
boundaries get a new key and a rebuilt grid (the stale one of that city, kind and vintage is deleted).

Boundary vintages. Wards are redrawn: a boundaries dataset may say when its map was in force (options
``valid_from`` / ``valid_to``, whole days, both inclusive; stored on each ``boundaries`` row, NULL = open-ended),
and several datasets may feed one kind with different vintages (wards_2015 to 2023-05-14, wards_2023 from
2023-05-15). :func:`boundary_vintages` lists a kind's vintages and refuses overlapping ones (an incident could
then be matched to two maps). :func:`assign_areas` with ``at`` (a date column of the points, ``occurred_at`` for
incidents) matches each point to the polygons of the vintage in force on its date, one grid per vintage; a point
dated outside every vintage gets no area (:func:`enrich_incidents` counts it as ``unmatched`` and, for a kind with
dated vintages, as ``out_of_vintage``). Without ``at`` (street coverage) and in every drawn map
(:func:`latest_vintage`) the latest vintage is used. A kind with one open-ended vintage (every Chicago kind)
is matched exactly as before, without reading any date.
"""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb

from ._sqlexpr import AREA_SLOT_TYPES, area_slots, ident, preferred_kind
from .schema import not_fixture

AREA_KINDS = AREA_SLOT_TYPES   # slot -> SQL type of its incidents column (the kinds of Chicago's slots)
# grid cell size in degrees per slot: coarse for the few large areas, fine for the many small ones (beats)
GRID_DEG = {"community_area": 0.002, "beat": 0.001, "district": 0.002, "ward": 0.002}
EPS_DEG = 1e-9       # cells are widened by this much so points on a cell edge are tested in both cells
COARSE_DEG = 0.004   # the grid is built in two levels: polygons cut on this grid, then the pieces on the fine one
CELL_MUL = 4294967296  # cell key = cx * 2**32 + cy (cy fits in 32 bits for any grid >= 1e-4 degrees)
CACHE_SCHEMA = "enrich_cache"   # outside main: not part of the catalogue, the schema docs or exports
CACHE_VERSION = 5    # bump when the tiling changes so stale grids are rebuilt

# code: the area of a point of the cell found in none of the cell's stored pieces (NULL: none); tested: the cell
# has pieces to test its points against (false: every point of the cell is in ``code``, no geometry needed)
_CELL_COLUMNS = {"grid_key": "VARCHAR", "city": "VARCHAR", "kind": "VARCHAR", "vintage": "VARCHAR", "cell": "BIGINT",
                 "code": "VARCHAR", "tested": "BOOLEAN"}
_ALL_BOUNDS = f"""FROM boundaries b WHERE city = $city AND kind = $kind AND geom IS NOT NULL AND NOT ST_IsEmpty(geom)
               AND {not_fixture('b')}"""
# the polygons of one vintage ($vf, $vt: its valid_from, valid_to; NULL = open-ended)
_BOUNDS = (_ALL_BOUNDS + " AND b.valid_from IS NOT DISTINCT FROM CAST($vf AS DATE)"
           " AND b.valid_to IS NOT DISTINCT FROM CAST($vt AS DATE)")

Vintage = tuple[date | None, date | None]
"""A boundary map's period of validity: (valid_from, valid_to), whole days, inclusive; None = open-ended."""
OPEN: Vintage = (None, None)


class VintageError(ValueError):
    """Two boundary maps of one kind claim the same day: an incident could be matched to both."""


def boundary_vintages(con: duckdb.DuckDBPyConnection, *, city: str, kind: str) -> list[Vintage]:
    """The distinct vintages (valid_from, valid_to) of ``city``'s ``kind`` boundaries (format fixtures left out),
    oldest first (an open start first); ``[]`` without boundaries. Raises :class:`VintageError` naming the datasets
    and their periods when two vintages overlap (both ends are inclusive days, so 2023-05-14 / 2023-05-15 meet
    without overlapping; one open-ended vintage beside a dated one overlaps it)."""
    rows = con.execute(f"""SELECT valid_from, valid_to, string_agg(DISTINCT dataset, ', ' ORDER BY dataset)
                           {_ALL_BOUNDS} GROUP BY ALL ORDER BY valid_from NULLS FIRST, valid_to NULLS LAST""",
                       {"city": city, "kind": kind}).fetchall()
    for (f0, t0, d0), (f1, t1, d1) in zip(rows, rows[1:]):
        if t0 is None or f1 is None or t0 >= f1:
            raise VintageError(
                f"{city}: boundaries of kind {kind!r} have overlapping vintages: {d0} ({_period(f0, t0)}) and "
                f"{d1} ({_period(f1, t1)}); an incident would match two maps: give each dataset options "
                "valid_from/valid_to that do not overlap (days, both inclusive)")
    return [(f, t) for f, t, _ in rows]


def _period(valid_from: date | None, valid_to: date | None) -> str:
    return f"{valid_from or 'open'} to {valid_to or 'open'}"


def _vintage_tag(vintage: Vintage) -> str:
    """How the cache names a vintage (``2015-05-18..2023-05-14``; ``..`` for an open-ended map)."""
    return f"{vintage[0] or ''}..{vintage[1] or ''}"


def latest_vintage(alias: str) -> str:
    """SQL condition: the boundaries row ``alias`` belongs to the latest vintage of its city and kind (no row of
    that kind starts later; an open start is the earliest). The maps that draw one kind (base map, spending,
    locator, coverage gaps, street coverage) draw this one. ``alias`` is written by our code, never portal text."""
    if not alias.isidentifier():
        raise ValueError(f"not a table alias: {alias!r}")
    return (f"NOT EXISTS (SELECT 1 FROM boundaries v_ WHERE v_.city = {alias}.city AND v_.kind = {alias}.kind "
            f"AND v_.geom IS NOT NULL AND {not_fixture('v_')} AND coalesce(v_.valid_from, DATE '0001-01-01') > "
            f"coalesce({alias}.valid_from, DATE '0001-01-01'))")


def _grid_key(con: duckdb.DuckDBPyConnection, *, city: str, kind: str, grid: float, typ: str = "",
              vintage: Vintage = OPEN) -> str:
    """A hash of the boundary set of one vintage (codes + exact geometry), the vintage, the grid size, the type
    codes are compared as (which code a border point gets) and the tiling version."""
    h = con.execute(f"""SELECT md5(coalesce(string_agg(md5(coalesce(code, '')) || md5(ST_AsWKB(geom)), ','
                                                       ORDER BY code, md5(ST_AsWKB(geom))), ''))
                        {_BOUNDS}""", {"city": city, "kind": kind, "vf": vintage[0], "vt": vintage[1]}).fetchone()[0]
    tag = _vintage_tag(vintage)
    return hashlib.md5(f"{CACHE_VERSION}|{city}|{kind}|{tag}|{typ}|{grid!r}|{EPS_DEG!r}|{h}".encode()).hexdigest()


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
        grid_key VARCHAR, city VARCHAR, kind VARCHAR, vintage VARCHAR, cell BIGINT, code VARCHAR, piece GEOMETRY,
        x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE)""")


def build_grid(con: duckdb.DuckDBPyConnection, *, city: str, kind: str, grid: float, key: str,
               slot: str | None = None, vintage: Vintage = OPEN) -> None:
    """Tile ``city``'s ``kind`` polygons of ``vintage`` on the grid and store the result under ``key`` (replacing
    older grids of the same city, kind and vintage). ``slot``: the incidents column the codes are cast for
    (default ``kind``)."""
    _ensure_cache(con)
    typ = AREA_KINDS.get(slot or kind, "VARCHAR")  # fixed allow-list, safe to inline
    k = max(1, round(COARSE_DEG / grid))   # the polygons are first cut on a k-times coarser grid
    p = {"city": city, "kind": kind, "s": grid, "S": grid * k, "k": k, "e": EPS_DEG, "m": CELL_MUL,
         "vf": vintage[0], "vt": vintage[1]}
    tag = {"city": city, "kind": kind, "vintage": _vintage_tag(vintage)}
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
        FROM w WHERE ST_Intersects(geom, cell)""", {k: p[k] for k in ("city", "kind", "S", "e", "vf", "vt")})
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
    for table in ("cells", "pieces"):
        con.execute(f"DELETE FROM {CACHE_SCHEMA}.{table} WHERE city = $city AND kind = $kind AND vintage = $vintage", tag)
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
        SELECT $key, $city, $kind, $vintage, cell, CASE WHEN covered THEN last END,
               NOT covered OR count(DISTINCT code) > 1
        FROM _enrich_tiles JOIN _enrich_cover USING (cell) GROUP BY cell, covered, last""", {"key": key, **tag})
    # the pieces the points of the other cells are tested against (NULL piece = covers the cell)
    con.execute(f"""INSERT INTO {CACHE_SCHEMA}.pieces
        SELECT $key, $city, $kind, $vintage, t.cell, t.code, t.piece, t.x0, t.y0, t.x1, t.y1
        FROM _enrich_tiles t JOIN _enrich_cover c USING (cell)
        WHERE NOT c.covered OR t.code IS DISTINCT FROM c.last
        ORDER BY t.cell, t.code""", {"key": key, **tag})
    con.execute("DROP TABLE IF EXISTS _enrich_cover")
    con.execute("DROP TABLE IF EXISTS _enrich_tiles")
    con.execute("DROP TABLE IF EXISTS _enrich_coarse")


def assign_areas(con: duckdb.DuckDBPyConnection, *, city: str, kind: str, points: str = "incidents", grid_deg: float | None = None,
                 rebuild: bool = False, slot: str | None = None, at: str | None = None) -> int:
    """(Re)create the temp table ``_enrich_assign(dataset, source_id, spatial)``: for every point of
    ``points`` (a table with city, dataset, source_id, lat, lon) of ``city``, the code of the ``kind`` boundary
    it intersects (the smallest code when it touches several), cast to the type of the incidents column
    ``slot`` (default ``kind``; a kind that is no slot's name and no ``slot`` given: compared as text). A point is
    its ``lat``/``lon`` (the loader sets ``geom`` = ST_Point(lon, lat) whenever both are set); points without
    them or outside every polygon get no row. Returns the number of rows.

    Vintages (:func:`boundary_vintages`): with ``at`` (a date or timestamp column of ``points``, e.g.
    ``occurred_at``) each point is matched to the polygons of the vintage in force on its date, and a point dated
    outside every vintage gets no row; without ``at``, to the latest vintage. A kind with one open-ended vintage
    is matched without reading ``at``. Overlapping vintages raise :class:`VintageError`.

    The grid of each vintage (``GRID_DEG[kind]`` unless ``grid_deg`` is given) is read from the ``enrich_cache``
    schema when one for exactly these boundaries is stored, else built and stored first (``rebuild=True`` forces
    that)."""
    slot = slot or kind
    typ = AREA_KINDS.get(slot, "VARCHAR")  # fixed allow-list, safe to inline; a kind in no slot: text codes
    pts = ident(points)
    grid = float(grid_deg or GRID_DEG.get(slot, 0.004))
    vintages = boundary_vintages(con, city=city, kind=kind)
    dated = at is not None and vintages != [OPEN]
    chosen = vintages if dated else vintages[-1:]
    # the assignment has no order; not keeping the insertion order lets both threads write the result freely
    pio = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _enrich_assign (dataset VARCHAR, source_id VARCHAR, "
                    f"spatial {typ})")
        for vintage in chosen:
            key = _grid_key(con, city=city, kind=kind, grid=grid, typ=typ, vintage=vintage)
            if rebuild or not _has_grid(con, key):
                build_grid(con, city=city, kind=kind, grid=grid, key=key, slot=slot, vintage=vintage)
            _assign(con, pts=pts, typ=typ, city=city, grid=grid, key=key,
                    dated=ident(at) if dated else None, vintage=vintage)
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if pio else 'false'}")
    _prune_vintages(con, city=city, kind=kind, vintages=vintages)
    return con.execute("SELECT count(*) FROM _enrich_assign").fetchone()[0]


def _prune_vintages(con: duckdb.DuckDBPyConnection, *, city: str, kind: str, vintages: list[Vintage]) -> None:
    """Drop the stored grids of ``city``'s ``kind`` whose vintage the boundaries no longer have."""
    tags = [_vintage_tag(v) for v in vintages]
    if not _has_grid(con, None):
        return
    for table in ("cells", "pieces"):
        con.execute(f"DELETE FROM {CACHE_SCHEMA}.{table} WHERE city = $city AND kind = $kind "
                    "AND NOT list_contains($tags, vintage)", {"city": city, "kind": kind, "tags": tags})


def _assign(con: duckdb.DuckDBPyConnection, *, pts: str, typ: str, city: str, grid: float, key: str,
            dated: str | None = None, vintage: Vintage = OPEN) -> None:
    # points sharing a location (many crimes are geocoded to the same block) are tested once: u holds the
    # distinct locations of the points in tested cells, hit the smallest code of a piece each one touches.
    # dated: the points' date column (already an identifier); only points dated within the vintage are matched
    in_force = ""
    if dated is not None:
        in_force = (f" AND (CAST($vf AS DATE) IS NULL OR CAST({dated} AS DATE) >= CAST($vf AS DATE))"
                    f" AND (CAST($vt AS DATE) IS NULL OR CAST({dated} AS DATE) <= CAST($vt AS DATE))"
                    f" AND {dated} IS NOT NULL")
    con.execute(f"""INSERT INTO _enrich_assign
        WITH cells AS (SELECT cell, code, tested FROM {CACHE_SCHEMA}.cells WHERE grid_key = $key),
        pieces AS (SELECT cell, code, piece, x0, y0, x1, y1 FROM {CACHE_SCHEMA}.pieces WHERE grid_key = $key),
        p AS (SELECT dataset, source_id, lon, lat,
                     CAST(floor(lon / $s) AS BIGINT) * $m + CAST(floor(lat / $s) AS BIGINT) AS cell
              FROM {pts} WHERE city = $city AND lat IS NOT NULL AND lon IS NOT NULL{in_force}),
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
                {"city": city, "s": grid, "m": CELL_MUL, "key": key,
                 **({"vf": vintage[0], "vt": vintage[1]} if dated is not None else {})})


def _has_grid(con: duckdb.DuckDBPyConnection, key: str | None) -> bool:
    """Whether the grid ``key`` is stored (``None``: whether any grid is)."""
    try:
        return con.execute(f"SELECT count(*) FROM {CACHE_SCHEMA}.cells WHERE $key IS NULL OR grid_key = $key",
                           {"key": key}).fetchone()[0] > 0
    except duckdb.CatalogException:
        return False


def enrich_incidents(con: duckdb.DuckDBPyConnection, *, city: str, areas: dict | None = None,
                     since=None) -> dict[str, dict[str, int]]:
    """Assign/check the area slots (beat, district, ward, community_area) of ``city``'s incidents from the
    boundaries of each slot's kind (``areas``: the city's slots, ``_sqlexpr.area_slots``; None = each slot's
    own name); returns counts per slot ``{"community_area": {"filled": n, "mismatch": m, "unmatched": k}, ...}``
    (only slots whose kind has boundaries). Each incident is matched to the boundaries in force on its occurred_at
    date (:func:`assign_areas`); for a kind with dated vintages the slot's counts add ``out_of_vintage``: located
    incidents dated outside every vintage (never stamped; included in ``unmatched``). A boundaries kind that fills no slot is never stamped on incidents.
    The slots are recorded in ``area_slots`` (:func:`record_area_slots`).

    ``since`` (a timestamp): only the incidents fetched at or after it (``fetched_at``: the rows a merge load of
    this run replaced or added) are matched and checked; every other row keeps what an earlier enrichment stamped
    on it (a refresh after a few changed rows, with the same boundaries and area settings: the caller's to know).
    The counts are then those of the rows enriched, with ``rows`` saying how many."""
    slots = area_slots(areas)
    record_area_slots(con, city=city, areas=areas)
    present = {r[0] for r in con.execute(
        f"SELECT DISTINCT kind FROM boundaries b WHERE city = $city AND geom IS NOT NULL AND {not_fixture('b')}",
        {"city": city}).fetchall()}
    out: dict[str, dict[str, int]] = {}
    # the rows to enrich: every incident of the city, or (since) those fetched by this run
    fresh = "" if since is None else " AND fetched_at >= $since"
    scope = {"city": city, **({"since": since} if since is not None else {})}
    points = "incidents"
    if since is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE _enrich_points AS SELECT city, dataset, source_id, lat, lon, "
                    f"occurred_at, geom FROM incidents WHERE city = $city{fresh}", scope)
        points = "_enrich_points"
    con.execute(f"UPDATE incidents SET area_mismatch = NULL WHERE city = $city AND area_mismatch IS NOT NULL{fresh}",
                scope)
    for col in sorted(slots):
        kind = slots[col]["kind"]
        if kind not in present:
            continue
        assign_areas(con, city=city, kind=kind, slot=col, at="occurred_at",  # col: a slot name (fixed allow-list)
                     points=points)
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
        unmatched = con.execute(f"""SELECT count(*) FROM {points} i ANTI JOIN _enrich_assign a
                                   USING (dataset, source_id) WHERE i.city = $city AND i.geom IS NOT NULL""",
                                {"city": city}).fetchone()[0]
        out[col] = {"filled": filled, "mismatch": mismatch, "unmatched": unmatched}
        vintages = boundary_vintages(con, city=city, kind=kind)
        if vintages != [OPEN]:  # a kind with dated maps: how many located incidents fall in none of them
            out[col]["out_of_vintage"] = _out_of_vintage(con, city=city, vintages=vintages, points=points)
        if since is not None:
            out[col]["rows"] = con.execute(f"SELECT count(*) FROM {points}").fetchone()[0]
    con.execute("DROP TABLE IF EXISTS _enrich_assign")
    con.execute("DROP TABLE IF EXISTS _enrich_points")
    return out


def _out_of_vintage(con: duckdb.DuckDBPyConnection, *, city: str, vintages: list[Vintage],
                    points: str = "incidents") -> int:
    """Located incidents of ``city`` (in ``points``: incidents, or the rows being enriched) whose occurred_at date
    lies in none of ``vintages`` (never stamped)."""
    params: dict = {"city": city}
    inside = []
    for k, (valid_from, valid_to) in enumerate(vintages):
        params[f"f{k}"], params[f"t{k}"] = valid_from, valid_to
        inside.append(f"((CAST($f{k} AS DATE) IS NULL OR CAST(occurred_at AS DATE) >= CAST($f{k} AS DATE)) AND "
                      f"(CAST($t{k} AS DATE) IS NULL OR CAST(occurred_at AS DATE) <= CAST($t{k} AS DATE)))")
    return con.execute(f"""SELECT count(*) FROM {ident(points)} WHERE city = $city AND geom IS NOT NULL
                           AND NOT coalesce({' OR '.join(inside)}, FALSE)""", params).fetchone()[0]


def record_area_slots(con: duckdb.DuckDBPyConnection, *, city: str, areas: dict | None = None) -> int:
    """Replace ``city``'s rows of ``area_slots``: one per slot (its kind, label, plural, code settings) and, when
    the primary kind (``areas["primary"]``) fills no slot, one row for it with slot NULL. ``is_primary`` marks the
    primary kind; for a profile that names none, the kind every reader falls back to (``reads.preferred_kind`` of
    the city's boundary kinds), so SQL over the warehouse (views, the published canned queries) finds the same
    kind as the pages. Returns the row count."""
    import json

    slots = area_slots(areas)
    primary = (areas or {}).get("primary")
    if not primary and con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'boundaries'").fetchone()[0]:
        primary = preferred_kind([r[0] for r in con.execute(
            f"SELECT DISTINCT kind FROM boundaries b WHERE city = $city AND geom IS NOT NULL AND {not_fixture('b')} "
            "ORDER BY kind", {"city": city}).fetchall()])
    rows = [(city, slot, spec["kind"], spec["label"], spec["plural"], spec["pad"],
             json.dumps(spec["values"], sort_keys=True), spec["kind"] == primary) for slot, spec in slots.items()]
    if primary and all(spec["kind"] != primary for spec in slots.values()):
        rows.append((city, None, primary, None, None, None, "{}", True))
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'area_slots'").fetchone()[0]:
        return 0   # a bare database built without the warehouse schema
    con.execute("DELETE FROM area_slots WHERE city = $city", {"city": city})
    con.executemany("INSERT INTO area_slots (city, slot, kind, label, plural, pad, value_map, is_primary) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
