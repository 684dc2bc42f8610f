// Crime explorer page code, run as function (C, data) by the page shell (maps/templates/shell.js).
// The incidents arrive as one deflated binary blob (maps/_packed.py) in two parts: the place and kind tables in the
// data block, the rows in a late block after this script. The opening view's dots and count are drawn from the
// first part at once (showPreview) while the browser still parses the rows; then the whole stream inflates with the
// browser's own DecompressionStream, the page keeps the per-row columns as they decode (time, place and kind codes)
// and reads everything else through the small place and kind tables; then wires the filters and the three views.
// Returns a promise: the shell marks the page ready when it resolves. The map and the count are drawn first
// (STAGES.painted: the preview's, or the page's own pass's); the panels (type counts, comparisons, trend, summary,
// table) and the incidents' ids (the blob's last column, still inflating) follow before the promise resolves.
var el = C.el, MIN = 60000;

// blobBytes, inflateBlob, unpackBlob: maps/templates/packed.js (joined before this file)
// The incident blob, read as it inflates. One deflate stream in two parts (maps/_packed.py pack's flush_after): the
// first, in the data block, holds the header and the place and kind tables; the second, `late` (a promise of its
// base64 parts: the late block, parsed after this script), the rows. -> promise of the header once the tables are
// decoded; header.rows() inflates and decodes the rows but `later`'s columns, header.rest() everything.
function openBlob(blob, late, later) {
  var out = new Uint8Array(blob.raw), pos = 0, reader, writer;
  try {
    var ds = new DecompressionStream("deflate-raw");
    reader = ds.readable.getReader(); writer = ds.writable.getWriter();
    writer.write(blobBytes(blob.z)).catch(function () {});  // a write's failure is the reader's too
    late.then(function (parts) {
      parts.forEach(function (z) { writer.write(blobBytes(z)).catch(function () {}); });
      return writer.close();
    })
      .catch(function (e) { writer.abort(e).catch(function () {}); });
  } catch (e) { return Promise.reject(e); }
  function fill(until) {  // read chunks until `until` bytes are in (or the stream ends)
    if (pos >= until) return Promise.resolve(pos);
    return reader.read().then(function (r) {
      if (r.done) return pos;
      if (pos + r.value.length > out.length) throw new Error("the incident data is longer than its header says");
      out.set(r.value, pos); pos += r.value.length;
      return fill(until);
    });
  }
  function upTo(head, until) {  // the columns ending within `until` bytes, decoded
    return fill(until).then(function () {
      if (!head.more(pos) && pos < until) throw new Error("the incident data ended early");
      return head;
    });
  }
  var tables = 0, rows = 0, done = null;
  return fill(4).then(function () {
    var h = out[0] | out[1] << 8 | out[2] << 16 | out[3] << 24;
    return fill(4 + h).then(function () {
      var specs = JSON.parse(new TextDecoder("utf-8").decode(out.subarray(4, 4 + h))).cols, at = 4 + h;
      specs.forEach(function (s) {
        at += s[1] * s[2];
        if (/^[pk]_/.test(s[0])) tables = at;
        if (later.indexOf(s[0]) < 0) rows = at;
      });
      return fill(tables);
    });
  }).then(function () {
    var head = unpackBlob(out.buffer, pos);
    head.rows = function () { return upTo(head, rows); };
    head.rest = function () { return done || (done = upTo(head, out.length)); };
    return head;
  });
}
function failed(err) {
  var box = el("div", C.t("ex.open_failed", {why: err && err.message ? err.message : err}), "cm-error");
  box.setAttribute("role", "alert");
  C.controls.insertBefore(box, C.controls.firstChild);
  throw err;
}
function colour(t) { return t < C.palette.length ? C.palette[t] : "#6b6b6b"; }
function dotRank(t) { return (t < C.palette.length ? t : C.palette.length) + 1; }  // a type code's dot colour rank
var MARKER_LIMIT = 2000;  // up to this many located matches the points view draws markers, above it dots
// One canvas of square dots written straight into the pixel buffer (ImageData), not one fillRect per point.
// Colours as RGBA words per type code (the palette's, then grey); a pixel keeps the dot of the rarer type (higher
// code) when dots overlap, as drawing the types in order did. The incidents of one place share its square, so a
// place is drawn once, in the colour of the rarest type among its matches (PTOP, kept by the filter pass): the
// same pixels as one square per incident, for a million incidents at ~90,000 places.
var NPAL = C.palette.length, COL32 = new Uint32Array(NPAL + 1);
(function () {
  for (var k = 0; k <= NPAL; k++) {
    var v = parseInt(colour(k).slice(1), 16);
    COL32[k] = (0xff000000 | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff)) >>> 0;
  }
})();
var Dots = L.Layer.extend({
  onAdd: function (map) { canvasLayerAdd(this, map, "cm-dots", map.getPanes().overlayPane); },
  onRemove: function (map) { canvasLayerRemove(this, map); },
  initialize: function (wx, wy, top) { this._wx = wx; this._wy = wy; this._top = top; },  // per place; top: rank, 0 = none
  setPoints: function (cnt) { this._cnt = cnt; if (this._map) this.redraw(); },  // how many located matches
  redraw: function () {
    var map = this._map, f = canvasFrame(map, this._c), ctx = f.ctx;
    var PWX = this._wx, PWY = this._wy, PTOP = this._top, nPlaces = PTOP.length;
    if (!this._cnt) return;
    var cw = this._c.width, ch = this._c.height, dpr = cw / Math.max(1, f.W);
    var scale = f.scale * dpr, ox = f.ox * dpr, oy = f.oy * dpr, z = map.getZoom();
    var sz = Math.max(1, Math.round((z >= 15 ? 5 : (z >= 13 ? 4 : 3)) * dpr)), h = sz / 2;
    var img = ctx.createImageData(cw, ch), px = new Uint32Array(img.data.buffer), top = new Uint8Array(cw * ch);
    var p, t, c, x, y, x0, x1, y0, y1, xx, row;
    for (p = 0; p < nPlaces; p++) {
      t = PTOP[p];
      if (!t) continue;
      x = Math.round(PWX[p] * scale - ox - h); y = Math.round(PWY[p] * scale - oy - h);
      if (x <= -sz || y <= -sz || x >= cw || y >= ch) continue;
      c = COL32[t - 1];
      x0 = x < 0 ? 0 : x; x1 = x + sz > cw ? cw : x + sz; y0 = y < 0 ? 0 : y; y1 = y + sz > ch ? ch : y + sz;
      for (; y0 < y1; y0++) {
        row = y0 * cw;
        for (xx = x0; xx < x1; xx++) if (top[row + xx] <= t) { top[row + xx] = t; px[row + xx] = c; }
      }
    }
    ctx.putImageData(img, 0, 0);
  }
});

var STAGES = { start: performance.now() };  // ms since navigation start, for the benchmark
// Two blobs: the base map's street lines (maps/explorer.py _street_blob; absent without streets) and the
// incidents, whose rows are written after this script (a late block). Before the browser goes on to parse them,
// this script draws, at once (inflateNow), the streets and the opening view's preview from the blob's first part;
// then the whole stream inflates (DecompressionStream) once the rows are parsed. The rows' last columns (location
// codes, ids) are decoded after the page's own first pass.
var PREVIEW = null;  // the preview's dots layer while it is on the map
return new Promise(function (resolve) {
  drawStreets(data.streets ? unpackBlob(inflateNow(data.streets.z).buffer) : null);
  STAGES.streets = performance.now();
  resolve(showPreview(data.incidents));
}).then(function () {
  return openBlob(data.incidents, C.lateTexts(data.incidents.late), ["lc", "id"]);
}).then(function (D) {
  STAGES.tables = performance.now();
  return D.rows();
}).then(function (D) {
  STAGES.unpacked = performance.now();
  return explorer(D);
}).catch(failed);

// The opening view (a plain URL: default dates and types, points view) drawn before the rows are read, from the
// place table's p_open and the header's opening counts (maps/explorer.py _opening): the dots in the colours and
// the count the page's own filter pass then computes (the same Dots layer; explorer() replaces it and checks that
// they agree: previewAgrees). Not for a URL with a state, nor for a view small enough for markers.
function showPreview(blob) {
  if (location.hash && location.hash !== "#") return null;
  var bytes = inflateNow(blob.z), D = unpackBlob(bytes.buffer, bytes.length), o = D.opening, P = D.cols;
  if (!o || !P.p_open || o.located <= MARKER_LIMIT) return null;
  var m = P.p_open.length, wx = new Float64Array(m), wy = new Float64Array(m), top = new Uint8Array(m);
  for (var p = 0; p < m; p++) {
    if (!P.p_open[p]) continue;
    mercator(D.lat0 + P.p_lat[p] / 1e5, D.lon0 + P.p_lon[p] / 1e5, wx, wy, p);
    top[p] = dotRank(P.p_open[p] - 1);
  }
  PREVIEW = new Dots(wx, wy, top);
  PREVIEW.setPoints(o.located);
  PREVIEW.addTo(C.map);
  showCounts(o.count, o.nomap, o.midnight);
  STAGES.preview = performance.now();
  return new Promise(function (done) {  // the first render: two frames after drawing
    requestAnimationFrame(function () { requestAnimationFrame(function () { STAGES.painted = performance.now(); done(); }); });
  });
}
function showCounts(match, nomap, midnight) {
  document.getElementById("count-match").textContent = C.fmtInt(match);
  document.getElementById("count-nomap").textContent = C.fmtInt(nomap);
  document.getElementById("count-midnight").textContent = C.fmtInt(midnight);
}

// The base map's street lines, packed in their own blob (maps/explorer.py _street_blob): one canvas in the base
// pane, nodes projected once to Web Mercator world pixels, all visible segments stroked as one path per redraw
// (tens of thousands of L.polyline parts would cost several hundred ms to build).
function mercator(lat, lon, wx, wy, k) {  // Web Mercator world pixels at zoom 0 (256 px)
  var s = Math.sin(lat * Math.PI / 180);
  wx[k] = (lon + 180) / 360 * 256;
  wy[k] = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
}
function canvasLayerAdd(layer, map, cls, pane) {  // a full-view canvas that redraws after every move
  layer._c = L.DomUtil.create("canvas", cls + " leaflet-zoom-hide");
  layer._c.style.pointerEvents = "none";
  pane.appendChild(layer._c);
  map.on("moveend zoomend resize viewreset", layer.redraw, layer);
  layer.redraw();
}
function canvasLayerRemove(layer, map) { L.DomUtil.remove(layer._c); map.off("moveend zoomend resize viewreset", layer.redraw, layer); }
function canvasFrame(map, c) {  // size the canvas to the view; returns its context and the pixel origin
  var size = map.getSize(), dpr = window.devicePixelRatio || 1;
  var tl = map.containerPointToLayerPoint([0, 0]);
  L.DomUtil.setPosition(c, tl);
  c.width = Math.round(size.x * dpr); c.height = Math.round(size.y * dpr);
  c.style.width = size.x + "px"; c.style.height = size.y + "px";
  var ctx = c.getContext("2d"); ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  var org = map.getPixelOrigin();
  return {ctx: ctx, scale: Math.pow(2, map.getZoom()), ox: org.x + tl.x, oy: org.y + tl.y, W: size.x, H: size.y};
}
function drawStreets(S) {
  if (!S || !S.cols.s_u) return;
  var P = S.cols;
  var StreetLines = L.Layer.extend({
    initialize: function (wx, wy, u, dv) { this._wx = wx; this._wy = wy; this._u = u; this._dv = dv; },
    onAdd: function (map) { canvasLayerAdd(this, map, "cm-streets", map.getPane("base")); },
    onRemove: function (map) { canvasLayerRemove(this, map); },
    redraw: function () {
      var map = this._map, f = canvasFrame(map, this._c), ctx = f.ctx, scale = f.scale, ox = f.ox, oy = f.oy;
      var wx = this._wx, wy = this._wy, u = this._u, dv = this._dv, W = f.W, H = f.H, j, a, b, x1, y1, x2, y2;
      ctx.strokeStyle = "#a4acb3"; ctx.globalAlpha = 0.9; ctx.lineWidth = 1;
      ctx.beginPath();
      for (j = 0; j < u.length; j++) {
        a = u[j]; b = a + dv[j];
        x1 = wx[a] * scale - ox; y1 = wy[a] * scale - oy; x2 = wx[b] * scale - ox; y2 = wy[b] * scale - oy;
        if ((x1 < 0 && x2 < 0) || (y1 < 0 && y2 < 0) || (x1 > W && x2 > W) || (y1 > H && y2 > H)) continue;
        ctx.moveTo(x1, y1); ctx.lineTo(x2, y2);
      }
      ctx.stroke();
    }
  });
  var m = P.s_lat.length, wx = new Float64Array(m), wy = new Float64Array(m);
  for (var k = 0; k < m; k++) mercator(S.lat0 + P.s_lat[k] / 1e5, S.lon0 + P.s_lon[k] / 1e5, wx, wy, k);
  C.baseLayers.streets = new StreetLines(wx, wy, Int32Array.from(P.s_u), Int32Array.from(P.s_dv)).addTo(C.map);
}

function explorer(D) {
data.incidents = D;  // decoded header: dictionaries, t0, lat0/lon0 (for tests and the console)
var n = D.n, i, P = D.cols;
var types = D.types, places = D.places || [], MAXR = data.maxRadius, F = ExplorerFilters;
var PAGE = 25;
var DOWS = [1, 2, 3, 4, 5, 6, 7].map(function (d) { return C.t("day." + d); });
var areaKeys = ["beat", "district", "ward", "community_area"];  // the place table's area columns

// ---- the columns: rows are sorted by time; each has a place and a kind code ----------------------
// Per row only the time (minutes since t0), the place and kind codes (and the location code, the id): a row's
// type, description, flags, block, areas and coordinates are read through its kind (KTY, KDE, KFA, KFD [KD[row]])
// and its place (PBK, PAREA, PHAS, PWX/PWY, PLAT_DEG/PLON_DEG [PL[row]]). A million rows would otherwise copy a
// dozen columns before the first paint. Days: rows of day d (days since DAY0) are DS[d] .. DS[d + 1] - 1.
function ints(a) { return a instanceof Int32Array ? a : Int32Array.from(a); }  // unpackBlob gives Int32Array when it can
var PL = ints(P.place), KD = ints(P.kind), LC = null, ID = D.ids || null, PAREA = {};
function lc() { return LC || (LC = ints(P.lc)); }  // the location code, read by the location filter, table and CSV
areaKeys.forEach(function (k) { PAREA[k] = ints(P["p_" + k]); });
var nPlaces = P.p_block.length, PBK = ints(P.p_block);
var PLAT = P.p_lat, PLON = P.p_lon, PLAT_DEG = new Float64Array(nPlaces), PLON_DEG = new Float64Array(nPlaces);
var PHAS = new Uint8Array(nPlaces), PWX = new Float64Array(nPlaces), PWY = new Float64Array(nPlaces);
var nKinds = P.k_type.length, KTY = ints(P.k_type), KDE = ints(P.k_desc), KFA = new Int8Array(nKinds), KFD = new Int8Array(nKinds);
var T = new Int32Array(n), DAY0 = 0, NDAYS = 0, DS, DMIN;
(function () {
  var p, q, fl, r, acc = 0, dt = P.dt;
  for (p = 0; p < nPlaces; p++) {  // degrees and Web Mercator world coordinates (256 px at zoom 0) per place
    if (PLAT[p] === PLAT[p] && PLON[p] === PLON[p]) {
      PHAS[p] = 1; PLAT_DEG[p] = D.lat0 + PLAT[p] / 1e5; PLON_DEG[p] = D.lon0 + PLON[p] / 1e5;
      mercator(PLAT_DEG[p], PLON_DEG[p], PWX, PWY, p);
    } else { PLAT_DEG[p] = NaN; PLON_DEG[p] = NaN; }
  }
  for (q = 0; q < nKinds; q++) { fl = P.k_flags[q]; KFA[q] = fl % 3; KFD[q] = (fl - fl % 3) / 3; }
  for (r = 0; r < n; r++) { acc += dt[r]; T[r] = acc; }  // dt[0] = 0: the first row is at t0
  if (!n) { DS = new Int32Array(1); DMIN = new Int32Array(0); return; }
  DAY0 = Math.floor((D.t0 + T[0]) / 1440); NDAYS = Math.floor((D.t0 + T[n - 1]) / 1440) - DAY0 + 1;
  DS = new Int32Array(NDAYS + 1); DMIN = new Int32Array(NDAYS);
  var d, next = -1;  // DS[d]: the first row at or after day d's 00:00; DMIN[d]: that 00:00 in minutes since t0
  for (d = 0; d < NDAYS; d++) DMIN[d] = (DAY0 + d) * 1440 - D.t0;
  for (r = 0, d = 0; r < n; r++) { while (d < NDAYS && T[r] >= DMIN[d]) DS[d++] = r; }
  for (; d <= NDAYS; d++) DS[d] = n;
})();
var DAYLAST = n ? DAY0 + NDAYS - 1 : -1;
STAGES.expanded = performance.now();
function ty(i) { return KTY[KD[i]]; }  // a row's type, description code, located or not
function de(i) { return KDE[KD[i]]; }
function has(i) { return PHAS[PL[i]] === 1; }
function dayOf(i) { return Math.floor((D.t0 + T[i]) / 1440); }  // days since 1970-01-01
var pad = F.pad2;
function fmtTime(i) { return new Date((D.t0 + T[i]) * MIN).toISOString().slice(0, 16).replace("T", " "); }
function $(id) { return document.getElementById(id); }
function fmtNum(x, nd) { return x.toLocaleString(C.locale, { minimumFractionDigits: nd, maximumFractionDigits: nd }); }
// what the reader sees: ISO in English (as in the CSV), the reader's locale otherwise (i18n.js)
function showTime(i) { return C.i18n.isDefault ? fmtTime(i) : C.fmtDate(fmtTime(i)); }
function showDay(s) { return C.i18n.isDefault ? s : C.fmtDate(s); }

// ---- controls ----------------------------------------------------------------------------------
var FILTERS = data.filters, FILTER = {};  // the declared filters (maps/explorer_filters.py), in hash order
FILTERS.forEach(function (f) { FILTER[f.key] = f; });
function ctl(key, k) { return $(FILTER[key].control.ids[k || 0]); }
var selType = [], boxes = [], countEls = [], dowBoxes = [];
var list = $("type-list"), groups = D.groups && D.groups.length ? D.groups : null, groupBoxes = [];
function typeRow(k, parent) {
  var t = types[k], row = el("div", null, "cm-row"), cb = el("input"), lab = el("label"), sw = el("span", null, "cm-swatch");
  cb.type = "checkbox"; cb.id = "type-" + k;
  cb.addEventListener("change", function () { selType[k] = cb.checked; syncGroups(); changed(); });
  lab.htmlFor = cb.id; lab.appendChild(el("span", t, "cm-type-name"));
  sw.style.background = colour(k);
  var cnt = el("span", "", "cm-muted");
  row.appendChild(cb); row.appendChild(sw); row.appendChild(lab); row.appendChild(cnt);
  parent.appendChild(row); boxes[k] = cb; countEls[k] = cnt;
}
if (groups) {  // grouped by the profile's categories; a group's box selects or clears all its types
  groups.forEach(function (g, gi) {
    var box = el("div", null, "cm-group"), head = el("div", null, "cm-row cm-group-head"), cb = el("input"), lab = el("label");
    cb.type = "checkbox"; cb.id = "typegroup-" + gi;
    var name = g.rest ? C.t("ex.no_category") : g.name;  // the profile's category names as written
    lab.htmlFor = cb.id; lab.appendChild(el("strong", name)); lab.appendChild(document.createTextNode(" (" + C.t(g.types.length === 1 ? "ex.n_type" : "ex.n_types", {n: g.types.length}) + ")"));
    cb.addEventListener("change", function () {
      g.types.forEach(function (k) { boxes[k].checked = cb.checked; selType[k] = cb.checked; });
      syncGroups(); changed();
    });
    head.appendChild(cb); head.appendChild(lab); box.appendChild(head);
    var inner = el("div", null, "cm-group-types"); inner.setAttribute("role", "group"); inner.setAttribute("aria-label", name);
    g.types.forEach(function (k) { typeRow(k, inner); });
    box.appendChild(inner); list.appendChild(box); groupBoxes.push(cb);
  });
} else {
  types.forEach(function (_, k) { typeRow(k, list); });
}
function syncGroups() {  // checked = every type of the group selected; indeterminate = some
  if (!groups) return;
  groups.forEach(function (g, gi) {
    var on = g.types.filter(function (k) { return selType[k]; }).length;
    groupBoxes[gi].checked = on === g.types.length && on > 0; groupBoxes[gi].indeterminate = on > 0 && on < g.types.length;
  });
}
DOWS.forEach(function (d, k) {
  var lab = el("label"), cb = el("input");
  cb.type = "checkbox"; cb.id = "dow-" + (k + 1); cb.checked = true;
  cb.addEventListener("change", changed);
  lab.htmlFor = cb.id; lab.appendChild(cb); lab.appendChild(document.createTextNode(" " + d));
  $("dow-list").appendChild(lab); dowBoxes.push(cb);
});
function fillSelect(sel, labels, anyText) {
  var order = labels.map(function (_, k) { return k; }), cmp = new Intl.Collator("en", { numeric: true }).compare;
  order.sort(function (a, b) { return cmp(labels[a], labels[b]); });  // one collator: localeCompare builds one per call
  var o = el("option", anyText); o.value = ""; sel.appendChild(o);
  order.forEach(function (k) { var op = el("option", labels[k]); op.value = labels[k]; sel.appendChild(op); });
}
var placeIndex = {}; places.forEach(function (p, k) { placeIndex[p.cat + ":" + p.id] = k; });
var blockIndex = null;  // upper-cased block -> code, built on the first address typed
function blockIdx() {
  if (!blockIndex) { blockIndex = {}; D.blocks.forEach(function (b, k) { blockIndex[b.toUpperCase()] = k; }); }
  return blockIndex;
}
function labelIndex(labels) { var m = {}; labels.forEach(function (l, k) { m[l] = k; }); return m; }
var areaIndex = {}; areaKeys.forEach(function (k) { areaIndex[k] = labelIndex(D.areas[k]); });
var locIndex = labelIndex(D.locs);
// The select and flag filters: the column they test (per place, per kind or per row: a function giving it) and the
// code a control value wants (-1 = any). The select filters' options are their labels.
function labelCode(index) { return function (v) { return v !== "" && index.hasOwnProperty(v) ? index[v] : -1; }; }
var CODED = { loc: { labels: D.locs, index: locIndex, row: lc, code: labelCode(locIndex) },
              arrest: { kind: KFA, code: F.flagCode }, domestic: { kind: KFD, code: F.flagCode } };
areaKeys.forEach(function (k) {
  CODED[k] = { labels: D.areas[k], index: areaIndex[k], place: PAREA[k], code: labelCode(areaIndex[k]) };
});
// The options of the select and place filters (a thousand schools and parks, hundreds of beats...): filled after the
// first paint, or before it when the opening state sets one of these filters.
var optionsFilled = false;
function fillOptions() {
  if (optionsFilled) return;
  optionsFilled = true;
  FILTERS.forEach(function (f) { if (f.control.kind === "select") fillSelect(ctl(f.key), CODED[f.key].labels, C.t("ex.any")); });
  var sel = ctl("near"), o = el("option", C.t("ex.anywhere")), groups = {};
  o.value = ""; sel.appendChild(o);
  places.forEach(function (p) {
    if (!groups[p.cat]) {  // the category in the reader's language (a profile's own as written)
      groups[p.cat] = el("optgroup"); groups[p.cat].label = C.categoryLabel(p.cat, p.cat); sel.appendChild(groups[p.cat]);
    }
    var op = el("option", p.name); op.value = p.cat + ":" + p.id; groups[p.cat].appendChild(op);
  });
}
function normBlock(s) { return String(s || "").trim().replace(/\s+/g, " ").toUpperCase(); }
// A typed address ("121 North State Street"), a block as published ("001XX N STATE ST") or a street name,
// resolved offline from the incidents' own block strings ("<hundreds>XX <street>"): suffix words are
// abbreviated as the police write them (STREET -> ST, AVENUE -> AVE ...), a leading NORTH/SOUTH/EAST/WEST
// followed by two or more words becomes N/S/E/W. Returns [block code or -1 (nothing typed) or -2 (no match), note].
var SUFFIX = { STREET: "ST", AVENUE: "AVE", AV: "AVE", BOULEVARD: "BLVD", ROAD: "RD", DRIVE: "DR", PLACE: "PL",
  PARKWAY: "PKWY", COURT: "CT", TERRACE: "TER", LANE: "LN", HIGHWAY: "HWY", EXPRESSWAY: "EXPY", SQUARE: "SQ",
  CIRCLE: "CIR" };
var DIRW = { NORTH: "N", SOUTH: "S", EAST: "E", WEST: "W" };
function streetTokens(s, mapDir) {
  var t = normBlock(String(s).replace(/[.,#]/g, " ")).split(" ").filter(Boolean).map(function (w) {
    return SUFFIX.hasOwnProperty(w) ? SUFFIX[w] : w; });
  if (mapDir && t.length >= 3 && DIRW.hasOwnProperty(t[0])) t[0] = DIRW[t[0]];
  return t;
}
var blockParts = null, blockCounts = null;
function blockTables() {  // per block: hundreds (-1 if not "<digits>XX ...") and street tokens; incidents per block
  if (blockParts) return;
  blockParts = D.blocks.map(function (b) {
    var m = /^(\d+)X+\s+(.+)$/.exec(normBlock(b));
    return m ? { h: parseInt(m[1], 10), toks: m[2].split(" ") } : { h: -1, toks: normBlock(b).split(" ") };
  });
  blockCounts = new Int32Array(D.blocks.length);
  for (var k = 0; k < n; k++) blockCounts[PBK[PL[k]]]++;
}
function hasRun(toks, want) {  // want appears as consecutive tokens of toks
  for (var a = 0; a + want.length <= toks.length; a++) {
    var ok = true;
    for (var b = 0; ok && b < want.length; b++) ok = toks[a + b] === want[b];
    if (ok) return true;
  }
  return false;
}
function streetMatches(text) {  // blocks on the typed street: whole street name first, else a run of its words
  var variants = [streetTokens(text, true), streetTokens(text, false)], k, v, out;
  for (v = 0; v < variants.length; v++) {
    var want = variants[v].join(" ");
    out = []; for (k = 0; k < blockParts.length; k++) if (blockParts[k].h >= 0 && blockParts[k].toks.join(" ") === want) out.push(k);
    if (out.length) return out;
  }
  for (v = 0; v < variants.length; v++) {
    out = []; for (k = 0; k < blockParts.length; k++) if (blockParts[k].h >= 0 && hasRun(blockParts[k].toks, variants[v])) out.push(k);
    if (out.length) return out;
  }
  return [];
}
function resolveBlock(s) {
  var q = normBlock(s), k;
  if (!q) return [-1, ""];
  if (blockIdx().hasOwnProperty(q)) return [blockIndex[q], ""];
  blockTables();
  var m = /^(\d+)\s+(.+)$/.exec(q);
  if (m) {  // an address: the block of its hundreds on that street, else the nearest recorded block of the street
    var num = parseInt(m[1], 10), hund = Math.floor(num / 100), cands = streetMatches(m[2]);
    if (cands.length) {
      var best = -1, bd = Infinity;
      cands.forEach(function (c) {
        var d = Math.abs(blockParts[c].h - hund);
        if (d < bd || (d === bd && blockCounts[c] > blockCounts[best])) { bd = d; best = c; }
      });
      var others = {};
      cands.forEach(function (c) { if (c !== best && Math.abs(blockParts[c].h - hund) === bd) others[blockParts[c].toks.join(" ")] = 1; });
      var also = Object.keys(others).filter(function (o) { return o !== blockParts[best].toks.join(" "); });
      var addr = num + " " + streetTokens(m[2], true).join(" ");
      return [best, C.t(bd === 0 ? "ex.addr_on_block" : "ex.addr_nearest", {address: addr, block: hund + "XX"}) +
        (also.length ? " " + C.t("ex.addr_also", {streets: also.slice(0, 3).join(", ")}) : "")];
    }
  }
  var onStreet = streetMatches(q);
  if (onStreet.length) {  // a street name: its block with the most incidents
    var top = onStreet.reduce(function (x, y) { return blockCounts[y] > blockCounts[x] ? y : x; });
    return [top, C.t("ex.street_only")];
  }
  var hit = -2;  // any block containing the text: the one with the most incidents
  for (k = 0; k < D.blocks.length; k++) {
    if (D.blocks[k].toUpperCase().indexOf(q) >= 0 && (hit < 0 || blockCounts[k] > blockCounts[hit])) hit = k;
  }
  return [hit, hit >= 0 ? C.t("ex.block_containing", {text: q}) : ""];
}
var blockPoints = {};
function blockPoint(b) {  // lower median of the block's located incidents' embedded latitudes and longitudes
  if (!blockPoints.hasOwnProperty(b)) {
    var la = [], lo = [], k, num = function (x, y) { return x - y; };
    for (k = 0; k < n; k++) { var pk = PL[k]; if (PBK[pk] === b && PHAS[pk]) { la.push(PLAT[pk]); lo.push(PLON[pk]); } }
    la.sort(num); lo.sort(num);
    blockPoints[b] = la.length ? [D.lat0 + la[(la.length - 1) >> 1] / 1e5, D.lon0 + lo[(lo.length - 1) >> 1] / 1e5] : null;
  }
  return blockPoints[b];
}

// ---- filter state <-> controls <-> URL hash -----------------------------------------------------
var VIEWS = ["points", "heat", "rates"], viewBoxes = {};
VIEWS.forEach(function (v) { viewBoxes[v] = $("view-" + v); viewBoxes[v].addEventListener("change", changed); });
function currentView() {
  for (var k = 0; k < VIEWS.length; k++) if (viewBoxes[VIEWS[k]].checked) return VIEWS[k];
  return "points";
}
// One codec per control kind (maps/explorer_filters.py Control.kind): the value on opening, the value from
// the hash (decoded; undefined = keep the default), and reading, setting and writing (null = not written) it.
function id0(f) { return ctl(f.key); }
var plain = {
  initial: function () { return ""; },
  parse: function (f, v) { return v; },
  get: function (f) { return id0(f).value; },
  set: function (f, v) { id0(f).value = v; },
  format: function (f, v) { return v ? encodeURIComponent(v) : null; }
};
function kind(over) { return Object.assign({}, plain, over); }
var CODECS = {
  types: kind({
    initial: function () {
      return types.map(function (t) { return !data.selected_types || data.selected_types.indexOf(t) >= 0; });
    },
    parse: function (f, v, raw) {  // names are encoded one by one and joined with literal commas
      var want = raw === "" ? [] : raw.split(",").map(function (x) { var d = F.decodeValue(x); return d === null ? x : d; });
      return types.map(function (t) { return want.indexOf(t) >= 0; });
    },
    get: function () { return selType.slice(); },
    set: function (f, v) { boxes.forEach(function (cb, k) { cb.checked = v[k]; selType[k] = v[k]; }); syncGroups(); },
    format: function (f, v) {
      return v.some(function (s) { return !s; }) ? types.filter(function (t, k) { return v[k]; }).map(encodeURIComponent).join(",") : null;
    }
  }),
  date: kind({
    initial: function (f) { return data.window[f.control.options.window]; },
    parse: function (f, v) { return F.isIsoDay(v) ? v : undefined; },
    set: function (f, v) { id0(f).value = v || ""; },
    format: function (f, v) { return v || null; }
  }),
  "time-range": kind({
    initial: function () { return null; },
    parse: function (f, v) { return F.parseTimeRange(v); },
    get: function (f) { return [$(f.control.ids[0]).value, $(f.control.ids[1]).value]; },
    set: function (f, v) { $(f.control.ids[0]).value = v ? v[0] : ""; $(f.control.ids[1]).value = v ? v[1] : ""; },
    format: function (f, v) { return v && v[0] && v[1] ? v[0] + "-" + v[1] : null; }
  }),
  weekdays: kind({
    initial: function () { return [1, 2, 3, 4, 5, 6, 7]; },
    parse: function (f, v) { return F.parseWeekdays(v); },
    get: function () { var out = []; dowBoxes.forEach(function (cb, k) { if (cb.checked) out.push(k + 1); }); return out; },
    set: function (f, v) { dowBoxes.forEach(function (cb, k) { cb.checked = v.indexOf(k + 1) >= 0; }); },
    format: function (f, v) { return v.length < 7 ? v.join(",") : null; }
  }),
  select: kind({ set: function (f, v) { id0(f).value = CODED[f.key].index.hasOwnProperty(v) ? v : ""; } }),
  flag: kind({
    parse: function (f, v) { return F.flagCode(v) >= 0 ? v : ""; },
    format: function (f, v) { return v || null; }
  }),
  place: kind({ set: function (f, v) { id0(f).value = placeIndex.hasOwnProperty(v) ? v : ""; } }),
  address: kind({ format: function (f, v) { return normBlock(v) ? encodeURIComponent(normBlock(v)) : null; } }),
  radius: kind({
    initial: function () { return MAXR; },
    parse: function (f, v) { return F.cappedRadius(v, MAXR); },
    set: function (f, v) { id0(f).value = String(v); },
    format: function (f, v) { return String(F.cappedRadius(v, MAXR)); }
  })
};
function codec(f) { return CODECS[f.control.kind]; }
function defaults() {
  var st = { view: "points" };
  FILTERS.forEach(function (f) { st[f.key] = codec(f).initial(f); });
  return st;
}
function readHash() {
  var st = defaults(), byHash = {};
  FILTERS.forEach(function (f) { byHash[f.hash_key] = f; });
  F.hashPairs(location.hash).forEach(function (pair) {
    var k = pair[0], v = F.decodeValue(pair[1]), f = byHash.hasOwnProperty(k) ? byHash[k] : null;
    if (v === null) return;
    if (f) { var x = codec(f).parse(f, v, pair[1]); if (x !== undefined) st[f.key] = x; }
    else if (k === "view") { if (VIEWS.indexOf(v) >= 0 && !viewBoxes[v].disabled) st.view = v; }
    else if (k === "hot") { st.hot = v === "1"; }
    else if (k === "embed") { st.embed = v === "1"; }
    else if (k === "inc") { st.inc = v; }
  });
  return st;
}
function setControls(st) {
  if (FILTERS.some(function (f) { return (f.control.kind === "select" || f.control.kind === "place") && st[f.key]; })) fillOptions();
  FILTERS.forEach(function (f) { codec(f).set(f, st[f.key]); });
  hotBox.checked = !!st.hot && !hotBox.disabled; drawHotspots();
  VIEWS.forEach(function (v) { viewBoxes[v].checked = v === st.view; });
}
function current() {  // the filter state as the controls show it
  var st = {};
  FILTERS.forEach(function (f) { st[f.key] = codec(f).get(f); });
  return st;
}
function written(f, st) { return codec(f).format(f, st[f.key]) !== null; }
function writeHash() {
  var st = current(), parts = [];
  FILTERS.forEach(function (f) {
    var along = f.control.options.with;  // written only when one of these filters is
    if (along && !along.some(function (k) { return written(FILTER[k], st); })) return;
    var text = codec(f).format(f, st[f.key]);
    if (text !== null) parts.push(f.hash_key + "=" + text);
  });
  if (currentView() !== "points") parts.push("view=" + currentView());
  if (hotBox.checked) parts.push("hot=1");
  if (EMBED) parts.push("embed=1");
  var h = "#" + parts.join("&");
  if (location.hash !== h) {
    try { history.replaceState(null, "", h); } catch (e) { location.hash = h; }
  }
}

// ---- points view: markers for small sets, one fast canvas of dots for large ones ----------------
var group = L.featureGroup();
function popupFor(i, latlng) {
  var box = el("div");
  box.appendChild(el("strong", types[ty(i)]));
  box.appendChild(el("div", D.descs[de(i)]));
  box.appendChild(el("div", D.blocks[PBK[PL[i]]]));
  box.appendChild(el("div", showTime(i), "cm-muted"));
  L.popup().setLatLng(latlng).setContent(box).openOn(C.map);
}
group.on("click", function (e) { popupFor(e.layer.options.idx, e.latlng); });
var mode = null;  // what the map shows: "markers", "dots", "heat" or "rates"
C.map.on("click", function (e) {
  if (mode !== "dots" || !dots._cnt) return;
  var scale = Math.pow(2, C.map.getZoom()), p = C.map.project(e.latlng, C.map.getZoom()), best = -1, bd = 64, j, LOC = located();
  for (j = 0; j < nLocated; j++) {
    var q = LOC[j], dx = PWX[PL[q]] * scale - p.x, dy = PWY[PL[q]] * scale - p.y, d2 = dx * dx + dy * dy;
    if (d2 < bd) { bd = d2; best = q; }
  }
  if (best >= 0) popupFor(best, [PLAT_DEG[PL[best]], PLON_DEG[PL[best]]]);
});

// ---- heat view (leaflet.heat), scaled so the densest 2% of cells in view are saturated ----------
var HEAT_R = 12, HEAT_BLUR = 14, heat = L.heatLayer([], { radius: HEAT_R, blur: HEAT_BLUR, minOpacity: 0.08 });
var heatDraws = 0;
function heatScale() {  // leaflet.heat bins points into cells of (radius + blur) / 2 px and clamps at `max`
  var map = C.map, z = map.getZoom(), scale = Math.pow(2, z), size = map.getSize();
  var org = map.getPixelOrigin(), tl = map.containerPointToLayerPoint([0, 0]), ox = org.x + tl.x, oy = org.y + tl.y;
  var g = (HEAT_R + HEAT_BLUR) / 2, rows = Math.floor(size.y / g) + 1, j, q, x, y;
  var cells = new Int32Array((Math.floor(size.x / g) + 1) * rows), counts = [];
  for (j = 0, located(); j < nLocated; j++) {
    q = PL[LOCATED[j]]; x = PWX[q] * scale - ox; y = PWY[q] * scale - oy;
    if (x < 0 || y < 0 || x > size.x || y > size.y) continue;
    cells[Math.floor(x / g) * rows + Math.floor(y / g)]++;
  }
  for (j = 0; j < cells.length; j++) if (cells[j]) counts.push(cells[j]);
  counts.sort(function (a, b) { return a - b; });
  var top = counts.length ? counts[Math.min(counts.length - 1, Math.floor(counts.length * 0.98))] : 1;
  // maxZoom = the current zoom: leaflet.heat then weighs every point 1 (no zoom damping).
  $("heat-scale").textContent = C.fmtInt(Math.max(1, top));
  return { max: Math.max(1, top), maxZoom: z };
}
// leaflet.heat's own _redraw (v0.2.0), reading the located matches' pre-projected world coordinates instead of
// projecting 150,000 [lat, lon] arrays with latLngToContainerPoint on every draw. Same bounds, cells, weights
// (1 per point, damped by 2^-(maxZoom - zoom)) and averaging; `_seen` = how many points the last draw was given.
heat._redraw = function () {
  var map = this._map, r = this._heat._r, size = map.getSize(), max = this.options.max === undefined ? 1 : this.options.max;
  var maxZoom = this.options.maxZoom === undefined ? map.getMaxZoom() : this.options.maxZoom, z = map.getZoom();
  var v = 1 / Math.pow(2, Math.max(0, Math.min(maxZoom - z, 12))), cs = r / 2, grid = [], data = [];
  var pane = map._getMapPanePos(), offX = pane.x % cs, offY = pane.y % cs, scale = Math.pow(2, z), org = map.getPixelOrigin();
  var ox = org.x - pane.x, oy = org.y - pane.y, j, q, x, y, cx, cy, cell, row;
  for (j = 0, located(); j < nLocated; j++) {
    q = PL[LOCATED[j]]; x = Math.round(PWX[q] * scale) - ox; y = Math.round(PWY[q] * scale) - oy;  // as latLngToLayerPoint rounds
    if (x < -r || y < -r || x > size.x + r || y > size.y + r) continue;
    cx = Math.floor((x - offX) / cs) + 2; cy = Math.floor((y - offY) / cs) + 2;
    row = grid[cy] || (grid[cy] = []); cell = row[cx];
    if (cell) { cell[0] = (cell[0] * cell[2] + x * v) / (cell[2] + v); cell[1] = (cell[1] * cell[2] + y * v) / (cell[2] + v); cell[2] += v; }
    else row[cx] = [x, y, v];
  }
  for (cy = 0; cy < grid.length; cy++) {
    if (!grid[cy]) continue;
    for (cx = 0; cx < grid[cy].length; cx++) {
      cell = grid[cy][cx];
      if (cell) data.push([Math.round(cell[0]), Math.round(cell[1]), Math.min(cell[2], max)]);
    }
  }
  this._heat.data(data).draw(this.options.minOpacity);
  this._seen = nLocated;
  this._frame = null;
};
function drawHeat() {  // one draw: on the map, setOptions schedules it for the next frame; else adding draws now
  var opts = heatScale();
  if (C.map.hasLayer(heat)) heat.setOptions(opts);
  else { L.setOptions(heat, opts); if (heat._heat) heat._updateOptions(); heat.addTo(C.map); }
  heatDraws++;
}
C.map.on("zoomend", function () { if (mode === "heat") heat.setOptions(heatScale()); });

// ---- rates view: incidents per 1,000 residents by the city's primary area kind -----------------------
// RATES.slot: the area column counted (the primary kind's slot); RATES.label: the city's word for one area.
var RATES = data.rates || {}, POP = RATES.population || {};
var RATE_SLOT = RATES.slot || "", RATE_ONE = RATES.label || "Area";
var RATE_WORD = /^.[a-z]/.test(RATE_ONE) ? RATE_ONE.toLowerCase() : RATE_ONE;  // "Precinct" -> "precinct", "LAPD division" kept
$("rates-title").textContent = C.t("ex.rates_by", {area: RATE_WORD});
$("rates-heading").textContent = C.t("ex.rates_heading_by", {area: RATE_WORD});
var rateFc = RATES.features === "base" ? (data.base && data.base.boundaries) : RATES.features;
var RATE_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"], NO_DATA = "#c9cdd2";
var NO_RATE_AREA = RATE_SLOT ? null : new Int32Array(nPlaces);  // no counted column: every place "(not given)" (code 0)
var caLabels = (RATE_SLOT && D.areas[RATE_SLOT]) || ["(not given)"], caMissing = labelIndex(caLabels)["(not given)"];
var caCounts = new Int32Array(caLabels.length), caNoCoords = 0, caNone = 0, rateRows = [], rateBreaks = [];
var areaNames = {}, rateLayer = null;
if (rateFc && rateFc.features && rateFc.features.length) {
  rateFc.features.forEach(function (f) {
    var c = String(f.properties.code);
    if (!areaNames.hasOwnProperty(c)) areaNames[c] = f.properties.name;
  });
  rateLayer = L.geoJSON(rateFc, {
    style: function () { return { color: "#4a4f55", weight: 1, fillOpacity: 0.75, fillColor: NO_DATA }; },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () { return areaBox(String(f.properties.code)); }, { sticky: true });
      layer.on("click", function (e) { areaPopup(String(f.properties.code), e.latlng); });
    }
  });
} else {
  viewBoxes.rates.disabled = true;
  $("view-rates-note").textContent = C.t("ex.no_rate_boundaries", {area: RATE_WORD});
}
function rateRow(code) {
  for (var k = 0; k < rateRows.length; k++) if (rateRows[k].code === code) return rateRows[k];
  return null;
}
function areaBox(code) {
  var r = rateRow(code), box = el("div");
  box.appendChild(el("strong", (areaNames[code] || C.t("ex.th_area")) + " (" + code + ")"));
  if (!r) return box;
  box.appendChild(el("div", C.t("ex.count_match", {n: C.fmtInt(r.count)})));
  box.appendChild(el("div", r.population === null ? C.t("ex.no_pop_rate")
    : C.t("ex.area_rate", {residents: C.fmtInt(r.population), year: r.year, rate: fmtNum(r.rate, 2)})));
  return box;
}
function areaPopup(code, latlng) {
  var box = areaBox(code), b = el("button", C.t("ex.only_area"), "cm-small");
  b.type = "button";
  b.addEventListener("click", function () { ctl(RATE_SLOT).value = code; C.map.closePopup(); changed(); });
  if (FILTER[RATE_SLOT] && areaIndex[RATE_SLOT].hasOwnProperty(code)) box.appendChild(b);
  L.popup().setLatLng(latlng).setContent(box).openOn(C.map);
}
function computeRates() {
  var seen = {}, rows = [];
  function add(code) {
    if (seen.hasOwnProperty(code) || code === "(not given)") return;
    seen[code] = 1;
    var k = RATE_SLOT ? areaIndex[RATE_SLOT][code] : undefined, cnt = k === undefined ? 0 : caCounts[k], pop = POP[code];
    rows.push({ code: code, name: areaNames[code] || null, count: cnt, population: pop ? pop[0] : null,
                year: pop ? pop[1] : null, rate: pop ? cnt / pop[0] * 1000 : null });
  }
  Object.keys(areaNames).forEach(add);
  Object.keys(POP).forEach(add);
  caLabels.forEach(function (c, k) { if (caCounts[k]) add(c); });
  rows.sort(function (a, b) { return a.code.localeCompare(b.code, "en", { numeric: true }); });
  rateRows = rows;
  // Five classes at the quintiles of the areas' rates (areas without population are left out).
  var vals = rows.filter(function (r) { return r.rate !== null; }).map(function (r) { return r.rate; }).sort(function (a, b) { return a - b; });
  rateBreaks = [];
  for (var q = 1; q < 5 && vals.length; q++) {
    var b = vals[Math.min(vals.length - 1, Math.floor(vals.length * q / 5))];
    if (b > (rateBreaks.length ? rateBreaks[rateBreaks.length - 1] : 0)) rateBreaks.push(b);
  }
}
function rateClass(rate) {
  for (var k = 0; k < rateBreaks.length; k++) if (rate < rateBreaks[k]) return k;
  return rateBreaks.length;
}
function rateColour(r) {
  if (!r || r.rate === null) return NO_DATA;
  var k = rateClass(r.rate);
  return RATE_COLOURS[Math.round(k * (RATE_COLOURS.length - 1) / Math.max(1, rateBreaks.length))];
}
function drawRates() {
  computeRates();
  if (rateLayer) rateLayer.eachLayer(function (layer) {
    var r = rateRow(String(layer.feature.properties.code));
    layer.setStyle({ fillColor: rateColour(r), dashArray: r && r.rate !== null ? null : "3 3" });
  });
  var box = $("rates-classes"); clear(box);
  var edges = [0].concat(rateBreaks), withPop = rateRows.filter(function (r) { return r.rate !== null; });
  if (withPop.length) {
    edges.forEach(function (lo, k) {
      var hi = k + 1 < edges.length ? edges[k + 1] : null;
      var sample = { rate: lo };
      box.appendChild(C.legendRow(rateColour(sample), hi === null ? C.t("ex.or_more", {lo: fmtNum(lo, 2)})
        : C.t("ex.to_under", {lo: fmtNum(lo, 2), hi: fmtNum(hi, 2)})));
    });
  }
  box.appendChild(C.legendRow(NO_DATA, C.t("ex.no_data_legend")));
  var pops = RATES.sources || [];
  $("rates-source").textContent = pops.length ? C.t("ex.residents_sources", {sources: pops.map(function (s) {
    return (s.title || s.dataset) + " [" + s.dataset + "], " + (s.years.length ? s.years.join(", ") : C.t("ex.year_not_given")) +
      " (" + C.t("ex.pop_areas", {n: C.fmtInt(s.areas)}) + ")";
  }).join("; ")}) : C.t("ex.no_pop_loaded");
  $("rates-what").textContent = C.t("ex.rate_what", {area: RATE_WORD, nocoords: C.fmtInt(caNoCoords)}) + " " +
    C.t(caNone === 1 ? "ex.rate_none_one" : "ex.rate_none_many", {n: C.fmtInt(caNone), area: RATE_WORD});
  var tb = document.querySelector("#rates-table tbody"); clear(tb);
  rateCells = [];
  rateRows.slice().sort(function (a, b) { return (b.rate === null ? -1 : b.rate) - (a.rate === null ? -1 : a.rate); })
    .forEach(function (r) {
      var tr = el("tr"); tr.setAttribute("data-code", r.code);
      tr.appendChild(el("td", r.code)); tr.appendChild(el("td", r.name || ""));
      var countTd = el("td", C.fmtInt(r.count), "num"), rateTd = el("td", r.rate === null ? "no data" : fmtNum(r.rate, 2), "num");
      tr.appendChild(countTd);
      tr.appendChild(el("td", r.population === null ? "no data" : C.fmtInt(r.population), "num"));
      tr.appendChild(rateTd);
      tb.appendChild(tr);
      rateCells.push({ code: r.code, name: r.name, count: countTd, rate: r.rate === null ? null : rateTd });
    });
}

// ---- filtering ---------------------------------------------------------------------------------
// One pass over the rows, day by day (a day's weekday and 00:00 once per day), with typed counters only: per kind
// (type list, by type, descriptions), per place (areas, no coordinates, the dots' colours), per day (comparisons,
// trend, weeks) and per hour; the figures are summed from them afterwards.
var MATCH = new Int32Array(n), nMatch = 0, nLocated = 0, page = 0;
var LOCATED = new Int32Array(n), locatedFresh = false;  // the located matches, listed when a view needs them
function located() {
  if (!locatedFresh) {
    for (var j = 0, nl = 0; j < nMatch; j++) if (PHAS[PL[MATCH[j]]] === 1) LOCATED[nl++] = MATCH[j];
    locatedFresh = true;
  }
  return LOCATED;
}
var hourCounts = [], weekCounts = {}, perType = [], perTypeMatch = [], placeOk = new Uint8Array(nPlaces);
var descHits = new Int32Array(D.descs.length), HOURS = new Int32Array(24), nomap = 0, midnight = 0;
var KSTATE = new Uint8Array(nKinds), KALL = new Int32Array(nKinds), KMATCH = new Int32Array(nKinds);
var PMATCH = new Int32Array(nPlaces), PTOP = new Uint8Array(nPlaces), KRANK = new Uint8Array(nKinds);
var dots = new Dots(PWX, PWY, PTOP);  // the points view's dots (PTOP: each place's colour rank, 0 = none)
for (i = 0; i < nKinds; i++) KRANK[i] = dotRank(KTY[i]);  // the dots' colour rank
var WIN = [0, 0];  // the rows of the selected dates: WIN[0] .. WIN[1] - 1
var RAD_M = Math.PI / 180 * 6371008.8;  // metres per degree of latitude on the page's sphere (explorer_filters.js)
function lowerBound(x) { var lo = 0, hi = n; while (lo < hi) { var m = (lo + hi) >> 1; if (T[m] < x) lo = m + 1; else hi = m; } return lo; }
// lite: only what the map and the count need (the count, no coordinates, at 00:00, the dots' colours): the opening
// draws them before the panels; the full pass follows.
function filterPass(st, lite) {
  var a = st.from ? lowerBound(F.dayStart(st.from, D.t0)) : 0;
  var b = st.to ? lowerBound(F.dayEnd(st.to, D.t0)) : n;
  var win = F.timeWindow(st.tod[0], st.tod[1]), codeIs = F.codeIs;
  var dowOk = [false]; for (var d = 1; d <= 7; d++) dowOk.push(F.weekdayIn(st.dow, d));
  // The select and flag filters that are set: [wanted code, column], per place (areas), per kind (flags) or per row.
  var placeCodes = [], kindCodes = [], rowCodes = [];
  FILTERS.forEach(function (f) {
    var c = CODED[f.key], want = c ? c.code(st[f.key]) : -1;
    if (want < 0) return;
    if (c.place) placeCodes.push([want, c.place]);
    else if (c.kind) kindCodes.push([want, c.kind]);
    else rowCodes.push([want, c.row()]);
  });
  var r = F.cappedRadius(st.r, MAXR), targets = [], res = resolveBlock(st.block), blk = res[0];
  var info = ctl("block", 1), k, ok, p, nc = rowCodes.length;
  if (st.near && placeIndex.hasOwnProperty(st.near)) { var s = places[placeIndex[st.near]]; targets.push([s.lat, s.lon]); }
  if (blk >= 0) {
    var bp = blockPoint(blk);
    if (!bp) { info.textContent = C.t("ex.block_unlocated", {block: D.blocks[blk]}); targets.push(null); }
    else { info.textContent = C.t("ex.block_point", {block: D.blocks[blk], how: res[1] ? " \u2014 " + res[1] : ""}); targets.push(bp); }
  } else if (blk === -2) { info.textContent = C.t("ex.no_block", {text: normBlock(st.block)}); targets.push(null); }
  else { info.textContent = ""; }
  // Area and distance filters depend only on the place, flags and types only on the kind: decided once each.
  var byPlace = targets.length > 0 || placeCodes.length > 0;
  if (byPlace) {
    for (p = 0; p < nPlaces; p++) {
      ok = true;
      for (k = 0; ok && k < placeCodes.length; k++) ok = codeIs(placeCodes[k][0], placeCodes[k][1][p]);
      for (k = 0; ok && k < targets.length; k++) {
        // a place further in latitude alone than r is out (the great-circle distance is at least that arc)
        ok = targets[k] !== null && Math.abs(PLAT_DEG[p] - targets[k][0]) * RAD_M <= r * 1.000001 &&
          F.withinRadius(targets[k], PLAT_DEG[p], PLON_DEG[p], r);
      }
      placeOk[p] = ok ? 1 : 0;
    }
  }
  for (k = 0; k < nKinds; k++) {  // 0: a flag filter fails; 1: only the type is not selected; 2: passes
    ok = true;
    for (var c2 = 0; ok && c2 < kindCodes.length; c2++) ok = codeIs(kindCodes[c2][0], kindCodes[c2][1][k]);
    KSTATE[k] = !ok ? 0 : (F.typeSelected(selType, KTY[k]) ? 2 : 1);
  }
  PTOP.fill(0);
  // KALL (per kind, the rows in the dates passing every filter but the types: the type list's counts) does not
  // depend on the types chosen: with every type off and the other filters as at the last full pass, nothing
  // matches and KALL stands, so the rows need no pass (the type list's "None").
  var others = JSON.stringify(st, function (k, v) { return k === "types" ? undefined : v; });
  var noRows = !lite && others === KALL_FOR && !selType.some(Boolean);
  if (!lite) { if (!noRows) KALL.fill(0); KMATCH.fill(0); PMATCH.fill(0); HOURS.fill(0); dayHits.fill(0); }
  // Every row is tested: the matches outside the selected dates feed the comparisons and the weekly trend. The
  // loop reads locals only (V8 then keeps them in registers; the page's variables live in a closure context).
  var nm = 0, nl = 0, mid = 0, j, e, m, q, hits, inWin, dm, ks, row0 = nc > 0 ? rowCodes[0] : null;
  var T_ = T, PL_ = PL, KD_ = KD, DS_ = DS, DMIN_ = DMIN, POK = placeOk, KST = KSTATE, KA = KALL, KM = KMATCH;
  var PM = PMATCH, PT = PTOP, KR = KRANK, PH = PHAS, HR = HOURS, M = MATCH, isoWd = F.isoWeekday, d0 = DAY0, nomapc = 0;
  var tw = win !== null, tf = tw ? win.from : 0, tt = tw ? win.to : 0, tx = tw && win.cross;  // F.inTimeWindow, inlined
  for (d = noRows ? NDAYS : 0; d < NDAYS; d++) {
    j = DS_[d]; e = DS_[d + 1];
    if (j === e || !dowOk[isoWd(d0 + d)]) continue;
    inWin = j >= a && j < b;  // a and b are days' first rows: a day is wholly in or out
    dm = DMIN_[d]; hits = 0;
    for (; j < e; j++) {
      if (tw) { m = T_[j] - dm; if (tx ? (m < tf && m >= tt) : (m < tf || m >= tt)) continue; }
      p = PL_[j];
      if (byPlace && POK[p] === 0) continue;
      q = KD_[j]; ks = KST[q];
      if (ks === 0) continue;
      if (nc > 0) {
        if (!codeIs(row0[0], row0[1][j])) continue;
        for (k = 1; k < nc && codeIs(rowCodes[k][0], rowCodes[k][1][j]); k++);
        if (k < nc) continue;
      }
      if (lite) {
        if (ks === 1 || !inWin) continue;
        M[nm++] = j; if (T_[j] === dm) mid++;
        if (PH[p] === 1) { nl++; if (PT[p] < KR[q]) PT[p] = KR[q]; } else nomapc++;
        continue;
      }
      if (inWin) KA[q]++;
      if (ks === 1) continue;
      hits++;
      if (!inWin) continue;
      M[nm++] = j; KM[q]++; PM[p]++;
      m = T_[j] - dm; HR[(m / 60) | 0]++;
      if (m === 0) mid++;
      if (PH[p] === 1) { nl++; if (PT[p] < KR[q]) PT[p] = KR[q]; }
    }
    if (!lite) dayHits[d] = hits;
  }
  nMatch = nm; nLocated = nl; locatedFresh = false; midnight = mid; WIN[0] = a; WIN[1] = b;
  if (lite) { nomap = nomapc; LAST = null; return; }
  KALL_FOR = others;
  var nt = types.length;
  perType = new Array(nt).fill(0); perTypeMatch = new Array(nt).fill(0); descHits.fill(0);
  for (k = 0; k < nKinds; k++) { perType[KTY[k]] += KALL[k]; perTypeMatch[KTY[k]] += KMATCH[k]; descHits[KDE[k]] += KMATCH[k]; }
  var AC = RATE_SLOT ? PAREA[RATE_SLOT] : NO_RATE_AREA, caMiss = caMissing, ac;  // per place (NO_RATE_AREA: all 0)
  caCounts.fill(0); caNoCoords = 0; caNone = 0; nomap = 0;
  for (p = 0; p < nPlaces; p++) {
    if (!(m = PMATCH[p])) continue;
    ac = AC[p]; caCounts[ac] += m;
    if (ac === caMiss) caNone += m;
    if (PHAS[p] === 0) { nomap += m; if (ac !== caMiss) caNoCoords += m; }
  }
  hourCounts = Array.from(HOURS);
  weekCounts = {};
  for (d = 0; d < NDAYS; d++) {
    if (!dayHits[d] || !(DS[d] >= a && DS[d] < b)) continue;
    var wk = DAY0 + d - (F.isoWeekday(DAY0 + d) - 1); weekCounts[wk] = (weekCounts[wk] || 0) + dayHits[d];
  }
  LAST = st;
}
var LAST = null;  // the state of the last filter pass
var KALL_FOR = null;  // the filters but the types that KALL was counted for (filterPass)
function showCount() { showCounts(nMatch, nomap, midnight); }
function previewAgrees() {  // the preview drew what this page's filter pass finds: counts, and per place dot and colour
  var o = D.opening, wx = PREVIEW._wx, wy = PREVIEW._wy, top = PREVIEW._top;
  if (o.count !== nMatch || o.nomap !== nomap || o.midnight !== midnight || o.located !== nLocated) return false;
  for (var p = 0; p < nPlaces; p++) {
    if (top[p] !== PTOP[p] || (PTOP[p] && (wx[p] !== PWX[p] || wy[p] !== PWY[p]))) return false;
  }
  return true;
}
function drawPanels() {  // everything but the map and the count, from the last filter pass
  countEls.forEach(function (c, k2) { c.textContent = C.fmtInt(perType[k2]); });
  var order = [];
  for (var j = 0; j < descHits.length; j++) if (descHits[j]) order.push(j);
  var top = order.sort(function (x, y) { return descHits[y] - descHits[x]; }).slice(0, 8);  // stable: ties by code
  var ol = $("top-descs"); clear(ol);
  topDescRows = [];
  top.forEach(function (k2) {
    var li = el("li", D.descs[k2] + " ("), n2 = el("span", C.fmtInt(descHits[k2]));
    li.appendChild(n2); li.appendChild(document.createTextNode(")")); ol.appendChild(li);
    topDescRows.push({ desc: D.descs[k2], target: n2 });
  });
  drawSummary(WIN[0], WIN[1]);
  drawCompare(LAST);
  page = 0; drawTable();
  Figures.refresh();
}
var RESTED = false;  // the blob's last columns (location codes, ids) are decoded
function rested() { RESTED = true; ID = D.ids || P.id; }
var TIMING = {};  // the last update's parts in ms: the filter pass, the map and count, the panels (for the benchmark)
function update() {
  if (!RESTED) { D.rest().then(function () { rested(); update(); }); return; }  // a change in the first moments
  var t0 = performance.now();
  filterPass(current());
  var t1 = performance.now();
  drawMap();
  showCount();
  var t2 = performance.now();
  drawPanels();
  TIMING = { pass: t1 - t0, map: t2 - t1, panels: performance.now() - t2 };
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function drawMap() {
  var view = currentView(), want = view === "points" ? (nLocated <= MARKER_LIMIT ? "markers" : "dots") : view;
  $("heat-legend").hidden = view !== "heat";
  $("rates-legend").hidden = view !== "rates";
  $("rates-box").hidden = view !== "rates";
  if (mode !== want) {  // take the previous view off the map
    if (mode === "markers") C.map.removeLayer(group);
    if (mode === "dots") C.map.removeLayer(dots);
    if (mode === "heat") C.map.removeLayer(heat);
    if (mode === "rates" && rateLayer) C.map.removeLayer(rateLayer);
  }
  group.clearLayers();
  if (want === "markers") {
    var opts = { renderer: C.canvas, radius: 4, weight: 0.5, color: "#222", fillOpacity: 0.8 };
    for (var j = 0, LOC = located(); j < nLocated; j++) {
      var q = LOC[j];
      opts.fillColor = colour(ty(q)); opts.idx = q;
      group.addLayer(L.circleMarker([PLAT_DEG[PL[q]], PLON_DEG[PL[q]]], opts));
    }
    if (mode !== want) group.addTo(C.map);
  } else if (want === "dots") {
    dots.setPoints(nLocated);  // drawn by onAdd when the view changes, else redrawn here
    if (mode !== want) dots.addTo(C.map);
  } else if (want === "heat") {
    drawHeat();
  } else if (want === "rates") {
    if (mode !== want && rateLayer) rateLayer.addTo(C.map);
    drawRates();
  }
  mode = want;
}
function bars(node, values, titles) {  // one column per value; the columns already there are reused
  var max = Math.max.apply(null, values.concat([1])), kids = node.children;
  while (kids.length > values.length) node.removeChild(node.lastChild);
  values.forEach(function (v, k) {
    var d = kids[k] || node.appendChild(el("div")), h = (100 * v / max) + "%", t = titles[k] + ": " + C.fmtInt(v);
    if (d.style.height !== h) d.style.height = h;
    if (d.title !== t) d.title = t;
  });
}
function dayStr(day) { return new Date(day * 86400000).toISOString().slice(0, 10); }
function drawSummary(a, b) {
  var st = $("sum-type"); clear(st);
  var order = perTypeMatch.map(function (_, k) { return k; }).filter(function (k) { return perTypeMatch[k] > 0; });
  order.sort(function (x, y) { return perTypeMatch[y] - perTypeMatch[x]; });
  var max = order.length ? perTypeMatch[order[0]] : 1;
  sumTypeRows = [];
  order.slice(0, 15).forEach(function (k) {
    var row = el("div", null, "cm-bar"), track = el("div", null, "cm-bar-track"), fill = el("div", null, "cm-bar-fill");
    fill.style.width = (100 * perTypeMatch[k] / max) + "%"; fill.style.background = colour(k); track.appendChild(fill);
    row.appendChild(el("span", types[k], "cm-bar-label")); row.appendChild(track);
    var amount = el("span", C.fmtInt(perTypeMatch[k]), "cm-bar-amount");
    row.appendChild(amount); st.appendChild(row); sumTypeRows.push({ type: k, target: amount });
  });
  if (order.length > 15) st.appendChild(el("div", C.t("ex.more_types", {n: order.length - 15}), "cm-muted"));
  bars($("sum-hour"), hourCounts, hourCounts.map(function (_, h) { return pad(h) + ":00"; }));
  // Every week of the selected date range, empty weeks included.
  var da = a < b ? dayOf(a) : 0, db = a < b ? dayOf(b - 1) : 0;
  var lo = a < b ? da - (F.isoWeekday(da) - 1) : null, hi = a < b ? db - (F.isoWeekday(db) - 1) : null, wv = [], wt = [];
  if (lo !== null) { for (var w = lo; w <= hi; w += 7) { wv.push(weekCounts[w] || 0); wt.push(C.t("ex.week_of", {day: showDay(dayStr(w))})); } }
  bars($("sum-week"), wv, wt);
  $("week-first").textContent = lo !== null ? showDay(dayStr(lo)) : ""; $("week-last").textContent = hi !== null ? showDay(dayStr(hi)) : "";
}
function detailsButton(td, q) {  // the date opens the incident's details (focus-info, popup): by keyboard too
  var b = el("button", td.textContent, "cm-linkbtn");
  b.type = "button"; b.setAttribute("aria-label", td.textContent + ", " + types[ty(q)] + ": details");
  b.addEventListener("click", function () { withIds(function () { focusIncident(String(ID[q])); }); });
  td.textContent = ""; td.appendChild(b);
}
function drawTable() {
  var tb = document.querySelector("#inc-table tbody"); clear(tb);
  var pages = Math.max(1, Math.ceil(nMatch / PAGE)); page = Math.max(0, Math.min(page, pages - 1));
  for (var j = page * PAGE; j < Math.min(nMatch, (page + 1) * PAGE); j++) {
    var q = MATCH[nMatch - 1 - j], tr = el("tr");  // newest first
    [showTime(q), types[ty(q)], D.descs[de(q)], D.blocks[PBK[PL[q]]], D.locs[lc()[q]]].forEach(function (v) { tr.appendChild(el("td", v)); });
    detailsButton(tr.firstChild, q);
    tb.appendChild(tr);
  }
  $("page-info").textContent = nMatch ? C.t("ex.rows_of", {first: C.fmtInt(page * PAGE + 1),
    last: C.fmtInt(Math.min(nMatch, (page + 1) * PAGE)), n: C.fmtInt(nMatch)}) : C.t("ex.no_match");
  $("page-prev").disabled = page === 0; $("page-next").disabled = page >= pages - 1;
}
$("page-prev").addEventListener("click", function () { page--; drawTable(); });
$("page-next").addEventListener("click", function () { page++; drawTable(); });

// ---- CSV of exactly the matching set -----------------------------------------------------------
function csvCell(v) {
  if (v === null || v === undefined) return "";
  var s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;  // keep spreadsheets from running it as a formula
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function flagText(f) { return f === 2 ? "" : (f === 1 ? "true" : "false"); }
function areaText(k, q) { var l = D.areas[k][PAREA[k][PL[q]]]; return l === "(not given)" ? "" : l; }
function buildCsv() {
  var LCc = lc(), lines = ["id,occurred_at,primary_type,description,block,location_description,arrest,domestic," +
               "beat,district,ward,community_area,lat,lon"];
  for (var j = 0; j < nMatch; j++) {
    var q = MATCH[j];
    var k = KD[q], hq = PHAS[PL[q]] === 1;
    lines.push([csvCell(ID[q]), fmtTime(q), csvCell(types[KTY[k]]), csvCell(D.descs[KDE[k]]), csvCell(D.blocks[PBK[PL[q]]]),
      csvCell(D.locs[LCc[q]]), flagText(KFA[k]), flagText(KFD[k]), csvCell(areaText("beat", q)), csvCell(areaText("district", q)),
      csvCell(areaText("ward", q)), csvCell(areaText("community_area", q)),
      hq ? PLAT_DEG[PL[q]].toFixed(5) : "", hq ? PLON_DEG[PL[q]].toFixed(5) : ""].join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
$("csv-download").addEventListener("click", function () {
  withIds(function () {
    var url = URL.createObjectURL(new Blob([buildCsv()], { type: "text/csv;charset=utf-8" }));
    var a = el("a"); a.href = url; a.download = "incidents-" + String(data.city || "city").replace(/[^A-Za-z0-9_-]/g, "_") + "-filtered.csv";
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  });
});
function withIds(fn) {  // run fn once the ids (the blob's last column, inflated after the first paint) are decoded
  if (ID) return fn();
  D.rest().then(function () { ID = D.ids || P.id; fn(); });
}

// ---- "How is this computed?": the SQL of each figure with the filters of the moment (figure_sql.js) ----------
var sumTypeRows = [], rateCells = [], topDescRows = [];
function figureFilters(withoutTypes) {  // the set filters' predicates and values, decided as update() decides them
  var st = current(), set = {}, r = F.cappedRadius(st.r, MAXR);
  if (withoutTypes) st.types = types.map(function () { return true; });  // the type list's counts ignore it
  function one(name, v) { var o = {}; o[name] = v; return o; }
  FILTERS.forEach(function (f) {
    var k = f.key, v = st[k];
    if (k === "types") { if (v.some(function (s) { return !s; })) set.types = one("types", types.filter(function (t, j) { return v[j]; })); }
    else if (k === "from" || k === "to") { if (v) set[k] = one(k, v); }
    else if (k === "tod") { var w = F.timeWindow(v[0], v[1]); if (w) set.tod = { tod_from: w.from, tod_to: w.to }; }
    else if (k === "dow") { if (v.length < 7) set.dow = one("dow", v); }
    else if (CODED.hasOwnProperty(k)) { if (CODED[k].code(v) >= 0) set[k] = one(k, v); }
    else if (k === "near") {
      if (v && placeIndex.hasOwnProperty(v)) {
        var s = places[placeIndex[v]];
        set.near = { near_lat: s.lat, near_lon: s.lon, lat0: D.lat0, lon0: D.lon0, r: r };
      }
    } else if (k === "block") {
      var res = resolveBlock(v), bp = res[0] >= 0 ? blockPoint(res[0]) : null;
      if (bp) set.block = { block_lat: bp[0], block_lon: bp[1], lat0: D.lat0, lon0: D.lon0, r: r };
      else if (res[0] !== -1) set.block = false;  // typed but not resolved (or no located incident): nothing matches
    }
  });
  var parts = Figures.filterParts(set);
  parts.values.city = data.city;
  return parts;
}
function figureRow(p, label, target, extra) {  // p: figureFilters(), shared by the rows of one control
  var values = Object.assign({}, p.values, extra || {});
  return { label: label, target: target, values: values, preds: p.preds };
}
Figures.control("explorer.total", { after: $("count-match").parentNode,
  rows: function () { return [figureRow(figureFilters(), C.t("ex.fig_matching"), $("count-match"))]; } });
Figures.control("explorer.no_coordinates", { after: $("count-midnight-row"), pick: C.t("fig.pick_number"),
  label: C.t("fig.how_two"), rows: function () {
    var p = figureFilters();
    return [figureRow(p, C.t("ex.fig_nomap"), $("count-nomap")), Object.assign(figureRow(p, C.t("ex.fig_midnight"), $("count-midnight")),
                                                                       { key: "explorer.at_midnight" })];
  } });
Figures.control("explorer.type_available", { after: $("type-list"), pick: C.t("ex.th_type"), label: C.t("fig.how_counts"),
  rows: function () {
    var p = figureFilters(true);
    return types.map(function (t, k) { return figureRow(p, t, countEls[k], { primary_type: t }); });
  } });
Figures.control("explorer.description_count", { after: $("top-descs"), pick: C.t("ex.th_description"),
  label: C.t("fig.how_counts"), rows: function () {
    var p = figureFilters();
    return topDescRows.map(function (d) { return figureRow(p, d.desc, d.target, { description: d.desc }); });
  } });
Figures.control("explorer.type_count", { after: $("sum-type"), pick: C.t("ex.th_type"), label: C.t("fig.how_counts"),
  rows: function () {
    var p = figureFilters();
    return sumTypeRows.map(function (t) { return figureRow(p, types[t.type], t.target, { primary_type: types[t.type] }); });
  } });
Figures.control("explorer.rate_per_1000", { after: $("rates-table"), pick: RATE_ONE, label: C.t("ex.fig_how_rate"),
  rows: function () {
    var p = figureFilters();
    return rateCells.filter(function (c) { return c.rate; }).map(function (c) {
      return figureRow(p, c.code + (c.name ? " " + c.name : ""), c.rate, { area: c.code, area_kind: RATES.kind }); });
  } });

Figures.control("explorer.area_count", { after: $("rates-table"), pick: RATE_ONE, label: C.t("ex.fig_how_area_count"),
  rows: function () {
    var p = figureFilters();
    return rateCells.map(function (c) { return figureRow(p, c.code + (c.name ? " " + c.name : ""), c.count, { area: c.code }); });
  } });
// ---- comparisons and the weekly trend (explorer_compare.js) --------------------------------------
var CMP = ExplorerCompare;
var dayHits = new Int32Array(NDAYS), compareRows = [], trendWeeks = [];  // per day: matches of every filter but the dates
function hitsIn(from, to) {  // matching incidents (every filter but the dates) from day `from` to `to`, inclusive
  var s = 0, lo = Math.max(from, DAY0), hi = Math.min(to, DAYLAST);
  for (var d = lo; d <= hi; d++) s += dayHits[d - DAY0];
  return s;
}
function drawCompare(st) {
  if (!n) return;
  // the selected dates, within the data (days outside it hold no incident and would dilute the rate)
  var from = Math.max(DAY0, st.from ? CMP.isoToDay(st.from) : DAY0), to = Math.min(DAYLAST, st.to ? CMP.isoToDay(st.to) : DAYLAST);
  if (to < from) { compareRows = []; clear($("cmp-table").tBodies[0]); return; }
  compareRows = CMP.periods(from, to, DAY0, DAYLAST);
  compareRows.forEach(function (p) { p.count = p.key === "now" || p.held ? hitsIn(p.from, p.to) : null; });
  CMP.drawTable($("cmp-table").tBodies[0], el, C.fmtInt, compareRows);
  compareRows.forEach(function (p) { p.fromDay = CMP.dayToIso(p.from); p.toDay = CMP.dayToIso(p.to); });
  var weeks = {}, order = [];
  for (var d = DAY0; d <= DAYLAST; d++) {
    var w = d - (F.isoWeekday(d) - 1);
    if (!weeks.hasOwnProperty(w)) { weeks[w] = { start: w, count: 0 }; order.push(w); }
    weeks[w].count += dayHits[d - DAY0];
  }
  trendWeeks = order.map(function (w) { return weeks[w]; });
  CMP.drawTrend($("trend-svg"), trendWeeks, [from, to]);
}

// ---- Gi* hotspots: the significant H3 cells of the pipeline's hotspot_cells (maps/explorer.py) ------------
var HOT = data.hotspots, hotBox = $("hot-layer"), hotLayer = L.featureGroup();
if (HOT) {
  HOT.cells.forEach(function (c) {
    var poly = L.polygon(c.b, { cell: c.h, cls: c.c, color: c.c === "hot" ? "#a50f15" : "#08519c", weight: 1.5,
                                fillColor: c.c === "hot" ? "#de2d26" : "#3182bd", fillOpacity: 0.35 });
    poly.bindTooltip(C.t(c.c === "hot" ? "ex.hot_tip" : "ex.cold_tip", {n: C.fmtInt(c.n), z: fmtNum(c.z, 2), q: c.q}),
                     { sticky: true });
    hotLayer.addLayer(poly);
  });
  $("hot-what").textContent = C.t("ex.hot_what", {res: HOT.resolution, km2: HOT.area_km2, edge: HOT.edge_m,
    start: showDay(HOT.start), end: showDay(HOT.end), tested: C.fmtInt(HOT.tested), alpha: HOT.alpha,
    n: C.fmtInt(HOT.cells.length)});
} else {
  hotBox.disabled = true;
  $("hot-what").textContent = C.t("ex.no_hot");
}
function drawHotspots() {
  var on = hotBox.checked && !!HOT;
  $("hot-legend").hidden = !on;
  if (on && !C.map.hasLayer(hotLayer)) hotLayer.addTo(C.map);
  if (!on && C.map.hasLayer(hotLayer)) C.map.removeLayer(hotLayer);
}
hotBox.addEventListener("change", function () { drawHotspots(); writeHash(); });

// ---- privacy: what the points stand for (maps/privacy.py) -----------------------------------------
(function () {
  var P = data.privacy || {}, text = C.t("ex.privacy_points");
  if (P.min_addresses) {
    text += " " + C.t("ex.privacy_min", {min: P.min_addresses, moved: C.fmtInt(P.points_moved || 0),
      points: C.fmtInt(P.points || 0), rows: C.fmtInt(P.rows_moved || 0),
      withheld: P.rows_withheld ? C.t("ex.privacy_withheld", {n: C.fmtInt(P.rows_withheld)}) : ""});
  }
  $("privacy-note").textContent = text;
})();

// ---- embedding (embed=1) and opening on one incident (inc=<id>, the Atom feeds' links) ----------------
var EMBED = false, focused = null;
function embedMode() {
  document.body.classList.add("cm-embed");
  var bar = el("div", null, "cm-embed-bar"), count = el("span", "", "cm-embed-count"), link = el("a", C.t("ex.embed_open"));
  bar.id = "embed-bar";
  link.target = "_blank"; link.rel = "noopener";
  function refresh() {
    count.textContent = C.t("ex.count_match", {n: C.fmtInt(nMatch)});
    link.href = location.href.replace(/([#&])embed=1(&|$)/, "$1").replace(/[#&]$/, "");
  }
  var asOf = $("data-as-of");
  bar.appendChild(count);
  if (asOf) bar.appendChild(el("span", asOf.textContent.replace(/\s+/g, " ").trim(), "cm-embed-asof"));
  var srcs = Array.prototype.map.call(document.querySelectorAll("#sources .cm-src-dataset"), function (e) { return e.textContent; });
  if (srcs.length) bar.appendChild(el("span", C.t("ex.embed_sources", {list: srcs.join(", ")}), "cm-embed-src"));
  bar.appendChild(link);
  $("map").parentNode.appendChild(bar);
  window.addEventListener("hashchange", refresh);
  C.embedRefresh = refresh;
  setTimeout(refresh, 0);
  C.map.invalidateSize();
}
function fitMatches() {  // an embedded view opens on its located matches
  if (!nLocated) return;
  located();
  var s = 90, w = 180, nn = -90, e = -180, j, q;
  for (j = 0; j < nLocated; j++) {
    q = LOCATED[j];
    var la = PLAT_DEG[PL[q]], lo = PLON_DEG[PL[q]];
    if (la < s) s = la; if (la > nn) nn = la; if (lo < w) w = lo; if (lo > e) e = lo;
  }
  C.map.fitBounds([[s, w], [nn, e]], { paddingTopLeft: [20, 20], paddingBottomRight: [20, 70], maxZoom: 16 });
}
function focusIncident(id) {
  var j, at = -1, box = $("focus-info");
  for (j = 0; j < n; j++) if (String(ID[j]) === id) { at = j; break; }
  if (at < 0) { box.textContent = C.t("ex.focus_missing", {id: id}); box.hidden = false; return; }
  focused = id;
  box.textContent = C.t("ex.focus", {id: id, type: types[ty(at)], desc: D.descs[de(at)], when: showTime(at),
    block: D.blocks[PBK[PL[at]]], nomap: has(at) ? "" : " " + C.t("ex.focus_nomap")});
  box.hidden = false;
  if (has(at)) { var ll = [PLAT_DEG[PL[at]], PLON_DEG[PL[at]]]; C.map.setView(ll, 17); popupFor(at, ll); }
}

// ---- wiring ------------------------------------------------------------------------------------
function changed() { writeHash(); update(); }  // the hash first: replaceState then finds no layout to bring up to date
function setAll(v) { boxes.forEach(function (cb, k) { cb.checked = v; selType[k] = v; }); syncGroups(); changed(); }
$("types-all").addEventListener("click", function () { setAll(true); });
$("types-none").addEventListener("click", function () { setAll(false); });
$("filters-reset").addEventListener("click", function () {
  var st = defaults(); st.view = currentView(); setControls(st); changed();
});
FILTERS.forEach(function (f) {  // the declared controls' inputs and selects (types and days have their own)
  f.control.ids.forEach(function (id) {
    var c = $(id);
    if (c.tagName === "INPUT" || c.tagName === "SELECT") c.addEventListener("change", changed);
  });
});
window.addEventListener("hashchange", function () { setControls(readHash()); update(); });
var OPENED = readHash();
EMBED = !!OPENED.embed;
if (EMBED) embedMode();
setControls(OPENED);
C.explorer = {
  stages: STAGES,
  count: function () { return nMatch; },
  ids: function () { var out = []; for (var j = 0; j < nMatch; j++) out.push(String(ID[MATCH[j]])); return out; },
  mode: function () { return mode; },
  view: currentView,
  rates: function () { return rateRows.map(function (r) { return Object.assign({}, r); }); },
  heat: function () { return { points: heat._seen || 0, draws: heatDraws, onMap: C.map.hasLayer(heat),
                               max: heat.options.max }; },
  update: update,
  compare: function () { return compareRows.map(function (p) { return Object.assign({}, p); }); },
  weeks: function () { return trendWeeks.slice(); },
  hotspots: function () {  // the hexagons drawn on the map: cell, class and corners
    if (!C.map.hasLayer(hotLayer)) return [];
    return hotLayer.getLayers().map(function (l) {
      return { h: l.options.cell, c: l.options.cls, b: l.getLatLngs()[0].map(function (p) { return [p.lat, p.lng]; }) };
    });
  },
  focused: function () { return focused; },
  embed: function () { return EMBED; },
  timing: function () { return Object.assign({}, TIMING); }
};
// Opening: the map and the count from the page's own light pass (replacing the preview; STAGES.live: two frames after
// drawing them), then the rest of the blob (location codes, ids) and the panels; the shell marks the page ready (civicmapReady) once all of it is done. A
// location filter in the URL needs the location codes first.
return (CODED.loc.code(current().loc) >= 0 ? D.rest().then(rested) : Promise.resolve()).then(function () {
  STAGES.controls = performance.now();
  var lite = currentView() !== "rates";  // the rates view's colours need the full pass's area counts
  filterPass(current(), lite);
  STAGES.filtered = performance.now();
  if (EMBED) fitMatches();
  drawMap();
  showCount();
  if (PREVIEW) {  // the page's own dots and count now stand where the preview's were
    STAGES.previewAgrees = previewAgrees();
    if (!STAGES.previewAgrees) console.warn("civicmash: the opening preview differed from the page's filter pass (redrawn)");
    C.map.removeLayer(PREVIEW); PREVIEW = null;
  }
  STAGES.drawn = performance.now();
  return new Promise(function (done) {
    requestAnimationFrame(function () { requestAnimationFrame(function () {
      STAGES.live = performance.now();  // the page's own filter pass painted (the first render when no preview)
      if (!STAGES.painted) STAGES.painted = STAGES.live;
      done();
    }); });
  });
}).then(function () {
  return D.rest();
}).then(function () {
  rested();
  fillOptions();
  STAGES.rest = performance.now();
  filterPass(current());
  drawPanels();
  if (OPENED.inc) focusIncident(OPENED.inc);
  STAGES.updated = performance.now();
});
}
