// Spending explorer page code (maps/spending.py), run as function (C, data) by the page shell (shell.js).
// One column: budget drill-down (department -> fund -> account), year over year per department (gaps as
// gaps), spending by place (map + list), contract revisions by vendor, outcomes beside money. Strings from the
// data only ever go in with textContent (C.el). Every number has its "How is this computed?" SQL (Figures).
var B = data.budget;
var KIND_WORDS = { appropriation: C.t("sp.kind_appropriation"), actual: C.t("sp.kind_actual"),
                   payment: C.t("sp.kind_payment") };
function lines(n) { return C.t(n === 1 ? "sp.n_line" : "sp.n_lines", {n: C.i18n.isDefault ? n : num(n)}); }

function deptName(d) { var x = B.depts[d]; return x.label + (x.abbrev ? " (" + x.abbrev + ")" : ""); }
function fundName(f) { var x = B.funds[f]; return (x.label || C.t("sp.fund_word")) + " (" + C.t("sp.fund_id", {id: x.id}) + ")"; }
function acctName(a) { var x = B.accounts[a]; return (x.label && x.label !== x.key) ? x.label + " (" + C.t("sp.account_id", {id: x.key}) + ")" : x.key; }
// a table that may scroll sideways on a phone: reachable and named for keyboard users (WCAG 2.1.1)
function scrollBox(name) {
  var box = el("div", null, "sp-scroll");
  box.tabIndex = 0;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", C.t("sp.scrolls", {name: name}));
  return box;
}

// ---------------------------------------------------------------------------------------------- budget
var state = { year: data.year, kind: B.kinds.indexOf(data.kind), dept: null, fund: null, all: false };
var yearSel = $("sp-year"), kindSel = $("sp-kind");
function kindYears(k) {  // the years that hold lines of kind k, newest first
  var seen = {};
  B.lines.forEach(function (l) { if (l[1] === k) { seen[l[0]] = true; } });
  return Object.keys(seen).map(Number).sort(function (a, b) { return b - a; });
}
function fillYears() {
  var ys = kindYears(state.kind);
  clear(yearSel);
  ys.forEach(function (y) { option(yearSel, y, String(y)); });
  if (ys.indexOf(state.year) < 0) { state.year = ys.length ? ys[0] : null; }
  if (state.year !== null) { yearSel.value = String(state.year); }
}
B.kinds.forEach(function (k, j) { option(kindSel, j, KIND_WORDS[k] || k); });
if (B.kinds.length < 2) { $("sp-kind-box").hidden = true; }
kindSel.value = String(state.kind);
fillYears();
yearSel.addEventListener("change", function () { state.year = +yearSel.value; state.dept = null; state.fund = null; drawBudget(); drawYoY(); });
kindSel.addEventListener("change", function () { state.kind = +kindSel.value; state.dept = null; state.fund = null; fillYears(); drawBudget(); drawYoY(); });

function sums(filter, by) {  // amount and lines per `by` column of B.lines rows passing `filter`
  var out = {};
  B.lines.forEach(function (l) {
    if (!filter(l)) { return; }
    var k = by < 0 ? 0 : l[by], o = out[k] || (out[k] = { key: k, amount: 0, lines: 0 });
    o.amount += l[5]; o.lines += l[6];
  });
  return Object.keys(out).map(function (k) { return out[k]; }).sort(function (a, b) { return b.amount - a.amount || a.key - b.key; });
}
function inYear(l) { return l[0] === state.year && l[1] === state.kind; }
var kindWord = function () { return B.kinds[state.kind]; };
var levelRows = [], totalRow = null;

function drawBudget() {
  var crumbs = clear($("sp-crumbs")), rows, total, level = state.dept === null ? 0 : state.fund === null ? 1 : 2;
  var base = { city: data.city, fiscal_year: state.year, line_kind: kindWord() };
  $("spend-heading").textContent = C.t("sp.budget_year", {year: state.year});
  if (level > 0) {
    var top = el("button", C.t("sp.all_departments")); top.type = "button";
    top.addEventListener("click", function () { state.dept = null; state.fund = null; drawBudget(); $("sp-crumbs").querySelector("button") || yearSel.focus(); });
    crumbs.appendChild(top);
    crumbs.appendChild(document.createTextNode(" › "));
    if (level === 2) {
      var up = el("button", deptName(state.dept)); up.type = "button";
      up.addEventListener("click", function () { state.fund = null; drawBudget(); });
      crumbs.appendChild(up); crumbs.appendChild(document.createTextNode(" › " + fundName(state.fund)));
    } else { crumbs.appendChild(document.createTextNode(deptName(state.dept))); }
  }
  if (level === 0) {
    rows = sums(inYear, 2);
    total = rows.reduce(function (s, r) { return s + r.amount; }, 0);
    totalRow = { label: "total", key: "spending.year_total", values: base };
    var shown = state.all ? rows : rows.slice(0, data.top);
    levelRows = shown.map(function (r) {
      return { label: deptName(r.key), key: "spending.department_year",
               values: Object.assign({ department_id: B.depts[r.key].id }, base) };
    });
    var amounts = chart($("dept-bars"), shown.map(function (r) {
      return { label: B.depts[r.key].label, abbr: B.depts[r.key].abbrev, value: r.amount, text: money(r.amount),
               sub: lines(r.lines) + " · " + C.t("sp.open_funds"),
               onClick: function () { state.dept = r.key; drawBudget(); focusFirst(); } };
    }));
    var more = rows.length > data.top;
    $("sp-more-box").hidden = !more;
    $("sp-more").textContent = state.all ? C.t("sp.show_top", {n: data.top}) : C.t("sp.show_all", {n: rows.length});
    $("spend-about").textContent = C.t("sp.about_year", {year: state.year, kind: KIND_WORDS[kindWord()] || kindWord(),
      depts: rows.length, lines: num(rows.reduce(function (s, r) { return s + r.lines; }, 0)),
      sets: (B.yearSets[String(state.year)] || []).join(", ") || C.t("sp.the_spending_table")});
  } else if (level === 1) {
    rows = sums(function (l) { return inYear(l) && l[2] === state.dept; }, 3);
    total = rows.reduce(function (s, r) { return s + r.amount; }, 0);
    totalRow = { label: deptName(state.dept), key: "spending.department_year",
                 values: Object.assign({ department_id: B.depts[state.dept].id }, base) };
    levelRows = rows.map(function (r) {
      return { label: fundName(r.key), key: "spending.department_fund",
               values: Object.assign({ department_id: B.depts[state.dept].id, fund_id: B.funds[r.key].id }, base) };
    });
    amounts = chart($("dept-bars"), rows.map(function (r) {
      return { label: B.funds[r.key].label || C.t("sp.fund_word"), abbr: C.t("sp.fund_id", {id: B.funds[r.key].id}), value: r.amount, text: money(r.amount),
               sub: lines(r.lines) + " · " + C.t("sp.open_accounts"),
               onClick: function () { state.fund = r.key; drawBudget(); focusFirst(); } };
    }));
    $("sp-more-box").hidden = true;
    $("spend-about").textContent = C.t("sp.about_dept", {dept: deptName(state.dept), year: state.year,
      sets: (B.yearSets[String(state.year)] || []).join(", ")});
  } else {
    rows = sums(function (l) { return inYear(l) && l[2] === state.dept && l[3] === state.fund; }, 4);
    total = rows.reduce(function (s, r) { return s + r.amount; }, 0);
    totalRow = { label: fundName(state.fund), key: "spending.department_fund",
                 values: Object.assign({ department_id: B.depts[state.dept].id, fund_id: B.funds[state.fund].id }, base) };
    levelRows = rows.map(function (r) {
      return { label: acctName(r.key), key: "spending.department_fund_account",
               values: Object.assign({ department_id: B.depts[state.dept].id, fund_id: B.funds[state.fund].id,
                                       account: B.accounts[r.key].key }, base) };
    });
    amounts = chart($("dept-bars"), rows.map(function (r) {
      var a = B.accounts[r.key];
      return { label: a.label || a.key, abbr: a.label && a.label !== a.key ? C.t("sp.account_id", {id: a.key}) : null, value: r.amount,
               text: money(r.amount), sub: lines(r.lines) };
    }));
    $("sp-more-box").hidden = true;
    $("spend-about").textContent = C.t("sp.about_fund", {dept: deptName(state.dept), fund: fundName(state.fund), year: state.year,
      sets: (B.yearSets[String(state.year)] || []).join(", ")});
  }
  if (!rows.length) { $("dept-bars").appendChild(el("p", C.t("sp.no_lines"), "cm-muted")); }
  $("spend-total").textContent = money(total);
  levelRows.forEach(function (r, k) { r.target = amounts[k]; });
  totalRow.target = $("spend-total");
  Figures.refresh();
}
function focusFirst() { var b = $("sp-crumbs").querySelector("button"); if (b) { b.focus(); } }
$("sp-more").addEventListener("click", function () { state.all = !state.all; drawBudget(); });
drawBudget();
Figures.control("spending.year_total", { after: $("spend-total").parentNode, rows: function () { return [totalRow]; } });
Figures.control("spending.department_year", { after: $("sp-more-box"), pick: C.t("sp.pick_row"), label: C.t("sp.fig_totals"),
  rows: function () { return levelRows; } });

// ------------------------------------------------------------------------------------------ year over year
var yoySel = $("sp-yoy-dept"), P = data.price, POP = data.population, yoyRows = [];
(function () {
  var latest = sums(function (l) { return l[0] === B.years[B.years.length - 1] && l[1] === state.kind; }, 2);
  var order = B.depts.map(function (d, j) { return j; }).sort(function (a, b) { return deptName(a).localeCompare(deptName(b)); });
  order.forEach(function (j) { option(yoySel, j, deptName(j)); });
  if (latest.length) { yoySel.value = String(latest[0].key); }
})();
if (!P) { $("sp-mode-constant").disabled = true; }
if (!POP) { $("sp-mode-resident").disabled = true; }
function mode() { var m = document.querySelector("input[name=sp-mode]:checked"); return m ? m.value : "nominal"; }
Array.prototype.forEach.call(document.querySelectorAll("input[name=sp-mode]"), function (r) { r.addEventListener("change", drawYoY); });
yoySel.addEventListener("change", drawYoY);

function drawYoY() {
  var d = +yoySel.value, m = mode(), held = {}, byYear = {};
  var kys = kindYears(state.kind);
  kys.forEach(function (y) { held[y] = true; });
  B.lines.forEach(function (l) { if (l[2] === d && l[1] === state.kind) { byYear[l[0]] = (byYear[l[0]] || 0) + l[5]; } });
  var years = [], y0 = kys[kys.length - 1], y1 = kys[0];
  for (var y = y0; y <= y1; y++) { years.push(y); }
  var notes = [], prev = null, base = { city: data.city, line_kind: B.kinds[state.kind], department_id: B.depts[d].id };
  yoyRows = [];
  var rows = years.map(function (yr) {
    if (!held[yr]) { prev = null; return { label: String(yr), value: null, gapText: C.t("sp.gap_year") }; }
    if (byYear[yr] === undefined) { prev = null; return { label: String(yr), value: null, gapText: C.t("sp.gap_lines") }; }
    var v = byYear[yr], text, key = "spending.department_year", values = Object.assign({ fiscal_year: yr }, base), unit = m;
    if (m === "constant" && P && P.values[String(yr)]) {
      v = Math.round(v * P.to / P.values[String(yr)]); text = money(v);
      key = "spending.department_constant";
      values = Object.assign({ index_to: P.to, index_year: P.values[String(yr)] }, values);
    } else if (m === "resident" && POP) {
      v = v / POP.total; text = cents(v); key = "spending.department_per_resident";
      values = Object.assign({ pop_kind: POP.kind, pop_year: POP.year }, values);
    } else { text = money(v); unit = m === "constant" ? "nominal" : m; }
    var sub = m === "constant" && unit === "nominal" ? C.t("sp.no_index_year", {year: yr}) : "";
    if (prev !== null && prev.unit === unit && prev.value !== 0) {
      var pct = 100 * (v - prev.value) / Math.abs(prev.value);
      sub = C.t("sp.pct_on", {pct: (pct >= 0 ? "+" : "\u2212") + (C.i18n.isDefault ? Math.abs(pct).toFixed(1) : C.fmtNum(Math.abs(pct), 1)),
                              year: prev.year}) + (sub ? " · " + sub : "");
    }
    prev = { value: v, unit: unit, year: yr };
    yoyRows.push({ label: String(yr), key: key, values: values });
    return { label: String(yr), value: v, text: text, sub: sub };
  });
  var amounts = chart($("yoy-bars"), rows), k = 0;
  rows.forEach(function (r, j) { if (r.value !== null) { yoyRows[k++].target = amounts[j]; } });
  notes.push(C.t("sp.yoy_about", {dept: deptName(d), kind: KIND_WORDS[B.kinds[state.kind]] || B.kinds[state.kind], from: y0, to: y1,
    sets: B.datasets.join(", ")}));
  if (m === "constant" && P) {
    var missing = years.filter(function (yr) { return held[yr] && byYear[yr] !== undefined && !P.values[String(yr)]; });
    notes.push(C.t("sp.constant_about", {year: P.toYear, source: P.source || C.t("sp.source_not_stated")}) +
      (missing.length ? " " + C.t("sp.no_index", {years: list(missing.map(String))}) : ""));
  }
  if (m === "resident" && POP) {
    notes.push(C.t("sp.resident_about", {n: num(POP.total), year: POP.year, areas: POP.areas, kind: POP.kind, dataset: POP.dataset}));
  }
  if (!P) { notes.push(C.t("sp.no_price_index")); }
  if (!POP) { notes.push(C.t("sp.no_population")); }
  $("sp-yoy-about").textContent = notes.join(" ");
  Figures.refresh();
}
drawYoY();
Figures.control("spending.department_year", { after: $("yoy-bars"), pick: C.t("sp.year"), label: C.t("sp.fig_amounts"),
  rows: function () { return yoyRows; } });

// ------------------------------------------------------------------------------------------ by place
var PL = data.place, placeRows = [], placeLayer = null, pointLayer = null;
if (PL) {
  $("sp-place").hidden = false;
  var pYear = $("sp-place-year"), pCat = $("sp-place-cat"), pMode = $("sp-place-mode");
  PL.years.slice().reverse().forEach(function (y) { option(pYear, y, String(y)); });
  option(pCat, "all", C.t("sp.all_categories"));
  PL.cats.forEach(function (c, j) { option(pCat, j, c); });
  if (!PL.withPopulation) { pMode.querySelector("option[value=resident]").disabled = true; }
  [pYear, pCat, pMode].forEach(function (s) { s.addEventListener("change", drawPlace); });
  var mapEl = $("map");
  if (mapEl && C.map) {  // the page's map lives in this section (the page reads as one column on a phone)
    $("sp-map-slot").appendChild(mapEl);
    C.map.invalidateSize();
  }
} else { $("sp-toc-place").hidden = true; }
var BLUES = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];

function drawPlace() {
  var yr = +pYear.value, cat = pCat.value, m = pMode.value, per = {}, pop;
  PL.rows.forEach(function (r) {
    if (r[1] !== yr || (cat !== "all" && r[2] !== +cat)) { return; }
    var o = per[r[0]] || (per[r[0]] = { amount: 0, projects: 0 }); o.amount += r[3]; o.projects += r[4];
  });
  var items = PL.areas.map(function (a, j) {
    var o = per[j]; pop = a.pop;
    var v = !o ? null : m === "resident" ? (pop ? o.amount / pop : null) : o.amount;
    return { j: j, area: a, o: o, v: v };
  }).filter(function (x) { return x.o; }).sort(function (a, b) { return (b.v === null ? -1 : b.v) - (a.v === null ? -1 : a.v); });
  var values = items.filter(function (x) { return x.v !== null; }).map(function (x) { return x.v; }).sort(function (a, b) { return a - b; });
  var cuts = [0.2, 0.4, 0.6, 0.8].map(function (q) { return values.length ? values[Math.min(values.length - 1, Math.floor(q * values.length))] : 0; });
  function colour(v) { if (v === null || v === undefined) { return "#f3f1ea"; } var c = 0; while (c < 4 && v > cuts[c]) { c++; } return BLUES[c]; }
  var fmt = m === "resident" ? cents : money, byCode = {};
  items.forEach(function (x) { byCode[x.area.code] = x; });
  placeRows = [];
  var amounts = chart($("place-bars"), items.map(function (x) {
    var kindWord = PL.kind.replace(/_/g, " ");
    var name = x.area.name && x.area.name !== x.area.code ? x.area.name + " (" + kindWord + " " + x.area.code + ")"
      : kindWord.charAt(0).toUpperCase() + kindWord.slice(1) + " " + x.area.code;
    var values = { city: data.city, area_kind: PL.kind, area: x.area.code, place_year: yr, place_category: cat === "all" ? "all" : PL.cats[+cat] };
    placeRows.push({ label: name, key: m === "resident" && x.v !== null ? "spending.place_area_per_resident" : "spending.place_area", values: values });
    return { label: name, value: x.v, text: fmt(x.v), gapText: C.t("sp.no_pop_figure"),
             sub: C.t(x.o.projects === 1 ? "sp.n_project" : "sp.n_projects", {n: x.o.projects}) + (m === "resident" ? " · " + money(x.o.amount) : "") };
  }));
  placeRows.forEach(function (r, k) { r.target = amounts[k]; });
  if (!items.length) { $("place-bars").appendChild(el("p", C.t("sp.no_place"), "cm-muted")); }
  var catWord = cat === "all" ? C.t("sp.all_categories") : C.t("sp.category_x", {category: PL.cats[+cat]});
  var areaKind = PL.kind.replace(/_/g, " ");
  $("sp-place-about").textContent = C.t("sp.place_about", {year: yr, category: catWord, kind: areaKind, sets: PL.datasets.join(", ")}) +
    (m === "resident" ? " " + C.t("sp.place_resident") : "") +
    (PL.withPopulation ? "" : " " + C.t("sp.place_no_pop")) +
    (PL.unplaced[String(yr)] ? " " + C.t("sp.unplaced", {amount: money(PL.unplaced[String(yr)][0]), n: PL.unplaced[String(yr)][1], kind: areaKind}) : "") +
    " " + (PL.pointSets.length ? C.t("sp.points", {sets: PL.pointSets.join(", ")}) : C.t("sp.no_points"));
  var legend = clear($("sp-place-legend"));
  if (C.map) {
    if (placeLayer) { C.map.removeLayer(placeLayer); }
    if (pointLayer) { C.map.removeLayer(pointLayer); }
    if (PL.shapes && PL.shapes.features.length) {
      placeLayer = L.geoJSON(PL.shapes, { style: function (f) {
        var x = byCode[f.properties.code];
        return { color: "#55606a", weight: 1, fillOpacity: 0.8, fillColor: colour(x ? x.v : null) }; },
        onEachFeature: function (f, layer) {
          var x = byCode[f.properties.code], pop = el("div");
          pop.appendChild(el("strong", (f.properties.name || "") + " (" + f.properties.code + ")"));
          pop.appendChild(el("div", x ? fmt(x.v === null ? 0 : x.v) + (m === "resident" ? " " + C.t("sp.per_resident") : "") + ", " +
            C.t("sp.n_projects", {n: x.o.projects}) : C.t("sp.no_place_recorded")));
          layer.bindPopup(pop);
        } }).addTo(C.map);
    }
    pointLayer = L.layerGroup();
    PL.points.forEach(function (p) {
      if (p[0] !== yr || (cat !== "all" && p[1] !== +cat)) { return; }
      var pop = el("div"); pop.appendChild(el("strong", p[5] || C.t("sp.project_unnamed"))); pop.appendChild(el("div", money(p[4])));
      L.circleMarker([p[2], p[3]], { radius: 4, color: "#7a2e0e", weight: 1, fillColor: "#f28e2b", fillOpacity: 0.9 }).bindPopup(pop).addTo(pointLayer);
    });
    pointLayer.addTo(C.map);
    var bounds = placeLayer ? placeLayer.getBounds() : L.latLngBounds([]);
    pointLayer.eachLayer(function (l) { bounds.extend(l.getLatLng()); });
    if (bounds.isValid() && !drawPlace.framed) { C.map.fitBounds(bounds); drawPlace.framed = true; }
    BLUES.forEach(function (c, k) {
      var lo = k === 0 ? null : cuts[k - 1], hi = k < 4 ? cuts[k] : null;
      legend.appendChild(C.legendRow(c, (lo === null ? C.t("sp.up_to", {v: fmt(hi)}) : hi === null ? C.t("sp.over", {v: fmt(lo)})
        : C.t("sp.range", {lo: fmt(lo), hi: fmt(hi)}))));
    });
    legend.appendChild(C.legendRow("#f3f1ea", C.t("sp.no_place_recorded")));
    legend.appendChild(C.legendRow("#f28e2b", C.t("sp.project_point")));
  }
  Figures.refresh();
}
if (PL) {
  drawPlace();
  Figures.control("spending.place_area", { after: $("place-bars"), pick: C.t("ex.th_area"), label: C.t("sp.fig_amounts"),
    rows: function () { return placeRows; } });
}

// ------------------------------------------------------------------------------------------ contracts
var K = data.contracts, vendorRows = [];
var SUFFIX = /(\s(INC|LLC|CORP|CO|LTD|LP|LLP|CORPORATION|INCORPORATED|COMPANY|PC|PLLC|NA))+$/;
function vendorKey(s) {  // as contract_revisions.vendor_key (warehouse/money.py): upper, punctuation to spaces, legal suffixes off the end
  var base = String(s).toUpperCase().replace(/[^A-Z0-9&]+/g, " ").replace(/\s+/g, " ").trim();
  var stripped = base.replace(SUFFIX, "").trim();
  return stripped || base;
}
if (K) {
  $("sp-contracts").hidden = false;
  $("sp-contracts-about").textContent = C.t("sp.contracts_about", {vendors: num(K.vendors.length), revisions: num(K.revs.length),
    sets: K.datasets.join(", ")});
  $("sp-search-form").addEventListener("submit", function (e) { e.preventDefault(); search($("sp-vendor").value); });
} else { $("sp-toc-contracts").hidden = true; }
var MAX_VENDORS = 25;
function search(q) {
  var box = clear($("sp-vendor-results")), key = vendorKey(q), raw = String(q).trim().toUpperCase();
  vendorRows = [];
  if (!key && !raw) { $("sp-vendor-count").textContent = ""; Figures.refresh(); return; }
  var hits = [];
  K.vendors.forEach(function (v, j) { if ((key && v[0].indexOf(key) >= 0) || (raw && v[1].toUpperCase().indexOf(raw) >= 0)) { hits.push(j); } });
  $("sp-vendor-count").textContent = hits.length ? C.t(hits.length === 1 ? "sp.vendor_one" : "sp.vendor_many", {n: hits.length, q: q}) +
    (hits.length > MAX_VENDORS ? C.t("sp.vendor_first", {n: MAX_VENDORS}) : ".") : C.t("sp.vendor_none", {q: q});
  var byVendor = {};
  K.revs.forEach(function (r) { (byVendor[r[0]] || (byVendor[r[0]] = [])).push(r); });
  hits.slice(0, MAX_VENDORS).forEach(function (j) {
    var v = K.vendors[j], card = el("article", null, "sp-vendor"), revs = byVendor[j] || [];
    card.appendChild(el("h3", v[1]));
    var line = el("p", null, "cm-muted");
    var n = el("span", String(v[3]), "sp-revcount");
    line.appendChild(n);
    line.appendChild(document.createTextNode(" " + C.t(v[3] === 1 ? "sp.rev_one" : "sp.rev_many", {contracts: C.t(v[2] === 1 ? "sp.n_contract" : "sp.n_contracts", {n: v[2]}),
      sum: money(v[4]), key: v[0]})));
    card.appendChild(line);
    var names = {};
    revs.forEach(function (r) { names[r[9]] = true; });
    if (Object.keys(names).length > 1) { card.appendChild(el("p", C.t("sp.published_as", {names: Object.keys(names).join(" · ")}), "cm-muted")); }
    var wrap = scrollBox(C.t("sp.revisions_of", {vendor: v[1]})), t = el("table", null, "sp-table sp-stack"), head = el("tr");
    var HEADS = ["sp.h_contract", "sp.h_rev", "sp.h_approved", "sp.department", "ex.th_description", "sp.h_amount"].map(function (k) { return C.t(k); });
    card.appendChild(el("p", C.t("sp.every_revision"), "cm-muted"));
    t.appendChild(el("caption", C.t("sp.revisions_of", {vendor: v[1]})));
    HEADS.forEach(function (h, c) {
      var th = el("th", h, c === 5 ? "num" : null); th.scope = "col"; head.appendChild(th); });
    var thead = el("thead"); thead.appendChild(head); t.appendChild(thead);
    var tb = el("tbody");
    revs.forEach(function (r) {
      var tr = el("tr");
      [r[1], r[2] === null ? "" : String(r[2]), r[3] || "", K.depts[r[4]], r[5]].forEach(function (x, c) {
        var td = el("td", x); td.setAttribute("data-label", HEADS[c]); tr.appendChild(td); });
      var amt = el("td", r[6] === null ? C.t("sp.not_given") : money(r[6]), "num"); amt.setAttribute("data-label", HEADS[5]);
      tr.appendChild(amt);
      tb.appendChild(tr);
    });
    t.appendChild(tb); wrap.appendChild(t); card.appendChild(wrap);
    box.appendChild(card);
    vendorRows.push({ label: v[1], target: n, values: { city: data.city, vendor_key: v[0] } });
  });
  Figures.refresh();
}
if (K) {
  Figures.control("spending.vendor_revisions", { after: $("sp-vendor-count"), pick: C.t("sp.vendor"), label: C.t("sp.fig_revisions"),
    rows: function () { return vendorRows; } });
}

// ------------------------------------------------------------------------------------------ outcomes
var outRows = [];
if (data.outcomes.length) {
  $("sp-outcomes").hidden = false;
  var ob = $("sp-outcomes-body");
  data.outcomes.forEach(function (o) {
    var d = -1, label = C.categoryLabel(o.category, o.label);   // the service category in the reader's language
    B.depts.forEach(function (x, j) { if (x.id === o.dept) { d = j; } });
    var measures = Object.keys(o.measures).sort(function (a, b) { return (o.measures[a].unit !== "visits") - (o.measures[b].unit !== "visits") || (a < b ? -1 : a > b ? 1 : 0); }), visits = measures.filter(function (m) { return o.measures[m].unit === "visits"; })[0];
    var budget = {};
    B.lines.forEach(function (l) { if (l[2] === d && l[1] === state.kind) { budget[l[0]] = (budget[l[0]] || 0) + l[5]; } });
    var ys = {};
    Object.keys(budget).forEach(function (y) { ys[y] = true; });
    measures.forEach(function (m) { Object.keys(o.measures[m].years).forEach(function (y) { ys[y] = true; }); });
    var years = Object.keys(ys).map(Number).sort(), costYears = [], partial = [];
    ob.appendChild(el("h3", label + ": " + (d >= 0 ? deptName(d) : C.t("sp.department_x", {id: o.dept}))));
    var wrap = scrollBox(C.t("sp.outcomes_caption", {label: label})), t = el("table", null, "sp-table"), hr = el("tr");
    ob.appendChild(el("p", C.t("sp.outcomes_about", {kind: KIND_WORDS[B.kinds[state.kind]] || B.kinds[state.kind], sets: B.datasets.join(", "),
      label: label.toLowerCase(), dataset: o.dataset}), "cm-muted sp-note"));
    t.appendChild(el("caption", C.t("sp.outcomes_caption", {label: label})));
    [C.t("sp.year"), C.t("sp.budget")].concat(measures.map(function (m) { return m.replace(/_/g, " ") + " (" + o.measures[m].unit + ")"; }))
      .concat(visits ? [C.t("sp.budget_per_visit")] : []).forEach(function (h, c) { var th = el("th", h, c ? "num" : null); th.scope = "col"; hr.appendChild(th); });
    var th0 = el("thead"); th0.appendChild(hr); t.appendChild(th0);
    var tb = el("tbody");
    years.forEach(function (y) {
      var tr = el("tr"), b = budget[y];
      tr.appendChild(el("th", String(y))).scope = "row";
      var bc = el("td", b === undefined ? "—" : money(b), "num"); tr.appendChild(bc);
      if (b !== undefined) { outRows.push({ label: C.t("sp.budget") + " " + y, target: bc, key: "spending.department_year",
        values: { city: data.city, fiscal_year: y, line_kind: B.kinds[state.kind], department_id: o.dept } }); }
      measures.forEach(function (m) {
        var v = o.measures[m].years[String(y)];
        var td = el("td", v ? num(v[0]) + (v[1] < 12 ? " " + C.t("sp.n_months", {n: v[1]}) : "") : "—", "num");
        tr.appendChild(td);
        if (v) { outRows.push({ label: y + " " + m.replace(/_/g, " "), target: td, key: "spending.outcome_year",
          values: { city: data.city, category: o.category, department_id: o.dept, measure: m, fiscal_year: y } }); }
        if (v && v[1] < 12 && partial.indexOf(y) < 0) { partial.push(y); }
      });
      if (visits) {
        var vv = o.measures[visits].years[String(y)], cell;
        if (b !== undefined && vv && vv[1] === 12 && vv[0] > 0) {
          cell = el("td", cents(b / vv[0]), "num"); costYears.push(y);
          outRows.push({ label: C.t("sp.budget_per_visit") + " " + y, target: cell, key: "spending.cost_per_visit",
            values: { city: data.city, fiscal_year: y, line_kind: B.kinds[state.kind], department_id: o.dept, category: o.category, measure: visits } });
        } else { cell = el("td", "—", "num"); }
        tr.appendChild(cell);
      }
      tb.appendChild(tr);
    });
    t.appendChild(tb); wrap.appendChild(t); ob.appendChild(wrap);
    var words = [];
    if (visits) {
      words.push(costYears.length ? C.t("sp.per_visit_years", {years: list(costYears.map(String))}) : C.t("sp.per_visit_none"));
    }
    if (partial.length) { words.push(C.t("sp.partial_years", {years: list(partial.map(String))})); }
    words.push(C.t("sp.budget_ratio"));
    ob.appendChild(el("p", words.join(" "), "cm-muted sp-note"));
  });
  if (data.providers) {
    var p = el("p"), a = el("a", C.t("sp.providers_link")); a.href = "providers.html";
    p.appendChild(a); ob.appendChild(p);
  }
  Figures.control("spending.outcome_year", { after: ob, pick: C.t("sp.pick_cell"), label: C.t("sp.fig_numbers"),
    rows: function () { return outRows; } });
} else { $("sp-toc-outcomes").hidden = true; }
if (!data.current) {
  var warn = el("p", C.t("sp.old_warehouse"), "sp-warn");
  $("sp-budget").insertBefore(warn, $("sp-budget").firstChild.nextSibling);
}
