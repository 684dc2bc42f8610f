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
from typing import Any

import duckdb

from . import _sqlexpr as X

DEFAULT_EXCLUDE_HIGHWAYS = ["motorway", "motorway_link", "trunk", "trunk_link", "construction", "proposed"]
SEGMENT_FIELDS = ["u", "v", "u_x", "u_y", "v_x", "v_y", "way_id", "highway", "name", "lit", "foot", "access",
                  "oneway", "edge_id", "flag", "source_updated_at"]
ID_SPACE = 1_000_000_000


def dataset_key(city: str, dataset: str) -> int:
    """A stable number 1..999_999 for a city+dataset (offsets ids so datasets never collide)."""
    return int(hashlib.md5(f"{city}/{dataset}".encode()).hexdigest()[:12], 16) % 999_999 + 1


def build_streets(con: duckdb.DuckDBPyConnection, *, ctx: Any, fields: dict[str, str],
                  source_meta: dict[str, Any]) -> dict[str, str]:
    from .load import _raw_json

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
    WITH m AS (SELECT _row_number, {_raw_json(ctx.resolver)} AS _raw,
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
           CASE WHEN _u IS NULL OR _v IS NULL OR NOT {id_ok} THEN {q('bad_node_id', 'u/v')}
                WHEN _pu IS NULL OR _pv IS NULL THEN {q('bad_coordinates', 'u_x/u_y/v_x/v_y')}
                WHEN f_edge_id IS NOT NULL AND _dup > 1 THEN {q('duplicate_source_id', 'edge_id')}
                WHEN _local_edge NOT BETWEEN 0 AND {ID_SPACE - 1} THEN {q('bad_node_id', 'edge_id')}
                WHEN list_contains({p.add(excl)}, lower(f_highway)) THEN {q('not_walkable', 'highway')}
                WHEN lower(f_foot) = 'no' THEN {q('not_walkable', 'foot')}
                WHEN lower(f_access) = 'private' AND coalesce(lower(f_foot), '') NOT IN ('yes', 'designated', 'permissive')
                     THEN {q('not_walkable', 'access')}
           END AS _q,
           {p.add(ctx.city)} AS city, {p.add(ctx.dataset)} AS dataset,
           {X.timestamp('f_source_updated_at')} AS source_updated_at, md5(_raw) AS row_hash,
           CAST({k} AS BIGINT) * {ID_SPACE} + _local_edge AS edge_id, {node('_u')} AS u, {node('_v')} AS v,
           ST_Distance_Sphere(ST_Point(ST_Y(_pu), ST_X(_pu)), ST_Point(ST_Y(_pv), ST_X(_pv))) AS length_m,
           f_highway AS highway, f_name AS name, f_lit AS lit, f_oneway AS oneway, f_flag AS source_flag,
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
