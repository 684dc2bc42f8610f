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

**Upper bound** (``oracle`` in the result): on the report months, the same pairs, budgets to +100 %: the plain
(trained) choice; the *model oracle* (the chosen model built on the test month itself: perfect foresight); the
*score oracle* (per held-out score, the least held-out-exposed route among the Pareto routes of that score, the
trained routes and the model oracle's); and a Lagrangian *bound* on the least held-out exposure of any walk within
the budget. **Memoryless margin** (``stability.memoryless``): the product's ``[maps.safe_route] margin`` (a detour
must beat the shortest route by it) at margins 0-0.3, changes month to month and held-out cost.
``python -m bench.bench_safe_route_backtest --only oracle,margin [--pairs N]`` runs these two alone on the last
full run's chosen weighting (``CIVICMASH_BACKTEST_DB`` required) and read-modify-writes the result json.

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
from civicmash.analysis.fast_route import SWEEP
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
# the oracle's curve goes beyond the product's budgets, until the median detour passes 10 %
WIDE_BUDGETS = BUDGETS + (0.40, 0.50, 0.75, 1.00)
# the product's memoryless margin ([maps.safe_route] margin, analysis.fast_route.recommend)
MEMORYLESS_MARGINS = (0.0, 0.1, 0.2, 0.3)
TARGETS = ("T_harm", "T_violent_night", "T_all")
GOAL_PCT = 30.0
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
        return self.fronts_on(lambda h: self.choice(weighting, window, h), window, pairs_idx)

    def fronts_on(self, risk_of, window: bt.Window, pairs_idx, *, bound_budgets=None,
                  front_scale: float = 1.0) -> list[bt.Front]:
        """Pareto fronts with the per-edge risk ``risk_of(hour)``, scored on ``window.test``. With
        ``bound_budgets`` (fractions), each front also gets ``bound``: per budget, the Lagrangian lower bound
        (:func:`analysis.backtest.exposure_lower_bound`) on the ``risk_of`` exposure of any walk within the budget
        of the pair's shortest length (the sweep's own weights, so the searches' minimisers are on the front).
        ``front_scale``: the sweep sees the risk times this (the routes are the same at any scale, but the front's
        filter compares exposures rounded to 3 decimals: a small held-out score would drop minimisers)."""
        g = self.graph
        out = []
        for p in pairs_idx:
            a, b = self.pairs[p]
            h = int(self.hours[p])
            risk = risk_of(h)
            score = self.score(window.test, h)
            front = route_planner.pareto_routes(g, risk * front_scale if front_scale != 1.0 else risk, a, b)
            edges = [g.path_edges(r["nodes"]) for r in front]
            f = bt.Front(length=np.array([float(g.length[e].sum()) for e in edges]),
                         train=np.array([float(risk[e].sum()) for e in edges]),
                         test=np.array([score[e].sum(axis=0) for e in edges]), edges=edges)
            if bound_budgets is not None:
                # exactly what pareto_routes searched: length + (c / p95) * length * density per edge
                density = risk / np.maximum(g.length, 1.0)
                pos = density[density > 0]
                p95 = float(np.percentile(pos, 95)) if pos.size else 1.0
                mus = [c / p95 for c in SWEEP if c > 0] if pos.size else []
                cost_e = np.array([float((g.length[e] * density[e]).sum()) for e in edges])
                f.bound = [bt.exposure_lower_bound(f.length, cost_e, mus, (1 + bb) * f.length[0])
                           for bb in bound_budgets]
            out.append(f)
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
    # ---- the memoryless margin the product has, and the oracle (the same code as `--only oracle,margin`)
    memoryless = _memoryless(ev, wins, by_month)
    oracle = _oracle(ev, chosen, wins, by_month, all_idx)
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
        "goal": _goal_statement(_goal(curve), oracle),
        "oracle": {**oracle, "pairs_used": len(ev.pairs), "pairs_subset_seed": None},
        "goal_before": _goal(base_curve),
        "saferoute_metric": saferoute,
        "stability": {"definition": f"a pair's recommendation changes between consecutive months when the "
                                    f"length-weighted Jaccard index of the two routes' edges is below {JACCARD}; "
                                    "margin m: last month's route is kept unless the new one is more than m less "
                                    "exposed under the new month's model (None: no hysteresis)",
                      "by_margin": stab, "chosen_margin": margin, "memoryless": {**memoryless,
                                                                                 "pairs_used": len(ev.pairs)},
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


# ---- the oracle (an upper bound) and the memoryless margin: `--only oracle` runs these alone ------------------

def _weighting_from(d: dict, categories: dict, name: str = "chosen") -> bt.Weighting:
    """The :class:`Weighting` a result's ``chosen`` (or ``before``) dict describes (inverse of ``_weighting_dict``)."""
    cat = {k: v for k, v in d["type_weights_by_category"].items() if not isinstance(v, list)}
    return bt.Weighting(name, type_weights=bt.weights_tuple(_type_weights(categories, cat)), sigma_h=d["sigma_h"],
                        months=d["window_months"], half_life_days=d["half_life_days"], bandwidth_m=d["bandwidth_m"],
                        bars=None if not d.get("bars") else tuple(d["bars"][k] for k in ("factor", "radius_m", "from", "to")),
                        lit=None if not d.get("lit") else tuple(d["lit"][k] for k in ("lit", "unlit", "from", "to")))


def _detour_passes(curve: list[dict]) -> float | None:
    """The first budget (%) of ``curve`` whose median detour is over 10 % (None: none)."""
    return next((r["budget_pct"] for r in curve if r["detour_pct"].get("median", 0) > 10), None)


def _short_curve(curve: list[dict]) -> list[dict]:
    keep = ("budget_pct", "rerouted_pct", "detour_pct", "held_out_reduction_pct", "held_out_total_reduction_pct",
            "share_worse_pct", "share_better_pct")
    return [{k: r[k] for k in keep} for r in curve]


def _oracle(ev: Evaluation, chosen: bt.Weighting, wins, trained_by_month, idx) -> dict:
    """The oracle on the report months: (a) *model oracle*: the product's chosen model built on the test month
    itself (perfect foresight, same model); (b) *score oracle*: per held-out score, the least held-out-exposed route
    among the Pareto routes of that score itself, the trained routes and the model oracle's (so never worse than
    either on its own month); (c) the Lagrangian bound on the least held-out exposure of *any* walk within each
    budget; (d) the plain (trained) choice at the same, wider budgets."""
    rep = [(i, w) for i, w in enumerate(wins) if w.label in REPORT_MONTHS]
    trained = [f for i, _ in rep for f in trained_by_month[i]]
    t0 = time.perf_counter()
    model = []
    for _, w in rep:
        model += ev.fronts(chosen, bt.oracle_window(w), idx)
        _log(f"  model oracle {w.label}: {time.perf_counter() - t0:.0f} s")
    out = {"budgets_pct": [round(b * 100, 1) for b in WIDE_BUDGETS], "pair_months": len(trained),
           "plain": {}, "model_oracle": {}, "score_oracle": {}, "bound": {}}
    for k, t in enumerate(TARGETS):
        out["plain"][t] = _short_curve(bt.tradeoff_curve(trained, WIDE_BUDGETS, target=k))
        out["model_oracle"][t] = _short_curve(bt.tradeoff_curve(model, WIDE_BUDGETS, target=k))
    for k, t in enumerate(TARGETS):
        score = []
        for _, w in rep:
            score += ev.fronts_on(lambda h, w=w, k=k: np.ascontiguousarray(ev.score(w.test, h)[:, k]), w, idx,
                                  bound_budgets=WIDE_BUDGETS, front_scale=1e6)
            _log(f"  score oracle {t} {w.label}: {time.perf_counter() - t0:.0f} s")
        merged = [bt.oracle_front([tr, sc, mo], target=k) for tr, sc, mo in zip(trained, score, model)]
        out["score_oracle"][t] = _short_curve(bt.tradeoff_curve(merged, WIDE_BUDGETS, target=k))
        # the bound: per pair-month, at most (shortest - lower bound) / shortest of the held-out exposure
        s = np.array([f.test[0, k] for f in trained])
        pos = s > 0
        rows = []
        for j, b in enumerate(WIDE_BUDGETS):
            lb = np.array([sc.bound[j] for sc in score])
            ub = np.clip((s[pos] - np.minimum(lb[pos], s[pos])) / s[pos] * 100, 0, 100)
            # sanity: no route the oracle found within the budget is less exposed than the bound allows
            got = np.array([f.train[bt.choose(f.length, f.train, b)] for f in merged])
            rows.append({"budget_pct": round(b * 100, 1), "max_reduction_pct": bt._dist(ub),
                         "share_pairs_30pct_possible": round(float((ub >= GOAL_PCT - 1e-9).mean() * 100), 1),
                         "oracle_below_bound": int((got < lb * (1 - 1e-6) - 1e-9).sum())})
        out["bound"][t] = rows
    for key in ("plain", "model_oracle", "score_oracle"):
        out[f"goal_{key}"] = {t: _goal(out[key][t]) for t in TARGETS}
        out[f"median_detour_over_10pct_from_budget_pct_{key}"] = {t: _detour_passes(out[key][t]) for t in TARGETS}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["what"] = (
        "report months, the same pairs. plain: the trained choice (the product's chosen model on the 3 months "
        "before) at wider budgets. model_oracle: the same model built on the test month itself (perfect foresight). "
        "score_oracle: per held-out score, the least held-out-exposed route within the budget among the Pareto routes "
        "of that score itself (15-weight sweep), the trained routes and the model oracle's: no choice among these "
        "routes does better on the month. bound: per pair-month, the largest reduction ANY walk within the budget "
        "can have (Lagrangian lower bound on the least held-out exposure, from the score sweep's exact searches); "
        "share_pairs_30pct_possible: pairs for which a 30 % reduction is possible at all within the budget")
    return out


def _memoryless(ev: Evaluation, wins, by_month) -> dict:
    """The product's memoryless margin (a detour must beat the shortest route by m) at the product budget:
    month-to-month changes (as ``stability``), held-out reduction and detour, per margin; chosen on the select
    months as the largest margin whose clipped mean held-out reduction stays within 1 point of margin 0."""
    g = ev.graph
    sel_steps = [i for i, w in enumerate(wins) if w.label in SELECT_MONTHS]
    rep_steps = [i for i, w in enumerate(wins) if w.label in REPORT_MONTHS]
    out, samples = {}, {}
    for m in MEMORYLESS_MARGINS:
        chain = bt.margin_chain(by_month, PRODUCT_BUDGET, m)
        routes = [[f.edges[j] for f, j in zip(fr, ch)] for fr, ch in zip(by_month, chain)]
        row = {}
        for role, steps in (("select", sel_steps), ("report", rep_steps)):
            if not steps:
                continue
            months = [routes[i] for i in range(max(steps[0] - 1, 0), steps[-1] + 1)]
            share = {f"jaccard_below_{th}": bt.changed_share(months, g.length, threshold=th)["changed_pct"]
                     for th in (0.5, JACCARD, 1.0)}
            fr = [f for i in steps for f in by_month[i]]
            ix = np.concatenate([chain[i] for i in steps])
            st = bt.reduction_stats([f.test[0, 0] for f in fr], [f.test[j, 0] for f, j in zip(fr, ix)],
                                    [f.train[0] for f in fr], [f.train[j] for f, j in zip(fr, ix)],
                                    [f.length[0] for f in fr], [f.length[j] for f, j in zip(fr, ix)])
            s0 = np.array([f.test[0, 0] for f in fr])
            sj = np.array([f.test[j, 0] for f, j in zip(fr, ix)])
            red = np.full(len(fr), np.nan)
            red[s0 > 0] = (s0[s0 > 0] - sj[s0 > 0]) / s0[s0 > 0] * 100
            samples[(m, role)] = np.clip(red, -100, 100)
            # which changes: between the shortest route and a detour, or from one detour to another
            span = range(max(steps[0] - 1, 0), steps[-1] + 1)
            kinds, n_steps = {"shortest_detour": 0, "detour_detour": 0, "shortest_shortest": 0}, 0
            for i0, i1 in zip(span, list(span)[1:]):
                for p, (f0, f1) in enumerate(zip(by_month[i0], by_month[i1])):
                    n_steps += 1
                    j0, j1 = chain[i0][p], chain[i1][p]
                    if bt.edge_jaccard(f0.edges[j0], f1.edges[j1], g.length) < JACCARD:
                        kind = ("shortest_shortest" if j0 == 0 and j1 == 0 else
                                "shortest_detour" if j0 == 0 or j1 == 0 else "detour_detour")
                        kinds[kind] += 1
            row[role] = {"changed_pct": share,
                         "changes_by_kind_pct": {k: round(v / max(n_steps, 1) * 100, 1) for k, v in kinds.items()},
                         "rerouted_pct": st["rerouted_pct"],
                         "held_out_reduction_pct": st["held_out_reduction_pct"],
                         "held_out_total_reduction_pct": st["held_out_total_reduction_pct"],
                         "detour_pct": st["detour_pct"], "share_worse_pct": st["share_worse_pct"],
                         "share_better_pct": st["share_better_pct"]}
        for role, figures in row.items():
            base, cur = samples[(0.0, role)], samples[(m, role)]
            ok = ~np.isnan(base) & ~np.isnan(cur)
            d = cur[ok] - base[ok]
            figures["vs_margin_0_clipped_mean_pct_points"] = round(float(d.mean()), 2)
            figures["paired_se"] = round(float(d.std(ddof=1) / math.sqrt(max(ok.sum(), 2))), 2)
        out[f"{m:g}"] = row
    zero = out["0"]["select"]
    ok = [m for m in MEMORYLESS_MARGINS
          if out[f"{m:g}"]["select"]["held_out_reduction_pct"]["mean_clipped"]
          >= zero["held_out_reduction_pct"]["mean_clipped"] - 1.0
          and out[f"{m:g}"]["select"]["held_out_total_reduction_pct"] >= zero["held_out_total_reduction_pct"] - 1.0]
    best = max(ok)
    key = f"jaccard_below_{JACCARD}"
    cut = 1 - out[f"{best:g}"]["select"]["changed_pct"][key] / max(zero["changed_pct"][key], 1e-9)
    adopt = best > 0 and cut >= 1 / 3
    return {"definition": "the product's memoryless rule ([maps.safe_route] margin, analysis.fast_route.recommend): "
                          "the least exposed route within the +25% budget is recommended only when it is at least m "
                          "less exposed (training model) than the shortest, else the shortest; changes between "
                          f"consecutive months as in stability (Jaccard below {JACCARD}); held-out score T_harm",
            "by_margin": out, "chosen_margin": best, "changes_cut_on_select_months_pct": round(cut * 100, 1),
            "adopted_as_product_default": adopt,
            "margin_rule": "on the select months: the largest margin whose clipped mean and total held-out reduction "
                           "both stay within 1 point of margin 0; adopted as the product default only if it also "
                           "cuts the month-to-month changes by at least a third (reported on the report months)"}


def _goal_statement(goal: dict, oracle: dict) -> dict:
    """``goal`` with the distance to it stated against the oracle and the bound."""
    o = oracle["goal_score_oracle"]["T_harm"]
    mo = oracle["goal_model_oracle"]["T_harm"]
    b10 = next(r for r in oracle["bound"]["T_harm"] if r["budget_pct"] == 10.0)
    b100 = oracle["bound"]["T_harm"][-1]
    reachable = bool(o["met"])
    text = (f"{'met' if goal['met'] else 'not met'}: at the best budget within a 10% median detour the trained choice reduces the median pair's "
            f"held-out T_harm by {goal['median_reduction_pct']}%. With perfect foresight (routes chosen with the test "
            f"month's own score) the median is {o['median_reduction_pct']}% (at +{o['best_budget_pct']:g}%, median "
            f"detour {o['median_detour_pct']}%); the product's model built on the test month itself gives "
            f"{mo['median_reduction_pct']}%. Bound on ANY walk: within +10% a 30% reduction is possible at all for "
            f"{b10['share_pairs_30pct_possible']}% of pair-months (median possible {b10['max_reduction_pct']['median']}%), "
            f"within +{b100['budget_pct']:g}% for {b100['share_pairs_30pct_possible']}%. ")
    text += ("The trained choice meets the goal." if goal["met"] else
             "The goal is reachable on this graph and metric only with perfect foresight of the month's crimes: the "
             "gap is the forecast (last quarter's incidents vs the month's own) and the model's form, not the router."
             if reachable else
             "Even perfect foresight does not reach 30% at <= 10% median detour: the goal is unreachable by any "
             "predictor choosing among these routes on this graph and metric.")
    return {**goal, "oracle_median_reduction_pct": o["median_reduction_pct"],
            "oracle_best_budget_pct": o["best_budget_pct"], "oracle_median_detour_pct": o["median_detour_pct"],
            "model_oracle_median_reduction_pct": mo["median_reduction_pct"],
            "reachable_with_perfect_foresight": reachable,
            "bound_share_pairs_30pct_possible_within_10pct": b10["share_pairs_30pct_possible"],
            "statement": text}


def extras(warehouse: str | Path, *, parts=("oracle", "margin"), n_pairs: int = PAIRS, subset: int | None = None,
           previous: dict | None = None) -> dict:
    """The oracle and the memoryless margin alone (``--only``), with the weighting ``previous`` (the last full
    run's result) chose; ``subset``: a random subset of the pairs (seed 2018 + 3)."""
    t_start = time.perf_counter()
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        ev = Evaluation(con, n_pairs=n_pairs)
    chosen = _weighting_from(previous["chosen"], ev.categories) if previous else None
    if chosen is None:
        raise RuntimeError("--only needs the last full run's result (its chosen weighting)")
    idx = range(len(ev.pairs))
    if subset and subset < len(ev.pairs):
        idx = np.sort(np.random.default_rng(SEED + 3).choice(len(ev.pairs), subset, replace=False))
    every = [w.label for w in bt.rolling_windows(ev.months, 1)]
    wins = ev.windows(chosen, every)
    need = set(REPORT_MONTHS) | (set(SELECT_MONTHS) | {"2018-08"} if "margin" in parts else set())
    by_month = []
    t = time.perf_counter()
    for win in wins:
        by_month.append(ev.fronts(chosen, win, idx) if win.label in need else [])
        _log(f"  trained {win.label}: {len(by_month[-1])} fronts, {time.perf_counter() - t:.0f} s")
    out = {"pairs_used": len(idx), "pairs_subset_seed": SEED + 3 if len(idx) < len(ev.pairs) else None,
           "chosen_weighting": _weighting_dict(chosen, ev.categories)}
    if "margin" in parts:
        out["memoryless_margin"] = _memoryless(ev, wins, by_month)
    if "oracle" in parts:
        out["oracle"] = _oracle(ev, chosen, wins, by_month, idx)
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    out["fronts"] = int(sum(len(f) for f in by_month) + (4 * 3 * len(idx) if "oracle" in parts else 0))
    return out


def only(parts, *, subset: int | None = None) -> Path:
    """Run ``parts`` alone and read-modify-write bench/results/safe_route_backtest.json (the other keys kept)."""
    import json

    from bench._common import RESULTS_DIR

    path = RESULTS_DIR / "safe_route_backtest.json"
    result = json.loads(path.read_text())
    db = os.environ.get("CIVICMASH_BACKTEST_DB")
    if not db:
        raise SystemExit("set CIVICMASH_BACKTEST_DB to a warehouse holding the Chicago run")
    load0 = os.getloadavg()
    got = extras(db, parts=parts, previous=result, subset=subset)
    from datetime import UTC

    got["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    got["load_average"] = {"before": [round(x, 1) for x in load0], "after": [round(x, 1) for x in os.getloadavg()]}
    result = json.loads(path.read_text())  # re-read: keep whatever else changed meanwhile
    if "memoryless_margin" in got:
        result.setdefault("stability", {})["memoryless"] = {**got.pop("memoryless_margin"),
                                                            "pairs_used": got["pairs_used"]}
    if "oracle" in got:
        result["oracle"] = {**got.pop("oracle"), "pairs_used": got["pairs_used"],
                            "pairs_subset_seed": got["pairs_subset_seed"]}
        result["goal"] = _goal_statement(result["goal"], result["oracle"])
    runs = result.get("extras_run") if isinstance(result.get("extras_run"), dict) else {}
    runs = {k: v for k, v in runs.items() if isinstance(v, dict) and "seconds" in v}  # one record per --only
    result["extras_run"] = {**runs, ",".join(parts): got}
    result["summary"] = _summary_extras(result)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def _summary_extras(result: dict) -> str:
    """The full run's summary line with the oracle and the memoryless margin appended (replacing earlier ones)."""
    text = result.get("summary", "").split("; with perfect foresight")[0].split("; memoryless margin")[0]
    if "oracle" in result:
        o = result["oracle"]["goal_score_oracle"]["T_harm"]
        text += (f"; with perfect foresight (routes chosen on the held-out month's own score) median "
                 f"{o['median_reduction_pct']}% at +{o['best_budget_pct']:g}% (median detour "
                 f"{o['median_detour_pct']}%): the goal is "
                 f"{'met' if result['goal']['met'] else 'reachable only with perfect foresight' if o['met'] else 'unreachable even with perfect foresight'}")
    mem = result.get("stability", {}).get("memoryless")
    if mem:
        key = f"jaccard_below_{JACCARD}"
        ch = [f"{m}: {v['report']['changed_pct'][key]}%" for m, v in mem["by_margin"].items()]
        text += (f"; memoryless margin (changes month to month) {', '.join(ch)}"
                 f" ({'adopted ' + str(mem['chosen_margin']) if mem['adopted_as_product_default'] else 'default stays 0'})")
    return text


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
    result["summary"] = _summary_extras(result)
    return result


ROLLING_DATASETS = ["crimes", "business_licences", "lastcall_bars", "community_areas", "population_2010",
                    "streets_west_loop", "streets_logan_square", "streets_loop_overpass", "street_centrelines"]


if __name__ == "__main__":  # python -m bench.bench_safe_route_backtest --only oracle[,margin] [--pairs N]
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.bench_safe_route_backtest",
                                 description="the oracle bound and the memoryless margin alone, on the report months; "
                                             "read-modify-writes bench/results/safe_route_backtest.json")
    ap.add_argument("--only", required=True, help="oracle, margin or oracle,margin")
    ap.add_argument("--pairs", type=int, default=None, help="a random subset of the 1,000 pairs (seed 2021)")
    a = ap.parse_args()
    parts = tuple(p.strip() for p in a.only.split(",") if p.strip())
    if not parts or set(parts) - {"oracle", "margin"}:
        ap.error(f"--only takes oracle, margin or oracle,margin, not {a.only!r}")
    if a.pairs is not None and a.pairs < 1:
        ap.error("--pairs must be at least 1")
    print(only(parts, subset=a.pairs))
