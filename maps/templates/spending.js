// Spending explorer page code (maps/spending.py), run as function (C, data) by the page shell (shell.js).
// One column: budget drill-down (department -> fund -> account), year over year per department (gaps as
// gaps), spending by place (map + list), contract revisions by vendor, outcomes beside money. Strings from the
// data only ever go in with textContent (C.el). Every number has its "How is this computed?" SQL (Figures).
var B = data.budget;
var KIND_WORDS = { appropriation: "appropriations (the budget as passed)", actual: "actual spending",
                   payment: "payments" };

function deptName(d) { var x = B.depts[d]; return x.label + (x.abbrev ? " (" + x.abbrev + ")" : ""); }
function fundName(f) { var x = B.funds[f]; return (x.label || "Fund") + " (fund " + x.id + ")"; }
function acctName(a) { var x = B.accounts[a]; return (x.label && x.label !== x.key) ? x.label + " (account " + x.key + ")" : x.key; }
// a table that may scroll sideways on a phone: reachable and named for keyboard users (WCAG 2.1.1)
function scrollBox(name) {
  var box = el("div", null, "sp-scroll");
  box.tabIndex = 0;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", name + " (scrolls sideways)");
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
  $("spend-heading").textContent = "Budget, fiscal year " + state.year;
  if (level > 0) {
    var top = el("button", "All departments"); top.type = "button";
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
               sub: r.lines + (r.lines === 1 ? " line" : " lines") + " · open to see its funds",
               onClick: function () { state.dept = r.key; drawBudget(); focusFirst(); } };
    }));
    var more = rows.length > data.top;
    $("sp-more-box").hidden = !more;
    $("sp-more").textContent = state.all ? "Show the " + data.top + " largest only" : "Show all " + rows.length + " departments";
    $("spend-about").textContent = "Fiscal year " + state.year + ", " + (KIND_WORDS[kindWord()] || kindWord()) + ", " +
      rows.length + " departments, " + rows.reduce(function (s, r) { return s + r.lines; }, 0).toLocaleString("en-US") +
      " budget lines of " + ((B.yearSets[String(state.year)] || []).join(", ") || "the spending table") +
      ". Excluded: lines without an amount. Select a department to see its funds, then a fund to see its accounts.";
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
      return { label: B.funds[r.key].label || "Fund", abbr: "fund " + B.funds[r.key].id, value: r.amount, text: money(r.amount),
               sub: r.lines + (r.lines === 1 ? " line" : " lines") + " · open to see its accounts",
               onClick: function () { state.fund = r.key; drawBudget(); focusFirst(); } };
    }));
    $("sp-more-box").hidden = true;
    $("spend-about").textContent = deptName(state.dept) + ", fiscal year " + state.year + ", by fund (grouped by fund code, named by its description), from " + (B.yearSets[String(state.year)] || []).join(", ") + ". Excluded: lines without an amount.";
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
      return { label: a.label || a.key, abbr: a.label && a.label !== a.key ? "account " + a.key : null, value: r.amount,
               text: money(r.amount), sub: r.lines + (r.lines === 1 ? " line" : " lines") };
    }));
    $("sp-more-box").hidden = true;
    $("spend-about").textContent = deptName(state.dept) + ", " + fundName(state.fund) + ", fiscal year " + state.year +
      ", by account (its code as published; its name when there is no code), from " + (B.yearSets[String(state.year)] || []).join(", ") + ". Excluded: lines without an amount.";
  }
  if (!rows.length) { $("dept-bars").appendChild(el("p", "No budget lines for this year.", "cm-muted")); }
  $("spend-total").textContent = money(total);
  levelRows.forEach(function (r, k) { r.target = amounts[k]; });
  totalRow.target = $("spend-total");
  Figures.refresh();
}
function focusFirst() { var b = $("sp-crumbs").querySelector("button"); if (b) { b.focus(); } }
$("sp-more").addEventListener("click", function () { state.all = !state.all; drawBudget(); });
drawBudget();
Figures.control("spending.year_total", { after: $("spend-total").parentNode, rows: function () { return [totalRow]; } });
Figures.control("spending.department_year", { after: $("sp-more-box"), pick: "Row", label: "How are these totals computed?",
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
    if (!held[yr]) { prev = null; return { label: String(yr), value: null, gapText: "year not in the data" }; }
    if (byYear[yr] === undefined) { prev = null; return { label: String(yr), value: null, gapText: "no lines this year" }; }
    var v = byYear[yr], text, key = "spending.department_year", values = Object.assign({ fiscal_year: yr }, base), unit = m;
    if (m === "constant" && P && P.values[String(yr)]) {
      v = Math.round(v * P.to / P.values[String(yr)]); text = money(v);
      key = "spending.department_constant";
      values = Object.assign({ index_to: P.to, index_year: P.values[String(yr)] }, values);
    } else if (m === "resident" && POP) {
      v = v / POP.total; text = cents(v); key = "spending.department_per_resident";
      values = Object.assign({ pop_kind: POP.kind, pop_year: POP.year }, values);
    } else { text = money(v); unit = m === "constant" ? "nominal" : m; }
    var sub = m === "constant" && unit === "nominal" ? "nominal dollars: no price index for " + yr : "";
    if (prev !== null && prev.unit === unit && prev.value !== 0) {
      var pct = 100 * (v - prev.value) / Math.abs(prev.value);
      sub = (pct >= 0 ? "+" : "\u2212") + Math.abs(pct).toFixed(1) + "% on " + prev.year + (sub ? " · " + sub : "");
    }
    prev = { value: v, unit: unit, year: yr };
    yoyRows.push({ label: String(yr), key: key, values: values });
    return { label: String(yr), value: v, text: text, sub: sub };
  });
  var amounts = chart($("yoy-bars"), rows), k = 0;
  rows.forEach(function (r, j) { if (r.value !== null) { yoyRows[k++].target = amounts[j]; } });
  notes.push(deptName(d) + ", " + (KIND_WORDS[B.kinds[state.kind]] || B.kinds[state.kind]) + ", every year from " + y0 + " to " + y1 +
    " (" + B.datasets.join(", ") + "). A year the data does not hold, or in which the department has no lines, is a gap, not a zero. Excluded: lines without an amount.");
  if (m === "constant" && P) {
    var missing = years.filter(function (yr) { return held[yr] && byYear[yr] !== undefined && !P.values[String(yr)]; });
    notes.push("Constant " + P.toYear + " dollars: amount × index(" + P.toYear + ") / index(year), with the price index " + P.source +
      " (the city profile's)." + (missing.length ? " No index for " + list(missing.map(String)) + ": shown in nominal dollars." : ""));
  }
  if (m === "resident" && POP) {
    notes.push("Per resident: divided by " + num(POP.total) + " residents, the population table's " + POP.year +
      " count summed over its " + POP.areas + " areas of kind " + POP.kind + " (" + POP.dataset + "), the same for every year.");
  }
  if (!P) { notes.push("Constant dollars: the city profile gives no price index."); }
  if (!POP) { notes.push("Per resident: the warehouse holds no population figures."); }
  $("sp-yoy-about").textContent = notes.join(" ");
  Figures.refresh();
}
drawYoY();
Figures.control("spending.department_year", { after: $("yoy-bars"), pick: "Year", label: "How are these amounts computed?",
  rows: function () { return yoyRows; } });

// ------------------------------------------------------------------------------------------ by place
var PL = data.place, placeRows = [], placeLayer = null, pointLayer = null;
if (PL) {
  $("sp-place").hidden = false;
  var pYear = $("sp-place-year"), pCat = $("sp-place-cat"), pMode = $("sp-place-mode");
  PL.years.slice().reverse().forEach(function (y) { option(pYear, y, String(y)); });
  option(pCat, "all", "all categories");
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
    return { label: name, value: x.v, text: fmt(x.v), gapText: "no population figure",
             sub: x.o.projects + (x.o.projects === 1 ? " project" : " projects") + (m === "resident" ? " · " + money(x.o.amount) : "") };
  }));
  placeRows.forEach(function (r, k) { r.target = amounts[k]; });
  if (!items.length) { $("place-bars").appendChild(el("p", "No place spending in this year and category.", "cm-muted")); }
  var catWord = cat === "all" ? "all categories" : "category " + PL.cats[+cat];
  $("sp-place-about").textContent = "Fiscal year " + yr + ", " + catWord + ", by " + PL.kind.replace(/_/g, " ") + " (" +
    PL.datasets.join(", ") + "). Only spending the source attributes to a place; the city's other spending is not in it." +
    (m === "resident" ? " Per resident: each area's latest population count." : "") +
    (PL.withPopulation ? "" : " No population figures for these areas: no per-resident amounts.") +
    (PL.unplaced[String(yr)] ? " Not in any area: " + money(PL.unplaced[String(yr)][0]) + " in " + PL.unplaced[String(yr)][1] +
      " project lines whose area matches no " + PL.kind.replace(/_/g, " ") + " boundary (all categories)." : "") +
    (PL.pointSets.length ? " Projects with coordinates (" + PL.pointSets.join(", ") + ") are drawn as points; projects without coordinates are counted in their area only." : " No project has coordinates: no points.");
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
          pop.appendChild(el("div", x ? fmt(x.v === null ? 0 : x.v) + (m === "resident" ? " per resident" : "") + ", " + x.o.projects + " projects" : "no place spending recorded"));
          layer.bindPopup(pop);
        } }).addTo(C.map);
    }
    pointLayer = L.layerGroup();
    PL.points.forEach(function (p) {
      if (p[0] !== yr || (cat !== "all" && p[1] !== +cat)) { return; }
      var pop = el("div"); pop.appendChild(el("strong", p[5] || "(project not named)")); pop.appendChild(el("div", money(p[4])));
      L.circleMarker([p[2], p[3]], { radius: 4, color: "#7a2e0e", weight: 1, fillColor: "#f28e2b", fillOpacity: 0.9 }).bindPopup(pop).addTo(pointLayer);
    });
    pointLayer.addTo(C.map);
    var bounds = placeLayer ? placeLayer.getBounds() : L.latLngBounds([]);
    pointLayer.eachLayer(function (l) { bounds.extend(l.getLatLng()); });
    if (bounds.isValid() && !drawPlace.framed) { C.map.fitBounds(bounds); drawPlace.framed = true; }
    BLUES.forEach(function (c, k) {
      var lo = k === 0 ? null : cuts[k - 1], hi = k < 4 ? cuts[k] : null;
      legend.appendChild(C.legendRow(c, (lo === null ? "up to " + fmt(hi) : hi === null ? "over " + fmt(lo) : fmt(lo) + " to " + fmt(hi))));
    });
    legend.appendChild(C.legendRow("#f3f1ea", "no place spending recorded"));
    legend.appendChild(C.legendRow("#f28e2b", "a project with coordinates"));
  }
  Figures.refresh();
}
if (PL) {
  drawPlace();
  Figures.control("spending.place_area", { after: $("place-bars"), pick: "Area", label: "How are these amounts computed?",
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
  $("sp-contracts-about").textContent = K.vendors.length.toLocaleString("en-US") + " vendors, " + K.revs.length.toLocaleString("en-US") +
    " contract revisions (" + K.datasets.join(", ") + "). Amounts are revision amounts, not spending: each revision's award amount as published, often negative; their sum is not money spent. Vendor names are matched after normalising (upper case, punctuation and suffixes such as Inc., LLC, Corp. removed).";
  $("sp-search-form").addEventListener("submit", function (e) { e.preventDefault(); search($("sp-vendor").value); });
} else { $("sp-toc-contracts").hidden = true; }
var MAX_VENDORS = 25;
function search(q) {
  var box = clear($("sp-vendor-results")), key = vendorKey(q), raw = String(q).trim().toUpperCase();
  vendorRows = [];
  if (!key && !raw) { $("sp-vendor-count").textContent = ""; Figures.refresh(); return; }
  var hits = [];
  K.vendors.forEach(function (v, j) { if ((key && v[0].indexOf(key) >= 0) || (raw && v[1].toUpperCase().indexOf(raw) >= 0)) { hits.push(j); } });
  $("sp-vendor-count").textContent = hits.length ? hits.length + (hits.length === 1 ? " vendor matches" : " vendors match") + " \u201c" + q + "\u201d" +
    (hits.length > MAX_VENDORS ? "; the first " + MAX_VENDORS + " are listed, type more of the name to narrow it." : ".") : "No vendor matches \u201c" + q + "\u201d.";
  var byVendor = {};
  K.revs.forEach(function (r) { (byVendor[r[0]] || (byVendor[r[0]] = [])).push(r); });
  hits.slice(0, MAX_VENDORS).forEach(function (j) {
    var v = K.vendors[j], card = el("article", null, "sp-vendor"), revs = byVendor[j] || [];
    card.appendChild(el("h3", v[1]));
    var line = el("p", null, "cm-muted");
    var n = el("span", String(v[3]), "sp-revcount");
    line.appendChild(n);
    line.appendChild(document.createTextNode((v[3] === 1 ? " revision" : " revisions") + " of " + v[2] + (v[2] === 1 ? " contract" : " contracts") +
      "; revision amounts (not spending) sum to " + money(v[4]) + ". Vendor key: " + v[0] + "."));
    card.appendChild(line);
    var names = {};
    revs.forEach(function (r) { names[r[9]] = true; });
    if (Object.keys(names).length > 1) { card.appendChild(el("p", "Published as: " + Object.keys(names).join(" · "), "cm-muted")); }
    var wrap = scrollBox("Revisions of " + v[1]), t = el("table", null, "sp-table sp-stack"), head = el("tr");
    var HEADS = ["Contract", "Rev.", "Approved", "Department", "Description", "Revision amount"];
    card.appendChild(el("p", "Every revision, as published. Amounts are revision amounts, not spending.", "cm-muted"));
    t.appendChild(el("caption", "Revisions of " + v[1]));
    HEADS.forEach(function (h, c) {
      var th = el("th", h, c === 5 ? "num" : null); th.scope = "col"; head.appendChild(th); });
    var thead = el("thead"); thead.appendChild(head); t.appendChild(thead);
    var tb = el("tbody");
    revs.forEach(function (r) {
      var tr = el("tr");
      [r[1], r[2] === null ? "" : String(r[2]), r[3] || "", K.depts[r[4]], r[5]].forEach(function (x, c) {
        var td = el("td", x); td.setAttribute("data-label", HEADS[c]); tr.appendChild(td); });
      var amt = el("td", r[6] === null ? "not given" : money(r[6]), "num"); amt.setAttribute("data-label", HEADS[5]);
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
  Figures.control("spending.vendor_revisions", { after: $("sp-vendor-count"), pick: "Vendor", label: "How are the revisions counted?",
    rows: function () { return vendorRows; } });
}

// ------------------------------------------------------------------------------------------ outcomes
var outRows = [];
if (data.outcomes.length) {
  $("sp-outcomes").hidden = false;
  var ob = $("sp-outcomes-body");
  data.outcomes.forEach(function (o) {
    var d = -1;
    B.depts.forEach(function (x, j) { if (x.id === o.dept) { d = j; } });
    var measures = Object.keys(o.measures).sort(function (a, b) { return (o.measures[a].unit !== "visits") - (o.measures[b].unit !== "visits") || (a < b ? -1 : a > b ? 1 : 0); }), visits = measures.filter(function (m) { return o.measures[m].unit === "visits"; })[0];
    var budget = {};
    B.lines.forEach(function (l) { if (l[2] === d && l[1] === state.kind) { budget[l[0]] = (budget[l[0]] || 0) + l[5]; } });
    var ys = {};
    Object.keys(budget).forEach(function (y) { ys[y] = true; });
    measures.forEach(function (m) { Object.keys(o.measures[m].years).forEach(function (y) { ys[y] = true; }); });
    var years = Object.keys(ys).map(Number).sort(), costYears = [], partial = [];
    ob.appendChild(el("h3", o.label + ": " + (d >= 0 ? deptName(d) : "department " + o.dept)));
    var wrap = scrollBox(o.label + ": budget and outcomes by year"), t = el("table", null, "sp-table"), hr = el("tr");
    ob.appendChild(el("p", "Budget (" + (KIND_WORDS[B.kinds[state.kind]] || B.kinds[state.kind]) + ", " + B.datasets.join(", ") +
      ") beside what the " + o.label.toLowerCase() + " locations counted (" + o.dataset + "), by year; — = not in the data.", "cm-muted sp-note"));
    t.appendChild(el("caption", o.label + ": budget and outcomes by year"));
    ["Year", "Budget"].concat(measures.map(function (m) { return m.replace(/_/g, " ") + " (" + o.measures[m].unit + ")"; }))
      .concat(visits ? ["Budget per visit"] : []).forEach(function (h, c) { var th = el("th", h, c ? "num" : null); th.scope = "col"; hr.appendChild(th); });
    var th0 = el("thead"); th0.appendChild(hr); t.appendChild(th0);
    var tb = el("tbody");
    years.forEach(function (y) {
      var tr = el("tr"), b = budget[y];
      tr.appendChild(el("th", String(y))).scope = "row";
      var bc = el("td", b === undefined ? "—" : money(b), "num"); tr.appendChild(bc);
      if (b !== undefined) { outRows.push({ label: y + " budget", target: bc, key: "spending.department_year",
        values: { city: data.city, fiscal_year: y, line_kind: B.kinds[state.kind], department_id: o.dept } }); }
      measures.forEach(function (m) {
        var v = o.measures[m].years[String(y)];
        var td = el("td", v ? num(v[0]) + (v[1] < 12 ? " (" + v[1] + " months)" : "") : "—", "num");
        tr.appendChild(td);
        if (v) { outRows.push({ label: y + " " + m.replace(/_/g, " "), target: td, key: "spending.outcome_year",
          values: { city: data.city, category: o.category, department_id: o.dept, measure: m, fiscal_year: y } }); }
        if (v && v[1] < 12 && partial.indexOf(y) < 0) { partial.push(y); }
      });
      if (visits) {
        var vv = o.measures[visits].years[String(y)], cell;
        if (b !== undefined && vv && vv[1] === 12 && vv[0] > 0) {
          cell = el("td", cents(b / vv[0]), "num"); costYears.push(y);
          outRows.push({ label: y + " budget per visit", target: cell, key: "spending.cost_per_visit",
            values: { city: data.city, fiscal_year: y, line_kind: B.kinds[state.kind], department_id: o.dept, category: o.category, measure: visits } });
        } else { cell = el("td", "—", "num"); }
        tr.appendChild(cell);
      }
      tb.appendChild(tr);
    });
    t.appendChild(tb); wrap.appendChild(t); ob.appendChild(wrap);
    var words = [];
    if (visits) {
      words.push(costYears.length ? "Budget per visit only for " + list(costYears.map(String)) + ": the years with both a budget and 12 months of visits." :
        "No year has both a budget and 12 months of visits, so no budget per visit.");
    }
    if (partial.length) { words.push("Partial years (fewer than 12 months of counts): " + list(partial.map(String)) + "."); }
    words.push("The budget covers all the department does, not only visits: budget per visit is a ratio, not a unit cost. Outcomes are summed over every location the source lists.");
    ob.appendChild(el("p", words.join(" "), "cm-muted sp-note"));
  });
  if (data.providers) {
    var p = el("p"), a = el("a", "Compare the locations, one by one (providers)"); a.href = "providers.html";
    p.appendChild(a); ob.appendChild(p);
  }
  Figures.control("spending.outcome_year", { after: ob, pick: "Cell", label: "How are these numbers computed?",
    rows: function () { return outRows; } });
} else { $("sp-toc-outcomes").hidden = true; }
if (!data.current) {
  var warn = el("p", "This warehouse predates the money views (budget_by_department_year ...): the page draws from the spending table, and its figures' SQL needs a current warehouse (civicmash run).", "sp-warn");
  $("sp-budget").insertBefore(warn, $("sp-budget").firstChild.nextSibling);
}
