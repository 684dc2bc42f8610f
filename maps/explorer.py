"""Incident explorer: every incident of a city on one offline page, with combinable filters.

Incidents are embedded column-wise (see docs/maps.md, "Crime explorer"): ``occurred_at`` as
delta-encoded minutes, dictionary-encoded ``primary_type``, ``description``, ``block``,
``location_description``, ``beat``, ``district``, ``ward`` and ``community_area``, arrest/domestic
packed in one small code, coordinates as integer offsets of 1e-5 degrees (``null`` when the incident
has no location: it is counted as "not on the map"). Schools and parks (``services``) are embedded with
their exact coordinates for the "near" filter, and every distinct block with a representative point
(the lower median of its incidents' embedded coordinates) for the typed-block filter. All filtering,
the summary, the paged table and the CSV download run in the page; the filter state lives in
``location.hash``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from . import _data
from ._columns import fetch_columns
from .render import render_page, write_page

_TABLES = ("incidents", "boundaries", "streets", "services")
NEAR_CATEGORIES = ("school", "park")
MAX_RADIUS_M = 804.672  # half a mile
# Optional incident columns: (SQL expression, missing label). Absent columns become NULL.
_AREA_COLS = {
    "beat": "beat",
    "district": "CAST(district AS VARCHAR)",
    "ward": "CAST(ward AS VARCHAR)",
    "community_area": "CAST(community_area AS VARCHAR)",
}
MISSING = "(not given)"


# Integer columns are packed into fixed-width strings over this alphabet (no JSON/HTML escapes needed):
# a row costs ``w`` bytes instead of its decimal digits plus a comma.
_ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\<>&')
_BASE = len(_ALPHABET)


def pack_ints(values) -> dict:
    """Non-null integers (None allowed) -> ``{"w", "off", "s"}``: each row is ``w`` base-89 digits of
    ``value - off + 1``, 0 meaning null. Decoded by ``unpack`` in the page."""
    vals = [None if v is None else int(v) for v in values]
    present = [v for v in vals if v is not None]
    off = min(present) if present else 0
    top = (max(present) - off + 1) if present else 0
    width = 1
    while _BASE ** width <= top:
        width += 1
    arr = np.array([0 if v is None else v - off + 1 for v in vals], dtype=np.int64)
    digits = np.empty((len(arr), width), dtype=np.int64)
    for k in range(width - 1, -1, -1):
        digits[:, k] = arr % _BASE
        arr //= _BASE
    table = np.frombuffer(_ALPHABET.encode("ascii"), dtype=np.uint8)
    return {"w": width, "off": off, "s": table[digits].tobytes().decode("ascii")}


def _dict_encode(values: np.ndarray, *, missing: str) -> tuple[list[str], list[int]]:
    """(labels ordered by frequency, code per row)."""
    vals = np.array([missing if v is None or v == "" else str(v) for v in values], dtype=object)
    if not len(vals):
        return [], []
    labels, inverse, counts = np.unique(vals, return_inverse=True, return_counts=True)
    order = np.lexsort((labels, -counts))  # most common first, then by name
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return [str(x) for x in labels[order]], rank[inverse].tolist()


def _ids(values):
    """source_id column: packed integers when every id is a canonical integer below 2**31, else strings."""
    ids = ["" if v is None else str(v) for v in values]
    if ids and all(s.isdigit() and (s == "0" or not s.startswith("0")) and len(s) < 10 for s in ids):
        return pack_ints(int(s) for s in ids)
    return ids


def _flags(arrest, domestic) -> list[int]:
    """arrest + 3 * domestic, each 0 = false, 1 = true, 2 = not given."""
    def code(v):
        return 2 if v is None else (1 if bool(v) else 0)
    return [code(a) + 3 * code(d) for a, d in zip(arrest, domestic)]


def _block_points(codes: list[int], n_blocks: int, lat_q: list, lon_q: list) -> tuple[list, list]:
    """Representative point per block: the lower median of its located incidents' integer coordinates."""
    code = np.asarray(codes, dtype=np.int64)
    have = np.array([a is not None and b is not None for a, b in zip(lat_q, lon_q)], dtype=bool)
    out_lat: list = [None] * n_blocks
    out_lon: list = [None] * n_blocks
    if not have.any():
        return out_lat, out_lon
    c = code[have]
    for values, out in ((np.array([v for v, h in zip(lat_q, have) if h], dtype=np.int64), out_lat),
                        (np.array([v for v, h in zip(lon_q, have) if h], dtype=np.int64), out_lon)):
        order = np.lexsort((values, c))
        cs, vs = c[order], values[order]
        starts = np.searchsorted(cs, np.arange(n_blocks), side="left")
        ends = np.searchsorted(cs, np.arange(n_blocks), side="right")
        for b in np.nonzero(ends > starts)[0].tolist():
            out[b] = int(vs[starts[b] + (ends[b] - starts[b] - 1) // 2])
    return out_lat, out_lon


def _incident_payload(con, *, city: str) -> dict:
    incidents = _data.incidents_relation(con)
    have = _data.columns(con, incidents)

    def col(name, expr=None):
        return f"{expr or name} AS {name}" if name in have else f"NULL AS {name}"

    area_sql = ", ".join(col(k, e) for k, e in _AREA_COLS.items())
    cols = fetch_columns(
        con,
        "SELECT primary_type, description, CAST(floor(epoch(occurred_at) / 60) AS BIGINT) AS t, lat, lon, "
        f"{col('source_id')}, {col('block')}, {col('location_description')}, {col('arrest')}, {col('domestic')}, "
        f"{area_sql} FROM {incidents} WHERE city = ? AND occurred_at IS NOT NULL "
        f"ORDER BY occurred_at{', source_id' if 'source_id' in have else ''}",
        [city],
    )
    undated = con.execute(
        f"SELECT count(*) FROM {incidents} WHERE city = ? AND occurred_at IS NULL", [city]
    ).fetchone()[0]
    t = np.asarray(cols["t"], dtype=np.int64)
    lat = np.asarray(cols["lat"], dtype=float)
    lon = np.asarray(cols["lon"], dtype=float)
    located = ~(np.isnan(lat) | np.isnan(lon))
    lat0 = float(np.floor(lat[located].min() * 100) / 100) if located.any() else 0.0
    lon0 = float(np.floor(lon[located].min() * 100) / 100) if located.any() else 0.0
    types, ty = _dict_encode(cols["primary_type"], missing="(type not given)")
    descs, de = _dict_encode(cols["description"], missing="(no description)")
    blocks, bk = _dict_encode(cols["block"], missing="(no block)")
    locs, lc = _dict_encode(cols["location_description"], missing=MISSING)
    lat_q = _data.to_int_coords(lat, lat0)
    lon_q = _data.to_int_coords(lon, lon0)
    blat, blon = _block_points(bk, len(blocks), lat_q, lon_q)
    t0 = int(t.min()) if len(t) else 0
    areas = {}
    for key in _AREA_COLS:
        labels, codes = _dict_encode(cols[key], missing=MISSING)
        areas[key] = {"labels": labels, "codes": pack_ints(codes)}
    return {
        "n": int(len(t)),
        "undated": int(undated),
        "t0": t0,
        "dt": np.diff(t, prepend=t0).tolist(),  # usually 0-2 digits each  # minutes since the previous incident (sorted by time)
        "lat0": lat0,
        "lon0": lon0,
        "lat": pack_ints(lat_q),
        "lon": pack_ints(lon_q),
        "id": _ids(cols["source_id"]),
        "types": types,
        "ty": pack_ints(ty),
        "descs": descs,
        "de": pack_ints(de),
        "blocks": blocks,
        "bk": pack_ints(bk),
        "blat": pack_ints(blat),
        "blon": pack_ints(blon),
        "locs": locs,
        "lc": pack_ints(lc),
        "fl": pack_ints(_flags(cols["arrest"], cols["domestic"])),
        "areas": areas,
    }


def _places(con, *, city: str, categories=NEAR_CATEGORIES) -> list[dict]:
    """Schools and parks with their exact coordinates (for the "within r of" filter)."""
    if not _data.has_table(con, "services") or not categories:
        return []
    marks = ", ".join("?" for _ in categories)
    rows = con.execute(
        "SELECT category, coalesce(source_id, 'row:' || CAST(row_number() OVER () AS VARCHAR)) AS id, "
        "coalesce(name, '(unnamed)'), lat, lon FROM services "
        f"WHERE city = ? AND category IN ({marks}) AND lat IS NOT NULL AND lon IS NOT NULL "
        "ORDER BY category, name, id",
        [city, *categories],
    ).fetchall()
    return [{"cat": c, "id": str(i), "name": str(nm), "lat": float(la), "lon": float(lo)}
            for c, i, nm, la, lo in rows]


def build(con, *, city: str, out_path, title: str = "Crime explorer", synthetic: bool = False,
          sources: list[dict] | None = None, options: dict | None = None, city_title: str | None = None) -> Path:
    """Write the incident explorer for ``city`` to ``out_path``.

    Options: ``days`` (default window length, 90), ``start``/``end`` (ISO dates: the date range
    selected when the page opens; every dated incident is embedded either way), ``types`` (initially
    selected primary types; default all), ``near_categories`` (service categories offered by the
    "near" filter; default school, park), ``boundary_kind``, ``max_street_edges``.
    """
    options = dict(options or {})
    start, end = _data.incident_window(con, city=city, options=options)
    graph = _data.load_graph(con, city)
    data = {
        "base": _data.base_layer(con, city=city, graph=graph, options=options),
        "incidents": _incident_payload(con, city=city),
        "places": _places(con, city=city, categories=tuple(options.get("near_categories", NEAR_CATEGORIES))),
        "maxRadius": MAX_RADIUS_M,
        "alphabet": _ALPHABET,
        "window": {"start": start.date().isoformat(), "end": (end - timedelta(days=1)).date().isoformat()},
        "selected_types": options.get("types"),
        "city": city,
        "collapseOnPhone": False,
    }
    html = render_page(
        title=title,
        city_title=city_title or city,
        body_js=_JS,
        data=data,
        synthetic=synthetic,
        sources=_data.sources_for(con, city, sources, _TABLES),
        legend_html=_SUMMARY,
        controls_html=_CONTROLS,
    )
    return write_page(out_path, html)


_CONTROLS = """
<h2>Incidents</h2>
<div class="cm-count" role="status" aria-live="polite"><span id="count-match">0</span> matching incidents</div>
<div class="cm-muted"><span id="count-nomap">0</span> of them not on the map (no coordinates)</div>
<div class="cm-muted" id="count-midnight-row"><span id="count-midnight">0</span> of them recorded at exactly 00:00
(often means the time is not known)</div>
<div class="cm-row"><button type="button" class="cm-small" id="filters-reset">Reset filters</button>
<button type="button" class="cm-small" id="csv-download">Download CSV of the matching incidents</button></div>
<details open id="f-when"><summary><h2 class="cm-inline">When</h2></summary>
<div class="cm-row"><label for="date-from">From (date, inclusive)</label><input type="date" id="date-from"></div>
<div class="cm-row"><label for="date-to">To (date, inclusive)</label><input type="date" id="date-to"></div>
<div class="cm-row"><label for="tod-from">Time of day from</label><input type="time" id="tod-from" step="60"></div>
<div class="cm-row"><label for="tod-to">until (not included)</label><input type="time" id="tod-to" step="60"></div>
<div class="cm-muted">A range like 22:00 – 03:00 crosses midnight. Leave empty for the whole day.</div>
<fieldset class="cm-dow"><legend>Day of week</legend><span id="dow-list"></span></fieldset>
</details>
<details open id="f-types"><summary><h2 class="cm-inline">Types</h2></summary>
<div class="cm-row"><button type="button" class="cm-small" id="types-all">all</button>
<button type="button" class="cm-small" id="types-none">none</button></div>
<div id="type-list"></div>
</details>
<details open id="f-where"><summary><h2 class="cm-inline">Where</h2></summary>
<div class="cm-row"><label for="f-beat">Police beat</label><select id="f-beat"></select></div>
<div class="cm-row"><label for="f-district">Police district</label><select id="f-district"></select></div>
<div class="cm-row"><label for="f-ward">Ward</label><select id="f-ward"></select></div>
<div class="cm-row"><label for="f-ca">Community area</label><select id="f-ca"></select></div>
<div class="cm-row"><label for="f-loc">Location description</label><select id="f-loc"></select></div>
<div class="cm-row"><label for="f-near">Near a school or park</label><select id="f-near"></select></div>
<div class="cm-row"><label for="f-block">Near a block (e.g. 001XX N STATE ST)</label>
<input type="search" id="f-block" autocomplete="off" spellcheck="false"></div>
<div class="cm-muted" id="block-resolved"></div>
<div class="cm-row"><label for="f-radius">Radius in metres (at most 805 = ½ mile)</label>
<input type="number" id="f-radius" min="1" max="804.672" step="any" inputmode="decimal"></div>
</details>
<details open id="f-flags"><summary><h2 class="cm-inline">Arrest and domestic</h2></summary>
<div class="cm-row"><label for="f-arrest">Arrest made</label><select id="f-arrest">
<option value="">any</option><option value="true">yes</option><option value="false">no</option></select></div>
<div class="cm-row"><label for="f-domestic">Domestic</label><select id="f-domestic">
<option value="">any</option><option value="true">yes</option><option value="false">no</option></select></div>
</details>
"""

_SUMMARY = """
<h2>Matching incidents by type</h2><div id="sum-type"></div>
<h2>By hour of day</h2><div id="sum-hour" class="cm-cols" role="img" aria-label="Matching incidents by hour of day"></div>
<div class="cm-axis"><span>00</span><span>06</span><span>12</span><span>18</span><span>23</span></div>
<h2>By week (weeks start on Monday)</h2><div id="sum-week" class="cm-cols" role="img" aria-label="Matching incidents by week"></div>
<div class="cm-axis"><span id="week-first"></span><span id="week-last"></span></div>
<h2>Matching incidents</h2>
<table class="cm-table" id="inc-table"><thead><tr><th>Date</th><th>Type</th><th>Description</th><th>Block</th>
<th>Location</th></tr></thead><tbody></tbody></table>
<div class="cm-row"><button type="button" class="cm-small" id="page-prev">Previous</button>
<span class="cm-muted" id="page-info"></span>
<button type="button" class="cm-small" id="page-next">Next</button></div>
<h2>Top descriptions</h2><ol id="top-descs" class="cm-muted"></ol>
<style>
  #panel details > summary { cursor: pointer; list-style-position: outside; margin-left: 1rem; }
  #panel h2.cm-inline { display: inline; font-size: 1rem; }
  #panel details { margin: .6rem 0; }
  #panel .cm-row input, #panel .cm-row select { max-width: 58%; }
  #panel select { min-width: 7rem; }
  fieldset.cm-dow { border: 0; padding: 0; margin: .3rem 0; }
  fieldset.cm-dow legend { padding: 0; font-size: .95rem; }
  fieldset.cm-dow label { margin-right: .5rem; white-space: nowrap; }
  .cm-cols { display: flex; align-items: flex-end; gap: 1px; height: 4rem; background: #f5f7f9; }
  .cm-cols div { flex: 1 1 0; background: #2f6db5; min-height: 1px; }
  .cm-axis { display: flex; justify-content: space-between; font-size: .75rem; color: #5b6470; }
  #inc-table { font-size: .8rem; }
  #inc-table td { vertical-align: top; overflow-wrap: anywhere; }
  #panel button:focus-visible, #panel input:focus-visible, #panel select:focus-visible, #panel summary:focus-visible
    { outline: 3px solid #ffbf47; outline-offset: 1px; }
  @media (min-width: 701px) { #panel { width: 400px; } }
</style>
"""

_JS = r"""
var D = data.incidents, el = C.el, MIN = 60000, n = D.n, i;
var ALPHA = data.alphabet, DIGIT = new Int32Array(128);
for (i = 0; i < ALPHA.length; i++) DIGIT[ALPHA.charCodeAt(i)] = i;
function unpack(col) {  // -> Float64Array, NaN for null
  if (Array.isArray(col)) return col;
  var w = col.w, s = col.s, m = s.length / w, out = new Float64Array(m), j, k, v;
  for (j = 0; j < m; j++) {
    v = 0; for (k = 0; k < w; k++) v = v * ALPHA.length + DIGIT[s.charCodeAt(j * w + k)];
    out[j] = v === 0 ? NaN : v - 1 + col.off;
  }
  return out;
}
var ID = unpack(D.id), QLAT = unpack(D.lat), QLON = unpack(D.lon), BLAT = unpack(D.blat), BLON = unpack(D.blon);
var types = D.types, places = data.places || [], MAXR = data.maxRadius;
var R_EARTH = 6371008.8, RAD = Math.PI / 180, MARKER_LIMIT = 2000, PAGE = 25;
var DOWS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
// ---- decode the columns once -------------------------------------------------------------------
var T = new Int32Array(n), MOD = new Int16Array(n), DOW = new Int8Array(n), DAY = new Int32Array(n);
var LAT = new Float64Array(n), LON = new Float64Array(n), HAS = new Uint8Array(n);
var WX = new Float64Array(n), WY = new Float64Array(n);
var TY = Int32Array.from(unpack(D.ty)), DE = Int32Array.from(unpack(D.de)), BK = Int32Array.from(unpack(D.bk)),
    LC = Int32Array.from(unpack(D.lc)), FL = Int32Array.from(unpack(D.fl));
var FA = new Int8Array(n), FD = new Int8Array(n);
var AREA = {}, areaKeys = ["beat", "district", "ward", "community_area"];
areaKeys.forEach(function (k) { AREA[k] = Int32Array.from(unpack(D.areas[k].codes)); });
(function () {
  var acc = D.t0, a, day, s;
  for (i = 0; i < n; i++) {
    acc += D.dt[i]; T[i] = acc - D.t0;
    day = Math.floor(acc / 1440); DAY[i] = day;
    MOD[i] = acc - day * 1440;
    DOW[i] = ((day % 7) + 10) % 7 + 1;  // 1970-01-01 was a Thursday (ISO 4)
    FA[i] = FL[i] % 3; FD[i] = (FL[i] - FA[i]) / 3;
    if (QLAT[i] === QLAT[i] && QLON[i] === QLON[i]) {
      HAS[i] = 1; LAT[i] = D.lat0 + QLAT[i] / 1e5; LON[i] = D.lon0 + QLON[i] / 1e5;
      WX[i] = (LON[i] + 180) / 360 * 256;
      s = Math.sin(LAT[i] * RAD);
      WY[i] = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
    } else { LAT[i] = NaN; LON[i] = NaN; }
  }
})();
function hav(lat1, lon1, lat2, lon2) {
  var sa = Math.sin((lat2 - lat1) * RAD / 2), so = Math.sin((lon2 - lon1) * RAD / 2);
  var a = sa * sa + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * so * so;
  return 2 * R_EARTH * Math.asin(Math.sqrt(a));
}
function colour(t) { return t < C.palette.length ? C.palette[t] : "#6b6b6b"; }
function pad(x) { return (x < 10 ? "0" : "") + x; }
function fmtTime(i) { return new Date((D.t0 + T[i]) * MIN).toISOString().slice(0, 16).replace("T", " "); }
function dayToMin(s, endOfDay) {
  var p = s.split("-"), ms = Date.UTC(+p[0], +p[1] - 1, +p[2]);
  return ms / MIN - D.t0 + (endOfDay ? 1440 : 0);
}
function hm(v) { if (!v) return null; var p = v.split(":"); return (+p[0]) * 60 + (+p[1]); }
function $(id) { return document.getElementById(id); }

// ---- controls ----------------------------------------------------------------------------------
var from = $("date-from"), to = $("date-to"), todFrom = $("tod-from"), todTo = $("tod-to");
var selType = [], boxes = [], countEls = [], dowBoxes = [];
var list = $("type-list");
types.forEach(function (t, k) {
  var row = el("div", null, "cm-row"), cb = el("input"), lab = el("label"), sw = el("span", null, "cm-swatch");
  cb.type = "checkbox"; cb.id = "type-" + k;
  cb.addEventListener("change", function () { selType[k] = cb.checked; changed(); });
  lab.htmlFor = cb.id; lab.appendChild(el("span", t, "cm-type-name"));
  sw.style.background = colour(k);
  var cnt = el("span", "", "cm-muted");
  row.appendChild(cb); row.appendChild(sw); row.appendChild(lab); row.appendChild(cnt);
  list.appendChild(row); boxes.push(cb); countEls.push(cnt);
});
DOWS.forEach(function (d, k) {
  var lab = el("label"), cb = el("input");
  cb.type = "checkbox"; cb.id = "dow-" + (k + 1); cb.checked = true;
  cb.addEventListener("change", changed);
  lab.htmlFor = cb.id; lab.appendChild(cb); lab.appendChild(document.createTextNode(" " + d));
  $("dow-list").appendChild(lab); dowBoxes.push(cb);
});
function fillSelect(sel, labels, anyText) {
  var order = labels.map(function (_, k) { return k; });
  order.sort(function (a, b) { return labels[a].localeCompare(labels[b], "en", { numeric: true }); });
  var o = el("option", anyText); o.value = ""; sel.appendChild(o);
  order.forEach(function (k) { var op = el("option", labels[k]); op.value = labels[k]; sel.appendChild(op); });
}
var areaSel = { beat: $("f-beat"), district: $("f-district"), ward: $("f-ward"), community_area: $("f-ca") };
var areaHash = { beat: "beat", district: "district", ward: "ward", community_area: "ca" };
areaKeys.forEach(function (k) { fillSelect(areaSel[k], D.areas[k].labels, "any"); });
fillSelect($("f-loc"), D.locs, "any");
(function () {
  var sel = $("f-near"), o = el("option", "anywhere"), groups = {};
  o.value = ""; sel.appendChild(o);
  places.forEach(function (p, k) {
    if (!groups[p.cat]) { groups[p.cat] = el("optgroup"); groups[p.cat].label = p.cat; sel.appendChild(groups[p.cat]); }
    var op = el("option", p.name); op.value = p.cat + ":" + p.id; groups[p.cat].appendChild(op);
  });
})();
var placeIndex = {}; places.forEach(function (p, k) { placeIndex[p.cat + ":" + p.id] = k; });
var blockIndex = {}; D.blocks.forEach(function (b, k) { blockIndex[b.toUpperCase()] = k; });
function labelIndex(labels) { var m = {}; labels.forEach(function (l, k) { m[l] = k; }); return m; }
var areaIndex = {}; areaKeys.forEach(function (k) { areaIndex[k] = labelIndex(D.areas[k].labels); });
var locIndex = labelIndex(D.locs);
function normBlock(s) { return String(s || "").trim().replace(/\s+/g, " ").toUpperCase(); }
function resolveBlock(s) {
  var q = normBlock(s);
  if (!q) return -1;
  if (blockIndex.hasOwnProperty(q)) return blockIndex[q];
  for (var k = 0; k < D.blocks.length; k++) { if (D.blocks[k].toUpperCase().indexOf(q) >= 0) return k; }
  return -2;  // typed, but no block matches
}

// ---- filter state <-> controls <-> URL hash -----------------------------------------------------
function defaults() {
  var st = { types: types.map(function (t) { return !data.selected_types || data.selected_types.indexOf(t) >= 0; }),
    from: data.window.start, to: data.window.end, tod: null, dow: [1, 2, 3, 4, 5, 6, 7],
    area: {}, loc: "", arrest: "", domestic: "", near: "", block: "", r: MAXR };
  areaKeys.forEach(function (k) { st.area[k] = ""; });
  return st;
}
function parseTod(v) {
  var m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(v || "");
  return m ? [pad(+m[1]) + ":" + m[2], pad(+m[3]) + ":" + m[4]] : null;
}
function readHash() {
  var st = defaults(), h = location.hash.replace(/^#/, "");
  if (!h) return st;
  h.split("&").forEach(function (kv) {
    var j = kv.indexOf("="), k = j < 0 ? kv : kv.slice(0, j), v = "";
    try { v = j < 0 ? "" : decodeURIComponent(kv.slice(j + 1).replace(/\+/g, " ")); } catch (e) { return; }
    if (k === "types") {  // names are encoded one by one and joined with literal commas
      var raw = j < 0 ? "" : kv.slice(j + 1);
      var want = raw === "" ? [] : raw.split(",").map(function (x) { try { return decodeURIComponent(x.replace(/\+/g, " ")); } catch (e) { return x; } });
      st.types = types.map(function (t) { return want.indexOf(t) >= 0; });
    } else if (k === "from" || k === "to") { if (/^\d{4}-\d{2}-\d{2}$/.test(v)) st[k] = v; }
    else if (k === "tod") { st.tod = parseTod(v); }
    else if (k === "dow") { st.dow = v.split(",").map(Number).filter(function (d) { return d >= 1 && d <= 7; }); }
    else if (k === "ca") { st.area.community_area = v; }
    else if (k === "beat" || k === "district" || k === "ward") { st.area[k] = v; }
    else if (k === "loc") { st.loc = v; }
    else if (k === "arrest" || k === "domestic") { st[k] = (v === "true" || v === "false") ? v : ""; }
    else if (k === "near") { st.near = v; }
    else if (k === "block") { st.block = v; }
    else if (k === "r") { var r = parseFloat(v); if (r > 0) st.r = Math.min(r, MAXR); }
  });
  return st;
}
function setControls(st) {
  boxes.forEach(function (cb, k) { cb.checked = st.types[k]; selType[k] = st.types[k]; });
  from.value = st.from || ""; to.value = st.to || "";
  todFrom.value = st.tod ? st.tod[0] : ""; todTo.value = st.tod ? st.tod[1] : "";
  dowBoxes.forEach(function (cb, k) { cb.checked = st.dow.indexOf(k + 1) >= 0; });
  areaKeys.forEach(function (k) { areaSel[k].value = areaIndex[k].hasOwnProperty(st.area[k]) ? st.area[k] : ""; });
  $("f-loc").value = locIndex.hasOwnProperty(st.loc) ? st.loc : "";
  $("f-arrest").value = st.arrest; $("f-domestic").value = st.domestic;
  $("f-near").value = placeIndex.hasOwnProperty(st.near) ? st.near : "";
  $("f-block").value = st.block; $("f-radius").value = String(st.r);
}
function radius() { var r = parseFloat($("f-radius").value); return r > 0 ? Math.min(r, MAXR) : MAXR; }
function writeHash() {
  var parts = [], enc = encodeURIComponent;
  if (selType.some(function (s) { return !s; })) {
    parts.push("types=" + types.filter(function (t, k) { return selType[k]; }).map(enc).join(","));
  }
  if (from.value) parts.push("from=" + from.value);
  if (to.value) parts.push("to=" + to.value);
  if (todFrom.value && todTo.value) parts.push("tod=" + todFrom.value + "-" + todTo.value);
  var dows = []; dowBoxes.forEach(function (cb, k) { if (cb.checked) dows.push(k + 1); });
  if (dows.length < 7) parts.push("dow=" + dows.join(","));
  areaKeys.forEach(function (k) { if (areaSel[k].value) parts.push(areaHash[k] + "=" + enc(areaSel[k].value)); });
  if ($("f-loc").value) parts.push("loc=" + enc($("f-loc").value));
  if ($("f-arrest").value) parts.push("arrest=" + $("f-arrest").value);
  if ($("f-domestic").value) parts.push("domestic=" + $("f-domestic").value);
  if ($("f-near").value) parts.push("near=" + enc($("f-near").value));
  if (normBlock($("f-block").value)) parts.push("block=" + enc(normBlock($("f-block").value)));
  if ($("f-near").value || normBlock($("f-block").value)) parts.push("r=" + radius());
  var h = "#" + parts.join("&");
  if (location.hash !== h) {
    try { history.replaceState(null, "", h); } catch (e) { location.hash = h; }
  }
}

// ---- map layers: markers for small sets, one fast canvas of dots for large ones -----------------
var group = L.featureGroup().addTo(C.map);
function popupFor(i, latlng) {
  var box = el("div");
  box.appendChild(el("strong", types[TY[i]]));
  box.appendChild(el("div", D.descs[DE[i]]));
  box.appendChild(el("div", D.blocks[BK[i]]));
  box.appendChild(el("div", fmtTime(i), "cm-muted"));
  L.popup().setLatLng(latlng).setContent(box).openOn(C.map);
}
group.on("click", function (e) { popupFor(e.layer.options.idx, e.latlng); });
var Dots = L.Layer.extend({
  onAdd: function (map) {
    this._c = L.DomUtil.create("canvas", "cm-dots leaflet-zoom-hide");
    this._c.style.pointerEvents = "none";
    map.getPanes().overlayPane.appendChild(this._c);
    map.on("moveend zoomend resize viewreset", this.redraw, this);
    this.redraw();
  },
  onRemove: function (map) { L.DomUtil.remove(this._c); map.off("moveend zoomend resize viewreset", this.redraw, this); },
  setPoints: function (idx, cnt) { this._idx = idx; this._cnt = cnt; if (this._map) this.redraw(); },
  redraw: function () {
    var map = this._map, c = this._c, size = map.getSize(), dpr = window.devicePixelRatio || 1;
    var tl = map.containerPointToLayerPoint([0, 0]);
    L.DomUtil.setPosition(c, tl);
    c.width = Math.round(size.x * dpr); c.height = Math.round(size.y * dpr);
    c.style.width = size.x + "px"; c.style.height = size.y + "px";
    var ctx = c.getContext("2d"); ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (!this._cnt) return;
    var scale = Math.pow(2, map.getZoom()), org = map.getPixelOrigin(), ox = org.x + tl.x, oy = org.y + tl.y;
    var sz = map.getZoom() >= 15 ? 5 : (map.getZoom() >= 13 ? 4 : 3), h = sz / 2, idx = this._idx, cnt = this._cnt;
    var present = {}, k, j, x, y, q, col;
    for (j = 0; j < cnt; j++) present[Math.min(TY[idx[j]], C.palette.length)] = 1;
    for (k in present) {
      q = +k; ctx.fillStyle = colour(q);
      for (j = 0; j < cnt; j++) {
        i = idx[j]; col = TY[i]; if ((col < C.palette.length ? col : C.palette.length) !== q) continue;
        x = WX[i] * scale - ox; y = WY[i] * scale - oy;
        if (x < -sz || y < -sz || x > size.x + sz || y > size.y + sz) continue;
        ctx.fillRect(x - h, y - h, sz, sz);
      }
    }
  }
});
var dots = new Dots();
var mode = null;
C.map.on("click", function (e) {
  if (mode !== "dots" || !dots._cnt) return;
  var scale = Math.pow(2, C.map.getZoom()), p = C.map.project(e.latlng, C.map.getZoom()), best = -1, bd = 64, j;
  for (j = 0; j < dots._cnt; j++) {
    var q = dots._idx[j], dx = WX[q] * scale - p.x, dy = WY[q] * scale - p.y, d2 = dx * dx + dy * dy;
    if (d2 < bd) { bd = d2; best = q; }
  }
  if (best >= 0) popupFor(best, [LAT[best], LON[best]]);
});

// ---- filtering ---------------------------------------------------------------------------------
var MATCH = new Int32Array(n), LOCATED = new Int32Array(n), nMatch = 0, nLocated = 0, page = 0;
var hourCounts = new Array(24), weekCounts = {}, perTypeMatch = [];
function lowerBound(x) { var lo = 0, hi = n; while (lo < hi) { var m = (lo + hi) >> 1; if (T[m] < x) lo = m + 1; else hi = m; } return lo; }
function update() {
  var a = from.value ? lowerBound(dayToMin(from.value, false)) : 0;
  var b = to.value ? lowerBound(dayToMin(to.value, true)) : n;
  var tf = hm(todFrom.value), tt = hm(todTo.value), tod = tf !== null && tt !== null && tf !== tt;
  var cross = tod && tf > tt;
  var dowOk = [false]; dowBoxes.forEach(function (cb) { dowOk.push(cb.checked); });
  var ac = areaKeys.map(function (k) { var v = areaSel[k].value; return v === "" ? -1 : areaIndex[k][v]; });
  var AB = AREA.beat, AD = AREA.district, AW = AREA.ward, AC = AREA.community_area;
  var loc = $("f-loc").value === "" ? -1 : locIndex[$("f-loc").value];
  var ar = $("f-arrest").value === "" ? -1 : ($("f-arrest").value === "true" ? 1 : 0);
  var dm = $("f-domestic").value === "" ? -1 : ($("f-domestic").value === "true" ? 1 : 0);
  var r = radius(), targets = [], nearV = $("f-near").value, blk = resolveBlock($("f-block").value);
  var info = $("block-resolved");
  if (nearV && placeIndex.hasOwnProperty(nearV)) { var p = places[placeIndex[nearV]]; targets.push([p.lat, p.lon]); }
  if (blk >= 0) {
    if (BLAT[blk] !== BLAT[blk]) { info.textContent = D.blocks[blk] + ": has no located incidents, cannot measure distance"; targets.push(null); }
    else {
      info.textContent = "Block: " + D.blocks[blk] + " (point = median of its incidents)";
      targets.push([D.lat0 + BLAT[blk] / 1e5, D.lon0 + BLON[blk] / 1e5]);
    }
  } else if (blk === -2) { info.textContent = "No block matches \u201c" + normBlock($("f-block").value) + "\u201d"; targets.push(null); }
  else { info.textContent = ""; }
  var nt = types.length, perType = new Array(nt).fill(0), perDesc = {}, nomap = 0, midnight = 0, k, ok;
  nMatch = 0; nLocated = 0; hourCounts.fill(0); weekCounts = {}; perTypeMatch = new Array(nt).fill(0);
  for (i = a; i < b; i++) {
    if (tod) { var m = MOD[i]; if (cross ? (m < tf && m >= tt) : (m < tf || m >= tt)) continue; }
    if (!dowOk[DOW[i]]) continue;
    if ((ac[0] >= 0 && AB[i] !== ac[0]) || (ac[1] >= 0 && AD[i] !== ac[1]) ||
        (ac[2] >= 0 && AW[i] !== ac[2]) || (ac[3] >= 0 && AC[i] !== ac[3])) continue;
    if (loc >= 0 && LC[i] !== loc) continue;
    if ((ar >= 0 && FA[i] !== ar) || (dm >= 0 && FD[i] !== dm)) continue;
    if (targets.length) {
      if (!HAS[i]) continue;
      ok = true;
      for (k = 0; k < targets.length; k++) {
        if (targets[k] === null || hav(targets[k][0], targets[k][1], LAT[i], LON[i]) > r) { ok = false; break; }
      }
      if (!ok) continue;
    }
    var ty = TY[i];
    perType[ty]++;
    if (!selType[ty]) continue;
    MATCH[nMatch++] = i;
    perTypeMatch[ty]++;
    perDesc[DE[i]] = (perDesc[DE[i]] || 0) + 1;
    hourCounts[(MOD[i] / 60) | 0]++;
    var wk = DAY[i] - (DOW[i] - 1); weekCounts[wk] = (weekCounts[wk] || 0) + 1;
    if (MOD[i] === 0) midnight++;
    if (!HAS[i]) { nomap++; continue; }
    LOCATED[nLocated++] = i;
  }
  drawMap();
  countEls.forEach(function (c, k2) { c.textContent = C.fmtInt(perType[k2]); });
  $("count-match").textContent = C.fmtInt(nMatch);
  $("count-nomap").textContent = C.fmtInt(nomap);
  $("count-midnight").textContent = C.fmtInt(midnight);
  var top = Object.keys(perDesc).sort(function (x, y) { return perDesc[y] - perDesc[x]; }).slice(0, 8);
  var ol = $("top-descs"); clear(ol);
  top.forEach(function (k2) { ol.appendChild(el("li", D.descs[k2] + " (" + C.fmtInt(perDesc[k2]) + ")")); });
  drawSummary(a, b);
  page = 0; drawTable();
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function drawMap() {
  group.clearLayers();
  if (nLocated <= MARKER_LIMIT) {
    if (mode === "dots") C.map.removeLayer(dots);
    mode = "markers";
    var opts = { renderer: C.canvas, radius: 4, weight: 0.5, color: "#222", fillOpacity: 0.8 };
    for (var j = 0; j < nLocated; j++) {
      var q = LOCATED[j];
      opts.fillColor = colour(TY[q]); opts.idx = q;
      group.addLayer(L.circleMarker([LAT[q], LON[q]], opts));
    }
  } else {
    if (mode !== "dots") dots.addTo(C.map);
    mode = "dots";
    dots.setPoints(LOCATED, nLocated);
  }
}
function bars(node, values, titles) {
  clear(node);
  var max = Math.max.apply(null, values.concat([1]));
  values.forEach(function (v, k) {
    var d = el("div"); d.style.height = (100 * v / max) + "%"; d.title = titles[k] + ": " + C.fmtInt(v);
    node.appendChild(d);
  });
}
function dayStr(day) { return new Date(day * 86400000).toISOString().slice(0, 10); }
function drawSummary(a, b) {
  var st = $("sum-type"); clear(st);
  var order = perTypeMatch.map(function (_, k) { return k; }).filter(function (k) { return perTypeMatch[k] > 0; });
  order.sort(function (x, y) { return perTypeMatch[y] - perTypeMatch[x]; });
  var max = order.length ? perTypeMatch[order[0]] : 1;
  order.slice(0, 15).forEach(function (k) {
    var row = el("div", null, "cm-bar"), track = el("div", null, "cm-bar-track"), fill = el("div", null, "cm-bar-fill");
    fill.style.width = (100 * perTypeMatch[k] / max) + "%"; fill.style.background = colour(k); track.appendChild(fill);
    row.appendChild(el("span", types[k], "cm-bar-label")); row.appendChild(track);
    row.appendChild(el("span", C.fmtInt(perTypeMatch[k]), "cm-bar-amount")); st.appendChild(row);
  });
  if (order.length > 15) st.appendChild(el("div", (order.length - 15) + " more types with fewer incidents", "cm-muted"));
  bars($("sum-hour"), hourCounts, hourCounts.map(function (_, h) { return pad(h) + ":00"; }));
  // Every week of the selected date range, empty weeks included.
  var lo = a < b ? DAY[a] - (DOW[a] - 1) : null, hi = a < b ? DAY[b - 1] - (DOW[b - 1] - 1) : null, wv = [], wt = [];
  if (lo !== null) { for (var w = lo; w <= hi; w += 7) { wv.push(weekCounts[w] || 0); wt.push("Week of " + dayStr(w)); } }
  bars($("sum-week"), wv, wt);
  $("week-first").textContent = lo !== null ? dayStr(lo) : ""; $("week-last").textContent = hi !== null ? dayStr(hi) : "";
}
function drawTable() {
  var tb = document.querySelector("#inc-table tbody"); clear(tb);
  var pages = Math.max(1, Math.ceil(nMatch / PAGE)); page = Math.max(0, Math.min(page, pages - 1));
  for (var j = page * PAGE; j < Math.min(nMatch, (page + 1) * PAGE); j++) {
    var q = MATCH[nMatch - 1 - j], tr = el("tr");  // newest first
    [fmtTime(q), types[TY[q]], D.descs[DE[q]], D.blocks[BK[q]], D.locs[LC[q]]].forEach(function (v) { tr.appendChild(el("td", v)); });
    tb.appendChild(tr);
  }
  $("page-info").textContent = nMatch ? "rows " + C.fmtInt(page * PAGE + 1) + "\u2013" + C.fmtInt(Math.min(nMatch, (page + 1) * PAGE)) +
    " of " + C.fmtInt(nMatch) + " (newest first)" : "no matching incidents";
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
function areaText(k, q) { var l = D.areas[k].labels[AREA[k][q]]; return l === "(not given)" ? "" : l; }
function buildCsv() {
  var lines = ["id,occurred_at,primary_type,description,block,location_description,arrest,domestic," +
               "beat,district,ward,community_area,lat,lon"];
  for (var j = 0; j < nMatch; j++) {
    var q = MATCH[j];
    lines.push([csvCell(ID[q]), fmtTime(q), csvCell(types[TY[q]]), csvCell(D.descs[DE[q]]), csvCell(D.blocks[BK[q]]),
      csvCell(D.locs[LC[q]]), flagText(FA[q]), flagText(FD[q]), csvCell(areaText("beat", q)), areaText("district", q),
      areaText("ward", q), areaText("community_area", q),
      HAS[q] ? LAT[q].toFixed(5) : "", HAS[q] ? LON[q].toFixed(5) : ""].join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
$("csv-download").addEventListener("click", function () {
  var url = URL.createObjectURL(new Blob([buildCsv()], { type: "text/csv;charset=utf-8" }));
  var a = el("a"); a.href = url; a.download = "incidents-" + String(data.city || "city").replace(/[^A-Za-z0-9_-]/g, "_") + "-filtered.csv";
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
});

// ---- wiring ------------------------------------------------------------------------------------
function changed() { update(); writeHash(); }
function setAll(v) { boxes.forEach(function (cb, k) { cb.checked = v; selType[k] = v; }); changed(); }
$("types-all").addEventListener("click", function () { setAll(true); });
$("types-none").addEventListener("click", function () { setAll(false); });
$("filters-reset").addEventListener("click", function () { setControls(defaults()); changed(); });
[from, to, todFrom, todTo, $("f-beat"), $("f-district"), $("f-ward"), $("f-ca"), $("f-loc"), $("f-arrest"),
 $("f-domestic"), $("f-near"), $("f-block"), $("f-radius")].forEach(function (c) { c.addEventListener("change", changed); });
window.addEventListener("hashchange", function () { setControls(readHash()); update(); });
setControls(readHash());
update();
C.explorer = {
  count: function () { return nMatch; },
  ids: function () { var out = []; for (var j = 0; j < nMatch; j++) out.push(String(ID[MATCH[j]])); return out; },
  mode: function () { return mode; }, update: update
};
"""
