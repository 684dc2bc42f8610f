"""The rolling safe-route evaluation's core (analysis/backtest.py, used by bench/bench_safe_route_backtest.py) on a
small street grid: a window never scores on its own training months, the trade-off curve is monotone in the detour
budget, and the month-to-month stability share and the hysteresis are computed right on constructed cases."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from civicmash.analysis import backtest as bt
from civicmash.analysis.risk import build_risk
from civicmash.analysis.route_planner import pareto_routes
from civicmash.analysis.routing import WalkGraph

N = 12  # 12 x 12 grid, 100 m blocks (jittered)


def _grid() -> WalkGraph:
    rng = np.random.default_rng(7)
    ids = np.arange(N * N)
    r, c = ids // N, ids % N
    lat = 41.80 + r * 100 / 110_540.0
    lon = -87.70 + c * 100 / 82_900.0
    u, v = [], []
    for i in ids:
        if i % N < N - 1:
            u.append(i), v.append(i + 1)
        if i // N < N - 1:
            u.append(i), v.append(i + N)
    length = 100 * rng.uniform(1.0, 1.1, len(u))
    return WalkGraph.from_arrays(city="grid", node_ids=ids, lat=lat, lon=lon, edge_ids=np.arange(len(u)), u=u, v=v,
                                 length=length)


def _incidents(graph: WalkGraph, n: int, months: list[tuple[datetime, datetime]], seed: int = 1) -> bt.Incidents:
    rng = np.random.default_rng(seed)
    # clustered on a few hot corners, spread over the months
    hot = rng.choice(graph.n_nodes, 6, replace=False)
    k = rng.choice(hot, n)
    lat = graph.lat[k] + rng.normal(0, 0.0002, n)
    lon = graph.lon[k] + rng.normal(0, 0.0002, n)
    lo, hi = bt._epoch(months[0][0]), bt._epoch(months[-1][1])
    t = np.sort(rng.uniform(lo, hi, n))
    types = rng.choice(np.array(["ROBBERY", "THEFT", "NARCOTICS"], dtype=object), n)
    return bt.Incidents(lat=lat, lon=lon, primary_type=types, hour=rng.uniform(0, 24, n), t=t)


def test_rolling_windows_never_score_on_training_months():
    months = bt.calendar_months(datetime(2018, 5, 1), datetime(2018, 11, 12, 23, 59))
    assert [m[0].month for m in months] == [5, 6, 7, 8, 9, 10, 11]
    assert months[-1][1] == datetime(2018, 11, 13)  # the partial last month ends after the data's last day
    for k in (1, 2, 3, None):
        wins = bt.rolling_windows(months, k)
        assert [w.test for w in wins] == months[1:]  # every month that has a month before it is scored once
        for w in wins:
            assert w.train[1] == w.test[0]  # training ends where the test month starts: never overlaps it
            assert w.train[0] < w.train[1]
            assert w.train_months == (min(k, months.index(w.test)) if k else months.index(w.test))
    # with real weights: incidents of the test month alone give the choice nothing, the score everything
    graph = _grid()
    inc = _incidents(graph, 400, months)
    win = bt.rolling_windows(months, 3)[3]  # test September, train June-August
    only_test = bt.Incidents(**{f: getattr(inc, f)[inc.between(*win.test)] for f in ("lat", "lon", "primary_type",
                                                                                      "hour", "t")})
    assert len(only_test) > 20
    model = build_risk(graph, lat=only_test.lat, lon=only_test.lon, primary_type=only_test.primary_type,
                       hour=only_test.hour)
    w = bt.Weighting("all", type_weights=(("*", 1.0),), sigma_h=None, months=3)
    train_w = bt.incident_weights(only_test, w, at=23, train=win.train)
    test_w = bt.incident_weights(only_test, w, at=23, train=win.test)
    assert not train_w.any()
    assert bt.edge_mass(model, train_w).sum() == 0
    assert bt.edge_mass(model, test_w).sum() > 0
    # recency decay halves an incident's weight per half-life before the window's end
    late = bt.Incidents(lat=inc.lat[:2], lon=inc.lon[:2], primary_type=np.array(["X", "X"], dtype=object),
                        hour=np.array([np.nan, np.nan]),
                        t=np.array([bt._epoch(win.train[1]) - 30 * bt.DAY_S, bt._epoch(win.train[1]) - 60 * bt.DAY_S]))
    decayed = bt.incident_weights(late, w.with_("d", half_life_days=30.0), at=None, train=win.train)
    assert decayed == pytest.approx([0.5, 0.25])


def _fronts(graph: WalkGraph, train_risk: np.ndarray, test_risk: np.ndarray, pairs) -> list[bt.Front]:
    out = []
    for a, b in pairs:
        front = pareto_routes(graph, train_risk, a, b)
        edges = [graph.path_edges(r["nodes"]) for r in front]
        out.append(bt.Front(length=np.array([graph.length[e].sum() for e in edges]),
                            train=np.array([train_risk[e].sum() for e in edges]),
                            test=np.array([[test_risk[e].sum()] for e in edges]), edges=edges))
    return out


def _last_window(*, incident_seed: int, pair_seed: int):
    """(graph, the last of the two-month rolling windows May-August, its train and test edge exposure, 40 node
    pairs) on the grid with 1,500 incidents."""
    months = bt.calendar_months(datetime(2018, 5, 1), datetime(2018, 8, 31))
    graph = _grid()
    inc = _incidents(graph, 1500, months, seed=incident_seed)
    model = build_risk(graph, lat=inc.lat, lon=inc.lon, primary_type=inc.primary_type, hour=inc.hour)
    win = bt.rolling_windows(months, 2)[-1]
    w = bt.Weighting("w", type_weights=(("*", 1.0), ("ROBBERY", 3.0)), sigma_h=None, months=2)
    train = bt.edge_mass(model, bt.incident_weights(inc, w, at=None, train=win.train))
    test = bt.edge_mass(model, bt.incident_weights(inc, w, at=None, train=win.test))
    rng = np.random.default_rng(pair_seed)
    pairs = [(int(a), int(b)) for a, b in rng.choice(graph.n_nodes, (40, 2)) if a != b]
    return graph, win, train, test, pairs


def test_the_tradeoff_curve_is_monotone_in_the_budget():
    graph, win, train, test, pairs = _last_window(incident_seed=1, pair_seed=3)
    fronts = _fronts(graph, train, test, pairs)
    assert any(len(f.length) > 1 for f in fronts)  # some pairs have a safer detour to choose
    budgets = (0.0, 0.05, 0.1, 0.2, 0.3, 1.0)
    picks = np.array([[bt.choose(f.length, f.train, b) for f in fronts] for b in budgets])
    for i, f in enumerate(fronts):
        lens = f.length[picks[:, i]]
        trains = f.train[picks[:, i]]
        assert np.all(np.diff(lens) >= -1e-9)       # a larger budget never walks less ...
        assert np.all(np.diff(trains) <= 1e-9)      # ... and never chooses a more exposed route
        assert np.all(lens <= (1 + np.array(budgets)) * f.length[0] + 1e-6)  # within each budget
    assert (picks[0] == 0).all()  # budget 0: the shortest route
    curve = bt.tradeoff_curve(fronts, budgets)
    assert [r["budget_pct"] for r in curve] == [0.0, 5.0, 10.0, 20.0, 30.0, 100.0]
    for key in ("mean", "median", "q3"):
        vals = [r["detour_pct"][key] for r in curve]
        assert vals == sorted(vals)
        ins = [r["in_sample_reduction_pct"][key] for r in curve]
        assert ins == sorted(ins)
    assert curve[0]["detour_pct"]["mean"] == 0 and curve[0]["rerouted_pct"] == 0
    assert curve[-1]["in_sample_reduction_pct"]["mean"] > 0
    assert curve[-1]["rerouted_pct"] > 0


def test_the_stability_share_and_the_hysteresis_on_constructed_routes():
    length = np.array([100.0, 100, 100, 100, 100, 100, 100, 100])
    # three pairs over two steps (three months)
    m0 = [np.array([0, 1, 2]), np.array([3, 4]), np.array([0, 1, 2, 3])]
    m1 = [np.array([2, 1, 0]), np.array([5, 6]), np.array([0, 1, 2, 7])]   # same / disjoint / Jaccard 3/5 = 0.6
    m2 = [np.array([0, 1, 2]), np.array([5, 6]), np.array([0, 1, 2, 7])]   # nothing changes
    assert bt.edge_jaccard(m0[2], m1[2], length) == pytest.approx(0.6)
    assert bt.edge_jaccard(m0[0], m1[0], length) == 1.0
    got = bt.changed_share([m0, m1, m2], length, threshold=0.8)
    assert got["steps"] == 6
    assert got["per_step_pct"] == [pytest.approx(66.7), 0.0]   # pairs 1 and 2 change in the first step
    assert got["changed_pct"] == pytest.approx(33.3)
    assert bt.changed_share([m0, m1, m2], length, threshold=0.5)["changed_pct"] == pytest.approx(16.7)
    # length weighting: a long shared street outweighs a short differing one
    assert bt.edge_jaccard(np.array([0, 1]), np.array([0, 2]), np.array([900.0, 50, 50])) == pytest.approx(0.9)

    # hysteresis: month 1's new choice is 10 % less exposed than month 0's route priced with month 1's model
    A, B = np.array([0, 1]), np.array([2, 3])
    f0 = bt.Front(length=np.array([200.0, 210.0]), train=np.array([10.0, 5.0]), test=np.array([[1.0], [1.0]]),
                  edges=[np.array([4, 5]), A])                      # month 0 recommends A
    f1 = bt.Front(length=np.array([200.0, 205.0]), train=np.array([10.0, 4.5]), test=np.array([[1.0], [2.0]]),
                  edges=[np.array([4, 5]), B])                      # month 1 alone would recommend B
    price = lambda m, p, e: (210.0, 5.0, np.array([0.5]))
    plain = bt.hysteresis_chain([[f0], [f1]], 0.25, None, price)
    assert [r[0].tolist() for r in (plain[0][0], plain[1][0])] == [A.tolist(), B.tolist()]
    kept = bt.hysteresis_chain([[f0], [f1]], 0.25, 0.2, price)       # a 20 % margin keeps A
    assert kept[1][0][0].tolist() == A.tolist() and kept[1][0][2] == 5.0 and kept[1][0][3][0] == 0.5
    switched = bt.hysteresis_chain([[f0], [f1]], 0.25, 0.05, price)  # a 5 % margin lets B through
    assert switched[1][0][0].tolist() == B.tolist()
    # last month's route no longer within the budget: the new choice, whatever the margin
    far = lambda m, p, e: (300.0, 5.0, np.array([0.5]))
    assert bt.hysteresis_chain([[f0], [f1]], 0.25, 0.5, far)[1][0][0].tolist() == B.tolist()
    routes = [[r[0] for r in rows] for rows in plain]
    assert bt.changed_share(routes, np.ones(6), threshold=0.8)["changed_pct"] == 100.0
    assert bt.changed_share([[r[0] for r in rows] for rows in kept], np.ones(6), threshold=0.8)["changed_pct"] == 0.0


def test_the_oracle_is_never_worse_than_the_trained_choice_on_its_own_month_and_the_bound_holds():
    # routes chosen with the test month's own score (plus the trained routes) against routes chosen with the months
    # before, both scored on the test month: per pair and budget the oracle is never more exposed, by construction
    graph, win, train, test, pairs = _last_window(incident_seed=5, pair_seed=11)
    assert bt.oracle_window(win).train == win.test == bt.oracle_window(win).test  # perfect foresight
    trained = _fronts(graph, train, test, pairs)
    scored = _fronts(graph, test, test, pairs)  # the Pareto routes of the held-out score itself
    oracle = [bt.oracle_front([t, s]) for t, s in zip(trained, scored)]
    budgets = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)
    for t, o in zip(trained, oracle):
        assert o.length[0] == t.length[0] and o.test[0, 0] == t.test[0, 0]  # the same shortest route: one baseline
        assert np.array_equal(o.train, o.test[:, 0])  # the oracle chooses with the held-out exposure itself
        for b in budgets:
            i, j = bt.choose(t.length, t.train, b), bt.choose(o.length, o.train, b)
            assert o.length[j] <= (1 + b) * o.length[0] + 1e-6
            assert o.test[j, 0] <= t.test[i, 0] + 1e-9  # never worse than the trained choice ...
            assert o.test[j, 0] <= o.test[0, 0] + 1e-9  # ... nor than the shortest route
    plain, best = bt.tradeoff_curve(trained, budgets), bt.tradeoff_curve(oracle, budgets)
    assert all(b["share_worse_pct"] == 0 for b in best)
    assert all(b["held_out_total_reduction_pct"] >= p["held_out_total_reduction_pct"] for p, b in zip(plain, best))
    assert best[-1]["held_out_total_reduction_pct"] > plain[-1]["held_out_total_reduction_pct"]

    # the Lagrangian bound never exceeds the least exposure of any walk within the budget: brute force on a 4 x 4
    # corner of the grid (every simple path), with the sweep's own weights
    from civicmash.analysis.fast_route import SWEEP

    keep = np.flatnonzero((graph.eu % N < 4) & (graph.eu // N < 4) & (graph.ev % N < 4) & (graph.ev // N < 4))
    small = WalkGraph.from_arrays(city="g4", node_ids=np.arange(N * N), lat=graph.lat, lon=graph.lon,
                                  edge_ids=np.arange(len(keep)), u=graph.eu[keep], v=graph.ev[keep],
                                  length=graph.length[keep])
    risk = np.random.default_rng(2).gamma(0.5, 4.0, small.n_edges)
    adj: dict[int, list[tuple[int, int]]] = {}
    for e in range(small.n_edges):
        a, b = int(small.eu[e]), int(small.ev[e])
        adj.setdefault(a, []).append((b, e))
        adj.setdefault(b, []).append((a, e))
    src, dst = int(small.eu[0]), 3 * N + 3
    paths, stack = [], [(src, [src], [])]
    while stack:
        node, seen, edges = stack.pop()
        if node == dst:
            paths.append(edges)
            continue
        for nxt, e in adj[node]:
            if nxt not in seen:
                stack.append((nxt, seen + [nxt], edges + [e]))
    lengths = np.array([small.length[p].sum() for p in paths])
    exposure = np.array([risk[p].sum() for p in paths])
    front = pareto_routes(small, risk, src, dst)
    edges = [small.path_edges(r["nodes"]) for r in front]
    density = risk / np.maximum(small.length, 1.0)
    p95 = float(np.percentile(density[density > 0], 95))
    fl = np.array([small.length[e].sum() for e in edges])
    fe = np.array([(small.length[e] * density[e]).sum() for e in edges])
    for b in (0.0, 0.1, 0.25, 0.5, 1.0):
        budget = (1 + b) * lengths.min()
        truth = exposure[lengths <= budget + 1e-6].min()
        bound = bt.exposure_lower_bound(fl, fe, [c / p95 for c in SWEEP if c > 0], budget)
        assert 0 <= bound <= truth + 1e-9
    assert bt.exposure_lower_bound(fl, fe, [c / p95 for c in SWEEP if c > 0], 2 * lengths.min()) > 0


def test_the_memoryless_margin_is_the_products_rule_and_its_flips_are_counted():
    from civicmash.analysis.fast_route import recommend

    rng = np.random.default_rng(4)
    for _ in range(300):  # choose_margin picks what `civicmash route` recommends on the same front
        n = int(rng.integers(1, 6))
        length = np.sort(rng.uniform(1000, 1600, n))
        train = np.sort(rng.uniform(0, 10, n))[::-1].copy()
        budget, margin = float(rng.choice([0.1, 0.25, 0.5])), float(rng.choice([0.0, 0.1, 0.2, 0.3]))
        front = [{"nodes": [i], "length_m": float(a), "exposure": float(e)} for i, (a, e) in enumerate(zip(length, train))]
        _, safer, _, _ = recommend(front, budget, margin)
        assert bt.choose_margin(length, train, budget, margin) == safer["nodes"][0]
    S, D1, D2 = np.array([0, 1]), np.array([2, 3]), np.array([4, 5])
    lengths = np.ones(6)

    def front(gain1, gain2):  # the shortest S (exposure 10) and two detours D1, D2 within the budget
        return bt.Front(length=np.array([100.0, 105.0, 110.0]), train=np.array([10.0, 10 * (1 - gain1), 10 * (1 - gain2)]),
                        test=np.zeros((3, 1)), edges=[S, D1, D2])

    # small gains that move between detours: margin 0 flips every month, a 10 % margin keeps the shortest
    small = [[front(0.05, 0.0)], [front(0.0, 0.08)], [front(0.06, 0.0)]]
    routes = lambda chain, fr: [[f.edges[j] for f, j in zip(m, c)] for m, c in zip(fr, chain)]
    assert [c.tolist() for c in bt.margin_chain(small, 0.25, 0.0)] == [[1], [2], [1]]
    assert bt.changed_share(routes(bt.margin_chain(small, 0.25, 0.0), small), lengths, threshold=0.8)["changed_pct"] == 100.0
    assert [c.tolist() for c in bt.margin_chain(small, 0.25, 0.1)] == [[0], [0], [0]]
    assert bt.changed_share(routes(bt.margin_chain(small, 0.25, 0.1), small), lengths, threshold=0.8)["changed_pct"] == 0.0
    # memoryless, the margin can also add flips: one detour whose gain straddles the margin
    straddle = [[front(0.15, 0.0)], [front(0.05, 0.0)], [front(0.15, 0.0)]]
    assert bt.changed_share(routes(bt.margin_chain(straddle, 0.25, 0.0), straddle), lengths,
                            threshold=0.8)["changed_pct"] == 0.0
    assert [c.tolist() for c in bt.margin_chain(straddle, 0.25, 0.1)] == [[1], [0], [1]]
    assert bt.changed_share(routes(bt.margin_chain(straddle, 0.25, 0.1), straddle), lengths,
                            threshold=0.8)["changed_pct"] == 100.0
    # a large gain passes any margin below it; the budget still rules
    assert bt.choose_margin(np.array([100.0, 105.0]), np.array([10.0, 5.0]), 0.25, 0.3) == 1
    assert bt.choose_margin(np.array([100.0, 130.0]), np.array([10.0, 1.0]), 0.25, 0.0) == 0
