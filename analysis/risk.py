"""Risk per street edge: incidents snapped to the network, spread along it by a kernel, weighted by type and hour.

Method (see docs/safe-route.md):

1. **Snap.**  Every located incident goes to the nearest point of the nearest edge (projected
   metres; a cKDTree over edge points every ``<= 10 m``, then the exact perpendicular foot on the
   chosen edge).  Incidents farther than ``snap_m`` (100 m) from every edge are left out.
2. **Kernel along the network.**  Each incident's unit mass is spread along the streets with an
   Epanechnikov kernel of network distance, bandwidth ``bandwidth_m`` (100 m):
   ``K(z) = 3/(4h) (1 - z^2/h^2)`` for ``z < h``; on a straight street the mass integrates to 1.
   Network distances come from one distance-limited Dijkstra per endpoint of a snapped edge (run on
   the subgraph of the cells around it: :func:`_balls`).  The
   mass an edge receives is the exact integral of ``K`` over the edge (distance measured from the
   nearer end), so short and long edges are treated alike.  At intersections every branch gets the
   full kernel (the simple, not the equal-split, network kernel), so an incident at a crossing
   weighs on all four streets.
3. **Weights.**  Incident weight = ``type_weight(primary_type)`` (profile ``[risk]``: violent >
   property > other, non-criminal 0) x an hour-of-day weight when a time ``at`` is given: a
   circular Gaussian on the clock, ``sigma_h`` = 2 h, scaled so that its mean over the day is 1
   (so exposures with and without ``at`` are on the same scale).  Incidents whose time is unknown
   (recorded at exactly midnight, ``time_is_midnight``) get weight 1 at every hour.

4. **Street factors** (optional, off unless the profile's ``[risk.lit]`` / ``[risk.bars]`` set them; see
   :func:`street_factors`).  For a walk at an hour inside the factor's ``hours`` window, an edge's mass is
   multiplied by ``lit`` (OSM ``lit=yes``) or ``unlit`` (``lit=no``), and by the bar ``factor`` when a bar
   (``venues_bars``) lies within ``radius_m`` of the edge.  With ``[risk.lit] outages = true`` an edge within
   ``outage_radius_m`` of an open streetlight-outage service request (``open_streetlight_outages``: open at the
   city's latest service-request time) counts as unlit whatever its tag: the light that makes it lit is out.
   Relative-risk multipliers on the incident mass: a street without incidents stays at 0.  Without a time
   (``at=None``) they are off.

Units: :meth:`RiskModel.edge_mass` is *weighted incidents* per edge (kernel mass);
``edge_mass / length_m * 1000`` is the density in weighted incidents per km; the exposure of a
route is the sum of its edges' mass = density x length: roughly "how many (weighted) incidents of
the window happened on or within ~``bandwidth_m`` along the streets walked".
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .routing import WalkGraph, concat_ranges, sample_edges

DEFAULT_TYPE_WEIGHTS = {"NON-CRIMINAL*": 0.0}
DEFAULT_BANDWIDTH_M = 100.0
DEFAULT_SNAP_M = 100.0
DEFAULT_SIGMA_H = 2.0
_DENSIFY_M = 10.0


def type_weight(primary_type: str | None, type_weights: dict | None = None) -> float:
    """Weight of one incident type: exact key, then glob patterns (``NON-CRIMINAL*``), else 1.0."""
    weights = {**DEFAULT_TYPE_WEIGHTS, **(type_weights or {})}
    key = (primary_type or "").upper()
    upper = {str(k).upper(): float(v) for k, v in weights.items()}
    if key in upper:
        return upper[key]
    for pattern, value in upper.items():
        if fnmatch.fnmatchcase(key, pattern):
            return value
    return 1.0


def type_weights_of(primary_type, type_weights: dict | None = None) -> np.ndarray:
    types = np.asarray(primary_type, dtype=object)
    uniq = {t: type_weight(t, type_weights) for t in set(types.tolist())}
    return np.array([uniq[t] for t in types.tolist()], dtype=float)


def parse_at(at) -> float | None:
    """``"23:30"`` / ``23.5`` / ``datetime``/``time`` -> hour of day as a float; None stays None."""
    if at is None or at == "":
        return None
    if isinstance(at, (int, float)):
        h = float(at)
    elif hasattr(at, "hour"):
        h = at.hour + getattr(at, "minute", 0) / 60
    else:
        text = str(at).strip()
        try:
            if ":" in text:
                hh, mm = text.split(":", 1)
                h = int(hh) + int(mm[:2]) / 60
            else:
                h = float(text)
        except ValueError as exc:
            raise ValueError(f"cannot read the time {at!r}: use HH:MM, e.g. 23:30") from exc
    if not 0 <= h <= 24:
        raise ValueError(f"time {at!r} is not between 00:00 and 24:00")
    return h % 24


def hour_weights(hours, at, *, sigma_h: float = DEFAULT_SIGMA_H) -> np.ndarray:
    """Circular Gaussian weight of incidents at ``hours`` (float hour of day, NaN = unknown) for a
    walk at ``at``; mean 1 over a uniform day; unknown hours and ``at=None`` weigh 1."""
    hours = np.asarray(hours, dtype=float)
    at = parse_at(at)
    if at is None:
        return np.ones(len(hours))
    grid = np.arange(0, 24, 1 / 60)
    norm = float(np.mean(_circ_gauss(grid, at, sigma_h)))
    w = _circ_gauss(hours, at, sigma_h) / norm
    return np.where(np.isnan(hours), 1.0, w)


def _circ_gauss(hours, at, sigma_h):
    d = np.abs(np.asarray(hours, float) - at) % 24
    d = np.minimum(d, 24 - d)
    return np.exp(-0.5 * (d / sigma_h) ** 2)


def _kernel_cdf(x, h):
    """F(x) = integral_0^x K(z) dz of the Epanechnikov kernel (F(inf) = 1/2)."""
    x = np.minimum(np.asarray(x, float), h)
    return 0.75 / h * (x - x ** 3 / (3 * h * h))


def snap(graph: WalkGraph, lat, lon, *, snap_m: float = DEFAULT_SNAP_M):
    """Nearest edge of every point: (edge index or -1, position t in [0, 1] from ``eu`` to ``ev``, distance m)."""
    from scipy.spatial import cKDTree  # here, not at the top: `civicmash route` answers from a stored model

    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    n = len(lat)
    edge = np.full(n, -1, dtype=np.int64)
    t = np.zeros(n)
    dist = np.full(n, np.inf)
    ok = ~(np.isnan(lat) | np.isnan(lon))
    if not ok.any() or graph.n_edges == 0:
        return edge, t, dist
    ax, ay, bx, by = graph.x[graph.eu], graph.y[graph.eu], graph.x[graph.ev], graph.y[graph.ev]
    owner, px, py, _ = sample_edges(ax, ay, bx, by, spacing=_DENSIFY_M)
    x, y = graph.project(lat[ok], lon[ok])
    # The nearest densified point is within _DENSIFY_M / 2 of the true foot; look at a few
    # candidates and keep the edge with the smallest exact perpendicular distance.
    kq = min(8, len(px))
    dd, ii = cKDTree(np.column_stack([px, py])).query(np.column_stack([x, y]), k=kq,
                                                      distance_upper_bound=snap_m + _DENSIFY_M)
    dd, ii = dd.reshape(len(x), kq), ii.reshape(len(x), kq)
    found = np.isfinite(dd)
    cand = np.where(found, owner[np.minimum(ii, len(owner) - 1)], 0)
    vx, vy = (bx - ax)[cand], (by - ay)[cand]
    den = np.maximum(vx * vx + vy * vy, 1e-12)
    tt = np.clip(((x[:, None] - ax[cand]) * vx + (y[:, None] - ay[cand]) * vy) / den, 0, 1)
    d = np.hypot(ax[cand] + tt * vx - x[:, None], ay[cand] + tt * vy - y[:, None])
    d = np.where(found, d, np.inf)
    j = np.argmin(d, axis=1)
    rows = np.arange(len(x))
    best = d[rows, j]
    hit = best <= snap_m
    idx = np.flatnonzero(ok)
    edge[idx[hit]] = cand[rows, j][hit]
    t[idx[hit]] = tt[rows, j][hit]
    dist[idx[hit]] = best[hit]
    return edge, t, dist


CELL_M = 250.0  # cell size of _balls (at least the ball radius)


def _balls(graph: WalkGraph, ends: np.ndarray, h: float, *, chunk: int = 512):
    """Network distances up to ``h`` from every node of ``ends``, sparse: (index into ends, node, distance).

    A path of length ``<= h`` stays within ``h * r`` (straight line) of its start, ``r`` being the largest
    chord/length ratio of the graph's edges (about 1).  So the ends are grouped in square cells at least that
    size (``CELL_M``) and each group's distance-limited Dijkstra runs on the subgraph of the 3 x 3 cells around
    it: the work follows the balls, not the graph (one Dijkstra over the whole graph per end would be O(ends x nodes)).
    Graphs with edges much shorter than their chord (r > 2) take the plain whole-graph route."""
    n = graph.n_nodes
    chord = np.hypot(graph.x[graph.eu] - graph.x[graph.ev], graph.y[graph.eu] - graph.y[graph.ev])
    r = float(np.max(chord / np.maximum(graph.length, 1e-9))) if graph.n_edges else 1.0
    er, en, ed = [], [], []
    if r > 2.0 or n < 4 * chunk:
        for a in range(0, len(ends), chunk):
            dist = dijkstra(graph.csr, directed=True, indices=ends[a:a + chunk], limit=h)
            rr, c = np.nonzero(np.isfinite(dist))
            er.append(rr + a)
            en.append(c)
            ed.append(dist[rr, c])
    else:
        size = max(h * max(r, 1.0) * 1.001 + 1.0, CELL_M)  # >= the reach of one ball
        x0, y0 = float(graph.x.min()), float(graph.y.min())
        cx = ((graph.x - x0) // size).astype(np.int64)
        cy = ((graph.y - y0) // size).astype(np.int64)
        width = int(cx.max()) + 3
        cell = (cy + 1) * width + (cx + 1)          # +1: neighbours of border cells stay >= 0
        order = np.argsort(cell, kind="stable")
        sorted_cells = cell[order]
        end_cell = cell[ends]
        groups = np.argsort(end_cell, kind="stable")
        bounds = np.flatnonzero(np.r_[True, end_cell[groups][1:] != end_cell[groups][:-1], True])
        local = np.full(n, -1, dtype=np.int64)
        indptr, indices, data = graph.csr.indptr, graph.csr.indices, graph.csr.data
        around = np.array([dy * width + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        for g0, g1 in zip(bounds[:-1], bounds[1:]):
            which = groups[g0:g1]
            c = end_cell[which[0]] + around
            lo, hi = np.searchsorted(sorted_cells, c), np.searchsorted(sorted_cells, c, side="right")
            nodes = order[concat_ranges(lo, hi - lo)]
            k = len(nodes)
            local[nodes] = np.arange(k)
            starts, counts = indptr[nodes], indptr[nodes + 1] - indptr[nodes]
            ent = concat_ranges(starts, counts)
            col = local[indices[ent]]
            keep = col >= 0
            sub_ptr = np.zeros(k + 1, dtype=np.int64)
            np.cumsum(np.bincount(np.repeat(np.arange(k), counts)[keep], minlength=k), out=sub_ptr[1:])
            sub = csr_matrix((data[ent[keep]], col[keep], sub_ptr), shape=(k, k))
            for a in range(0, len(which), chunk):
                part = which[a:a + chunk]
                dist = dijkstra(sub, directed=True, indices=local[ends[part]], limit=h)
                rr, cc = np.nonzero(np.isfinite(dist))
                er.append(part[rr])
                en.append(nodes[cc])
                ed.append(dist[rr, cc])
            local[nodes] = -1
    if not er:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(er), np.concatenate(en), np.concatenate(ed)


def kernel_matrix(graph: WalkGraph, loc_edge, loc_t, *, bandwidth_m: float = DEFAULT_BANDWIDTH_M,
                  chunk: int = 512) -> csr_matrix:
    """Sparse (edges x locations) matrix of the kernel mass each edge receives from a unit incident
    at each location (edge index, position t).  Column sums are ~1 on a straight street.

    Vectorised over all locations: one distance-limited Dijkstra per distinct end node of a snapped edge
    (in chunks), then, per location, the network distance ``D`` of every node within the bandwidth (the
    nearer of the two ends' balls, plus the way along the location's own edge), the edges touching those
    nodes, and each edge's exact kernel integral from ``D`` at its two ends."""
    h = float(bandwidth_m)
    loc_edge = np.asarray(loc_edge, np.int64)
    loc_t = np.asarray(loc_t, float)
    nloc = len(loc_edge)
    n, m = graph.n_nodes, graph.n_edges
    if nloc == 0 or m == 0:
        return csr_matrix((m, nloc))
    L = graph.length
    u, v = graph.eu[loc_edge], graph.ev[loc_edge]
    ends = np.unique(np.concatenate([u, v]))
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[ends] = np.arange(len(ends))
    er, en, ed = _balls(graph, ends, h, chunk=chunk)
    order = np.argsort(er, kind="stable")
    en, ed = en[order], ed[order]
    ptr = np.searchsorted(er[order], np.arange(len(ends) + 1))
    size = np.diff(ptr)
    # (location, node, distance) through either end of the location's edge ...
    ru, rv = row_of[u], row_of[v]
    cu, cv = size[ru], size[rv]
    locs = np.arange(nloc)
    li = np.concatenate([np.repeat(locs, cu), np.repeat(locs, cv)])
    idx = np.concatenate([concat_ranges(ptr[ru], cu), concat_ranges(ptr[rv], cv)])
    le = L[loc_edge]
    dist = ed[idx] + np.concatenate([np.repeat(loc_t * le, cu), np.repeat((1 - loc_t) * le, cv)])
    # ... and the nearer of the two per (location, node): D
    key = li * n + en[idx]
    order = np.lexsort((dist, key))
    key, dist = key[order], dist[order]
    first = np.r_[True, key[1:] != key[:-1]]
    key, D = key[first], dist[first]
    # edges touching a node with D < h (other than the location's own edge)
    near = np.flatnonzero(D < h)
    kl, kn = key[near] // n, key[near] % n
    indptr = graph._indptr
    cnt = indptr[kn + 1] - indptr[kn]
    pl = np.repeat(kl, cnt)
    pe = graph._edge_of_entry[concat_ranges(indptr[kn], cnt)]
    pair = np.unique(pl * m + pe)
    pl, pe = pair // m, pair % m
    other = pe != loc_edge[pl]
    pl, pe = pl[other], pe[other]

    def lookup(nodes):
        want = pl * n + nodes
        pos = np.searchsorted(key, want).clip(0, max(len(key) - 1, 0))
        return np.where(key[pos] == want, D[pos], np.inf)

    da, db, lf = lookup(graph.eu[pe]), lookup(graph.ev[pe]), L[pe]
    with np.errstate(invalid="ignore"):
        sstar = np.clip((db + lf - da) / 2, 0, lf)
    mass = (_kernel_cdf(da + sstar, h) - _kernel_cdf(da, h)
            + _kernel_cdf(db + lf - sstar, h) - _kernel_cdf(db, h))
    keep = mass > 0
    own = _kernel_cdf(loc_t * le, h) + _kernel_cdf((1 - loc_t) * le, h)
    rows = np.concatenate([pe[keep], loc_edge])
    cols = np.concatenate([pl[keep], locs])
    vals = np.concatenate([mass[keep], own])
    return csr_matrix((vals, (rows, cols)), shape=(m, nloc))


LIT_VALUES = {"yes": 1, "24/7": 1, "automatic": 1, "sunset-sunrise": 1, "interval": 1, "no": -1, "disused": -1}


def in_hours(at, hours) -> bool:
    """Whether hour ``at`` (anything :func:`parse_at` reads; None -> False) is in ``[from, to)``, which may wrap
    midnight (``(22, 4)``: 22:00-04:00)."""
    h = parse_at(at)
    if h is None or hours is None:
        return False
    a, b = (float(x) % 24 if float(x) != 24 else 24.0 for x in hours)
    if a == b or (a == 0 and b == 24):
        return True
    return a <= h < b if a < b else (h >= a or h < b)


def lit_classes(lit) -> np.ndarray:
    """Per edge: +1 lit (OSM ``lit`` yes, 24/7, automatic...), -1 unlit (no, disused), 0 unknown."""
    values = np.asarray(lit if lit is not None else [], dtype=object)
    uniq = {v: LIT_VALUES.get(str(v).strip().lower(), 0) if v is not None else 0 for v in set(values.tolist())}
    return np.array([uniq[v] for v in values.tolist()], dtype=np.int8)


def edges_near(graph: WalkGraph, lat, lon, *, radius_m: float) -> np.ndarray:
    """Boolean per edge: some point (lat, lon) lies within ``radius_m`` of the (straight) edge."""
    from scipy.spatial import cKDTree

    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    near = np.zeros(graph.n_edges, dtype=bool)
    ok = ~(np.isnan(lat) | np.isnan(lon))
    if not ok.any() or graph.n_edges == 0:
        return near
    ax, ay, bx, by = graph.x[graph.eu], graph.y[graph.eu], graph.x[graph.ev], graph.y[graph.ev]
    owner, px, py, _ = sample_edges(ax, ay, bx, by, spacing=_DENSIFY_M)
    tree = cKDTree(np.column_stack([px, py]))
    x, y = graph.project(lat[ok], lon[ok])
    # densified points are <= _DENSIFY_M / 2 from any point of their edge: candidates, then the exact distance
    hits = tree.query_ball_point(np.column_stack([x, y]), r=radius_m + _DENSIFY_M)
    pi = np.repeat(np.arange(len(x)), [len(h) for h in hits])
    cand = owner[np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])] if len(pi) else np.zeros(0, np.int64)
    if not len(cand):
        return near
    vx, vy = (bx - ax)[cand], (by - ay)[cand]
    t = np.clip(((x[pi] - ax[cand]) * vx + (y[pi] - ay[cand]) * vy) / np.maximum(vx * vx + vy * vy, 1e-12), 0, 1)
    d = np.hypot(ax[cand] + t * vx - x[pi], ay[cand] + t * vy - y[pi])
    near[cand[d <= radius_m]] = True
    return near


@dataclass(eq=False)
class StreetFactors:
    """Optional per-edge multipliers of the risk (see the module doc, step 4)."""

    lit_class: np.ndarray  # +1 lit, -1 unlit, 0 unknown, per edge (after outages)
    near_bar: np.ndarray  # bool per edge
    lit: dict | None = None  # {"lit": f, "unlit": f, "hours": (from, to), "outages": bool, "outage_radius_m": r}
    bars: dict | None = None  # {"radius_m": r, "factor": f, "hours": (from, to)}
    n_bars: int = 0
    near_outage: np.ndarray | None = None  # bool per edge: within outage_radius_m of an open streetlight outage
    n_outages: int = 0

    def factor(self, at=None) -> np.ndarray:
        """Multiplier per edge for a walk at ``at`` (ones when no factor applies)."""
        f = np.ones(len(self.lit_class))
        if self.lit and in_hours(at, self.lit.get("hours", (0, 24))):
            f[self.lit_class > 0] *= float(self.lit.get("lit", 1.0))
            f[self.lit_class < 0] *= float(self.lit.get("unlit", 1.0))
        if self.bars and in_hours(at, self.bars.get("hours", (22, 4))):
            f[self.near_bar] *= float(self.bars.get("factor", 1.0))
        return f

    def describe(self, at=None) -> list[str]:
        """Plain words for the factors that apply at ``at`` (for captions)."""
        out = []
        if self.lit and in_hours(at, self.lit.get("hours", (0, 24))):
            out.append(f"lit streets x{self.lit.get('lit', 1.0):g} ({int((self.lit_class > 0).sum()):,} segments), "
                       f"unlit x{self.lit.get('unlit', 1.0):g} ({int((self.lit_class < 0).sum()):,})")
            if self.lit.get("outages"):
                near = int(self.near_outage.sum()) if self.near_outage is not None else 0
                out.append(f"{near:,} segments within {self.lit.get('outage_radius_m', 40.0):g} m of "
                           f"{self.n_outages:,} open streetlight outages count as unlit")
        if self.bars and in_hours(at, self.bars.get("hours", (22, 4))):
            out.append(f"streets within {self.bars.get('radius_m', 75.0):g} m of a bar x{self.bars.get('factor', 1.0):g} "
                       f"({int(self.near_bar.sum()):,} segments near {self.n_bars:,} bars)")
        return out


def street_factors(graph: WalkGraph, factors: dict | None, *, bar_lat=None, bar_lon=None, outage_lat=None,
                   outage_lon=None) -> StreetFactors | None:
    """The profile's street factors (``{"lit": {...}, "bars": {...}}``, e.g. ``RiskSpec.street_factors()``) placed
    on ``graph``; None when there are none.  ``bar_lat``/``bar_lon``: the bars (needed for ``bars``);
    ``outage_lat``/``outage_lon``: the open streetlight outages (read when ``lit`` says ``outages``): the edges
    within ``outage_radius_m`` of one are unlit (-1) whatever their OSM tag."""
    factors = dict(factors or {})
    lit, bars = factors.get("lit"), factors.get("bars")
    if not lit and not bars:
        return None
    lit_class = lit_classes(graph.lit) if lit and graph.lit is not None else np.zeros(graph.n_edges, np.int8)
    near_outage, n_outages = None, 0
    if lit and lit.get("outages"):
        near_outage = np.zeros(graph.n_edges, dtype=bool)
        if outage_lat is not None and len(outage_lat):
            near_outage = edges_near(graph, outage_lat, outage_lon, radius_m=float(lit.get("outage_radius_m", 40.0)))
            n_outages = len(outage_lat)
        lit_class = lit_class.copy()
        lit_class[near_outage] = -1
    near = np.zeros(graph.n_edges, dtype=bool)
    n_bars = 0
    if bars and bar_lat is not None and len(bar_lat):
        near = edges_near(graph, bar_lat, bar_lon, radius_m=float(bars.get("radius_m", 75.0)))
        n_bars = len(bar_lat)
    return StreetFactors(lit_class=lit_class, near_bar=near, lit=lit, bars=bars, n_bars=n_bars,
                         near_outage=near_outage, n_outages=n_outages)


@dataclass(eq=False)
class RiskModel:
    """Incidents placed on one :class:`WalkGraph`; weigh them for an hour with :meth:`edge_mass`."""

    graph: WalkGraph
    kernel: csr_matrix  # edges x locations
    inc_loc: np.ndarray  # location column per incident, -1 = not on the network
    inc_type_w: np.ndarray  # type weight per incident
    inc_hour: np.ndarray  # float hour of day, NaN = unknown
    bandwidth_m: float
    sigma_h: float
    n_incidents: int
    n_snapped: int
    factors: StreetFactors | None = None

    def incident_weights(self, at=None) -> np.ndarray:
        return self.inc_type_w * hour_weights(self.inc_hour, at, sigma_h=self.sigma_h)

    def edge_mass(self, at=None) -> np.ndarray:
        """Weighted incidents (kernel mass) per edge, for a walk at hour ``at`` (None: all hours alike)."""
        on = self.inc_loc >= 0
        w = np.bincount(self.inc_loc[on], weights=self.incident_weights(at)[on],
                        minlength=self.kernel.shape[1])
        return np.asarray(self.kernel @ w).ravel()

    def edge_risk(self, at=None) -> np.ndarray:
        """What routes avoid: :meth:`edge_mass` times the street factors that apply at ``at`` (if any)."""
        mass = self.edge_mass(at)
        return mass if self.factors is None else mass * self.factors.factor(at)

    def density_per_km(self, at=None) -> np.ndarray:
        return self.edge_mass(at) / np.maximum(self.graph.length, 1e-3) * 1000.0


def build_risk(graph: WalkGraph, *, lat, lon, primary_type, hour=None, type_weights: dict | None = None,
               bandwidth_m: float = DEFAULT_BANDWIDTH_M, snap_m: float = DEFAULT_SNAP_M,
               sigma_h: float = DEFAULT_SIGMA_H, factors: dict | None = None, bar_lat=None,
               bar_lon=None, outage_lat=None, outage_lon=None) -> RiskModel:
    """Place incidents on ``graph``.  ``hour``: float hour of day per incident (NaN = unknown time).
    ``factors``/``bar_lat``/``bar_lon``/``outage_lat``/``outage_lon``: optional street factors
    (:func:`street_factors`)."""
    lat = np.asarray(lat, float)
    n = len(lat)
    edge, t, _ = snap(graph, lat, lon, snap_m=snap_m)
    on = edge >= 0
    # Incidents are block-level: many share a location; the kernel is computed once per location.
    key = edge * 1000 + np.round(t * 999).astype(np.int64)
    uniq, inv = np.unique(key[on], return_inverse=True)
    loc_edge, loc_t = uniq // 1000, (uniq % 1000) / 999
    inc_loc = np.full(n, -1, dtype=np.int64)
    inc_loc[on] = inv
    kernel = kernel_matrix(graph, loc_edge, loc_t, bandwidth_m=bandwidth_m)
    hours = np.full(n, np.nan) if hour is None else np.asarray(hour, float)
    return RiskModel(graph=graph, kernel=kernel, inc_loc=inc_loc,
                     inc_type_w=type_weights_of(primary_type, type_weights) if n else np.zeros(0),
                     inc_hour=hours, bandwidth_m=float(bandwidth_m), sigma_h=float(sigma_h),
                     n_incidents=n, n_snapped=int(on.sum()),
                     factors=street_factors(graph, factors, bar_lat=bar_lat, bar_lon=bar_lon,
                                            outage_lat=outage_lat, outage_lon=outage_lon))


def hours_of(occurred_at, time_unknown=None) -> np.ndarray:
    """Float hour of day from timestamps; NaN where ``time_unknown`` (e.g. ``time_is_midnight``) or missing."""
    out = np.full(len(occurred_at), np.nan)
    for i, ts in enumerate(occurred_at):
        if ts is not None and not (isinstance(ts, float) and math.isnan(ts)):
            out[i] = ts.hour + ts.minute / 60
    if time_unknown is not None:
        unk = np.array([bool(x) if x is not None else False for x in time_unknown], dtype=bool)
        out[unk] = np.nan
    return out
