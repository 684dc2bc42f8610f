"""Turn what a person types into a point: ``lat,lon``, a bar's name, a block, or an intersection.

- ``"41.8841,-87.6488"`` (or a (lat, lon) pair): taken as is.
- a venue name from ``venues`` (case-insensitive; an exact name first, then a unique name containing
  the text; several different places -> :class:`ResolveError` listing them).
- a block as the police publish it, ``"012XX W MADISON ST"``: the median coordinate of the
  incidents recorded on that block (``incidents.block``).
- an intersection ``"N CLARK ST & W DIVISION ST"`` (also ``and``, ``/``, ``@``): where the two
  streets' incident blocks come closest (the midpoint of the closest pair of block medians).
  Incident blocks exist wherever incidents do; ``street_edges.name`` is not used (Chicago's West Loop edge
  list, the densest part of its walk graph, has no names; the OSM and centreline datasets do).

Anything else raises :class:`ResolveError` naming the nearest matches (difflib).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial import cKDTree

from civicmash.warehouse import reads

_LATLON = re.compile(r"^\s*\(?\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*\)?\s*$")
_BLOCK = re.compile(r"^\s*(\d{3,5}X{1,3})\s+(.+?)\s*$", re.IGNORECASE)
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
    kind: str  # latlon | venue | block | intersection
    label: str
    detail: str = ""

    def as_dict(self) -> dict:
        d = asdict(self)
        d["lat"], d["lon"] = round(self.lat, 6), round(self.lon, 6)
        return d


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", str(text).strip().upper())


def resolve(con, *, city: str, text, graph=None) -> Place:
    """Resolve ``text`` (see the module doc) in ``city``.  ``graph`` (a :class:`analysis.routing.WalkGraph`)
    is optional: when given, a point farther than 1 km from the street graph is refused."""
    return check_near(_resolve(con, city=city, text=text), graph, city=city, covers="the routes cover")


def check_near(place: Place, graph, *, city: str, covers: str) -> Place:
    """``place`` when it lies within 1 km of ``graph`` (or there is no graph); else a :class:`ResolveError`
    saying it is outside the area ``covers`` (e.g. "the routes cover")."""
    if graph is not None and graph.n_nodes:
        _, dist = graph.nearest_nodes(place.lat, place.lon)
        if float(dist[0]) > 1000:
            raise ResolveError(f"{place.label!r} ({place.lat:.5f}, {place.lon:.5f}) is {float(dist[0]) / 1000:.1f} km "
                               f"from the street graph of {city!r}: outside the area {covers}")
    return place


def _resolve(con, *, city: str, text) -> Place:
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
        return intersection(con, city=city, street_a=a, street_b=b)
    if _BLOCK.match(q):
        return block(con, city=city, block=q)
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
    rel = reads.incidents_relation(con)
    return con.execute(
        f"SELECT upper(block) AS b, median(lat), median(lon), count(*) FROM {rel} WHERE city = ? AND block IS NOT NULL "
        "AND lat IS NOT NULL AND lon IS NOT NULL GROUP BY 1", [city]).fetchall()


def _block_suggestions(con, *, city: str, text: str, n: int = 5) -> list[str]:
    if "block" not in reads.columns(con, reads.incidents_relation(con)):
        return []
    blocks = [r[0] for r in _block_table(con, city)]
    return difflib.get_close_matches(text, blocks, n=n, cutoff=0.75)


def block(con, *, city: str, block: str) -> Place:
    """A police block (``012XX W MADISON ST``): median coordinate of its incidents."""
    q = _norm(block)
    rel = reads.incidents_relation(con)
    row = con.execute(
        f"SELECT median(lat), median(lon), count(*) FROM {rel} WHERE city = ? AND upper(block) = ? "
        "AND lat IS NOT NULL AND lon IS NOT NULL", [city, q]).fetchone()
    if row and row[2]:
        return Place(float(row[0]), float(row[1]), "block", q, f"median of {row[2]} incidents on the block")
    raise ResolveError(f"no located incidents on block {q!r}", _block_suggestions(con, city=city, text=q))


def _street_of(block_value: str) -> str:
    m = _BLOCK.match(block_value)
    return m.group(2) if m else block_value


def intersection(con, *, city: str, street_a: str, street_b: str) -> Place:
    """Where two streets meet, from the incidents' blocks: the closest pair of block medians."""
    rows = _block_table(con, city)
    by_street: dict[str, list[tuple[float, float]]] = {}
    for b, lat, lon, _ in rows:
        by_street.setdefault(_street_of(b), []).append((lat, lon))
    streets = sorted(by_street)
    pts = []
    for s in (_norm(street_a), _norm(street_b)):
        names = [s] if s in by_street else [n for n in streets if n.endswith(" " + s) or n == s]
        if not names:
            raise ResolveError(f"no street {s!r} among the incident blocks of {city!r}",
                               difflib.get_close_matches(s, streets, n=5, cutoff=0.6))
        pts.append((names, np.array([p for n in names for p in by_street[n]], dtype=float)))
    (na, a), (nb, b) = pts
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
