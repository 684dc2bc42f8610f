"""Nearest public service for 100,000 random origins, every category, batched: analysis.nearest vs networkx multi_source_dijkstra.

Setup (not in the ratio): one child process runs the Prefect pipeline on ../shared with the datasets the
locator needs (the nine service datasets, community areas, 2010 population, the four street datasets; no maps)
into a temporary directory; ``maps.service_access.network`` then reads the city's walk graph (the West Loop, Logan
Square and Loop OSM graphs merged with the citywide arterial/collector centrelines) and attaches every located
service to it (parks by points along their outline). That build is timed as ``ours_build_s``.

Origins: 100,000 points uniformly random (seed 0) inside Chicago's 77 community areas. Both sides use the same
snapping (``Snapper``: each origin's nearest street segment, timed once as ``snap_s``) and the same last step
(``ServiceNetwork.combine``: the better of the segment's two ends, or the direct walk along the segment); origins
more than 400 m from every street get no answer on either side. What differs is the search:

- ours: ``ServiceNetwork.node_table`` per category: one scipy ``dijkstra(min_only=True)`` from every access point
  of the category over the graph plus one virtual node per access point (the cache is cleared before each run;
  ``REPEATS`` runs, median).
- peer: ``networkx.multi_source_dijkstra(G, sources, weight=...)`` per category on an ``nx.DiGraph`` with exactly
  the same nodes, virtual nodes and edge weights (the networkx call that also says *which* source is nearest, through
  its paths); its dicts are turned into the same arrays. Timed once (it is slow). For reference, the distance-only
  ``multi_source_dijkstra_path_length`` (which cannot say which service is nearest) is timed too.

Every origin's walking metres must equal networkx's (abs 1e-6 m) and the nearest service must be the same
except where two services are exactly equally far (counted).

Also: straight-line vs network ranking on 1,000 random points (seed 1) in the West Loop (the full-detail OSM graph)
and 1,000 citywide: how often the nearest service by walking is not the nearest as the crow flies (both over the
services that can be reached on the graph, straight-line to the same access points), per category.
"""
from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import require_chicago, run_child

N_ORIGINS = 100_000
N_RANKING = 1_000
REPEATS = 3
LOCATOR_DATASETS = ["police_stations", "fire_stations", "warming_centres", "health_clinics", "libraries",
                    "community_health_centres", "schools", "parks", "ward_offices", "community_areas",
                    "population_2010", "streets_west_loop", "streets_logan_square", "streets_loop_overpass",
                    "street_centrelines"]
WEST_LOOP = (41.851, -87.711, 41.892, -87.627)   # extent of the West Loop edge list (PROVENANCE.md)

SETUP = """
import time
from prefect.testing.utilities import prefect_test_harness
from civicmash.analysis import service_access
from civicmash.flows.pipeline import civic_pipeline
t = time.perf_counter()
with prefect_test_harness(server_startup_timeout=120):
    summary = civic_pipeline("chicago", out={out!r}, replay={chicago!r}, maps=[], datasets={datasets!r})
result = {{"warehouse": summary["warehouse"], "pipeline_seconds": round(time.perf_counter() - t, 1)}}
"""


def _peer_graph(net):
    import networkx as nx

    a = net._aug.tocoo()
    G = nx.DiGraph()
    G.add_nodes_from(range(net._aug.shape[0]))
    G.add_weighted_edges_from(zip(a.row.tolist(), a.col.tolist(), a.data.tolist()), weight="w")
    return G


def _sources(net, category: str) -> np.ndarray:
    members = net.services.members(category)
    return net.graph.n_nodes + np.flatnonzero(net.ap_ok & np.isin(net.services.ap_service, members))


def _peer_table(net, G, category: str) -> tuple[np.ndarray, np.ndarray]:
    import networkx as nx

    n = net.graph.n_nodes
    dist, paths = nx.multi_source_dijkstra(G, set(_sources(net, category).tolist()), weight="w")
    d = np.full(n, np.inf)
    who = np.full(n, -1, dtype=np.int64)
    nodes = np.fromiter((k for k in dist if k < n), dtype=np.int64)
    d[nodes] = [dist[k] for k in nodes.tolist()]
    who[nodes] = net.services.ap_service[np.array([paths[k][0] for k in nodes.tolist()], dtype=np.int64) - n]
    return d, who


def _walk_to(net, lat: float, lon: float, service: int) -> float:
    """Walking metres from one origin to one service (single-origin search: the check of a tie)."""
    return float(net.search(float(lat), float(lon)).service_distances()[0][service])


def run() -> dict:
    chicago = require_chicago()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="civicmash-bench-locator-"))
    try:
        built = run_child(SETUP.format(out=str(work / "out"), chicago=str(chicago), datasets=LOCATOR_DATASETS),
                          timeout=3600)
        from civicmash.analysis import service_access
        from civicmash.analysis.coverage import random_points
        from civicmash.analysis.nearest import compare_straight_line, same_site
        from civicmash.warehouse.db import connect

        con = connect(built["warehouse"], read_only=True)
        t = time.perf_counter()
        net = service_access.network(con, city="chicago")
        build_s = time.perf_counter() - t
        cats = net.services.categories
        lat, lon = random_points(con, city="chicago", n=N_ORIGINS, seed=0)
        t = time.perf_counter()
        snap = net.snapper.snap(lat, lon, max_dist=net.max_access_m)
        snap_s = time.perf_counter() - t

        def ours_all():
            net._cache.clear()
            return {c: net.combine(snap, *net.node_table(c), c)[:2] for c in cats}

        runs = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            ours = ours_all()
            runs.append(time.perf_counter() - t)
        ours_s = statistics.median(runs)

        t = time.perf_counter()
        G = _peer_graph(net)
        peer_build_s = time.perf_counter() - t
        t = time.perf_counter()
        peer = {c: net.combine(snap, *_peer_table(net, G, c), c)[:2] for c in cats}
        peer_s = time.perf_counter() - t
        import networkx as nx

        t = time.perf_counter()
        for c in cats:
            nx.multi_source_dijkstra_path_length(G, set(_sources(net, c).tolist()), weight="w")
        peer_len_s = time.perf_counter() - t

        same_dist, differ, ties = True, 0, 0
        for c in cats:
            (d0, w0), (d1, w1) = ours[c], peer[c]
            fin = np.isfinite(d0)
            same_dist &= bool(np.array_equal(fin, np.isfinite(d1)) and np.allclose(d0[fin], d1[fin], rtol=0, atol=1e-6))
            same = fin & (w0 != w1) & same_site(net.services, w0, w1)
            ties += int(same.sum())
            for q in np.flatnonzero(fin & (w0 != w1) & ~same):
                # equally far: both answers are right
                if abs(_walk_to(net, lat[q], lon[q], int(w1[q])) - d0[q]) < 1e-6:
                    ties += 1
                else:
                    differ += 1
        answered = int(np.isfinite(ours[cats[0]][0]).sum())

        wl_lat, wl_lon = random_points(con, city="chicago", n=N_RANKING, seed=1, bbox=WEST_LOOP)
        rank_west = compare_straight_line(net, wl_lat, wl_lon)
        rank_city = compare_straight_line(net, lat[:N_RANKING], lon[:N_RANKING])
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ratio = peer_s / ours_s
    ratio_e2e = (snap_s + peer_s) / (snap_s + ours_s)
    changes = {k: v["share_changes"] for k, v in rank_west.items()}
    result = {
        "graph": {"nodes": int(net.graph.n_nodes), "edges": int(net.graph.n_edges),
                  "largest_component_nodes": int(net.graph.lcc_mask.sum()), "services": len(net.services),
                  "access_points": int(net.ap_ok.sum()), "categories": cats},
        "origins": N_ORIGINS, "origins_answered": answered, "pipeline_seconds": built["pipeline_seconds"],
        "ours_build_s": round(build_s, 2), "snap_s": round(snap_s, 3),
        "ours_query_s": round(ours_s, 3), "ours_query_runs_s": [round(r, 3) for r in runs],
        "networkx_build_s": round(peer_build_s, 2), "networkx_query_s": round(peer_s, 3),
        "networkx_distance_only_s": round(peer_len_s, 3),
        "ratio_query": round(ratio, 1), "ratio_distance_only": round(peer_len_s / ours_s, 1),
        "ratio_including_snap": round(ratio_e2e, 1),
        "identical_distances": same_dist, "nearest_differs": differ, "nearest_ties": ties,
        "ranking_west_loop": rank_west, "ranking_citywide": rank_city,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        # the goal (>= 20x) is on the nearest-service query; the ratio with the snapping both sides share
        # counted on both sides is stated as a goal too
        "goals": {"query_ratio_ge_20": ratio >= 20, "including_snap_ratio_ge_20": ratio_e2e >= 20,
                  "identical_answers": same_dist and differ == 0},
    }
    result["summary"] = (
        f"{N_ORIGINS:,} origins x {len(cats)} categories ({len(net.services):,} services, {net.graph.n_nodes:,}-node "
        f"graph): ours {ours_s:.2f} s vs networkx multi_source_dijkstra {peer_s:.1f} s ({ratio:.0f}x; distance-only "
        f"networkx {peer_len_s / ours_s:.0f}x; {ratio_e2e:.1f}x with the shared {snap_s:.1f} s snapping), answers "
        f"identical; West Loop nearest by walking != nearest as the crow flies for "
        + ", ".join(f"{k} {v:.0%}" for k, v in sorted(changes.items())) + f"; load avg {load_before[0]:.1f}")
    return result
