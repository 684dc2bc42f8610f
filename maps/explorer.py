"""Incident explorer: every incident of a city on one offline page.

Incidents are embedded column-wise: dictionary-encoded ``primary_type`` and
``description``, ``occurred_at`` as minutes since the earliest incident, and
coordinates as integer offsets of 1e-5 degrees (``null`` when the incident has
no location: it is counted as "not on the map").
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from . import _data
from ._columns import fetch_columns
from .render import render_page, write_page

_TABLES = ("incidents", "boundaries", "streets")


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


def _incident_payload(con, *, city: str) -> dict:
    incidents = _data.incidents_relation(con)
    cols = fetch_columns(
        con,
        "SELECT primary_type, description, CAST(floor(epoch(occurred_at) / 60) AS BIGINT) AS t, lat, lon "
        f"FROM {incidents} WHERE city = ? AND occurred_at IS NOT NULL ORDER BY occurred_at",
        [city],
    )
    undated = con.execute(
        f"SELECT count(*) FROM {incidents} WHERE city = ? AND occurred_at IS NULL", [city]
    ).fetchone()[0]
    t = np.asarray(cols["t"], dtype=np.int64)
    lat = np.asarray(cols["lat"], dtype=float)
    lon = np.asarray(cols["lon"], dtype=float)
    have = ~(np.isnan(lat) | np.isnan(lon))
    lat0 = float(np.floor(lat[have].min() * 100) / 100) if have.any() else 0.0
    lon0 = float(np.floor(lon[have].min() * 100) / 100) if have.any() else 0.0
    types, ty = _dict_encode(cols["primary_type"], missing="(type not given)")
    descs, de = _dict_encode(cols["description"], missing="(no description)")
    t0 = int(t.min()) if len(t) else 0
    return {
        "n": int(len(t)),
        "undated": int(undated),
        "t0": t0,
        "t": (t - t0).tolist(),
        "lat0": lat0,
        "lon0": lon0,
        "lat": _data.to_int_coords(lat, lat0),
        "lon": _data.to_int_coords(lon, lon0),
        "types": types,
        "ty": ty,
        "descs": descs,
        "de": de,
    }


def build(con, *, city: str, out_path, title: str = "Incident explorer", synthetic: bool = False,
          sources: list[dict] | None = None, options: dict | None = None, city_title: str | None = None) -> Path:
    """Write the incident explorer for ``city`` to ``out_path``.

    Options: ``days`` (default window length, 90), ``start``/``end`` (ISO dates),
    ``types`` (initially selected primary types; default all), ``boundary_kind``,
    ``max_street_edges``.
    """
    options = dict(options or {})
    start, end = _data.incident_window(con, city=city, options=options)
    graph = _data.load_graph(con, city)
    data = {
        "base": _data.base_layer(con, city=city, graph=graph, options=options),
        "incidents": _incident_payload(con, city=city),
        "window": {"start": start.date().isoformat(), "end": (end - timedelta(days=1)).date().isoformat()},
        "selected_types": options.get("types"),
        "collapseOnPhone": False,
    }
    html = render_page(
        title=title,
        city_title=city_title or city,
        body_js=_JS,
        data=data,
        synthetic=synthetic,
        sources=_data.sources_for(con, city, sources, _TABLES),
        legend_html='<h2>Top descriptions</h2><ol id="top-descs" class="cm-muted"></ol>',
        controls_html=_CONTROLS,
    )
    return write_page(out_path, html)


_CONTROLS = """
<h2>Incidents</h2>
<div class="cm-count"><span id="count-match">0</span> matching incidents</div>
<div class="cm-muted"><span id="count-nomap">0</span> of them not on the map (no coordinates)</div>
<h2>Dates</h2>
<div class="cm-row"><label for="date-from">From</label><input type="date" id="date-from"></div>
<div class="cm-row"><label for="date-to">To</label><input type="date" id="date-to"></div>
<h2>Types <button type="button" class="cm-small" id="types-all">all</button>
<button type="button" class="cm-small" id="types-none">none</button></h2>
<div id="type-list"></div>
"""

_JS = r"""
var D = data.incidents, el = C.el, MIN = 60000;
var types = D.types, n = D.n;
var selected = {};
types.forEach(function (t, i) {
  selected[i] = !data.selected_types || data.selected_types.indexOf(t) >= 0;
});
function colour(i) { return i < C.palette.length ? C.palette[i] : "#6b6b6b"; }
function dayToMin(s, endOfDay) {
  var p = s.split("-"), ms = Date.UTC(+p[0], +p[1] - 1, +p[2]);
  return ms / MIN - D.t0 + (endOfDay ? 1440 : 0);
}
function fmtTime(i) { return new Date((D.t0 + D.t[i]) * MIN).toISOString().slice(0, 16).replace("T", " "); }
var from = document.getElementById("date-from"), to = document.getElementById("date-to");
from.value = data.window.start; to.value = data.window.end;
var list = document.getElementById("type-list"), boxes = [], countEls = [];
types.forEach(function (t, i) {
  var row = el("div", null, "cm-row"), cb = el("input"), lab = el("label"), sw = el("span", null, "cm-swatch");
  cb.type = "checkbox"; cb.id = "type-" + i; cb.checked = selected[i];
  cb.addEventListener("change", function () { selected[i] = cb.checked; update(); });
  lab.htmlFor = cb.id; lab.appendChild(el("span", t, "cm-type-name"));
  sw.style.background = colour(i);
  var cnt = el("span", "", "cm-muted");
  row.appendChild(cb); row.appendChild(sw); row.appendChild(lab); row.appendChild(cnt);
  list.appendChild(row); boxes.push(cb); countEls.push(cnt);
});
function setAll(v) { boxes.forEach(function (cb, i) { cb.checked = v; selected[i] = v; }); update(); }
document.getElementById("types-all").addEventListener("click", function () { setAll(true); });
document.getElementById("types-none").addEventListener("click", function () { setAll(false); });
from.addEventListener("change", update); to.addEventListener("change", update);

var group = L.featureGroup().addTo(C.map);
group.on("click", function (e) {
  var i = e.layer.options.idx, box = el("div");
  box.appendChild(el("strong", types[D.ty[i]]));
  box.appendChild(el("div", D.descs[D.de[i]]));
  box.appendChild(el("div", fmtTime(i), "cm-muted"));
  L.popup().setLatLng(e.latlng).setContent(box).openOn(C.map);
});
function lowerBound(x) { var lo = 0, hi = n; while (lo < hi) { var m = (lo + hi) >> 1; if (D.t[m] < x) lo = m + 1; else hi = m; } return lo; }

function update() {
  var a = from.value ? lowerBound(dayToMin(from.value, false)) : 0;
  var b = to.value ? lowerBound(dayToMin(to.value, true)) : n;
  var perType = new Array(types.length).fill(0), perDesc = {}, match = 0, nomap = 0, i;
  group.clearLayers();
  var opts = { renderer: C.canvas, radius: 3, weight: 0.5, color: "#222", fillOpacity: 0.75 };
  for (i = a; i < b; i++) {
    var ty = D.ty[i];
    perType[ty]++;
    if (!selected[ty]) continue;
    match++;
    perDesc[D.de[i]] = (perDesc[D.de[i]] || 0) + 1;
    if (D.lat[i] === null || D.lon[i] === null) { nomap++; continue; }
    opts.fillColor = colour(ty); opts.idx = i;
    group.addLayer(L.circleMarker([D.lat0 + D.lat[i] / 1e5, D.lon0 + D.lon[i] / 1e5], opts));
  }
  countEls.forEach(function (c, k) { c.textContent = C.fmtInt(perType[k]); });
  document.getElementById("count-match").textContent = C.fmtInt(match);
  document.getElementById("count-nomap").textContent = C.fmtInt(nomap);
  var top = Object.keys(perDesc).sort(function (x, y) { return perDesc[y] - perDesc[x]; }).slice(0, 8);
  var ol = document.getElementById("top-descs");
  while (ol.firstChild) ol.removeChild(ol.firstChild);
  top.forEach(function (k) { ol.appendChild(el("li", D.descs[k] + " (" + C.fmtInt(perDesc[k]) + ")")); });
}
update();
"""
