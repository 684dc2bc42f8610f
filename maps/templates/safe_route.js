// Safe-route page code (maps/safe_route.py), run as function (C, data) by the page shell (shell.js).
// Draws the shortest and the recommended walk, the streets by exposure and the incident heat, and fills
// the route table and the legend: for the stored pair (the profile's, routed in Python) at load, then for every
// pair the reader sets (click, drag, the map's crosshair or "lat, lon"), routed in this page by
// safe_route_router.js on the walk graph the page carries (packed.js inflates it). ?from=lat,lon&to=lat,lon in
// the URL reopens a pair.
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
data.bars.forEach(function (v) {
  L.circleMarker([v[1], v[2]], { radius: 6, color: "#5a2d82", weight: 2, fillColor: "#b58be0", fillOpacity: 0.9 })
    .bindPopup(el("span", v[0], "cm-bar-name")).addTo(map);
});

// ---- the route table, the figures and the legend: built once, filled by showPlan() for every pair -------------
var tbody = document.querySelector("#route-table tbody"), cells = {};
["shortest", "safer"].forEach(function (k) {
  var tr = el("tr");
  tr.appendChild(el("td", STYLE[k].label));
  cells[k] = { length: el("td", "", "num"), walk: el("td", "", "num"), exposure: el("td", "", "num") };
  tr.appendChild(cells[k].length);
  tr.appendChild(cells[k].walk);
  tr.appendChild(cells[k].exposure);
  tbody.appendChild(tr);
});
var ends = { from: null, to: null };  // the pair's two points as set ([lat, lon]), for the URL and the figures
function llText(p) { return p[0].toFixed(6) + "," + p[1].toFixed(6); }
// "How is this computed?" (figure_sql.js): each route's length and exposure from the segments it walks.
function routeRows(what) {
  return ["shortest", "safer"].map(function (k) {
    return { label: STYLE[k].label, target: cells[k][what], key: "safe_route." + k + (what === "length" ? "_m" : "_exposure"),
             values: { city: data.city, edge_ids: P[k].edge_ids, edge_exposure: P[k].edge_exposure,
                       from: llText(ends.from), to: llText(ends.to) } };
  });
}
var routeTable = document.getElementById("route-table");
Figures.control("safe_route.shortest_exposure", { after: routeTable, pick: C.t("sr.th_route"), label: C.t("sr.fig_exposure"),
  rows: function () { return routeRows("exposure"); } });
Figures.control("safe_route.shortest_m", { after: routeTable, pick: C.t("sr.th_route"), label: C.t("sr.fig_length"),
  rows: function () { return routeRows("length"); } });
var lg = document.getElementById("legend-rows");
lg.appendChild(C.legendRow(STYLE.shortest.color, STYLE.shortest.label, "line"));
lg.appendChild(C.legendRow(STYLE.safer.color, STYLE.safer.label, "dash"));
var altRow = lg.appendChild(C.legendRow(STYLE.alt.color, STYLE.alt.label, "dash"));
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

// ---- drawing a plan ---------------------------------------------------------------------------------------------
var routeLayer = L.layerGroup().addTo(map);
function showPlan(plan) {
  P = plan;
  routeLayer.clearLayers();
  P.alternatives.forEach(function (r) {
    L.polyline(r.coords, { color: STYLE.alt.color, weight: STYLE.alt.weight, opacity: STYLE.alt.opacity,
      dashArray: STYLE.alt.dashArray }).bindTooltip(el("span", fmt(r) + " (" + vsWords(r) + ")")).addTo(routeLayer);
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
      .addTo(routeLayer);
    cells[k].length.textContent = C.fmtInt(P[k].length_m) + " m";
    cells[k].walk.textContent = C.walkMin(P[k].length_m) + " min";
    cells[k].exposure.textContent = expo(P[k].exposure);
  });
  document.getElementById("comparison").textContent = comparisonWords();
  document.getElementById("alternatives").textContent = P.alternatives.length
    ? C.t("sr.alternatives", {n: P.alternatives.length, list: P.alternatives.map(vsWords).join("; ")})
    : C.t("sr.no_alternatives");
  altRow.hidden = !P.alternatives.length;
  Figures.refresh();
}

// ---- the two ends: markers, the inputs, the next click ------------------------------------------------------------
var inputs = { from: document.getElementById("sr-from"), to: document.getElementById("sr-to") };
var statusBox = document.getElementById("sr-status"), errorBox = document.getElementById("sr-error");
var markers = {};
["from", "to"].forEach(function (k) {
  markers[k] = L.marker([0, 0], { draggable: true, keyboard: false, title: C.t(k === "from" ? "sr.start" : "sr.destination"),
    alt: C.t(k === "from" ? "sr.start" : "sr.destination"),
    icon: L.divIcon({ className: "sr-end sr-end-" + k, iconSize: [18, 18], iconAnchor: [9, 9] }) });
  markers[k].on("dragend", function () {
    var p = markers[k].getLatLng();
    setEnd(k, [p.lat, p.lng], false);
  });
});
function place(k, p) {
  ends[k] = p;
  markers[k].setLatLng(p);
  if (!map.hasLayer(markers[k])) markers[k].addTo(map);
  inputs[k].value = p[0].toFixed(6) + ", " + p[1].toFixed(6);
}
function nextEnd() { return document.getElementById("sr-next-to").checked ? "to" : "from"; }
function say(text) { statusBox.textContent = text; }
function refuse(text) { errorBox.textContent = text; errorBox.hidden = false; say(""); }
var LATLON = /^\s*\(?\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*\)?\s*$/;  // analysis/fast_route.py LATLON
function parseLatLon(text) {
  var m = LATLON.exec(text || "");
  if (!m || Math.abs(+m[1]) > 90 || Math.abs(+m[2]) > 180) return null;
  return [+m[1], +m[2]];
}

var router = null, SR = { showPlan: showPlan, ends: ends, last: null };
window.civicmap.safeRoute = SR;
function endWords(k) { return C.t(k === "from" ? "sr.the_start" : "sr.the_destination"); }
function metres(m) { return C.fmtInt(m); }
// plan (router.planNodes) -> what showPlan draws: the planner's fields, and each route's warehouse edges
function pagePlan(res) {
  var p = res.plan;
  function withEdges(r) {
    return { length_m: r.length_m, minutes: r.minutes, exposure: r.exposure, coords: r.coords, lambda: r.lambda,
             vs_shortest: r.vs_shortest, within_detour: r.within_detour, nodes: r.nodes,
             edge_ids: r.edges.map(router.edgeId), edge_exposure: r.edges.map(function (e) { return router.risk[e]; }) };
  }
  function same(a, b) { return a.nodes.length === b.nodes.length && a.nodes.every(function (n, i) { return n === b.nodes[i]; }); }
  return { shortest: withEdges(p.shortest), safer: withEdges(p.safer),
           alternatives: p.pareto.filter(function (r) { return !same(r, p.shortest) && !same(r, p.safer); }).map(withEdges),
           alpha: p.alpha, detour: p.detour, margin: data.plan.margin, comparison: p.comparison,
           ends: { from: { snap_m: router.pyRound(res.snap_from, 1) }, to: { snap_m: router.pyRound(res.snap_to, 1) } } };
}
// Route the pair `a` -> `b` in the page: the new routes drawn and the URL updated, or a refusal (the pair kept as it was).
function routePair(a, b, opts) {
  opts = opts || {};
  errorBox.hidden = true;
  var res = router.route(a, b);
  SR.last = res;
  if (res.error) {
    if (res.error === "far") {
      var p = res.end === "from" ? a : b;
      refuse(C.t("sr.too_far", {end: endWords(res.end), lat: p[0].toFixed(5), lon: p[1].toFixed(5),
                                km: C.fmtNum(res.snap_m / 1000, 1), limit: metres(router.limit)}));
    } else {
      refuse(C.t("sr.separate", {m: metres(res.apart_m)}));
    }
    return res;
  }
  place("from", a); place("to", b);
  showPlan(pagePlan(res));
  var words = [C.t("sr.routed", {ms: C.fmtNum(res.ms, res.ms < 10 ? 1 : 0), a: metres(res.snap_from), b: metres(res.snap_to)})];
  ["from", "to"].forEach(function (k) {
    var d = k === "from" ? res.snap_from : res.snap_to;
    if (d > router.note) words.push(C.t("sr.snap_note", {end: endWords(k), m: metres(d)}));
  });
  say(words.join(" "));
  var q = new URLSearchParams(window.location.search);
  q.set("from", llText(a)); q.set("to", llText(b));
  var url = window.location.pathname + "?" + q.toString().replace(/%2C/g, ",") + window.location.hash;
  try { window.history.replaceState(null, "", url); } catch (err) { /* file: quirks: the pair stays on the page */ }
  if (opts.fit) map.fitBounds(L.latLngBounds(P.shortest.coords.concat(P.safer.coords)), { padding: [30, 30] });
  return res;
}
function setEnd(k, p, advance) {
  if (!router) { markers[k].setLatLng(ends[k]); return { error: "loading" }; }  // a drag before the graph is ready
  var pair = { from: ends.from, to: ends.to };
  pair[k] = p;
  var res = routePair(pair.from, pair.to);
  if (res.error) {  // refused: the marker goes back where the routes start or end
    if (ends[k]) markers[k].setLatLng(ends[k]);
    return res;
  }
  if (advance) document.getElementById(k === "from" ? "sr-next-to" : "sr-next-from").checked = true;
  return res;
}
SR.setEnd = setEnd;
SR.plan = function () { return P; };
SR.route = function (a, b) { return routePair(a, b, { fit: true }); };

// the stored pair first: its two points as the profile gave them, else the ends of the shortest route
var stored = P.shortest.coords;
place("from", data.plan.ends.from ? [data.plan.ends.from.lat, data.plan.ends.from.lon] : stored[0]);
place("to", data.plan.ends.to ? [data.plan.ends.to.lat, data.plan.ends.to.lon] : stored[stored.length - 1]);
showPlan(P);
say(C.t("sr.loading"));
document.getElementById("sr-form").addEventListener("submit", function (ev) {
  ev.preventDefault();
  if (!router) return;
  var a = parseLatLon(inputs.from.value), b = parseLatLon(inputs.to.value);
  if (!a || !b) { refuse(C.t("sr.bad_latlon", {end: endWords(a ? "to" : "from")})); (a ? inputs.to : inputs.from).focus(); return; }
  SR.route(a, b);
});

var tInflate = performance.now();
return inflateBlob(data.router.z).then(function (buf) {
  var t0 = performance.now();
  SR.inflateMs = t0 - tInflate;
  router = SafeRouter(unpackBlob(buf));
  SR.router = router;
  SR.loadMs = performance.now() - t0;   // inflated blob -> router (CSR, networks, bound)
  (function () {   // the base map's streets: the walk graph's edges (maps/safe_route.py sends no second copy)
    var segs = new Array(router.edges), eu = router.head.cols.u, ev = router.head.cols.v;
    for (var e = 0; e < router.edges; e++) segs[e] = [[router.lat[eu[e]], router.lon[eu[e]]], [router.lat[ev[e]], router.lon[ev[e]]]];
    C.baseLayers.streets = L.polyline(segs, { renderer: L.canvas({ pane: "base", padding: 0.3 }), interactive: false,
                                              color: "#a4acb3", weight: 1, opacity: 0.9 }).addTo(map);
  })();
  SR.streetsMs = performance.now() - t0 - SR.loadMs;
  say(C.t("sr.ready", {nodes: C.fmtInt(router.nodes)}));
  map.on("click", function (ev) { setEnd(nextEnd(), [ev.latlng.lat, ev.latlng.lng], true); });
  window.civicA11y.mapPicker(map, { label: C.t("sr.map_label"),
    onPick: function (c) { setEnd(nextEnd(), [c.lat, c.lng], true); } });
  var q = new URLSearchParams(window.location.search), qa = q.get("from"), qb = q.get("to");
  if (qa !== null || qb !== null) {  // a link to a pair: route it, or say what is wrong with it
    var a = parseLatLon(qa), b = parseLatLon(qb);
    if (a && b) SR.route(a, b);
    else refuse(C.t("sr.bad_latlon", {end: endWords(a ? "to" : "from")}));
  }
}).catch(function (err) {
  refuse(String(err && err.message ? err.message : err));
  throw err;
});
