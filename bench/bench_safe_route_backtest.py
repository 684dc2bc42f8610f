"""Safe-route rolling backtest on real Chicago data: bars to homes, every month held out in turn, weights learnt.

**Pairs** (``PAIRS``, seed 2018): origins at the city's bars (``venues_bars``: one per name and place, snapped to the
merged walk graph within 150 m), destinations at street nodes drawn by population: an area of the finest kind the
``population`` table has (Chicago: the 77 community areas, 2010 census) with probability proportional to its
population, then a node of the walk graph inside it uniformly (no block-level population or housing data in the
bundle, so "residential blocks" are the area's street nodes); 500-3,000 m apart in a straight line, both in one street
network. The bundle has **no transit stops** (no CTA stations or bus stops in ../shared/data/chicago), so no pairs
end at one. Each pair walks at a night hour drawn from 22:00-02:00 (whole hours), the same every month. Graph: the
city's whole merged walk graph (``analysis.routing.load_graph``: every street dataset, as ``civicmash route``).

**Rolling.** For every calendar month ``t`` with a month before it (May 2018 - 12 Nov 2018: June ... November, the
last one 12 days), routes are chosen with the incidents of the training window before ``t``
(``analysis.backtest.rolling_windows``) and scored on the incidents of ``t``. The recommended route is the least
exposed Pareto route (``analysis.route_planner.pareto_routes``) within the detour budget.

**Held-out score** (fixed, never tuned): the exposure of a route to month ``t``'s incidents with the severity weights
of the profile before this evaluation (violent 3, property 1, other 0.5, non-criminal 0) and the hour band at the
walk's hour (sigma 2 h), 100 m network kernel (``T_harm``); also reported: violent incidents of 20:00-04:00 alone
(``T_violent_night``) and every criminal incident at any hour (``T_all``).

**Learning** (greedy, one feature at a time): type weights, hour band, window length, recency decay, kernel
bandwidth, bars at closing time (``[risk.bars]``), lit streets (``[risk.lit]``); each alternative is scored on the
**selection months** (June-August) with ``SELECT_PAIRS`` of the pairs, and kept only when it raises the mean per-pair
held-out reduction (each pair's clipped to -100..100 %, so one pair made three times more exposed cannot outweigh
many made safer) at the product's +25 % budget by more than twice its paired standard error. The **report
months** (September-November) are then scored with all pairs, with the chosen weighting, and never used to choose.

**Stable advice.** The recommended route of a pair changes between consecutive months when the length-weighted
Jaccard index of the two routes' edges is below ``JACCARD`` (0.8); with a hysteresis margin (last month's route kept
unless the new one is more than ``margin`` less exposed under the new month's model), margin chosen on the selection
months' steps.

``rolling(warehouse)`` works on any warehouse holding the Chicago run (``CIVICMASH_BACKTEST_DB`` points ``run()`` at
one); ``run()`` otherwise runs the pipeline on ../shared first. ``backtest(warehouse)`` is the earlier 50-pair West
Loop backtest (``tests/realdata/test_safe_route_backtest.py``).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
from civicmash.analysis import backtest as bt
from civicmash.analysis import route_planner
from civicmash.analysis.risk import build_risk, edges_near
from civicmash.analysis.routing import WalkGraph, load_graph

from bench._common import require_chicago

CITY = "chicago"
PAIRS = 1000
SELECT_PAIRS = 200
SEED = 2018
NIGHT_HOURS = (22, 23, 0, 1, 2)
BUDGETS = (0.0, 0.025, 0.05, 0.075, 0.10, 0.15, 0.20, 0.25, 0.30)
PRODUCT_BUDGET = 0.25
JACCARD = 0.8
SELECT_MONTHS = ("2018-06", "2018-07", "2018-08")
REPORT_MONTHS = ("2018-09", "2018-10", "2018-11")
MARGINS = (None, 0.0, 0.05, 0.1, 0.2, 0.3)
# the held-out score's severity weights (the profile's before this evaluation): fixed, whatever the choice learns
SCORE_WEIGHTS = {"violent": 3.0, "property": 1.0, "other": 0.5, "non_criminal": 0.0}


def _log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def _type_weights(categories: dict, weights: dict) -> dict:
    from civicmash.cities.profile import RiskSpec

    return RiskSpec(weights=weights, categories=categories).type_weights()


class Evaluation:
    """Everything the rolling evaluation reuses: graph, incidents, kernels, pairs, score masses."""

    def __init__(self, con, *, n_pairs: int = PAIRS, seed: int = SEED):
        from civicmash.cities.profile import load_profile

        t0 = time.perf_counter()
        self.profile = load_profile(CITY)
        self.categories = self.profile.risk.categories
        self.graph = load_graph(con, CITY)
        g = self.graph
        first, last = con.execute("SELECT min(occurred_at), max(occurred_at) FROM incidents WHERE city = ? "
                                  "AND lat IS NOT NULL", [CITY]).fetchone()
        self.months = bt.calendar_months(first, last)
        self.inc = bt.load_incidents(con, city=CITY, start=self.months[0][0], end=self.months[-1][1],
                                     bbox=route_planner.graph_bbox(g))
        self.kernels: dict[float, object] = {}
        self.kernel(100.0)
        t1 = time.perf_counter()
        # bars: one per name and place
        rows = con.execute(
            "SELECT upper(trim(name)), median(lat), median(lon) FROM venues_bars WHERE city = ? AND lat IS NOT NULL "
            "AND lon IS NOT NULL GROUP BY 1, round(lat, 4), round(lon, 4) ORDER BY 1, 2, 3", [CITY]).fetchall()
        blat, blon = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
        node, dist = g.nearest_nodes(blat, blon)
        self.bars_total, self.bar_nodes = len(rows), np.unique(node[dist < 150])
        self.bars_on_graph = int((dist < 150).sum())
        self.near_bar = edges_near(g, blat, blon, radius_m=75.0)
        # population: the finest area kind of the population table, latest year
        kind, year = con.execute("SELECT area_kind, max(year) FROM population WHERE city = ? GROUP BY 1 "
                                 "ORDER BY count(*) DESC LIMIT 1", [CITY]).fetchone()
        pop = dict(con.execute("SELECT area_code, population FROM population WHERE city = ? AND area_kind = ? "
                               "AND year = ?", [CITY, kind, year]).fetchall())
        area, codes = bt.node_areas(con, g, city=CITY, kind=kind)
        self.dest_weight = bt.population_weights(g, area, codes, pop)
        self.population = {"area_kind": kind, "year": int(year), "areas": len(pop),
                           "population": int(sum(v or 0 for v in pop.values())),
                           "areas_with_walk_nodes": len(np.unique(area[g.walk_mask & (area >= 0)]))}
        self.pairs = bt.sample_pairs(g, origins=self.bar_nodes, dest_weight=self.dest_weight, n=n_pairs, seed=seed)
        rng = np.random.default_rng(seed + 1)
        self.hours = rng.choice(NIGHT_HOURS, len(self.pairs))
        self.pair_area = [codes[area[b]] for _, b in self.pairs]
        self.setup_s = {"graph_incidents_kernel_s": round(t1 - t0, 1), "pairs_s": round(time.perf_counter() - t1, 1)}
        # fixed held-out scores, per (test month, hour)
        self.score_w = {
            "T_harm": _type_weights(self.categories, SCORE_WEIGHTS),
            "T_violent_night": _type_weights(self.categories, {"violent": 1.0, "property": 0.0, "other": 0.0,
                                                                "non_criminal": 0.0}),
            "T_all": _type_weights(self.categories, {"violent": 1.0, "property": 1.0, "other": 1.0,
                                                      "non_criminal": 0.0}),
        }
        self._score: dict = {}
        self._choice: dict = {}
        self._type_w: dict = {}

    # ---- masses ----
    def kernel(self, bandwidth_m: float):
        if bandwidth_m not in self.kernels:
            inc = self.inc
            self.kernels[bandwidth_m] = build_risk(self.graph, lat=inc.lat, lon=inc.lon, primary_type=inc.primary_type,
                                                   hour=inc.hour, bandwidth_m=bandwidth_m)
        return self.kernels[bandwidth_m]

    def type_w(self, weights: tuple) -> np.ndarray:
        if weights not in self._type_w:
            from civicmash.analysis.risk import type_weights_of

            self._type_w[weights] = type_weights_of(self.inc.primary_type, dict(weights))
        return self._type_w[weights]

    def score(self, month: tuple, hour: int) -> np.ndarray:
        """(edges, 3) held-out masses of the test ``month`` for a walk at ``hour``."""
        key = (month, hour)
        if key not in self._score:
            inc, model = self.inc, self.kernel(100.0)
            inside = inc.between(*month)
            cols = []
            harm = self.type_w(bt.weights_tuple(self.score_w["T_harm"]))
            from civicmash.analysis.risk import hour_weights

            cols.append(bt.edge_mass(model, np.where(inside, harm * hour_weights(inc.hour, hour, sigma_h=2.0), 0)))
            night = (inc.hour >= 20) | (inc.hour < 4)  # NaN (time unknown): False
            vio = self.type_w(bt.weights_tuple(self.score_w["T_violent_night"]))
            cols.append(bt.edge_mass(model, np.where(inside & night, vio, 0)))
            allw = self.type_w(bt.weights_tuple(self.score_w["T_all"]))
            cols.append(bt.edge_mass(model, np.where(inside, allw, 0)))
            self._score[key] = np.column_stack(cols)
        return self._score[key]

    def choice(self, weighting: bt.Weighting, window: bt.Window, hour: int) -> np.ndarray:
        key = (weighting, window.train, hour)
        if key not in self._choice:
            w = bt.incident_weights(self.inc, weighting, at=hour, train=window.train,
                                    type_w=self.type_w(weighting.type_weights))
            mass = bt.edge_mass(self.kernel(weighting.bandwidth_m), w)
            f = bt.street_factor(self.graph, weighting, at=hour, near_bar=self.near_bar)
            self._choice[key] = mass if f is None else mass * f
            if len(self._choice) > 400:  # bounded cache
                self._choice.pop(next(iter(self._choice)))
        return self._choice[key]

    def windows(self, weighting: bt.Weighting, labels) -> list[bt.Window]:
        return [w for w in bt.rolling_windows(self.months, weighting.months) if w.label in labels]

    # ---- fronts ----
    def fronts(self, weighting: bt.Weighting, window: bt.Window, pairs_idx) -> list[bt.Front]:
        g = self.graph
        out = []
        for p in pairs_idx:
            a, b = self.pairs[p]
            h = int(self.hours[p])
            risk = self.choice(weighting, window, h)
            score = self.score(window.test, h)
            front = route_planner.pareto_routes(g, risk, a, b)
            edges = [g.path_edges(r["nodes"]) for r in front]
            out.append(bt.Front(length=np.array([float(g.length[e].sum()) for e in edges]),
                                train=np.array([float(risk[e].sum()) for e in edges]),
                                test=np.array([score[e].sum(axis=0) for e in edges]), edges=edges))
        return out

    def price(self, weighting, window, p, edges):
        h = int(self.hours[p])
        return (float(self.graph.length[edges].sum()), float(self.choice(weighting, window, h)[edges].sum()),
                self.score(window.test, h)[edges].sum(axis=0))


def _per_sample(fronts: list[bt.Front], budget: float, target: int = 0) -> np.ndarray:
    """Per pair-month held-out reduction (%) of the recommended route, clipped to [-100, 100] (NaN when the shortest
    is unexposed)."""
    out = np.full(len(fronts), np.nan)
    for i, f in enumerate(fronts):
        j = bt.choose(f.length, f.train, budget)
        s = f.test[0, target]
        if s > 0:
            out[i] = (s - f.test[j, target]) / s * 100
    return np.clip(out, -100.0, 100.0)  # a pair made 3x more exposed must not outweigh ten pairs made safer


def _select(ev: Evaluation, base: bt.Weighting, steps, sel_pairs) -> tuple[bt.Weighting, list[dict]]:
    """Greedy feature selection on the selection months: per step, the alternative with the best mean per-pair
    held-out reduction at the product budget, kept only if better than the current by > 2 paired standard errors."""
    log = []
    cache: dict = {}

    def samples(w: bt.Weighting) -> np.ndarray:
        if w not in cache:
            t = time.perf_counter()
            fr = [f for win in ev.windows(w, SELECT_MONTHS) for f in ev.fronts(w, win, sel_pairs)]
            cache[w] = (_per_sample(fr, PRODUCT_BUDGET), bt.evaluate_budget(fr, PRODUCT_BUDGET)[0])
            _log(f"   {w.name}: mean {np.nanmean(cache[w][0]):.2f} % ({time.perf_counter() - t:.0f} s)")
        return cache[w][0]

    current = base
    for step, alternatives in steps:
        cur = samples(current)
        row = {"feature": step, "start": current.name, "tried": []}
        best, best_gain = current, 0.0
        for alt in alternatives(current):
            s = samples(alt)
            ok = ~np.isnan(cur) & ~np.isnan(s)
            diff = s[ok] - cur[ok]
            gain, se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(max(ok.sum(), 2)))
            stats = cache[alt][1]
            row["tried"].append({"name": alt.name, "mean_reduction_pct": round(float(np.nanmean(s)), 2),
                                 "gain_pct_points": round(gain, 2), "paired_se": round(se, 2),
                                 "median_reduction_pct": stats["held_out_reduction_pct"]["median"],
                                 "median_detour_pct": stats["detour_pct"]["median"],
                                 "share_worse_pct": stats["share_worse_pct"]})
            if gain > 2 * se and gain > best_gain:
                best, best_gain = alt, gain
        row["current_mean_reduction_pct"] = round(float(np.nanmean(cur)), 2)
        row["kept"] = best.name
        log.append(row)
        _log(f"  {step}: kept {best.name}")
        current = best
    return current, log


# ---- the earlier 50-pair West Loop backtest (tests/realdata/test_safe_route_backtest.py) ----------------------

TRAIN = (datetime(2018, 5, 1), datetime(2018, 9, 1))
TEST = (datetime(2018, 9, 1), datetime(2018, 12, 1))
AT = "23:00"
N_PAIRS = 50
DETOUR = 0.25
GRAPH_DATASET = "streets_west_loop"


def _model(con, graph, window, type_weights):
    inc = route_planner.load_incidents(con, city="chicago", start=window[0], end=window[1],
                                    bbox=route_planner.graph_bbox(graph))
    return build_risk(graph, lat=inc["lat"], lon=inc["lon"], primary_type=inc["primary_type"], hour=inc["hour"],
                      type_weights=type_weights)


def _bar_pairs(con, graph, n, seed=2018):
    (s, w), (nn, e) = route_planner.graph_bbox(graph, pad_m=0)
    rows = con.execute(
        "SELECT upper(trim(name)), median(lat), median(lon) FROM venues_bars WHERE city = 'chicago' "
        "AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? GROUP BY 1 ORDER BY 1", [s, nn, w, e]).fetchall()
    names = [r[0] for r in rows]
    lat = np.array([r[1] for r in rows])
    lon = np.array([r[2] for r in rows])
    node, dist = graph.nearest_nodes(lat, lon)
    ok = dist < 150  # bars on the graph's streets
    names, node = [n_ for n_, k in zip(names, ok) if k], node[ok]
    rng = np.random.default_rng(seed)
    pairs, seen = [], set()
    for _ in range(20000):
        i, j = rng.choice(len(node), 2, replace=False)
        a, b = int(node[i]), int(node[j])
        d = math.hypot(graph.x[a] - graph.x[b], graph.y[a] - graph.y[b])
        if a == b or not 500 <= d <= 3000 or (a, b) in seen:
            continue
        seen.add((a, b))
        pairs.append((names[i], names[j], a, b))
        if len(pairs) == n:
            break
    return pairs, len(names)


def backtest(warehouse: str | Path) -> dict:
    """Held-out exposure of the recommended vs the shortest route for bar-to-bar walks at 23:00."""
    from civicmash.cities.profile import load_profile

    type_weights = load_profile("chicago").risk.type_weights()
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        # the West Loop edge list only, also in a warehouse holding every street dataset (the merged walk graph)
        graph = WalkGraph.from_warehouse(con, "chicago", datasets=[GRAPH_DATASET])
        train = _model(con, graph, TRAIN, type_weights)
        test = _model(con, graph, TEST, type_weights)
        pairs, n_bars = _bar_pairs(con, graph, N_PAIRS)
    if len(pairs) < 40:
        raise RuntimeError(f"only {len(pairs)} bar pairs in the West Loop graph")
    train_mass, test_mass = train.edge_mass(AT), test.edge_mass(AT)
    rows = []
    for a_name, b_name, a, b in pairs:
        plan = route_planner.plan_routes(graph, train_mass, a, b, detour=DETOUR)
        short, rec = plan["shortest"], plan["safer"]
        es, er = (float(test_mass[graph.path_edges(r["nodes"])].sum()) for r in (short, rec))
        rows.append({"from": a_name, "to": b_name, "shortest_m": short["length_m"], "recommended_m": rec["length_m"],
                     "train_shortest": short["exposure"], "train_recommended": rec["exposure"],
                     "test_shortest": round(es, 3), "test_recommended": round(er, 3),
                     "changed": short["nodes"] != rec["nodes"]})
    ts = np.array([r["test_shortest"] for r in rows])
    tr = np.array([r["test_recommended"] for r in rows])
    ks = np.array([r["train_shortest"] for r in rows])
    kr = np.array([r["train_recommended"] for r in rows])
    detour = np.array([r["recommended_m"] / r["shortest_m"] - 1 for r in rows])
    pos = ts > 0
    red = (ts[pos] - tr[pos]) / ts[pos]
    changed = np.array([r["changed"] for r in rows])
    result = {
        "train": [str(d.date()) for d in TRAIN], "test": [str(d.date()) for d in TEST], "at": AT, "detour_budget": DETOUR,
        "bars_on_graph": n_bars, "pairs": len(rows), "pairs_rerouted": int(changed.sum()),
        "incidents_train": train.n_snapped, "incidents_test": test.n_snapped,
        "mean_detour_pct": round(float(detour.mean() * 100), 1),
        "in_sample_mean_reduction_pct": round(float(np.mean((ks[ks > 0] - kr[ks > 0]) / ks[ks > 0]) * 100), 1),
        "held_out_mean_reduction_pct": round(float(red.mean() * 100), 1),
        "held_out_median_reduction_pct": round(float(np.median(red) * 100), 1),
        "held_out_total_reduction_pct": round(float((ts.sum() - tr.sum()) / ts.sum() * 100), 1),
        "held_out_pairs_worse": int((tr > ts + 1e-9).sum()),
        "held_out_pairs_better": int((tr < ts - 1e-9).sum()),
        "held_out_share_better_pct": round(float((tr < ts - 1e-9).mean() * 100), 1),
        "held_out_share_better_of_rerouted_pct": round(float((tr < ts - 1e-9)[changed].mean() * 100), 1)
        if changed.any() else None,
        "rows": rows,
    }
    result["max_detour_pct"] = round(float(detour.max() * 100), 1)
    return result


def _steps(categories: dict):
    tw = lambda d: bt.weights_tuple(_type_weights(categories, d))
    types = {
        "types: every crime 1": {"violent": 1, "property": 1, "other": 1, "non_criminal": 0},
        "types: violent only": {"violent": 1, "property": 0, "other": 0, "non_criminal": 0},
        "types: violent 10, property 1, other 0.5": {"violent": 10, "property": 1, "other": 0.5, "non_criminal": 0},
        "types: violent 3, property 1, other 0": {"violent": 3, "property": 1, "other": 0, "non_criminal": 0},
    }
    return [
        ("type weights", lambda c: [c.with_(n, type_weights=tw(d)) for n, d in types.items()]),
        ("hour band", lambda c: [c.with_(f"hour band sigma {s} h" if s else "every hour alike", sigma_h=s)
                                 for s in (1.0, 4.0, None) if s != c.sigma_h]),
        ("window", lambda c: [c.with_(f"window {k} months" if k else "window: every month before", months=k)
                              for k in (1, 2, None) if k != c.months]),
        ("recency decay", lambda c: [c.with_(f"half-life {d} days", half_life_days=float(d)) for d in (30, 90)]),
        ("kernel bandwidth", lambda c: [c.with_(f"bandwidth {b} m", bandwidth_m=float(b)) for b in (200,)
                                        if b != c.bandwidth_m]),
        ("bars at closing time", lambda c: [
            c.with_("bars x2 within 75 m, 22:00-04:00", bars=(2.0, 75.0, 22.0, 4.0)),
            c.with_("bars x2 within 75 m, closing 01:00-04:00", bars=(2.0, 75.0, 1.0, 4.0))]),
        ("lit streets", lambda c: [c.with_("lit x0.5 at 20:00-06:00", lit=(0.5, 1.0, 20.0, 6.0))]),
    ]


def _weighting_dict(w: bt.Weighting, categories: dict) -> dict:
    cat = {}
    tw = w.weights
    for name, types in categories.items():
        vals = {tw.get(t.upper()) for t in types}
        cat[name] = vals.pop() if len(vals) == 1 else sorted(v for v in vals if v is not None)
    return {"type_weights_by_category": cat, "type_weight_other_types": tw.get("*"), "sigma_h": w.sigma_h,
            "window_months": w.months, "half_life_days": w.half_life_days, "bandwidth_m": w.bandwidth_m,
            "bars": None if not w.bars else dict(zip(("factor", "radius_m", "from", "to"), w.bars)),
            "lit": None if not w.lit else dict(zip(("lit", "unlit", "from", "to"), w.lit))}


def _stats_over(fronts, budget, targets=("T_harm", "T_violent_night", "T_all")) -> dict:
    return {t: bt.evaluate_budget(fronts, budget, target=i)[0] for i, t in enumerate(targets)}


def _goal(curve: list[dict]) -> dict:
    ok = [r for r in curve if r["detour_pct"].get("median", 99) <= 10]
    best = max(ok, key=lambda r: r["held_out_reduction_pct"]["median"]) if ok else None
    med = best["held_out_reduction_pct"]["median"] if best else None
    return {"goal": "median held-out exposure >= 30 % lower at <= 10 % median detour",
            "met": bool(med is not None and med >= 30),
            "best_budget_pct": best["budget_pct"] if best else None, "median_reduction_pct": med,
            "median_detour_pct": best["detour_pct"]["median"] if best else None,
            "share_worse_pct": best["share_worse_pct"] if best else None,
            "distance_to_goal_pct_points": None if med is None else round(max(0.0, 30 - med), 2)}


def _saferoute(ev: Evaluation, fronts_by_month, windows, budget: float) -> dict:
    """SafeRoute's metric: mean distance (m) from the route to the test month's criminal incidents."""
    from scipy.spatial import cKDTree

    g, inc = ev.graph, ev.inc
    crim = ev.type_w(bt.weights_tuple(ev.score_w["T_all"])) > 0
    short, rec = [], []
    for win, fronts in zip(windows, fronts_by_month):
        m = inc.between(*win.test) & crim
        x, y = g.project(inc.lat[m], inc.lon[m])
        tree = cKDTree(np.column_stack([x, y]))
        for f in fronts:
            j = bt.choose(f.length, f.train, budget)
            short.append(bt.mean_distance_from(g, f.edges[0], tree))
            rec.append(short[-1] if j == 0 else bt.mean_distance_from(g, f.edges[j], tree))
    s, r = np.array(short), np.array(rec)
    change = (r - s) / s * 100
    moved = r != s
    return {"metric": "mean distance (m) from points every 10 m along the route to the nearest criminal incident "
                      "of the held-out month (SafeRoute, Levy et al. 2018: 'distance from crimes')",
            "shortest_mean_m": round(float(s.mean()), 1), "recommended_mean_m": round(float(r.mean()), 1),
            "increase_mean_pct": round(float((r.mean() - s.mean()) / s.mean() * 100), 2),
            "per_pair_increase_pct": bt._dist(change), "rerouted_pairs_increase_pct": bt._dist(change[moved]),
            "share_closer_pct": round(float((r < s - 1e-9).mean() * 100), 1)}


def rolling(warehouse: str | Path, *, n_pairs: int = PAIRS, select_pairs: int = SELECT_PAIRS) -> dict:
    """The rolling evaluation (module doc) on a warehouse holding the Chicago run."""
    t_start = time.perf_counter()
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        ev = Evaluation(con, n_pairs=n_pairs)
    g = ev.graph
    _log(f"setup {ev.setup_s}; {len(ev.pairs)} pairs, {len(ev.inc)} incidents, kernel nnz {ev.kernel(100.0).kernel.nnz}")
    base = bt.Weighting("product defaults before (violent 3, property 1, other 0.5; sigma 2 h; 3 months)",
                        type_weights=bt.weights_tuple(ev.profile.risk.type_weights()), sigma_h=2.0, months=3)
    rng = np.random.default_rng(SEED + 2)
    sel = np.sort(rng.choice(len(ev.pairs), min(select_pairs, len(ev.pairs)), replace=False))
    t_sel = time.perf_counter()
    chosen, log = _select(ev, base, _steps(ev.categories), sel)
    t_sel = time.perf_counter() - t_sel
    _log(f"chosen: {chosen}")
    # ---- the chosen weighting, all pairs, every month
    every = [w.label for w in bt.rolling_windows(ev.months, 1)]
    wins = ev.windows(chosen, every)
    t_fin = time.perf_counter()
    all_idx = range(len(ev.pairs))
    by_month = []
    for win in wins:
        t = time.perf_counter()
        by_month.append(ev.fronts(chosen, win, all_idx))
        _log(f"  {win.label}: {len(by_month[-1])} fronts, {time.perf_counter() - t:.0f} s")
    t_fin = time.perf_counter() - t_fin
    report = [f for win, fr in zip(wins, by_month) if win.label in REPORT_MONTHS for f in fr]
    select = [f for win, fr in zip(wins, by_month) if win.label in SELECT_MONTHS for f in fr]
    per_month = [{"month": win.label, "train": [str(win.train[0].date()), str(win.train[1].date())],
                  "test": [str(win.test[0].date()), str(win.test[1].date())],
                  "role": "select" if win.label in SELECT_MONTHS else "report",
                  "incidents_test": int(ev.inc.between(*win.test).sum()),
                  "incidents_train": int(ev.inc.between(*win.train).sum()),
                  **bt.evaluate_budget(fr, PRODUCT_BUDGET)[0]} for win, fr in zip(wins, by_month)]
    curve = bt.tradeoff_curve(report, BUDGETS)
    # ---- the product defaults before, same pairs, report months (before vs after)
    if replace(chosen, name="") == replace(base, name=""):
        base_report = report
    else:
        base_report = [f for win in ev.windows(base, REPORT_MONTHS) for f in ev.fronts(base, win, all_idx)]
    base_curve = bt.tradeoff_curve(base_report, BUDGETS)
    # ---- stable advice: hysteresis chains over every month
    stab = {}
    sel_steps = [i for i, w in enumerate(wins) if w.label in SELECT_MONTHS]
    rep_steps = [i for i, w in enumerate(wins) if w.label in REPORT_MONTHS]
    for margin in MARGINS:
        chain = bt.hysteresis_chain(by_month, PRODUCT_BUDGET, margin,
                                    lambda m, p, e: ev.price(chosen, wins[m], p, e))
        routes = [[r[0] for r in rows] for rows in chain]
        out = {}
        for role, steps in (("select", sel_steps), ("report", rep_steps)):
            months = [routes[i] for i in range(max(steps[0] - 1, 0), steps[-1] + 1)]
            share = {f"jaccard_below_{th}": bt.changed_share(months, g.length, threshold=th)["changed_pct"]
                     for th in (0.5, JACCARD, 1.0)}
            fronts = [f for i in steps for f in by_month[i]]
            recs = [r for i in steps for r in chain[i]]
            st = bt.reduction_stats([f.test[0, 0] for f in fronts], [r[3][0] for r in recs],
                                    [f.train[0] for f in fronts], [r[2] for r in recs],
                                    [f.length[0] for f in fronts], [r[1] for r in recs])
            out[role] = {"changed_pct": share, "held_out_reduction_pct": st["held_out_reduction_pct"],
                         "detour_pct": st["detour_pct"], "share_worse_pct": st["share_worse_pct"]}
        stab["none" if margin is None else f"{margin:g}"] = out
    plain = stab["none"]["select"]["held_out_reduction_pct"]["mean"]
    ok = [m for m in MARGINS if m is not None
          and stab[f"{m:g}"]["select"]["held_out_reduction_pct"]["mean"] >= plain - 1.0]
    margin = max(ok) if ok else None
    # ---- SafeRoute's metric, report months
    rep_wins = [w for w in wins if w.label in REPORT_MONTHS]
    rep_fronts = [fr for w, fr in zip(wins, by_month) if w.label in REPORT_MONTHS]
    saferoute = _saferoute(ev, rep_fronts, rep_wins, PRODUCT_BUDGET)
    # ---- lit streets: how much of the graph and of the routes the OSM tag reaches
    from civicmash.analysis.risk import lit_classes

    lit = lit_classes(g.lit) if g.lit is not None else np.zeros(g.n_edges, np.int8)
    touch = np.mean([bool((lit[f.edges[bt.choose(f.length, f.train, PRODUCT_BUDGET)]] != 0).any()
                          or (lit[f.edges[0]] != 0).any()) for f in report]) * 100
    lit_row = next((r for r in log if r["feature"] == "lit streets"), None)
    walk_m = np.array([f.length[0] for f in report[:len(ev.pairs)]])
    result = {
        "city": CITY,
        "graph": {"nodes": g.n_nodes, "edges": g.n_edges, "what": "the merged walk graph of every street dataset "
                  "(analysis.routing.load_graph), as civicmash route uses"},
        "pairs": len(ev.pairs),
        "sampling": {
            "origins": f"bars of venues_bars, one per name and place ({ev.bars_total}), {ev.bars_on_graph} within "
                       f"150 m of the walk graph ({len(ev.bar_nodes)} distinct street nodes); uniform",
            "destinations": f"street nodes drawn by population: an area ({ev.population['area_kind']}, "
                            f"{ev.population['year']} census, {ev.population['areas']} areas, "
                            f"{ev.population['population']:,} people) with probability proportional to its "
                            "population, then one of its walk-graph nodes uniformly; no finer population data and "
                            "no transit stops in the bundle",
            "distance": "500-3,000 m straight line, same street network",
            "walk_hours": list(NIGHT_HOURS), "seed": SEED,
            "shortest_walk_m": bt._dist(walk_m),
            "destination_areas": len(set(ev.pair_area)),
        },
        "months": [[str(a.date()), str(b.date())] for a, b in ev.months],
        "select_months": list(SELECT_MONTHS), "report_months": list(REPORT_MONTHS),
        "select_pairs": len(sel), "held_out_score": {
            "T_harm": "test-month incidents x severity (violent 3, property 1, other 0.5, non-criminal 0, the "
                      "profile's before this evaluation) x hour band at the walk's hour (sigma 2 h), 100 m kernel",
            "T_violent_night": "test-month violent incidents of 20:00-04:00, 100 m kernel",
            "T_all": "every criminal test-month incident at any hour, 100 m kernel"},
        "selection": {"rule": "greedy, one feature at a time, on the select months with select_pairs pairs; an "
                              "alternative is kept when it raises the mean per-pair held-out (T_harm) reduction (clipped to -100..100 %) at "
                              f"the +{PRODUCT_BUDGET:.0%} budget by more than 2 paired standard errors",
                      "steps": log, "seconds": round(t_sel, 1)},
        "before": _weighting_dict(base, ev.categories),
        "chosen": _weighting_dict(chosen, ev.categories),
        "product_budget_pct": PRODUCT_BUDGET * 100,
        "report": {"months": list(REPORT_MONTHS), "budget_pct": PRODUCT_BUDGET * 100,
                   **_stats_over(report, PRODUCT_BUDGET)},
        "select_months_result": _stats_over(select, PRODUCT_BUDGET)["T_harm"],
        "per_month": per_month,
        "curve": curve,
        "curve_before": base_curve,
        "goal": _goal(curve),
        "goal_before": _goal(base_curve),
        "saferoute_metric": saferoute,
        "stability": {"definition": f"a pair's recommendation changes between consecutive months when the "
                                    f"length-weighted Jaccard index of the two routes' edges is below {JACCARD}; "
                                    "margin m: last month's route is kept unless the new one is more than m less "
                                    "exposed under the new month's model (None: no hysteresis)",
                      "by_margin": stab, "chosen_margin": margin,
                      "margin_rule": "the largest margin whose mean held-out reduction on the select months is "
                                     "within 1 point of no hysteresis"},
        "dark_streets": {
            "service_requests": "none in the Chicago bundle (no 311 streetlight-outage requests): the outage factor "
                                "cannot be measured",
            "osm_lit_edges": {"lit": int((lit > 0).sum()), "unlit": int((lit < 0).sum()), "edges": g.n_edges},
            "report_pairs_touching_tagged_edges_pct": round(float(touch), 1),
            "selection": lit_row},
        "seconds": {**ev.setup_s, "selection_s": round(t_sel, 1), "final_fronts_s": round(t_fin, 1),
                    "total_s": round(time.perf_counter() - t_start, 1)},
        "fronts_per_second": round(len(ev.pairs) * len(wins) / max(t_fin, 1e-9), 1),
    }
    return result


def run() -> dict:
    db = os.environ.get("CIVICMASH_BACKTEST_DB")
    if db:
        result = rolling(db)
    else:
        chicago = require_chicago()
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from civicmash.flows.pipeline import civic_pipeline

        with tempfile.TemporaryDirectory(prefix="civicmash-backtest-") as out:
            summary = civic_pipeline("chicago", out=out, replay=str(chicago), maps=[], datasets=ROLLING_DATASETS)
            result = rolling(summary["warehouse"])
    r, goal, stab = result["report"]["T_harm"], result["goal"], result["stability"]
    key = f"jaccard_below_{JACCARD}"
    without = stab["by_margin"]["none"]["report"]["changed_pct"][key]
    margin = stab["chosen_margin"]
    with_ = stab["by_margin"][f"{margin:g}"]["report"]["changed_pct"][key] if margin is not None else without
    result["summary"] = (
        f"{result['pairs']} bar-to-home walks at night over the merged Chicago walk graph, rolling monthly "
        f"(report months Sep-Nov 2018, weights chosen on Jun-Aug): at the +25% budget {bt.summary_line(r)}; best "
        f"within a 10% median detour: median {goal['median_reduction_pct']}% (goal 30%: "
        f"{'met' if goal['met'] else 'not met'}); advice changing month to month {without}% of pairs without, "
        f"{with_}% with a {margin}-margin hysteresis")
    return result


ROLLING_DATASETS = ["crimes", "business_licences", "lastcall_bars", "community_areas", "population_2010",
                    "streets_west_loop", "streets_logan_square", "streets_loop_overpass", "street_centrelines"]
