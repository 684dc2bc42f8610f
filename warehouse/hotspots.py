"""The ``hotspot_cells`` table: Gi* hotspots per H3 cell (computed by ``analysis/hotspots.py``), and its reads."""

from __future__ import annotations

import json

from .reads import has_table

COLUMNS = ("city", "h3_cell", "resolution", "incidents", "gi_z", "p", "p_fdr", "class", "alpha", "window_start",
           "window_end", "lat", "lon", "boundary", "computed_at")


def write_hotspots(con, *, city: str, result: dict) -> int:
    """Replace ``city``'s rows of ``hotspot_cells`` with ``result`` (``analysis.hotspots.compute``); rows written."""
    con.execute("DELETE FROM hotspot_cells WHERE city = ?", [city])
    rows = [(city, r["h3_cell"], result["resolution"], r["count"], r["gi_z"], r["p"], r["p_fdr"], r["class"],
             result["alpha"], result["window_start"], result["window_end"], r["lat"], r["lon"],
             json.dumps(r["boundary"], separators=(",", ":"))) for r in result["rows"]]
    if rows:
        con.executemany(
            "INSERT INTO hotspot_cells (city, h3_cell, resolution, incidents, gi_z, p, p_fdr, class, alpha, "
            "window_start, window_end, lat, lon, boundary, computed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())", rows)
    return len(rows)


def read_hotspots(con, *, city: str) -> list[dict]:
    """Every stored cell of ``city`` (empty when the table or the city's rows are absent), by cell."""
    if not has_table(con, "hotspot_cells"):
        return []
    cur = con.execute(f"SELECT {', '.join(COLUMNS)} FROM hotspot_cells WHERE city = ? ORDER BY h3_cell", [city])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
