// Safe-route page code (maps/safe_route.py), run as function (C, data) by the page shell (shell.js).
// Draws the shortest and the recommended walk, the streets by exposure and the incident heat, and fills
// the route table and the legend.
var el = C.el, P = data.plan, F = data.facts, map = C.map;
var STYLE = {
  shortest: { color: "#1f5fbf", weight: 5, opacity: 0.9, label: C.t("sr.shortest_route"), kind: "line" },
  safer: { color: "#0a8a3a", weight: 6, opacity: 0.95, dashArray: "10 8", label: C.t("sr.safer_route"), kind: "dash" },
  alt: { color: "#555", weight: 2, opacity: 0.7, dashArray: "2 5", label: C.t("sr.alt_routes"), kind: "dash" }
};
// The trade-off in words: the planner's English (analysis/route_planner.py), or the same figures in the reader's language.
function expo(x) {  // one decimal; the planner's plain number in English
  var v = Math.round(x * 10) / 10;
  return C.i18n.isDefault ? String(v) : C.fmtNum(v, v % 1 ? 1 : 0);
}
function pct(now, then) { return then <= 0 ? 0 : (now - then) / then * 100; }
function signed(x) { var r = Math.round(x); return (r > 0 ? "+" : r < 0 ? "\u2212" : "+") + C.fmtInt(Math.abs(r)); }
function vsWords(r) {
  if (C.i18n.isDefault) return r.vs_shortest;
  return C.t("sr.vs", {d: signed(pct(r.length_m, P.shortest.length_m)), e: signed(pct(r.exposure, P.shortest.exposure))});
}
function comparisonWords() {
  if (C.i18n.isDefault) return P.comparison;
  var m = /within a \+(\d+)% detour/.exec(P.comparison || "");
  if (/^The shortest route has no recorded exposure/.test(P.comparison || "")) return C.t("sr.no_exposure");
  if (m) return C.t("sr.already_least", {detour: m[1]});
  return vsWords(P.safer);
}
if (data.heat.length && L.heatLayer) {
  L.heatLayer(data.heat, { radius: 18, blur: 22, maxZoom: 17, minOpacity: 0.15 }).addTo(map);
}
data.risk.forEach(function (r) {
  L.polyline([[r[0], r[1]], [r[2], r[3]]], { renderer: C.canvas, interactive: false, color: "#e0452b",
    weight: 1 + 4 * r[4], opacity: 0.2 + 0.4 * r[4] }).addTo(map);
});
function fmt(r) {
  return C.t("sr.route_facts", {m: C.fmtInt(r.length_m), min: C.walkMin(r.length_m), exposure: expo(r.exposure)});
}
P.alternatives.forEach(function (r) {
  L.polyline(r.coords, { color: STYLE.alt.color, weight: STYLE.alt.weight, opacity: STYLE.alt.opacity,
    dashArray: STYLE.alt.dashArray }).bindTooltip(el("span", fmt(r) + " (" + vsWords(r) + ")")).addTo(map);
});
["shortest", "safer"].forEach(function (k) {
  var s = STYLE[k];
  // the numbers stay beside each route (permanent labels), above / below so the two do not cover each other
  var box = el("div"), head = el("strong", k === "shortest" ? C.t("sr.shortest") : C.t("sr.recommended"));
  head.style.color = s.color;
  box.appendChild(head);
  box.appendChild(el("div", fmt(P[k])));
  if (k === "safer") box.appendChild(el("div", vsWords(P.safer)));
  L.polyline(P[k].coords, { color: s.color, weight: s.weight, opacity: s.opacity, dashArray: s.dashArray })
    .bindTooltip(box, { permanent: true, direction: k === "shortest" ? "bottom" : "top", className: "cm-route-label" })
    .addTo(map);
});
var a = P.shortest.coords[0], b = P.shortest.coords[P.shortest.coords.length - 1];
L.circleMarker(a, { radius: 8, color: "#000", weight: 2, fillColor: "#fff", fillOpacity: 1 }).bindTooltip(el("span", C.t("sr.start"))).addTo(map);
L.circleMarker(b, { radius: 8, color: "#000", weight: 2, fillColor: "#000", fillOpacity: 1 }).bindTooltip(el("span", C.t("sr.destination"))).addTo(map);
data.bars.forEach(function (v) {
  L.circleMarker([v[1], v[2]], { radius: 6, color: "#5a2d82", weight: 2, fillColor: "#b58be0", fillOpacity: 0.9 })
    .bindPopup(el("span", v[0], "cm-bar-name")).addTo(map);
});
document.getElementById("comparison").textContent = comparisonWords();
var tbody = document.querySelector("#route-table tbody"), cells = {};
["shortest", "safer"].forEach(function (k) {
  var r = P[k], tr = el("tr");
  tr.appendChild(el("td", STYLE[k].label));
  cells[k] = { length: el("td", C.fmtInt(r.length_m) + " m", "num"),
               exposure: el("td", expo(r.exposure), "num") };
  tr.appendChild(cells[k].length);
  tr.appendChild(el("td", C.walkMin(r.length_m) + " min", "num"));
  tr.appendChild(cells[k].exposure);
  tbody.appendChild(tr);
});
// "How is this computed?" (figure_sql.js): each route's length and exposure from the segments it walks.
function routeRows(what) {
  return ["shortest", "safer"].map(function (k) {
    return { label: STYLE[k].label, target: cells[k][what], key: "safe_route." + k + (what === "length" ? "_m" : "_exposure"),
             values: { city: data.city, edge_ids: P[k].edge_ids, edge_exposure: P[k].edge_exposure,
                       from: P.shortest.coords[0].join(","), to: P.shortest.coords[P.shortest.coords.length - 1].join(",") } };
  });
}
var routeTable = document.getElementById("route-table");
Figures.control("safe_route.shortest_exposure", { after: routeTable, pick: C.t("sr.th_route"), label: C.t("sr.fig_exposure"),
  rows: function () { return routeRows("exposure"); } });
Figures.control("safe_route.shortest_m", { after: routeTable, pick: C.t("sr.th_route"), label: C.t("sr.fig_length"),
  rows: function () { return routeRows("length"); } });
document.getElementById("alternatives").textContent = P.alternatives.length
  ? C.t("sr.alternatives", {n: P.alternatives.length, list: P.alternatives.map(vsWords).join("; ")})
  : C.t("sr.no_alternatives");
var lg = document.getElementById("legend-rows");
lg.appendChild(C.legendRow(STYLE.shortest.color, STYLE.shortest.label, "line"));
lg.appendChild(C.legendRow(STYLE.safer.color, STYLE.safer.label, "dash"));
if (P.alternatives.length) lg.appendChild(C.legendRow(STYLE.alt.color, STYLE.alt.label, "dash"));
lg.appendChild(C.legendRow("#e0452b", C.t("sr.legend_streets"), "line"));
// a band wider than a day weighs every hour alike (the profile's sigma_h: docs/safe-route.md)
lg.appendChild(C.legendRow("#f6a04d", F.at && F.sigma_h < 24 ? C.t("sr.heat_around", {at: F.at, h: F.sigma_h}) : C.t("sr.heat_all"), "dot"));
lg.appendChild(C.legendRow("#b58be0", C.t("sr.premises", {n: data.bars.length}), "dot"));  // every venue: not all are bars
document.getElementById("legend-data").textContent = C.t("sr.built_from", {n: C.i18n.isDefault ? F.incidents : C.fmtInt(F.incidents),
  start: C.i18n.isDefault ? F.start : C.fmtDate(F.start), end: C.i18n.isDefault ? F.end : C.fmtDate(F.end),
  datasets: F.datasets.length ? " (" + F.datasets.join(", ") + ")" : "",
  hours: F.at && F.sigma_h < 24 ? C.t("sr.weighted_at", {at: F.at}) : C.t("sr.all_hours"), kernel: F.bandwidth_m}) +
  (F.factors.length ? " " + C.t("sr.street_factors", {list: F.factors.join("; ")}) : "");
document.getElementById("legend-coverage").textContent = F.coverage ?
  F.coverage.charAt(0).toUpperCase() + F.coverage.slice(1) + "." : "";
