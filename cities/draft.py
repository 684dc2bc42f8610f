"""``civicmash profile draft FILE_OR_URL``: sniff a portal export and write a starting dataset block.

A city author points it at one export (a CSV, GeoJSON or JSON file, local or over http(s)) and gets a TOML
``[datasets.<name>]`` block with comments: which canonical table the file probably feeds, a ``fields`` mapping
onto that table's columns with a confidence per line, ``time_formats`` that the warehouse's own parser reads
(checked with the same SQL as the load), the CRS judged from the coordinate ranges, and the implausible values
seen (``0,0`` points, dates far in the past or future) as suggestions for ``min_date``, sentinels and a ``bbox``.
Anything the file cannot tell (the title, the licence, a projected CRS's EPSG code, a portal's id) is marked
``TODO``. The draft is a start, never a verdict: ``civicmash profile check`` and a run tell the rest.

Pure functions, no warehouse writes: :func:`read_sample` reads at most ``max_rows`` records spread evenly over
the file (the draft says when it sampled), :func:`sniff_columns` types each column, :func:`draft_dataset` decides, :func:`render_toml`
writes. Parsing of times uses an in-memory DuckDB connection with :func:`civicmash.warehouse._sqlexpr.time_parses`,
so a format the draft proposes is one the load accepts.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
from civicmash.connectors.files import local_file
from civicmash.connectors.pages import feature_record, features_of, flat_record
from civicmash.warehouse._sqlexpr import (
    LATLON_RE,
    TIMESTAMP_FORMATS,
    is_date_only,
    lit,
    time_of_day,
    time_parses,
)
from civicmash.warehouse.load import MAPPABLE

from civicmash import connectors

__all__ = ["DEFAULT_MAX_ROWS", "Column", "Draft", "Mapping", "Sample", "TimeGuess", "draft_dataset",
           "draft_profile", "read_sample", "render_toml", "sniff_columns", "soda_name"]

DEFAULT_MAX_ROWS = 20_000
"""Records read from a file by default; the draft says when the file holds more."""

_COMMON = {"source_id", "source_updated_at", "lat", "lon", "location", "source_x", "source_y", "wkt"}
TABLES = ("incidents", "venues", "services", "spending", "boundaries", "population")
FORMATS = ("csv", "geojson", "json")

# strptime formats tried on a column that looks like times, most specific first. Every one is read by
# warehouse._sqlexpr.time_parses exactly as the load reads it.
CANDIDATE_TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%Y-%m-%dT%H:%M:%S.%g", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S.%g%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f%z", "%Y/%m/%d %H:%M:%S%z", "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
    "%Y %b %d %I:%M:%S %p", "%d-%b-%Y %H:%M:%S", "%d-%b-%Y",
    "%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%Y%m%d",
)
EPOCH_RANGES = {"epoch_ms": (1e11, 4.1e12), "epoch_s": (1e8, 4.1e9)}   # 1973..2100 in each unit

_TIME_VALUE = re.compile(r"\d.*[-/:T ]|\d{8}|[A-Za-z]{3}.*\d{4}")
_TIME_NAME = re.compile(r"date|time|stamp|_at$|\bat\b|_on$|\bon\b|created|updated|modified|reported|occur|start|"
                        r"\bend|epoch|when|\bday\b|\bdt\b", re.IGNORECASE)
_CLOCK_NAME = re.compile(r"time|hhmm|hour|\btm\b", re.IGNORECASE)
_DATE_NAME = re.compile(r"date|\bdt\b|day", re.IGNORECASE)
_WKT = re.compile(r"^\s*(MULTI)?(POINT|LINESTRING|POLYGON)\s*Z?\s*\(", re.IGNORECASE)
_LATLON = re.compile(LATLON_RE)
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_INTEGER = re.compile(r"^[-+]?\d+$")
_MONEY = re.compile(r"^\(?[-+]?\$?\s*[-+]?[\d,]*\d(\.\d+)?\)?$")
_BOOLEAN = {"true", "false", "t", "f", "yes", "no", "y", "n"}
_ID_NAME = re.compile(r"(^|\b)(id|objectid|fid|uid|key|no|num|number|dr no|case|record|incident|report)(\b|$)|_id$|id$",
                      re.IGNORECASE)
_AREA_NAME = re.compile(r"district|ward|area|beat|precinct|neighbo|community|division|zone|sector|council|tract|"
                        r"rpt dist|reporting|borough|region|quadrant", re.IGNORECASE)
_CATEGORY_NAME = re.compile(r"type|categ|class|desc|offen|crime|crm|nature|kind|status|group", re.IGNORECASE)
_LAT_NAME = re.compile(r"^(lat|latitude|y lat|lat dd|.* lat|lat .*|.*latitude.*)$", re.IGNORECASE)
_LON_NAME = re.compile(r"^(lon|lng|long|longitude|x lon|lon dd|.* (lon|lng)|(lon|lng) .*|.*longitude.*)$", re.IGNORECASE)
_X_NAME = re.compile(r"^(x|point x|x coord.*|.* x coord.*|xcoord|easting|east|x \w+)$", re.IGNORECASE)
_Y_NAME = re.compile(r"^(y|point y|y coord.*|.* y coord.*|ycoord|northing|north|y \w+)$", re.IGNORECASE)
_EPSG = re.compile(r"EPSG\D{0,3}(\d{4,6})", re.IGNORECASE)


# --- reading -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """The first ``max_rows`` records of a file, as text, with what the file says of itself."""

    source: str
    format: str
    columns: list[str]
    rows: list[dict[str, str | None]]
    total_rows: int | None          # records in the whole file (None: not counted)
    geometry_types: Counter = field(default_factory=Counter)
    points: list[tuple[float, float]] = field(default_factory=list)   # one (x, y) per feature with a geometry
    stated_crs: str | None = None   # what a .prj or a GeoJSON ``crs`` member says
    notes: tuple[str, ...] = ()
    step: int = 1                   # every how many records one was read

    @property
    def truncated(self) -> bool:
        return self.total_rows is not None and self.total_rows > len(self.rows)


def read_sample(source: str, *, fmt: str | None = None, max_rows: int = DEFAULT_MAX_ROWS,
                session=None) -> Sample:
    """Read at most ``max_rows`` records of ``source`` (a path, or an http(s) URL fetched with the connectors'
    retries). ``fmt``: ``csv``, ``geojson`` or ``json``; default from the name, else from the first bytes."""
    if max_rows < 1:
        raise ValueError(f"max rows must be at least 1, got {max_rows}")
    with local_file(source, dataset="draft", session=session) as path:
        head = path.open("rb").read(4096)
        fmt = fmt or _format_of(source, head)
        if fmt not in FORMATS:
            raise ValueError(f"{source}: cannot draft format {fmt!r} (one of {', '.join(FORMATS)})")
        if fmt == "csv":
            sample = _read_csv_sample(path, source, max_rows)
        else:
            sample = _read_json_sample(path, source, fmt, max_rows)
    prj = _prj_crs(source)
    if prj and not sample.stated_crs:
        sample = Sample(**{**sample.__dict__, "stated_crs": prj})
    return sample


def _format_of(source: str, head: bytes) -> str:
    suffix = Path(source.split("?")[0]).suffix.lower().lstrip(".")
    if suffix in ("geojson",):
        return "geojson"
    if suffix in ("csv", "txt", "tsv"):
        return "csv"
    text = head.lstrip(b"\xef\xbb\xbf \r\n\t")
    if text[:1] in (b"{", b"["):
        return "geojson" if b"FeatureCollection" in head or b'"Feature"' in head else "json"
    return "csv" if suffix not in ("json",) else "json"


def _read_csv_sample(path: Path, source: str, max_rows: int) -> Sample:
    notes: list[str] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        text = path.read_text(encoding="latin-1")
        notes.append(f"TODO: the file is not UTF-8 ({exc.reason} at byte {exc.start}); read here as Latin-1, but "
                     "the CSV reader of the load is UTF-8 only: re-encode the file before loading it")
    try:
        dialect = csv.Sniffer().sniff(text[:16384], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    if delimiter != ",":
        notes.append(f"TODO: the delimiter is {delimiter!r}, but the file protocol reads comma-separated files "
                     "only: convert the file, or fetch it from a portal that serves CSV")
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    if not header:
        raise ValueError(f"{source}: an empty CSV file (no header line)")
    columns = _unique([h.strip() or f"column_{i + 1}" for i, h in enumerate(header)])
    total = sum(1 for row in _csv_records(text, delimiter))
    step = _step(total, max_rows)
    rows, ragged = [], 0
    for number, row in enumerate(_csv_records(text, delimiter)):
        if len(row) != len(columns):
            ragged += 1
        if number % step == 0 and len(rows) < max_rows:
            rows.append({c: (v if v.strip() != "" else None) for c, v in zip(columns, row)})
    if ragged:
        notes.append(f"{ragged:,} rows have another number of cells than the header ({len(columns)})")
    return Sample(source=source, format="csv", columns=columns, rows=rows, total_rows=total, notes=tuple(notes),
                  step=step)


def _csv_records(text: str, delimiter: str):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader, None)
    return (row for row in reader if row)


def _step(total: int, max_rows: int) -> int:
    """Every how many records one is read, so that at most ``max_rows`` spread over the whole file are."""
    return max(1, math.ceil(total / max_rows))


def _read_json_sample(path: Path, source: str, fmt: str, max_rows: int) -> Sample:
    with open(path, encoding="utf-8-sig") as fh:
        doc = json.load(fh)
    if fmt == "geojson" or (isinstance(doc, dict) and doc.get("type") in ("FeatureCollection", "Feature")):
        features = features_of(doc, single=True, source=source)
        geometry_types: Counter = Counter()
        points = []
        records = []
        for feature in features[::_step(len(features), max_rows)][:max_rows]:
            record = feature_record(feature)
            record.pop("_geometry", None)
            records.append(record)
            geometry = feature.get("geometry") or {}
            geometry_types[geometry.get("type") or "none"] += 1
            first = _first_position(geometry.get("coordinates"))
            if first:
                points.append(first)
        crs = _crs_member(doc.get("crs")) if isinstance(doc, dict) else None
        return _records_sample(source, "geojson", records, len(features), geometry_types=geometry_types,
                               points=points, stated_crs=crs, step=_step(len(features), max_rows))
    if isinstance(doc, dict):
        key = next((k for k, v in doc.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)),
                   None)
        if key is None:
            raise ValueError(f"{source}: no list of objects in this JSON document")
        doc = doc[key]
    if not isinstance(doc, list) or not all(isinstance(x, dict) for x in doc):
        raise ValueError(f"{source}: expected a JSON array of objects")
    picked = doc[::_step(len(doc), max_rows)][:max_rows]
    return _records_sample(source, "json", [flat_record(r) for r in picked], len(doc), step=_step(len(doc), max_rows))


def _records_sample(source: str, fmt: str, records: list[dict], total: int, **extra) -> Sample:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    rows = [{c: _text(record.get(c)) for c in columns} for record in records]
    return Sample(source=source, format=fmt, columns=list(columns), rows=rows, total_rows=total, **extra)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return text if text.strip() else None


def _first_position(coords: Any) -> tuple[float, float] | None:
    while isinstance(coords, list) and coords and isinstance(coords[0], list):
        coords = coords[0]
    if isinstance(coords, list) and len(coords) >= 2 and all(isinstance(v, (int, float)) for v in coords[:2]):
        return float(coords[0]), float(coords[1])
    return None


def _crs_member(crs: Any) -> str | None:
    """``{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2229"}}`` -> ``EPSG:2229`` (CRS84: 4326)."""
    name = json.dumps(crs) if crs else ""
    if "CRS84" in name:
        return "EPSG:4326"
    match = _EPSG.search(name)
    return f"EPSG:{match.group(1)}" if match else None


def _prj_crs(source: str) -> str | None:
    """The CRS a ``.prj`` beside a local file states: ``EPSG:<code>`` when it names one, else its WKT name."""
    if source.startswith(("http://", "https://")):
        return None
    prj = Path(source).with_suffix(".prj")
    if not prj.is_file():
        return None
    wkt = prj.read_text(encoding="utf-8", errors="replace")
    codes = re.findall(r'AUTHORITY\["EPSG",\s*"(\d+)"\]\s*\]\s*$', wkt.strip())
    if codes:
        return f"EPSG:{codes[-1]}"
    name = re.match(r'\s*PROJCS\["([^"]+)"', wkt)
    return f"PROJCS {name.group(1)}" if name else None


def _unique(names: list[str]) -> list[str]:
    seen: Counter = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


# --- columns -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimeGuess:
    """How a column's times are written: the formats that read them (in order) and what they hold."""

    formats: tuple[str, ...]
    parsed: int                     # non-empty values of the sample read by the formats
    unparsed_examples: tuple[str, ...]
    first: datetime | None
    last: datetime | None
    date_only: bool                 # every format lacks a clock part
    midnight_share: float           # share of parsed values at 00:00:00
    too_early: int                  # before 1970-01-01
    too_late: int                   # after the day of drafting
    earliest_plausible: date | None  # the earliest value from 1970 on


@dataclass(frozen=True)
class Column:
    """One source column as seen in the sample."""

    name: str
    rows: int
    values: tuple[str, ...]         # non-empty values (stripped), in file order
    kind: str                       # integer, number, boolean, time, clock, latlon, wkt, money, text
    distinct: int
    numbers: tuple[float, ...] = ()
    time: TimeGuess | None = None

    @property
    def filled(self) -> int:
        return len(self.values)

    @property
    def key(self) -> str:
        """The name normalised for matching: lower case, other characters as single spaces."""
        return _key(self.name)

    @property
    def unique(self) -> bool:
        return self.filled == self.rows and self.distinct == self.filled and self.rows > 1

    def describe(self) -> str:
        padded = self.kind == "integer" and any(len(v) > 1 and v[0] == "0" for v in self.values)
        kind = {"time": "times", "integer": "digits, zero-padded (kept as text)" if padded else "integer", "clock": "time of day (HHMM)", "latlon": '"(lat, lon)" text', "wkt": "WKT"}.get(
            self.kind, self.kind)
        example = next(iter(self.values), "")
        return (f"{kind}, {self.filled / self.rows if self.rows else 0:.0%} filled, {self.distinct:,} distinct"
                + (f", e.g. {example[:40]!r}" if example else ""))


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", name.replace("\ufeff", "").lower()).strip()


def sniff_columns(sample: Sample, *, today: date | None = None) -> list[Column]:
    """Type every column of the sample; times are tried with the load's own parser (an in-memory DuckDB)."""
    today = today or date.today()
    con = duckdb.connect()
    try:
        return [_sniff_column(con, name, [r.get(name) for r in sample.rows], today=today)
                for name in sample.columns]
    finally:
        con.close()


def _sniff_column(con, name: str, raw: list[str | None], *, today: date) -> Column:
    values = tuple(v.strip() for v in raw if v is not None and v.strip() != "")
    distinct = len(set(values))
    base = {"name": name, "rows": len(raw), "values": values, "distinct": distinct}
    if not values:
        return Column(kind="text", **base)
    share = (lambda test: sum(1 for v in values if test(v)) / len(values))
    numeric = share(lambda v: bool(_NUMBER.match(v)))
    if numeric >= 0.99:
        numbers = tuple(float(v) for v in values if _NUMBER.match(v))
        if _TIME_NAME.search(_key(name)):
            guess = _epoch_guess(con, values, numbers, today=today)
            if guess:
                return Column(kind="time", numbers=numbers, time=guess, **base)
        if _CLOCK_NAME.search(_key(name)) and not _DATE_NAME.search(_key(name)) and _clock_share(con, values) >= 0.99:
            return Column(kind="clock", numbers=numbers, **base)
        integer = all(_INTEGER.match(v) for v in values)
        return Column(kind="integer" if integer else "number", numbers=numbers, **base)
    if share(lambda v: v.lower() in _BOOLEAN) >= 0.99:
        return Column(kind="boolean", **base)
    if share(lambda v: bool(_LATLON.search(v))) >= 0.5:
        return Column(kind="latlon", **base)
    if share(lambda v: bool(_WKT.match(v))) >= 0.9:
        return Column(kind="wkt", **base)
    if share(lambda v: bool(_TIME_VALUE.search(v))) >= 0.8:
        guess = _time_guess(con, values, today=today)
        if guess:
            return Column(kind="time", time=guess, **base)
    if _CLOCK_NAME.search(_key(name)) and _clock_share(con, values) >= 0.99:
        return Column(kind="clock", **base)
    if share(lambda v: bool(_MONEY.match(v))) >= 0.99 and any("$" in v or "," in v for v in values):
        return Column(kind="money", **base)
    return Column(kind="text", **base)


def _clock_share(con, values: tuple[str, ...]) -> float:
    distinct = sorted(set(values))[:2000]
    ok = con.execute(f"SELECT count(*) FILTER (WHERE {time_of_day('v')} IS NOT NULL) FROM unnest(?) t(v)",
                     [distinct]).fetchone()[0]
    return ok / len(distinct)


def _time_guess(con, values: tuple[str, ...], *, today: date) -> TimeGuess | None:
    """The formats (greedy cover, most values first) reading at least 90 % of the distinct values."""
    counts = Counter(values)
    distinct = list(counts)
    probe = distinct if len(distinct) <= 400 else distinct[:: max(1, len(distinct) // 400)]
    hits = _parse_matrix(con, probe, CANDIDATE_TIME_FORMATS)
    chosen: list[str] = []
    left = set(range(len(probe)))
    while left:
        best = max(CANDIDATE_TIME_FORMATS, key=lambda f: sum(1 for i in left if hits[f][i]))
        gained = {i for i in left if hits[best][i]}
        if not gained:
            break
        chosen.append(best)
        left -= gained
    if not chosen or len(left) > 0.1 * len(probe):
        return None
    return _summarise(con, counts, chosen, today=today)


def _epoch_guess(con, values: tuple[str, ...], numbers: tuple[float, ...], *, today: date) -> TimeGuess | None:
    for word, (low, high) in EPOCH_RANGES.items():
        if numbers and sum(1 for n in numbers if low <= abs(n) <= high) >= 0.99 * len(numbers):
            return _summarise(con, Counter(values), [word], today=today)
    return None


def _parse_matrix(con, values: list[str], formats: Iterable[str]) -> dict[str, list[bool]]:
    formats = list(formats)
    parses = [f"({_parse_sql('v', f)}) IS NOT NULL" for f in formats]
    rows = con.execute(f"SELECT i, {', '.join(parses)} FROM unnest(?) WITH ORDINALITY t(v, i) ORDER BY i",
                       [values]).fetchall()
    return {f: [bool(r[k + 1]) for r in rows] for k, f in enumerate(formats)}


def _parse_sql(expr: str, fmt: str) -> str:
    parsed = time_parses(expr, formats=[fmt], z_is_local=False)
    (is_wall, sql), = parsed
    return sql if is_wall else f"timezone('UTC', {sql})"


def _summarise(con, counts: Counter, formats: list[str], *, today: date) -> TimeGuess:
    """Read every distinct value with ``formats`` (in order, as the load does) and describe what they hold."""
    parse = "COALESCE(" + ", ".join(_parse_sql("v", f) for f in formats) + ")" if len(formats) > 1 \
        else _parse_sql("v", formats[0])
    values, weights = list(counts), [counts[v] for v in counts]
    row = con.execute(f"""
        WITH t AS (SELECT v, n, {parse} AS ts FROM (SELECT unnest(?) AS v, unnest(?) AS n))
        SELECT sum(n) FILTER (WHERE ts IS NOT NULL), min(ts), max(ts),
               sum(n) FILTER (WHERE ts IS NOT NULL AND CAST(ts AS TIME) = TIME '00:00:00'),
               sum(n) FILTER (WHERE ts < TIMESTAMP '1970-01-01'),
               sum(n) FILTER (WHERE ts >= CAST({lit(today.isoformat())} AS DATE) + INTERVAL 1 DAY),
               min(ts) FILTER (WHERE ts >= TIMESTAMP '1970-01-01'),
               list(v ORDER BY v) FILTER (WHERE ts IS NULL)
        FROM t""", [values, weights]).fetchone()
    parsed, first, last, midnight, early, late, plausible, bad = row
    parsed = int(parsed or 0)
    return TimeGuess(formats=tuple(formats), parsed=parsed, unparsed_examples=tuple((bad or [])[:3]),
                     first=first, last=last, date_only=all(is_date_only(f) for f in formats),
                     midnight_share=(midnight or 0) / parsed if parsed else 0.0, too_early=int(early or 0),
                     too_late=int(late or 0), earliest_plausible=plausible.date() if plausible else None)


# --- decisions -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mapping:
    """One ``fields`` line: canonical column = source field, how sure, and why."""

    canonical: str
    source: str
    confidence: str   # high, medium, low
    why: str


@dataclass(frozen=True)
class Draft:
    """Everything the TOML says: the dataset block and the comments around it."""

    name: str
    table: str
    table_why: str
    protocol: str
    format: str
    source: str
    replay: str | None
    sample: Sample
    columns: list[Column]
    fields: list[Mapping]
    options: dict[str, Any]                       # active options
    option_comments: dict[str, str]               # option -> comment on its line
    suggestions: list[str]                        # commented-out option lines with their reasons
    notes: list[str]                              # free comments (quality, areas, categories, ...)
    crs: str                                      # what the coordinates are, in words


# canonical column -> rules tried in order: (regex on the normalised name, column kinds accepted or None)
_ANY = None
_TIMES = ("time",)
_TEXT = ("text", "integer")
_INCIDENT_RULES: dict[str, list[tuple[str, tuple | None]]] = {
    "iucr": [(r"\biucr\b", _TEXT)],
    "fbi_code": [(r"\bfbi\b|\bucr\b|nibrs", _TEXT)],
    "location_description": [(r"location desc|premis\w* desc|premise|place type|location type", ("text",))],
    "occurred_at": [(r"\bocc|occur|^date$|(incident|crime|offen[cs]e|event) (date|time)|date of (occ|incident)",
                     _TIMES), (r"\bfrom\b|\bstart|\bbegin", _TIMES), (r"date|time", _TIMES)],
    "reported_at": [(r"rptd|\breport|\bfiled\b|received", _TIMES)],
    "occurred_end_at": [(r"\bto\b|\bend\b|until", _TIMES)],
    "source_updated_at": [(r"updat|modif|last edit|changed", _TIMES)],
    "primary_type": [((r"primary type|crm cd desc|crime (type|desc)|offen[cs]e (type|desc|description)|^offen[cs]e$"
                       r"|^(crime|category|incident type|type|nature)$"), ("text",)),
                     (r"categ|offen|crime|type|desc", ("text",))],
    "description": [(r"^description$|secondary|sub ?type|sub ?categ", ("text",))],
    "case_number": [(r"^case( number| no| num)?$|^dr no$|report (number|no)|incident (number|no)", _TEXT)],
    "block": [(r"^block$|block address|^address$|^location$|street address", ("text",))],
    "arrest": [(r"arrest", ("boolean",))],
    "domestic": [(r"domestic", ("boolean",))],
    "beat": [(r"\bbeat\b|rpt dist|reporting dist|\bsector\b", ("integer", "text"))],
    "district": [(r"district|division|precinct|^area$|^area (code|no|num|id)$", ("integer",))],
    "ward": [(r"\bward\b|council dist", ("integer",))],
    "community_area": [(r"community area|^community$|neighbo\w* (code|no|num|id)", ("integer",))],
}
_RULES: dict[str, dict[str, list[tuple[str, tuple | None]]]] = {
    "incidents": _INCIDENT_RULES,
    "venues": {
        "name": [(r"\bdba\b|doing business", ("text",)), (r"business name|legal name|^name$|name", ("text",))],
        "licence_type": [(r"licen[cs]e (description|type|desc)|^licen[cs]e$|naics desc|category", ("text",))],
        "licence_status": [(r"status", ("text",))],
        "address": [(r"address|street", ("text",))],
        "licence_start": [(r"start|issue|begin|effective", _TIMES)],
        "licence_end": [(r"expir|\bend\b", _TIMES)],
    },
    "services": {
        "name": [(r"^name$", ("text",)), (r"(facility|site|branch|location|service) name", ("text",)),
                 (r"name", ("text",))],
        "category": [(r"categ|type|kind|cat name", ("text",))],
        "organization": [(r"organi[sz]ation|agency|operator|provider|owner", ("text",))],
        "address": [(r"address|addr|^street|location$", ("text",))],
        "phone": [(r"phone|telephone|\btel\b", _ANY)],
        "hours": [(r"hours|schedule|open", ("text",))],
    },
    "spending": {
        "fiscal_year": [(r"fiscal year|^fy\b|\byear\b", ("integer", "text"))],
        "department_code": [(r"dep\w* (code|number|no|id)", _TEXT)],
        "department": [(r"^dep\w*( name| description| desc)?$|department|agency", ("text",))],
        "fund_code": [(r"fund (code|number|no|id)", _TEXT)],
        "fund": [(r"^fund( name| description| desc)?$", ("text",)), (r"fund", ("text",))],
        "account": [(r"account( name| description| desc)?$|object|appropriation account", ("text",))],
        "description": [(r"^description$|purpose|^program", ("text",)), (r"description", ("text",))],
        "amount": [(r"amount|ordinance|^appropriation$|budget|expend|total|spent|paid|\bsum\b",
                    ("money", "number", "integer"))],
    },
    "boundaries": {
        "code": [(r"code|number|^no$|\bnum\b|\bid\b|\bprec\b|district|area num", ("integer",)),
                 (r"code|number|^no$|\bnum\b|\bid\b|\bprec\b|district|area num", ("text",))],
        "name": [(r"name|label|title", ("text",))],
    },
    "population": {
        "area_code": [(r"code|number|\bnum\b|\bid\b", ("integer", "text"))],
        "area_name": [(r"name", ("text",))],
        "year": [(r"year", ("integer",))],
        "population": [(r"pop", ("integer", "number", "money"))],
    },
}
_FIELD_ORDER = ("source_id", "case_number", "code", "area_code", "name", "area_name", "occurred_at", "occurred_time",
                "reported_at", "reported_time", "occurred_end_at", "occurred_end_time", "source_updated_at",
                "primary_type", "description", "iucr", "fbi_code", "location_description", "block", "arrest",
                "domestic", "beat", "district", "ward", "community_area")
_TABLE_WORDS = {
    "incidents": r"crime|offen[cs]e|iucr|arrest|incident|crm|premis|beat|victim|vict|weapon|\bcase\b|dr no|fbi|mocode",
    "venues": r"licen[cs]e|\bdba\b|business|liquor|naics|restaurant|bar\b",
    "services": r"phone|hours|library|clinic|school|facility|service|website|shelter|hospital|station",
    "spending": r"amount|\bfund\b|budget|appropriation|expend|fiscal|vendor|department|account|payment",
    "population": r"population|\bpop\b|residents",
    "boundaries": r"shape area|shape len|perimeter|the geom|acres|sq ?mi",
}


def draft_dataset(sample: Sample, *, table: str | None = None, name: str | None = None, protocol: str = "file",
                  replay: str | None = None, today: date | None = None) -> Draft:
    """Decide the dataset block for ``sample``: table (or ``table``), fields, options and comments."""
    try:
        connector = connectors.protocol(protocol)
    except KeyError as exc:   # a one-line error naming the registered protocols
        raise ValueError(f"--protocol: {exc.args[0] if exc.args else protocol}") from None
    if sample.format not in connector.formats:
        raise ValueError(f"protocol {protocol!r} does not serve format {sample.format!r} "
                         f"(it serves {', '.join(connector.formats)})")
    if table is not None and table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, got {table!r}")
    columns = sniff_columns(sample, today=today)
    if table:
        table_why = "given with --table"
    else:
        table, table_why = _guess_table(sample, columns)
    notes = list(sample.notes)
    fields = _map_fields(table, columns, notes)
    options: dict[str, Any] = {}
    option_comments: dict[str, str] = {}
    suggestions: list[str] = []
    crs = _coordinates(sample, columns, fields, table, options, option_comments, suggestions, notes)
    if table == "incidents":
        _time_options(columns, fields, options, option_comments, suggestions, notes, today=today or date.today())
    else:
        _other_times(columns, notes)
    _describe_candidates(columns, fields, table, notes)
    order = list(_FIELD_ORDER)
    fields.sort(key=lambda m: order.index(m.canonical) if m.canonical in order else len(order))
    if protocol == "socrata":
        fields = [Mapping(m.canonical, soda_name(m.source), m.confidence, m.why) for m in fields]
    slug = name or _slug(Path(sample.source.split("?")[0]).stem)
    return Draft(name=slug, table=table, table_why=table_why, protocol=protocol, format=sample.format,
                 source=sample.source, replay=replay, sample=sample, columns=columns, fields=fields,
                 options=options, option_comments=option_comments, suggestions=suggestions, notes=notes, crs=crs)


def soda_name(header: str) -> str:
    """A CSV header as a Socrata SODA field name: lower case, runs of other characters to ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", header.lstrip("\ufeff").lower()).strip("_")


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:48].strip("_") or "dataset"
    return slug if slug[0].isalpha() else f"d_{slug}"


def _guess_table(sample: Sample, columns: list[Column]) -> tuple[str, str]:
    polygons = sum(n for g, n in sample.geometry_types.items() if "Polygon" in g)
    wkt_polygons = any(c.kind == "wkt" and "POLYGON" in c.values[0].upper() for c in columns)
    score: Counter = Counter()
    why: dict[str, list[str]] = {}
    for table, words in _TABLE_WORDS.items():
        hits = [c.name for c in columns if re.search(words, c.key)]
        score[table] += len(hits)
        why[table] = hits
    if polygons > len(sample.rows) / 2 or wkt_polygons:
        score["boundaries"] += 10
        why["boundaries"].insert(0, "polygon geometries")
    if any(c.kind == "time" for c in columns):
        score["incidents"] += 1
    if any(c.kind == "money" for c in columns):
        score["spending"] += 2
    ranked = score.most_common()
    if not ranked or ranked[0][1] == 0:
        return "incidents", "TODO: nothing in the columns says which table; incidents is a guess (use --table)"
    best, points = ranked[0]
    others = ", ".join(f"{t} ({p})" for t, p in ranked[1:4] if p)
    return best, (f"{points} signs: {', '.join(why[best][:6]) or 'time columns'}"
                  + (f"; next: {others}" if others else ""))


def _map_fields(table: str, columns: list[Column], notes: list[str]) -> list[Mapping]:
    """``fields`` for ``table``: the id, then each canonical column's rules in order (a column is used once,
    except that the id may also be the case number)."""
    out: list[Mapping] = []
    used: set[str] = set()
    ids = _id_candidates(columns)
    if ids and table not in ("boundaries", "population"):
        best, hinted = ids[0]
        rows = best.rows
        out.append(Mapping("source_id", best.name, "high" if hinted else "medium",
                           f"unique and filled in all {rows:,} rows read"
                           + ("" if hinted else "; the name does not say id: check it")))
    elif table not in ("boundaries", "population"):
        notes.append("no column is unique and always filled: source_id is left unmapped, so rows are numbered "
                     "('row:<n>') and a re-published file replaces every row; TODO: map an id if the portal has one")
    rules = _RULES.get(table, {})
    times = [c for c in columns if c.kind == "time"]
    allowed = MAPPABLE.get(table, set()) | _COMMON
    for rank in range(max((len(t) for t in rules.values()), default=0)):   # every field's best rule first
        for canonical, tries in rules.items():
            if canonical not in allowed or rank >= len(tries) or any(m.canonical == canonical for m in out):
                continue
            pattern, kinds = tries[rank]
            fits = (lambda c, pattern=pattern, kinds=kinds:
                    re.search(pattern, c.key) and (kinds is None or c.kind in kinds))
            match = next((c for c in columns if c.name not in used and fits(c)), None)
            if match is None and canonical == "case_number":   # the id is often the case number too (LA's DR_NO)
                match = next((c for c in columns if fits(c)), None)
            if match is not None:
                used.add(match.name)
                out.append(Mapping(canonical, match.name, "high" if rank == 0 else "medium", _why(match, canonical)))
    if table == "incidents" and not any(m.canonical == "occurred_at" for m in out):
        left = [c for c in times if c.name not in used]
        if left:
            used.add(left[0].name)
            out.append(Mapping("occurred_at", left[0].name, "low", "the first time column; nothing in the names "
                               "says when the incident happened: check it"))
    if table == "incidents":
        _pair_clock(columns, out, used)
    if table == "boundaries" and ids and not any(m.canonical == "code" for m in out):
        out.append(Mapping("code", ids[0][0].name, "low", "a unique column; the area code must equal what the "
                           "incidents store"))
    if table in ("boundaries", "population"):
        code = next((m for m in out if m.canonical in ("code", "area_code")), None)
        if code:
            out.insert(0, Mapping("source_id", code.source, "medium", "the area code, one per area"))
    return out


def _why(column: Column, canonical: str) -> str:
    if column.kind == "time" and column.time:
        t = column.time
        span = f"{t.first:%Y-%m-%d} .. {t.last:%Y-%m-%d}" if t.first and t.last else "no value read"
        extra = (", date only" if t.date_only else
                 ", always midnight: the time of day is elsewhere or unknown" if t.midnight_share >= 0.99 else "")
        return f"times {', '.join(t.formats)}; {span}{extra}"
    if canonical in ("beat", "district", "ward", "community_area", "code"):
        return f"{column.distinct:,} distinct codes, e.g. {', '.join(sorted(set(column.values))[:3])}"
    if column.kind == "text" and column.distinct <= 1000:
        top = Counter(column.values).most_common(2)
        return f"{column.distinct:,} distinct values, e.g. {', '.join(v for v, _ in top)}"
    return f"{column.kind}, e.g. {column.values[0][:40]!r}" if column.values else column.kind


def _id_candidates(columns: list[Column]) -> list[tuple[Column, bool]]:
    """Unique, always filled columns that can be ids (not times, not fractions), names that say id first."""
    out = [(c, bool(_ID_NAME.search(c.key))) for c in columns
           if c.unique and c.kind in ("integer", "text") and not (c.kind == "text" and len(c.values[0]) > 64)]
    return sorted(out, key=lambda pair: (not pair[1], columns.index(pair[0])))


def _pair_clock(columns: list[Column], out: list[Mapping], used: set[str]) -> None:
    """A separate time-of-day column (``TIME OCC`` = ``2230``) goes with the date it shares a word with."""
    clocks = [c for c in columns if c.kind == "clock" and c.name not in used]
    for canonical in ("occurred_at", "reported_at", "occurred_end_at"):
        date_map = next((m for m in out if m.canonical == canonical), None)
        if date_map is None or not clocks:
            continue
        words = set(_key(date_map.source).split()) - {"date", "time", "dt", "tm", "of"}
        partner = next((c for c in clocks if words & set(c.key.split())), None)
        if partner is None and canonical == "occurred_at" and len(clocks) == 1:
            partner = clocks[0]
        if partner is not None:
            clocks.remove(partner)
            used.add(partner.name)
            confidence = "high" if words & set(partner.key.split()) else "medium"
            out.append(Mapping(canonical.replace("_at", "_time"), partner.name, confidence,
                               f"time of day as HHMM text (e.g. {partner.values[0]!r}), read with {date_map.source}"))


def _coordinates(sample: Sample, columns: list[Column], fields: list[Mapping], table: str, options: dict,
                 option_comments: dict, suggestions: list[str], notes: list[str]) -> str:
    """Map lat/lon, x/y or a ``(lat, lon)`` column; judge the CRS from the ranges; suggest a bbox."""
    numeric = [c for c in columns if c.kind in ("number", "integer") and c.numbers]
    lat = next((c for c in numeric if _LAT_NAME.match(c.key) and _within(c, 90)), None)
    lon = next((c for c in numeric if _LON_NAME.match(c.key) and _within(c, 180)), None)
    x = next((c for c in numeric if _X_NAME.match(c.key) and c is not lon), None)
    y = next((c for c in numeric if _Y_NAME.match(c.key) and c is not lat), None)
    points: list[tuple[float, float]] = []   # (lon, lat) in degrees
    crs = "no coordinates found"
    if lat is not None and lon is not None:
        fields += [Mapping("lat", lat.name, "high", "latitude in degrees"),
                   Mapping("lon", lon.name, "high", "longitude in degrees")]
        points = _pairs(sample, lon.name, lat.name)
        crs = "WGS84 longitude/latitude (degrees)"
    elif x is not None and y is not None and _within(x, 180) and _within(y, 90):
        fields += [Mapping("lon", x.name, "medium", "X in degrees: a longitude"),
                   Mapping("lat", y.name, "medium", "Y in degrees: a latitude")]
        points = _pairs(sample, x.name, y.name)
        crs = "WGS84 longitude/latitude (degrees, in columns named X/Y)"
        x = y = None
    if x is not None and y is not None:
        fields += [Mapping("source_x", x.name, "medium", f"projected x, {_span(x)}"),
                   Mapping("source_y", y.name, "medium", f"projected y, {_span(y)}")]
        stated = sample.stated_crs if sample.stated_crs and sample.stated_crs.startswith("EPSG:") else None
        if stated and stated != "EPSG:4326":
            options["crs"] = stated
            option_comments["crs"] = "stated by the file's .prj / crs member"
            crs = crs if points else f"projected, {stated} (stated by the file)"
        else:
            what = f" (the file says: {sample.stated_crs})" if sample.stated_crs else ""
            suggestions.append(f'# crs = "EPSG:????"   # TODO: {x.name}/{y.name} are projected, EPSG unknown — set '
                               f"crs{what} (US state plane feet is typical: e.g. EPSG:3435 Illinois East, "
                               "EPSG:2229 California V)")
            if not points:
                crs = "projected, EPSG unknown — set crs"
            notes.append(f"{x.name}/{y.name}: projected coordinates ({_span(x)}, {_span(y)}): projected, EPSG "
                         "unknown — set crs" + (" (used only where lat/lon are missing)" if points else ""))
    location = next((c for c in columns if c.kind == "latlon"), None)
    if location is not None:
        fields.append(Mapping("location", location.name, "high" if not points else "medium",
                              '"(lat, lon)" text' + ("; lat/lon come first, this fills the gaps" if points else "")))
        if not points:
            points = [(lo, la) for la, lo in (_latlon(v) for v in location.values) if la is not None]
            crs = 'WGS84, in a "(lat, lon)" text column'
    wkt = next((c for c in columns if c.kind == "wkt"), None)
    if wkt is not None and not points:
        fields.append(Mapping("wkt", wkt.name, "high", f"WKT geometries, e.g. {wkt.values[0][:30]!r}"))
        crs = "WKT geometries (read as WGS84)"
    if sample.points and not points:
        gx = [p[0] for p in sample.points]
        if all(abs(v) <= 180 for v in gx) and all(abs(p[1]) <= 90 for p in sample.points):
            points = [p for p in sample.points]
            crs = "GeoJSON geometries, WGS84" + (f" (crs member: {sample.stated_crs})" if sample.stated_crs else "")
        else:
            crs = (f"GeoJSON geometries in projected coordinates ({min(gx):,.0f} .. {max(gx):,.0f}): "
                   + (f"the crs member says {sample.stated_crs}" if sample.stated_crs else
                      "projected, EPSG unknown — set crs") + "; TODO: GeoJSON must be WGS84: reproject the file")
            notes.append(crs)
    if table in ("incidents", "venues", "services", "boundaries"):
        _point_quality(points, suggestions, notes)
    return crs


def _within(column: Column, limit: float) -> bool:
    usable = [abs(n) for n in column.numbers if n not in (0.0, -1.0)]
    return bool(usable) and sum(1 for n in usable if n <= limit) >= 0.95 * len(usable)


def _span(column: Column) -> str:
    return f"{min(column.numbers):,.0f} .. {max(column.numbers):,.0f}"


def _pairs(sample: Sample, x: str, y: str) -> list[tuple[float, float]]:
    out = []
    for row in sample.rows:
        try:
            out.append((float(row.get(x) or "nan"), float(row.get(y) or "nan")))
        except ValueError:
            continue
    return [p for p in out if not (math.isnan(p[0]) or math.isnan(p[1]))]


def _latlon(text: str) -> tuple[float | None, float | None]:
    match = _LATLON.search(text)
    return (float(match.group(1)), float(match.group(2))) if match else (None, None)


def _point_quality(points: list[tuple[float, float]], suggestions: list[str], notes: list[str]) -> None:
    """0,0 and -1 sentinels, out-of-range values, and a bbox from the bulk of the points."""
    if not points:
        return
    zero = sum(1 for p in points if p == (0.0, 0.0))
    sentinel = sum(1 for p in points if p != (0.0, 0.0) and (p[0] in (0.0, -1.0) or p[1] in (0.0, -1.0)))
    impossible = sum(1 for lo, la in points if abs(la) > 90 or abs(lo) > 180)
    if zero:
        notes.append(f"{zero:,} points are 0,0 (an unknown location): the default coordinate_sentinels [0, -1] keep "
                     "those rows without lat/lon, flagged invalid_coordinates")
    if sentinel:
        notes.append(f"{sentinel:,} points have one coordinate 0 or -1: flagged sentinel_coordinates by the default "
                     "coordinate_sentinels; add the source's own 'no location' value there if it uses another")
    if impossible:
        notes.append(f"{impossible:,} points lie outside -90..90 / -180..180: swapped or misplaced decimals? a "
                     "bbox flags them (swapped_coordinates, misplaced_decimal)")
    good = sorted((la, lo) for lo, la in points if (lo, la) != (0.0, 0.0) and abs(la) <= 90 and abs(lo) <= 180
                  and lo not in (0.0, -1.0) and la not in (0.0, -1.0))
    if len(good) < 2:
        return
    lats, lons = sorted(p[0] for p in good), sorted(p[1] for p in good)
    cut = (lambda xs, q: xs[min(len(xs) - 1, max(0, int(q * (len(xs) - 1))))])
    box = [math.floor(cut(lats, 0.005) * 100) / 100, math.floor(cut(lons, 0.005) * 100) / 100,
           math.ceil(cut(lats, 0.995) * 100) / 100, math.ceil(cut(lons, 0.995) * 100) / 100]
    outside = sum(1 for la, lo in good if not (box[0] <= la <= box[2] and box[1] <= lo <= box[3]))
    suggestions.append(f"# bbox = {json.dumps(box)}   # TODO: the city's extent [min_lat, min_lon, max_lat, max_lon]; "
                       f"99 % of the points read lie in this box, {outside:,} outside (flagged outside_city once set)")
    suggestions.append("# bbox_tolerance_m = 500   # how far outside the bbox a point may lie (block-rounded points)")


def _time_options(columns: list[Column], fields: list[Mapping], options: dict, option_comments: dict,
                  suggestions: list[str], notes: list[str], *, today: date) -> None:
    """time_formats for the mapped time fields, min_date/max_date from what the values hold."""
    by_name = {c.name: c for c in columns}
    mapped = [(m, by_name[m.source]) for m in fields
              if m.canonical.endswith("_at") and by_name.get(m.source) is not None and by_name[m.source].time]
    formats: list[str] = []
    for _, column in mapped:
        formats += [f for f in column.time.formats if f not in formats]
    if mapped and not any(m.canonical == "occurred_at" for m in fields) and \
            any(m.canonical == "reported_at" for m in fields):
        options["incident_time"] = "reported"
        option_comments["incident_time"] = ("only a report time: occurred_at is filled from it (the products then "
                                            "show when crimes were reported)")
    if formats:
        options["time_formats"] = formats
        option_comments["time_formats"] = "; ".join(f"{c.name}: {', '.join(c.time.formats)}" for _, c in mapped)
    if any("%z" in f or f.startswith("epoch") for f in formats):
        notes.append("times carry an offset (or are epoch numbers): they are instants, converted to the city's "
                     "timezone; if the portal stamps local times with Z, set z_is_local = true")
    for mapping, column in mapped:
        t = column.time
        unread = column.filled - t.parsed
        if unread:
            notes.append(f"{unread:,} {column.name} values match no format (e.g. {', '.join(t.unparsed_examples)}): "
                         f"they would be quarantined bad_timestamp; add a format if they are times")
        if t.too_early and t.earliest_plausible and "min_date" not in options:
            options["min_date"] = f"{t.earliest_plausible:%Y}-01-01"
            option_comments["min_date"] = (f"{t.too_early:,} {column.name} values before 1970 (earliest "
                                           f"{t.first:%Y-%m-%d}): implausible, quarantined implausible_date (or set "
                                           "implausible_dates = \"flag\" to keep them flagged)")
        elif t.first and mapping.canonical == "occurred_at":
            suggestions.append(f'# min_date = "{t.first:%Y}-01-01"   # {column.name} starts {t.first:%Y-%m-%d}; the '
                               "default is 1900-01-01: set the start the publisher states (e.g. \"2020 to present\")")
        if t.too_late:
            suggestions.append(f'# max_date = "{today:%Y-%m-%d}"   # {t.too_late:,} {column.name} values after the day '
                               f"of drafting (latest {t.last:%Y-%m-%d}): implausible by default (after the download)")
        if mapping.canonical == "occurred_at" and t.midnight_share >= 0.99 and not t.date_only and \
                not any(m.canonical == "occurred_time" for m in fields):
            notes.append(f"{column.name} is always 00:00 (midnight): the time of day is unknown or in another column; "
                         "map it to occurred_time if there is one")


def _other_times(columns: list[Column], notes: list[str]) -> None:
    for column in columns:
        if column.time and not set(column.time.formats) <= set(TIMESTAMP_FORMATS):
            notes.append(f"{column.name}: times written {', '.join(column.time.formats)}, which this table reads "
                         "only in the default formats")


def _describe_candidates(columns: list[Column], fields: list[Mapping], table: str, notes: list[str]) -> None:
    mapped = {m.source for m in fields}
    ids = [c.name for c, _ in _id_candidates(columns)]
    if ids:
        notes.append(f"id candidates (unique, always filled in the rows read): {', '.join(ids[:6])}")
    areas = [c for c in columns if _AREA_NAME.search(c.key) and 1 < c.distinct <= max(2, min(2000, c.filled // 3))]
    if areas:
        notes.append("area candidates: " + "; ".join(f"{c.name} ({c.distinct:,} codes, e.g. "
                                                      f"{', '.join(sorted(set(c.values))[:3])})" for c in areas[:6])
                     + " — an incident area must equal the code of its boundaries (docs/new-city.md, 6)")
    categories = [c for c in columns if c.kind == "text" and c.name not in mapped and 1 < c.distinct <= 500
                  and c.distinct <= c.filled / 5 and _CATEGORY_NAME.search(c.key)]
    if categories:
        notes.append("category candidates: " + "; ".join(f"{c.name} ({c.distinct:,} values)" for c in categories[:6]))
    left = [c.name for c in columns if c.name not in mapped and c.filled]
    if left:
        notes.append(f"not mapped (no canonical column of {table} fits, or unsure): {', '.join(left)}")
    empty = [c.name for c in columns if not c.filled]
    if empty:
        notes.append(f"always empty in the rows read: {', '.join(empty)}")


# --- writing -------------------------------------------------------------------------------------------

def draft_profile(source: str, *, table: str | None = None, name: str | None = None, protocol: str = "file",
                  fmt: str | None = None, replay: str | None = None, max_rows: int = DEFAULT_MAX_ROWS,
                  today: date | None = None, session=None) -> str:
    """The TOML dataset block drafted from ``source`` (a path or an http(s) URL)."""
    sample = read_sample(source, fmt=fmt, max_rows=max_rows, session=session)
    return render_toml(draft_dataset(sample, table=table, name=name, protocol=protocol, replay=replay, today=today))


def render_toml(draft: Draft) -> str:
    """The dataset block with its comments: TOML that ``load_profile`` reads once wrapped in a city profile."""
    s = draft.sample
    read = (f"a sample: one record in {s.step:,}, {len(s.rows):,} of {s.total_rows:,} (counts below are of those)"
            if s.truncated else f"all {len(s.rows):,} records")
    lines = [
        f"# Drafted by `civicmash profile draft` from {draft.source}",
        f"# on {date.today():%Y-%m-%d}, reading {read}.",
        "# A start, not a verdict: check every line, fill each TODO, then `civicmash profile check FILE` and a run",
        "# (docs/new-city.md, \"Start from a draft\").",
        "# A city profile around it needs, at the top:  name = \"<slug>\"  title = \"<City>\"  timezone = \"<IANA zone>\"",
        "#",
        f"# Table: {draft.table} ({draft.table_why}).",
        f"# Coordinates: {draft.crs}.",
        "# Columns read (kind, filled, distinct in the rows read, example):",
    ]
    width = min(28, max((len(c.name) for c in draft.columns), default=4))
    lines += [f"#   {c.name:<{width}} {c.describe()}" for c in draft.columns]
    head = f"[datasets.{draft.name}]"
    lines += ["", head,
              f'title = {_q("TODO: the title as published")}',
              f"protocol = {_q(draft.protocol)}",
              f"format = {_q(draft.format)}",
              f"table = {_q(draft.table)}"]
    if draft.table == "boundaries":
        lines.append(f'kind = {_q("TODO")}   # TODO: the area kind: community_area, beat, district, ward, neighbourhood, ...')
    if connectors.protocol(draft.protocol).addressing == "portal":
        lines += [f'domain = {_q("TODO: the portal host, e.g. data.cityofchicago.org")}   # TODO',
                  f'dataset_id = {_q("TODO: the dataset id, e.g. ijzp-q8t2")}   # TODO',
                  "# field names below are the portal's API names (the CSV header lower-cased, other characters -> _)"]
    else:
        url = draft.source if draft.source.startswith(("http://", "https://")) else str(Path(draft.source).resolve())
        lines.append(f"url = {_q(url)}   # TODO: the address to cite (the portal's download URL)")
    if draft.replay:
        lines.append(f"replay = {_q(draft.replay)}   # path inside the `civicmash run --replay DIR` directory")
    else:
        lines.append(f"# replay = {_q(Path(draft.source.split('?')[0]).name)}   # to run offline: the path inside "
                     "the `--replay DIR` directory")
    lines.append(f"licence = {_q('unknown: check the portal' + chr(39) + 's terms')}   # TODO: the licence or terms")
    if draft.options or draft.suggestions:
        lines += ["", f"[datasets.{draft.name}.options]"]
        for key, value in draft.options.items():
            comment = draft.option_comments.get(key)
            lines.append(f"{key} = {_value(value)}" + (f"   # {comment}" if comment else ""))
        lines += draft.suggestions
    lines += ["", f"[datasets.{draft.name}.fields]"]
    if not draft.fields:
        lines.append("# TODO: no column matched a canonical column of this table: map them by hand")
    key_width = max((len(m.canonical) for m in draft.fields), default=0)
    for m in draft.fields:
        lines.append(f"{m.canonical:<{key_width}} = {_q(m.source)}   # {m.confidence}: {m.why}")
    if draft.notes:
        lines += ["", "# Notes:"]
        lines += [f"# - {note}" for note in draft.notes]
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else _q(value)
