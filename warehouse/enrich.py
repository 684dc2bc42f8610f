"""Spatial enrichment of incidents: fill empty areas from the coordinates, flag disagreements.

For each boundary kind present for the city (community_area, beat, district, ward) every incident
point is matched to the polygon(s) it falls in (``ST_Intersects``: a point on a border touches both
areas and gets the smaller code). Where the source left the area empty it is filled and named in
``filled_from_coordinates``; where the stated area differs from the polygon the point falls in, the
column is named in ``area_mismatch`` and the published value is kept.

How the point-in-polygon join is made fast (``assign_areas``): the polygons are cut along a regular
grid of ``GRID_DEG`` degrees. A grid cell that lies entirely inside one area (and touches no other)
assigns that area to every point in it by a plain integer join on the cell number, without any
geometry. Only points in cells crossed by a border are tested exactly, with ``ST_Intersects``
against the small piece of the polygon inside that cell (a few dozen vertices instead of thousands).
The result is identical to ``ST_Intersects`` against the whole polygons (cells are widened by
``EPS_DEG`` so a point on a cell edge is still tested against the right pieces).
"""

from __future__ import annotations

import duckdb

from ._sqlexpr import ident

AREA_KINDS = {"community_area": "INTEGER", "beat": "VARCHAR", "district": "INTEGER", "ward": "INTEGER"}
GRID_DEG = 0.004     # grid cell size in degrees (about 330 x 445 m in Chicago)
EPS_DEG = 1e-9       # cells are widened by this much so points on a cell edge are tested in both cells


def assign_areas(con: duckdb.DuckDBPyConnection, *, city: str, kind: str, points: str = "incidents") -> int:
    """(Re)create the temp table ``_enrich_assign(dataset, source_id, spatial)``: for every point of
    ``points`` (a table with city, dataset, source_id, lat, lon, geom) of ``city``, the code of the
    ``kind`` boundary it intersects (the smallest code when it touches several), cast to the incidents
    column type. Points outside every polygon get no row. Returns the number of rows."""
    typ = AREA_KINDS[kind]  # fixed allow-list, safe to inline
    pts = ident(points)
    con.execute("""CREATE OR REPLACE TEMP TABLE _enrich_polys AS
                   SELECT code, geom, ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1, ST_YMax(geom) AS y1
                   FROM boundaries b WHERE city = $city AND kind = $kind AND geom IS NOT NULL AND NOT ST_IsEmpty(geom)
                   AND NOT EXISTS (SELECT 1 FROM datasets d WHERE d.city = b.city AND d.dataset = b.dataset
                                   AND d.role = 'fixture')""",
                {"city": city, "kind": kind})
    g = {"s": GRID_DEG, "e": EPS_DEG}
    # every (polygon, grid cell) pair whose widened cell meets the polygon: the piece of the polygon in it,
    # or NULL when the polygon covers the whole widened cell
    con.execute("""CREATE OR REPLACE TEMP TABLE _enrich_tiles AS
        WITH c AS (
            SELECT code, geom, cx, unnest(range(CAST(floor(y0 / $s) AS BIGINT), CAST(floor(y1 / $s) AS BIGINT) + 1)) AS cy
            FROM (SELECT code, geom, y0, y1,
                         unnest(range(CAST(floor(x0 / $s) AS BIGINT), CAST(floor(x1 / $s) AS BIGINT) + 1)) AS cx
                  FROM _enrich_polys)),
        w AS (SELECT code, geom, cx, cy, ST_MakeEnvelope(cx * $s - $e, cy * $s - $e, (cx + 1) * $s + $e,
                                                          (cy + 1) * $s + $e) AS cell FROM c)
        SELECT cx, cy, code, CASE WHEN NOT ST_Covers(geom, cell) THEN ST_Intersection(geom, cell) END AS piece
        FROM w WHERE ST_Intersects(geom, cell)""", g)
    # cells inside exactly one area: every point in them belongs to it
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _enrich_cells AS
        SELECT cx, cy, CASE WHEN count(DISTINCT code) = 1 AND bool_or(piece IS NULL) THEN TRY_CAST(min(code) AS {typ})
                       END AS inside
        FROM _enrich_tiles GROUP BY cx, cy""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _enrich_assign AS
        WITH p AS (SELECT dataset, source_id, lon, lat, CAST(floor(lon / $s) AS BIGINT) AS cx,
                          CAST(floor(lat / $s) AS BIGINT) AS cy
                   FROM {pts} WHERE city = $city AND geom IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL),
        pc AS (SELECT p.*, c.inside FROM p JOIN _enrich_cells c USING (cx, cy))
        SELECT dataset, source_id, inside AS spatial FROM pc WHERE inside IS NOT NULL
        UNION ALL
        SELECT pc.dataset, pc.source_id, min(TRY_CAST(t.code AS {typ})) AS spatial
        FROM pc JOIN _enrich_tiles t USING (cx, cy)
        WHERE pc.inside IS NULL AND (t.piece IS NULL OR ST_Intersects(t.piece, ST_Point(pc.lon, pc.lat)))
        GROUP BY pc.dataset, pc.source_id""", {"city": city, "s": GRID_DEG})
    for t in ("_enrich_polys", "_enrich_tiles", "_enrich_cells"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return con.execute("SELECT count(*) FROM _enrich_assign").fetchone()[0]


def enrich_incidents(con: duckdb.DuckDBPyConnection, *, city: str) -> dict[str, dict[str, int]]:
    """Assign/check community_area, beat, district, ward of ``city``'s incidents; returns counts per kind
    ``{"community_area": {"filled": n, "mismatch": m, "unmatched": k}, ...}`` (only kinds with boundaries)."""
    kinds = [r[0] for r in con.execute(
        "SELECT DISTINCT kind FROM boundaries b WHERE city = $city AND kind IN ('community_area', 'beat', "
        "'district', 'ward') AND geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM datasets d WHERE d.city = b.city "
        "AND d.dataset = b.dataset AND d.role = 'fixture') ORDER BY kind", {"city": city}).fetchall()]
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
    con.execute("DROP TABLE IF EXISTS _enrich_polys")
    con.execute("DROP TABLE IF EXISTS _enrich_assign")
    return out
