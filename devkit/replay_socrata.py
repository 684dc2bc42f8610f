"""The replay portal's Socrata handler: SODA ``/resource/<id>.json|.csv|.geojson`` from a CSV or GeoJSON export,
with ``$limit``/``$offset``/``$order``/``$where``/``$select``, system fields and the SODA2 headers."""


import csv
import io
import json
import re
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from civicmash.connectors.files import haversine_m
from civicmash.connectors.pages import unique_names

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))   # WKT cells in park exports exceed the 131,072 default


from .replay_portal import ReplayHandler, ReplayPortal, ReplayRequest, Reply, Route, load_features

FIXED_UPDATED_AT = "2024-01-01T00:00:00.000"   # :updated_at when the source has no updated_on column
SODA_MAX_LIMIT = 50000


def _soda_error(status: int, message: str, code: str = "query.compiler.malformed") -> Reply:
    return Reply(status, {"code": code, "error": True, "message": message})




_US_DATETIME = re.compile(r"(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([AP]M)")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")   # ints and decimals alike are SODA `number`
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}")
_CONDITION = re.compile(r"\s*([:\w]+)\s*(>=|<=|!=|=|>|<)\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*", re.S)
_NUM = r"(-?\d+(?:\.\d+)?)"
_POINT_TEXT = re.compile(r"\(\s*[-+]?\d+(?:\.\d+)?\s*,\s*[-+]?\d+(?:\.\d+)?\s*\)")
_WITHIN_CIRCLE = re.compile(rf"\s*within_circle\(\s*([:\w]+)\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*\)\s*",
                            re.I)
_AND = re.compile(r"and\b", re.I)
_OPEN, _CLOSE = re.compile(r"\s*\("), re.compile(r"\s*\)\s*")


def api_name(header: str) -> str:
    """A CSV export header -> its SODA API field name (``Primary Type`` -> ``primary_type``)."""
    return re.sub(r"[^0-9a-z]+", "_", header.lstrip("\ufeff").lower()).strip("_")


def _iso(v: str) -> str:
    """``05/01/2018 07:25:00 PM`` -> ``2018-05-01T19:25:00.000``; anything else unchanged."""
    if len(v) != 22 or not _US_DATETIME.fullmatch(v):
        return v
    hour = int(v[11:13]) % 12 + (12 if v[20] == "P" else 0)
    return f"{v[6:10]}-{v[0:2]}-{v[3:5]}T{hour:02d}{v[13:19]}.000"


def _column_type(values) -> str:
    """SODA type of a column from all its values ("" is null): headers, numeric compare and sort.

    ``number`` only when every value is a decimal numeral (ints and decimals alike, as in SODA)."""
    distinct = set(values)
    distinct.discard("")
    if not distinct:
        return "text"
    if distinct <= {"true", "false"}:
        return "checkbox"
    for kind, pattern in (("floating_timestamp", _ISO), ("number", _NUMBER)):
        if all(pattern.fullmatch(v) for v in distinct):
            return kind
    return "text"


def _source_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class _SodaTable:
    """A source converted once to SODA semantics; answers $order/$where/$limit/$offset/$select queries."""

    def __init__(self, headers: list[str], rows: list[list[str]], geoms: list | None):
        """``rows``: lists of strings as wide as ``headers``, ``""`` meaning null. Converted in place."""
        self.columns = unique_names([api_name(h) for h in headers], first_repeat=1)  # SODA: address_1
        self.rows = rows
        n = len(rows)
        sample = rows[::max(1, n // 5000)]
        for c in range(len(self.columns)):
            if any(_US_DATETIME.fullmatch(r[c]) for r in sample[:200]):
                for r in rows:
                    r[c] = _iso(r[c])
        self.types = {name: _column_type([r[c] for r in rows]) for c, name in enumerate(self.columns)}
        self.geoms = geoms
        self._points: set[str] | None = None   # see _point_fields
        self.ids = [f"row-{i + 1:08d}" for i in range(n)]
        upd = self.columns.index("updated_on") if "updated_on" in self.columns else None
        self.updated = [(r[upd] if upd is not None and r[upd] else FIXED_UPDATED_AT) for r in rows]
        self._json: dict[bool, list[str | None]] = {True: [None] * n, False: [None] * n}
        self._csv_rows: dict[bool, list[str | None]] = {True: [None] * n, False: [None] * n}
        self._replies: dict[tuple, Reply] = {}      # whole answers by normalised query, oldest first
        self._reply_bytes = 0
        self.cache_bytes = 256 << 20
        self._orders: dict[str, list[int]] = {}
        self._lock = threading.RLock()
        ltype = None
        if geoms is not None:
            ltype = next((g["type"].lower() for g in geoms if g), "multipolygon")
        self.geom_type = ltype

    @classmethod
    def load(cls, path: Path, fmt: str) -> "_SodaTable":
        if fmt == "csv":
            with open(path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                headers = next(reader)
                width = len(headers)
                rows = [r if len(r) == width else (r + [""] * width)[:width] for r in reader if r]
            return cls(headers, rows, None)
        features = load_features(path)
        headers = list(dict.fromkeys(k for f in features for k in (f.get("properties") or {})))
        props = [f.get("properties") or {} for f in features]
        rows = [[_source_text(p.get(h)) for h in headers] for p in props]
        return cls(headers, rows, [f.get("geometry") for f in features])

    # -- query --

    def query(self, fmt: str, q: dict, *, count_skew: int = 0) -> Reply:
        with self._lock:      # a consistent snapshot while append/update may run
            select = (q.get("$select") or "").replace(" ", "")
            if select.lower() == "count(*)":
                return self._count(q, count_skew)
            if select not in ("", "*", ":*,*"):
                return self._columns(fmt, select, q)
            return self._query(fmt, q)

    def metadata(self, dataset_id: str) -> Reply:
        """``/api/views/<id>.json``: the dataset's metadata as Socrata gives it, in part: ``id``, ``name``,
        ``columns`` and ``rowsUpdatedAt`` (Unix seconds of the newest ``:updated_at``, a floating time
        read as UTC: the replay portal knows no time zone)."""
        newest = max(self.updated, default=FIXED_UPDATED_AT)
        stamp = int(datetime.strptime(newest[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
        return Reply(200, {"id": dataset_id, "name": dataset_id, "rowsUpdatedAt": stamp,
                           "columns": [{"fieldName": c, "dataTypeName": self.types[c]} for c in self.columns]})

    def _count(self, q: dict, skew: int) -> Reply:
        """``$select=count(*)`` (with ``$where``): ``[{"count": "<n>"}]`` as SODA answers it (+ ``skew``)."""
        n = len(self._index(":id", q.get("$where"))) + skew
        return Reply(200, json.dumps([{"count": str(n)}]), "application/json; charset=utf-8",
                     {"X-SODA2-Fields": '["count"]', "X-SODA2-Types": '["number"]'})

    def _columns(self, fmt: str, select: str, q: dict) -> Reply:
        """``$select=<field>[,<field>...]`` of plain fields or system fields (``:id``): JSON rows of just
        those fields (null values left out, as SODA does); what the deletion sweep asks for."""
        fields = select.split(",")
        unknown = [f for f in fields if f not in self.types and f not in (":id", ":updated_at")]
        if unknown or fmt != "json":
            raise _soda_error(400, f"the replay portal selects known fields in JSON only (got {select!r})")
        limit, offset = _int_param(q, "$limit", 1000), _int_param(q, "$offset", 0)
        if limit > SODA_MAX_LIMIT:
            raise _soda_error(400, f"$limit must be at most {SODA_MAX_LIMIT}")
        index = self._index(q.get("$order", ":id").strip(), q.get("$where"))[offset:offset + limit]
        getters = {f: (lambda i: self.ids[i]) if f == ":id" else (lambda i: self.updated[i]) if f == ":updated_at"
                   else (lambda i, c=self.columns.index(f): self.rows[i][c]) for f in fields}
        rows = [{f: v for f, get in getters.items() if (v := get(i))} for i in index]
        return Reply(200, json.dumps(rows), "application/json; charset=utf-8",
                     {"X-SODA2-Fields": json.dumps(fields),
                      "X-SODA2-Types": json.dumps([self.types.get(f, "meta_data") for f in fields])})

    def _query(self, fmt: str, q: dict) -> Reply:
        system = self._select(q.get("$select"))
        limit = _int_param(q, "$limit", 1000)
        offset = _int_param(q, "$offset", 0)
        if limit > SODA_MAX_LIMIT:
            raise _soda_error(400, f"$limit must be at most {SODA_MAX_LIMIT}")
        key = (fmt, system, q.get("$order", ":id").strip(), q.get("$where"), offset, limit)
        reply = self._replies.get(key)
        if reply is None:
            reply = self._render(fmt, system, key[2], key[3], offset, limit)
            self._remember(key, reply)
        return reply

    def _remember(self, key: tuple, reply: Reply) -> None:
        """Keep an answer for the same query again (bounded by ``cache_bytes``, oldest dropped first)."""
        size = len(reply.body)
        if size > self.cache_bytes:
            return
        while self._replies and self._reply_bytes + size > self.cache_bytes:
            self._reply_bytes -= len(self._replies.pop(next(iter(self._replies))).body)
        self._replies[key] = reply
        self._reply_bytes += size

    def _forget(self) -> None:
        self._replies.clear()
        self._reply_bytes = 0

    def _render(self, fmt: str, system: bool, order: str, where: str | None, offset: int, limit: int) -> Reply:
        index = self._index(order, where)[offset:offset + limit]
        fields = ([":id", ":updated_at"] if system else []) + self.columns + (["the_geom"] if self.geoms else [])
        types = ["meta_data"] * (2 if system else 0) + [self.types[c] for c in self.columns] + (
            [self.geom_type] if self.geoms else [])
        headers = {"X-SODA2-Fields": json.dumps(fields), "X-SODA2-Types": json.dumps(types)}
        if fmt == "json":
            body = "[" + ",\n".join(self._row_json(i, system) for i in index) + "]"
            return Reply(200, body, "application/json; charset=utf-8", headers)
        if fmt == "csv":
            return Reply(200, self._csv(index, system, fields), "text/csv; charset=utf-8", headers)
        features = [{"type": "Feature", "geometry": self._geometry(i), "properties": self._row_obj(i, system, False)}
                    for i in index]
        return Reply(200, {"type": "FeatureCollection", "features": features},
                      "application/vnd.geo+json; charset=utf-8", headers)

    def _select(self, select: str | None) -> bool:
        if select is None or select.replace(" ", "") in ("*", ""):
            return False
        if select.replace(" ", "") == ":*,*":
            return True
        raise _soda_error(400, f"the replay portal supports only $select=:*,* (got {select!r})")

    def _index(self, order: str, where: str | None) -> list[int]:
        index = self._ordered(order)
        if where:
            predicates = self._parse_where(where)
            index = [i for i in index if all(p(i) for p in predicates)]
        return index

    def _ordered(self, order: str) -> list[int]:
        key = order.strip()
        with self._lock:
            if key not in self._orders:
                index = list(range(len(self.rows)))
                for term in reversed([t.strip() for t in key.split(",") if t.strip()]):
                    m = re.fullmatch(r"([:\w]+)(?:\s+(asc|desc))?", term, re.I)
                    if not m:
                        raise _soda_error(400, f"cannot parse $order term {term!r}")
                    value = self._getter(m.group(1))
                    index.sort(key=lambda i: (value(i) is None, value(i) or 0),
                               reverse=(m.group(2) or "").lower() == "desc")
                self._orders[key] = index
            return self._orders[key]

    def _getter(self, field: str):
        """i -> comparable value of ``field`` in row i (float for number columns)."""
        if field == ":id":
            return lambda i: i
        if field == ":updated_at":
            return lambda i: self.updated[i]
        if field not in self.types:
            raise _soda_error(400, f"No such column: {field}")
        col = self.columns.index(field)
        if self.types[field] == "number":
            return lambda i: _float(self.rows[i][col])
        return lambda i: self.rows[i][col] or None

    def _parse_where(self, where: str) -> list:
        """``field op value`` conditions joined by AND, optionally grouped in parentheses (a no-op with
        AND only)."""
        predicates, pos, depth = [], 0, 0
        while True:
            while (o := _OPEN.match(where, pos)):
                depth, pos = depth + 1, o.end()
            if (c := _WITHIN_CIRCLE.match(where, pos)):
                predicates.append(self._within_circle(c.group(1), *map(float, c.groups()[1:])))
                pos = c.end()
            elif (m := _CONDITION.match(where, pos)):
                predicates.append(self._predicate(*m.groups()))
                pos = m.end()
            else:
                raise _soda_error(400, f"the replay portal supports `field op 'value'` and "
                                       f"`within_circle(field, lat, lon, metres)` joined by AND; "
                                       f"cannot parse {where[pos:]!r}")
            while depth and (c := _CLOSE.match(where, pos)):
                depth, pos = depth - 1, c.end()
            if pos >= len(where):
                if depth:
                    raise _soda_error(400, f"unbalanced parentheses in $where {where!r}")
                return predicates
            a = _AND.match(where, pos)
            if not a:
                raise _soda_error(400, f"expected AND at {where[pos:]!r}")
            pos = a.end()

    def _within_circle(self, field: str, lat: float, lon: float, radius_m: float):
        """SoQL ``within_circle(location, lat, lon, radius_m)``: the row's point (its geometry, or its
        ``latitude``/``longitude`` columns) within ``radius_m`` metres, great-circle (haversine)."""
        points = self._point_fields()
        if field not in points:
            if field not in self.types and field != "the_geom":
                raise _soda_error(400, f"No such column: {field}")
            raise _soda_error(400, f"within_circle needs a point column ({', '.join(sorted(points)) or 'none here'}); "
                                   f"{field} is not one")
        def inside(i: int) -> bool:
            geometry = self._geometry(i)
            if not geometry or geometry.get("type") != "Point":
                return False
            x, y = geometry["coordinates"][:2]
            return haversine_m(lon, lat, x, y) <= radius_m
        return inside

    def _point_fields(self) -> set[str]:
        """The fields holding the row's point: ``the_geom`` of a GeoJSON source; of a CSV source with latitude and
        longitude columns, ``location`` (the point column of a Socrata dataset such as Chicago's crimes, which
        exports drop) and any column whose every value is a ``(lat, lon)`` pair."""
        if self.geoms:
            return {"the_geom"}
        if not {"latitude", "longitude"} <= set(self.types):
            return set()
        if self._points is None:
            self._points = {"location"} | {name for c, name in enumerate(self.columns) if self.types[name] == "text"
                            and (vals := [r[c] for r in self.rows if r[c]])
                            and all(_POINT_TEXT.fullmatch(v) for v in vals)}
        return self._points

    def _predicate(self, field: str, op: str, literal: str):
        value = self._getter(field)
        ftype = "floating_timestamp" if field == ":updated_at" else ("number" if field == ":id" else self.types[field])
        if literal.startswith("'"):
            literal = literal[1:-1].replace("''", "'")
        if ftype == "number":
            try:
                target: Any = float(literal) if field != ":id" else self.ids.index(literal)
            except ValueError:
                raise _soda_error(400, f"{field} is a number, {literal!r} is not") from None
        elif ftype == "floating_timestamp" and re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?", literal):
            target = literal + ("T00:00:00.000" if len(literal) == 10 else ".000")
        else:
            target = literal
        compare = {">": lambda a: a > target, ">=": lambda a: a >= target, "<": lambda a: a < target,
                   "<=": lambda a: a <= target, "=": lambda a: a == target, "!=": lambda a: a != target}[op]
        return lambda i: (v := value(i)) is not None and compare(v)

    # -- changes while serving --

    def _next_stamp(self) -> str:
        """A floating timestamp newer than every row's :updated_at (now, or the newest + 1 s)."""
        newest = max(self.updated, default=FIXED_UPDATED_AT)
        stamp = datetime.now().strftime("%Y-%m-%dT%H:%M:%S.000")
        if stamp <= newest:
            base = datetime.strptime(newest[:19], "%Y-%m-%dT%H:%M:%S")
            stamp = (base + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000")
        return stamp

    def _cells(self, values: dict) -> dict[int, str]:
        unknown = [k for k in values if k not in self.types]
        if unknown:
            raise ValueError(f"no such field(s) {unknown}; fields are {self.columns}")
        return {self.columns.index(k): _source_text(_iso(v) if isinstance(v, str) else v)
                for k, v in values.items()}

    def _touched(self, i: int, stamp: str) -> None:
        self.updated[i] = stamp
        if "updated_on" in self.types:
            self.rows[i][self.columns.index("updated_on")] = stamp
        self._json[True][i] = self._json[False][i] = None
        self._csv_rows[True][i] = self._csv_rows[False][i] = None

    def append(self, rows: list[dict]) -> list[str]:
        with self._lock:
            stamp = self._next_stamp()
            cells = [self._cells(r) for r in rows]
            new_ids = []
            for cell in cells:
                i = len(self.rows)
                self.rows.append([cell.get(c, "") for c in range(len(self.columns))])
                self.ids.append(f"row-{i + 1:08d}")
                self.updated.append(stamp)
                self._json[True].append(None)
                self._json[False].append(None)
                self._csv_rows[True].append(None)
                self._csv_rows[False].append(None)
                if self.geoms is not None:
                    self.geoms.append(None)
                self._touched(i, stamp)
                new_ids.append(self.ids[i])
            self._orders.clear()
            self._forget()
            return new_ids

    def update(self, updates: dict[str, dict], key: str) -> list[str]:
        with self._lock:
            if key == ":id":
                where = {rid: i for i, rid in enumerate(self.ids)}
            elif key in self.types:
                col = self.columns.index(key)
                where = {r[col]: i for i, r in enumerate(self.rows)}
            else:
                raise ValueError(f"no such key field {key!r}")
            missing = [k for k in updates if str(k) not in where]
            if missing:
                raise KeyError(f"no row with {key} in {missing}")
            stamp = self._next_stamp()
            touched = []
            for source_id, values in updates.items():
                i = where[str(source_id)]
                for c, v in self._cells(values).items():
                    self.rows[i][c] = v
                self._touched(i, stamp)
                touched.append(self.ids[i])
            self._orders.clear()
            self._forget()
            return touched

    # -- rendering --

    def _row_obj(self, i: int, system: bool, with_geometry: bool = True) -> dict:
        obj: dict[str, Any] = {":id": self.ids[i], ":updated_at": self.updated[i]} if system else {}
        for c, v in zip(self.columns, self.rows[i]):
            if v:
                obj[c] = (v == "true") if self.types[c] == "checkbox" and v in ("true", "false") else v
        if with_geometry and self.geoms and self.geoms[i]:
            obj["the_geom"] = self.geoms[i]
        return obj

    def _row_json(self, i: int, system: bool) -> str:
        cache = self._json[system]
        if cache[i] is None:
            cache[i] = json.dumps(self._row_obj(i, system), separators=(",", ":"), ensure_ascii=False)
        return cache[i]

    def _csv(self, index: list[int], system: bool, fields: list[str]) -> str:
        """The CSV answer; each row is rendered once (``csv.writer``, ``\\n`` line ends) and kept."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(fields)
        cache = self._csv_rows[system]
        parts = [out.getvalue()]
        for i in index:
            line = cache[i]
            if line is None:
                out.seek(0)
                out.truncate()
                row = [self.ids[i], self.updated[i]] if system else []
                row += self.rows[i]
                if self.geoms:
                    row.append(_wkt(self.geoms[i]) if self.geoms[i] else "")
                writer.writerow(row)
                line = cache[i] = out.getvalue()
            parts.append(line)
        return "".join(parts)

    def _geometry(self, i: int) -> dict | None:
        if self.geoms:
            return self.geoms[i]
        if "latitude" in self.types and "longitude" in self.types:
            row = self.rows[i]
            lat, lon = row[self.columns.index("latitude")], row[self.columns.index("longitude")]
            if lat and lon:
                return {"type": "Point", "coordinates": [float(lon), float(lat)]}
        return None


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _int_param(q: dict, name: str, default: int) -> int:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise _soda_error(400, f"{name} must be a non-negative integer, got {raw!r}")
    return int(raw)


def _wkt(geometry: dict) -> str:
    """GeoJSON geometry -> WKT (as Socrata CSV exports write geometry columns)."""
    def pt(p): return f"{p[0]} {p[1]}"
    def seq(s): return "(" + ", ".join(map(pt, s)) + ")"
    def poly(p): return "(" + ", ".join(map(seq, p)) + ")"
    t, c = geometry["type"], geometry.get("coordinates")
    body = {"Point": lambda: f"({pt(c)})", "LineString": lambda: seq(c), "Polygon": lambda: poly(c),
            "MultiPoint": lambda: "(" + ", ".join(f"({pt(p)})" for p in c) + ")",
            "MultiLineString": lambda: "(" + ", ".join(map(seq, c)) + ")",
            "MultiPolygon": lambda: "(" + ", ".join(map(poly, c)) + ")"}[t]()
    return f"{t.upper()} {body}"



class SocrataReplay(ReplayHandler):
    """Socrata SODA: ``/resource/<id>.json|.csv|.geojson`` from a CSV or GeoJSON export."""

    protocol = "socrata"
    _PATH = re.compile(r"/resource/([^/.]+)(?:\.(json|csv|geojson))?")
    _VIEWS = re.compile(r"/api/views/([^/.]+)(?:\.json)?")

    def load(self, portal: ReplayPortal, route: Route) -> "_SodaTable":
        table = _SodaTable.load(*portal.source(route))
        table.cache_bytes = portal.cache_bytes
        return table

    def answer(self, portal: ReplayPortal, request: ReplayRequest) -> Reply | None:
        views = self._VIEWS.fullmatch(request.path)
        if views:
            table = portal.table(self.protocol, views.group(1))
            if table is None:
                raise _soda_error(404, f"Dataset {views.group(1)} not found", "not_found")
            return table.metadata(views.group(1))
        m = self._PATH.fullmatch(request.path)
        if not m:
            return None
        table = portal.table(self.protocol, m.group(1))
        if table is None:
            raise _soda_error(404, f"Dataset {m.group(1)} not found", "not_found")
        return table.query(m.group(2) or "json", request.query, count_skew=portal.count_skew.get(m.group(1), 0))

    def endpoint(self, *, dataset_id: str, fmt: str) -> str:
        return f"/resource/{dataset_id}.{fmt}"


