"""Compact map payloads shared by the pages: integer coordinates, street lines, the base layer."""

from __future__ import annotations

import math

import numpy as np

from civicmash.analysis.routing import WalkGraph
from civicmash.warehouse import reads

# Street classes kept first when a city has more edges than we embed.
_HIGHWAY_RANK = {
    "motorway": 0, "trunk": 0, "primary": 1, "secondary": 1, "tertiary": 2,
    "residential": 3, "unclassified": 3, "living_street": 3, "pedestrian": 3,
}
SCALE = 100_000  # coordinates are embedded as integers of 1e-5 degrees (~1 m)


def to_int_coords(values, origin: float) -> list:
    """Degrees -> integer offsets of 1e-5 degrees from ``origin`` (None stays None)."""
    arr = np.asarray(values, dtype=float)
    out = np.round((arr - origin) * SCALE)
    return [None if math.isnan(v) else int(v) for v in out.tolist()]


def streets_payload(graph: WalkGraph | None, *, max_edges: int = 150_000) -> dict | None:
    """Compact street lines: integer node coords + flat (u, v) index pairs."""
    if graph is None or graph.n_edges == 0:
        return None
    idx = np.arange(graph.n_edges)
    if graph.n_edges > max_edges:
        rank = np.array([_HIGHWAY_RANK.get(str(h), 4) for h in graph.highway]) if graph.highway is not None \
            else np.zeros(graph.n_edges)
        idx = np.sort(np.lexsort((-graph.length, rank))[:max_edges])
    used = np.unique(np.concatenate([graph.eu[idx], graph.ev[idx]]))
    remap = np.full(graph.n_nodes, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    lat0 = float(np.floor(graph.lat[used].min() * 100) / 100)
    lon0 = float(np.floor(graph.lon[used].min() * 100) / 100)
    seg = np.column_stack([remap[graph.eu[idx]], remap[graph.ev[idx]]]).ravel()
    return {
        "lat0": lat0,
        "lon0": lon0,
        "lat": to_int_coords(graph.lat[used], lat0),
        "lon": to_int_coords(graph.lon[used], lon0),
        "seg": seg.tolist(),
        "dropped": int(graph.n_edges - len(idx)),
    }


def base_layer(con, *, city: str, graph: WalkGraph | None, options: dict) -> dict:
    """Base map from the city's own data: boundary polygons and street lines."""
    return {
        "boundaries": reads.boundaries_geojson(con, city=city, kind=options.get("boundary_kind")),
        "streets": streets_payload(graph, max_edges=int(options.get("max_street_edges", 150_000))),
    }


