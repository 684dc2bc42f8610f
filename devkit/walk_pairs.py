"""Random walks to ask for, as a reader would click them: for the safe-route page's tests and benchmark."""

from __future__ import annotations

import numpy as np


def click_pairs(graph, n: int, *, seed: int, near_m=(300.0, 3000.0)) -> list[tuple[tuple, tuple]]:
    """``n`` pairs of ``(lat, lon)`` points a few metres off nodes of the graph's largest street network, their nodes
    ``near_m`` apart in a straight line (clicks beside the streets); reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    walk = np.flatnonzero(graph.lcc_mask)
    pairs = []
    while len(pairs) < n:
        s = int(rng.choice(walk))
        d = np.hypot(graph.x[walk] - graph.x[s], graph.y[walk] - graph.y[s])
        cand = walk[(d >= near_m[0]) & (d <= near_m[1])]
        if not len(cand):
            cand = walk[walk != s]
        t = int(rng.choice(cand))
        ends = []
        for node in (s, t):
            dx, dy = rng.normal(0, 8, size=2)
            lat, lon = graph.unproject(graph.x[node] + dx, graph.y[node] + dy)
            ends.append((round(float(lat), 6), round(float(lon), 6)))
        pairs.append(tuple(ends))
    return pairs
