"""Rolling evaluation of the safe route: routes chosen with past months' incidents, scored on the next month's.

The pieces of ``bench/bench_safe_route_backtest.py`` that decide what the figures mean, kept here so that they are
tested (``tests/maps/test_safe_route_backtest_core.py``) and so that a city's evaluation is the product's own code:

- :func:`calendar_months` and :func:`rolling_windows`: for every month ``t`` of the data, the training window (the
  ``k`` months before ``t``, or all months before it) and the test month; a window never holds its test month.
- :class:`Weighting` and :func:`incident_weights`: what the route *chooses* with (type weights, hour band, window,
  recency decay, street factors), as weights per incident; :func:`edge_mass` turns them into risk per street edge
  with one stored kernel (:mod:`analysis.risk`), so a new weighting costs a sparse product, not a new model.
- :func:`choose`, :func:`evaluate_budget`, :func:`tradeoff_curve`: the recommended route of a Pareto front for a
  detour budget, and the distributions of detour and held-out exposure reduction per budget.
- :func:`edge_jaccard`, :func:`changed_share`, :func:`hysteresis_chain`: stable advice: whether the recommended
  route of a pair changes from one month to the next, and a margin that keeps last month's route unless the new
  one is clearly less exposed; :func:`choose_margin`, :func:`margin_chain`: the product's memoryless margin
  (``[maps.safe_route] margin``: a detour must beat the shortest route by it).
- :func:`oracle_window`, :func:`oracle_front`, :func:`exposure_lower_bound`: the upper bound: routes chosen with the
  test month's own incidents, and a bound on the least held-out exposure any walk within a budget can have.
- :func:`mean_distance_from`: SafeRoute's metric (Levy et al. 2018): the mean distance from the points of a route
  to the nearest incident.
- :func:`sample_pairs`: origin-destination pairs: origins at given points (bars), destinations at street nodes
  drawn by the population of the area they lie in.

Nothing here names a city: the bench passes the city's own data and words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from civicmash.warehouse import reads

from . import route_planner
from .risk import RiskModel, hour_weights, in_hours, lit_classes, type_weights_of
from .routing import WalkGraph, sample_edges

DAY_S = 86400.0


# ---- windows -------------------------------------------------------------------------------------------------

def calendar_months(first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) of every calendar month from the one holding ``first`` to the one holding ``last``; the last
    month ends just after ``last``'s day (a month the data covers only in part stays partial)."""
    out = []
    y, m = first.year, first.month
    end_all = datetime(last.year, last.month, last.day) + (datetime(2000, 1, 2) - datetime(2000, 1, 1))
    while (y, m) <= (last.year, last.month):
        start = datetime(y, m, 1)
        y2, m2 = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append((start, min(datetime(y2, m2, 1), end_all)))
        y, m = y2, m2
    return out


@dataclass(frozen=True)
class Window:
    """One rolling step: choose with ``train`` = [start, end), score on ``test`` = [start, end)."""

    test: tuple[datetime, datetime]
    train: tuple[datetime, datetime]
    train_months: int  # calendar months in the training window

    @property
    def label(self) -> str:
        return self.test[0].strftime("%Y-%m")


def rolling_windows(months: list[tuple[datetime, datetime]], k: int | None, *, min_train: int = 1) -> list[Window]:
    """For every month ``t`` with at least ``min_train`` months before it: train on the ``k`` months before ``t``
    (all the months before it when ``k`` is None, or when fewer than ``k`` exist), test on ``t``.  The training
    window always ends where the test month starts: no test month is ever a training month of its own step."""
    out = []
    for i in range(len(months)):
        if i < max(min_train, 1):
            continue
        lo = 0 if k is None else max(0, i - k)
        out.append(Window(test=months[i], train=(months[lo][0], months[i][0]), train_months=i - lo))
    return out


# ---- incidents and weights -----------------------------------------------------------------------------------

@dataclass
class Incidents:
    """Located incidents with their day: ``t`` = seconds since the epoch (naive local time, as stored)."""

    lat: np.ndarray
    lon: np.ndarray
    primary_type: np.ndarray
    hour: np.ndarray  # float hour of day, NaN = unknown
    t: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def between(self, start: datetime, end: datetime) -> np.ndarray:
        """Boolean mask of the incidents in [start, end)."""
        return (self.t >= _epoch(start)) & (self.t < _epoch(end))


def _epoch(d: datetime) -> float:
    return (d - datetime(1970, 1, 1)).total_seconds()


def load_incidents(con, *, city: str, start: datetime, end: datetime, bbox=None) -> Incidents:
    """The city's located incidents in [start, end) (inside ``bbox`` = ((s, w), (n, e)) when given), with their
    time; the hour is NaN when the time is unknown (recorded at exactly midnight), as in :mod:`analysis.risk`."""
    got = route_planner.load_incidents(con, city=city, start=start, end=end, bbox=bbox, with_time=True)
    return Incidents(lat=np.asarray(got["lat"], float), lon=np.asarray(got["lon"], float),
                     primary_type=np.asarray(got["primary_type"], dtype=object),
                     hour=np.asarray(got["hour"], dtype=float), t=np.asarray(got["t"], dtype=float))


@dataclass(frozen=True)
class Weighting:
    """What the route chooses with.  ``type_weights``: primary type (or glob, ``"*"`` = any other) -> weight;
    ``sigma_h``: the hour band (None: every hour alike); ``months``: training window in calendar months (None: all
    before the test month); ``half_life_days``: recency decay (None: none); ``bars``/``lit``: street factors as
    :func:`analysis.risk.street_factors` reads them (None: off); ``bandwidth_m``: the kernel's (one kernel each)."""

    name: str
    type_weights: tuple = ()  # sorted (key, weight) pairs: hashable
    sigma_h: float | None = 2.0
    months: int | None = 3
    half_life_days: float | None = None
    bars: tuple | None = None  # (factor, radius_m, hour_from, hour_to)
    lit: tuple | None = None   # (lit factor, unlit factor, hour_from, hour_to)
    bandwidth_m: float = 100.0

    def with_(self, name: str, **changes) -> Weighting:
        return replace(self, name=name, **changes)

    @property
    def weights(self) -> dict:
        return dict(self.type_weights)


def weights_tuple(d: dict) -> tuple:
    return tuple(sorted((str(k), float(v)) for k, v in d.items()))


def incident_weights(inc: Incidents, weighting: Weighting, *, at, train: tuple[datetime, datetime],
                     type_w: np.ndarray | None = None) -> np.ndarray:
    """Weight of every incident for a walk at ``at`` chosen with the window ``train`` = [start, end): type weight x
    hour weight (``sigma_h``) x recency decay (``half_life_days``, age measured from the window's end), and 0 outside
    the window. ``type_w``: precomputed type weights (else from ``weighting``)."""
    tw = type_weights_of(inc.primary_type, weighting.weights) if type_w is None else type_w
    inside = inc.between(*train)
    hw = hour_weights(inc.hour, at if weighting.sigma_h is not None else None,
                      sigma_h=weighting.sigma_h or 2.0)
    w = np.where(inside, tw * hw, 0.0)
    if weighting.half_life_days:
        age = (_epoch(train[1]) - inc.t) / DAY_S
        w = w * np.power(0.5, np.clip(age, 0, None) / float(weighting.half_life_days))
    return w


def edge_mass(model: RiskModel, weights: np.ndarray) -> np.ndarray:
    """Risk per edge (weighted incidents, kernel mass) from per-incident ``weights`` on ``model``'s kernel."""
    on = model.inc_loc >= 0
    w = np.bincount(model.inc_loc[on], weights=weights[on], minlength=model.kernel.shape[1])
    return np.asarray(model.kernel @ w).ravel()


def street_factor(graph: WalkGraph, weighting: Weighting, *, at, near_bar: np.ndarray | None) -> np.ndarray | None:
    """Per-edge multiplier of ``weighting``'s street factors at hour ``at`` (None when none applies)."""
    f = None
    if weighting.bars and near_bar is not None and in_hours(at, weighting.bars[2:4]) and weighting.bars[0] != 1:
        f = np.ones(graph.n_edges)
        f[near_bar] *= float(weighting.bars[0])
    if weighting.lit and graph.lit is not None and in_hours(at, weighting.lit[2:4]):
        cls = lit_classes(graph.lit)
        f = np.ones(graph.n_edges) if f is None else f
        f[cls > 0] *= float(weighting.lit[0])
        f[cls < 0] *= float(weighting.lit[1])
    return f


# ---- choosing a route for a budget ------------------------------------------------------------------------------

@dataclass
class Front:
    """A pair's Pareto routes for one month, shortest first: ``length`` (m), ``train`` (the exposure the choice
    saw), ``test`` (held-out exposure per scoring target, shape (routes, targets)), ``edges`` per route."""

    length: np.ndarray
    train: np.ndarray
    test: np.ndarray
    edges: list = field(default_factory=list)


def choose(length, train, budget: float) -> int:
    """Index of the recommended route: the least (train) exposed route no longer than ``(1 + budget)`` x the first
    (shortest) one; ties go to the shorter. Index 0 (the shortest) when nothing beats it."""
    length, train = np.asarray(length, float), np.asarray(train, float)
    ok = np.flatnonzero(length <= (1 + budget) * length[0] + 1e-6)
    return int(ok[np.lexsort((length[ok], train[ok]))[0]])


def _dist(values) -> dict:
    v = np.asarray(values, float)
    if not len(v):
        return {"n": 0}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"n": len(v), "median": round(float(med), 2), "q1": round(float(q1), 2), "q3": round(float(q3), 2),
            "mean": round(float(v.mean()), 2)}


def reduction_stats(short_test, rec_test, short_train, rec_train, short_len, rec_len) -> dict:
    """Distributions over pairs: detour (%), held-out and in-sample exposure reduction (%) (pairs whose shortest
    route has held-out exposure > 0), shares of pairs rerouted / made better / made worse (of all pairs)."""
    st, rt = np.asarray(short_test, float), np.asarray(rec_test, float)
    sk, rk = np.asarray(short_train, float), np.asarray(rec_train, float)
    sl, rl = np.asarray(short_len, float), np.asarray(rec_len, float)
    detour = (rl / sl - 1) * 100
    pos = st > 0
    red = (st[pos] - rt[pos]) / st[pos] * 100
    kpos = sk > 0
    n = len(st)
    worse = rt > st * (1 + 1e-9) + 1e-9
    better = rt < st * (1 - 1e-9) - 1e-9
    return {
        "pairs": n,
        "rerouted_pct": round(float(np.mean(rl != sl) * 100), 1) if n else None,
        "detour_pct": _dist(detour),
        # the mean of per-pair reductions is unbounded below (a pair whose shortest route had almost no held-out
        # exposure can give -10^5 %): also given clipped to -100..100 %
        "held_out_reduction_pct": {**_dist(red), "mean_clipped": round(float(np.clip(red, -100, 100).mean()), 2)
                                   if len(red) else None},
        "in_sample_reduction_pct": _dist((sk[kpos] - rk[kpos]) / sk[kpos] * 100),
        "held_out_total_reduction_pct": round(float((st.sum() - rt.sum()) / st.sum() * 100), 2) if st.sum() else None,
        "share_worse_pct": round(float(worse.mean() * 100), 1) if n else None,
        "share_better_pct": round(float(better.mean() * 100), 1) if n else None,
        "pairs_shortest_unexposed": int((~pos).sum()),
    }


def evaluate_budget(fronts: list[Front], budget: float, *, target: int = 0) -> tuple[dict, np.ndarray]:
    """:func:`reduction_stats` of the recommended routes of ``fronts`` for ``budget`` (held-out target column
    ``target``) and the chosen index per front."""
    idx = np.array([choose(f.length, f.train, budget) for f in fronts], dtype=np.int64)
    pick = lambda arr, i: np.array([a[j] for a, j in zip(arr, i)], float)
    zeros = np.zeros(len(fronts), np.int64)
    lens = [f.length for f in fronts]
    trains = [f.train for f in fronts]
    tests = [f.test[:, target] for f in fronts]
    stats = reduction_stats(pick(tests, zeros), pick(tests, idx), pick(trains, zeros), pick(trains, idx),
                            pick(lens, zeros), pick(lens, idx))
    return stats, idx


def tradeoff_curve(fronts: list[Front], budgets, *, target: int = 0) -> list[dict]:
    """One :func:`evaluate_budget` row per detour budget (fraction): the trade-off curve."""
    return [{"budget_pct": round(b * 100, 1), **evaluate_budget(fronts, b, target=target)[0]} for b in budgets]


# ---- stable advice --------------------------------------------------------------------------------------------

def edge_jaccard(a: np.ndarray, b: np.ndarray, length: np.ndarray) -> float:
    """Length-weighted Jaccard index of two routes' edge sets: metres in both / metres in either (1 = same)."""
    a, b = np.unique(np.asarray(a, np.int64)), np.unique(np.asarray(b, np.int64))
    both = np.intersect1d(a, b, assume_unique=True)
    either = np.union1d(a, b)
    total = float(length[either].sum())
    return 1.0 if total <= 0 else float(length[both].sum()) / total


def changed_share(routes: list[list[np.ndarray]], length: np.ndarray, *, threshold: float) -> dict:
    """``routes[m][p]``: the edges of pair ``p``'s recommended route in month ``m`` (months in order).  A pair's
    advice *changes* between two consecutive months when the Jaccard index of the two routes
    (:func:`edge_jaccard`) is below ``threshold``.  Returns the share of (pair, consecutive month) steps that
    change, overall and per step."""
    steps, per = 0, []
    changed = 0
    for m in range(1, len(routes)):
        c = sum(edge_jaccard(a, b, length) < threshold for a, b in zip(routes[m - 1], routes[m]))
        per.append(round(c / max(len(routes[m]), 1) * 100, 1))
        changed += c
        steps += len(routes[m])
    return {"changed_pct": round(changed / steps * 100, 1) if steps else None, "per_step_pct": per,
            "steps": steps, "threshold": threshold}


def hysteresis_chain(fronts_by_month: list[list[Front]], budget: float, margin: float | None, price) -> list[list]:
    """The recommended route of every pair, month after month, with a hysteresis margin: from the second month on,
    last month's recommendation is kept when it is still within the budget and the new choice is not less exposed
    than it by more than ``margin`` (0.1 = 10 %), both priced with this month's model. ``margin`` None: no
    hysteresis (the plain choice each month).

    ``fronts_by_month[m][p]``: pair ``p``'s :class:`Front` in month ``m`` (months in order, the same pairs);
    ``price(m, p, edges)`` -> (length, train exposure, held-out exposures) of a route in month ``m``.
    Returns per month and pair (edges, length, train, test) of the recommendation."""
    out: list[list] = []
    prev = None
    for m, fronts in enumerate(fronts_by_month):
        rows = []
        for p, f in enumerate(fronts):
            i = choose(f.length, f.train, budget)
            rec = (f.edges[i], float(f.length[i]), float(f.train[i]), np.asarray(f.test[i], float))
            if margin is not None and prev is not None:
                edges = prev[p][0]
                plen, ptrain, ptest = price(m, p, edges)
                if plen <= (1 + budget) * f.length[0] + 1e-6 and f.train[i] >= (1 - margin) * ptrain - 1e-12:
                    rec = (edges, float(plen), float(ptrain), np.asarray(ptest, float))
            rows.append(rec)
        out.append(rows)
        prev = rows
    return out


def choose_margin(length, train, budget: float, margin: float) -> int:
    """The product's memoryless rule (:func:`analysis.fast_route.recommend`): the route :func:`choose` picks for
    ``budget``, unless it is less than ``margin`` (0.2 = 20 %) less exposed than the shortest route (index 0): then
    the shortest. No memory of last month's advice: a detour must beat the *shortest* route by the margin."""
    i = choose(length, train, budget)
    train = np.asarray(train, float)
    if margin > 0 and i != 0 and train[i] > (1 - margin) * train[0]:
        return 0
    return i


def margin_chain(fronts_by_month: list[list[Front]], budget: float, margin: float) -> list[np.ndarray]:
    """Per month, the index of every pair's recommended route under :func:`choose_margin` (months in order)."""
    return [np.array([choose_margin(f.length, f.train, budget, margin) for f in fronts], np.int64)
            for fronts in fronts_by_month]


# ---- the oracle: how far any choice could go -------------------------------------------------------------------

def oracle_window(window: Window) -> Window:
    """``window`` with perfect foresight: the training window *is* the test month (the oracle's model)."""
    return Window(test=window.test, train=window.test, train_months=0)


def oracle_front(fronts: list[Front], target: int = 0) -> Front:
    """One front of every distinct route of ``fronts`` (one pair, one month: e.g. the Pareto routes of the held-out
    score itself and the trained choice's routes), shortest first, whose ``train`` is the held-out exposure of
    column ``target``: :func:`choose` on it picks, per budget, the least held-out-exposed of these routes, so the
    oracle is never worse on its own month than any of the fronts' choices (within the same budget)."""
    seen, rows = set(), []
    for f in fronts:
        for i, e in enumerate(f.edges):
            key = tuple(np.unique(np.asarray(e, np.int64)).tolist())
            if key in seen:
                continue
            seen.add(key)
            rows.append((float(f.length[i]), float(f.test[i, target]), np.asarray(f.test[i], float), e))
    # shortest first; among equally short routes the least exposed first (index 0 is "the shortest route")
    rows.sort(key=lambda r: (round(r[0], 6), r[1]))
    return Front(length=np.array([r[0] for r in rows]), train=np.array([r[1] for r in rows]),
                 test=np.array([r[2] for r in rows]), edges=[r[3] for r in rows])


def exposure_lower_bound(length, cost_exposure, mus, budget_m: float) -> float:
    """Lagrangian lower bound on the least exposure of *any* walk no longer than ``budget_m``: for every sweep weight
    ``mu`` > 0 whose search found the walk minimising ``length + mu * exposure`` exactly, every walk ``p`` with
    ``L(p) <= budget_m`` has ``E(p) >= min_r (L_r + mu E_r - budget_m) / mu`` (``r`` over the routes the sweep found,
    which hold each weight's minimiser). The best of these bounds, never below 0. ``length``/``cost_exposure``: the
    routes' length and exposure as the search priced them."""
    L, E = np.asarray(length, float), np.asarray(cost_exposure, float)
    best = 0.0
    for mu in mus:
        if mu > 0:
            best = max(best, float(np.min(L + mu * E) - budget_m) / mu)
    return best


# ---- SafeRoute's metric ------------------------------------------------------------------------------------------

def mean_distance_from(graph: WalkGraph, edges: np.ndarray, tree, *, spacing: float = 10.0) -> float:
    """Mean distance (m) from points every ``spacing`` m along the route ``edges`` to the nearest point of ``tree``
    (a cKDTree of incidents in ``graph``'s projected metres): SafeRoute's "distance from crimes"."""
    edges = np.asarray(edges, np.int64)
    if not len(edges):
        return float("nan")
    ax, ay = graph.x[graph.eu[edges]], graph.y[graph.eu[edges]]
    bx, by = graph.x[graph.ev[edges]], graph.y[graph.ev[edges]]
    _, px, py, _ = sample_edges(ax, ay, bx, by, spacing=spacing)
    d, _ = tree.query(np.column_stack([px, py]))
    return float(np.mean(d))


# ---- origin-destination pairs ------------------------------------------------------------------------------------

def node_areas(con, graph: WalkGraph, *, city: str, kind: str) -> tuple[np.ndarray, list[str]]:
    """Per node of ``graph``: the index of the boundary of ``kind`` holding it (-1: none), and the codes."""
    import shapely
    from shapely import wkb

    reads.ensure_spatial(con)
    rows = con.execute(
        "SELECT code, ST_AsWKB(geom) FROM boundaries WHERE city = ? AND kind = ? AND geom IS NOT NULL "
        + reads.fixture_filter(con, "boundaries") + reads.vintage_filter(con, "boundaries") + "ORDER BY code",
        [city, kind]).fetchall()
    area = np.full(graph.n_nodes, -1, np.int64)
    codes = []
    for i, (code, geom) in enumerate(rows):
        shape = wkb.loads(bytes(geom))
        shapely.prepare(shape)
        x0, y0, x1, y1 = shape.bounds
        cand = np.flatnonzero((area < 0) & (graph.lon >= x0) & (graph.lon <= x1) & (graph.lat >= y0)
                              & (graph.lat <= y1))
        if len(cand):
            inside = shapely.contains_xy(shape, graph.lon[cand], graph.lat[cand])
            area[cand[inside]] = i
        codes.append(str(code))
    return area, codes


def sample_pairs(graph: WalkGraph, *, origins: np.ndarray, dest_weight: np.ndarray, n: int, seed: int,
                 min_m: float = 500.0, max_m: float = 3000.0, max_tries: int = 200) -> list[tuple[int, int]]:
    """``n`` distinct (origin node, destination node) pairs: the origin uniform among ``origins`` (nodes), the
    destination drawn among the nodes of the origin's street network whose straight-line distance from it is in
    [``min_m``, ``max_m``], with probability proportional to ``dest_weight`` (per node)."""
    rng = np.random.default_rng(seed)
    origins = np.asarray(origins, np.int64)
    dest_weight = np.asarray(dest_weight, float)
    has = np.flatnonzero(dest_weight > 0)
    hx, hy = graph.x[has], graph.y[has]
    pairs, seen, tries = [], set(), 0
    while len(pairs) < n and tries < max_tries * n:
        tries += 1
        a = int(origins[rng.integers(len(origins))])
        d = np.hypot(hx - graph.x[a], hy - graph.y[a])
        ok = (d >= min_m) & (d <= max_m) & (graph.component[has] == graph.component[a])
        if not ok.any():
            continue
        w = dest_weight[has[ok]]
        b = int(has[ok][rng.choice(len(w), p=w / w.sum())])
        if (a, b) in seen:
            continue
        seen.add((a, b))
        pairs.append((a, b))
    return pairs


def population_weights(graph: WalkGraph, area: np.ndarray, codes: list[str], population: dict) -> np.ndarray:
    """Per node: its area's population shared equally among the area's walkable nodes (so an area is drawn in
    proportion to its population, then a node of it uniformly); 0 outside every area or without a figure."""
    w = np.zeros(graph.n_nodes)
    walk = graph.walk_mask & (area >= 0)
    count = np.bincount(area[walk], minlength=len(codes))
    pop = np.array([float(population.get(c, 0.0) or 0.0) for c in codes])
    per = np.where(count > 0, pop / np.maximum(count, 1), 0.0)
    w[walk] = per[area[walk]]
    return w


def summary_line(stats: dict) -> str:
    d, r = stats["detour_pct"], stats["held_out_reduction_pct"]
    return (f"median held-out exposure {-r['median']:+.1f}% (quartiles {-r['q3']:+.1f}..{-r['q1']:+.1f}) at median "
            f"detour {d['median']:+.1f}%, {stats['share_worse_pct']}% of pairs worse")


def finite(x) -> float | None:
    return None if x is None or not math.isfinite(x) else x
