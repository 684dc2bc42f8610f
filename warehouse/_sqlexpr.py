"""Small SQL-building helpers shared by the loaders (identifier quoting, named parameters, parsers)."""

from __future__ import annotations

import re
from typing import Any

_WS = "' ' || chr(9) || chr(10) || chr(13)"

TIMESTAMP_FORMATS = [
    "%Y-%m-%dT%H:%M:%S.%g",      # Socrata floating timestamp 2018-05-01T00:00:00.000
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",      # Socrata CSV export 05/01/2018 12:00:00 AM
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
]

# "(41.88, -87.63)" anywhere in a cell, also after an address on earlier lines.
LATLON_RE = r"\(\s*([-+]?[0-9]+(?:\.[0-9]+)?)\s*,\s*([-+]?[0-9]+(?:\.[0-9]+)?)\s*\)"

_CRS = re.compile(r"^[A-Za-z]+:[0-9]+$")


def ident(name: str) -> str:
    """Quote an identifier for DuckDB (any characters, including BOMs and spaces)."""
    return '"' + name.replace('"', '""') + '"'


def slug(text: str) -> str:
    """A safe identifier fragment: lower case, non-alphanumeric runs to '_'."""
    out = re.sub(r"[^a-z0-9]+", "_", text.replace("\ufeff", "").strip().lower()).strip("_")
    return out or "x"


def lit(text: str) -> str:
    """A SQL string literal (only for identifiers-like constants we validated, e.g. format strings)."""
    return "'" + str(text).replace("'", "''") + "'"


def crs_literal(crs: str) -> str:
    if not _CRS.match(crs or ""):
        raise ValueError(f"options.crs must look like 'EPSG:32616', got {crs!r}")
    return lit(crs.upper())


class Params:
    """Collects named parameters: ``p.add(value)`` returns the placeholder ``$pN``."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def text(expr: str) -> str:
    """Trimmed text, empty -> NULL."""
    return f"NULLIF(trim(CAST({expr} AS VARCHAR), {_WS}), '')"


def timestamp(expr: str) -> str:
    fmts = ", ".join(lit(f) for f in TIMESTAMP_FORMATS)
    return f"try_strptime({expr}, [{fmts}])"


def boolean(expr: str) -> str:
    return (f"CASE WHEN lower({expr}) IN ('true', 't', 'yes', 'y', '1') THEN TRUE "
            f"WHEN lower({expr}) IN ('false', 'f', 'no', 'n', '0') THEN FALSE END")


def integer(expr: str) -> str:
    clean = f"replace({expr}, ',', '')"
    return (f"COALESCE(TRY_CAST({clean} AS BIGINT), CASE WHEN TRY_CAST({clean} AS DOUBLE) = "
            f"floor(TRY_CAST({clean} AS DOUBLE)) THEN TRY_CAST(TRY_CAST({clean} AS DOUBLE) AS BIGINT) END)")


def double(expr: str) -> str:
    return f"TRY_CAST({expr} AS DOUBLE)"


def amount(expr: str) -> str:
    """Dollar text ('$1,200.00', '(5.00)' negative, '-3') -> DECIMAL(18,2)."""
    clean = f"regexp_replace({expr}, '[$,\\s]', '', 'g')"
    return (f"CASE WHEN {clean} LIKE '(%)' THEN -TRY_CAST(trim({clean}, '()') AS DECIMAL(18,2)) "
            f"ELSE TRY_CAST({clean} AS DECIMAL(18,2)) END")


def area_code(expr: str, kind: str | None) -> str:
    """Normalise an area code the way incidents store it: beats 4 digits, numbered areas without zeros."""
    if kind == "beat":
        return f"CASE WHEN regexp_full_match({expr}, '[0-9]{{1,4}}') THEN lpad({expr}, 4, '0') ELSE {expr} END"
    if kind in ("district", "ward", "community_area"):
        return f"CASE WHEN regexp_full_match({expr}, '[0-9]+') THEN CAST(CAST({expr} AS BIGINT) AS VARCHAR) ELSE {expr} END"
    return expr


def raw_json(cols: list[str]) -> str:
    """A JSON object of every source column as text: the row as received (kept with quarantined rows)."""
    if not cols:
        return "'{}'"
    # json_object takes at most ~100 pairs comfortably; nest chunks with json_merge_patch for wide files
    parts = []
    for i in range(0, len(cols), 50):
        chunk = cols[i:i + 50]
        parts.append("json_object(" + ", ".join(f"{lit(c)}, CAST({ident(c)} AS VARCHAR)" for c in chunk) + ")")
    expr = parts[0]
    for p in parts[1:]:
        expr = f"json_merge_patch({expr}, {p})"
    return f"CAST({expr} AS VARCHAR)"
