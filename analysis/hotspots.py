"""Hotspots: Getis-Ord Gi* on an H3 hexagon grid, with a Benjamini-Hochberg false-discovery-rate correction.

What is computed (docs/maps.md, "Hotspots"):

* the grid: H3 cells (Uber's hexagonal grid, ``h3``) at one resolution, chosen by the size of the city (the
  extent of its located incidents: res 9, ~0.11 km2 a cell, under 50 km2; res 8, ~0.74 km2, up to 2,000 km2;
  else res 7) unless the profile sets ``[maps.explorer] hotspot_resolution``;
* the study area: every cell holding at least one located incident of the whole data (any date), so a
  cell where crime is recorded but none fell in the window counts as 0 and open water or land without any
  record stays out;
* the counts: located incidents per cell in the window, the last ``days`` (90) days ending on the day of the
  latest incident;
* the statistic: Gi* (``esda.G_Local(star=True)``, binary weights: the cell and its six neighbours in the study
  area), its analytic z-score and two-sided normal p-value (no permutations);
* the correction: Benjamini-Hochberg adjusted p-values (``p_fdr``) over all cells; a cell is ``hot`` (z > 0) or
  ``cold`` (z < 0) when ``p_fdr <= alpha`` (0.05), else ``none``.

The rows are stored by :func:`civicmash.warehouse.hotspots.write_hotspots` in ``hotspot_cells``.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta

import numpy as np
from civicmash.warehouse import reads

DAYS = 90
ALPHA = 0.05
METHOD = "Getis-Ord Gi* (esda.G_Local, star=True, binary weights: a cell and its H3 neighbours), analytic z-scores, " \
         "two-sided normal p-values, Benjamini-Hochberg FDR"


def choose_resolution(lat: np.ndarray, lon: np.ndarray) -> int:
    """The H3 resolution for a city whose located incidents span ``lat``/``lon``: by the extent's area."""
    if not len(lat):
        return 8
    h = (float(np.max(lat)) - float(np.min(lat))) * 110.574
    w = (float(np.max(lon)) - float(np.min(lon))) * 111.320 * math.cos(math.radians(float(np.mean(lat))))
    area = h * w
    return 9 if area < 50 else (8 if area <= 2000 else 7)


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (as ``scipy.stats.false_discovery_control(p, method='bh')``)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if not m:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    return out


def gi_star(cells: list[str], counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z, two-sided p) of Gi* for ``counts`` on ``cells`` (H3 indexes), neighbours = adjacent cells in the list."""
    import h3
    from esda.getisord import G_Local
    from libpysal.weights import W

    index = {c: k for k, c in enumerate(cells)}
    neighbours, weights = {}, {}
    for k, c in enumerate(cells):
        nb = [index[x] for x in h3.grid_ring(c, 1) if x in index]
        neighbours[k], weights[k] = nb, [1.0] * len(nb)
    w = W(neighbours, weights, silence_warnings=True)
    y = np.asarray(counts, dtype=float)
    if len(y) < 3 or y.sum() == 0 or np.all(y == y[0]):
        return np.zeros(len(y)), np.ones(len(y))
    with warnings.catch_warnings():   # islands (cells with no neighbour in the study area) are expected
        warnings.simplefilter("ignore", UserWarning)
        g = G_Local(y, w, transform="B", permutations=0, star=True)
    z = np.nan_to_num(np.asarray(g.Zs, dtype=float), nan=0.0)
    p = np.minimum(1.0, 2.0 * np.asarray(g.p_norm, dtype=float))
    return z, np.nan_to_num(p, nan=1.0)


def compute(con, *, city: str, resolution: int | None = None, days: int = DAYS, alpha: float = ALPHA) -> dict:
    """Gi* hotspots of ``city``'s located incidents: ``{"rows": [...], "resolution", "window_start",
    "window_end", "alpha", "cells", "incidents"}``; each row: h3 cell, count, gi_z, p, p_fdr, class, centre and
    boundary (``[[lat, lon], ...]``). No located incident: no rows."""
    import h3

    incidents = reads.incidents_relation(con)
    found = con.execute(
        f"SELECT lat, lon, occurred_at FROM {incidents} WHERE city = ? AND lat IS NOT NULL AND lon IS NOT NULL "
        "AND occurred_at IS NOT NULL", [city]).fetchall()
    lat = np.array([r[0] for r in found], dtype=float)
    lon = np.array([r[1] for r in found], dtype=float)
    t = [r[2] for r in found]
    res = int(resolution) if resolution is not None else choose_resolution(lat.astype(float), lon.astype(float))
    if not len(lat):
        return {"rows": [], "resolution": res, "window_start": None, "window_end": None, "alpha": alpha,
                "cells": 0, "incidents": 0}
    latest = max(t)
    end = datetime.combine(latest.date(), datetime.min.time()) + timedelta(days=1)
    start = end - timedelta(days=int(days))
    cell_of = [h3.latlng_to_cell(float(a), float(b), res) for a, b in zip(lat, lon)]
    cells = sorted(set(cell_of))
    index = {c: k for k, c in enumerate(cells)}
    counts = np.zeros(len(cells), dtype=np.int64)
    in_window = np.array([start <= x < end for x in t], dtype=bool)
    for c, inside in zip(cell_of, in_window):
        if inside:
            counts[index[c]] += 1
    z, p = gi_star(cells, counts)
    q = bh_adjust(p)
    rows = []
    for k, c in enumerate(cells):
        cls = ("hot" if z[k] > 0 else "cold") if q[k] <= alpha and z[k] != 0 else "none"
        clat, clon = h3.cell_to_latlng(c)
        rows.append({"h3_cell": c, "count": int(counts[k]), "gi_z": float(z[k]), "p": float(p[k]),
                     "p_fdr": float(q[k]), "class": cls, "lat": clat, "lon": clon,
                     "boundary": [[round(a, 6), round(b, 6)] for a, b in h3.cell_to_boundary(c)]})
    return {"rows": rows, "resolution": res, "window_start": start, "window_end": end, "alpha": alpha,
            "cells": len(cells), "incidents": int(in_window.sum()),
            "cell_area_km2": float(h3.average_hexagon_area(res, unit="km^2"))}
