"""Point-to-point walking routes: maps.routing.WalkGraph.route vs networkx (and osmnx) shortest_path, plus risk build time.

Graphs:

- ``grid``: a generated 320 x 320 street grid (102,400 nodes, 204,160 edges), 100 m blocks with edge
  lengths jittered uniformly in [100, 130) m (seed 0), so shortest paths are unique in length.
- ``west_loop``: the real Chicago West Loop / Near West Side OSM edge list
  (``../shared/data/chicago/streets/mapconstruction_chicago_osm``, UTM 16N -> WGS84 with pyproj, length =
  UTM distance), the graph the pipeline loads as ``streets_west_loop``.

Pairs (seed 1): 200 uniformly random OD pairs over the largest component, and for the grid also 200
"walking" pairs whose straight-line distance is at most 3 km (a walk home; the grid is 32 km wide).
Both sides use the same per-edge lengths; every path cost of ours must equal networkx's (rel 1e-9).

- ours: ``WalkGraph.route(s, t)`` (bidirectional distance-limited scipy Dijkstra, falls back to one full
  Dijkstra when the balls would cover most of the graph).
- peer: ``networkx.shortest_path(G, s, t, weight="length")`` on an ``nx.Graph`` (bidirectional Dijkstra
  in pure Python); on the West Loop also ``osmnx.routing.shortest_path`` on the equivalent MultiDiGraph
  (both directions; osmnx calls networkx underneath).

Also timed: building the West Loop graph and the risk model (snap + 100 m network kernel) from the real
2018 crimes of the last 90 days of the file inside the graph's bounding box.
"""
from __future__ import annotations

import math
import time

import numpy as np

from bench._common import require_chicago

GRID_N = 320
N_PAIRS = 200
WALK_MAX_M = 3000.0


def _grid():
    from maps.routing import WalkGraph

    n = GRID_N
    rng = np.random.default_rng(0)
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    jj, ii = np.divmod(np.arange(n * n), n)
    lat = 41.7 + jj * 100 / 110_540
    lon = -87.9 + ii * 100 / (111_320 * math.cos(math.radians(41.7)))
    length = 100 * rng.uniform(1.0, 1.3, len(u))
    return WalkGraph.from_arrays(city="grid", node_ids=np.arange(n * n), lat=lat, lon=lon,
                                 edge_ids=np.arange(len(u)), u=u, v=v, length=length)


def _west_loop(chicago):
    import pyproj

    from maps.routing import WalkGraph

    d = chicago / "streets" / "mapconstruction_chicago_osm"
    verts = np.loadtxt(d / "chicago_vertices_osm.txt", delimiter=",")
    edges = np.loadtxt(d / "chicago_edges_osm.txt", delimiter=",", dtype=np.int64)
    tr = pyproj.Transformer.from_crs("EPSG:32616", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(verts[:, 1], verts[:, 2])
    pos = {int(k): i for i, k in enumerate(verts[:, 0])}
    ok = np.array([int(a) in pos and int(b) in pos for a, b in edges[:, 1:3]])
    e = edges[ok]
    ia = np.array([pos[int(a)] for a in e[:, 1]])
    ib = np.array([pos[int(b)] for b in e[:, 2]])
    length = np.hypot(verts[ia, 1] - verts[ib, 1], verts[ia, 2] - verts[ib, 2])
    return WalkGraph.from_arrays(city="chicago", node_ids=verts[:, 0].astype(np.int64), lat=lat, lon=lon,
                                 edge_ids=e[:, 0], u=e[:, 1], v=e[:, 2], length=length)


def _pairs(g, rng, n, max_m=None):
    lcc = np.flatnonzero(g.lcc_mask)
    out = []
    while len(out) < n:
        s, t = (int(x) for x in rng.choice(lcc, 2))
        if s == t or (max_m is not None and math.hypot(g.x[s] - g.x[t], g.y[s] - g.y[t]) > max_m):
            continue
        out.append((s, t))
    return out


def _stats(ts):
    a = np.asarray(ts) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
            "mean_ms": round(float(a.mean()), 3)}


def _compare(g, pairs, *, with_osmnx=False):
    import networkx as nx

    G = nx.Graph()
    G.add_weighted_edges_from(zip(g.eu.tolist(), g.ev.tolist(), g.length.tolist()), weight="length")
    mat = g.csr
    g.route(*pairs[0], matrix=mat)  # warm-up (imports, caches)
    ours, peer, costs = [], [], []
    for s, t in pairs:
        t0 = time.perf_counter()
        nodes, cost = g.route(s, t, matrix=mat)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        path = nx.shortest_path(G, s, t, weight="length")
        peer.append(time.perf_counter() - t0)
        ref = float(g.length[g.path_edges(path)].sum())
        assert abs(cost - ref) <= 1e-9 * max(ref, 1.0), (s, t, cost, ref)
        assert abs(float(g.length[g.path_edges(nodes)].sum()) - cost) <= 1e-6 * max(cost, 1.0)
        costs.append(cost)
    out = {"pairs": len(pairs), "ours": _stats(ours), "networkx": _stats(peer),
           "ratio_p50": round(float(np.median(peer) / np.median(ours)), 1),
           "ratio_mean": round(float(np.mean(peer) / np.mean(ours)), 1),
           "path_length_m_p50": round(float(np.median(costs)), 1), "identical_lengths": True}
    if with_osmnx:
        import osmnx as ox

        M = nx.MultiDiGraph()
        M.graph["crs"] = "epsg:4326"
        for a, b, w in zip(g.eu.tolist(), g.ev.tolist(), g.length.tolist()):
            M.add_edge(a, b, length=w)
            M.add_edge(b, a, length=w)
        ts = []
        for (s, t), cost in zip(pairs, costs):
            t0 = time.perf_counter()
            path = ox.routing.shortest_path(M, s, t, weight="length")
            ts.append(time.perf_counter() - t0)
            ref = float(g.length[g.path_edges(path)].sum())
            assert abs(cost - ref) <= 1e-9 * max(ref, 1.0)
        out["osmnx"] = _stats(ts)
        out["ratio_p50_osmnx"] = round(float(np.median(ts) / np.median(ours)), 1)
    return out


def _risk_build(chicago, g):
    import pandas as pd

    from maps.risk import build_risk
    from maps.safe_route import graph_bbox

    df = pd.read_csv(chicago / "crime" / "chicago_crimes_2018-05-01_to_2018-11-12.csv",
                     usecols=["Date", "Primary Type", "Latitude", "Longitude"])
    df["ts"] = pd.to_datetime(df["Date"], format="%m/%d/%Y %I:%M:%S %p")
    end = df["ts"].max().normalize() + pd.Timedelta(days=1)
    (s, w), (n, e) = graph_bbox(g)
    df = df[(df["ts"] >= end - pd.Timedelta(days=90)) & df["Latitude"].between(s, n) & df["Longitude"].between(w, e)]
    hour = (df["ts"].dt.hour + df["ts"].dt.minute / 60).where(
        (df["ts"].dt.hour + df["ts"].dt.minute + df["ts"].dt.second) > 0)
    t0 = time.perf_counter()
    model = build_risk(g, lat=df["Latitude"].to_numpy(), lon=df["Longitude"].to_numpy(),
                       primary_type=df["Primary Type"].to_numpy(dtype=object), hour=hour.to_numpy(float))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.edge_mass("23:30")
    reweigh_s = time.perf_counter() - t0
    return {"incidents": int(len(df)), "snapped": model.n_snapped, "locations": int(model.kernel.shape[1]),
            "risk_build_s": round(build_s, 3), "reweigh_for_hour_s": round(reweigh_s, 4)}


def run() -> dict:
    chicago = require_chicago()
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    grid = _grid()
    grid_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    grid._landmarks()  # one-off: 4 full Dijkstras for the A* (ALT) potentials of long trips
    grid_landmarks = time.perf_counter() - t0
    res_uniform = _compare(grid, _pairs(grid, rng, N_PAIRS))
    res_walk = _compare(grid, _pairs(grid, rng, N_PAIRS, WALK_MAX_M))
    t0 = time.perf_counter()
    wl = _west_loop(chicago)
    wl_build = time.perf_counter() - t0
    res_wl = _compare(wl, _pairs(wl, rng, N_PAIRS), with_osmnx=True)
    risk = _risk_build(chicago, wl)
    summary = (f"grid {grid.n_nodes:,} nodes: walking pairs (<=3 km) ours p50 {res_walk['ours']['p50_ms']} ms vs "
               f"networkx {res_walk['networkx']['p50_ms']} ms ({res_walk['ratio_p50']}x); uniform pairs ours p50 "
               f"{res_uniform['ours']['p50_ms']} ms vs {res_uniform['networkx']['p50_ms']} ms "
               f"({res_uniform['ratio_p50']}x); West Loop {wl.n_nodes:,} nodes: ours p50 {res_wl['ours']['p50_ms']} ms "
               f"vs networkx {res_wl['networkx']['p50_ms']} ms ({res_wl['ratio_p50']}x), osmnx "
               f"{res_wl['osmnx']['p50_ms']} ms; graph build {wl_build:.2f} s, risk build {risk['risk_build_s']} s")
    return {
        "summary": summary,
        "grid": {"nodes": grid.n_nodes, "edges": grid.n_edges, "build_s": round(grid_build, 3),
                 "landmarks_s": round(grid_landmarks, 3),
                 "uniform_pairs": res_uniform, "walking_pairs_max_3km": res_walk},
        "west_loop": {"nodes": wl.n_nodes, "edges": wl.n_edges, "graph_build_s": round(wl_build, 3),
                      "pairs": res_wl, "risk": risk},
    }
