"""The fast router gives the same costs as a full Dijkstra (and networkx) on grids and odd graphs."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from civicmash.analysis.routing import WalkGraph


def grid(n: int, seed: int = 0, spacing: float = 100.0) -> WalkGraph:
    rng = np.random.default_rng(seed)
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    jj, ii = np.divmod(np.arange(n * n), n)
    lat = 41.8 + jj * spacing / 110_540
    lon = -87.7 + ii * spacing / (111_320 * math.cos(math.radians(41.8)))
    length = spacing * rng.uniform(1.0, 1.3, len(u))
    return WalkGraph.from_arrays(city="g", node_ids=np.arange(n * n), lat=lat, lon=lon,
                                 edge_ids=np.arange(len(u)), u=u, v=v, length=length)


@pytest.mark.parametrize("weighted", [False, True])
def test_route_matches_full_dijkstra_and_networkx(weighted):
    g = grid(40)
    rng = np.random.default_rng(3)
    w = g.length * (1 + 5 * rng.random(g.n_edges) ** 4) if weighted else g.length
    G = nx.Graph()
    G.add_weighted_edges_from(zip(g.eu.tolist(), g.ev.tolist(), w.tolist()))
    for s, t in rng.integers(0, g.n_nodes, (60, 2)):
        nodes, cost = g.route(s, t, w)
        _, full = g.shortest_path(s, t, w)
        ref = nx.shortest_path_length(G, int(s), int(t), weight="weight")
        assert cost == pytest.approx(full, rel=1e-9) and cost == pytest.approx(ref, rel=1e-9)
        assert nodes[0] == s and nodes[-1] == t
        assert w[g.path_edges(nodes)].sum() == pytest.approx(cost, rel=1e-9)


def test_route_weights_below_straight_line_still_exact():
    g = grid(25)
    w = g.length * 0.01  # the straight-line first guess is far too big a lower bound: must still be exact
    for s, t in [(0, 624), (12, 600), (300, 301)]:
        assert g.route(s, t, w)[1] == pytest.approx(g.shortest_path(s, t, w)[1])
    w = g.length * 50  # and far too small: the radius grows
    assert g.route(0, 624, w)[1] == pytest.approx(g.shortest_path(0, 624, w)[1])


def test_route_trivial_and_unreachable():
    g = WalkGraph.from_arrays(city="t", node_ids=[1, 2, 3, 4], lat=[41.0, 41.001, 41.002, 45.0],
                              lon=[-87.0, -87.0, -87.0, -80.0], edge_ids=[1, 2], u=[1, 2], v=[2, 3],
                              length=[100.0, 120.0])
    assert g.route(0, 0) == ([0], 0.0)
    assert g.route(0, 2) == ([0, 1, 2], pytest.approx(220.0))
    assert g.route(0, 3) == ([], math.inf)


def test_routes_batch():
    g = grid(20)
    pairs = [(0, 399), (5, 250), (399, 0)]
    out = g.routes(pairs)
    assert [round(c, 6) for _, c in out] == [round(g.shortest_path(s, t)[1], 6) for s, t in pairs]


# ---- safe_route: Pareto set and recommendation on a two-street choice ---------------------------------

def test_plan_routes_pareto_and_detour_budget():
    from civicmash.analysis.route_planner import plan_routes

    # Ladder: bottom street 0-1-2 (200 m), top street 3-4-5 (200 m), rungs 0-3, 2-5 of `rung` m.
    def graph(rung):
        lat = [41.88, 41.88, 41.88, 41.88 + rung / 110_540, 41.88 + rung / 110_540, 41.88 + rung / 110_540]
        dlon = 100 / (111_320 * math.cos(math.radians(41.88)))
        lon = [-87.63, -87.63 + dlon, -87.63 + 2 * dlon] * 2
        return WalkGraph.from_arrays(city="t", node_ids=np.arange(6), lat=lat, lon=lon, edge_ids=np.arange(6),
                                     u=[0, 1, 3, 4, 0, 2], v=[1, 2, 4, 5, 3, 5],
                                     length=[100.0, 100.0, 100.0, 100.0, rung, rung])

    risk = np.array([5.0, 5.0, 0.0, 0.0, 0.0, 0.0])  # the bottom street is where incidents are
    g = graph(20.0)  # detour 240 m vs 200 m = +20%: within +25%
    plan = plan_routes(g, risk, 0, 2, detour=0.25)
    assert plan["shortest"]["nodes"] == [0, 1, 2] and plan["shortest"]["exposure"] == 10.0
    assert plan["safer"]["nodes"] == [0, 3, 4, 5, 2] and plan["safer"]["exposure"] == 0.0
    assert [r["length_m"] for r in plan["pareto"]] == [200.0, 240.0]
    assert plan["comparison"] == "+20% distance, \u2212100% exposure"
    assert plan["safer"]["minutes"] == round(240 / 1.3 / 60, 1)
    g = graph(40.0)  # +40%: over budget, so the shortest is recommended but the safest is still listed
    plan = plan_routes(g, risk, 0, 2, detour=0.25)
    assert plan["safer"]["nodes"] == [0, 1, 2]
    assert plan["safest"]["nodes"] == [0, 3, 4, 5, 2]
    assert "already the least exposed" in plan["comparison"]
    assert plan_routes(g, risk, 0, 2, detour=0.5)["safer"]["nodes"] == [0, 3, 4, 5, 2]


@pytest.mark.parametrize("scale", ["length", "mild", "small"])
def test_landmark_astar_exact_on_every_query(scale):
    """The landmark A* (cell index, bounded subgraph, reduced costs) against networkx, forced on for every query."""
    g = grid(45, seed=2)
    g.ALT_MIN_NODES = 0          # this instance: every query through _route_alt
    rng = np.random.default_rng(11)
    w = {"length": g.length, "mild": g.length * (1 + 2 * rng.random(g.n_edges)),   # ratio spread <= 3
         "small": g.length * 0.05}[scale]                                          # weights below the length
    G = nx.Graph()
    G.add_weighted_edges_from(zip(g.eu.tolist(), g.ev.tolist(), w.tolist()))
    mat = g.matrix(w)
    calls = []
    real = g._route_alt
    g._route_alt = lambda s, t, m: calls.append((s, t)) or real(s, t, m)
    for s, t in rng.integers(0, g.n_nodes, (40, 2)):
        if s == t:
            continue
        nodes, cost = g.route(s, t, matrix=mat)
        assert cost == pytest.approx(nx.shortest_path_length(G, int(s), int(t), weight="weight"), rel=1e-9)
        assert nodes[0] == s and nodes[-1] == t and w[g.path_edges(nodes)].sum() == pytest.approx(cost, rel=1e-9)
    assert len(calls) >= 35
    assert g._cell_lo.shape == (g.N_LANDMARKS, len(g._cell_ptr) - 1) and len(g._cell_ptr) > 20


def test_risk_like_weights_take_one_full_dijkstra():
    g = grid(30)
    w = g.length * (1 + 100 * (np.arange(g.n_edges) % 7 == 0))   # a few streets 100x "riskier"
    G = nx.Graph()
    G.add_weighted_edges_from(zip(g.eu.tolist(), g.ev.tolist(), w.tolist()))
    for s, t in [(0, 899), (15, 870), (450, 451)]:
        assert g.route(s, t, w)[1] == pytest.approx(nx.shortest_path_length(G, s, t, weight="weight"), rel=1e-9)
