"""Warnings about what a journalist's query result mixes (``civicmash sql``): several cities, quarantined rows,
format-fixture rows.

The result is always printed; each warning is one line on standard error. The rules (docs/warehouse.md,
"Warnings"):

- **Several cities.** (a) The result has a column named ``city`` holding more than one city. (b) The result
  has no ``city`` column, a table or view the query reads holds rows of more than one city, and the query never
  names ``city`` (not in WHERE, GROUP BY, a join, anywhere outside strings and comments): its figures add the
  cities together. A query that names ``city`` is trusted to have chosen its cities, so (b) never fires for
  ``WHERE city = 'chicago'``; it cannot tell whether a condition on ``city`` really keeps one.
- **Quarantined rows.** The query reads ``quarantine`` (records that were *not* loaded), or a
  ``raw_<city>_<dataset>`` table (the source rows as received) of a dataset that had quarantined rows.
- **Format fixtures.** A table or view the query reads holds rows of a dataset the catalogue marks
  ``role = 'fixture'`` (loaded only to test a file format; ``incidents_current`` and every incident view leave
  them out). A view without a ``dataset`` column is judged by what it reads.

"Reads" is what DuckDB's parser names in FROM and JOIN clauses (``get_table_names`` on a connection without the
warehouse's catalogue, so a view stays a view), views followed to the tables they read where a rule needs it.
"""

from __future__ import annotations

import re
from typing import Sequence

import duckdb

from . import _sqlexpr as X
from .sql_tokens import tokens

__all__ = ["query_warnings"]

_SHOWN = 5  # cities or datasets named in one warning before "..."


def query_warnings(con: duckdb.DuckDBPyConnection, *, query: str, columns: Sequence[str],
                   rows: Sequence[Sequence]) -> list[str]:
    """The warnings (one line each, see the module doc) for ``query`` whose result is ``columns``/``rows``,
    on the connection it ran on."""
    catalog = _catalog(con)
    direct = [n for n in _read_names(query) if n in catalog]
    reached = _reached(con, direct, catalog)
    out = []
    out += _city_warnings(con, query=query, columns=columns, rows=rows, direct=direct, catalog=catalog)
    out += _quarantine_warnings(con, reached)
    out += _fixture_warnings(con, direct=direct, catalog=catalog)
    return out


# --- what the query reads ------------------------------------------------------------------------------

def _catalog(con) -> dict[str, dict]:
    """Lower-case name -> {"name", "view" (bool), "columns" (lower-case set)} for main's tables and views."""
    out: dict[str, dict] = {}
    for name, is_view in con.execute(
            """SELECT table_name, false FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary
                   AND database_name = current_database()
               UNION ALL SELECT view_name, true FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal
                   AND NOT temporary AND database_name = current_database()""").fetchall():
        out[name.lower()] = {"name": name, "view": is_view, "columns": set()}
    for table, column in con.execute(
            """SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main'
                   AND database_name = current_database()""").fetchall():
        if table.lower() in out:
            out[table.lower()]["columns"].add(column.lower())
    return out


def _read_names(query: str) -> list[str]:
    """Lower-case names of the relations ``query`` reads (FROM/JOIN), as the parser sees them.

    Parameters (``$name``, ``?``) cannot be parsed without values, so they are read as NULL for this."""
    text = re.sub(r"\$[A-Za-z_]\w*|\$\d+|\?", "NULL", _outside_literals(query))
    return _parsed_names(text) or _parsed_names(query)


def _parsed_names(sql: str) -> list[str]:
    """Names in FROM/JOIN of ``sql`` as written: parsed on an empty connection, because on the warehouse's own
    ``get_table_names`` answers with the tables behind a view instead of the view."""
    parser = duckdb.connect(":memory:")
    try:
        return sorted({n.lower() for n in parser.get_table_names(sql)})
    except duckdb.Error:
        return []
    finally:
        parser.close()


def _outside_literals(query: str) -> str:
    """``query`` with its string literals emptied (so a ``?`` or ``$x`` inside one is not a parameter)."""
    return re.sub(r"'(?:[^']|'')*'", "''", query)


def _reached(con, names: list[str], catalog: dict[str, dict]) -> list[str]:
    """``names`` and, for views, every table or view they read, recursively."""
    seen: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in catalog:
            continue
        seen.append(name)
        if catalog[name]["view"]:
            todo += _view_reads(con, catalog[name]["name"])
    return sorted(seen)


def _view_reads(con, view: str) -> list[str]:
    sql = con.execute("SELECT sql FROM duckdb_views() WHERE schema_name = 'main' AND view_name = $v",
                      {"v": view}).fetchone()
    body = re.sub(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+.+?\s+AS\s+", "", sql[0] if sql else "", count=1,
                  flags=re.I | re.S)
    return _parsed_names(body)


def _names_city(query: str) -> bool:
    """True when ``query`` names a ``city`` column anywhere outside string literals and comments."""
    return any(kind == "identifier" and re.sub(r'^.*\.', "", text).strip('"').lower() == "city"
               for text, kind in tokens(query))


def _listed(values: Sequence[str]) -> str:
    shown = ", ".join(str(v) for v in values[:_SHOWN])
    return shown + (", ..." if len(values) > _SHOWN else "")


# --- the warnings --------------------------------------------------------------------------------------

def _city_warnings(con, *, query: str, columns: Sequence[str], rows: Sequence[Sequence], direct: list[str],
                   catalog: dict[str, dict]) -> list[str]:
    city_cols = [i for i, c in enumerate(columns) if c.lower() == "city"]
    if city_cols:
        cities = sorted({row[city_cols[0]] for row in rows if row[city_cols[0]] is not None}, key=str)
        if len(cities) > 1:
            return [f"the result spans {len(cities)} cities ({_listed(cities)}): add WHERE city = '...' unless "
                    "you mean to compare them"]
        return []
    if _names_city(query):
        return []
    out = []
    for name in direct:
        if "city" not in catalog[name]["columns"]:
            continue
        cities = [r[0] for r in con.execute(
            f"SELECT DISTINCT city FROM {X.ident(catalog[name]['name'])} WHERE city IS NOT NULL "
            f"ORDER BY 1 LIMIT {_SHOWN + 1}").fetchall()]
        if len(cities) > 1:
            out.append(f"the query reads {catalog[name]['name']}, which holds rows of several cities "
                       f"({_listed(cities)}), and never names city: its figures add the cities together "
                       "(add WHERE city = '...' or GROUP BY city)")
    return out


def _quarantine_warnings(con, reached: list[str]) -> list[str]:
    out = []
    if "quarantine" in reached:
        out.append("the query reads quarantine: source records that were NOT loaded (each with its reason); "
                   "they are in no other table, view or map")
    raws = [n for n in reached if n.startswith("raw_")]
    if raws:
        from .load import raw_table_name

        for city, dataset, quarantined in con.execute(
                "SELECT city, dataset, rows_quarantined FROM datasets ORDER BY city, dataset").fetchall():
            raw = raw_table_name(city, dataset).lower()
            if raw in raws and quarantined:
                out.append(f"the query reads {raw}, the source rows of {city}/{dataset} as received: "
                           f"{quarantined:,} of them were quarantined, not loaded (see quarantine for why)")
    return out


def _fixture_warnings(con, *, direct: list[str], catalog: dict[str, dict]) -> list[str]:
    fixtures = con.execute("SELECT city, dataset FROM datasets WHERE role = 'fixture' ORDER BY 1, 2").fetchall()
    if not fixtures:
        return []
    from .load import raw_table_name

    fixture_raws = {raw_table_name(c, d).lower(): f"{c}/{d}" for c, d in fixtures}
    out, seen, todo = [], set(), list(direct)
    while todo:
        name = todo.pop(0)
        if name in seen or name not in catalog or name == "datasets":  # the catalogue says which are fixtures
            continue
        seen.add(name)
        entry = catalog[name]
        if name in fixture_raws:
            out.append(f"the query reads {entry['name']}, a format-fixture dataset ({fixture_raws[name]}): "
                       "loaded only to test a file format, not analysed")
        elif {"city", "dataset"} <= entry["columns"]:
            found = con.execute(
                f"""SELECT r.city || '/' || r.dataset, count(*) FROM {X.ident(entry['name'])} r
                    JOIN datasets d ON d.city = r.city AND d.dataset = r.dataset AND d.role = 'fixture'
                    GROUP BY 1 ORDER BY 1""").fetchall()
            if found:
                n = sum(c for _, c in found)
                out.append(f"the query reads {entry['name']}, which includes {n:,} rows of format-fixture "
                           f"datasets ({_listed([d for d, _ in found])}), loaded only to test a file format: "
                           "read incidents_current (which leaves them out) or filter on dataset")
        elif entry["view"]:
            todo += _view_reads(con, entry["name"])
    return out
