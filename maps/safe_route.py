"""The safe-route page: the shortest and the recommended walk on one map, with the trade-off in numbers.

The routes come from :mod:`civicmash.analysis.route_planner`; this module only draws them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from civicmash.analysis.risk import RiskModel, parse_at
from civicmash.analysis.route_planner import (
    DEFAULT_DETOUR,
    coverage_summary,
    coverage_words,
    default_endpoints,
    plan_routes,
    risk_model,
)
from civicmash.analysis.routing import WalkGraph, load_graph
from civicmash.warehouse import reads

from . import _payload
from .render import render_page, write_page

_TABLES = ("incidents", "venues", "boundaries", "streets")

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


def build(con, *, city: str, out_path, title: str = "Safe route home", synthetic: bool = False,
          sources: list[dict] | None = None, options: dict | None = None, city_title: str | None = None) -> Path:
    """Write the safer-route page.  Options: ``from``/``to`` (lat, lon), ``at`` ("23:30"; default all
    hours), ``detour`` (0.25), ``type_weights``, ``street_factors``, ``days``, ``bandwidth_m``, ``sigma_h``,
    ``boundary_kind``, ``max_street_edges``."""
    options = dict(options or {})
    graph = load_graph(con, city)
    if graph is None:
        raise ValueError(f"no street graph for city {city!r}: cannot plan a route")
    hour = parse_at(options.get("at"))
    model, facts = risk_model(con, city=city, graph=graph, options=options)
    inc = facts.pop("_inc")
    risk = model.edge_risk(hour)
    if options.get("from") and options.get("to"):
        src, dst = graph.nearest_node(*options["from"]), graph.nearest_node(*options["to"])
    else:
        src, dst = default_endpoints(con, city=city, graph=graph)
    plan_ = plan_routes(graph, risk, src, dst, detour=float(options.get("detour", DEFAULT_DETOUR)))
    view = _view(plan_["shortest"]["coords"] + plan_["safer"]["coords"] + plan_["safest"]["coords"])
    strip = lambda r: {f: v for f, v in r.items() if f != "nodes"}  # noqa: E731
    alternatives = [strip(r) for r in plan_["pareto"]
                    if r["nodes"] not in (plan_["shortest"]["nodes"], plan_["safer"]["nodes"])]
    src_names = [r[0] for r in con.execute(  # the datasets that actually fed the window
        f"SELECT DISTINCT dataset FROM {reads.incidents_relation(con)} WHERE city = ? AND dataset IS NOT NULL "
        "AND occurred_at >= ? AND occurred_at < ? ORDER BY 1", [city, facts["start"], facts["end"]]).fetchall()]
    data = {
        "base": _payload.base_layer(con, city=city, graph=graph, options=options),
        "plan": {"shortest": strip(plan_["shortest"]), "safer": strip(plan_["safer"]),
                 "alternatives": alternatives, "alpha": plan_["alpha"], "detour": plan_["detour"],
                 "comparison": plan_["comparison"]},
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
        "collapseOnPhone": False,
    }
    html = render_page(
        title=title, city_title=city_title or city, body_js=_JS, data=data, synthetic=synthetic,
        sources=reads.sources_for(con, city, sources, _TABLES), legend_html=_LEGEND, controls_html=_CONTROLS,
        plugins=("heat",),
    )
    return write_page(out_path, html)


_CONTROLS = """
<h2>Route comparison</h2>
<p class="cm-count" id="comparison"></p>
<table class="cm-table" id="route-table">
<thead><tr><th>Route</th><th class="num">Length</th><th class="num">Walk</th><th class="num">Exposure</th></tr></thead>
<tbody></tbody></table>
<p class="cm-muted" id="alternatives"></p>
<p class="cm-muted">Exposure = recorded incidents (weighted by type, and by hour of day when a time is set)
on and within 100 m along the streets a route uses. Walking speed 1.3 m/s.
Fewer recorded incidents does not mean a street is safe.</p>
"""

_LEGEND = """<h2>Legend</h2><div id="legend-rows"></div>
<p class="cm-muted" id="legend-exposure">Exposure: each incident counts its type weight (violent &gt; property &gt; other,
non-criminal 0), spread along the streets within 100 m; a route's exposure is the sum over the streets it walks.
Incident locations are blurred to the block by the police; there is no correction for how many people walk a street.</p>
<p class="cm-muted" id="legend-data"></p>
<p class="cm-muted" id="legend-coverage"></p>"""

_JS = r"""
var el = C.el, P = data.plan, F = data.facts, map = C.map;
var STYLE = {
  shortest: { color: "#1f5fbf", weight: 5, opacity: 0.9, label: "Shortest route", kind: "line" },
  safer: { color: "#0a8a3a", weight: 6, opacity: 0.95, dashArray: "10 8", label: "Recommended (safer) route", kind: "dash" },
  alt: { color: "#555", weight: 2, opacity: 0.7, dashArray: "2 5", label: "Other Pareto routes", kind: "dash" }
};
if (data.heat.length && L.heatLayer) {
  L.heatLayer(data.heat, { radius: 18, blur: 22, maxZoom: 17, minOpacity: 0.15 }).addTo(map);
}
data.risk.forEach(function (r) {
  L.polyline([[r[0], r[1]], [r[2], r[3]]], { renderer: C.canvas, interactive: false, color: "#e0452b",
    weight: 1 + 4 * r[4], opacity: 0.2 + 0.4 * r[4] }).addTo(map);
});
function fmt(r) {
  return C.fmtInt(r.length_m) + " m, " + C.walkMin(r.length_m) + " min, exposure " + (Math.round(r.exposure * 10) / 10);
}
P.alternatives.forEach(function (r) {
  L.polyline(r.coords, { color: STYLE.alt.color, weight: STYLE.alt.weight, opacity: STYLE.alt.opacity,
    dashArray: STYLE.alt.dashArray }).bindTooltip(el("span", fmt(r) + " (" + r.vs_shortest + ")")).addTo(map);
});
["shortest", "safer"].forEach(function (k) {
  var s = STYLE[k];
  // the numbers stay beside each route (permanent labels), above / below so the two do not cover each other
  var box = el("div"), head = el("strong", k === "shortest" ? "Shortest" : "Recommended");
  head.style.color = s.color;
  box.appendChild(head);
  box.appendChild(el("div", fmt(P[k])));
  if (k === "safer") box.appendChild(el("div", P.safer.vs_shortest));
  L.polyline(P[k].coords, { color: s.color, weight: s.weight, opacity: s.opacity, dashArray: s.dashArray })
    .bindTooltip(box, { permanent: true, direction: k === "shortest" ? "bottom" : "top", className: "cm-route-label" })
    .addTo(map);
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
document.getElementById("alternatives").textContent = P.alternatives.length
  ? P.alternatives.length + " other non-dominated route(s) (thin grey): " +
    P.alternatives.map(function (r) { return r.vs_shortest; }).join("; ")
  : "No other non-dominated route between these two.";
var lg = document.getElementById("legend-rows");
lg.appendChild(C.legendRow(STYLE.shortest.color, STYLE.shortest.label, "line"));
lg.appendChild(C.legendRow(STYLE.safer.color, STYLE.safer.label, "dash"));
if (P.alternatives.length) lg.appendChild(C.legendRow(STYLE.alt.color, STYLE.alt.label, "dash"));
lg.appendChild(C.legendRow("#e0452b", "Streets by exposure per km (thicker = more)", "line"));
lg.appendChild(C.legendRow("#f6a04d", "Incident heat " + (F.at ? "around " + F.at + " (\u00b1" + F.sigma_h + " h)" : "(all hours)"), "dot"));
lg.appendChild(C.legendRow("#b58be0", "Bars and venues (" + data.bars.length + ")", "dot"));
document.getElementById("legend-data").textContent = "Built from " + F.incidents + " located incidents of " +
  F.start + " to " + F.end + (F.datasets.length ? " (" + F.datasets.join(", ") + ")" : "") +
  (F.at ? ", weighted for a walk at " + F.at : ", all hours alike") + "; kernel " + F.bandwidth_m + " m along the streets." +
  (F.factors.length ? " Street factors: " + F.factors.join("; ") + "." : "");
document.getElementById("legend-coverage").textContent = F.coverage ?
  F.coverage.charAt(0).toUpperCase() + F.coverage.slice(1) + "." : "";
"""
