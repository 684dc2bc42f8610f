/* civicmash page shell: reads the JSON data block, draws the base map from the
   city's own boundaries and streets (no tiles), then runs the builder's code.
   Strings from data are only ever inserted with textContent. */
(function () {
  "use strict";
  var PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                 "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#7b4173"];

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  var I18N = window.civicmashI18n.init();   // i18n.js: the reader's language, its messages and formats
  function fmtInt(n) { return I18N.fmtNum(Math.round(n), 0); }
  function fmtDist(m) {
    if (!isFinite(m)) { return I18N.t("shell.unreachable"); }
    return m < 1000 ? fmtInt(Math.round(m / 10) * 10) + " m" : I18N.fmtNum(m / 1000, 1) + " km";
  }
  function walkMin(m) { return Math.max(1, Math.round(m / 1.3 / 60)); }
  function legendRow(color, text, kind) {
    var row = el("div", null, "cm-row");
    var sw = el("span", null, kind === "line" || kind === "dash" ? "cm-line" + (kind === "dash" ? " dash" : "") : "cm-swatch");
    if (kind === "line" || kind === "dash") { sw.style.borderTopColor = color; } else { sw.style.background = color; }
    row.appendChild(sw);
    row.appendChild(el("span", text));
    return row;
  }

  function drawBase(C, cfg) {
    var map = L.map("map", { maxZoom: cfg.maxZoom, minZoom: 3, zoomControl: true, attributionControl: true });
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(I18N.t("shell.attribution").replace(/&/g, "&amp;").replace(/</g, "&lt;"));
    map.createPane("base").style.zIndex = 350;
    map.getPane("base").style.pointerEvents = "none";
    var baseRenderer = L.canvas({ pane: "base", padding: 0.3 });
    var base = C.data.base || {};
    var bounds = L.latLngBounds([]);
    var fc = base.boundaries;
    if (fc && fc.features && fc.features.length) {
      var gl = L.geoJSON(fc, {
        renderer: baseRenderer, interactive: false,
        style: { color: "#7d858c", weight: 1, opacity: 0.9, fillColor: "#f3f1ea", fillOpacity: 0.85 }
      });
      bounds.extend(gl.getBounds());
      C.baseLayers.boundaries = gl;
    }
    var s = base.streets;
    if (s && s.seg && s.seg.length) {
      var segs = [], i, a, b;
      for (i = 0; i + 1 < s.seg.length; i += 2) {
        a = s.seg[i]; b = s.seg[i + 1];
        segs.push([[s.lat0 + s.lat[a] / 1e5, s.lon0 + s.lon[a] / 1e5],
                   [s.lat0 + s.lat[b] / 1e5, s.lon0 + s.lon[b] / 1e5]]);
      }
      var sl = L.polyline(segs, { renderer: baseRenderer, interactive: false, color: "#a4acb3", weight: 1, opacity: 0.9 });
      if (!bounds.isValid()) { bounds.extend(sl.getBounds()); }  // boundaries frame the city when present
      C.baseLayers.streets = sl;
    }
    C.map = map;
    C.canvas = L.canvas({ padding: 0.3 });
    // The view must exist before any layer with a renderer is added.
    if (C.data.view) { map.fitBounds(C.data.view); }
    else if (bounds.isValid()) { map.fitBounds(bounds); }
    else { map.setView([0, 0], 3); }
    if (C.baseLayers.boundaries) { C.baseLayers.boundaries.addTo(map); }
    if (C.baseLayers.streets) { C.baseLayers.streets.addTo(map); }
  }

  function wirePanel(C) {
    var btn = document.getElementById("panel-toggle");
    if (!btn) { return; }
    if (window.matchMedia && window.matchMedia("(max-width: 700px)").matches && C.data.collapseOnPhone) {
      document.body.classList.add("cm-collapsed");
      btn.setAttribute("aria-expanded", "false");
    }
    btn.addEventListener("click", function () {
      var collapsed = document.body.classList.toggle("cm-collapsed");
      btn.setAttribute("aria-expanded", collapsed ? "false" : "true");
      if (C.map) { C.map.invalidateSize(); }
    });
  }

  // A late block (maps/render.py publish(late=)): written after the page's scripts, in parts, so they run, and can
  // draw, before the browser has parsed it. -> promise of its parts' texts, in order, once the document is parsed.
  function lateTexts(name) {
    return new Promise(function (resolve, reject) {
      function read() {
        var out = [], node;
        while ((node = document.getElementById("late-" + name + "-" + out.length))) { out.push(node.textContent); }
        if (out.length) { resolve(out); } else { reject(new Error("the page has no late block " + name)); }
      }
      if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", read); } else { read(); }
    });
  }

  // A service category's words in the reader's language: the catalogue's for a category of civicmash's taxonomy
  // (category.<id>.label / .about, in the #i18n block of a page that shows it: maps/i18n.py category_keys), else
  // the words given (a profile's own category, as written).
  function categoryLabel(id, asWritten) { var key = "category." + id + ".label"; return I18N.has(key) ? I18N.t(key) : asWritten; }
  function categoryAbout(id, asWritten) { var key = "category." + id + ".about"; return I18N.has(key) ? I18N.t(key) : asWritten; }

  window.civicmapRun = function (body) {
    var data = JSON.parse(document.getElementById("data").textContent);
    var cfg = JSON.parse(document.getElementById("config").textContent);
    var C = {
      data: data, map: null, canvas: null, baseLayers: {}, palette: PALETTE,
      el: el, fmtInt: fmtInt, fmtDist: fmtDist, walkMin: walkMin, legendRow: legendRow,
      t: I18N.t, lang: I18N.lang, locale: I18N.locale, fmtNum: I18N.fmtNum, fmtMoney: I18N.fmtMoney,
      fmtDate: I18N.fmtDate, i18n: I18N,
      lateTexts: lateTexts, categoryLabel: categoryLabel, categoryAbout: categoryAbout,
      controls: document.getElementById("controls"), legend: document.getElementById("legend")
    };
    window.civicmap = C;
    if (cfg.withMap && window.L && document.getElementById("map")) { drawBase(C, cfg); }
    wirePanel(C);
    var done = body(C, data);
    // Ready once the canvas renderers have painted (they draw on animation frames). A builder whose code
    // is asynchronous (it returns a promise, e.g. to inflate its data) is ready when that promise resolves.
    function ready() {
      window.requestAnimationFrame(function () {
        window.requestAnimationFrame(function () { window.civicmapReady = true; });
      });
    }
    if (done && typeof done.then === "function") {
      done.then(ready, function (err) { console.error(err); });
    } else {
      ready();
    }
  };
})();
