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


def latlon_pair(expr: str, *, which: str = "first") -> str:
    """SQL struct ``{lat, lon}`` (text) of the ``(lat, lon)`` pair in a location cell: the ``first`` one (a cell
    may hold an address, then the pair) or the ``last`` one (a cell holding a geocode mid-address and the real
    point last, like LA's parks export). A cell without a pair gives NULL or empty text."""
    if which == "first":
        return f"regexp_extract({expr}, {lit(LATLON_RE)}, ['lat', 'lon'])"
    if which == "last":
        return (f"struct_pack(lat := regexp_extract_all({expr}, {lit(LATLON_RE)}, 1)[-1], "
                f"lon := regexp_extract_all({expr}, {lit(LATLON_RE)}, 2)[-1])")
    raise ValueError(f"which must be 'first' or 'last', got {which!r}")


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


# The incidents' area columns ("slots"), their SQL types and Chicago's settings: the defaults of a profile's
# ``[areas]`` table (cities/area_options.py). A caller passes its city's slots in this shape (``areas``).
AREA_SLOT_TYPES = {"beat": "VARCHAR", "district": "INTEGER", "ward": "INTEGER", "community_area": "INTEGER"}
DEFAULT_AREA_SLOTS: dict[str, dict[str, Any]] = {
    "beat": {"kind": "beat", "label": "Police beat", "plural": "police beats", "pad": 4, "values": {}},
    "district": {"kind": "district", "label": "Police district", "plural": "police districts", "pad": None,
                 "values": {}},
    "ward": {"kind": "ward", "label": "Ward", "plural": "wards", "pad": None, "values": {}},
    "community_area": {"kind": "community_area", "label": "Community area", "plural": "community areas",
                       "pad": None, "values": {}},
}


def area_slots(areas: dict | None) -> dict[str, dict[str, Any]]:
    """The four slots of ``areas`` (``{"slots": {...}}``, the slots dict itself, or None = Chicago's defaults),
    every slot complete (a slot or key left out gets its default)."""
    given = (areas or {}).get("slots", areas) or {}
    return {slot: {**default, **(given.get(slot) or {})} for slot, default in DEFAULT_AREA_SLOTS.items()}


def kind_codes(areas: dict | None, kind: str | None) -> dict[str, Any] | None:
    """How codes of boundaries ``kind`` are normalised: the settings of the slot ``kind`` fills, or None (a kind
    that fills no slot: codes kept as published)."""
    return next((spec for spec in area_slots(areas).values() if spec["kind"] == kind), None)


def area_value(expr: str, values: dict[str, str] | None, *, params: "Params | None" = None) -> str:
    """``expr`` through a code value map (published code -> stored code, trimmed and case-insensitive); a code
    not in the map is kept. Without a map, ``expr`` itself."""
    if not values:
        return expr
    add = params.add if params is not None else lit
    whens = " ".join(f"WHEN {add(str(k).strip().upper())} THEN {add(str(v))}" for k, v in values.items())
    return f"(CASE upper(trim(CAST({expr} AS VARCHAR))) {whens} ELSE {expr} END)"


def area_code(expr: str, kind: str | None = None, *, codes: dict[str, Any] | None = None,
              params: "Params | None" = None) -> str:
    """Normalise an area code the way incidents store it. ``codes`` (a slot's settings: ``pad``, ``values``)
    first maps the published code (:func:`area_value`), then writes a numeric code with ``pad`` digits (zeros
    added or dropped; a number longer than that is kept), or,
    without ``pad``, drops its leading zeros. Without ``codes``, Chicago's rules by ``kind``: beats 4 digits,
    district/ward/community_area numbers without zeros, any other kind as published."""
    if codes is None:
        codes = DEFAULT_AREA_SLOTS.get(kind or "")
        if codes is None:
            return expr
    expr = area_value(expr, codes.get("values"), params=params)
    pad = codes.get("pad")
    if pad:   # extra leading zeros go first ('0008' -> '008' for pad 3); a longer number is kept as published
        n, digits = int(pad), f"ltrim({expr}, '0')"
        return (f"CASE WHEN regexp_full_match({expr}, '[0-9]+') AND length({digits}) <= {n} "
                f"THEN lpad({digits}, {n}, '0') ELSE {expr} END")
    return f"CASE WHEN regexp_full_match({expr}, '[0-9]+') THEN CAST(CAST({expr} AS BIGINT) AS VARCHAR) ELSE {expr} END"


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


# ------------------------------------------------------------------------------------ times with zones

EPOCH_FORMATS = {"epoch_ms": 1000, "epoch_s": 1}
"""Special ``time_formats`` words: numbers since 1970-01-01 UTC (ArcGIS exports milliseconds) -> divisor."""

_CLOCK_DIRECTIVE = re.compile(r"%[HIMSpfgz]")
# a trailing UTC designator or offset after a clock time: 'Z', '+00', '-0700', '+05:30'
_OFFSET_TAIL = r"([0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"


def is_date_only(fmt: str) -> bool:
    """True for a strptime format without any clock part (``%Y-%m-%d``): the source gave no time of day."""
    return fmt not in EPOCH_FORMATS and not _CLOCK_DIRECTIVE.search(fmt)


def _format_groups(formats: list[str]) -> list[tuple[str, list[str]]]:
    """Consecutive formats of the same kind ('wall', 'offset' or an epoch word), in the order given."""
    groups: list[tuple[str, list[str]]] = []
    for fmt in formats:
        kind = fmt if fmt in EPOCH_FORMATS else "offset" if "%z" in fmt else "wall"
        if groups and groups[-1][0] == kind and kind in ("wall", "offset"):
            groups[-1][1].append(fmt)
        else:
            groups.append((kind, [fmt]))
    return groups


def time_parses(expr: str, *, formats: list[str], z_is_local: bool) -> list[tuple[bool, str]]:
    """SQL parses of a timestamp text, one per run of same-kind ``formats`` in their order, as (is_wall, sql):
    a wall time (TIMESTAMP, no offset written) or an instant (TIMESTAMPTZ: a ``%z`` offset, ``Z`` read as
    ``+00``, or an ``epoch_ms``/``epoch_s`` number). ``z_is_local``: a trailing ``Z``/offset is dropped and the
    wall time as written is read (portals that stamp local time with ``Z``). Combine with :func:`zoned_time`."""
    out = []
    for kind, group in _format_groups(formats):
        if kind == "offset" and z_is_local:
            kind, group = "wall", [f.replace("%z", "").rstrip() for f in group]
        if kind == "wall":
            source = f"regexp_replace({expr}, {lit(_OFFSET_TAIL)}, '\\1')" if z_is_local else expr
            out.append((True, f"try_strptime({source}, [{', '.join(lit(f) for f in group)}])"))
        elif kind == "offset":
            out.append((False, f"try_strptime(regexp_replace({expr}, '[Zz]$', '+00'), "
                               f"[{', '.join(lit(f) for f in group)}])"))
        else:
            number = (f"CASE WHEN regexp_full_match({expr}, '-?[0-9]+(\\.[0-9]+)?([eE][+]?[0-9]+)?') "
                      f"THEN TRY_CAST({expr} AS DOUBLE) END")
            out.append((False, f"TRY(to_timestamp({number} / {EPOCH_FORMATS[kind]}))"))
    return out


def zoned_time(parsed: list[tuple[bool, str]], *, zone: str) -> tuple[str, str, str]:
    """The first parse that matched (``parsed``: (is_wall, column or SQL) from :func:`time_parses`) as three
    expressions: the wall time in ``zone`` (TIMESTAMP), the instant (TIMESTAMPTZ) and TRUE when it was written
    without an offset. ``zone``: a placeholder or literal of the IANA zone of times written without one."""
    walls = [sql if is_wall else f"timezone({zone}, {sql})" for is_wall, sql in parsed]
    instants = [f"timezone({zone}, {sql})" if is_wall else sql for is_wall, sql in parsed]
    naive = [f"CASE WHEN {sql} IS NOT NULL THEN {'TRUE' if is_wall else 'FALSE'} END" for is_wall, sql in parsed]
    both = (lambda parts: parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})")
    return both(walls), both(instants), both(naive)


def time_of_day(expr: str) -> str:
    """A separate time-of-day column as TIME: ``HHMM`` as text or number (``2230``, ``0001``, ``930``, ``5`` =
    00:05; a trailing ``.0`` from a float export is allowed) or clock text (``22:30``, ``22:30:15``,
    ``10:30 PM``); NULL when it is none of these (hour > 23 or minute > 59 included)."""
    digits = f"lpad(regexp_extract({expr}, '^([0-9]{{1,4}})(\\.0+)?$', 1), 4, '0')"
    hhmm = (f"CASE WHEN regexp_full_match({expr}, '[0-9]{{1,4}}(\\.0+)?') AND CAST(substr({digits}, 1, 2) AS INTEGER) < 24 "
            f"AND CAST(substr({digits}, 3, 2) AS INTEGER) < 60 THEN "
            f"make_time(CAST(substr({digits}, 1, 2) AS INTEGER), CAST(substr({digits}, 3, 2) AS INTEGER), 0) END")
    clock = (f"CAST(try_strptime('2000-01-01 ' || {expr}, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', "
             f"'%Y-%m-%d %I:%M:%S %p', '%Y-%m-%d %I:%M %p']) AS TIME)")
    return f"COALESCE({hhmm}, {clock})"


# The kind drawn (and the primary kind recorded) for a city whose profile names none: the first of these it has.
_BOUNDARY_PREFERENCE = ("community_area", "neighborhood", "neighbourhood", "ward", "district")


def preferred_kind(kinds: list[str], *, primary: str | None = None) -> str | None:
    """The kind drawn when the caller names none: the city's ``primary`` area kind (the profile's ``[areas]
    primary``) when it has boundaries of it, else the first of ``_BOUNDARY_PREFERENCE`` it has, else its first."""
    if primary and primary in kinds:
        return primary
    return next((k for k in _BOUNDARY_PREFERENCE if k in kinds), kinds[0] if kinds else None)
