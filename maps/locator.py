"""The service-locator page: nearest services by walking time, walking areas and coverage gaps.

The analysis lives in :mod:`civicmash.analysis.service_access`; this module only draws it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from civicmash.analysis.coverage import DEFAULT_THRESHOLDS
from civicmash.analysis.nearest import DEFAULT_MAX_ACCESS_M, WALK_SPEED_M_S, ServiceNetwork
from civicmash.analysis.service_access import analyse, network, stored_access
from civicmash.warehouse import reads

from . import _payload, figure_payload, i18n
from .render import Page, PageContext, publish

_TABLES = ("services", "boundaries", "streets", "population")
PAGE = Page(title="Service locator", scripts=("figure_sql.js", "locator_keyboard.js", "locator.js"), controls="locator_controls.html",
            legend="locator_legend.html")

# ---------------------------------------------------------------------------------------------------- page

def _geojson(con, wkb_hex: str, tolerance: float) -> dict | None:
    gj = con.execute("SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(ST_GeomFromHEXWKB(?), ?))",
                     [wkb_hex, tolerance]).fetchone()[0]
    if not gj:
        return None
    geom = json.loads(gj)
    geom["coordinates"] = reads.round_coords(geom.get("coordinates", []))
    return geom


def _net_payload(net: ServiceNetwork) -> dict:
    """The graph's largest component, compact, for nearest-service search in the page (same numbers as Python)."""
    g = net.graph
    edges = net.snapper.edges                       # largest-component segments, in increasing order
    used = np.unique(np.concatenate([g.eu[edges], g.ev[edges]]))
    remap = np.full(g.n_nodes, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    edge_pos = np.full(g.n_edges, -1, dtype=np.int64)
    edge_pos[edges] = np.arange(len(edges))
    ok = np.flatnonzero(net.ap_ok)
    # x, y in decimetres and lengths/offsets in centimetres (integers: a third smaller than decimals in JSON)
    return {
        "lat0": g._lat0, "lon0": g._lon0, "kx": g._kx, "ky": 110_540.0,
        "x": np.round(g.x[used] * 10).astype(np.int64).tolist(), "y": np.round(g.y[used] * 10).astype(np.int64).tolist(),
        "u": remap[g.eu[edges]].tolist(), "v": remap[g.ev[edges]].tolist(),
        "len": np.round(g.length[edges] * 100).astype(np.int64).tolist(),
        "ap": {"svc": net.services.ap_service[ok].tolist(), "edge": edge_pos[net.ap.edge[ok]].tolist(),
               "t": np.round(net.ap.t[ok], 6).tolist(), "off": np.round(net.ap.offset[ok] * 100).astype(np.int64).tolist(),
               "lat": np.round(net.services.ap_lat[ok], 5).tolist(),
               "lon": np.round(net.services.ap_lon[ok], 5).tolist()},
        "maxAccess": net.max_access_m, "speed": WALK_SPEED_M_S,
    }


def _pack_geometry(geom: dict, lat0: float, lon0: float) -> list:
    """GeoJSON (Multi)Polygon -> [[ring, ...], ...] with each ring delta-encoded integers of 1e-5 degrees
    (lon, lat pairs) from (lon0, lat0): about a third of the size of GeoJSON text."""
    polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    out = []
    for poly in polys:
        rings = []
        for ring in poly:
            flat, px, py = [], int(round(lon0 * 1e5)), int(round(lat0 * 1e5))
            for lon, lat in ring:
                x, y = int(round(lon * 1e5)), int(round(lat * 1e5))
                flat += [x - px, y - py]
                px, py = x, y
            rings.append(flat)
        out.append(rings)
    return out


def _services_payload(net: ServiceNetwork, cats: list[str]) -> dict:
    s = net.services
    index = {c: k for k, c in enumerate(cats)}
    sched = []
    for sc in s.schedules:
        if sc is None or not sc.days:
            sched.append(None)
            continue
        known = sum(1 << d for d in sc.days)
        # the page words the week itself (locator.js weekWords: Schedule.describe() in the reader's language)
        sched.append({"k": known, "iv": [[d, o, c] for d, ivs in sorted(sc.days.items()) for o, c in ivs]})
    extra = s.extra
    return {"name": s.name, "cat": [index.get(c, -1) for c in s.category], "address": s.address,
            "lat": np.round(s.lat, 6).tolist(), "lon": np.round(s.lon, 6).tolist(),
            "subtype": extra.get("subtype"), "phone": extra.get("phone"), "sched": sched,
            "onNet": s_bool(net.on_network)}


def s_bool(arr) -> list[int]:
    return [1 if v else 0 for v in np.asarray(arr).tolist()]


def _providers_category(con, city: str) -> dict | None:
    from civicmash.warehouse.services import category_label

    from .providers import categories

    cats = categories(con, city)
    return {"id": cats[0], "label": category_label(cats[0])} if cats else None


def build(ctx: PageContext) -> Path:
    """Write ``locator.html``. Options: ``near`` ([lat, lon]; default the graph's centroid), ``categories``,
    ``at`` (``"Sat 10:00"``: the "open at" time selected on opening), ``n`` (3), ``thresholds``,
    ``boundary_kind``, ``max_access_m``, ``spacing_m``, ``max_street_edges``."""
    from civicmash.warehouse.hours import parse_at
    from civicmash.warehouse.services import CATEGORIES, category_label

    con, city, options = ctx.con, ctx.city, dict(ctx.options)
    net = network(con, city=city, categories=options.get("categories"),
                  max_access_m=float(options.get("max_access_m", DEFAULT_MAX_ACCESS_M)))
    cats = net.services.categories
    point = tuple(options.get("near") or net.graph.centroid())
    at = parse_at(options["at"]) if options.get("at") else None
    n = int(options.get("n", 3))
    stored = stored_access(con, city=city)
    if stored is None or (options.get("near") and not any(
            r["kind"] == "point" and r["origin_lat"] is not None and abs(r["origin_lat"] - point[0]) < 1e-6
            and abs(r["origin_lon"] - point[1]) < 1e-6 for r in stored["isochrones"])):
        fresh = analyse(con, city=city, options={**options, "near": list(point), "service_isochrones": []}, net=net)
        if stored is None:
            stored = fresh
        else:   # stored coverage, this page's own point
            stored["isochrones"] = [r for r in stored["isochrones"] if r["kind"] != "point"] + \
                [r for r in fresh["isochrones"] if r["kind"] == "point"]
    kind = stored.get("boundary_kind") or options.get("boundary_kind")
    reads.ensure_spatial(con)
    iso_cat: dict[str, list] = {}
    iso_point = []
    lat0, lon0 = round(float(net.graph._lat0), 2), round(float(net.graph._lon0), 2)
    for r in stored["isochrones"]:
        # simplified for the page to about a lattice cell (the warehouse keeps the exact polygons)
        tol = 0.0001 if r["kind"] == "point" else 0.0005
        geom = _geojson(con, r["wkb"], tol)
        if geom is None or geom["type"] not in ("Polygon", "MultiPolygon"):
            continue
        item = {"minutes": r["minutes"], "area_m2": r["area_m2"], "rings": _pack_geometry(geom, lat0, lon0)}
        if r["kind"] == "point":
            iso_point.append(item)
        elif r["kind"] == "category" and r["category"] in cats:
            iso_cat.setdefault(r["category"], []).append(item)
    cov = {}
    for r in stored["coverage"]:
        cov.setdefault(r["category"], {}).setdefault(str(r["threshold_min"]), {})[str(r["area_code"])] = [
            r["share_area_beyond"], r["network_status"], r["residents_beyond"], r["population"], r["median_min"],
            r["share_on_network"]]
    initial = net.nearest(point[0], point[1], categories=cats, n=n, at=at)
    providers = _providers_category(con, city)
    base_opts = {**options, "boundary_kind": kind}
    lats = [point[0]] + [r["lat"] for e in initial for r in e["results"][:1]]
    lons = [point[1]] + [r["lon"] for e in initial for r in e["results"][:1]]
    data = {
        # streets are drawn from the embedded walk graph ("net") instead of a second copy
        "base": _payload.base_layer(con, city=city, graph=None, options=base_opts),
        "origin": [lat0, lon0],
        "point": [round(point[0], 6), round(point[1], 6)],
        "n": n,
        "at": None if at is None else list(at),
        # each category's words: the page shows the catalogue's (category.<id>.label / .about, in the reader's
        # language) for a category of the taxonomy, these as written for a profile's own ("loc.category_published")
        "cats": [{"id": c, "label": category_label(c),
                  "about": CATEGORIES[c].description if c in CATEGORIES else None} for c in cats],
        "services": _services_payload(net, cats),
        "net": _net_payload(net),
        "initial": [{"category": e["category"], "results": [
            {k: r[k] for k in ("index", "dist_m", "minutes", "open")} for r in e["results"]]} for e in initial],
        "iso": {"point": iso_point, "category": iso_cat},
        "coverage": cov,
        "thresholds": sorted({int(r["threshold_min"]) for r in stored["coverage"]} or set(DEFAULT_THRESHOLDS)),
        "boundaryKind": kind,
        "view": [[min(lats) - 0.004, min(lons) - 0.004], [max(lats) + 0.004, max(lons) + 0.004]],
        "city": city,
        # the providers page beside this one compares a category's locations on their outcomes (maps/providers.py)
        "providers": providers,
        "figures": figure_payload.page("locator"),
    }
    return publish(ctx, PAGE, data=data, sources=reads.sources_for(con, city, ctx.sources, _TABLES),
                   messages=i18n.category_keys([*cats, (providers or {}).get("id")]))
