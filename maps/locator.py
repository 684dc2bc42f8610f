"""Service locator: the nearest service of each category by walking distance.

One Dijkstra from the chosen point gives the walking distance to every street
node; each service is snapped to its nearest node, so its distance is
``snap(point) + network distance + snap(service)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _data
from .render import render_page, write_page
from .routing import WalkGraph
from .safe_route import WALK_SPEED_M_S

_TABLES = ("services", "boundaries", "streets")
_MAX_OTHERS = 500


def nearest_by_category(graph: WalkGraph, *, point, rows: list[tuple]) -> list[dict]:
    """``rows`` = (name, category, address, lat, lon); one entry per category, nearest first.

    Each entry: category, name, address, lat, lon, dist_m, minutes, path (coords),
    and ``others``: the category's other services as [name, lat, lon].
    """
    if not rows:
        return []
    src, src_snap = graph.nearest_nodes(*point)
    dist, pred = graph.distances_from(int(src[0]))
    lat = np.array([r[3] for r in rows], dtype=float)
    lon = np.array([r[4] for r in rows], dtype=float)
    nodes, snap = graph.nearest_nodes(lat, lon)
    total = src_snap[0] + dist[nodes] + snap
    out = []
    cats = sorted({(r[1] or "Other") for r in rows})
    for cat in cats:
        members = [i for i, r in enumerate(rows) if (r[1] or "Other") == cat]
        best = min(members, key=lambda i: total[i])
        name, _, address, blat, blon = rows[best]
        path = graph.path_to(pred, int(src[0]), int(nodes[best])) if np.isfinite(total[best]) else []
        coords = [list(point)] + graph.path_coords(path) + [[blat, blon]] if path else []
        out.append({
            "category": cat,
            "name": name or "(unnamed)",
            "address": address or "",
            "lat": blat,
            "lon": blon,
            "dist_m": round(float(total[best]), 1) if np.isfinite(total[best]) else None,
            "minutes": round(float(total[best]) / WALK_SPEED_M_S / 60, 1) if np.isfinite(total[best]) else None,
            "path": coords,
            "others": [[rows[i][0] or "(unnamed)", rows[i][3], rows[i][4]] for i in members if i != best][:_MAX_OTHERS],
        })
    out.sort(key=lambda e: (e["dist_m"] is None, e["dist_m"] or 0, e["category"]))
    return out


def build(con, *, city: str, out_path, title: str = "Service locator", synthetic: bool = False,
          sources: list[dict] | None = None, options: dict | None = None, city_title: str | None = None) -> Path:
    """Write the service locator.  Options: ``near`` (lat, lon; default graph centroid),
    ``categories`` (list to keep), ``boundary_kind``, ``max_street_edges``."""
    options = dict(options or {})
    graph = _data.load_graph(con, city)
    if graph is None:
        raise ValueError(f"no street graph for city {city!r}: cannot measure walking distance")
    point = tuple(options.get("near") or graph.centroid())
    rows = _data.point_rows(con, table="services", city=city, cols=("name", "category", "address")) \
        if _data.has_table(con, "services") else []
    wanted = options.get("categories")
    if wanted:
        rows = [r for r in rows if r[1] in set(wanted)]
    entries = nearest_by_category(graph, point=point, rows=rows)
    pts = [list(point)] + [[e["lat"], e["lon"]] for e in entries]
    lats, lons = [p[0] for p in pts], [p[1] for p in pts]
    data = {
        "base": _data.base_layer(con, city=city, graph=graph, options=options),
        "point": [round(point[0], 6), round(point[1], 6)],
        "entries": entries,
        "view": [[min(lats) - 0.003, min(lons) - 0.003], [max(lats) + 0.003, max(lons) + 0.003]],
    }
    html = render_page(
        title=title, city_title=city_title or city, body_js=_JS, data=data, synthetic=synthetic,
        sources=_data.sources_for(con, city, sources, _TABLES), legend_html="", controls_html=_CONTROLS,
    )
    return write_page(out_path, html)


_CONTROLS = """
<h2>Nearest by walking</h2>
<p class="cm-muted">From the black marker, along the street network (1.3 m/s).</p>
<ul id="nearest-list" style="list-style:none;padding:0;margin:0"></ul>
"""

_JS = r"""
var el = C.el, map = C.map, list = document.getElementById("nearest-list");
L.circleMarker(data.point, { radius: 8, color: "#fff", weight: 3, fillColor: "#000", fillOpacity: 1 })
  .bindTooltip(el("span", "You are here")).addTo(map);
data.entries.forEach(function (e, i) {
  var colour = C.palette[i % C.palette.length], layer = L.layerGroup().addTo(map);
  e.others.forEach(function (o) {
    L.circleMarker([o[1], o[2]], { renderer: C.canvas, radius: 4, weight: 1, color: colour, fillColor: "#fff", fillOpacity: 0.9 })
      .bindPopup(el("span", o[0])).addTo(layer);
  });
  if (e.path.length) { L.polyline(e.path, { color: colour, weight: 4, opacity: 0.85 }).addTo(layer); }
  var pop = el("div");
  pop.appendChild(el("strong", e.name)); pop.appendChild(el("div", e.category, "cm-muted"));
  if (e.address) { pop.appendChild(el("div", e.address)); }
  L.circleMarker([e.lat, e.lon], { radius: 8, weight: 2, color: "#000", fillColor: colour, fillOpacity: 1 })
    .bindPopup(pop).addTo(layer);
  var li = el("li", null, "cm-row"), cb = el("input"), lab = el("label"), sw = el("span", null, "cm-swatch");
  cb.type = "checkbox"; cb.checked = true; cb.id = "cat-" + i;
  cb.addEventListener("change", function () { if (cb.checked) { layer.addTo(map); } else { map.removeLayer(layer); } });
  sw.style.background = colour; lab.htmlFor = cb.id;
  var dist = e.dist_m === null ? "not reachable on foot" : C.fmtDist(e.dist_m) + ", " + C.walkMin(e.dist_m) + " min walk";
  lab.appendChild(el("strong", e.category));
  lab.appendChild(document.createTextNode(" \u2014 " + dist));
  lab.appendChild(el("div", e.name, "cm-muted"));
  li.appendChild(cb); li.appendChild(sw); li.appendChild(lab);
  list.appendChild(li);
});
if (!data.entries.length) { list.appendChild(el("li", "No services with locations in this city.")); }
"""
