"""Privacy of the explorer's points: never finer than the source, and optionally a minimum of addresses per point.

* Never finer than the source: points are drawn where the source put them (block-level for the police
  sources we read: the portal moves each incident to a point on its block), stored to 1e-5 degree (~1 m) so the
  source's point is not moved; civicmash never geocodes an incident to a finer place.
* ``min_addresses_per_point`` (``[maps.explorer]``, police.uk's rule: a point stands for at least 8 addresses):
  a displayed point (one coordinate pair) whose incidents name fewer than ``k`` distinct addresses (the
  source's ``block`` strings; an incident without one counts as an address of its own) is moved, with the other
  such points of its H3 cell, to the cell's centre, at the finest resolution from 9 (~0.1 km2) down to 5 (~250 km2)
  at which those points together name at least ``k`` addresses; points that do not even in their resolution-5
  cell lose their coordinates (in no map view, still in every count).
"""

from __future__ import annotations

import numpy as np

RESOLUTIONS = (9, 8, 7, 6, 5)


def merge_points(lat: np.ndarray, lon: np.ndarray, blocks: list, k: int | None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(lat, lon, report): the coordinates per row after the rule with minimum ``k`` (None: unchanged).
    ``report``: points and rows moved per resolution, rows withheld."""
    lat, lon = np.asarray(lat, dtype=float).copy(), np.asarray(lon, dtype=float).copy()
    report = {"min_addresses": k, "points": 0, "points_moved": 0, "rows_moved": 0, "rows_withheld": 0,
              "by_resolution": {}}
    if not k:
        return lat, lon, report
    import h3

    located = ~(np.isnan(lat) | np.isnan(lon))
    addr = [("b:" + str(b)) if b not in (None, "") else f"row:{i}" for i, b in enumerate(blocks)]
    points: dict[tuple[float, float], set] = {}
    rows_of: dict[tuple[float, float], list[int]] = {}
    for i in np.flatnonzero(located):
        key = (round(float(lat[i]), 5), round(float(lon[i]), 5))
        points.setdefault(key, set()).add(addr[i])
        rows_of.setdefault(key, []).append(int(i))
    report["points"] = len(points)
    small = [p for p, a in points.items() if len(a) < k]
    if not small:
        return lat, lon, report
    pending = small
    for r in RESOLUTIONS:   # finest first: the small points of one cell move together when they gather k addresses
        groups: dict[str, list] = {}
        for p in pending:
            groups.setdefault(h3.latlng_to_cell(p[0], p[1], r), []).append(p)
        pending = []
        for cell, members in groups.items():
            if len(set().union(*(points[p] for p in members))) < k:
                pending += members
                continue
            clat, clon = h3.cell_to_latlng(cell)
            for p in members:
                rows = rows_of[p]
                lat[rows], lon[rows] = clat, clon
                report["points_moved"] += 1
                report["rows_moved"] += len(rows)
            report["by_resolution"][r] = report["by_resolution"].get(r, 0) + len(members)
    for p in pending:   # too few addresses even in a resolution-5 cell: no coordinates
        rows = rows_of[p]
        lat[rows], lon[rows] = np.nan, np.nan
        report["rows_withheld"] += len(rows)
    return lat, lon, report
