"""The compiled route engine (analysis/_fastroute.c) and `civicmash route`'s numpy-free fast path (analysis/fast_route.py):
the same path lengths as scipy and networkx on risk weights, the same answer as the planner, and no Prefect, numpy,
scipy or DuckDB imported by a warm `civicmash route` between two lat,lon points."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from civicmash.analysis import fast_route, routing
from civicmash.analysis.route_planner import _SWEEP, plan
from civicmash.analysis.routing import WalkGraph
from civicmash.warehouse import db

# `make install` builds the engine wherever a C compiler is (setup.py): only a machine without one may lack it
_COMPILER = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(not _COMPILER and not fast_route.engine_available(),
                                reason="no C compiler here: the engine cannot be built (the scipy searches answer)")


def test_the_install_built_the_engine():
    """A failed build is optional for pip (the install goes on): here it would fail, not skip every test below."""
    assert fast_route.engine_available(), "analysis/_fastroute.c was not built: run `pip install -e .` again"

FROM, TO = "42.303773,-87.259473", "42.305929,-87.239069"   # the sample city's safe-route pair
HEAVY = ("prefect", "numpy", "scipy", "duckdb", "pandas")


def _grid(n: int = 30, seed: int = 0) -> WalkGraph:
    """An n x n street grid, 100 m blocks with jittered lengths, plus a separate 3-node island."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n * n + 3)
    r, c = np.divmod(ids[:n * n], n)
    lat = np.r_[41.0 + r * 0.0009, 42.0, 42.0, 42.0009]
    lon = np.r_[-87.0 + c * 0.0012, -86.0, -85.9988, -86.0]
    u, v = [], []
    for i in range(n * n):
        if (i % n) + 1 < n:
            u.append(i), v.append(i + 1)
        if i + n < n * n:
            u.append(i), v.append(i + n)
    u += [n * n, n * n]
    v += [n * n + 1, n * n + 2]
    length = rng.uniform(100, 130, len(u))
    length[5] = 0.0005   # one edge shorter than the 1 mm floor of the searches
    return WalkGraph.from_arrays(city="grid", node_ids=ids, lat=lat, lon=lon, edge_ids=np.arange(len(u)),
                                 u=np.array(u), v=np.array(v), length=length)


def _planner_weights(graph: WalkGraph, risk: np.ndarray):
    density = risk / np.maximum(graph.length, 1.0)
    p95 = float(np.percentile(density[density > 0], 95))
    sweep = [(c or 1e-9, graph.length * (1 + (c or 1e-9) * density / p95)) for c in _SWEEP]
    return sweep, graph.length * density / p95, p95


def test_compiled_sweep_has_the_path_lengths_of_scipy_and_networkx(monkeypatch):
    nx = pytest.importorskip("networkx")
    graph = _grid()
    rng = np.random.default_rng(1)
    risk = np.where(rng.random(graph.n_edges) < 0.6, 0.0, rng.gamma(0.5, 4.0, graph.n_edges))   # mostly no risk
    sweep, extra, p95 = _planner_weights(graph, risk)
    G = nx.Graph()
    G.add_edges_from(zip(graph.eu.tolist(), graph.ev.tolist()))
    keys = list(zip(graph.eu.tolist(), graph.ev.tolist()))
    lcc = np.flatnonzero(graph.lcc_mask)
    pairs = [tuple(int(x) for x in rng.choice(lcc, 2)) for _ in range(25)]
    for s, t in pairs:
        monkeypatch.delenv(routing.ENGINE_ENV, raising=False)
        assert routing.route_engine() == "compiled"
        ours = graph.route_sweep(s, t, sweep, extra)
        monkeypatch.setenv(routing.ENGINE_ENV, "scipy")
        assert routing.route_engine() == "scipy"
        old = graph.route_sweep(s, t, sweep, extra)
        fused = graph.engine().sweep_risk(s, t, risk, p95, [c or 1e-9 for c in _SWEEP])
        for i, ((_c, w), (nodes, cost), (old_nodes, _), (f_nodes, _, f_edges)) in enumerate(
                zip(sweep, ours, old, fused)):
            wf = np.maximum(w, 1e-3)
            nx.set_edge_attributes(G, dict(zip(keys, wf.tolist())), "w")
            ref = float(wf[graph.path_edges(nx.shortest_path(G, s, t, weight="w"))].sum())
            paid = float(wf[graph.path_edges(nodes)].sum())
            assert nodes[0] == s and nodes[-1] == t
            assert paid == pytest.approx(ref, rel=1e-9), (s, t, i)
            assert cost == pytest.approx(ref, rel=1e-9)
            assert float(wf[graph.path_edges(old_nodes)].sum()) == pytest.approx(ref, rel=1e-9)
            # the weights computed inside the engine are the planner's, so the same path as from the arrays
            assert f_nodes == nodes and f_edges == graph.path_edges(nodes).tolist()
    monkeypatch.delenv(routing.ENGINE_ENV, raising=False)
    island = graph.n_nodes - 1
    assert graph.route_sweep(0, island, sweep, extra)[0] == ([], float("inf"))   # separate components
    assert graph.route_sweep(7, 7, sweep, extra)[3] == ([7], 0.0)


def test_path_sums_are_numpy_sums_bit_for_bit():
    from civicmash.analysis import _fastroute

    rng = np.random.default_rng(2)
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 127, 128, 129, 300, 1000, 9000]:
        a = rng.random(n) * rng.choice([1e-3, 1.0, 1e4])
        assert _fastroute.np_sum(a) == float(a.sum())


def test_fast_path_constants_are_the_planners():
    from civicmash.analysis import nearest, places

    assert fast_route.M_PER_DEG_LAT == routing._M_PER_DEG_LAT
    assert fast_route.WALK_SPEED_M_S == nearest.WALK_SPEED_M_S
    assert places._LATLON is fast_route.LATLON and places.NEAR_LIMIT_M == fast_route.NEAR_LIMIT_M


def test_fast_answer_equals_the_planners(warehouse):
    options = {"days": 90, "type_weights": {"NON-CRIMINAL*": 0.0}}
    ends = [(FROM, TO), ("42.2990,-87.2650", "42.3080,-87.2400"), (FROM, FROM)]
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        plan(con, city="sample", origin=FROM, destination=TO, options=options)   # builds the store
        for (a, b) in ends:
            for at in (None, "23:00", "5"):
                fast = fast_route.answer(warehouse, city="sample", options=options, origin=a, destination=b, at=at)
                assert fast is not None, (a, b, at)
                assert json.dumps(fast) == json.dumps(plan(con, city="sample", origin=a, destination=b, at=at,
                                                           options=options)), (a, b, at)
        # [maps.safe_route] margin: a detour must beat the shortest by the margin, in both paths alike
        base = plan(con, city="sample", origin=FROM, destination=TO, at="23:00", options=options)
        assert base["recommended"]["coords"] != base["shortest"]["coords"]     # the sample's pair has a safer detour
        gain = 1 - base["recommended"]["exposure"] / base["shortest"]["exposure"]
        for margin, detoured in ((gain * 0.9, True), (min(gain * 1.1, 0.99), False)):
            strict = {**options, "margin": margin}
            fast = fast_route.answer(warehouse, city="sample", options=strict, origin=FROM, destination=TO, at="23:00")
            slow = plan(con, city="sample", origin=FROM, destination=TO, at="23:00", options=strict)
            assert json.dumps(fast) == json.dumps(slow)
            assert (slow["recommended"] != slow["shortest"]) is detoured, margin
            if not detoured:
                assert slow["comparison"].startswith("The shortest route is recommended: no route within a +25% "
                                                     f"detour is at least {margin:.0%} less exposed")
    # what it leaves to the planner: a time between whole hours, a place that is not lat,lon, a far place
    for a, b, at in [(FROM, TO, "23:30"), ("Division St", TO, None), ("43.5,-87.25", TO, None)]:
        assert fast_route.answer(warehouse, city="sample", options=options, origin=a, destination=b, at=at) is None


def _route(warehouse: Path, *extra: str, env: dict | None = None, importtime: bool = False):
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "civicmash.flows.cli", "route",
           "--city", "sample", "--from", FROM, "--to", TO, "--db", str(warehouse), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True,
                          env={**os.environ, **(env or {})})


def test_warm_route_command_imports_no_prefect_numpy_or_duckdb(warehouse):
    first = _route(warehouse, "--at", "23:00", "--format", "json")          # builds and stores the model
    warm = _route(warehouse, "--at", "23:00", "--format", "json", importtime=True)
    modules = {line.split("|")[-1].strip().split(".")[0] for line in warm.stderr.splitlines() if "|" in line}
    assert "civicmash" in modules and not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert warm.stdout == first.stdout
    assert json.loads(warm.stdout)["engine"] == "compiled"
    # the scipy searches (the fallback where the engine is not built) answer the same
    old = json.loads(_route(warehouse, "--at", "23:00", "--format", "json", env={routing.ENGINE_ENV: "scipy"}).stdout)
    assert old.pop("engine") == "scipy"
    new = json.loads(warm.stdout)
    new.pop("engine")
    assert json.dumps(new) == json.dumps(old)
    text = _route(warehouse, "--at", "23:00").stdout
    assert text == _route(warehouse, "--at", "23:00", env={routing.ENGINE_ENV: "scipy"}).stdout
    assert text.startswith(f"from {FROM}  ->  to {TO}  at 23:00") and "recommended vs shortest:" in text
