"""Safer walking route: the shortest route versus one that avoids incident-dense streets.

Risk (thin version): every located incident adds ``weight(primary_type)`` to the
street edge whose midpoint is nearest, if that midpoint is within 100 m.  The
safer route minimises ``length_m * (1 + alpha * density / p95(density))``
where ``density = risk / length_m``; ``alpha`` grows until the route would be
longer than ``(1 + detour)`` times the shortest one, and the lowest-exposure
route within that budget wins.
"""

from __future__ import annotations

import fnmatch
import math
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from . import _data
from ._columns import fetch_columns
from .render import render_page, write_page
from .routing import WalkGraph

WALK_SPEED_M_S = 1.3
DEFAULT_TYPE_WEIGHTS = {"NON-CRIMINAL*": 0.0}
_ALPHAS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
_TABLES = ("incidents", "venues", "boundaries", "streets")


def type_weight(primary_type: str | None, type_weights: dict | None = None) -> float:
    """Weight of one incident type: exact key, then glob patterns (``NON-CRIMINAL*``), else 1.0."""
    weights = {**DEFAULT_TYPE_WEIGHTS, **(type_weights or {})}
    key = (primary_type or "").upper()
    upper = {str(k).upper(): float(v) for k, v in weights.items()}
    if key in upper:
        return upper[key]
    for pattern, value in upper.items():
        if fnmatch.fnmatchcase(key, pattern):
            return value
    return 1.0


def edge_risk(graph: WalkGraph, *, lat, lon, primary_type, type_weights: dict | None = None,
              radius_m: float = 100.0) -> np.ndarray:
    """Per-edge risk: summed type weights of incidents snapped to the nearest edge midpoint."""
    risk = np.zeros(graph.n_edges)
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    ok = ~(np.isnan(lat) | np.isnan(lon))
    if not ok.any() or graph.n_edges == 0:
        return risk
    types = np.asarray(primary_type, dtype=object)[ok]
    uniq = {t: type_weight(t, type_weights) for t in set(types.tolist())}
    w = np.array([uniq[t] for t in types], dtype=float)
    mx, my = graph.edge_midpoints()
    x, y = graph.project(lat[ok], lon[ok])
    dist, idx = cKDTree(np.column_stack([mx, my])).query(np.column_stack([x, y]), distance_upper_bound=radius_m)
    hit = np.isfinite(dist)
    np.add.at(risk, idx[hit], w[hit])
    return risk


def _as_node(graph: WalkGraph, point) -> int:
    if isinstance(point, (int, np.integer)):
        return int(point)
    lat, lon = point
    return graph.nearest_node(float(lat), float(lon))


def _summary(graph: WalkGraph, nodes: list[int], risk: np.ndarray) -> dict:
    edges = graph.path_edges(nodes)
    length = float(graph.length[edges].sum())
    return {
        "nodes": nodes,
        "length_m": round(length, 1),
        "minutes": round(length / WALK_SPEED_M_S / 60, 1),
        "exposure": round(float(risk[edges].sum()), 2),
        "coords": graph.path_coords(nodes),
    }


def _pct(new: float, old: float) -> float:
    return 0.0 if old <= 0 else (new - old) / old * 100


def _comparison(short: dict, safer: dict, detour: float) -> str:
    if safer["nodes"] == short["nodes"]:
        return f"The shortest route is already the least exposed one within a +{detour:.0%} detour."
    d = _pct(safer["length_m"], short["length_m"])
    e = _pct(safer["exposure"], short["exposure"])
    return f"{d:+.0f}% distance, {e:+.0f}% exposure".replace("-", "\u2212")


def plan_routes(graph: WalkGraph, risk, origin, dest, *, detour: float = 0.25) -> dict:
    """Shortest and safer route between ``origin`` and ``dest``.

    ``origin``/``dest`` are node indices or (lat, lon) pairs (snapped to the
    largest component); ``risk`` has one value per graph edge.  Returns a dict
    with ``shortest`` and ``safer`` summaries (nodes, length_m, minutes,
    exposure, coords), ``alpha`` used for the safer one, and ``comparison``.
    """
    risk = np.asarray(risk, dtype=float)
    src, dst = _as_node(graph, origin), _as_node(graph, dest)
    nodes, total = graph.shortest_path(src, dst)
    if not nodes:
        raise ValueError("origin and destination are not connected in the street graph")
    shortest = _summary(graph, nodes, risk)
    best, best_alpha = shortest, 0.0
    density = risk / np.maximum(graph.length, 1.0)
    positive = density[density > 0]
    if positive.size and shortest["exposure"] > 0:
        norm = density / float(np.percentile(positive, 95))
        budget = (1 + detour) * shortest["length_m"] + 1e-6
        for alpha in _ALPHAS:
            cand_nodes, _ = graph.shortest_path(src, dst, graph.length * (1 + alpha * norm))
            cand = _summary(graph, cand_nodes, risk)
            if cand["length_m"] > budget:
                break
            if cand["exposure"] < best["exposure"] - 1e-9:
                best, best_alpha = cand, alpha
            if best["exposure"] == 0:
                break
    return {
        "origin_node": src,
        "dest_node": dst,
        "shortest": shortest,
        "safer": best,
        "alpha": best_alpha,
        "detour": detour,
        "comparison": _comparison(shortest, best, detour),
    }


def default_endpoints(con, *, city: str, graph: WalkGraph, offset_m: float = 2000.0) -> tuple[int, int]:
    """Origin: the venue nearest the graph centroid (else the centroid itself);
    destination: the largest-component node nearest a point ~offset_m north-east."""
    clat, clon = graph.centroid()
    origin_ll = (clat, clon)
    if _data.has_table(con, "venues"):
        rows = con.execute(
            "SELECT lat, lon FROM venues WHERE city = ? AND lat IS NOT NULL AND lon IS NOT NULL "
            "ORDER BY (lat - ?) * (lat - ?) + ((lon - ?) * ?) * ((lon - ?) * ?) LIMIT 1",
            [city, clat, clat, clon, math.cos(math.radians(clat)), clon, math.cos(math.radians(clat))],
        ).fetchall()
        if rows:
            origin_ll = rows[0]
    src = graph.nearest_node(*origin_ll)
    step = offset_m / math.sqrt(2)
    lat, lon = graph.unproject(graph.x[src] + step, graph.y[src] + step)
    dst = graph.nearest_node(float(lat), float(lon))
    if dst == src:  # tiny graph: take the farthest reachable node instead
        dist, _ = graph.distances_from(src)
        dist[~np.isfinite(dist)] = -1
        dst = int(np.argmax(dist))
    return src, dst


def _incidents(con, *, city: str, options: dict) -> dict[str, np.ndarray]:
    start, end = _data.incident_window(con, city=city, options=options)
    return fetch_columns(
        con,
        f"SELECT primary_type, lat, lon FROM {_data.incidents_relation(con)} WHERE city = ? AND lat IS NOT NULL "
        "AND lon IS NOT NULL AND occurred_at >= ? AND occurred_at < ?",
        [city, start, end],
    )


def _view(coords: list[list[float]], pad_deg: float = 0.004) -> list[list[float]]:
    lats = [c[0] for c in coords]
    lons = [c[1] for c in coords]
    return [[min(lats) - pad_deg, min(lons) - pad_deg], [max(lats) + pad_deg, max(lons) + pad_deg]]


def _risk_segments(graph: WalkGraph, risk: np.ndarray, view, *, limit: int = 4000) -> list[list[float]]:
    (s, w), (n, e) = view
    mlat = (graph.lat[graph.eu] + graph.lat[graph.ev]) / 2
    mlon = (graph.lon[graph.eu] + graph.lon[graph.ev]) / 2
    idx = np.flatnonzero((risk > 0) & (mlat >= s) & (mlat <= n) & (mlon >= w) & (mlon <= e))
    idx = idx[np.argsort(-risk[idx])][:limit]
    top = float(risk[idx].max()) if idx.size else 1.0
    return [[round(float(graph.lat[graph.eu[i]]), 6), round(float(graph.lon[graph.eu[i]]), 6),
             round(float(graph.lat[graph.ev[i]]), 6), round(float(graph.lon[graph.ev[i]]), 6),
             round(float(risk[i]) / top, 3)] for i in idx]


def _bars(con, *, city: str, view) -> list[list]:
    if not _data.has_table(con, "venues"):
        return []
    (s, w), (n, e) = view
    rows = _data.point_rows(con, table="venues", city=city, cols=("name",),
                            where="AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?",
                            params=(s, n, w, e), limit=2000)
    return [[name or "(unnamed venue)", round(lat, 6), round(lon, 6)] for name, lat, lon in rows]


def build(con, *, city: str, out_path, title: str = "Safer walking route", synthetic: bool = False,
          sources: list[dict] | None = None, options: dict | None = None, city_title: str | None = None) -> Path:
    """Write the safer-route page.  Options: ``from``/``to`` (lat, lon), ``detour``
    (0.25), ``type_weights``, ``days``, ``boundary_kind``, ``max_street_edges``."""
    options = dict(options or {})
    graph = _data.load_graph(con, city)
    if graph is None:
        raise ValueError(f"no street graph for city {city!r}: cannot plan a route")
    inc = _incidents(con, city=city, options=options)
    risk = edge_risk(graph, lat=inc["lat"], lon=inc["lon"], primary_type=inc["primary_type"],
                     type_weights=options.get("type_weights"))
    if options.get("from") and options.get("to"):
        src, dst = graph.nearest_node(*options["from"]), graph.nearest_node(*options["to"])
    else:
        src, dst = default_endpoints(con, city=city, graph=graph)
    plan = plan_routes(graph, risk, src, dst, detour=float(options.get("detour", 0.25)))
    view = _view(plan["shortest"]["coords"] + plan["safer"]["coords"])
    routes = {k: {f: v for f, v in plan[k].items() if f != "nodes"} for k in ("shortest", "safer")}
    data = {
        "base": _data.base_layer(con, city=city, graph=graph, options=options),
        "plan": {**routes, **{k: plan[k] for k in ("alpha", "detour", "comparison")}},
        "risk": _risk_segments(graph, risk, view),
        "bars": _bars(con, city=city, view=view),
        "view": view,
        "collapseOnPhone": False,
    }
    html = render_page(
        title=title, city_title=city_title or city, body_js=_JS, data=data, synthetic=synthetic,
        sources=_data.sources_for(con, city, sources, _TABLES), legend_html=_LEGEND, controls_html=_CONTROLS,
    )
    return write_page(out_path, html)


_CONTROLS = """
<h2>Route comparison</h2>
<p class="cm-count" id="comparison"></p>
<table class="cm-table" id="route-table">
<thead><tr><th>Route</th><th class="num">Length</th><th class="num">Walk</th><th class="num">Exposure</th></tr></thead>
<tbody></tbody></table>
<p class="cm-muted">Exposure = recent incidents (weighted by type) on the streets a route uses.
Walking speed 1.3 m/s. Fewer recorded incidents does not mean a street is safe.</p>
"""

_LEGEND = """<h2>Legend</h2><div id="legend-rows"></div>"""

_JS = r"""
var el = C.el, P = data.plan, map = C.map;
var STYLE = {
  shortest: { color: "#1f5fbf", weight: 5, opacity: 0.9, label: "Shortest route", kind: "line" },
  safer: { color: "#0a8a3a", weight: 5, opacity: 0.95, dashArray: "10 8", label: "Safer route", kind: "dash" }
};
data.risk.forEach(function (r) {
  L.polyline([[r[0], r[1]], [r[2], r[3]]], { renderer: C.canvas, interactive: false, color: "#e0452b",
    weight: 2 + 6 * r[4], opacity: 0.25 + 0.5 * r[4] }).addTo(map);
});
["shortest", "safer"].forEach(function (k) {
  var s = STYLE[k];
  L.polyline(P[k].coords, { color: s.color, weight: s.weight, opacity: s.opacity, dashArray: s.dashArray }).addTo(map);
});
var a = P.shortest.coords[0], b = P.shortest.coords[P.shortest.coords.length - 1];
L.circleMarker(a, { radius: 8, color: "#000", weight: 2, fillColor: "#fff", fillOpacity: 1 }).bindTooltip(el("span", "Start")).addTo(map);
L.circleMarker(b, { radius: 8, color: "#000", weight: 2, fillColor: "#000", fillOpacity: 1 }).bindTooltip(el("span", "Destination")).addTo(map);
data.bars.forEach(function (v) {
  L.circleMarker([v[1], v[2]], { radius: 6, color: "#5a2d82", weight: 2, fillColor: "#b58be0", fillOpacity: 0.9 })
    .bindPopup(el("span", v[0], "cm-bar-name")).addTo(map);
});
document.getElementById("comparison").textContent = P.comparison;
var tbody = document.querySelector("#route-table tbody");
["shortest", "safer"].forEach(function (k) {
  var r = P[k], tr = el("tr");
  tr.appendChild(el("td", STYLE[k].label));
  tr.appendChild(el("td", C.fmtInt(r.length_m) + " m", "num"));
  tr.appendChild(el("td", C.walkMin(r.length_m) + " min", "num"));
  tr.appendChild(el("td", (Math.round(r.exposure * 10) / 10).toString(), "num"));
  tbody.appendChild(tr);
});
var lg = document.getElementById("legend-rows");
lg.appendChild(C.legendRow(STYLE.shortest.color, STYLE.shortest.label, "line"));
lg.appendChild(C.legendRow(STYLE.safer.color, STYLE.safer.label, "dash"));
lg.appendChild(C.legendRow("#e0452b", "Streets with recent incidents (thicker = more)", "line"));
lg.appendChild(C.legendRow("#b58be0", "Bars and venues (" + data.bars.length + ")", "dot"));
"""
