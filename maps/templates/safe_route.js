// Safe-route page code (maps/safe_route.py), run as function (C, data) by the page shell (shell.js).
// Draws the shortest and the recommended walk, the streets by exposure and the incident heat, and fills
// the route table and the legend.
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
var tbody = document.querySelector("#route-table tbody"), cells = {};
["shortest", "safer"].forEach(function (k) {
  var r = P[k], tr = el("tr");
  tr.appendChild(el("td", STYLE[k].label));
  cells[k] = { length: el("td", C.fmtInt(r.length_m) + " m", "num"),
               exposure: el("td", (Math.round(r.exposure * 10) / 10).toString(), "num") };
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
Figures.control("safe_route.shortest_exposure", { after: routeTable, pick: "Route", label: "How is the exposure computed?",
  rows: function () { return routeRows("exposure"); } });
Figures.control("safe_route.shortest_m", { after: routeTable, pick: "Route", label: "How is the length computed?",
  rows: function () { return routeRows("length"); } });
document.getElementById("alternatives").textContent = P.alternatives.length
  ? P.alternatives.length + " other non-dominated route(s) (thin grey): " +
    P.alternatives.map(function (r) { return r.vs_shortest; }).join("; ")
  : "No other non-dominated route between these two.";
var lg = document.getElementById("legend-rows");
lg.appendChild(C.legendRow(STYLE.shortest.color, STYLE.shortest.label, "line"));
lg.appendChild(C.legendRow(STYLE.safer.color, STYLE.safer.label, "dash"));
if (P.alternatives.length) lg.appendChild(C.legendRow(STYLE.alt.color, STYLE.alt.label, "dash"));
lg.appendChild(C.legendRow("#e0452b", "Streets by exposure per km (thicker = more)", "line"));
// a band wider than a day weighs every hour alike (the profile's sigma_h: docs/safe-route.md)
lg.appendChild(C.legendRow("#f6a04d", "Incident heat " + (F.at && F.sigma_h < 24 ? "around " + F.at + " (\u00b1" + F.sigma_h + " h)" : "(all hours)"), "dot"));
lg.appendChild(C.legendRow("#b58be0", "Licensed premises (" + data.bars.length + ")", "dot"));  // every venue: not all are bars
document.getElementById("legend-data").textContent = "Built from " + F.incidents + " located incidents of " +
  F.start + " to " + F.end + (F.datasets.length ? " (" + F.datasets.join(", ") + ")" : "") +
  (F.at && F.sigma_h < 24 ? ", weighted for a walk at " + F.at : ", all hours alike") + "; kernel " + F.bandwidth_m + " m along the streets." +
  (F.factors.length ? " Street factors: " + F.factors.join("; ") + "." : "");
document.getElementById("legend-coverage").textContent = F.coverage ?
  F.coverage.charAt(0).toUpperCase() + F.coverage.slice(1) + "." : "";
