"""Loading landing Parquet pages into the canonical tables.

``load_dataset`` stages the pages as ``raw_<city>_<dataset>``, maps the profile's fields onto the
canonical columns, normalises types in DuckDB SQL, sets aside (quarantines) rows that cannot be
loaded with a reason, and replaces that city+dataset's rows in the canonical table (``mode="replace"``)
or upserts them by source_id (``mode="merge"``, for incremental fetches). It never drops a row
silently: ``rows_in == rows_loaded + rows_quarantined``. For tables with history (incidents) the
version a re-load replaces or removes is kept in ``<table>_history``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from . import _sqlexpr as X
from . import money as _money
from .row_filters import EXCLUDED_REASON, exclusion_sql
from .schema import HISTORY_TABLES, TABLES, column_names
from .service_requests import load_columns as request_columns
from .services import load_columns as service_columns
from .streets import build_streets

__all__ = ["LoadResult", "load_dataset", "stored_counts", "record_run", "raw_table_name", "dataset_watermark",
           "DEFAULT_MIN_DATE", "DEFAULT_COORDINATE_SENTINELS", "ROW_UNITS", "LOCATION_PAIRS", "ID_SEPARATOR"]

INTERNAL_COLUMNS = ("_row_number", "_page", "_fetched_at", "_url")
POINT_TABLES = ("incidents", "venues", "services", "service_requests", "place_spending")
# Canonical fields a profile mapping may name per table (cities/profile.py validates profiles against
# this); unmapped ones become NULL.
MAPPABLE: dict[str, set[str]] = {
    "incidents": {"case_number", "occurred_at", "primary_type", "description", "iucr", "fbi_code",
                  "location_description", "block", "arrest", "domestic", "beat", "district", "ward",
                  "community_area", "reported_at", "occurred_end_at", "occurred_time", "reported_time",
                  "occurred_end_time"},
    "venues": {"name", "venue_type", "licence_type", "licence_status", "address", "licence_start", "licence_end"},
    "services": {"name", "category", "subtype", "organization", "address", "phone", "hours"},
    "service_requests": {"request_id", "request_type", "status", "opened_at", "closed_at", "opened_time",
                         "closed_time", "address", "source"},
    "spending": {"fiscal_year", "department", "department_code", "fund", "fund_code", "fund_type", "account",
                 "account_code", "description", "amount"},
    "contract_revisions": {"contract_number", "revision", "vendor", "vendor_id", "vendor_zip", "department",
                           "description", "contract_type", "procurement_type", "amount", "start_date", "end_date",
                           "approval_date"},
    "place_spending": {"fiscal_year", "area_code", "project", "category", "amount", "location_text"},
    "outcomes": {"entity_name", "period_start", "value"},
    "boundaries": {"code", "name"},
    "population": {"area_code", "area_name", "year", "population"},
    "iucr_codes": {"iucr", "primary_description", "secondary_description", "index_code"},
    "area_indicators": {"area_code", "area_name", "year", "period", "source"},
}
MODES = ("replace", "merge")
ROW_UNITS = ("case", "victim", "offence")
"""What one incidents row counts (options.row_unit, stored in datasets.row_unit): a case (one report, the
default), a victim (one row per victim of a case), an offence (one row per offence of a case)."""
LOCATION_PAIRS = ("first", "last")
"""Which "(lat, lon)" of a location cell holding several is the point (options.location_pair)."""
ID_SEPARATOR = "|"
"""Joins the parts of a composite source id (``fields.source_id = ["case_number", "victim_seq"]``)."""
# Incident time fields parsed with the dataset's time_formats/time_zone; each may have a separate time-of-day
# partner field (``occurred_at`` + ``occurred_time``).
TIME_FIELDS = ("occurred_at", "reported_at", "occurred_end_at")
REQUEST_TIME_FIELDS = ("opened_at", "closed_at")
"""Service request time fields, read with the same options (time_formats, time_zone, z_is_local) as incidents'."""
TIMED_TABLES = {"incidents": TIME_FIELDS, "service_requests": REQUEST_TIME_FIELDS}
INCIDENT_TIMES = {"occurred": "occurred_at", "reported": "reported_at"}
DEFAULT_MIN_DATE = date(1900, 1, 1)
"""Incident times before this day are implausible (options.min_date); the default upper bound is the day
after the download (options.max_date)."""
DEFAULT_COORDINATE_SENTINELS = (0.0, -1.0)
"""A latitude or longitude equal to one of these means "no location" (options.coordinate_sentinels)."""
# location_flag values whose coordinates are kept (the point is real, only doubtful)
_KEPT_LOCATION_FLAGS = ("outside_city", "coordinates_disagree")
_METRES_PER_DEGREE = 111_320.0
WATERMARK_FORMAT = "%Y-%m-%dT%H:%M:%S.%g"   # Socrata floating timestamp, e.g. 2018-11-20T16:05:13.000
DEFAULT_VENUE_RULE = {
    "Tavern": "bar",
    "Late Hour": "bar",
    "Consumption on Premises - Incidental Activity": "restaurant-bar",
}


@dataclass(frozen=True)
class LoadResult:
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    missing_fields: tuple[str, ...] = ()
    reasons: dict[str, int] = field(default_factory=dict, compare=False)
    # loaded rows with a doubt, per flag: location_flag and time_flag values, 'time_unknown' (date only),
    # 'geom_repaired' (boundaries whose invalid polygon was made valid)
    flags: dict[str, int] = field(default_factory=dict, compare=False)


def raw_table_name(city: str, dataset: str) -> str:
    return f"raw_{X.slug(city)}_{X.slug(dataset)}"


def load_dataset(con: duckdb.DuckDBPyConnection, *, city: str, dataset: str, table: str, files: list[Path],
                 fields: dict[str, str | list[str]], options: dict[str, Any], kind: str | None = None, run_id: str,
                 fetched_at: datetime, source_meta: dict[str, Any], mode: str = "replace",
                 areas: dict[str, Any] | None = None) -> LoadResult:
    """Load one dataset's landing pages into ``table`` (see module docstring and docs/warehouse.md).

    ``mode="replace"`` (default): the pages are the whole dataset; its previous rows are replaced and rows
    missing from the pages are removed (kept in the history table, if the table has one).
    ``mode="merge"``: the pages are an increment; records are upserted by source_id (new ones inserted,
    changed ones replaced, the old version kept in history), records not in the pages stay as they are.
    ``areas``: the city's area slots (``_sqlexpr.area_slots``; None = Chicago's): how the incidents' area codes
    and the codes of boundaries, population and indicators of a slot's kind are normalised.
    """
    if table not in TABLES and table != "streets":
        raise ValueError(f"unknown canonical table {table!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "merge" and (table == "streets" or "source_id" not in (fields or {})):
        raise ValueError(f"{city}/{dataset}: mode='merge' needs a mapped source_id (and is not available for streets): "
                         "without a stable id an increment cannot be matched to the loaded rows")
    options = dict(options or {})
    raw = raw_table_name(city, dataset)
    _stage_raw(con, raw=raw, files=[Path(f) for f in files])
    resolver = _Resolver([r[0] for r in con.execute(f"DESCRIBE {X.ident(raw)}").fetchall()])
    stage = f"_stage_{X.slug(city)}_{X.slug(dataset)}"
    params = X.Params()
    ctx = _Ctx(city=city, dataset=dataset, run_id=run_id, fetched_at=fetched_at, raw=raw, stage=stage,
               params=params, resolver=resolver, options=options, kind=kind, fields=dict(fields or {}),
               areas=X.area_slots(areas))

    if table == "streets":
        targets = build_streets(con, ctx=ctx, fields=fields, source_meta=source_meta)
    else:
        select = _generic_select(ctx, table=table, fields=dict(fields or {}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {X.ident(stage)} AS {select}", params.values)
        targets = {table: f"SELECT * FROM {X.ident(stage)} WHERE _q IS NULL"}
        if table == "outcomes":  # one row per record and period (long form)
            targets = {table: _money.outcome_rows_grain(f"SELECT * FROM {X.ident(stage)} WHERE _q IS NULL",
                                                        _outcome_grain(ctx))}
        if table == "area_indicators":  # one row per record and indicator (long form)
            targets = {table: f"""SELECT * EXCLUDE (_i), _i.indicator AS indicator,
                                         {X.double("replace(_i.text, ',', '')")} AS value
                                  FROM (SELECT *, unnest(_ind) AS _i FROM {X.ident(stage)} WHERE _q IS NULL)"""}

    rows_in = con.execute(f"SELECT count(*) FROM {X.ident(raw)}").fetchone()[0]
    reasons = dict(con.execute(f"SELECT _q.reason, count(*) FROM {X.ident(stage)} WHERE _q IS NOT NULL "
                               f"GROUP BY ALL ORDER BY ALL").fetchall())
    loaded = con.execute(f"SELECT count(*) FROM {X.ident(stage)} WHERE _q IS NULL").fetchone()[0]
    quarantined = sum(reasons.values())
    flags = _flag_counts(con, stage=stage) if table != "streets" else {}
    if rows_in != loaded + quarantined:  # pragma: no cover - a bug, never data
        raise AssertionError(f"{city}/{dataset}: rows_in {rows_in} != loaded {loaded} + quarantined {quarantined}")

    has_id = "source_id" in (fields or {})
    con.begin()
    try:
        for target, sql in targets.items():
            have = {d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description}
            cols = [c for c in column_names(target) if c in have]
            _write_target(con, target=target, sql=sql, cols=cols, ctx=ctx, mode=mode,
                          history=HISTORY_TABLES.get(target) if has_id else None)
        if mode == "replace":
            con.execute("DELETE FROM quarantine WHERE city = $city AND dataset = $dataset",
                        {"city": city, "dataset": dataset})
        else:  # an increment supersedes earlier quarantine rows of the same records only
            con.execute(f"""DELETE FROM quarantine WHERE city = $city AND dataset = $dataset AND source_id IN
                            (SELECT source_id FROM {X.ident(stage)} WHERE source_id IS NOT NULL)""",
                        {"city": city, "dataset": dataset})
        con.execute(f"""INSERT INTO quarantine (run_id, city, dataset, source_id, row_number, field, reason, raw)
                        SELECT $run_id, $city, $dataset, source_id, _row_number, _q.field, _q.reason, _raw::JSON
                        FROM {X.ident(stage)} WHERE _q IS NOT NULL ORDER BY _row_number""",
                    {"run_id": run_id, "city": city, "dataset": dataset})
        if table in ("spending", "outcomes", "services"):   # labels and links across the city's datasets
            _money.after_load(con, table=table, city=city, options=options)
        watermark = _watermark(con, ctx=ctx, mode=mode, source_meta=source_meta)
        _record_dataset(con, ctx=ctx, table=table, source_meta=source_meta, rows=(rows_in, loaded, quarantined),
                        mode=mode, watermark=watermark)
        con.commit()
    except Exception:
        con.rollback()
        raise
    for t in (stage, f"{stage}_nodes", f"{stage}_new", f"{stage}_old"):
        con.execute(f"DROP TABLE IF EXISTS {X.ident(t)}")
    return LoadResult(rows_in, loaded, quarantined, tuple(resolver.missing), reasons, flags)


def stored_counts(con: duckdb.DuckDBPyConnection, *, city: str, dataset: str, table: str, run_id: str,
                  mode: str = "replace", fields: dict[str, str] | None = None) -> tuple[int, int]:
    """(rows loaded, rows quarantined) of the last load of a dataset, counted in the warehouse itself.

    ``load_dataset`` reconciles from its staging table, which cannot see a row lost on the way to the
    canonical or ``quarantine`` table; a flow counts again here, after the load, to catch that. Loaded rows
    are the dataset's rows in its canonical table (records, for the long-form ``area_indicators``; edges, for
    ``streets``); quarantined rows are the ``quarantine`` rows of the dataset written by ``run_id``.
    After a ``mode="merge"`` load only the increment counts: the table's rows whose source_id is that of a
    staged (``raw_<city>_<dataset>``) row this run did not quarantine. (A record loaded before and quarantined
    now still has its old row, so losing its quarantine row is the one loss a merge cannot show.)
    """
    if mode not in MODES:
        raise ValueError(f"{city}/{dataset}: mode must be one of {MODES}, got {mode!r}")
    key = {"city": city, "dataset": dataset}
    run = {**key, "run_id": run_id}
    quarantined = con.execute("SELECT count(*) FROM quarantine WHERE city = $city AND dataset = $dataset "
                              "AND run_id = $run_id", run).fetchone()[0]
    target = "street_edges" if table == "streets" else table
    rows = "count(DISTINCT source_id)" if table in ("area_indicators", "outcomes") else "count(*)"
    where = "city = $city AND dataset = $dataset"
    if mode == "merge":
        raw = raw_table_name(city, dataset)
        source = (fields or {}).get("source_id")
        staged_id = _source_id_sql(_Resolver(sorted(_columns(con, raw))), source) if source else None
        staged_id = staged_id or "CAST(NULL AS VARCHAR)"
        where += f""" AND source_id IN (SELECT {staged_id} FROM {X.ident(raw)} WHERE _row_number NOT IN
                      (SELECT row_number FROM quarantine WHERE {where} AND run_id = $run_id
                       AND row_number IS NOT NULL))"""
        key = run
    loaded = con.execute(f"SELECT {rows} FROM {X.ident(target)} WHERE {where}", key).fetchone()[0]
    return loaded, quarantined


def record_run(con: duckdb.DuckDBPyConnection, *, run_id: str, city: str, started_at: datetime,
               finished_at: datetime | None, status: str, summary: dict[str, Any]) -> None:
    """Insert or replace the ``ingest_runs`` row of ``run_id``."""
    con.execute("DELETE FROM ingest_runs WHERE run_id = $run_id AND city = $city", {"run_id": run_id, "city": city})
    con.execute("INSERT INTO ingest_runs VALUES ($run_id, $city, $started, $finished, $status, $summary)",
                {"run_id": run_id, "city": city, "started": started_at, "finished": finished_at,
                 "status": status, "summary": json.dumps(summary, default=str)})


def dataset_watermark(con: duckdb.DuckDBPyConnection, *, city: str, dataset: str) -> str | None:
    """The dataset's watermark (``datasets.watermark``): the latest source_updated_at loaded, as ISO text
    (``2018-11-20T16:05:13.000``), or what the fetch passed in ``source_meta["watermark"]``; None when the
    dataset was never loaded or its source gives no update times. An incremental fetch asks for records
    updated after it (and loads them with ``mode="merge"``)."""
    row = con.execute("SELECT watermark FROM datasets WHERE city = $city AND dataset = $dataset",
                      {"city": city, "dataset": dataset}).fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------------------- internals

def _write_target(con: duckdb.DuckDBPyConnection, *, target: str, sql: str, cols: list[str], ctx: "_Ctx",
                  mode: str, history: str | None) -> None:
    """Write the loaded rows ``sql`` of one dataset into ``target``.

    replace: the dataset's rows become exactly ``sql``'s rows. merge: rows of ``sql`` whose source_id is new are
    inserted, those whose row_hash differs replace the loaded version, the others are left as they are.
    With a ``history`` table, every version that is replaced ('changed') or, in replace mode, no longer
    delivered ('removed') is first copied there with valid_to and the run that superseded it.
    """
    key = {"city": ctx.city, "dataset": ctx.dataset}
    collist = ", ".join(X.ident(c) for c in cols)
    if history is None and mode == "replace":
        con.execute(f"DELETE FROM {target} WHERE city = $city AND dataset = $dataset", key)
        con.execute(f"INSERT INTO {target} ({collist}) SELECT {collist} FROM ({sql})")
        return
    new, old = X.ident(ctx.stage + "_new"), X.ident(ctx.stage + "_old")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {new} AS SELECT {collist} FROM ({sql})")
    versioned = target in HISTORY_TABLES   # boundaries.valid_from is a map's vintage, not a record version
    if versioned:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {old} AS SELECT source_id, row_hash, valid_from FROM {target}
                        WHERE city = $city AND dataset = $dataset""", key)
    if history is not None:
        hcols = ", ".join(X.ident(c) for c in column_names(target))
        join = "LEFT JOIN" if mode == "replace" else "JOIN"
        con.execute(f"""INSERT INTO {history} ({hcols}, valid_to, change, change_run_id, next_row_hash)
            SELECT {', '.join('o.' + X.ident(c) for c in column_names(target))},
                   COALESCE(n.fetched_at, CAST($fetched AS TIMESTAMPTZ)),
                   CASE WHEN n.source_id IS NULL THEN 'removed' ELSE 'changed' END, $run_id, n.row_hash
            FROM {target} o {join} {new} n ON n.source_id = o.source_id
            WHERE o.city = $city AND o.dataset = $dataset
              AND (n.source_id IS NULL OR n.row_hash IS DISTINCT FROM o.row_hash)""",
                    {**key, "fetched": ctx.fetched_at, "run_id": ctx.run_id})
    if mode == "replace":
        con.execute(f"DELETE FROM {target} WHERE city = $city AND dataset = $dataset", key)
        keep = new
    else:
        con.execute(f"""DELETE FROM {target} USING {new} n WHERE {target}.city = $city AND {target}.dataset = $dataset
                        AND {target}.source_id = n.source_id AND {target}.row_hash IS DISTINCT FROM n.row_hash""", key)
        keep = (f"(SELECT * FROM {new} n WHERE NOT EXISTS (SELECT 1 FROM {target} e WHERE e.city = $city "
                f"AND e.dataset = $dataset AND e.source_id = n.source_id))")
    if versioned:  # an unchanged record keeps the time its version was first loaded
        con.execute(f"""INSERT INTO {target} ({collist}, valid_from)
            SELECT {', '.join('n.' + X.ident(c) for c in cols)}, COALESCE(o.valid_from, n.fetched_at)
            FROM {keep} n LEFT JOIN {old} o ON o.source_id = n.source_id AND o.row_hash = n.row_hash""",
                    key if mode == "merge" else {})
    else:
        con.execute(f"INSERT INTO {target} ({collist}) SELECT {collist} FROM {keep} n",
                    key if mode == "merge" else {})


def _watermark(con: duckdb.DuckDBPyConnection, *, ctx: "_Ctx", mode: str, source_meta: dict[str, Any]) -> str | None:
    given = (source_meta or {}).get("watermark")
    if given is not None:
        return str(given)
    have = {d[0] for d in con.execute(f"SELECT * FROM {X.ident(ctx.stage)} LIMIT 0").description}
    new = None
    if "source_updated_at" in have:
        new = con.execute(f"SELECT strftime(max(source_updated_at), {X.lit(WATERMARK_FORMAT)}) "
                          f"FROM {X.ident(ctx.stage)} WHERE _q IS NULL").fetchone()[0]
    if mode == "merge":  # an increment never moves the watermark back
        prev = dataset_watermark(con, city=ctx.city, dataset=ctx.dataset)
        if prev is not None and new is not None:
            return con.execute(f"""SELECT CASE WHEN {X.timestamp('$a')} >= {X.timestamp('$b')} THEN $a
                                               WHEN {X.timestamp('$a')} IS NULL THEN $b ELSE $b END""",
                               {"a": prev, "b": new}).fetchone()[0]
        return new if new is not None else prev
    return new


@dataclass
class _Ctx:
    city: str
    dataset: str
    run_id: str
    fetched_at: datetime
    raw: str
    stage: str
    params: X.Params
    resolver: "_Resolver"
    options: dict[str, Any]
    kind: str | None
    fields: dict[str, str | list[str]] = field(default_factory=dict)
    areas: dict[str, dict[str, Any]] = field(default_factory=lambda: X.area_slots(None))


class _Resolver:
    """Find a profile's source field among the landing columns: exact name first, then the same name
    after dropping a BOM, trimming and SODA-style normalisation (``NAME `` == ``name``, ``\\ufeffID`` == ``id``)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.by_norm: dict[str, str] = {}
        for c in columns:
            self.by_norm.setdefault(X.slug(c), c)
        self.missing: list[str] = []

    def find(self, name: str) -> str | None:
        if name in self.columns:
            return name
        return self.by_norm.get(X.slug(name))

    def source_columns(self) -> list[str]:
        return [c for c in self.columns if c not in INTERNAL_COLUMNS]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {X.ident(table)}").fetchall()}


def _stage_raw(con: duckdb.DuckDBPyConnection, *, raw: str, files: list[Path]) -> None:
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(f"landing files not found: {missing[:3]}")
    if not files:
        con.execute(f"CREATE OR REPLACE TABLE {X.ident(raw)} (_row_number BIGINT)")
        return
    paths = [str(f) for f in files]
    con.execute(f"""CREATE OR REPLACE TABLE {X.ident(raw)} AS
        SELECT row_number() OVER (ORDER BY list_position($files, filename), file_row_number) AS _row_number,
               * EXCLUDE (filename, file_row_number)
        FROM read_parquet($files, union_by_name = true, filename = true, file_row_number = true)""",
                {"files": paths})
    con.execute(f"COMMENT ON TABLE {X.ident(raw)} IS "
                f"{X.lit('Raw staging copy of the latest landing pages, every field as text as received.')}")


def _mapped(ctx: _Ctx, fields: dict[str, str | list[str]], canon: str) -> str:
    """Text expression of a canonical field: the mapped source column (for ``source_id``, a list of columns
    joined into one composite id), a constant from ``options.defaults`` or NULL."""
    src = fields.get(canon)
    if isinstance(src, (list, tuple)):
        if canon != "source_id":
            raise ValueError(f"{ctx.city}/{ctx.dataset}: fields.{canon}: only source_id may list several fields")
        missing = [str(s) for s in src if ctx.resolver.find(str(s)) is None]
        if not missing:
            return _source_id_sql(ctx.resolver, src)
        ctx.resolver.missing.append(f"{canon}={'+'.join(missing)}")
    elif src is not None:
        col = ctx.resolver.find(src)
        if col is not None:
            return X.text(X.ident(col))
        ctx.resolver.missing.append(f"{canon}={src}")
    default = (ctx.options.get("defaults") or {}).get(canon)
    if default is not None:
        return f"CAST({ctx.params.add(str(default))} AS VARCHAR)"
    return "CAST(NULL AS VARCHAR)"


def _source_id_sql(resolver: "_Resolver", source: str | list[str]) -> str | None:
    """Text expression of the source id: one column, or several joined with ``ID_SEPARATOR`` (``"JB1|2"``: an
    empty part stays empty, ``"JB1|"``; NULL only when every part is empty). None when a column is missing."""
    parts = [source] if isinstance(source, str) else list(source)
    columns = [resolver.find(str(p)) for p in parts]
    if not parts or None in columns:
        return None
    if len(columns) == 1:
        return X.text(X.ident(columns[0]))
    texts = [X.text(X.ident(c)) for c in columns]
    joined = f" || {X.lit(ID_SEPARATOR)} || ".join(f"COALESCE({t}, '')" for t in texts)
    return f"CASE WHEN {' OR '.join(f'{t} IS NOT NULL' for t in texts)} THEN {joined} END"


def _generic_select(ctx: _Ctx, *, table: str, fields: dict[str, str | list[str]]) -> str:
    p = ctx.params
    if "geometry" not in fields and ctx.resolver.find("_geometry"):
        fields["geometry"] = "_geometry"
    wanted = set(fields) | set((ctx.options.get("defaults") or {})) | MAPPABLE[table]
    wanted |= {"source_id", "source_updated_at", "lat", "lon", "location", "geometry", "wkt", "source_x", "source_y"}
    mapped = ",\n".join(f"{_mapped(ctx, fields, c)} AS {X.ident('f_' + c)}" for c in sorted(wanted))
    landing_fetched = (f"TRY_CAST({X.ident(ctx.resolver.find('_fetched_at'))} AS TIMESTAMPTZ)"
                       if ctx.resolver.find("_fetched_at") == "_fetched_at" else "NULL")
    extra = ""
    if table == "area_indicators":  # every indicator of the record, as text: unnested into rows on write
        items = ", ".join(f"{{'indicator': {p.add(name)}, 'text': {X.text(X.ident(col))}}}"
                          for name, col in _indicator_columns(ctx))
        extra = (f"[{items}] AS _ind, " if items
                 else "CAST([] AS STRUCT(indicator VARCHAR, text VARCHAR)[]) AS _ind, ")
    if table == "outcomes" and ctx.options.get("month_columns"):   # a wide file's 12 months, read from the raw row
        extra = f"{_money.outcome_periods(ctx)} AS _periods, "
    excluded = exclusion_sql(keep=ctx.options.get("keep"), drop=ctx.options.get("drop"), find=ctx.resolver.find,
                             params=p, where=f"{ctx.city}/{ctx.dataset}")
    m = f"""SELECT _row_number, {extra}{X.raw_json(ctx.resolver.source_columns())} AS _raw, {excluded} AS _x,
                   COALESCE({landing_fetched}, CAST({p.add(ctx.fetched_at)} AS TIMESTAMPTZ)) AS fetched_at,
                   {mapped}
            FROM {X.ident(ctx.raw)}"""

    has_id = "source_id" in fields
    common = [
        f"{p.add(ctx.city)} AS city", f"{p.add(ctx.dataset)} AS dataset",
        "f_source_id AS source_id" if has_id else "COALESCE(f_source_id, 'row:' || _row_number) AS source_id",
        f"{X.timestamp('f_source_updated_at')} AS source_updated_at",
        "md5(_raw) AS row_hash",
    ]
    typed = common + _typed_columns(ctx, table=table)
    geo = (_geometry_select(ctx, repair=table == "boundaries") if table in POINT_TABLES + ("boundaries",)
           else "SELECT * FROM t")
    checks = _quarantine_checks(ctx, table=table, has_id=has_id)
    timed = "m"
    if table in TIMED_TABLES:
        parses, parts = _time_parts(ctx, names=TIMED_TABLES[table])
        timed = f"(SELECT p.*, {', '.join(parts)} FROM (SELECT m.*, {', '.join(parses)} FROM m) p)"
    return f"""
    WITH m AS ({m}),
    t AS (SELECT m.*, {', '.join(typed)} FROM {timed} m),
    g AS ({geo}),
    d AS (SELECT g.*, row_number() OVER (PARTITION BY source_id, _x IS NULL ORDER BY _row_number) AS _dup FROM g)
    SELECT d.*, CASE {checks} END AS _q FROM d"""


def _typed_columns(ctx: _Ctx, *, table: str) -> list[str]:
    p, kind = ctx.params, ctx.kind
    if table == "incidents":
        return [
            "f_case_number AS case_number",
            *_incident_times(ctx),
            "f_primary_type AS primary_type", "f_description AS description",
            "CASE WHEN length(f_iucr) < 4 THEN lpad(upper(f_iucr), 4, '0') ELSE upper(f_iucr) END AS iucr",
            "upper(f_fbi_code) AS fbi_code", "f_location_description AS location_description",
            "upper(f_block) AS block", "f_block AS block_raw",
            f"{X.boolean('f_arrest')} AS arrest", f"{X.boolean('f_domestic')} AS domestic",
            f"{X.area_code('f_beat', codes=ctx.areas['beat'], params=p)} AS beat",
            f"CAST({X.integer(_slot_value(ctx, 'district'))} AS INTEGER) AS district",
            f"CAST({X.integer(_slot_value(ctx, 'ward'))} AS INTEGER) AS ward",
            f"CAST(NULLIF({X.integer(_slot_value(ctx, 'community_area'))}, 0) AS INTEGER) AS community_area",
            "NULLIF(concat_ws(',', "
            f"CASE WHEN {X.integer(_slot_value(ctx, 'community_area'))} = 0 THEN 'community_area_zero' "
            "WHEN f_community_area IS NULL THEN 'community_area_missing' END, "
            "CASE WHEN f_ward IS NULL THEN 'ward_missing' END, CASE WHEN f_beat IS NULL THEN 'beat_missing' END, "
            "CASE WHEN f_district IS NULL THEN 'district_missing' END), '') AS area_flag",
        ]
    if table == "venues":
        rule = ctx.options.get("venue_rule", DEFAULT_VENUE_RULE)
        if not isinstance(rule, dict):
            raise ValueError("options.venue_rule must be a table: licence description -> venue_type")
        whens = " ".join(f"WHEN lower(f_licence_type) = lower({p.add(k)}) THEN {p.add(v)}" for k, v in rule.items())
        derived = f"CASE {whens} END" if whens else "NULL"
        return [
            "f_name AS name", f"COALESCE(f_venue_type, {derived}) AS venue_type",
            "f_licence_type AS licence_type", "f_licence_status AS licence_status",
            f"CAST({X.timestamp('f_licence_start')} AS DATE) AS licence_start",
            f"CAST({X.timestamp('f_licence_end')} AS DATE) AS licence_end",
            "f_address AS address",
        ]
    if table == "services":  # taxonomy and per-day hours: warehouse/services.py
        return service_columns(ctx, kind=kind)
    if table == "service_requests":  # types, statuses, streetlight flag: warehouse/service_requests.py
        return request_columns(ctx) + _request_times(ctx)
    if table == "spending":   # new columns (line_kind, department_id, fund_id, ...): warehouse/money.py
        return _money.spending_columns(ctx)
    if table == "contract_revisions":
        return _money.contract_columns(ctx) + [f"{_money.contract_dates_check(ctx)} AS _bad_date"]
    if table == "place_spending":
        area_kind = ctx.options.get("area_kind") or kind
        return _money.place_columns(ctx, area_code=_kind_code(ctx, "f_area_code", area_kind))
    if table == "outcomes":
        return _money.outcome_columns(ctx)
    if table == "boundaries":
        valid_from, valid_to = _vintage(ctx)
        return [f"CAST({p.add(kind)} AS VARCHAR) AS kind", f"{_kind_code(ctx, 'f_code', kind)} AS code", "f_name AS name",
                f"CAST({p.add(valid_from)} AS DATE) AS valid_from", f"CAST({p.add(valid_to)} AS DATE) AS valid_to"]
    if table == "iucr_codes":
        return ["CASE WHEN length(f_iucr) < 4 THEN lpad(upper(f_iucr), 4, '0') ELSE upper(f_iucr) END AS iucr",
                "f_primary_description AS primary_description", "f_secondary_description AS secondary_description",
                "upper(f_index_code) AS index_code"]
    if table == "area_indicators":
        area_kind = kind or ctx.options.get("area_kind")
        city_name = ctx.options.get("city_area_name")
        is_city = (f"(f_area_code IS NULL AND upper(f_area_name) = upper({p.add(str(city_name))}))"
                   if city_name else "FALSE")
        return [f"CASE WHEN {is_city} THEN 'city' ELSE CAST({p.add(area_kind)} AS VARCHAR) END AS area_kind",
                f"{_kind_code(ctx, 'f_area_code', area_kind)} AS area_code", "f_area_name AS area_name",
                f"CAST({X.integer('f_year')} AS INTEGER) AS year", "f_period AS period",
                f"COALESCE(f_source, CAST({p.add(ctx.options.get('source'))} AS VARCHAR)) AS source",
                f"{is_city} AS _is_city"]
    if table == "population":
        area_kind = kind or ctx.options.get("area_kind")
        return [f"CAST({p.add(area_kind)} AS VARCHAR) AS area_kind",
                f"{_kind_code(ctx, 'f_area_code', area_kind)} AS area_code", "f_area_name AS area_name",
                f"CAST({X.integer('f_year')} AS INTEGER) AS year", f"{X.integer('f_population')} AS population"]
    raise ValueError(f"unknown table {table!r}")


def _outcome_grain(ctx: _Ctx) -> str:
    """An outcomes dataset's period grain: 'month' for month_columns, else options.period_grain (default 'month')."""
    grain = "month" if ctx.options.get("month_columns") else str(ctx.options.get("period_grain") or "month")
    if grain not in ("month", "year"):
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.period_grain must be 'month' or 'year', got {grain!r}")
    return grain


def _vintage(ctx: _Ctx) -> tuple[date | None, date | None]:
    """A boundaries dataset's vintage: options.valid_from / valid_to (days, inclusive; absent = open-ended)."""
    o = ctx.options
    valid_from = _day(ctx, "valid_from", o["valid_from"]) if o.get("valid_from") else None
    valid_to = _day(ctx, "valid_to", o["valid_to"]) if o.get("valid_to") else None
    if valid_from and valid_to and valid_to < valid_from:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.valid_to {valid_to} is before valid_from {valid_from}")
    return valid_from, valid_to


def _slot_value(ctx: _Ctx, slot: str) -> str:
    """The incidents' stated code of an integer area slot through the city's value map (``[areas.<slot>]``)."""
    return X.area_value(f"f_{slot}", ctx.areas[slot]["values"], params=ctx.params)


def _kind_code(ctx: _Ctx, expr: str, kind: str | None) -> str:
    """A boundaries/population/indicator code of ``kind`` normalised like the slot that kind fills."""
    return X.area_code(expr, kind, codes=X.kind_codes(ctx.areas, kind), params=ctx.params)


def _time_partner(name: str) -> str:
    """The separate time-of-day field of a time field: occurred_at -> occurred_time."""
    return name.removesuffix("_at") + "_time"


def _zone(ctx: _Ctx, key: str, value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.{key} must be an IANA time zone such as "
                         f"'America/Los_Angeles', got {value!r}") from exc
    return str(value)


def _day(ctx: _Ctx, key: str, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.{key} must be a day 'YYYY-MM-DD', got {value!r}") from exc


@dataclass(frozen=True)
class _TimeSettings:
    """How a dataset writes its incident times (options, see cities/table_options.py IncidentsOptions).

    ``source_zone``: the zone of times written without an offset (options.time_zone, default the city's);
    ``city_zone``: the city's zone (options.city_timezone, which flows/pipeline.py sets from the profile;
    default UTC), in which every stored local time is written."""

    formats: tuple[str, ...]
    source_zone: str
    city_zone: str
    z_is_local: bool
    basis: str
    min_date: date
    max_date: date
    quarantine_implausible: bool

    @classmethod
    def of(cls, ctx: _Ctx) -> "_TimeSettings":
        o = ctx.options
        formats = o.get("time_formats") or X.TIMESTAMP_FORMATS
        if isinstance(formats, str) or not all(isinstance(f, str) and f.strip() for f in formats):
            raise ValueError(f"{ctx.city}/{ctx.dataset}: options.time_formats must be a list of strptime formats "
                             f"(or 'epoch_ms'/'epoch_s'), got {formats!r}")
        city_zone = _zone(ctx, "city_timezone", o.get("city_timezone") or "UTC")
        basis = INCIDENT_TIMES.get(str(o.get("incident_time", "occurred")))
        if basis is None:
            raise ValueError(f"{ctx.city}/{ctx.dataset}: options.incident_time must be one of "
                             f"{sorted(INCIDENT_TIMES)}, got {o.get('incident_time')!r}")
        action = str(o.get("implausible_dates", "quarantine"))
        if action not in ("quarantine", "flag"):
            raise ValueError(f"{ctx.city}/{ctx.dataset}: options.implausible_dates must be 'quarantine' or 'flag', "
                             f"got {action!r}")
        fetched = ctx.fetched_at.date() if isinstance(ctx.fetched_at, datetime) else date.today()
        return cls(formats=tuple(formats), source_zone=_zone(ctx, "time_zone", o.get("time_zone") or city_zone),
                   city_zone=city_zone, z_is_local=bool(o.get("z_is_local", False)), basis=basis,
                   min_date=_day(ctx, "min_date", o.get("min_date") or DEFAULT_MIN_DATE),
                   max_date=_day(ctx, "max_date", o.get("max_date") or fetched + timedelta(days=1)),
                   quarantine_implausible=action == "quarantine")

    def local(self, ctx: _Ctx, name: str) -> str:
        """The city-local wall time of time field ``name`` (from the ``_w_``/``_u_`` parts)."""
        if self.source_zone == self.city_zone:
            return f"_w_{name}"
        return f"timezone({ctx.params.add(self.city_zone)}, _u_{name})"

    def implausible(self, ctx: _Ctx, name: str) -> str:
        """SQL: the local time of ``name`` is before min_date or after max_date (whole days, inclusive)."""
        low = ctx.params.add(datetime.combine(self.min_date, datetime.min.time()))
        high = ctx.params.add(datetime.combine(self.max_date + timedelta(days=1), datetime.min.time()))
        local = self.local(ctx, name)
        return f"({local} < CAST({low} AS TIMESTAMP) OR {local} >= CAST({high} AS TIMESTAMP))"


def _time_parts(ctx: _Ctx, *, names: tuple[str, ...] = TIME_FIELDS) -> tuple[list[str], list[str]]:
    """Two projection layers over ``m``: first each time field's parses (``_p<i>_F``, one per run of same-kind
    formats, parsed once) and its separate time of day (``_tod_F``); then per field ``F``: ``_w_F`` the wall
    time in the source zone, ``_u_F`` the instant, ``_n_F`` TRUE when written without an offset (so a DST gap
    or repeat can apply), ``_unknown_F`` TRUE when the source gave a date only."""
    times = _TimeSettings.of(ctx)
    zone = ctx.params.add(times.source_zone)
    date_only = [f for f in times.formats if X.is_date_only(f)]
    parses, parts = [], []
    for name in names:
        text, partner = f"f_{name}", _time_partner(name)
        if name not in ctx.fields and name not in (ctx.options.get("defaults") or {}):
            parses.append(f"CAST(NULL AS TIME) AS _tod_{name}")
            parts += [f"CAST(NULL AS TIMESTAMP) AS _w_{name}", f"CAST(NULL AS TIMESTAMPTZ) AS _u_{name}",
                      f"CAST(NULL AS BOOLEAN) AS _n_{name}", f"CAST(NULL AS BOOLEAN) AS _unknown_{name}"]
            continue
        parsed = X.time_parses(text, formats=list(times.formats), z_is_local=times.z_is_local)
        parses += [f"{sql} AS _p{i}_{name}" for i, (_, sql) in enumerate(parsed)]
        wall, instant, naive = X.zoned_time([(is_wall, f"_p{i}_{name}") for i, (is_wall, _) in enumerate(parsed)],
                                            zone=zone)
        if partner in ctx.fields:  # the date from this field, the time of day from its partner
            parses.append(f"{X.time_of_day(f'f_{partner}')} AS _tod_{name}")
            wall = f"(CAST({wall} AS DATE) + COALESCE(_tod_{name}, TIME '00:00:00'))"
            parts += [f"{wall} AS _w_{name}", f"timezone({zone}, {wall}) AS _u_{name}",
                      f"CASE WHEN {wall} IS NOT NULL THEN TRUE END AS _n_{name}", f"f_{partner} IS NULL AS _unknown_{name}"]
            continue
        parses.append(f"CAST(NULL AS TIME) AS _tod_{name}")
        # (only midnight values can be date-only: the slow second parse runs on those alone)
        unknown = (f"CASE WHEN CAST({wall} AS TIME) = TIME '00:00:00' THEN "
                   f"try_strptime({text}, [{', '.join(X.lit(f) for f in date_only)}]) IS NOT NULL ELSE FALSE END"
                   if date_only else "FALSE")
        parts += [f"{wall} AS _w_{name}", f"{instant} AS _u_{name}", f"{naive} AS _n_{name}",
                  f"{unknown} AS _unknown_{name}"]
    return parses, parts


def _request_times(ctx: _Ctx) -> list[str]:
    """The service requests' time columns: opened/closed as city-local wall times and instants, and time_flag
    ('closed_before_opened', 'implausible_closed_at'; an implausible opened_at is quarantined)."""
    times = _TimeSettings.of(ctx)
    opened, closed = times.local(ctx, "opened_at"), times.local(ctx, "closed_at")
    return [
        f"{opened} AS opened_at", "_u_opened_at AS opened_at_utc",
        f"{closed} AS closed_at", "_u_closed_at AS closed_at_utc",
        f"""NULLIF(concat_ws(',', CASE WHEN {closed} < {opened} THEN 'closed_before_opened' END,
                              CASE WHEN {times.implausible(ctx, 'closed_at')} THEN 'implausible_closed_at' END),
                   '') AS time_flag""",
    ]


def _incident_times(ctx: _Ctx) -> list[str]:
    """The incidents' time columns: local wall times in the city's zone, the incident time's instant, and
    what is doubtful about the times (time_unknown, time_flag). An implausible incident time is quarantined
    (unless options.implausible_dates = 'flag'); an implausible other time only flags its row, because the
    products do not read it."""
    times = _TimeSettings.of(ctx)
    basis, zone = times.basis, ctx.params.add(times.source_zone)
    local = times.local(ctx, basis)
    wall, instant = f"_w_{basis}", f"_u_{basis}"
    # a wall time that does not exist (spring forward) does not come back from its instant; one that exists
    # twice (fall back) also comes back from the instant an hour away
    # (exact but slow ICU calls: only on the calendar days a clock change fell on in some year)
    days = _clock_change_days(times.source_zone, times.min_date.year, times.max_date.year)
    near_change = f"_n_{basis} AND {days}[month({wall}) * 32 + day({wall}) + 1]" if days else "FALSE"
    gap = f"{near_change} AND timezone({zone}, {instant}) <> {wall}"
    repeated = (f"{near_change} AND (timezone({zone}, to_timestamp(epoch({instant}) - 3600)) = {wall} "
                f"OR timezone({zone}, to_timestamp(epoch({instant}) + 3600)) = {wall})")
    flagged = [name for name in TIME_FIELDS if name in ctx.fields and not (name == basis and times.quarantine_implausible)]
    implausible = "".join(f", CASE WHEN {times.implausible(ctx, name)} THEN 'implausible_{name}' END" for name in flagged)
    return [
        f"{local} AS occurred_at",
        f"{instant} AS occurred_at_utc",
        f"CAST({local} AS TIME) = TIME '00:00:00' AS time_is_midnight",
        f"{times.local(ctx, 'occurred_at')} AS occurred_start_at",
        f"{times.local(ctx, 'reported_at')} AS reported_at",
        f"{times.local(ctx, 'occurred_end_at')} AS occurred_end_at",
        f"COALESCE(_unknown_{basis}, FALSE) AS time_unknown",
        f"""NULLIF(concat_ws(',', CASE WHEN {gap} THEN 'dst_gap' WHEN {repeated} THEN 'dst_ambiguous' END
                              {implausible}), '') AS time_flag""",
    ]


@functools.lru_cache(maxsize=32)
def _clock_change_days(zone: str, first_year: int, last_year: int) -> str | None:
    """A SQL list of 416 booleans indexed by ``month * 32 + day + 1``: TRUE on the calendar days (and the days
    either side) on which ``zone`` changed its UTC offset in some year between ``first_year`` and ``last_year``;
    None when it never did. Lets the daylight-saving checks skip every other row cheaply."""
    tz, day = ZoneInfo(zone), datetime(max(first_year, 1), 1, 1, tzinfo=timezone.utc)
    end = datetime(min(last_year, 9998) + 1, 1, 1, tzinfo=timezone.utc)
    marks = [False] * 416
    offset = day.astimezone(tz).utcoffset()
    while day < end:
        following = day + timedelta(days=1)
        next_offset = following.astimezone(tz).utcoffset()
        if next_offset != offset:
            for k in (-1, 0, 1, 2):
                near = (day + timedelta(days=k)).date()
                marks[near.month * 32 + near.day] = True
        day, offset = following, next_offset
    return "[" + ", ".join("true" if m else "false" for m in marks) + "]" if any(marks) else None


def _flag_counts(con: duckdb.DuckDBPyConnection, *, stage: str) -> dict[str, int]:
    """Loaded rows per doubt: location_flag and time_flag values (comma-separated lists are split) and
    'time_unknown'; rows with several doubts count under each."""
    have = _columns(con, stage)
    parts = [f"SELECT unnest(string_split({c}, ',')) AS flag FROM {X.ident(stage)} WHERE _q IS NULL AND {c} IS NOT NULL"
             for c in ("location_flag", "time_flag") if c in have]
    if "time_unknown" in have:
        parts.append(f"SELECT 'time_unknown' AS flag FROM {X.ident(stage)} WHERE _q IS NULL AND time_unknown")
    if "geom_repaired" in have:
        parts.append(f"SELECT 'geom_repaired' AS flag FROM {X.ident(stage)} WHERE _q IS NULL AND geom_repaired")
    if not parts:
        return {}
    return dict(con.execute(f"SELECT flag, count(*) FROM ({' UNION ALL '.join(parts)}) GROUP BY ALL ORDER BY ALL")
                .fetchall())


def _indicator_columns(ctx: _Ctx) -> list[tuple[str, str]]:
    """(indicator name, landing column) pairs of an area_indicators load: ``options.indicators`` (name ->
    source field) when given, else every source column except the mapped ones, ``options.exclude`` and
    ``_geometry``, named as published."""
    wanted = ctx.options.get("indicators")
    if wanted:
        out = []
        for name, src in dict(wanted).items():
            col = ctx.resolver.find(src)
            if col is None:
                ctx.resolver.missing.append(f"indicators.{name}={src}")
            else:
                out.append((str(name), col))
        return out
    named = [v for value in ctx.fields.values() for v in ([value] if isinstance(value, str) else value)]
    skip = {ctx.resolver.find(v) for v in named} | {"_geometry"}
    skip |= {ctx.resolver.find(str(v)) for v in ctx.options.get("exclude") or []}
    return [(c, c) for c in ctx.resolver.source_columns() if c not in skip]


def _geometry_select(ctx: _Ctx, *, repair: bool = False) -> str:
    """Parse geometry (GeoJSON / WKT) and resolve lat/lon in the order: lat/lon fields, a '(lat, lon)'
    in the location text (the first pair of a cell holding several, or the last with options.location_pair =
    'last'; or a Socrata location object), the geometry, source_x/source_y + options.crs.

    ``repair`` (boundaries): an invalid polygon (a ring touching itself, a bow tie) is made valid with
    ST_MakeValid, its polygonal parts kept (``geom_repaired`` TRUE), so area joins never meet a GEOS
    TopologyException; a valid one is kept as published."""
    o = ctx.options
    gj = "TRY(ST_GeomFromGeoJSON(NULLIF(f_geometry, 'null')))"
    wkt = "TRY(ST_GeomFromText(f_wkt))"
    pair = str(o.get("location_pair") or "first")
    if pair not in LOCATION_PAIRS:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.location_pair must be one of {LOCATION_PAIRS}, "
                         f"got {pair!r}")
    loc = X.latlon_pair("f_location", which=pair)
    loc_json_lat = ("CASE WHEN f_location LIKE '{%' AND json_valid(f_location) THEN COALESCE("
                    "TRY_CAST(json_extract_string(f_location, '$.latitude') AS DOUBLE), "
                    "TRY_CAST(json_extract_string(f_location, '$.coordinates[1]') AS DOUBLE)) END")
    loc_json_lon = ("CASE WHEN f_location LIKE '{%' AND json_valid(f_location) THEN COALESCE("
                    "TRY_CAST(json_extract_string(f_location, '$.longitude') AS DOUBLE), "
                    "TRY_CAST(json_extract_string(f_location, '$.coordinates[0]') AS DOUBLE)) END")
    crs = o.get("crs")
    transform = "NULL"
    if crs and str(crs).upper() not in ("EPSG:4326", "WGS84"):
        transform = (f"ST_Transform(ST_Point(TRY_CAST(f_source_x AS DOUBLE), TRY_CAST(f_source_y AS DOUBLE)), "
                     f"{X.crs_literal(crs)}, 'EPSG:4326', always_xy := true)")
    elif crs:
        transform = "ST_Point(TRY_CAST(f_source_x AS DOUBLE), TRY_CAST(f_source_y AS DOUBLE))"
    label = "COALESCE(TRY(ST_PointOnSurface(_g0)), ST_Centroid(_g0))"
    point = f"CASE WHEN ST_GeometryType(_g0) = 'POINT' THEN _g0 ELSE {label} END"
    pt = f"""CASE
        WHEN TRY_CAST(f_lat AS DOUBLE) IS NOT NULL AND TRY_CAST(f_lon AS DOUBLE) IS NOT NULL
            THEN {{'lat': TRY_CAST(f_lat AS DOUBLE), 'lon': TRY_CAST(f_lon AS DOUBLE), 'how': 'fields'}}
        WHEN TRY_CAST(NULLIF({loc}.lat, '') AS DOUBLE) IS NOT NULL
            THEN {{'lat': TRY_CAST({loc}.lat AS DOUBLE), 'lon': TRY_CAST({loc}.lon AS DOUBLE), 'how': 'location'}}
        WHEN {loc_json_lat} IS NOT NULL AND {loc_json_lon} IS NOT NULL
            THEN {{'lat': {loc_json_lat}, 'lon': {loc_json_lon}, 'how': 'location'}}
        WHEN _g0 IS NOT NULL AND NOT ST_IsEmpty(_g0)
            THEN {{'lat': ST_Y({point}), 'lon': ST_X({point}), 'how': 'geometry'}}
        WHEN TRY_CAST(f_source_x AS DOUBLE) IS NOT NULL AND TRY_CAST(f_source_y AS DOUBLE) IS NOT NULL
             AND {X.lit(crs or '')} <> ''
            THEN {{'lat': ST_Y({transform}), 'lon': ST_X({transform}), 'how': 'source_xy'}}
        END"""
    flag = _location_flag(ctx, transform=transform)
    g0 = "COALESCE(_gj, _gw) AS _g0"
    if repair:
        # part by part first: a degenerate part (four equal points, in LA's neighbourhoods) makes ST_MakeValid of
        # the whole fail ("Overlay input is mixed-dimension"); then the polygonal parts together (overlaps merged)
        published = "COALESCE(_gj, _gw)"
        parts = f"ST_Collect(list_transform(ST_Dump({published}), d -> ST_CollectionExtract(ST_MakeValid(d.geom), 3)))"
        fixed = f"ST_CollectionExtract(ST_MakeValid(ST_CollectionExtract({parts}, 3)), 3)"
        g0 = (f"CASE WHEN NOT ST_IsValid({published}) THEN {fixed} ELSE {published} END AS _g0, "
              f"COALESCE(NOT ST_IsValid({published}), FALSE) AS geom_repaired")
    # nested sub-selects keep each expression written once
    kept = f"(location_flag IS NULL OR location_flag IN ({', '.join(X.lit(f) for f in _KEPT_LOCATION_FLAGS)}))"
    return f"""SELECT * FROM (SELECT *, CASE WHEN {kept} THEN _pt.lat END AS lat, CASE WHEN {kept} THEN _pt.lon END AS lon,
                   COALESCE(_g0, CASE WHEN {kept} THEN ST_Point(_pt.lon, _pt.lat) END) AS geom
            FROM (SELECT *, {flag} AS location_flag FROM (SELECT *, {pt} AS _pt FROM (SELECT *, {g0} FROM
                  (SELECT *, {gj} AS _gj, {wkt} AS _gw, TRY_CAST(f_source_x AS DOUBLE) AS source_x,
                          TRY_CAST(f_source_y AS DOUBLE) AS source_y,
                          CASE WHEN f_source_x IS NOT NULL THEN CAST({ctx.params.add(crs)} AS VARCHAR) END AS source_crs
                   FROM t)))))"""


def _location_flag(ctx: _Ctx, *, transform: str) -> str:
    """SQL CASE naming the first doubt about the point ``_pt`` (see the location_flag column comment), from the
    options bbox (+ bbox_tolerance_m), coordinate_sentinels and xy_tolerance_m. Points flagged missing,
    invalid, sentinel, swapped or misplaced_decimal lose their lat/lon (the row is kept, the published values
    stay in the raw record); outside_city and coordinates_disagree keep them. Nothing is moved."""
    o, p = ctx.options, ctx.params
    valid = "(abs(_pt.lat) <= 90 AND abs(_pt.lon) <= 180)"
    sentinels = [float(v) for v in o.get("coordinate_sentinels", DEFAULT_COORDINATE_SENTINELS)]
    whens = ["WHEN _pt.lat IS NULL THEN 'missing_coordinates'",
             "WHEN _pt.lat = 0 AND _pt.lon = 0 THEN 'invalid_coordinates'"]
    if sentinels:  # floats we converted, written as SQL literals
        listed = ", ".join(f"CAST({v!r} AS DOUBLE)" for v in sentinels)
        whens.append(f"WHEN _pt.lat IN ({listed}) OR _pt.lon IN ({listed}) THEN 'sentinel_coordinates'")
    bbox = o.get("bbox")
    inside = None
    if bbox is not None:
        if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4):
            raise ValueError(f"{ctx.city}/{ctx.dataset}: options.bbox must be [min_lat, min_lon, max_lat, max_lon]")
        tolerance = float(o.get("bbox_tolerance_m") or 0)
        if tolerance < 0:
            raise ValueError(f"{ctx.city}/{ctx.dataset}: options.bbox_tolerance_m must be >= 0, got {tolerance}")
        min_lat, min_lon, max_lat, max_lon = (float(v) for v in bbox)
        dlat = tolerance / _METRES_PER_DEGREE
        dlon = tolerance / (_METRES_PER_DEGREE * max(math.cos(math.radians((min_lat + max_lat) / 2)), 0.01))
        a, b, c, d = (p.add(v) for v in (min_lat - dlat, min_lon - dlon, max_lat + dlat, max_lon + dlon))

        def inside(lat: str, lon: str) -> str:
            return f"({lat} BETWEEN {a} AND {c} AND {lon} BETWEEN {b} AND {d})"

        scales = p.add([10.0 ** k for k in range(-6, 7)])
        whens += [f"WHEN NOT {inside('_pt.lat', '_pt.lon')} AND {inside('_pt.lon', '_pt.lat')} "
                  "THEN 'swapped_coordinates'",
                  f"WHEN NOT {inside('_pt.lat', '_pt.lon')} AND len(list_filter({scales}, f -> _pt.lat * f BETWEEN "
                  f"{a} AND {c})) > 0 AND len(list_filter({scales}, f -> _pt.lon * f BETWEEN {b} AND {d})) > 0 "
                  "THEN 'misplaced_decimal'"]
    whens.append(f"WHEN NOT {valid} THEN 'invalid_coordinates'")
    if inside is not None:
        whens.append(f"WHEN NOT {inside('_pt.lat', '_pt.lon')} THEN 'outside_city'")
    xy_tolerance = o.get("xy_tolerance_m")
    if xy_tolerance is not None and transform != "NULL":
        whens.append(f"WHEN _pt.how <> 'source_xy' AND TRY_CAST(f_source_x AS DOUBLE) IS NOT NULL "
                     f"AND TRY_CAST(f_source_y AS DOUBLE) IS NOT NULL AND ST_Distance_Sphere(ST_Point(_pt.lat, _pt.lon), "
                     f"ST_Point(ST_Y({transform}), ST_X({transform}))) > {p.add(float(xy_tolerance))} "
                     "THEN 'coordinates_disagree'")
    return f"CASE {' '.join(whens)} END"


def _quarantine_checks(ctx: _Ctx, *, table: str, has_id: bool) -> str:
    def q(reason: str, fld: str) -> str:
        return f"{{'reason': {X.lit(reason)}, 'field': {X.lit(fld)}}}"

    # a row the profile's keep/drop rules exclude is set aside first, naming the rule (never a silent drop)
    checks = [f"WHEN _x IS NOT NULL THEN {{'reason': {X.lit(EXCLUDED_REASON)}, 'field': _x}}"]
    if has_id:
        checks += [f"WHEN source_id IS NULL THEN {q('missing_source_id', 'source_id')}",
                   f"WHEN _dup > 1 THEN {q('duplicate_source_id', 'source_id')}"]
    if table == "incidents":
        times = _TimeSettings.of(ctx)
        basis = times.basis
        checks += [f"WHEN f_{basis} IS NULL THEN {q('missing_required', basis)}"]
        for name in sorted(TIME_FIELDS, key=lambda n: n != basis):  # the incident time's reasons first
            partner = _time_partner(name)
            checks.append(f"WHEN f_{name} IS NOT NULL AND _w_{name} IS NULL THEN {q('bad_timestamp', name)}")
            if partner in ctx.fields:
                checks.append(f"WHEN f_{partner} IS NOT NULL AND _tod_{name} IS NULL "
                              f"THEN {q('bad_timestamp', partner)}")
            if name == basis and times.quarantine_implausible:  # other times are flagged (time_flag)
                checks.append(f"WHEN {times.implausible(ctx, name)} THEN {q('implausible_date', name)}")
    if table == "service_requests":
        times = _TimeSettings.of(ctx)
        checks.append(f"WHEN f_opened_at IS NULL THEN {q('missing_required', 'opened_at')}")
        for name in REQUEST_TIME_FIELDS:
            partner = _time_partner(name)
            checks.append(f"WHEN f_{name} IS NOT NULL AND _w_{name} IS NULL THEN {q('bad_timestamp', name)}")
            if partner in ctx.fields:
                checks.append(f"WHEN f_{partner} IS NOT NULL AND _tod_{name} IS NULL "
                              f"THEN {q('bad_timestamp', partner)}")
        checks.append(f"WHEN {times.implausible(ctx, 'opened_at')} THEN {q('implausible_date', 'opened_at')}")
    if table in POINT_TABLES + ("boundaries",):
        checks += [f"WHEN NULLIF(f_geometry, 'null') IS NOT NULL AND _gj IS NULL THEN {q('bad_geometry', 'geometry')}",
                   f"WHEN f_wkt IS NOT NULL AND _gw IS NULL THEN {q('bad_geometry', 'wkt')}"]
    if table == "boundaries":
        checks.append(f"WHEN _g0 IS NULL THEN {q('missing_geometry', 'geometry')}")
    if table in ("spending", "contract_revisions", "place_spending"):
        checks += [f"WHEN f_amount IS NULL THEN {q('missing_required', 'amount')}",
                   f"WHEN amount IS NULL THEN {q('bad_amount', 'amount')}"]
    if table in ("spending", "place_spending"):
        checks.append(f"WHEN f_fiscal_year IS NOT NULL AND fiscal_year IS NULL THEN {q('bad_number', 'fiscal_year')}")
    if table == "contract_revisions":
        checks += [f"WHEN f_contract_number IS NULL THEN {q('missing_required', 'contract_number')}",
                   "WHEN _bad_date IS NOT NULL THEN {'reason': 'bad_timestamp', 'field': _bad_date}"]
    if table == "place_spending":
        checks.append(f"WHEN f_area_code IS NULL THEN {q('missing_required', 'area_code')}")
    if table == "outcomes":
        checks += [f"WHEN f_entity_name IS NULL THEN {q('missing_required', 'entity_name')}",
                   f"WHEN {_money.bad_value_check()} THEN {q('bad_number', 'value')}"]
    if table == "iucr_codes":
        checks.append(f"WHEN f_iucr IS NULL THEN {q('missing_required', 'iucr')}")
    if table == "area_indicators":
        checks += [f"WHEN f_area_code IS NULL AND NOT _is_city THEN {q('missing_required', 'area_code')}",
                   "WHEN len(list_filter(_ind, x -> x.text IS NOT NULL AND "
                   f"TRY_CAST(replace(x.text, ',', '') AS DOUBLE) IS NULL)) > 0 THEN {q('bad_number', 'value')}"]
    if table == "population":
        checks += [f"WHEN f_population IS NULL THEN {q('missing_required', 'population')}",
                   f"WHEN population IS NULL THEN {q('bad_number', 'population')}"]
    return " ".join(checks) or "WHEN FALSE THEN NULL"


def _record_dataset(con: duckdb.DuckDBPyConnection, *, ctx: _Ctx, table: str, source_meta: dict[str, Any],
                    rows: tuple[int, int, int], mode: str = "replace", watermark: str | None = None) -> None:
    m = dict(source_meta or {})
    con.execute("DELETE FROM datasets WHERE city = $city AND dataset = $dataset",
                {"city": ctx.city, "dataset": ctx.dataset})
    con.execute("""INSERT INTO datasets (city, dataset, protocol, portal_url, dataset_id, table_name, kind, title,
                       licence, fetched_at, loaded_at, rows_in, rows_loaded, rows_quarantined, synthetic, role, run_id,
                       load_mode, watermark, row_unit)
                   VALUES ($city, $dataset, $protocol, $portal_url, $dataset_id, $table, $kind, $title, $licence,
                           $fetched_at, current_timestamp, $rin, $rl, $rq, $synthetic, $role, $run_id, $mode, $wm,
                           $row_unit)""",
                {"city": ctx.city, "dataset": ctx.dataset, "protocol": m.get("protocol"),
                 "portal_url": m.get("portal_url") or m.get("url"), "dataset_id": m.get("dataset_id"),
                 "table": table, "kind": ctx.kind, "title": m.get("title"), "licence": m.get("licence"),
                 "fetched_at": ctx.fetched_at, "rin": rows[0], "rl": rows[1], "rq": rows[2],
                 "synthetic": bool(m.get("synthetic", False)),
                 "role": str(ctx.options.get("role") or m.get("role") or "data"), "run_id": ctx.run_id,
                 "mode": mode, "wm": watermark, "row_unit": _row_unit(ctx, table)})


def _row_unit(ctx: _Ctx, table: str) -> str | None:
    """What one row of an incidents dataset counts (options.row_unit, default 'case'); None for other tables."""
    if table != "incidents":
        return None
    unit = str(ctx.options.get("row_unit") or "case")
    if unit not in ROW_UNITS:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.row_unit must be one of {ROW_UNITS}, got {unit!r}")
    return unit
