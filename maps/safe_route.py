"""The safe-route page: the shortest and the recommended walk on one map, with the trade-off in numbers.

The stored pair's routes come from :mod:`civicmash.analysis.route_planner`. The page also carries the walk graph
(the street networks kept for walking) and each edge's exposure (:func:`router_blob`), so any other pair the reader
clicks is routed in the browser (``maps/templates/safe_route_router.js``) by the same sweep, Pareto filter and
recommendation, on the same float64 lengths and exposures: the same answers as ``civicmash route``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from civicmash.analysis.fast_route import (
    DEFAULT_MARGIN,
    M_PER_DEG_LAT,
    NEAR_LIMIT_M,
    SNAP_NOTE_M,
    SWEEP,
    WALK_SPEED_M_S,
)
from civicmash.analysis.risk import RiskModel, parse_at
from civicmash.analysis.route_planner import (
    DEFAULT_DETOUR,
    coverage_summary,
    coverage_words,
    default_endpoints,
    plan_routes,
    risk_model,
    snap_ends,
)
from civicmash.analysis.route_store import sweep_scale
from civicmash.analysis.routing import WalkGraph, load_graph
from civicmash.warehouse import reads

from . import _packed, _payload, figure_payload
from .render import Page, PageContext, publish

_TABLES = ("incidents", "venues", "boundaries", "streets")
# packed.js + safe_route_router.js: any other pair is routed in the page (docs/safe-route.md "Routing in the browser")
PAGE = Page(title="Safe route home", scripts=("figure_sql.js", "packed.js", "safe_route_router.js", "safe_route.js"),
            controls="safe_route_controls.html", legend="safe_route_legend.html", style="safe_route.css",
            plugins=("heat",))


def _view(coords: list[list[float]], pad_deg: float = 0.004) -> list[list[float]]:
    lats = [c[0] for c in coords]
    lons = [c[1] for c in coords]
    return [[min(lats) - pad_deg, min(lons) - pad_deg], [max(lats) + pad_deg, max(lons) + pad_deg]]


def _risk_segments(graph: WalkGraph, risk: np.ndarray, view, *, limit: int = 4000) -> list[list[float]]:
    (s, w), (n, e) = view
    mlat = (graph.lat[graph.eu] + graph.lat[graph.ev]) / 2
    mlon = (graph.lon[graph.eu] + graph.lon[graph.ev]) / 2
    density = risk / np.maximum(graph.length, 1.0)
    idx = np.flatnonzero((risk > 0) & (mlat >= s) & (mlat <= n) & (mlon >= w) & (mlon <= e))
    idx = idx[np.argsort(-density[idx])][:limit]
    top = float(density[idx].max()) if idx.size else 1.0
    return [[round(float(graph.lat[graph.eu[i]]), 6), round(float(graph.lon[graph.eu[i]]), 6),
             round(float(graph.lat[graph.ev[i]]), 6), round(float(graph.lon[graph.ev[i]]), 6),
             round(float(density[i]) / top, 3)] for i in idx]


def _heat(inc: dict, model: RiskModel, hour, view, *, limit: int = 6000) -> list[list[float]]:
    """[lat, lon, weight] of the incidents in view, weighted by type and hour (for leaflet.heat)."""
    if not len(inc["lat"]):
        return []
    (s, w), (n, e) = view
    lat, lon = np.asarray(inc["lat"], float), np.asarray(inc["lon"], float)
    wt = model.incident_weights(hour)
    idx = np.flatnonzero((lat >= s) & (lat <= n) & (lon >= w) & (lon <= e) & (wt > 0))
    idx = idx[np.argsort(-wt[idx], kind="stable")][:limit]
    top = float(wt[idx].max()) if idx.size else 1.0
    return [[round(float(lat[i]), 5), round(float(lon[i]), 5), round(float(wt[i]) / top, 3)] for i in idx]


def _bars(con, *, city: str, view) -> list[list]:
    if not reads.has_table(con, "venues"):
        return []
    (s, w), (n, e) = view
    rows = reads.point_rows(con, table="venues", city=city, cols=("name",),
                            where="AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?",
                            params=(s, n, w, e), limit=2000)
    return [[name or "(unnamed venue)", round(lat, 6), round(lon, 6)] for name, lat, lon in rows]


COORD_SCALE = 10_000_000  # node coordinates in the router blob: integers of 1e-7 degrees (about 1 cm)


def _float64_words(values) -> tuple[np.ndarray, np.ndarray]:
    """Float64 values as their (low, high) 32-bit words, little-endian: the page rebuilds the exact doubles."""
    words = np.ascontiguousarray(values, dtype="<f8").view("<u4").reshape(-1, 2)
    return words[:, 0].astype(np.int64), words[:, 1].astype(np.int64)


def router_blob(graph: WalkGraph, risk, *, detour: float, margin: float) -> dict:
    """The walk graph and per-edge exposure the page routes on, packed (:mod:`maps._packed`).

    Only the street networks kept for walking (``graph.walk_mask``: the nodes a place can snap to, and their
    edges), in the graph's own node and edge order (page node ``j`` is ``np.flatnonzero(graph.walk_mask)[j]``;
    page edge ``k`` is the ``k``-th edge with both ends walkable). Columns: ``lat``/``lon`` (integers of 1e-7
    degrees, delta-coded), ``u``/``v`` (page node indices), ``eid_hi``/``eid_lo`` (the warehouse edge id minus
    ``eid_base``, for the page's "How is this computed?" SQL), ``len_lo``/``len_hi`` and ``risk_lo``/``risk_hi``
    (the float64 length in metres and exposure, word by word: exact, so the browser's sums and choices are the
    planner's). The header: the projection (``lat0``, ``lon0``, ``kx``, ``ky``: :meth:`WalkGraph.project`), the
    sweep (``sweep``, ``p95``, ``positive``: as :func:`analysis.route_planner.pareto_routes` computes them over the
    whole graph), ``detour``, ``margin``, ``near_limit_m``, ``snap_note_m``, ``walk_speed``."""
    risk = np.asarray(risk, dtype=float)
    nodes = np.flatnonzero(graph.walk_mask)
    remap = np.full(graph.n_nodes, -1, dtype=np.int64)
    remap[nodes] = np.arange(len(nodes))
    edges = np.flatnonzero(graph.walk_mask[graph.eu] & graph.walk_mask[graph.ev])
    p95, positive = sweep_scale(graph.length, risk)
    eid = graph.edge_ids[edges].astype(np.int64)
    base = int(eid.min()) if len(eid) else 0
    rel = eid - base
    len_lo, len_hi = _float64_words(graph.length[edges])
    risk_lo, risk_hi = _float64_words(risk[edges])
    header = {"lat0": graph._lat0, "lon0": graph._lon0, "kx": graph._kx, "ky": M_PER_DEG_LAT,
              "coord_scale": COORD_SCALE, "sweep": [float(c) for c in SWEEP], "p95": p95, "positive": positive,
              "detour": float(detour), "margin": float(margin), "near_limit_m": NEAR_LIMIT_M,
              "snap_note_m": SNAP_NOTE_M, "walk_speed": WALK_SPEED_M_S, "eid_base": str(base),
              "nodes": len(nodes), "edges": len(edges)}
    cols = {
        "lat": _packed.column(np.round(graph.lat[nodes] * COORD_SCALE).astype(np.int64), delta=True),
        "lon": _packed.column(np.round(graph.lon[nodes] * COORD_SCALE).astype(np.int64), delta=True),
        "u": _packed.column(remap[graph.eu[edges]], delta=True),
        "v": _packed.column(remap[graph.ev[edges]], delta=True),
        "eid_hi": _packed.column(rel >> 32, delta=True),
        "eid_lo": _packed.column(rel & 0xFFFFFFFF),
        "len_lo": _packed.column(len_lo), "len_hi": _packed.column(len_hi),
        "risk_lo": _packed.column(risk_lo), "risk_hi": _packed.column(risk_hi),
    }
    return _packed.pack(header, cols)


def build(ctx: PageContext) -> Path:
    """Write the safer-route page.  Options: ``from``/``to`` (lat, lon), ``at`` ("23:30"; default all
    hours), ``detour`` (0.25), ``type_weights``, ``street_factors``, ``days``, ``bandwidth_m``, ``sigma_h``,
    ``boundary_kind``, ``max_street_edges``."""
    con, city, options = ctx.con, ctx.city, dict(ctx.options)
    graph = load_graph(con, city)
    if graph is None:
        raise ValueError(f"no street graph for city {city!r}: cannot plan a route")
    hour = parse_at(options.get("at"))
    model, facts = risk_model(con, city=city, graph=graph, options=options)
    inc = facts.pop("_inc")
    risk = model.edge_risk(hour)
    ends = {}
    if options.get("from") and options.get("to"):   # both ends in one street network, with their snap in metres
        src, dst, ends["from"], ends["to"] = snap_ends(graph, options["from"], options["to"])
        for k in ("from", "to"):   # the point as given (the page's markers, inputs and URL start from it)
            ends[k].update(lat=float(options[k][0]), lon=float(options[k][1]))
    else:
        src, dst = default_endpoints(con, city=city, graph=graph)
    detour, margin = float(options.get("detour", DEFAULT_DETOUR)), float(options.get("margin") or DEFAULT_MARGIN)
    plan_ = plan_routes(graph, risk, src, dst, detour=detour, margin=margin)  # [maps.safe_route] margin, as the CLI
    view = _view(plan_["shortest"]["coords"] + plan_["safer"]["coords"] + plan_["safest"]["coords"])
    strip = lambda r: {f: v for f, v in r.items() if f != "nodes"}  # noqa: E731

    def with_edges(r: dict) -> dict:  # the warehouse ids of the segments walked and each one's exposure, in order
        idx = graph.path_edges(r["nodes"])
        return {**strip(r), "edge_ids": [int(e) for e in graph.edge_ids[idx]],
                "edge_exposure": [float(x) for x in np.asarray(risk, dtype=float)[idx]]}

    alternatives = [strip(r) for r in plan_["pareto"]
                    if r["nodes"] not in (plan_["shortest"]["nodes"], plan_["safer"]["nodes"])]
    src_names = [r[0] for r in con.execute(  # the datasets that actually fed the window
        f"SELECT DISTINCT dataset FROM {reads.incidents_relation(con)} WHERE city = ? AND dataset IS NOT NULL "
        "AND occurred_at >= ? AND occurred_at < ? ORDER BY 1", [city, facts["start"], facts["end"]]).fetchall()]
    data = {
        # the base map's streets are drawn from the walk graph the router carries (as the locator does), not a copy
        "base": _payload.base_layer(con, city=city, graph=None, options=options),
        "plan": {"shortest": with_edges(plan_["shortest"]), "safer": with_edges(plan_["safer"]),
                 "alternatives": alternatives, "alpha": plan_["alpha"], "detour": plan_["detour"],
                 "comparison": plan_["comparison"], "ends": ends, "margin": margin},
        # the walk graph and its exposure, for any other pair in the browser (safe_route_router.js)
        "router": router_blob(graph, risk, detour=detour, margin=margin),
        "risk": _risk_segments(graph, risk, view),
        "heat": _heat(inc, model, hour, view),
        "bars": _bars(con, city=city, view=view),
        "view": view,
        "facts": {"at": None if hour is None else f"{int(hour):02d}:{int(round(hour % 1 * 60)):02d}",
                  "start": facts["start"][:10], "end": facts["end"][:10],
                  "incidents": facts["incidents_on_streets"], "datasets": src_names,
                  "bandwidth_m": facts["bandwidth_m"], "sigma_h": facts["sigma_h"],
                  "factors": model.factors.describe(hour) if model.factors else [],
                  "coverage": coverage_words(coverage_summary(con, city=city))},
        "city": city,
        "figures": figure_payload.page("safe_route"),
        "collapseOnPhone": False,
    }
    return publish(ctx, PAGE, data=data, sources=reads.sources_for(con, city, ctx.sources, _TABLES))
