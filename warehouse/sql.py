"""Read-only SQL for journalists: one SELECT at a time against the warehouse file, plus output formatting."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import duckdb

from .db import connect

REFUSED = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "COPY", "INSTALL",
           "LOAD", "EXPORT", "IMPORT", "PRAGMA", "SET", "RESET", "CALL", "CHECKPOINT", "VACUUM", "USE", "TRUNCATE")
_ALLOWED_TYPES = {"SELECT", "EXPLAIN"}
# Refused as statements only (by type, above); as words they are ordinary names (a 311 'call', a 'set' of codes).
_STATEMENT_ONLY = ("SET", "USE", "RESET", "CALL")
# EXPLAIN, after any leading comments, with ANALYZE or an option list "(FORMAT json)" (not a subquery)
_EXPLAIN_PREFIX = re.compile(r"^(?:\s+|--[^\n]*|/\*.*?\*/)*EXPLAIN\s+"
                             r"(?:ANALY[SZ]E\s+|\((?!\s*(?:SELECT|WITH|FROM|VALUES|TABLE|\())[^()]*\)\s*)?",
                             re.I | re.S)


class ReadOnlyQueryError(ValueError):
    """The query is not a single read-only SELECT."""


def check_query(query: str) -> None:
    """Raise ReadOnlyQueryError unless ``query`` is exactly one SELECT (or WITH ... SELECT / EXPLAIN)."""
    try:
        statements = _parse(query)
    except duckdb.Error as exc:
        raise ReadOnlyQueryError(f"cannot parse the query: {exc}") from None
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
    """Run one SELECT against the warehouse at ``path`` opened read-only; returns (columns, rows)."""
    check_query(query)
    if not Path(path).exists():
        raise FileNotFoundError(f"no warehouse at {path}")
    con = connect(path, read_only=True)
    try:
        con.execute("SET enable_external_access = false")  # no reading or writing other files
        con.execute("SET lock_configuration = true")
        cur = con.execute(query, params) if params is not None else con.execute(query)
        columns = [d[0] for d in cur.description or []]
        return columns, cur.fetchall()
    finally:
        con.close()


def _strip_comments(query: str) -> str:
    q = re.sub(r"--[^\n]*", " ", query)
    return re.sub(r"/\*.*?\*/", " ", q, flags=re.S)


def _strip_literals(query: str) -> str:
    q = re.sub(r"'(?:[^']|'')*'", "''", _strip_comments(query))
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
