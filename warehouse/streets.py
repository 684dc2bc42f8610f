"""Street segments -> ``street_edges`` and ``street_nodes``.

Landing records are segments ``u, v, u_x, u_y, v_x, v_y, way_id, highway, name, lit, foot, access, oneway``
(optionally ``edge_id``, ``flag``) in ``options.crs`` (default EPSG:4326, x = longitude).

Ids: edges get ``k * 1e9 + local id`` and, unless the dataset keeps OSM node ids
(``options.node_ids = "osm"``; the default when ``source_meta["protocol"] == "osm"``), nodes get
``-(k * 1e9 + local id)``, where ``k`` is derived from city+dataset. So two street datasets of one city
never collide, and offset nodes never collide with (positive) OSM ids.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import duckdb

from . import _sqlexpr as X
from .schema import not_fixture

DEFAULT_EXCLUDE_HIGHWAYS = ["motorway", "motorway_link", "trunk", "trunk_link", "construction", "proposed"]
SEGMENT_FIELDS = ["u", "v", "u_x", "u_y", "v_x", "v_y", "way_id", "highway", "name", "lit", "foot", "access",
                  "oneway", "edge_id", "flag", "source_updated_at",
                  "addr_from_left", "addr_to_left", "addr_from_right", "addr_to_right"]   # house-number ranges
ID_SPACE = 1_000_000_000


def dataset_key(city: str, dataset: str) -> int:
    """A stable number 1..999_999 for a city+dataset (offsets ids so datasets never collide)."""
    return int(hashlib.md5(f"{city}/{dataset}".encode()).hexdigest()[:12], 16) % 999_999 + 1


def build_streets(con: duckdb.DuckDBPyConnection, *, ctx: Any, fields: dict[str, str],
                  source_meta: dict[str, Any]) -> dict[str, str]:
    p, o = ctx.params, ctx.options
    crs = str(o.get("crs") or (source_meta or {}).get("crs") or "EPSG:4326").upper()
    mode = o.get("node_ids") or ("osm" if (source_meta or {}).get("protocol") == "osm" else "offset")
    if mode not in ("osm", "offset"):
        raise ValueError("options.node_ids must be 'osm' or 'offset'")
    excl = [h.lower() for h in o.get("exclude_highways", DEFAULT_EXCLUDE_HIGHWAYS)]
    k = dataset_key(ctx.city, ctx.dataset)

    def col(name: str) -> str:
        found = ctx.resolver.find(fields.get(name, name))
        return X.text(X.ident(found)) if found else "CAST(NULL AS VARCHAR)"

    mapped = ", ".join(f"{col(f)} AS f_{f}" for f in SEGMENT_FIELDS)

    def point(x: str, y: str) -> str:
        base = f"ST_Point(TRY_CAST({x} AS DOUBLE), TRY_CAST({y} AS DOUBLE))"
        if crs in ("EPSG:4326", "WGS84"):
            return base
        return f"ST_Transform({base}, {X.crs_literal(crs)}, 'EPSG:4326', always_xy := true)"

    node = (lambda c: c) if mode == "osm" else (lambda c: f"-(CAST({k} AS BIGINT) * {ID_SPACE} + {c})")
    id_ok = "TRUE" if mode == "osm" else "(_u BETWEEN 0 AND {n} AND _v BETWEEN 0 AND {n})".format(n=ID_SPACE - 1)

    def q(reason: str, fld: str) -> str:
        return f"{{'reason': {X.lit(reason)}, 'field': {X.lit(fld)}}}"

    sql = f"""
    WITH m AS (SELECT _row_number, {X.raw_json(ctx.resolver.source_columns())} AS _raw,
                      CAST({p.add(ctx.fetched_at)} AS TIMESTAMPTZ) AS fetched_at, {mapped}
               FROM {X.ident(ctx.raw)}),
    t AS (SELECT m.*, TRY_CAST(f_u AS BIGINT) AS _u, TRY_CAST(f_v AS BIGINT) AS _v,
                 CASE WHEN TRY_CAST(f_u_x AS DOUBLE) IS NOT NULL AND TRY_CAST(f_u_y AS DOUBLE) IS NOT NULL
                      THEN {point('f_u_x', 'f_u_y')} END AS _pu,
                 CASE WHEN TRY_CAST(f_v_x AS DOUBLE) IS NOT NULL AND TRY_CAST(f_v_y AS DOUBLE) IS NOT NULL
                      THEN {point('f_v_x', 'f_v_y')} END AS _pv,
                 COALESCE(TRY_CAST(f_edge_id AS BIGINT), _row_number) AS _local_edge,
                 COALESCE(f_edge_id, CASE WHEN f_way_id IS NOT NULL THEN 'way:' || f_way_id || ':' END, 'row:')
                     || CASE WHEN f_edge_id IS NULL THEN CAST(_row_number AS VARCHAR) ELSE '' END AS source_id,
                 row_number() OVER (PARTITION BY f_edge_id ORDER BY _row_number) AS _dup
          FROM m)
    SELECT t.*,
           CASE WHEN _u IS NULL AND _v IS NULL AND _pu IS NULL AND _pv IS NULL AND f_u_x IS NULL AND f_v_x IS NULL
                     THEN {q('missing_geometry', 'u/v')}
                WHEN _u IS NULL OR _v IS NULL OR NOT {id_ok} THEN {q('bad_node_id', 'u/v')}
                WHEN _pu IS NULL OR _pv IS NULL THEN {q('bad_coordinates', 'u_x/u_y/v_x/v_y')}
                WHEN f_edge_id IS NOT NULL AND _dup > 1 THEN {q('duplicate_source_id', 'edge_id')}
                WHEN _local_edge NOT BETWEEN 0 AND {ID_SPACE - 1} THEN {q('bad_node_id', 'edge_id')}
                WHEN list_contains({p.add(excl)}, lower(f_highway)) THEN {q('not_walkable', 'highway')}
                WHEN lower(f_foot) = 'no' THEN {q('not_walkable', 'foot')}
                WHEN lower(f_access) IN ('private', 'no') AND coalesce(lower(f_foot), '') NOT IN ('yes', 'designated', 'permissive')
                     THEN {q('not_walkable', 'access')}
           END AS _q,
           {p.add(ctx.city)} AS city, {p.add(ctx.dataset)} AS dataset,
           {X.timestamp('f_source_updated_at')} AS source_updated_at, md5(_raw) AS row_hash,
           CAST({k} AS BIGINT) * {ID_SPACE} + _local_edge AS edge_id, {node('_u')} AS u, {node('_v')} AS v,
           ST_Distance_Sphere(ST_Point(ST_Y(_pu), ST_X(_pu)), ST_Point(ST_Y(_pv), ST_X(_pv))) AS length_m,
           f_highway AS highway, f_name AS name, f_lit AS lit, f_oneway AS oneway, f_flag AS source_flag,
           TRY_CAST(f_addr_from_left AS DOUBLE) AS addr_from_left, TRY_CAST(f_addr_to_left AS DOUBLE) AS addr_to_left,
           TRY_CAST(f_addr_from_right AS DOUBLE) AS addr_from_right,
           TRY_CAST(f_addr_to_right AS DOUBLE) AS addr_to_right,
           ST_MakeLine(_pu, _pv) AS geom
    FROM t"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {X.ident(ctx.stage)} AS {sql}", p.values)

    src_crs = None if crs in ("EPSG:4326", "WGS84") else crs
    nodes = f"""
    WITH ends AS (
        SELECT u AS node_id, f_u AS source_id, f_u_x AS sx, f_u_y AS sy, _pu AS pt, _row_number AS rn,
               city, dataset, fetched_at FROM {X.ident(ctx.stage)} WHERE _q IS NULL
        UNION ALL
        SELECT v, f_v, f_v_x, f_v_y, _pv, _row_number, city, dataset, fetched_at
        FROM {X.ident(ctx.stage)} WHERE _q IS NULL)
    SELECT node_id, any_value(city) AS city, any_value(dataset) AS dataset, arg_min(source_id, rn) AS source_id,
           any_value(fetched_at) AS fetched_at, CAST(NULL AS TIMESTAMP) AS source_updated_at,
           md5(concat_ws(',', arg_min(source_id, rn), arg_min(sx, rn), arg_min(sy, rn))) AS row_hash,
           ST_Y(arg_min(pt, rn)) AS lat, ST_X(arg_min(pt, rn)) AS lon, arg_min(pt, rn) AS geom,
           CASE WHEN $src_crs IS NOT NULL THEN TRY_CAST(arg_min(sx, rn) AS DOUBLE) END AS source_x,
           CASE WHEN $src_crs IS NOT NULL THEN TRY_CAST(arg_min(sy, rn) AS DOUBLE) END AS source_y,
           CAST($src_crs AS VARCHAR) AS source_crs
    FROM ends GROUP BY node_id"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {X.ident(ctx.stage + '_nodes')} AS {nodes}", {"src_crs": src_crs})
    return {"street_edges": f"SELECT * FROM {X.ident(ctx.stage)} WHERE _q IS NULL",
            "street_nodes": f"SELECT * FROM {X.ident(ctx.stage + '_nodes')}"}


# --- one walk graph from all street datasets of a city ----------------------------------------------------

DETAILS = ("full", "major_streets")
SUPERSEDE_M = 15.0   # a segment lying all along within this of a higher-priority dataset's segments is a duplicate
LINK_M = 12.0        # nodes of two datasets this close are the same crossing: a link joins them
COVER_M = 100.0      # street_coverage.covered_share: surface within this distance of a dataset's streets ...
LATTICE_M = 50.0     # ... measured on a lattice of points this far apart
_M_PER_DEG_LAT = 110_540.0        # local equirectangular metres, as analysis/routing.py
_M_PER_DEG_LON_EQ = 111_320.0
_PROBE = (0.0, 0.25, 0.5, 0.75, 1.0)  # points of a segment tested against the higher-priority datasets


def network_options(options: dict[str, Any] | None, *, dataset: str = "?") -> tuple[str, int]:
    """(detail, merge_priority) of a streets dataset from its profile options: ``detail`` 'full' (default) or
    'major_streets'; ``merge_priority`` (default 1 for 'full', 2 for 'major_streets'; lower wins an overlap)."""
    o = options or {}
    detail = str(o.get("detail", "full"))
    if detail not in DETAILS:
        raise ValueError(f"dataset {dataset!r}: options.detail must be one of {', '.join(DETAILS)}, got {detail!r}")
    try:
        return detail, int(o.get("merge_priority", 1 if detail == "full" else 2))
    except (TypeError, ValueError):
        raise ValueError(f"dataset {dataset!r}: options.merge_priority must be a whole number, "
                         f"got {o.get('merge_priority')!r}") from None


def link_streets(con: duckdb.DuckDBPyConnection, *, city: str, datasets: dict[str, dict] | None = None,
                 supersede_m: float = SUPERSEDE_M, link_m: float = LINK_M, cover_m: float = COVER_M,
                 lattice_m: float = LATTICE_M, area_kind: str | None = "community_area") -> dict[str, Any]:
    """Join ``city``'s street datasets into one walk graph and record what each covers (run after the loads).

    ``datasets``: profile options per streets dataset (``detail``, ``merge_priority``: :func:`network_options`);
    a loaded dataset not named gets the defaults. ``area_kind``: the boundaries kind ``street_coverage`` is
    counted by (the city's primary area kind; default community areas).

    1. **Duplicates.** A segment of a dataset is *superseded* (``street_edges.superseded_by`` = the other
       dataset) when its two ends and its 1/4, 1/2 and 3/4 points all lie within ``supersede_m`` of segments of
       datasets with a lower ``merge_priority``: that street is already mapped there. It stays in street_edges
       but not in the walk graph, so two copies of one street (one carrying the incidents, one not) never
       compete in a route. Streets only one dataset has (an alley, a newer street) stay.
    2. **Links.** Every node of a kept segment gets a straight link (``street_links``) to the nearest node of
       each other dataset within ``link_m``: the same crossing mapped twice, a few metres apart.
    3. **Coverage.** ``street_coverage`` (see :func:`street_coverage`).

    Distances are in local equirectangular metres around the city's streets (0.5 % at most off over a city).
    Returns counts: ``superseded`` per dataset, ``links`` per dataset pair, ``coverage_rows``, the tolerances.
    """
    con.execute("UPDATE street_edges SET superseded_by = NULL WHERE city = $city AND superseded_by IS NOT NULL",
                {"city": city})
    con.execute("DELETE FROM street_links WHERE city = $city", {"city": city})
    present = [r[0] for r in con.execute("SELECT DISTINCT dataset FROM street_edges WHERE city = $city ORDER BY 1",
                                         {"city": city}).fetchall()]
    out: dict[str, Any] = {"datasets": present, "superseded": {}, "links": {}, "coverage_rows": 0,
                           "supersede_m": supersede_m, "link_m": link_m, "cover_m": cover_m, "lattice_m": lattice_m}
    if not present:
        con.execute("DELETE FROM street_coverage WHERE city = $city", {"city": city})
        return out
    opts = {name: network_options((datasets or {}).get(name), dataset=name) for name in present}
    lat0, lon0 = con.execute("SELECT (min(lat) + max(lat)) / 2, (min(lon) + max(lon)) / 2 FROM street_nodes "
                             "WHERE city = $city", {"city": city}).fetchone()
    kx = _M_PER_DEG_LON_EQ * math.cos(math.radians(lat0))
    proj = {"lat0": lat0, "lon0": lon0, "kx": kx, "ky": _M_PER_DEG_LAT}
    con.execute("""CREATE OR REPLACE TEMP TABLE _net_ds AS
                   SELECT unnest($names) AS dataset, unnest($details) AS detail, unnest($prios) AS prio""",
                {"names": present, "details": [opts[n][0] for n in present], "prios": [opts[n][1] for n in present]})
    con.execute("""CREATE OR REPLACE TEMP TABLE _net_e AS
        SELECT e.dataset, e.edge_id, e.u, e.v, d.prio, e.length_m,
               (ST_X(ST_StartPoint(e.geom)) - $lon0) * $kx AS x0, (ST_Y(ST_StartPoint(e.geom)) - $lat0) * $ky AS y0,
               (ST_X(ST_EndPoint(e.geom)) - $lon0) * $kx AS x1, (ST_Y(ST_EndPoint(e.geom)) - $lat0) * $ky AS y1
        FROM street_edges e JOIN _net_ds d USING (dataset) WHERE e.city = $city AND e.geom IS NOT NULL""",
                {"city": city, **proj})
    try:
        if len({p for _, p in opts.values()}) > 1:
            _supersede(con, city=city, dist=float(supersede_m))
        out["superseded"] = dict(con.execute(
            "SELECT dataset, count(*) FROM street_edges WHERE city = $city AND superseded_by IS NOT NULL "
            "GROUP BY 1 ORDER BY 1", {"city": city}).fetchall())
        if len(present) > 1:
            _link(con, city=city, dist=float(link_m), proj=proj)
        out["links"] = {f"{a}|{b}": n for a, b, n in con.execute(
            "SELECT dataset_u, dataset_v, count(*) FROM street_links WHERE city = $city GROUP BY 1, 2 ORDER BY 1, 2",
            {"city": city}).fetchall()}
        out["coverage_rows"] = street_coverage(con, city=city, cover_m=cover_m, lattice_m=lattice_m, proj=proj,
                                               kind=area_kind)
    finally:
        for t in ("_net_ds", "_net_e", "_net_sup"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return out


def _seg_dist(px: str, py: str, s: str) -> str:
    """SQL: distance from point (px, py) to segment ``s`` (columns x0, y0, x1, y1), all in metres."""
    t = (f"greatest(0.0, least(1.0, (({px} - {s}.x0) * ({s}.x1 - {s}.x0) + ({py} - {s}.y0) * ({s}.y1 - {s}.y0)) "
         f"/ greatest(({s}.x1 - {s}.x0) ** 2 + ({s}.y1 - {s}.y0) ** 2, 1e-12)))")
    return f"sqrt(({s}.x0 + {t} * ({s}.x1 - {s}.x0) - {px}) ** 2 + ({s}.y0 + {t} * ({s}.y1 - {s}.y0) - {py}) ** 2)"


def _cells(alias: str, size: str) -> str:
    """SQL FROM-items: ``alias`` (x0, y0, x1, y1) repeated over the grid cells its bounding box touches (cx, cy)."""
    return f"""(SELECT *, unnest(range(CAST(floor(least(y0, y1) / {size}) AS BIGINT),
                                       CAST(floor(greatest(y0, y1) / {size}) AS BIGINT) + 1)) AS cy
                FROM (SELECT *, unnest(range(CAST(floor(least(x0, x1) / {size}) AS BIGINT),
                                             CAST(floor(greatest(x0, x1) / {size}) AS BIGINT) + 1)) AS cx
                      FROM {alias}))"""


_NEIGHBOURS = "(SELECT unnest([-1, -1, -1, 0, 0, 0, 1, 1, 1]) AS dx, unnest([-1, 0, 1, -1, 0, 1, -1, 0, 1]) AS dy)"


def _supersede(con: duckdb.DuckDBPyConnection, *, city: str, dist: float) -> None:
    # a segment within `dist` of a probe point has a point in the probe's 3x3 cells (cell = dist), so its
    # bounding-box cells meet them: the equi-join on cells finds every candidate
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _net_sup AS
        WITH hi AS (SELECT * FROM _net_e WHERE prio < (SELECT max(prio) FROM _net_ds)),
        reg AS (SELECT dataset, prio, x0, y0, x1, y1, cx, cy FROM {_cells('hi', '$d')}),
        probe AS (SELECT e.edge_id, e.prio, f, e.x0 + f * (e.x1 - e.x0) AS px, e.y0 + f * (e.y1 - e.y0) AS py
                  FROM _net_e e, (SELECT unnest($probe) AS f)
                  WHERE e.prio > (SELECT min(prio) FROM _net_ds)),
        pc AS (SELECT p.*, CAST(floor(px / $d) AS BIGINT) + n.dx AS cx, CAST(floor(py / $d) AS BIGINT) + n.dy AS cy
               FROM probe p, {_NEIGHBOURS} n),
        hit AS (SELECT pc.edge_id, pc.f, arg_min(r.dataset, {_seg_dist('pc.px', 'pc.py', 'r')}) AS by_ds
                FROM pc JOIN reg r ON r.cx = pc.cx AND r.cy = pc.cy
                WHERE r.prio < pc.prio AND {_seg_dist('pc.px', 'pc.py', 'r')} <= $d
                GROUP BY pc.edge_id, pc.f)
        SELECT edge_id, any_value(by_ds ORDER BY abs(f - 0.5)) AS by_ds FROM hit
        GROUP BY edge_id HAVING count(*) = {len(_PROBE)}""", {"d": dist, "probe": list(_PROBE)})
    con.execute("""UPDATE street_edges SET superseded_by = s.by_ds FROM _net_sup s
                   WHERE street_edges.city = $city AND street_edges.edge_id = s.edge_id""", {"city": city})


def _link(con: duckdb.DuckDBPyConnection, *, city: str, dist: float, proj: dict) -> None:
    con.execute(f"""INSERT INTO street_links (city, link_id, u, v, dataset_u, dataset_v, length_m, geom)
        WITH kept AS (SELECT e.* FROM _net_e e ANTI JOIN street_edges s
                      ON s.city = $city AND s.edge_id = e.edge_id AND s.superseded_by IS NOT NULL),
        n AS (SELECT DISTINCT dataset, node_id, x, y FROM (
                  SELECT dataset, u AS node_id, x0 AS x, y0 AS y FROM kept
                  UNION ALL SELECT dataset, v, x1, y1 FROM kept)),
        nc AS (SELECT *, CAST(floor(x / $d) AS BIGINT) AS cx, CAST(floor(y / $d) AS BIGINT) AS cy FROM n),
        probe AS (SELECT a.*, a.cx + k.dx AS qx, a.cy + k.dy AS qy FROM nc a, {_NEIGHBOURS} k),
        pairs AS (SELECT a.dataset AS da, a.node_id AS na, b.dataset AS db, b.node_id AS nb,
                         sqrt((a.x - b.x) ** 2 + (a.y - b.y) ** 2) AS dist, a.x AS x0, a.y AS y0, b.x AS x1, b.y AS y1
                  FROM probe a JOIN nc b ON b.cx = a.qx AND b.cy = a.qy
                  WHERE a.dataset <> b.dataset AND a.node_id <> b.node_id
                    AND (a.x - b.x) ** 2 + (a.y - b.y) ** 2 <= $d * $d),
        nearest AS (SELECT da, na, db, arg_min(nb, dist) AS nb, min(dist) AS dist, arg_min([x0, y0, x1, y1], dist) AS xy
                    FROM pairs GROUP BY da, na, db),
        canon AS (SELECT DISTINCT CASE WHEN da < db THEN da ELSE db END AS du, CASE WHEN da < db THEN na ELSE nb END AS u,
                                  CASE WHEN da < db THEN db ELSE da END AS dv, CASE WHEN da < db THEN nb ELSE na END AS v,
                                  dist, CASE WHEN da < db THEN xy ELSE [xy[3], xy[4], xy[1], xy[2]] END AS xy
                  FROM nearest)
        SELECT $city, -row_number() OVER (ORDER BY du, u, dv, v), u, v, du, dv, dist,
               ST_MakeLine(ST_Point(xy[1] / $kx + $lon0, xy[2] / $ky + $lat0),
                           ST_Point(xy[3] / $kx + $lon0, xy[4] / $ky + $lat0))
        FROM canon""", {"city": city, "d": dist, **proj})


def street_coverage(con: duckdb.DuckDBPyConnection, *, city: str, cover_m: float = COVER_M,
                    lattice_m: float = LATTICE_M, proj: dict, kind: str | None = "community_area") -> int:
    """Rebuild ``street_coverage`` of ``city`` from ``_net_ds``/``_net_e`` (made by :func:`link_streets`).

    One row per street dataset x area of ``kind`` (the city's primary area kind; default community areas;
    zeros included). ``edge_m``: metres of the dataset's walkable
    segments whose midpoint is in the area. ``covered_share``: of the lattice points (every ``lattice_m``
    metres) inside the area, the share within ``cover_m`` of one of the dataset's segments. Areas come from
    ``boundaries`` (of ``kind``, format fixtures left out); none (or ``kind`` None) -> no rows. Returns the row count.
    ``proj`` is the local projection :func:`link_streets` made ``_net_e`` with (lat0, lon0, kx, ky).
    """
    from .enrich import assign_areas, latest_vintage   # the latest map of a redrawn kind

    con.execute("DELETE FROM street_coverage WHERE city = $city", {"city": city})
    if kind is None:
        return 0
    bounds = con.execute(f"""SELECT min(ST_YMin(geom)), min(ST_XMin(geom)), max(ST_YMax(geom)), max(ST_XMax(geom))
        FROM boundaries b WHERE city = $city AND kind = $kind AND geom IS NOT NULL AND {not_fixture('b')}""",
                         {"city": city, "kind": kind}).fetchone()
    if bounds[0] is None:
        return 0
    p = dict(proj)
    s, w, n, e = bounds
    # points for the area assignment: segment midpoints, then the lattice (dataset '' marks lattice points)
    con.execute("""CREATE OR REPLACE TEMP TABLE _cov_pts AS
        SELECT $city AS city, dataset, CAST(edge_id AS VARCHAR) AS source_id,
               (y0 + y1) / 2 / $ky + $lat0 AS lat, (x0 + x1) / 2 / $kx + $lon0 AS lon FROM _net_e
        UNION ALL
        SELECT $city, '', CAST(i AS VARCHAR) || ',' || CAST(j AS VARCHAR), j * $step / $ky + $lat0, i * $step / $kx + $lon0
        FROM (SELECT unnest(range(CAST(floor(($w - $lon0) * $kx / $step) AS BIGINT),
                                  CAST(ceil(($e - $lon0) * $kx / $step) AS BIGINT) + 1)) AS i),
             (SELECT unnest(range(CAST(floor(($s - $lat0) * $ky / $step) AS BIGINT),
                                  CAST(ceil(($n - $lat0) * $ky / $step) AS BIGINT) + 1)) AS j)""",
                {"city": city, "step": float(lattice_m), "s": s, "w": w, "n": n, "e": e, **p})
    try:
        assign_areas(con, city=city, kind=kind, points="_cov_pts")
        con.execute(f"""INSERT INTO street_coverage (city, dataset, area_kind, area_code, area_name, detail, edge_m,
                                                     covered_share)
            WITH areas AS (SELECT code, any_value(name ORDER BY name NULLS LAST) AS name FROM boundaries b
                           WHERE city = $city AND kind = $kind AND geom IS NOT NULL AND {not_fixture('b')}
                           AND {latest_vintage('b')} GROUP BY code),
            lat AS (SELECT CAST(a.spatial AS VARCHAR) AS code, p.lat, p.lon,
                           (p.lon - $lon0) * $kx AS x, (p.lat - $lat0) * $ky AS y
                    FROM _enrich_assign a JOIN _cov_pts p ON p.dataset = '' AND p.source_id = a.source_id
                    WHERE a.dataset = '' AND a.spatial IS NOT NULL),
            reg AS (SELECT dataset, x0, y0, x1, y1, cx, cy FROM {_cells('_net_e', '$c')}),
            lc AS (SELECT l.*, CAST(floor(l.x / $c) AS BIGINT) + k.dx AS cx, CAST(floor(l.y / $c) AS BIGINT) + k.dy AS cy
                   FROM lat l, {_NEIGHBOURS} k),
            covered AS (SELECT DISTINCT r.dataset, lc.code, lc.x, lc.y FROM lc JOIN reg r ON r.cx = lc.cx AND r.cy = lc.cy
                        WHERE {_seg_dist('lc.x', 'lc.y', 'r')} <= $c),
            share AS (SELECT c.dataset, c.code, count(*) / any_value(t.n) AS share FROM covered c
                      JOIN (SELECT code, count(*) AS n FROM lat GROUP BY code) t USING (code) GROUP BY ALL),
            metres AS (SELECT e.dataset, CAST(a.spatial AS VARCHAR) AS code, sum(e.length_m) AS m
                       FROM _enrich_assign a JOIN _net_e e ON a.dataset = e.dataset AND a.source_id = CAST(e.edge_id AS VARCHAR)
                       WHERE a.spatial IS NOT NULL GROUP BY ALL)
            SELECT $city, d.dataset, $kind, ar.code, ar.name, d.detail, coalesce(m.m, 0.0), coalesce(sh.share, 0.0)
            FROM _net_ds d CROSS JOIN areas ar
            LEFT JOIN metres m ON m.dataset = d.dataset AND m.code = ar.code
            LEFT JOIN share sh ON sh.dataset = d.dataset AND sh.code = ar.code
            ORDER BY d.dataset, TRY_CAST(ar.code AS INTEGER), ar.code""",
                    {"city": city, "kind": kind, "c": float(cover_m), **p})
    finally:
        con.execute("DROP TABLE IF EXISTS _cov_pts")
        con.execute("DROP TABLE IF EXISTS _enrich_assign")
    return con.execute("SELECT count(*) FROM street_coverage WHERE city = $city", {"city": city}).fetchone()[0]
