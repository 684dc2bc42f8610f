"""Turn what a person types into a point: ``lat,lon``, a bar's name, an address or block, or an intersection.

- ``"41.8841,-87.6488"`` (or a (lat, lon) pair): taken as is.
- a venue name from ``venues`` (case-insensitive; an exact name first, then a unique name containing
  the text; several different places -> :class:`ResolveError` listing them).
- an address or a block, in any form of the city's block patterns (``patterns``: (regex, block size) pairs, the
  profile's ``[places]``, passed in by the flows as plain values; default every built-in form of
  :data:`warehouse.addresses.BLOCK_PRESETS`): ``012XX W MADISON ST``, ``1101 W Taylor St``, ``100 Block of Main St``,
  ``100 BLK MAIN ST``, ``1400 B/O P ST NW``, LA's ``1100 W  39TH   PL``. Resolved (:func:`address`) by

  1. an incident block written exactly so (spaces and case aside): the median of its incidents;
  2. a house number on a street whose segments carry address ranges (``street_edges.addr_from_left`` ...,
     centreline from/to house numbers): the point interpolated along the segment holding the number;
  3. the incidents' blocks read with the same patterns: the same block number (rounded to the block size) on
     the same street (direction, case, spaces and street-type words aside: ``AV`` = ``AVENUE`` = ``AVE``).
- an intersection ``"N CLARK ST & W DIVISION ST"`` (also ``and``, ``/``, ``@``): where the two
  streets' incident blocks come closest (the midpoint of the closest pair of block medians). A block that is a
  bare street name (LA writes the street alone in ``LOCATION`` when a ``Cross Street`` is given) counts for its
  street. Incident blocks exist wherever incidents do; ``street_edges.name`` is not used here (Chicago's West
  Loop edge list, the densest part of its walk graph, has no names).

:func:`check_near` refuses a point farther than 1 km from the street graph and records on the place how far it
is from it (``snap_m``), which every command reports.

Anything else raises :class:`ResolveError` naming the nearest matches (difflib).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import asdict, dataclass

import numpy as np

from civicmash.warehouse import reads
from civicmash.warehouse.addresses import DEFAULT_BLOCK_PATTERNS, BlockAddress, parse_block, street_key

from .fast_route import LATLON as _LATLON  # numpy-free, shared with civicmash route's fast path
from .fast_route import NEAR_LIMIT_M, SNAP_NOTE_M, snap_words  # noqa: F401

_AND = re.compile(r"\s+(?:&|AND|/|@)\s+|\s*&\s*", re.IGNORECASE)


class ResolveError(ValueError):
    """A place could not be resolved; ``candidates`` are the nearest known names."""

    def __init__(self, message: str, candidates: list[str] | None = None):
        self.candidates = list(candidates or [])
        if self.candidates:
            message += "; did you mean: " + "; ".join(self.candidates)
        super().__init__(message)


@dataclass
class Place:
    lat: float
    lon: float
    kind: str  # latlon | venue | block | address | intersection | service
    label: str
    detail: str = ""
    snap_m: float | None = None   # metres to the street graph (set by check_near; None without a graph)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["lat"], d["lon"] = round(self.lat, 6), round(self.lon, 6)
        if self.snap_m is None:
            d.pop("snap_m")
        else:
            d["snap_m"] = round(self.snap_m, 1)
        return d


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", str(text).strip().upper())


def resolve(con, *, city: str, text, graph=None, patterns=None) -> Place:
    """Resolve ``text`` (see the module doc) in ``city``.  ``graph`` (a :class:`analysis.routing.WalkGraph`)
    is optional: when given, a point farther than 1 km from the street graph is refused.  ``patterns``: the
    city's block forms, (regex, block size) pairs (default every built-in form)."""
    return check_near(_resolve(con, city=city, text=text, patterns=patterns), graph, city=city,
                      covers="the routes cover")


def check_near(place: Place, graph, *, city: str, covers: str) -> Place:
    """``place`` when it lies within 1 km of ``graph`` (or there is no graph), with ``snap_m`` (metres to the
    nearest node of the graph's street networks) set; else a :class:`ResolveError` saying it is outside the area
    ``covers`` (e.g. "the routes cover")."""
    if graph is not None and graph.n_nodes:
        _, dist = graph.nearest_nodes(place.lat, place.lon)
        place.snap_m = float(dist[0])
        if place.snap_m > NEAR_LIMIT_M:
            raise ResolveError(f"{place.label!r} ({place.lat:.5f}, {place.lon:.5f}) is {place.snap_m / 1000:.1f} km "
                               f"from the street graph of {city!r}: outside the area {covers}")
    return place


def _resolve(con, *, city: str, text, patterns=None) -> Place:
    patterns = DEFAULT_BLOCK_PATTERNS if patterns is None else patterns
    if isinstance(text, (tuple, list)) and len(text) == 2:
        return _latlon(float(text[0]), float(text[1]), f"{text[0]},{text[1]}")
    raw = str(text or "").strip()
    if not raw:
        raise ResolveError("empty place: give 'lat,lon', a bar's name, a block or an intersection")
    m = _LATLON.match(raw)
    if m:
        return _latlon(float(m.group(1)), float(m.group(2)), raw)
    q = _norm(raw)
    if reads.has_table(con, "venues") and con.execute(
            "SELECT count(*) FROM venues WHERE city = ? AND upper(trim(name)) = ? AND lat IS NOT NULL",
            [city, q]).fetchone()[0]:
        return venue(con, city=city, name=raw)  # a venue's exact name wins over any other reading
    if _AND.search(q) and len([p for p in _AND.split(q) if p.strip()]) == 2:
        a, b = [p.strip() for p in _AND.split(q) if p.strip()]
        return intersection(con, city=city, street_a=a, street_b=b, patterns=patterns)
    if parse_block(q, patterns=patterns) is not None:
        try:
            return address(con, city=city, text=q, patterns=patterns)
        except ResolveError as first:
            try:   # "7 Seas" reads as a block: a venue of that name is the other reading
                return venue(con, city=city, name=raw)
            except ResolveError:
                raise first from None
    return venue(con, city=city, name=raw)


def _latlon(lat: float, lon: float, label: str) -> Place:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ResolveError(f"{label!r} is not a latitude,longitude pair")
    return Place(lat, lon, "latlon", label)


def venue(con, *, city: str, name: str) -> Place:
    """A venue by name (case-insensitive): exact match, else a unique containing match."""
    if not reads.has_table(con, "venues"):
        raise ResolveError(f"no venues table: cannot find a bar called {name!r}")
    q = _norm(name)
    rows = con.execute(
        "SELECT upper(trim(name)) AS n, any_value(name), median(lat), median(lon), count(DISTINCT "
        "round(lat, 4) || ',' || round(lon, 4)), any_value(address) FROM venues WHERE city = ? AND lat IS NOT NULL "
        "AND lon IS NOT NULL AND name IS NOT NULL AND contains(upper(name), ?) GROUP BY 1 ORDER BY 1",
        [city, q]).fetchall()
    exact = [r for r in rows if r[0] == q]
    hits = exact or rows
    if len(hits) == 1:
        _, label, lat, lon, places, address = hits[0]
        if places > 1:
            addrs = [f"{label} ({r[0]})" for r in con.execute(
                "SELECT DISTINCT address FROM venues WHERE city = ? AND upper(trim(name)) = ? ORDER BY 1 LIMIT 8",
                [city, hits[0][0]]).fetchall()]
            raise ResolveError(f"{label!r} names {places} different places; give the block or lat,lon instead", addrs)
        return Place(float(lat), float(lon), "venue", str(label), str(address or ""))
    if len(hits) > 1:
        raise ResolveError(f"{name!r} matches {len(hits)} venues", [str(r[1]) for r in hits[:10]])
    names = [r[0] for r in con.execute(
        "SELECT DISTINCT name FROM venues WHERE city = ? AND name IS NOT NULL AND lat IS NOT NULL", [city]).fetchall()]
    lookup = {_norm(n): n for n in names}
    close = [lookup[c] for c in difflib.get_close_matches(q, list(lookup), n=5, cutoff=0.6)]
    blocks = _block_suggestions(con, city=city, text=q)
    raise ResolveError(f"cannot resolve {name!r}: not 'lat,lon', a block ('012XX W MADISON ST'), "
                       "an intersection ('N CLARK ST & W DIVISION ST') or a known venue name", close + blocks)


def _block_table(con, city: str):
    """(block as written upper-cased with single spaces, median lat, median lon, incidents) per block of ``city``."""
    rel = reads.incidents_relation(con)
    if "block" not in reads.columns(con, rel):
        return []
    return con.execute(
        f"SELECT trim(regexp_replace(upper(block), '\\s+', ' ', 'g')) AS b, median(lat), median(lon), count(*) "
        f"FROM {rel} WHERE city = ? AND block IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL GROUP BY 1",
        [city]).fetchall()


def _block_suggestions(con, *, city: str, text: str, n: int = 5) -> list[str]:
    blocks = [r[0] for r in _block_table(con, city)]
    return difflib.get_close_matches(text, blocks, n=n, cutoff=0.75)


def block(con, *, city: str, block: str, patterns=None) -> Place:
    """A police block (``012XX W MADISON ST``, ``1100 W 39TH PL``, ...): see :func:`address`."""
    return address(con, city=city, text=block, patterns=patterns)


def address(con, *, city: str, text: str, patterns=None) -> Place:
    """An address or a block in any of ``patterns``' forms (see the module doc for the order tried)."""
    patterns = DEFAULT_BLOCK_PATTERNS if patterns is None else patterns
    q = _norm(text)
    rel = reads.incidents_relation(con)
    has_block = "block" in reads.columns(con, rel)
    if has_block:
        row = con.execute(
            f"SELECT median(lat), median(lon), count(*) FROM {rel} WHERE city = ? "
            "AND trim(regexp_replace(upper(block), '\\s+', ' ', 'g')) = ? AND lat IS NOT NULL AND lon IS NOT NULL",
            [city, q]).fetchone()
        if row and row[2]:
            return Place(float(row[0]), float(row[1]), "block", q, f"median of {row[2]} incidents on the block")
    want = parse_block(q, patterns=patterns)
    if want is None:
        raise ResolveError(f"{text!r} is not a block or an address of {city!r}",
                           _block_suggestions(con, city=city, text=q) if has_block else [])
    if want.number is not None:
        hit = _interpolate(con, city=city, want=want)
        if hit is not None:
            return Place(hit[0], hit[1], "address", q, hit[2])
    matches = _same_block(con, city=city, want=want, patterns=patterns)
    if matches:
        lat = float(np.median([m[1] for m in matches for _ in range(m[3])]))
        lon = float(np.median([m[2] for m in matches for _ in range(m[3])]))
        n = sum(m[3] for m in matches)
        kind = "address" if want.number is not None else "block"
        return Place(lat, lon, kind, q, f"block {matches[0][0]}: median of {n} incidents"
                     + (" (house numbers are not located more finely)" if want.number is not None else ""))
    if want.number is None:   # a block without incidents: the middle of its house numbers on the streets
        mid = BlockAddress(block=want.block, number=want.block + want.size // 2, street=want.street, size=want.size)
        hit = _interpolate(con, city=city, want=mid)
        if hit is not None:
            return Place(hit[0], hit[1], "block", q, hit[2])
    raise ResolveError(f"no located incidents on block {q!r} and no street segment numbered there",
                       _block_suggestions(con, city=city, text=q) if has_block else [])


def _street_matches(wanted: str, name: str) -> bool:
    """``W TAYLOR ST`` matches itself; ``TAYLOR ST`` (no direction typed) matches ``W TAYLOR ST``."""
    return name == wanted or name.endswith(" " + wanted)


def _same_block(con, *, city: str, want: BlockAddress, patterns) -> list[tuple]:
    """Incident blocks that read, with ``patterns``, as the block of ``want`` on its street (rows of
    :func:`_block_table`); an exact street name wins over one matched without its direction."""
    found = []
    for row in _block_table(con, city):
        got = parse_block(row[0], patterns=patterns)
        if got is not None and got.block == want.block and _street_matches(want.street, got.street):
            found.append((got.street == want.street, row))
    exact = [r for ok, r in found if ok]
    return exact or [r for _, r in found]


_ADDR = ("addr_from_left", "addr_to_left", "addr_from_right", "addr_to_right")


def _interpolate(con, *, city: str, want: BlockAddress) -> tuple[float, float, str] | None:
    """(lat, lon, detail) of house number ``want.number`` interpolated along the street segment whose address range
    holds it (``street_edges`` with ``addr_*`` ranges and a ``name`` of the street); None when no segment does.
    A side whose numbers share the number's parity (odd / even) wins; the range's ends are the segment's ends."""
    if not reads.has_table(con, "street_edges"):
        return None
    cols = reads.columns(con, "street_edges")
    if not set(_ADDR) <= set(cols) or "name" not in cols:
        return None
    n = int(want.number)
    reads.ensure_spatial(con)
    rows = con.execute(
        "SELECT name, addr_from_left, addr_to_left, addr_from_right, addr_to_right, ST_Y(ST_StartPoint(geom)), "
        "ST_X(ST_StartPoint(geom)), ST_Y(ST_EndPoint(geom)), ST_X(ST_EndPoint(geom)), dataset FROM street_edges "
        "WHERE city = ? AND geom IS NOT NULL AND name IS NOT NULL AND ("
        "(? BETWEEN least(addr_from_left, addr_to_left) AND greatest(addr_from_left, addr_to_left)) OR "
        "(? BETWEEN least(addr_from_right, addr_to_right) AND greatest(addr_from_right, addr_to_right)))",
        [city, n, n]).fetchall()
    best = None
    for name, fl, tl, fr, tr, lat0, lon0, lat1, lon1, dataset in rows:
        street = street_key(name)
        if not _street_matches(want.street, street):
            continue
        for a, b in ((fl, tl), (fr, tr)):
            if a is None or b is None or not min(a, b) <= n <= max(a, b):
                continue
            t = 0.5 if a == b else (n - a) / (b - a)
            rank = (street != want.street, (a % 2) != (n % 2), abs(b - a))
            if best is None or rank < best[0]:
                best = (rank, lat0 + t * (lat1 - lat0), lon0 + t * (lon1 - lon0), f"{street} {a}-{b}", dataset)
    if best is None:
        return None
    _, lat, lon, span, dataset = best
    return float(lat), float(lon), f"interpolated in the address range {span} ({dataset})"


def _street_of(block_value: str, patterns=DEFAULT_BLOCK_PATTERNS) -> str:
    got = parse_block(block_value, patterns=patterns)
    return got.street if got else street_key(block_value)


def intersection(con, *, city: str, street_a: str, street_b: str, patterns=None) -> Place:
    """Where two streets meet, from the incidents' blocks: the closest pair of block medians."""
    patterns = DEFAULT_BLOCK_PATTERNS if patterns is None else patterns
    rows = _block_table(con, city)
    by_street: dict[str, list[tuple[float, float]]] = {}
    for b, lat, lon, _ in rows:
        by_street.setdefault(_street_of(b, patterns), []).append((lat, lon))
    streets = sorted(by_street)
    pts = []
    for s in (_norm(street_a), _norm(street_b)):
        key = street_key(s)
        names = [key] if key in by_street else [n for n in streets if _street_matches(key, n)]
        if not names:
            raise ResolveError(f"no street {s!r} among the incident blocks of {city!r}",
                               difflib.get_close_matches(key, streets, n=5, cutoff=0.6))
        pts.append((names, np.array([p for n in names for p in by_street[n]], dtype=float)))
    (na, a), (nb, b) = pts
    from scipy.spatial import cKDTree  # here: `civicmash route` with two lat,lon ends never needs it

    kx = math.cos(math.radians(float(np.mean(a[:, 0]))))
    ta = cKDTree(np.column_stack([a[:, 0], a[:, 1] * kx]))
    d, j = ta.query(np.column_stack([b[:, 0], b[:, 1] * kx]))
    i = int(np.argmin(d))
    gap_m = float(d[i]) * 110_540
    if gap_m > 400:
        raise ResolveError(f"{' / '.join(na)} and {' / '.join(nb)} do not seem to meet: their closest recorded "
                           f"blocks are {gap_m:.0f} m apart")
    lat = (a[j[i], 0] + b[i, 0]) / 2
    lon = (a[j[i], 1] + b[i, 1]) / 2
    return Place(float(lat), float(lon), "intersection", f"{na[0]} & {nb[0]}",
                 f"closest blocks {gap_m:.0f} m apart")
