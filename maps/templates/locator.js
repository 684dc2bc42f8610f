// Service locator page code (maps/locator.py), run as function (C, data) by the page shell (shell.js).
// The walk graph arrives in the data block: snapping, Dijkstra and the open-at test run here with the
// same arithmetic as civicmash.analysis.nearest, so a click anywhere answers offline.
var el = C.el, map = C.map, S = data.services, NET = data.net;
// Each category's words in the reader's language (C.categoryLabel: shell.js); a profile's own category as written.
var CATS = data.cats.map(function (c) {
  return { id: c.id, label: C.categoryLabel(c.id, c.label), about: C.categoryAbout(c.id, C.t("loc.category_published")) };
});
var NN = NET.x.length, NE = NET.u.length, NA = NET.ap.svc.length, NS = S.name.length;
(function () {   // decimetres / centimetres -> metres (see _net_payload)
  var j; for (j = 0; j < NN; j++) { NET.x[j] /= 10; NET.y[j] /= 10; }
  for (j = 0; j < NE; j++) { NET.len[j] /= 100; }
  NET.ap.toU = new Float64Array(NA); NET.ap.toV = new Float64Array(NA);
  for (j = 0; j < NA; j++) { NET.ap.off[j] /= 100; var L0 = NET.len[NET.ap.edge[j]];
    NET.ap.toU[j] = NET.ap.off[j] + NET.ap.t[j] * L0; NET.ap.toV[j] = NET.ap.off[j] + (1 - NET.ap.t[j]) * L0; }
})();
function unpackRings(polys) {
  return polys.map(function (rings) { return rings.map(function (flat) {
    var out = [], x = Math.round(data.origin[1] * 1e5), y = Math.round(data.origin[0] * 1e5);
    for (var q = 0; q + 1 < flat.length; q += 2) { x += flat[q]; y += flat[q + 1]; out.push([y / 1e5, x / 1e5]); }
    return out; }); });
}
var CELL = 150;
var state = { point: data.point, day: null, minute: 600, openOnly: false, results: null, shown: {} };
window.locatorState = state;

// ---- graph (adjacency) -------------------------------------------------------------------------
var deg = new Int32Array(NN + 1), i, k;
for (i = 0; i < NE; i++) { deg[NET.u[i] + 1]++; deg[NET.v[i] + 1]++; }
for (i = 0; i < NN; i++) { deg[i + 1] += deg[i]; }
var adjN = new Int32Array(2 * NE), adjE = new Int32Array(2 * NE), fill = deg.slice(0, NN);
for (i = 0; i < NE; i++) {
  adjN[fill[NET.u[i]]] = NET.v[i]; adjE[fill[NET.u[i]]++] = i;
  adjN[fill[NET.v[i]]] = NET.u[i]; adjE[fill[NET.v[i]]++] = i;
}
function toLatLng(x, y) { return [y / NET.ky + NET.lat0, x / NET.kx + NET.lon0]; }
function toXY(lat, lon) { return [(lon - NET.lon0) * NET.kx, (lat - NET.lat0) * NET.ky]; }

// ---- exact nearest segment: a bucket grid; rings until no unseen segment can be nearer ----------
var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
for (i = 0; i < NN; i++) { minX = Math.min(minX, NET.x[i]); maxX = Math.max(maxX, NET.x[i]);
  minY = Math.min(minY, NET.y[i]); maxY = Math.max(maxY, NET.y[i]); }
var GW = Math.floor((maxX - minX) / CELL) + 1, GH = Math.floor((maxY - minY) / CELL) + 1, buckets = new Map();
for (i = 0; i < NE; i++) {
  var ax = NET.x[NET.u[i]], ay = NET.y[NET.u[i]], bx = NET.x[NET.v[i]], by = NET.y[NET.v[i]];
  var c0 = Math.floor((Math.min(ax, bx) - minX) / CELL), c1 = Math.floor((Math.max(ax, bx) - minX) / CELL);
  var r0 = Math.floor((Math.min(ay, by) - minY) / CELL), r1 = Math.floor((Math.max(ay, by) - minY) / CELL);
  for (var cx = c0; cx <= c1; cx++) { for (var cy = r0; cy <= r1; cy++) {
    var key = cx * 1048576 + cy; var b = buckets.get(key); if (!b) { b = []; buckets.set(key, b); } b.push(i); } }
}
var seen = new Int32Array(NE), stamp = 0;
function project(x, y, e) {
  var ax = NET.x[NET.u[e]], ay = NET.y[NET.u[e]], dx = NET.x[NET.v[e]] - ax, dy = NET.y[NET.v[e]] - ay;
  var den = dx * dx + dy * dy, t = den > 0 ? ((x - ax) * dx + (y - ay) * dy) / den : 0;
  t = Math.max(0, Math.min(1, t));
  var px = ax + t * dx, py = ay + t * dy;
  return [t, Math.hypot(x - px, y - py), px, py];
}
function snap(x, y) {
  stamp++;
  var cx = Math.floor((x - minX) / CELL), cy = Math.floor((y - minY) / CELL), best = null, bestE = -1;
  var maxR = Math.max(GW, GH) + Math.abs(cx) + Math.abs(cy) + 2;
  for (var r = 0; r <= maxR; r++) {
    for (var dx = -r; dx <= r; dx++) { for (var dy = -r; dy <= r; dy++) {
      if (Math.max(Math.abs(dx), Math.abs(dy)) !== r) { continue; }
      var b = buckets.get((cx + dx) * 1048576 + (cy + dy)); if (!b) { continue; }
      for (var j = 0; j < b.length; j++) {
        var e = b[j]; if (seen[e] === stamp) { continue; } seen[e] = stamp;
        var p = project(x, y, e);
        if (best === null || p[1] < best[1] || (p[1] === best[1] && e < bestE)) { best = p; bestE = e; }
      } } }
    if (best !== null && best[1] <= r * CELL) { break; }
  }
  return { edge: bestE, t: best[0], off: best[1], px: best[2], py: best[3] };
}

// ---- Dijkstra from the origin's segment ends --------------------------------------------------
function dijkstra(seeds) {
  var dist = new Float64Array(NN).fill(Infinity), pred = new Int32Array(NN).fill(-1);
  var hd = [], hn = [];
  function push(d, n) { hd.push(d); hn.push(n); var c = hd.length - 1;
    while (c > 0) { var p = (c - 1) >> 1; if (hd[p] <= hd[c]) { break; }
      var t = hd[p]; hd[p] = hd[c]; hd[c] = t; t = hn[p]; hn[p] = hn[c]; hn[c] = t; c = p; } }
  function pop() { var d = hd[0], n = hn[0], ld = hd.pop(), ln = hn.pop();
    if (hd.length) { hd[0] = ld; hn[0] = ln; var c = 0;
      for (;;) { var l = 2 * c + 1, r = l + 1, m = c;
        if (l < hd.length && hd[l] < hd[m]) { m = l; } if (r < hd.length && hd[r] < hd[m]) { m = r; }
        if (m === c) { break; } var t = hd[m]; hd[m] = hd[c]; hd[c] = t; t = hn[m]; hn[m] = hn[c]; hn[c] = t; c = m; } }
    return [d, n]; }
  seeds.forEach(function (s) { if (s[1] < dist[s[0]]) { dist[s[0]] = s[1]; push(s[1], s[0]); } });
  while (hd.length) {
    var top = pop(), d = top[0], n = top[1];
    if (d > dist[n]) { continue; }
    for (var a = deg[n]; a < deg[n + 1]; a++) {
      var m = adjN[a], nd = d + NET.len[adjE[a]];
      if (nd < dist[m]) { dist[m] = nd; pred[m] = n; push(nd, m); }
    }
  }
  return { dist: dist, pred: pred };
}

// A service's week as warehouse/hours.py Schedule.describe() writes it ("Mon 10:00-18:00; Tue closed; Wed ?", ? =
// unknown), in the reader's words: k = the days the source gives (bit d), iv = [day, opens, closes] in minutes.
function hhmm(m) {
  return m > 1440 ? "+" + hhmm(m - 1440) : (m < 600 ? "0" : "") + Math.floor(m / 60) + ":" + (m % 60 < 10 ? "0" : "") + (m % 60);
}
function weekWords(sc) {
  var parts = [];
  for (var d = 1; d <= 7; d++) {
    var ivs = sc.iv.filter(function (x) { return x[0] === d; }).map(function (x) { return hhmm(x[1]) + "-" + hhmm(x[2]); });
    parts.push(C.t("day." + d) + " " + (!(sc.k & (1 << d)) ? "?" : ivs.length ? ivs.join(", ") : C.t("loc.closed")));
  }
  return parts.join("; ");
}
function isOpen(si) {
  if (state.day === null) { return null; }
  var s = S.sched[si]; if (!s) { return null; }
  var day = state.day, prev = day === 1 ? 7 : day - 1, m = state.minute, j, iv;
  for (j = 0; j < s.iv.length; j++) { iv = s.iv[j];
    if (iv[0] === prev && iv[1] <= m + 1440 && m + 1440 < iv[2]) { return true; } }
  if (!(s.k & (1 << day))) { return null; }
  for (j = 0; j < s.iv.length; j++) { iv = s.iv[j]; if (iv[0] === day && iv[1] <= m && m < iv[2]) { return true; } }
  return false;
}

// ---- locate: the same arithmetic as analysis/nearest.py ------------------------------------------
function locate(lat, lon) {
  var xy = toXY(lat, lon), sn = snap(xy[0], xy[1]), e = sn.edge, L = NET.len[e];
  var out = { lat: lat, lon: lon, snap: sn, perCat: [], far: sn.off > NET.maxAccess };
  var r = dijkstra([[NET.u[e], sn.off + sn.t * L], [NET.v[e], sn.off + (1 - sn.t) * L]]);
  out.search = r;
  var best = new Float64Array(NS).fill(Infinity), bestAp = new Int32Array(NS).fill(-1);
  for (var a = 0; a < NA; a++) {
    var ae = NET.ap.edge[a], du = r.dist[NET.u[ae]] + NET.ap.toU[a], dv = r.dist[NET.v[ae]] + NET.ap.toV[a];
    var d = Math.min(du, dv);
    if (ae === e) { d = Math.min(d, sn.off + NET.ap.off[a] + Math.abs(sn.t - NET.ap.t[a]) * L); }
    var s = NET.ap.svc[a];
    if (d < best[s] || (d === best[s] && a < bestAp[s])) { best[s] = d; bestAp[s] = a; }
  }
  if (out.far) { best.fill(Infinity); }
  out.best = best; out.bestAp = bestAp;
  return out;
}
function ranked(res, ci) {
  var list = [];
  for (var s = 0; s < NS; s++) {
    if (S.cat[s] !== ci || !isFinite(res.best[s])) { continue; }
    var open = isOpen(s);
    if (state.openOnly && open !== true) { continue; }
    list.push([res.best[s], s, open]);
  }
  list.sort(function (p, q) { return p[0] - q[0] || p[1] - q[1]; });
  return list.slice(0, data.n).map(function (p) {
    return { index: p[1], dist_m: Math.round(p[0] * 10) / 10, minutes: Math.round(p[0] / NET.speed / 6) / 10, open: p[2] };
  });
}
function pathTo(res, a) {
  var ae = NET.ap.edge[a], sn = res.snap, pts = [[res.lat, res.lon], toLatLng(sn.px, sn.py)];
  var du = res.search.dist[NET.u[ae]] + NET.ap.toU[a], dv = res.search.dist[NET.v[ae]] + NET.ap.toV[a];
  var direct = ae === sn.edge ? sn.off + NET.ap.off[a] + Math.abs(sn.t - NET.ap.t[a]) * NET.len[ae] : Infinity;
  if (direct > Math.min(du, dv)) {
    var n = du <= dv ? NET.u[ae] : NET.v[ae], chain = [];
    while (n >= 0) { chain.push(toLatLng(NET.x[n], NET.y[n])); n = res.search.pred[n]; }
    pts = pts.concat(chain.reverse());
  }
  var t = NET.ap.t[a], ax = NET.x[NET.u[ae]], ay = NET.y[NET.u[ae]];
  pts.push(toLatLng(ax + t * (NET.x[NET.v[ae]] - ax), ay + t * (NET.y[NET.v[ae]] - ay)));
  pts.push([NET.ap.lat[a], NET.ap.lon[a]]);
  return pts;
}

// ---- layers -------------------------------------------------------------------------------------
(function () {   // the base streets, from the walk graph
  var segs = [];
  for (var e = 0; e < NE; e++) { segs.push([toLatLng(NET.x[NET.u[e]], NET.y[NET.u[e]]), toLatLng(NET.x[NET.v[e]], NET.y[NET.v[e]])]); }
  var sl = L.polyline(segs, { renderer: L.canvas({ pane: "base", padding: 0.3 }), interactive: false, color: "#a4acb3",
                              weight: 1, opacity: 0.9 });
  C.baseLayers.streets = sl; sl.addTo(map);
})();
map.createPane("gaps").style.zIndex = 380;
map.createPane("iso").style.zIndex = 390;
var gapLayer = L.layerGroup().addTo(map), isoLayer = L.layerGroup().addTo(map), routeLayer = L.layerGroup().addTo(map);
var catLayers = CATS.map(function () { return L.layerGroup().addTo(map); });
var colours = CATS.map(function (c, j) { return C.palette[j % C.palette.length]; });
for (var s0 = 0; s0 < NS; s0++) {
  if (S.cat[s0] < 0) { continue; }
  (function (s) {
    var pop = el("div");
    pop.appendChild(el("strong", S.name[s]));
    pop.appendChild(el("div", CATS[S.cat[s]].label + (S.subtype && S.subtype[s] ? " (" + S.subtype[s] + ")" : ""), "cm-muted"));
    if (S.address[s]) { pop.appendChild(el("div", S.address[s])); }
    pop.appendChild(el("div", S.sched[s] ? C.t("loc.hours", {hours: weekWords(S.sched[s])}) : C.t("loc.hours_none"), "cm-muted"));
    if (!S.onNet[s]) { pop.appendChild(el("div", C.t("loc.too_far"), "cm-muted")); }
    L.circleMarker([S.lat[s], S.lon[s]], { renderer: C.canvas, radius: 4, weight: 1, color: colours[S.cat[s]],
      fillColor: S.onNet[s] ? "#fff" : "#ccc", fillOpacity: 0.95 }).bindPopup(pop).addTo(catLayers[S.cat[s]]);
  })(s0);
}
var marker = L.circleMarker(data.point, { radius: 8, color: "#fff", weight: 3, fillColor: "#000", fillOpacity: 1 })
  .bindTooltip(el("span", C.t("loc.start_here"))).addTo(map);

// ---- category toggles --------------------------------------------------------------------------
var catBox = document.getElementById("loc-cats");
CATS.forEach(function (c, j) {
  var row = el("div", null, "cm-row"), cb = el("input"), lab = el("label"), sw = el("span", null, "cm-swatch");
  cb.type = "checkbox"; cb.checked = true; cb.id = "cat-" + j; sw.style.background = colours[j]; lab.htmlFor = cb.id;
  lab.appendChild(el("span", c.label)); lab.title = c.about;
  cb.addEventListener("change", function () {
    if (cb.checked) { catLayers[j].addTo(map); } else { map.removeLayer(catLayers[j]); }
    state.shown[j] = cb.checked; render();
  });
  state.shown[j] = true;
  row.appendChild(cb); row.appendChild(sw); row.appendChild(lab); catBox.appendChild(row);
});

// ---- the nearest list ------------------------------------------------------------------------------
var list = document.getElementById("nearest-list");
var nearestRows = [];  // what the "How are the minutes computed?" control explains
function render() {
  var res = state.results; list.textContent = ""; routeLayer.clearLayers(); nearestRows = [];
  if (!res) { Figures.refresh(); return; }
  document.getElementById("loc-where").textContent = res.far
    ? C.t("loc.far", {dist: C.fmtDist(res.snap.off)})
    : C.t("loc.from_marker", {lat: res.lat.toFixed(5), lon: res.lon.toFixed(5)})
      + (res.snap.off > 50 ? " " + C.t("loc.straight", {dist: C.fmtDist(res.snap.off)}) : "");
  state.listed = [];
  CATS.forEach(function (c, j) {
    if (!state.shown[j]) { return; }
    var rows = res.initial && res.initial[j] ? res.initial[j] : ranked(res, j);
    state.listed.push({ category: c.id, results: rows });
    var li = el("li", null, "cm-cat"), head = el("div", null, "cm-row"), sw = el("span", null, "cm-swatch");
    sw.style.background = colours[j]; head.appendChild(sw); head.appendChild(el("strong", c.label)); li.appendChild(head);
    if (!rows.length) { li.appendChild(el("div", state.openOnly ? C.t("loc.none_open") : C.t("loc.none_reach"), "cm-muted")); }
    rows.forEach(function (r, q) {
      var line = el("div", null, "cm-result");
      var status = r.open === true ? C.t("loc.open") : r.open === false ? C.t("loc.closed") : state.day === null ? "" : C.t("loc.hours_unknown");
      line.appendChild(el("span", (q + 1) + ". " + S.name[r.index]));
      var info = el("span", " \u2014 ", "cm-muted"), mins = el("span", C.i18n.isDefault ? r.minutes.toFixed(1) : C.fmtNum(r.minutes, 1));
      info.appendChild(mins);
      info.appendChild(document.createTextNode(" " + C.t("loc.walk_facts", {m: C.fmtInt(r.dist_m)}) + (status ? " \u00b7 " + status : "")));
      line.appendChild(info);
      li.appendChild(line);
      nearestRows.push({ label: c.label + ": " + (q + 1) + ". " + S.name[r.index], target: mins,
        values: { city: data.city, category: c.id, name: S.name[r.index] || "", lat: S.lat[r.index], lon: S.lon[r.index],
                  dist_m: r.dist_m, near: state.point[0] + "," + state.point[1] } });
      if (q === 0 && res.bestAp) {
        L.polyline(pathTo(res, res.bestAp[r.index]), { color: colours[j], weight: 4, opacity: 0.85, interactive: false }).addTo(routeLayer);
      }
    });
    list.appendChild(li);
  });
  Figures.refresh();
}
Figures.control("locator.nearest_minutes", { after: list, pick: C.t("loc.pick_service"), label: C.t("loc.fig_minutes"),
  rows: function () { return nearestRows; } });
function locateAt(lat, lon, initial) {
  state.point = [lat, lon]; marker.setLatLng([lat, lon]);
  var res = locate(lat, lon);
  if (initial) { res.initial = {}; initial.forEach(function (e) {
      var j = CATS.findIndex(function (c) { return c.id === e.category; }); if (j >= 0) { res.initial[j] = e.results; } }); }
  state.results = res; render(); drawIso();
  return state.listed;
}
window.locatorLocate = function (lat, lon) { return locateAt(lat, lon, null); };
map.on("click", function (ev) { locateAt(ev.latlng.lat, ev.latlng.lng, null); });

function readTime() {
  var dv = document.getElementById("loc-day").value, tv = document.getElementById("loc-time").value || "00:00";
  state.day = dv === "" ? null : parseInt(dv, 10);
  var hm = tv.split(":"); state.minute = parseInt(hm[0], 10) * 60 + parseInt(hm[1] || "0", 10);
  state.openOnly = document.getElementById("loc-open-only").checked;
  if (state.results) { state.results.initial = null; }
  render();
}
["loc-day", "loc-time", "loc-open-only"].forEach(function (id) { document.getElementById(id).addEventListener("change", readTime); });
if (data.at) {
  document.getElementById("loc-day").value = String(data.at[0]);
  document.getElementById("loc-time").value = hhmm(data.at[1]);
  state.day = data.at[0]; state.minute = data.at[1];
}

// ---- walking areas ------------------------------------------------------------------------------
var ISO_COL = { 5: "#1a9850", 10: "#fdae61", 15: "#d73027" };
function isoColour(m) { return ISO_COL[m] || "#7570b3"; }
var isoSel = document.getElementById("iso-mode");
CATS.forEach(function (c) {
  if (!data.iso.category[c.id]) { return; }
  var o = el("option", C.t("loc.around_every", {category: c.label.toLowerCase()})); o.value = "cat:" + c.id; isoSel.appendChild(o);
});
function drawIso() {
  isoLayer.clearLayers();
  var mode = isoSel.value, note = document.getElementById("iso-note"), polys = [];
  if (mode === "none") { note.textContent = ""; return; }
  if (mode === "point") {
    var atStart = state.point[0] === data.point[0] && state.point[1] === data.point[1];
    if (atStart) { polys = data.iso.point; note.textContent = C.t("loc.iso_point"); }
    else if (state.results && !state.results.far) {
      var dist = state.results.search.dist, lines = { 5: [], 10: [], 15: [] };
      [15, 10, 5].forEach(function (m) {
        var budget = m * 60 * NET.speed;
        for (var e = 0; e < NE; e++) {
          var u = NET.u[e], v = NET.v[e], L = NET.len[e] || 1e-9;
          var fu = Math.max(0, Math.min(1, (budget - dist[u]) / L)), fv = Math.max(0, Math.min(1, (budget - dist[v]) / L));
          if (!(fu > 0 || fv > 0)) { continue; }
          var a = toLatLng(NET.x[u], NET.y[u]), b = toLatLng(NET.x[v], NET.y[v]);
          if (fu + fv >= 1) { lines[m].push([a, b]); continue; }
          if (fu > 0) { lines[m].push([a, [a[0] + fu * (b[0] - a[0]), a[1] + fu * (b[1] - a[1])]]); }
          if (fv > 0) { lines[m].push([b, [b[0] + fv * (a[0] - b[0]), b[1] + fv * (a[1] - b[1])]]); }
        }
      });
      [15, 10, 5].forEach(function (m) {
        if (lines[m].length) { L.polyline(lines[m], { pane: "iso", color: isoColour(m), weight: 5, opacity: 0.7, interactive: false }).addTo(isoLayer); }
      });
      note.textContent = C.t("loc.iso_streets");
      return;
    }
  } else {
    polys = data.iso.category[mode.slice(4)] || [];
    note.textContent = C.t("loc.iso_category");
  }
  polys.slice().sort(function (p, q) { return q.minutes - p.minutes; }).forEach(function (p) {
    L.polygon(unpackRings(p.rings), { pane: "iso", interactive: false, color: isoColour(p.minutes), weight: 1.5,
      fillColor: isoColour(p.minutes), fillOpacity: 0.18 }).addTo(isoLayer);
  });
}
isoSel.addEventListener("change", drawIso);

// ---- coverage gaps ------------------------------------------------------------------------------
var gapCat = document.getElementById("gap-cat"), gapMin = document.getElementById("gap-min");
(function () { var o = el("option", C.t("loc.hide_gaps")); o.value = ""; gapCat.appendChild(o); })();
CATS.forEach(function (c) { if (data.coverage[c.id]) { var o = el("option", c.label); o.value = c.id; gapCat.appendChild(o); } });
gapCat.value = data.coverage.library ? "library" : (gapCat.options.length > 1 ? gapCat.options[1].value : "");
data.thresholds.forEach(function (m) { var o = el("option", C.t("loc.n_min", {n: m})); o.value = String(m); gapMin.appendChild(o); });
if (data.thresholds.indexOf(10) >= 0) { gapMin.value = "10"; }
var GAP = ["#fff5f0", "#fcbba1", "#fb6a4a", "#cb181d", "#67000d"];
function gapColour(v) { return v === null ? "#bbb" : GAP[Math.min(4, Math.floor(v * 5))]; }
var legend = document.getElementById("gap-legend");
["0-20%", "20-40%", "40-60%", "60-80%", "80-100%"].forEach(function (t, j) { legend.appendChild(C.legendRow(GAP[j], C.t("loc.share_beyond", {range: t}))); });
legend.appendChild(C.legendRow("#bbb", C.t("loc.no_street_data")));
// the street data's levels (analysis/coverage.py) in the reader's language
function levelWords(level) {
  var key = "loc.level_" + level;
  return C.i18n.has(key) ? C.t(key) : String(level).replace("_", " ");
}
var gapRows = [], gapSummaryRows = [];  // what the coverage controls explain
function gapSummary(byArea) {  // areas mostly beyond the walk, of those measured, and the residents beyond
  var box = document.getElementById("gap-summary"), mostly = 0, measured = 0, residents = 0, known = 0;
  Object.keys(byArea).forEach(function (code) {
    var r = byArea[code];
    if (r[1] === "none") { return; }
    measured++; if (r[0] !== null && r[0] > 0.5) { mostly++; }
    if (r[2] !== null) { residents += r[2]; known++; }
  });
  var values = { city: data.city, category: gapCat.value, minutes: gapMin.value };
  box.hidden = !gapCat.value || !measured;
  document.getElementById("gap-count").textContent = C.fmtInt(mostly);
  document.getElementById("gap-measured").textContent = C.fmtInt(measured);
  document.getElementById("gap-residents").textContent = known ? C.fmtInt(residents) : C.t("loc.unknown_number");
  gapSummaryRows = box.hidden ? [] : [
    { label: C.t("loc.fig_areas_beyond"), key: "locator.gap_areas", target: document.getElementById("gap-count"), values: values }
  ].concat(known ? [{ label: C.t("loc.fig_residents_beyond"), key: "locator.residents_beyond",
                      target: document.getElementById("gap-residents"), values: values }] : []);
}
function drawGaps() {
  gapLayer.clearLayers(); gapRows = [];
  var tbody = document.querySelector("#gap-table tbody"); tbody.textContent = "";
  var byArea = ((data.coverage[gapCat.value] || {})[gapMin.value]) || {}, fc = data.base.boundaries;
  gapSummary(gapCat.value ? byArea : {});
  if (!fc || !fc.features || !gapCat.value) { Figures.refresh(); return; }
  L.geoJSON(fc, { pane: "gaps", style: function (f) {
      var r = byArea[String(f.properties.code)], v = r ? r[0] : null, st = r ? r[1] : "none";
      return { color: st === "none" ? "#666" : "#444", weight: 1, dashArray: st === "none" || st === "partial" ? "4 3" : null,
               fillColor: gapColour(st === "none" ? null : v), fillOpacity: 0.55 };
    }, onEachFeature: function (f, layer) {
      var r = byArea[String(f.properties.code)], tip = el("div");
      tip.appendChild(el("strong", f.properties.name || f.properties.code));
      if (!r || r[1] === "none") { tip.appendChild(el("div", C.t("loc.area_unmeasured"))); }
      else {
        tip.appendChild(el("div", C.t("loc.area_beyond", {pct: Math.round(r[0] * 100), min: gapMin.value})
          + (r[2] !== null ? " " + C.t("loc.about_residents", {n: C.fmtInt(r[2])}) : "")));
        tip.appendChild(el("div", C.t("loc.street_data_is", {level: levelWords(r[1])})
          + (r[1] === "partial" ? " " + C.t("loc.reached", {pct: Math.round(r[5] * 100)}) : ""), "cm-muted"));
      }
      layer.bindTooltip(tip, { sticky: true });
    } }).addTo(gapLayer);
  fc.features.map(function (f) { return [f.properties, byArea[String(f.properties.code)]]; })
    .sort(function (p, q) { var a = p[1] && p[1][1] !== "none" ? p[1][0] : -1, b = q[1] && q[1][1] !== "none" ? q[1][0] : -1; return b - a; })
    .forEach(function (p) {
      var tr = el("tr"), r = p[1];
      tr.appendChild(el("td", p[0].name || p[0].code));
      var measured = r && r[1] !== "none" && r[0] !== null, share = el("td", measured ? Math.round(r[0] * 100) + "%" : "\u2014", "num");
      tr.appendChild(share);
      tr.appendChild(el("td", levelWords(r ? r[1] : "none")));
      tbody.appendChild(tr);
      if (measured) {
        gapRows.push({ label: String(p[0].name || p[0].code), target: share,
                       values: { city: data.city, category: gapCat.value, minutes: gapMin.value, area: String(p[0].code) } });
      }
    });
  Figures.refresh();
}
Figures.control("locator.gap_areas", { after: document.getElementById("gap-summary"), pick: C.t("loc.pick_figure"),
  rows: function () { return gapSummaryRows; } });
Figures.control("locator.gap_share", { after: document.getElementById("gap-table"), pick: C.t("ex.th_area"),
  label: C.t("loc.fig_beyond"), rows: function () { return gapRows; } });
gapCat.addEventListener("change", drawGaps); gapMin.addEventListener("change", drawGaps);
drawGaps();
locateAt(data.point[0], data.point[1], data.initial);
locatorKeyboard();   // the start point by keyboard: place search and the map's crosshair (locator_keyboard.js)
if (data.providers) {  // the providers page (maps/providers.py) compares this category's locations on their outcomes
  document.getElementById("loc-providers-link").textContent = C.t("loc.providers_link_cat", {category: C.categoryLabel(data.providers.id, data.providers.label).toLowerCase()});
  document.getElementById("loc-providers").hidden = false;
}
