"""Read-only SQL for journalists: one SELECT at a time against the warehouse file, plus output formatting.

:func:`run_query` is what ``civicmash sql`` calls: the guard (:func:`check_query`), named parameters
(``$name``, values bound as text), every failure as a :class:`QueryError` with a one-line message
(:mod:`warehouse.sql_errors`) and the warnings about what the result mixes (:mod:`warehouse.sql_warnings`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import duckdb

from .db import connect
from .sql_errors import QueryError, one_line, param_error
from .sql_tokens import strip_comments, tokens as sql_tokens

REFUSED = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "COPY", "INSTALL",
           "LOAD", "EXPORT", "IMPORT", "PRAGMA", "SET", "RESET", "CALL", "CHECKPOINT", "VACUUM", "USE", "TRUNCATE")
_ALLOWED_TYPES = {"SELECT", "EXPLAIN"}
# Refused as statements only (by type, above); as words they are ordinary names (a 311 'call', a 'set' of codes).
_STATEMENT_ONLY = ("SET", "USE", "RESET", "CALL")
# EXPLAIN, after any leading comments, with ANALYZE or an option list "(FORMAT json)" (not a subquery)
_EXPLAIN_PREFIX = re.compile(r"^(?:\s+|--[^\n]*|/\*.*?\*/)*EXPLAIN\s+"
                             r"(?:ANALY[SZ]E\s+|\((?!\s*(?:SELECT|WITH|FROM|VALUES|TABLE|\())[^()]*\)\s*)?",
                             re.I | re.S)


# Table functions that read files, other databases or settings, or change the session: the warehouse's own
# tables and views are the only thing a query may read (the connection also runs with external access off;
# this says so in words before DuckDB refuses in its own). range(), unnest(), generate_series(), json_each()
# and the duckdb_*() catalogue functions stay allowed.
_FORBIDDEN_FUNCTIONS = re.compile(
    r"^(?:read_\w+|\w+_scan|glob|sniff_csv|parquet_\w+|st_read\w*|st_drivers|query|query_table|"
    r"json_execute_serialized_sql|checkpoint|force_checkpoint|\w+_logging|\w+_profiling|truncate_duckdb_logs|"
    r"python_map_function|iceberg_\w+|delta_\w+|sqlite_\w+|postgres_\w+|mysql_\w+|duckdb_secrets|"
    r"which_secret|load_aws_credentials)$", re.I)


class ReadOnlyQueryError(ValueError):
    """The query is not a single read-only SELECT."""


@dataclass(frozen=True)
class QueryResult:
    """What :func:`run_query` returns: the columns, the rows and the warnings about them (one line each)."""

    columns: list[str]
    rows: list[tuple]
    warnings: list[str] = field(default_factory=list)


def check_query(query: str) -> None:
    """Raise ReadOnlyQueryError unless ``query`` is exactly one SELECT (or WITH ... SELECT / EXPLAIN)."""
    try:
        statements = _parse(query)
    except duckdb.Error as exc:
        raise ReadOnlyQueryError(f"cannot parse the query: {one_line(exc, query=query)}") from None
    if len(statements) != 1:
        raise ReadOnlyQueryError(f"only a single statement is allowed, got {len(statements)}")
    kind = statements[0].type.name
    if kind not in _ALLOWED_TYPES:
        raise ReadOnlyQueryError(f"only SELECT queries are allowed here (read-only); refused a statement of type {kind}")
    words = set(re.findall(r"[A-Za-z_]+", _strip_literals(query).upper()))
    bad = [w for w in REFUSED if w in words and w not in _STATEMENT_ONLY]
    if bad:
        raise ReadOnlyQueryError(f"only read-only SELECT queries are allowed; refused keyword(s): {', '.join(bad)}")
    if kind == "EXPLAIN":
        _check_explained(query)
    _check_table_functions(query)


def _check_table_functions(query: str) -> None:
    """Refuse a call of a table function that reads files or other databases (``read_csv('/etc/passwd')``,
    ``read_parquet``, ``glob``, ``st_read``, ``query``, ...): see ``_FORBIDDEN_FUNCTIONS``."""
    tokens = sql_tokens(query)
    for i, (text, kind) in enumerate(tokens[:-1]):
        if not tokens[i + 1][0].startswith("(") or kind not in ("identifier", "keyword"):
            continue
        name = text.strip('"')
        if name.lower() == "glob" and i and tokens[i - 1][1] in ("identifier", "string_const", "numeric_const"):
            continue  # the GLOB operator: a GLOB ('x*')
        if _FORBIDDEN_FUNCTIONS.match(name):
            raise ReadOnlyQueryError(f"refused {name}(): civicmash sql reads only the warehouse's own tables and "
                                     "views, not files, other databases or settings (civicmash schema lists them)")


def _check_explained(query: str) -> None:
    """Refuse an EXPLAIN whose explained statement is not a SELECT.

    ``EXPLAIN ANALYZE`` runs the statement it explains, so ``EXPLAIN ANALYZE SET ...`` or ``... CALL ...``
    (words the keyword scan lets through, see ``_STATEMENT_ONLY``) would otherwise run behind a harmless type.
    An EXPLAIN the guard cannot take apart is refused, not guessed.
    """
    try:
        statements = _parse(_EXPLAIN_PREFIX.sub("", query))
    except duckdb.Error:
        statements = []
    kind = statements[0].type.name if len(statements) == 1 else "unknown"
    if kind != "SELECT":
        raise ReadOnlyQueryError("only EXPLAIN [ANALYZE] SELECT ... is allowed; "
                                 f"refused EXPLAIN of a statement of type {kind}")


def _parse(query: str) -> list:
    return duckdb.connect(":memory:").extract_statements(query)


def run_readonly(path: str | Path, query: str, *, params: Sequence[Any] | dict[str, Any] | None = None
                 ) -> tuple[list[str], list[tuple]]:
    """Run one SELECT against the warehouse at ``path`` opened read-only; returns (columns, rows).

    :func:`run_query` without the warnings. Raises ReadOnlyQueryError (refused), FileNotFoundError (no
    warehouse) or QueryError (the query failed; a one-line message)."""
    result = run_query(path, query, params=params, warn=False)
    return result.columns, result.rows


def run_query(path: str | Path, query: str, *, params: Sequence[Any] | dict[str, Any] | None = None,
              warn: bool = True, catalogue: bool = False) -> QueryResult:
    """Run one SELECT against the warehouse at ``path`` opened read-only, external file access off.

    ``params``: a dict binds DuckDB named parameters (``$name``), a list positional ones (``?``). The CLI's
    ``--param name=value`` values are text: DuckDB converts a text parameter to the type of whatever the SQL
    compares it with (``community_area = $ca``, ``occurred_at >= $from``, ``LIMIT $n``); where nothing fixes a
    type (``$n + 1``, ``SELECT $d``) the SQL casts it (``CAST($n AS INTEGER)``, ``$d::DATE``).
    With ``warn`` the result carries the warnings of :func:`warehouse.sql_warnings.query_warnings`.

    Raises ReadOnlyQueryError (not a single read-only SELECT, or a file-reading table function),
    FileNotFoundError (no warehouse file: it says how to make one) or QueryError (anything DuckDB refused:
    unknown table or column with a "did you mean", a bad value, a syntax error, a missing or unknown
    parameter), each with a one-line message.
    ``catalogue``: ``path`` is a catalogue of many cities' warehouses (``civicmash sql --all``,
    :mod:`.catalogue`), attached read-only, one view per table across the cities.
    """
    check_query(query)
    if catalogue:
        from .catalogue import connect_catalogue, read_catalogue

        con = connect_catalogue(read_catalogue(path)[0], source=path)[0]
        return _query_on(con, query, params=params, warn=warn)
    if not Path(path).exists():
        raise FileNotFoundError(f"no warehouse at {path}: create it with `civicmash run <city>` (a city profile) "
                                "or `civicmash demo` (the synthetic sample city, out/sample/civicmash.duckdb; "
                                "query it with --out out/sample)")
    try:
        con = connect(path, read_only=True)
    except duckdb.Error as exc:
        raise QueryError(f"cannot open the warehouse {path}: {one_line(exc, query='')}") from None
    try:
        _lock_down(con)
    except BaseException:
        con.close()
        raise
    return _query_on(con, query, params=params, warn=warn)


def _lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """External file access off, then the configuration locked. DuckDB shares one configuration among the
    connections of a process to one file: when an earlier locked-down query's connection is still open (a
    notebook's), the lock is already there and is kept only if external access is already off."""
    try:
        con.execute("SET enable_external_access = false")  # no reading or writing other files
        con.execute("SET lock_configuration = true")
    except duckdb.InvalidInputException as exc:
        locked = "configuration has been locked" in str(exc)
        if not locked or con.execute("SELECT current_setting('enable_external_access')").fetchone()[0]:
            raise


def _query_on(con: duckdb.DuckDBPyConnection, query: str, *, params, warn: bool) -> QueryResult:
    """Run the checked ``query`` on ``con`` (read-only, external access off) and close it."""
    try:
        try:
            cur = con.execute(query, params) if params is not None else con.execute(query)
            columns = [d[0] for d in cur.description or []]
            rows = cur.fetchall()
        except duckdb.Error as exc:
            given = params if isinstance(params, dict) else None
            raise QueryError(param_error(exc, given=given) or one_line(exc, query=query)) from None
        warnings: list[str] = []
        if warn:
            from .sql_warnings import query_warnings

            warnings = query_warnings(con, query=query, columns=columns, rows=rows)
        return QueryResult(columns, rows, warnings)
    finally:
        con.close()


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``["ca=28", "from=2018-06-01"]`` (the CLI's repeatable ``--param name=value``) -> a dict of text values.

    A name is a SQL identifier (letters, digits, ``_``; not starting with a digit); a name given twice or an item
    without ``=`` is a ValueError with a one-line message. Values are kept as text (see :func:`run_query`)."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"--param {item!r}: expected name=value with a name of letters, digits and _ "
                             "(used in the query as $name)")
        if name in out:
            raise ValueError(f"--param {name} given twice")
        out[name] = value
    return out


def _strip_literals(query: str) -> str:
    q = re.sub(r"'(?:[^']|'')*'", "''", strip_comments(query))
    return re.sub(r'"(?:[^"]|"")*"', '""', q)


def _cell(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, max_width: int = 60) -> str:
    """A plain-text aligned table (numbers right-aligned, NULL shown as empty)."""
    def show(v: Any) -> str:
        s = "" if v is None else str(_cell(v))
        s = s.replace("\n", " ")
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    cells = [[show(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r[i], (int, float, Decimal)) or r[i] is None for r in rows) and bool(rows)
               for i in range(len(columns))]

    def line(vals: Sequence[str]) -> str:
        return " | ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(vals, widths, numeric)).rstrip()

    out = [line(list(columns)), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow(["" if v is None else _cell(v) for v in row])
    return buf.getvalue()


def to_json(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, indent: int | None = 2) -> str:
    """A JSON array of objects, column -> value (dates ISO, decimals as strings to keep cents exact)."""
    return json.dumps([{c: _cell(v) for c, v in zip(columns, row)} for row in rows], indent=indent,
                      ensure_ascii=False, default=str)
