// Providers page code (maps/providers.py), run as function (C, data) by the page shell (shell.js), after
// spending_charts.js (money, num, chart, clear, option). A sortable table of the category's locations with their
// indicators, a trend per location, a map, and each indicator's definition and source. Text only (textContent).
var S = data.services, V = data.values, M = data.measures, CM = data.catchment, Y = data.year;
var label = C.categoryLabel(data.category, data.categoryLabel), lower = label.toLowerCase();
// why the catchment has no numbers (maps/providers.py: a reason code), in the reader's language
var WHY = { no_walk_areas: "pv.why_no_walk_areas", no_population: "pv.why_no_population" };
var whyText = CM.why ? C.t(WHY[CM.why.code] || "pv.why_unknown", {category: lower}) : "";
function words(m) { return m.replace(/_/g, " "); }
function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
function cell(k, m, y) { var x = V[String(k)] && V[String(k)][m]; return x ? x[String(y)] || null : null; }
function fullYears(k, m) {
  var x = (V[String(k)] || {})[m] || {};
  return Object.keys(x).filter(function (y) { return x[y][1] >= 12; }).map(Number).sort(function (a, b) { return a - b; });
}
function trend(k) {  // change of the main measure from the location's first full year to the indicator year
  var m = data.visits || (M[0] && M[0].id);
  if (!m || Y === null) { return null; }
  var full = fullYears(k, m), a = cell(k, m, full[0]), b = cell(k, m, Y);
  if (!full.length || full[0] >= Y || !a || !b || b[1] < 12 || a[0] === 0) { return null; }
  return { pct: 100 * (b[0] - a[0]) / a[0], from: full[0] };
}
var catchRow = function (k) { return CM.rows[String(k)] || null; };

// ---- columns: [id, header, value(k), text(k), numeric]
var COLS = [{ id: "name", head: C.t("pv.location"), value: function (k) { return S[k].name.toLowerCase(); }, num: false }];
M.forEach(function (m) {
  COLS.push({ id: "m:" + m.id, head: cap(words(m.id)) + " " + (Y === null ? "" : Y) + " (" + m.unit + ")", num: true,
    value: function (k) { var c = cell(k, m.id, Y); return c ? c[0] : null; },
    text: function (k) { var c = cell(k, m.id, Y); return c ? num(c[0]) + (c[1] < 12 ? " " + C.t("sp.n_months", {n: c[1]}) : "") : "—"; },
    fig: function (k) { return cell(k, m.id, Y) ? { key: "providers.measure_year", values: { city: data.city, service_id: S[k].id, measure: m.id, year: Y } } : null; } });
});
COLS.push({ id: "trend", head: C.t("pv.trend_of", {what: words(data.visits || (M[0] ? M[0].id : ""))}), num: true,
  value: function (k) { var t = trend(k); return t ? t.pct : null; },
  text: function (k) { var t = trend(k); return t ? C.t("pv.since", {pct: (t.pct >= 0 ? "+" : "\u2212") + (C.i18n.isDefault ? Math.abs(t.pct).toFixed(1) : C.fmtNum(Math.abs(t.pct), 1)), year: t.from}) : "—"; } });
COLS.push({ id: "residents", head: C.t("pv.residents_within", {min: CM.minutes || "?"}), num: true,
  value: function (k) { var r = catchRow(k); return r && r.residents !== null ? r.residents : null; },
  text: function (k) { var r = catchRow(k); return r && r.residents !== null ? num(r.residents) : (CM.why ? C.t("pv.not_computed") : C.t("pv.no_walk_area")); },
  fig: function (k) { var r = catchRow(k); return r && r.residents !== null ? { key: "providers.catchment_residents",
    values: { city: data.city, area_codes: r.codes, area_shares: r.shares, area_kind: CM.areaKind } } : null; } });
if (data.visits) {
  COLS.push({ id: "per", head: C.t("pv.per_resident_head", {what: cap(words(data.visits)), year: Y === null ? "" : Y}), num: true,
    value: function (k) { var r = catchRow(k); return r && r.perResident !== undefined && r.perResident !== null ? r.perResident : null; },
    text: function (k) { var r = catchRow(k); return r && r.perResident !== undefined && r.perResident !== null ? (C.i18n.isDefault ? r.perResident.toFixed(2) : C.fmtNum(r.perResident, 2)) : "—"; },
    fig: function (k) { var r = catchRow(k); return r && r.perResident !== undefined && r.perResident !== null ? { key: "providers.visits_per_resident",
      values: { city: data.city, area_codes: r.codes, area_shares: r.shares, area_kind: CM.areaKind, service_id: S[k].id, measure: data.visits, year: Y } } : null; } });
}

$("pv-intro").textContent = C.t(Y === null ? "pv.intro" : "pv.intro_year", {category: lower, city: data.cityTitle, year: Y});
$("pv-about").textContent = (Y === null ? "" : C.t("pv.about_year", {year: Y}) + " ") +
  C.t("pv.about", {category: lower, n: S.length}) + (whyText ? " " + whyText : "");
$("pv-caption").textContent = C.t("pv.caption", {label: label}) + (Y === null ? "" : ", " + Y);

var sort = { col: 0, dir: 1 }, figRows = {}, selected = null, rowsEl = {}, markers = {};
var head = $("pv-head");
COLS.forEach(function (c, j) {
  var th = el("th", null, c.num ? "num" : null), b = el("button", c.head);
  th.scope = "col"; b.type = "button";
  b.addEventListener("click", function () { sort.dir = sort.col === j ? -sort.dir : (c.num ? -1 : 1); sort.col = j; drawTable(); });
  th.appendChild(b); head.appendChild(th);
});
function drawTable() {
  var order = S.map(function (s, k) { return k; }), c = COLS[sort.col];
  order.sort(function (a, b) {
    var x = c.value(a), y = c.value(b);
    if (x === null && y === null) { return S[a].name.localeCompare(S[b].name); }
    if (x === null) { return 1; }
    if (y === null) { return -1; }
    return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || S[a].name.localeCompare(S[b].name);
  });
  Array.prototype.forEach.call(head.children, function (th, j) {
    if (j === sort.col) { th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending"); } else { th.removeAttribute("aria-sort"); }
  });
  $("pv-sorted").textContent = C.t(sort.dir > 0 ? "pv.sorted_up" : "pv.sorted_down", {column: c.head.toLowerCase()});
  var body = clear($("pv-body"));
  figRows = {};
  order.forEach(function (k) {
    var tr = el("tr");
    if (k === selected) { tr.className = "sp-selected"; }
    var th = el("th"), b = el("button", S[k].name); th.scope = "row"; b.type = "button";
    b.addEventListener("click", function () { select(k, true); });
    th.appendChild(b); tr.appendChild(th);
    COLS.slice(1).forEach(function (c) {
      var td = el("td", null, "num"), span = el("span", c.text(k));
      td.appendChild(span); tr.appendChild(td);
      var f = c.fig && c.fig(k);
      if (f) { (figRows[f.key] || (figRows[f.key] = [])).push({ label: S[k].name + (c.id.indexOf("m:") === 0 ? " · " + c.id.slice(2) : ""), target: span, key: f.key, values: f.values }); }
    });
    body.appendChild(tr); rowsEl[k] = tr;
  });
  Figures.refresh();
}

function select(k, fromTable) {
  selected = k;
  Object.keys(rowsEl).forEach(function (j) { rowsEl[j].className = +j === k ? "sp-selected" : ""; });
  var box = $("pv-detail"), chartBox = clear($("pv-trend"));
  box.hidden = false;
  $("pv-detail-heading").textContent = C.t("pv.trend_x", {name: S[k].name});
  var y0 = data.years[0], y1 = data.years[data.years.length - 1];
  M.forEach(function (m) {
    chartBox.appendChild(el("h3", C.t("pv.by_year", {what: cap(words(m.id)), unit: m.unit})));
    var sub = el("div", null, "sp-chart"), rows = [];
    chartBox.appendChild(sub);
    for (var y = y0; y <= y1; y++) {
      var c = cell(k, m.id, y);
      rows.push(c ? { label: String(y), value: c[0], text: num(c[0]), sub: c[1] < 12 ? C.t("pv.only_months", {n: c[1]}) : "" }
                  : { label: String(y), value: null, gapText: C.t("pv.no_counts") });
    }
    chart(sub, rows);
  });
  var r = catchRow(k);
  $("pv-detail-about").textContent = (S[k].address ? S[k].address + ". " : "") + C.t("pv.detail_about", {from: y0, to: y1}) +
    (r && r.residents !== null ? " " + C.t("pv.detail_residents", {n: num(r.residents), min: CM.minutes}) : "");
  if (C.map && markers[k]) {
    if (!fromTable) { /* chosen on the map: the map already shows it */ } else { C.map.setView(markers[k].getLatLng(), Math.max(C.map.getZoom(), 14)); }
    markers[k].openPopup();
  }
  if (fromTable) { $("pv-detail-heading").scrollIntoView && $("pv-detail-heading").scrollIntoView({ block: "nearest" }); }
}

// ---- map
if (C.map) {
  $("sp-map-slot").appendChild($("map"));
  C.map.invalidateSize();
  var bounds = L.latLngBounds([]), mainId = data.visits || (M[0] && M[0].id);
  var max = S.reduce(function (m, s, k) { var c = mainId ? cell(k, mainId, Y) : null; return Math.max(m, c ? c[0] : 0); }, 0) || 1;
  S.forEach(function (s, k) {
    if (s.lat === null || s.lon === null) { return; }
    var c = mainId ? cell(k, mainId, Y) : null, pop = el("div");
    pop.appendChild(el("strong", s.name));
    pop.appendChild(el("div", c ? C.t("pv.pop_counts", {n: num(c[0]), what: words(mainId), year: Y})
      : C.t("pv.pop_none", {what: mainId ? words(mainId) : C.t("pv.counts"), year: Y})));
    var mk = L.circleMarker([s.lat, s.lon], { radius: 4 + 12 * Math.sqrt((c ? c[0] : 0) / max), color: "#1f3a5f", weight: 1,
      fillColor: "#2f6db5", fillOpacity: 0.6 }).bindPopup(pop).addTo(C.map);
    mk.on("click", function () { select(k, false); });
    markers[k] = mk; bounds.extend(mk.getLatLng());
  });
  if (bounds.isValid()) { C.map.fitBounds(bounds.pad(0.1)); }
  $("pv-map-about").textContent = C.t("pv.map_about", {what: mainId ? words(mainId) : C.t("pv.counts"), year: Y});
} else { $("pv-map-box").hidden = true; }

// ---- definitions and sources
var defs = $("pv-defs");
function def(term, text) { defs.appendChild(el("dt", term)); defs.appendChild(el("dd", text)); }
M.forEach(function (m) {
  def(cap(words(m.id)) + " (" + m.unit + ")", C.t("pv.def_measure", {unit: m.unit, sources: m.sources.join(", ") || C.t("pv.the_outcomes_table")}));
});
def(C.t("pv.trend"), C.t("pv.def_trend", {what: words(data.visits || (M[0] ? M[0].id : "")), year: Y}));
def(C.t("pv.def_catchment_term", {min: CM.minutes || "?"}), CM.why ? whyText :
  C.t("pv.def_catchment", {min: CM.minutes, kind: CM.areaKind.replace(/_/g, " "), dataset: CM.popDataset, year: CM.popYear}));
if (data.visits) {
  def(C.t("pv.per_resident_term", {what: cap(words(data.visits))}), C.t("pv.def_per_resident", {what: words(data.visits), year: Y}));
}
if (data.unmatched.length) {
  $("pv-unmatched").hidden = false;
  $("pv-unmatched").textContent = C.t("pv.unmatched", {category: lower, names: data.unmatched.join("; ")});
}

drawTable();
["providers.measure_year", "providers.catchment_residents", "providers.visits_per_resident"].forEach(function (key) {
  if (!Figures.has(key)) { return; }
  var labelWords = { "providers.measure_year": C.t("pv.fig_counts"), "providers.catchment_residents": C.t("pv.fig_catchment"),
    "providers.visits_per_resident": C.t("pv.fig_ratio") }[key];
  Figures.control(key, { after: $("pv-table").parentNode, pick: C.t("pv.location"), label: labelWords, rows: function () { return figRows[key] || []; } });
});
