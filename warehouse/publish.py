"""Publish the warehouse for Datasette: a SQLite database plus its ``metadata.json``.

``publish(db_path, to_dir, city=None)`` writes ``<to_dir>/<city>.db`` (``civicmash.db`` without a city) and
``<to_dir>/metadata.json``:

- the canonical tables journalists read (:data:`PUBLISHED_TABLES`) and every analysis view of
  :mod:`warehouse.views`, the views **materialised as tables** (Datasette reads plain SQLite); the street graph's
  nodes, the walking areas (isochrones) and the ``raw_*`` staging tables are left out (large, and not what a
  reader filters);
- values keep their meaning in SQLite's types: geometry as WKT text (``POINT (-87.6 41.8)``), local times as
  ``YYYY-MM-DD HH:MM:SS`` text (SQLite's date functions read it), absolute times (``TIMESTAMPTZ``) as UTC text
  with ``+00:00``, booleans as 0/1, lists, maps and JSON as JSON text, decimals as REAL;
- per-row provenance: every row keeps ``city``, ``dataset`` and ``source_id`` (the record's id at the portal)
  and ``fetched_at``; tables and views of source records also get ``load_run_id``, the ingest run that last
  loaded the row's dataset (``datasets.run_id``), so a row leads to the ``datasets`` row (portal URL, licence)
  and the ``ingest_runs`` row;
- ``metadata.json``: database, table and column descriptions from the warehouse's own ``COMMENT ON`` (view
  columns from :mod:`warehouse.view_columns` when a comment is missing), source, source URL, licence and fetched
  time per table from the ``datasets`` table, facets (type, area, date), ``sortable_columns``, and one canned
  query per figure of the maps (:mod:`warehouse.figures`), each with its title and definition.

Every value from the warehouse (portal text) goes into SQLite as a bound parameter (``executemany``); only
catalog names (checked against DuckDB's catalog, then quoted) reach SQL text. The metadata is JSON-serialised.
Nothing is read from the environment, so no secret can reach the output.
"""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import sys
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from . import _sqlexpr as X
from .db import connect

__all__ = [
    "PUBLISHED_TABLES",
    "SQLITE_FIGURE_SQL",
    "PublishResult",
    "canned_queries",
    "datasette_command",
    "publish",
    "query_name",
]

PUBLISHED_TABLES = (
    "incidents", "incidents_history", "venues", "services", "service_schedules", "service_hours",
    "service_requests", "service_coverage", "street_edges", "street_links", "street_coverage", "spending",
    "contract_revisions", "place_spending", "outcomes", "hotspot_cells", "boundaries", "area_slots", "population", "area_indicators", "iucr_codes", "offence_unmapped", "quarantine",
    "datasets", "ingest_runs", "dataset_health",
)
"""Canonical tables published (when the warehouse has them), before the views of ``warehouse.views.VIEWS``. The
street graph's edges and links are in (the safe route's lengths are sums over them); its nodes are not."""

# Facets Datasette shows above a table: the first of these columns each table has, in this order.
_TYPE_FACETS = ("primary_type", "offence", "category", "venue_type", "licence_type", "request_type", "department",
                "fund_type", "kind", "status", "reason", "change", "table_name", "indicator")
_PAIRED_TYPES = ("primary_type", "offence")   # incidents: the city's own type and the canonical category
_SLOTS = ("beat", "district", "ward", "community_area")   # the incidents' area columns (area_slots.slot)
_AREA_FACETS = ("community_area", "district", "ward", "area_code", "area_kind")
_DATE_FACETS = ("occurred_at", "opened_at", "month", "licence_start", "checked_at", "started_at")
_LABELS = ("name", "title")

LOAD_RUN_COLUMN = "load_run_id"
LOAD_RUN_DESCRIPTION = ("Provenance: the ingest run (ingest_runs.run_id) that last loaded this row's dataset "
                        "(datasets.run_id for the row's city and dataset). With dataset and source_id it traces the "
                        "row to its source record; fetched_at is when this row itself was downloaded.")
_GEOMETRY_NOTE = " Published as WKT text (e.g. 'POINT (-87.6 41.8)')."
_TZ_NOTE = " Published as UTC text ('YYYY-MM-DD HH:MM:SS+00:00')."


@dataclass
class PublishResult:
    database: Path
    metadata: Path
    tables: dict[str, int] = field(default_factory=dict)   # published table -> rows
    queries: list[str] = field(default_factory=list)        # canned query names
    missing_figures: list[str] = field(default_factory=list)  # figure keys without a SQLite form


# --- figures as canned queries ---------------------------------------------------------------------------

_INC_WHERE = ("FROM incidents_current\nWHERE city = :city AND occurred_at IS NOT NULL\n"
              "  AND occurred_at >= date(:from) AND occurred_at < date(:to, '+1 day')")
# The city's primary area column (area_slots.is_primary; the profile's [areas] primary), read per city so one
# published database serves cities whose primary areas sit in different incidents columns.
_PRIMARY_SLOT = ("(SELECT slot FROM area_slots WHERE area_slots.city = :city AND is_primary "
                 "AND slot IS NOT NULL LIMIT 1)")
_SLOT_VALUE = ("CASE " + _PRIMARY_SLOT + " WHEN 'beat' THEN beat WHEN 'district' THEN district "
               "WHEN 'ward' THEN ward WHEN 'community_area' THEN community_area END")
_AREA = "coalesce(nullif(CAST(" + _SLOT_VALUE + " AS TEXT), ''), '(not given)') = :area"
_ROUTE_LENGTH = (
    "WITH route AS (SELECT CAST(value AS INTEGER) AS edge_id FROM json_each(coalesce(nullif(:edge_ids, ''), '[]'))),\n"
    "streets AS (\n"
    "  SELECT edge_id, CAST(length_m AS REAL) AS length_m FROM street_edges\n"
    "  WHERE city = :city AND superseded_by IS NULL\n"
    "  UNION ALL\n"
    "  SELECT link_id, length_m FROM street_links WHERE city = :city)\n"
    "SELECT round(sum(s.length_m), 1) AS length_m, round(sum(s.length_m) / 1.3 / 60, 1) AS minutes,\n"
    "       count(*) AS edges\n"
    "FROM route r JOIN streets s USING (edge_id)")
_ROUTE_EXPOSURE = ("SELECT round(sum(e.value), 1) AS exposure, count(*) AS edges\n"
                   "FROM json_each(coalesce(nullif(:edge_exposure, ''), '[]')) e")
_COVERAGE = ("FROM service_coverage\n"
             "WHERE city = :city AND category = :category AND threshold_min = CAST(:minutes AS INTEGER)")
_COVERAGE_GAPS = ("SELECT count(*) FILTER (WHERE share_area_beyond > 0.5) AS areas_mostly_beyond,\n"
                  "       count(*) AS areas_measured,\n       sum(residents_beyond) AS residents_beyond\n"
                  + _COVERAGE + "\n  AND network_status <> 'none'")
_YEAR = "(:year = 'all' OR fiscal_year = CAST(:year AS INTEGER))"
_SPEND = f"FROM spending\nWHERE city = :city AND amount IS NOT NULL AND {_YEAR}"

SQLITE_FIGURE_SQL: dict[str, str] = {
    "explorer.total": "SELECT count(*) AS incidents\n" + _INC_WHERE,
    "explorer.type_count": "SELECT count(*) AS incidents\n" + _INC_WHERE + "\n  AND primary_type = :primary_type",
    "explorer.area_count": "SELECT count(*) AS incidents\n" + _INC_WHERE + "\n  AND " + _AREA,
    "explorer.type_available": "SELECT count(*) AS incidents\n" + _INC_WHERE + "\n  AND primary_type = :primary_type",
    "explorer.description_count": ("SELECT count(*) AS incidents\n" + _INC_WHERE
                                   + "\n  AND coalesce(nullif(description, ''), '(no description)') = :description"),
    "explorer.no_coordinates": "SELECT count(*) AS incidents\n" + _INC_WHERE + "\n  AND (lat IS NULL OR lon IS NULL)",
    "explorer.at_midnight": ("SELECT count(*) AS incidents\n" + _INC_WHERE
                             + "\n  AND substr(occurred_at, 12, 5) = '00:00'"),
    "explorer.rate_per_1000": (
        "WITH residents AS (\n"
        "  SELECT p.population FROM population p\n"
        "  WHERE p.city = :city AND p.area_kind = :area_kind AND p.area_code = :area\n"
        "    AND NOT EXISTS (SELECT 1 FROM datasets d WHERE d.city = p.city AND d.dataset = p.dataset\n"
        "                    AND d.role = 'fixture')\n"
        "  ORDER BY p.year DESC NULLS LAST, p.fetched_at DESC NULLS LAST, p.dataset LIMIT 1),\n"
        "matching AS (\n"
        "  SELECT count(*) AS incidents,\n"
        "         count(*) FILTER (WHERE instr(',' || coalesce(filled_from_coordinates, '') || ',',\n"
        "                                      ',' || " + _PRIMARY_SLOT + " || ',') > 0)\n"
        "           AS filled_from_coordinates\n"
        "  " + _INC_WHERE.replace("\n", "\n  ") + "\n    AND " + _AREA + ")\n"
        "SELECT round(m.incidents * 1000.0 / r.population, 2) AS per_1000, m.incidents, r.population,\n"
        "       m.filled_from_coordinates\nFROM matching m, residents r WHERE r.population > 0"),
    "safe_route.shortest_m": _ROUTE_LENGTH,
    "safe_route.safer_m": _ROUTE_LENGTH,
    "safe_route.shortest_exposure": _ROUTE_EXPOSURE,
    "safe_route.safer_exposure": _ROUTE_EXPOSURE,
    "locator.nearest_minutes": (
        "SELECT name, category, lat, lon,\n       round(CAST(:dist_m AS REAL) / 1.3 / 60, 1) AS minutes\n"
        "FROM services\nWHERE city = :city AND category = :category AND name = :name\n"
        "  AND lat = CAST(:lat AS REAL) AND lon = CAST(:lon AS REAL)"),
    "locator.gap_share": ("SELECT round(share_area_beyond * 100) AS pct_beyond, median_min, residents_beyond, "
                          "network_status\n" + _COVERAGE + "\n  AND area_code = :area"),
    "locator.gap_areas": _COVERAGE_GAPS,
    "locator.residents_beyond": _COVERAGE_GAPS,
    "spending.total": "SELECT round(sum(amount), 2) AS total\n" + _SPEND,
    "spending.department": ("SELECT round(sum(amount), 2) AS total\n" + _SPEND
                            + "\n  AND coalesce(nullif(trim(department), ''), '(department not given)') = :department"),
    "spending.fund": ("SELECT round(sum(amount), 2) AS total\n" + _SPEND
                      + "\n  AND coalesce(nullif(trim(fund), ''), '(fund not given)') = :fund"),
    "spending.other_departments": (
        "SELECT round(sum(total), 2) AS total, count(*) AS departments\n"
        "FROM (SELECT coalesce(nullif(trim(department), ''), '(department not given)') AS department,\n"
        "             sum(amount) AS total\n"
        "      " + _SPEND.replace("\n", "\n      ") + "\n"
        "      GROUP BY 1 ORDER BY total DESC, department\n"
        "      LIMIT -1 OFFSET CAST(:top AS INTEGER))"),
}
"""The SQLite form of a figure (named parameters ``:name``), by figure key, for the figures whose registry entry
has no ``sqlite_sql``. Over the published tables, same rows as the figure's DuckDB SQL over the warehouse."""


def query_name(key: str) -> str:
    """The canned query's name for figure ``key``: ``explorer.total`` -> ``explorer_total`` (a dot in a Datasette
    URL path would be read as a format extension, ``.json``/``.csv``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", key)


def example_params(con, city: str) -> dict[str, dict[str, str]]:
    """Per page, parameter values (text, as Datasette and ``civicmash sql --param`` pass them) that make the
    page's figures of ``city`` give a number: the explorer's opening window (the 90 days of
    incidents_last_90_days), its most common type and area; a few street segments; a located service and a
    measured coverage row of its category; the first fiscal year, its largest department and fund. A value the
    warehouse cannot give is left out."""
    explorer = {"city": city}
    route = {"city": city}
    locator = {"city": city, "dist_m": "800"}
    spending = {"city": city, "top": "5", "year": "all"}

    def one(sql: str, *args):
        try:
            return con.execute(sql, [city, *args]).fetchone()
        except Exception:   # noqa: BLE001 - a table an older warehouse lacks: no example from it
            return None

    row = one("SELECT CAST(max(occurred_at) AS DATE) - 89, CAST(max(occurred_at) AS DATE) FROM incidents_current "
              "WHERE city = ?")   # the window of incidents_last_90_days, the explorer's opening window
    if row and row[0] is not None:
        explorer["from"], explorer["to"] = str(row[0]), str(row[1])
    row = one("SELECT primary_type FROM incidents_last_90_days WHERE city = ? AND primary_type IS NOT NULL "
              "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    if row:
        explorer["primary_type"] = row[0]
    row = one("SELECT coalesce(nullif(description, ''), '(no description)') FROM incidents_last_90_days "
              "WHERE city = ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    if row:
        explorer["description"] = row[0]
    primary = one("SELECT slot, kind FROM area_slots WHERE city = ? AND is_primary AND slot IS NOT NULL LIMIT 1")
    if primary and primary[0] in _SLOTS:   # our own column names, never data
        explorer["area_kind"] = primary[1]
        row = one(f"SELECT CAST({primary[0]} AS VARCHAR) FROM incidents_last_90_days WHERE city = ? "
                  f"AND {primary[0]} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
        if row:
            explorer["area"] = row[0]
    row = one("SELECT to_json(list(edge_id ORDER BY edge_id)) FROM (SELECT edge_id FROM street_edges "
              "WHERE city = ? AND superseded_by IS NULL ORDER BY edge_id LIMIT 5)")
    if row and row[0] is not None:
        route["edge_ids"] = str(row[0])
        route["edge_exposure"] = json.dumps([0.5 * (i + 1) for i in range(len(json.loads(str(row[0]))))])
    row = one("SELECT name, category, CAST(lat AS VARCHAR), CAST(lon AS VARCHAR) FROM services WHERE city = ? "
              "AND lat IS NOT NULL AND name IS NOT NULL AND category IS NOT NULL "
              "ORDER BY category IN (SELECT category FROM service_coverage) DESC, category, name LIMIT 1")
    if row:
        locator.update(name=row[0], category=row[1], lat=row[2], lon=row[3])
    row = one("SELECT category, CAST(threshold_min AS VARCHAR), area_code FROM service_coverage WHERE city = ? "
              "AND network_status <> 'none' ORDER BY category = ? DESC, category, threshold_min, area_code LIMIT 1",
              locator.get("category", ""))
    if row:
        locator["minutes"], locator["area"] = row[1], row[2]
        locator.setdefault("category", row[0])
    row = one("SELECT CAST(min(fiscal_year) AS VARCHAR) FROM spending WHERE city = ?")
    if row and row[0] is not None:
        spending["year"] = row[0]
        for col in ("department", "fund"):   # our own column names, not portal text
            got = one(f"SELECT coalesce(nullif(trim({col}), ''), '({col} not given)') FROM spending WHERE city = ? "
                      f"AND amount IS NOT NULL AND fiscal_year = CAST(? AS INTEGER) GROUP BY 1 "
                      f"ORDER BY sum(amount) DESC, 1 LIMIT 1", spending["year"])
            if got:
                spending[col] = got[0]
    # the money pages' figures (issue 16)
    from .money_figures import example_params as money_examples

    money = money_examples(con, city)
    return {"explorer": explorer, "safe_route": route, "locator": locator,
            "spending": {**money["spending"], **spending}, "providers": money["providers"]}


def _figures() -> list:
    try:
        from .figures import FIGURES
    except ImportError:   # the registry is optional: without it there are no canned queries
        return []
    return list(FIGURES.values())


def canned_queries(*, examples: dict[str, dict[str, str]] | None = None) -> tuple[dict, list[str]]:
    """Datasette ``queries`` for every figure of the maps that has a SQLite form, and the keys of figures left
    out (none). ``examples``: per page, parameter values (:func:`example_params`) linked from each query's
    description when they cover all of its parameters."""
    queries: dict[str, dict] = {}
    missing: list[str] = []
    for fig in _figures():
        sql = getattr(fig, "sqlite_sql", None) or SQLITE_FIGURE_SQL.get(fig.key)
        if not sql:
            missing.append(fig.key)
            continue
        params = _sqlite_params(sql)
        definition = re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", r":\1", (getattr(fig, "definition", "") or "").strip())
        text = f"{fig.title}. Figure {fig.key} of the {fig.page} page."
        if definition:
            text += f" Definition: {definition}"
        entry = {"title": fig.title, "sql": sql, "description": text}
        if params:
            entry["params"] = params
            values = {p: (examples or {}).get(fig.page, {}).get(p) for p in params}
            if all(v is not None for v in values.values()):
                link = "?" + urllib.parse.urlencode(values)
                shown = ", ".join(f"{k}={v}" for k, v in values.items())
                entry["description_html"] = (
                    f"<p>{html.escape(text)}</p><p><a href=\"{html.escape(link)}\">Run it with "
                    f"{html.escape(shown)}</a></p><p>The same figure on the DuckDB warehouse: "
                    f"<code>{html.escape(_command(fig, values))}</code></p>")
        queries[query_name(fig.key)] = entry
    return queries, missing


def _command(fig, values: dict[str, str]) -> str:
    """``civicmash sql "<the figure's DuckDB SQL>" --param ...`` with ``values`` (empty when it cannot be said)."""
    try:
        from .figures import command
    except ImportError:
        return ""
    return command(fig.sql, {p: values.get(p, "") for p in fig.params})


def _sqlite_params(sql: str) -> list[str]:
    """The ``:name`` parameters of a SQLite statement in order of first appearance (string literals skipped)."""
    out: list[str] = []
    for m in re.finditer(r"'(?:[^']|'')*'|(?<!:):([A-Za-z_][A-Za-z0-9_]*)", sql):
        if m.group(1) and m.group(1) not in out:
            out.append(m.group(1))
    return out


# --- DuckDB -> SQLite ------------------------------------------------------------------------------------

def _convert(col: str, typ: str) -> tuple[str, str]:
    """(DuckDB select expression, SQLite declared type) publishing column ``col`` of DuckDB type ``typ``."""
    q = X.ident(col)
    t = typ.upper()
    if t == "GEOMETRY":
        return f"ST_AsText({q})", "TEXT"
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return f"CAST(timezone('UTC', {q}) AS VARCHAR) || '+00:00'", "TEXT"
    if t.endswith("]") or t.startswith(("MAP", "STRUCT", "UNION")):   # lists (VARCHAR[]) first: JSON, not '[a, b]'
        return f"CAST(to_json({q}) AS VARCHAR)", "TEXT"
    if t.startswith(("TIMESTAMP", "DATE", "TIME", "VARCHAR", "UUID", "INTERVAL")) or t == "JSON":
        return f"CAST({q} AS VARCHAR)", "TEXT"
    if t.startswith(("DECIMAL", "DOUBLE", "FLOAT", "REAL")):
        return f"CAST({q} AS DOUBLE)", "REAL"
    if t in ("BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"):
        return q, "INTEGER"
    if t in ("UBIGINT", "HUGEINT", "UHUGEINT"):
        return f"CAST({q} AS BIGINT)", "INTEGER"
    if t == "BLOB":
        return q, "BLOB"
    return f"CAST({q} AS VARCHAR)", "TEXT"


def _catalog(con) -> tuple[list[str], set[str]]:
    from .export import exportable_names

    names = exportable_names(con)
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' "
                                       "AND NOT internal AND database_name = current_database()").fetchall()}
    return names, views


def _published_names(names: list[str]) -> list[str]:
    from .views import VIEWS

    have = set(names)
    return [n for n in PUBLISHED_TABLES if n in have] + [v for v in VIEWS if v in have]


def publish(db_path: str | Path, to_dir: str | Path, *, city: str | None = None,
            batch_rows: int = 20_000) -> PublishResult:
    """Write the warehouse at ``db_path`` (opened read-only) as ``<to_dir>/<city or 'civicmash'>.db`` plus
    ``<to_dir>/metadata.json`` for Datasette; with ``city``, only that city's rows. Returns what was written.
    Raises ``ValueError`` for a city the warehouse has no dataset of."""
    to = Path(to_dir)
    to.mkdir(parents=True, exist_ok=True)
    name = city or "civicmash"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(f"city {city!r} is not a city slug (letters, digits, '_' or '-')")
    out = to / f"{name}.db"
    tmp = to / f".{name}.db.tmp"
    con = connect(db_path, read_only=True)
    try:
        names, views = _catalog(con)
        if "datasets" not in names:
            raise ValueError(f"{db_path} has no datasets table: not a civicmash warehouse")
        cities = [r[0] for r in con.execute("SELECT DISTINCT city FROM datasets ORDER BY 1").fetchall()]
        if city is not None and city not in cities:
            raise ValueError(f"the warehouse {db_path} has no dataset of city {city!r} "
                             f"(cities: {', '.join(cities) or 'none'})")
        published = _published_names(names)
        if tmp.exists():
            tmp.unlink()
        lite = sqlite3.connect(tmp)
        result = PublishResult(database=out, metadata=to / "metadata.json")
        columns: dict[str, list[tuple[str, str, str | None]]] = {}
        try:
            lite.execute("PRAGMA journal_mode = OFF")
            lite.execute("PRAGMA synchronous = OFF")
            for table in published:
                cols = _copy_relation(con, lite, table, city=city, batch_rows=batch_rows)
                columns[table] = cols
                result.tables[table] = lite.execute(f"SELECT count(*) FROM {X.ident(table)}").fetchone()[0]
                _index(lite, table, [c for c, _, _ in cols])
            lite.commit()
            lite.execute("ANALYZE")
            lite.commit()
        finally:
            lite.close()
        os.replace(tmp, out)
        meta, result.queries, result.missing_figures = _metadata(con, db_name=name, city=city, cities=cities,
                                                                 published=published, views=views, columns=columns)
        meta = _merge_published(meta, result.metadata, keep=name)
        tmp_meta = to / ".metadata.json.tmp"
        tmp_meta.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp_meta, result.metadata)
        return result
    finally:
        con.close()
        if tmp.exists():
            tmp.unlink()


def _copy_relation(con, lite: sqlite3.Connection, table: str, *, city: str | None,
                   batch_rows: int) -> list[tuple[str, str, str | None]]:
    """Create and fill SQLite table ``table`` from the DuckDB relation of that name; returns
    [(column, DuckDB type, provenance note)]."""
    described = con.execute(f"DESCRIBE SELECT * FROM {X.ident(table)}").fetchall()
    types = {c[0]: c[1] for c in described}
    selects: list[str] = []
    decl: list[str] = []
    cols: list[tuple[str, str, str | None]] = []
    for col, typ in types.items():
        expr, lite_type = _convert(col, typ)
        selects.append(f"{expr} AS {X.ident(col)}")
        decl.append(f"{X.ident(col)} {lite_type}")
        cols.append((col, typ, None))
    if {"city", "dataset", "source_id"} <= set(types) and "run_id" not in types and table != "datasets":
        selects.append(f"(SELECT any_value(d_.run_id) FROM datasets d_ WHERE d_.city = t_.city "
                       f"AND d_.dataset = t_.dataset) AS {LOAD_RUN_COLUMN}")
        decl.append(f"{LOAD_RUN_COLUMN} TEXT")
        cols.append((LOAD_RUN_COLUMN, "VARCHAR", LOAD_RUN_DESCRIPTION))
    where, params = "", []
    if city is not None and "city" in types:
        where, params = " WHERE t_.city = ?", [city]
    lite.execute(f"DROP TABLE IF EXISTS {X.ident(table)}")
    lite.execute(f"CREATE TABLE {X.ident(table)} ({', '.join(decl)})")
    insert = f"INSERT INTO {X.ident(table)} VALUES ({', '.join('?' * len(decl))})"
    cur = con.execute(f"SELECT {', '.join(selects)} FROM {X.ident(table)} t_{where}", params)
    while True:
        batch = cur.fetchmany(batch_rows)
        if not batch:
            break
        lite.executemany(insert, batch)
    return cols


def _index(lite: sqlite3.Connection, table: str, cols: list[str]) -> None:
    """Indexes for what Datasette filters and facets on: city, the record id, facet and date columns."""
    wanted = [c for c in ("city", "source_id", "edge_id", "link_id", *_TYPE_FACETS[:5], *_AREA_FACETS[:3], *_DATE_FACETS[:2])
              if c in cols]
    for c in wanted:
        lite.execute(f"CREATE INDEX {X.ident(f'idx_{table}_{c}')} ON {X.ident(table)} ({X.ident(c)})")


# --- metadata ---------------------------------------------------------------------------------------------

def _is_url(text: str | None) -> bool:
    return bool(text) and urllib.parse.urlsplit(text).scheme in ("http", "https")


def _metadata(con, *, db_name: str, city: str | None, cities: list[str], published: list[str], views: set[str],
              columns: dict[str, list[tuple[str, str, str | None]]]) -> tuple[dict, list[str], list[str]]:
    from .view_columns import VIEW_SOURCES, column_descriptions

    comments = dict(con.execute("""SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'
                                   UNION ALL SELECT view_name, comment FROM duckdb_views()
                                   WHERE schema_name = 'main' AND NOT internal""").fetchall())
    col_comments: dict[tuple[str, str], str] = {
        (t, c): text for t, c, text in con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'main' "
            "AND database_name = current_database()").fetchall() if text}
    where, params = ("WHERE city = $city", {"city": city}) if city else ("", {})
    datasets = con.execute(
        f"""SELECT city, dataset, table_name, title, portal_url, licence, fetched_at, synthetic, run_id
            FROM datasets {where} ORDER BY city, dataset""", params).fetchall()
    synthetic = any(d[7] for d in datasets)
    by_table: dict[str, list[tuple]] = {}
    for d in datasets:
        by_table.setdefault(d[2], []).append(d)
    by_table.setdefault("incidents_history", by_table.get("incidents", []))
    for view in views & set(VIEW_SOURCES):
        by_table.setdefault(view, by_table.get(VIEW_SOURCES[view], []))

    warning = ("SYNTHETIC sample data generated by civicmash: not a real city; never publish it as fact. "
               if synthetic else "")
    scope = f"city {city}" if city else f"cities {', '.join(cities)}"
    tables_meta: dict[str, dict] = {}
    for table in published:
        fallback = column_descriptions(table) if table in views else {}
        cols = columns[table]
        described: dict[str, str] = {}
        for col, typ, note in cols:
            text = note or col_comments.get((table, col)) or fallback.get(col) or ""
            if typ.upper() == "GEOMETRY":
                text += _GEOMETRY_NOTE
            elif typ.upper() in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
                text += _TZ_NOTE
            described[col] = text.strip()
        names = [c for c, _, _ in cols]
        entry: dict = {"description": warning + (comments.get(table) or ""),
                       "columns": described,
                       "sortable_columns": [c for c, t, _ in cols if t.upper() not in ("GEOMETRY", "JSON")
                                            and not t.upper().startswith("MAP") and not t.endswith("]")]}
        facets = _facets(names, multi_city=len(cities) > 1 and city is None)
        if facets:
            entry["facets"] = facets
        label = next((c for c in _LABELS if c in names), None)
        if label:
            entry["label_column"] = label
        sources = by_table.get(table, [])
        if sources:
            entry.update(_source_keys(sources))
            lines = [f"{d[0]}/{d[1]}: {d[3] or d[1]} ({d[4] or 'no portal URL'}), licence: {d[5] or 'not stated'}, "
                     f"fetched {_utc(d[6])}, load run {d[8]}" for d in sources]
            entry["description"] += " Sources: " + "; ".join(lines) + "."
            entry["fetched_at"] = max((_utc(d[6]) for d in sources if d[6] is not None), default=None)
        tables_meta[table] = entry

    one_city = city or (cities[0] if len(cities) == 1 else None)
    queries, missing = canned_queries(examples=example_params(con, one_city) if one_city else None)
    db_meta = {
        "description": (warning + f"The civicmash warehouse of {scope}, published for Datasette: canonical tables "
                        "and analysis views (materialised), described from the warehouse's own comments. Every "
                        "row keeps city, dataset and source_id (the record's id at the portal), fetched_at and, "
                        f"for source records, {LOAD_RUN_COLUMN}; the datasets table says where each dataset was "
                        "published and under which licence. The canned queries are the figures the maps publish."),
        "tables": tables_meta,
        "queries": queries,
    }
    db_meta.update(_source_keys(datasets))
    meta = {
        "title": f"civicmash: {scope}" + (" (synthetic sample)" if synthetic else ""),
        "description": db_meta["description"],
        "databases": {db_name: db_meta},
    }
    return meta, list(queries), missing


def _merge_published(meta: dict, path: Path, *, keep: str) -> dict:
    """``meta`` plus the other databases an earlier ``publish`` into the same directory described in its
    metadata.json, while their ``.db`` file is still there: one metadata file serves
    ``datasette serve DIR/*.db --metadata DIR/metadata.json``."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        others = {n: m for n, m in old.get("databases", {}).items()
                  if n != keep and isinstance(m, dict) and (path.parent / f"{n}.db").is_file()}
    except (OSError, ValueError, AttributeError):
        return meta
    if not others:
        return meta
    dbs = {**others, **meta["databases"]}
    synthetic = any("SYNTHETIC" in (m.get("description") or "") for m in dbs.values())
    return {**meta, "title": f"civicmash: {', '.join(sorted(dbs))}" + (" (includes a synthetic sample)"
                                                                      if synthetic else ""),
            "description": "civicmash warehouses published for Datasette, one database each: "
                           + ", ".join(sorted(dbs)) + ". Each database's description says what it holds.",
            "databases": dict(sorted(dbs.items()))}


def _facets(names: list[str], *, multi_city: bool) -> list:
    out: list = []
    if multi_city and "city" in names:
        out.append("city")
    paired = [c for c in _PAIRED_TYPES if c in names]
    kind = next((c for c in _TYPE_FACETS if c in names), None)
    out.extend(paired or ([kind] if kind else []))
    area = next((c for c in _AREA_FACETS if c in names), None)
    if area:
        out.append(area)
    date = next((c for c in _DATE_FACETS if c in names), None)
    if date:
        out.append({"date": date})
    return out


def _source_keys(sources: list[tuple]) -> dict:
    """Datasette's source / source_url / license / license_url, when the datasets agree on them."""
    out: dict = {}
    titles = {d[3] or d[1] for d in sources}
    urls = {d[4] for d in sources if d[4]}
    licences = {d[5] for d in sources if d[5]}
    if len(titles) == 1:
        out["source"] = titles.pop()
    elif titles:
        out["source"] = f"{len(titles)} datasets (see the description)"
    if len(urls) == 1:
        out["source_url"] = urls.pop()
    if len(licences) == 1:
        lic = licences.pop()
        out["license"] = lic
        if _is_url(lic):
            out["license_url"] = lic
    return out


def _utc(ts) -> str | None:
    if ts is None:
        return None
    try:

        return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (AttributeError, ValueError):
        return str(ts)


# --- serving ----------------------------------------------------------------------------------------------

def datasette_command(database: str | Path, metadata: str | Path, *, port: int,
                      time_limit_ms: int = 10_000) -> list[str]:
    """The ``datasette serve`` command line for a published database: loopback only, the database immutable
    (Datasette counts it once and never writes it), a query time limit that fits a city's figures."""
    return [sys.executable, "-m", "datasette", "serve", "--immutable", str(database), "--metadata", str(metadata),
            "--host", "127.0.0.1", "--port", str(int(port)), "--setting", "sql_time_limit_ms", str(time_limit_ms),
            "--setting", "facet_time_limit_ms", "1000"]
