"""Safe-route backtest on real Chicago data: routes chosen with May-August 2018 incidents, scored on Sept-Nov.

About 50 origin-destination pairs between bars inside the West Loop street graph, walking at 23:00.
Routes are chosen with the risk of May-August 2018 incidents; the shortest and the recommended route
(+25% detour budget) are then scored with the exposure of September 1 - November 12, 2018 incidents
(held out). ``backtest(warehouse)`` works on any warehouse holding the Chicago run;
``run()`` builds one first (the pipeline on ../shared, the datasets the backtest needs).
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np

from bench._common import require_chicago
from civicmash.analysis import route_planner
from civicmash.analysis.risk import build_risk
from civicmash.analysis.routing import WalkGraph

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


BACKTEST_DATASETS = ["crimes", "business_licences", "lastcall_bars", "streets_west_loop"]


def run() -> dict:
    import os

    chicago = require_chicago()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from civicmash.flows.pipeline import civic_pipeline

    with tempfile.TemporaryDirectory(prefix="civicmash-backtest-") as out:
        summary = civic_pipeline("chicago", out=out, replay=str(chicago), maps=[], datasets=BACKTEST_DATASETS)
        result = backtest(summary["warehouse"])
    result["summary"] = (
        f"{result['pairs']} bar-to-bar walks at {result['at']}, West Loop: recommended route "
        f"+{result['mean_detour_pct']}% distance on average; held-out (Sep-Nov) exposure lower than the shortest "
        f"route's for {result['held_out_pairs_better']} of {result['pairs']} pairs "
        f"({result['held_out_share_better_pct']}%), {result['held_out_mean_reduction_pct']}% lower per pair "
        f"(median {result['held_out_median_reduction_pct']}%, total {result['held_out_total_reduction_pct']}%), "
        f"{result['held_out_pairs_worse']} worse; in-sample {result['in_sample_mean_reduction_pct']}%")
    return result
