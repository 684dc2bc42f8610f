"""Safe route home: the shortest walk, the least exposed walk, and the Pareto set between them.

Risk per street edge comes from :mod:`analysis.risk` (incidents snapped to the network, spread by a
100 m network kernel, weighted by type and, with ``at``, by hour of day).  Routes minimise
``length + lambda * exposure`` for a sweep of ``lambda`` (metres of walking one unit of exposure is
worth), from 0 (the shortest route) to very large (the safest route); the distinct routes found are
filtered to the non-dominated ones (no other route is both shorter and less exposed).  The
recommended route is the least exposed Pareto route no longer than ``(1 + detour)`` times the
shortest (default +25%).

``plan(con, city=..., origin=..., destination=..., at=..., detour=...)`` is the pure entry point
for the command line; ``build(...)`` writes the map page.
"""

from __future__ import annotations

import math

import numpy as np

from civicmash.warehouse import reads
from civicmash.warehouse.reads import fetch_columns
from civicmash.warehouse.service_requests import open_outage_points

from . import advice
from .coverage import FULL_SHARE, PART_SHARE
from .fast_route import DEFAULT_MARGIN, EXPOSURE_UNITS, compare_words, pareto_front, recommend
from .fast_route import comparison as _comparison
from .nearest import WALK_SPEED_M_S
from .risk import DEFAULT_BANDWIDTH_M, DEFAULT_SIGMA_H, RiskModel, build_risk, parse_at
from .routing import WalkGraph, load_graph

DEFAULT_DETOUR = 0.25
# lambda sweep, in units of 1 / p95(edge density): cost = length * (1 + c * density / p95(density))
from .fast_route import SWEEP as _SWEEP  # noqa: E402  (one list for both paths of `civicmash route`)

_TABLES = ("incidents", "venues", "boundaries", "streets")


def edge_risk(graph: WalkGraph, *, lat, lon, primary_type, type_weights: dict | None = None,
              hour=None, at=None, bandwidth_m: float = DEFAULT_BANDWIDTH_M) -> np.ndarray:
    """Per-edge exposure (weighted incidents, kernel mass); see :mod:`analysis.risk`."""
    model = build_risk(graph, lat=lat, lon=lon, primary_type=primary_type, hour=hour,
                       type_weights=type_weights, bandwidth_m=bandwidth_m)
    return model.edge_mass(at)


def _as_node(graph: WalkGraph, point) -> int:
    if isinstance(point, (int, np.integer)):
        return int(point)
    lat, lon = point
    return graph.nearest_node(float(lat), float(lon))


def _summary(graph: WalkGraph, nodes: list[int], risk: np.ndarray, lam: float | None = None) -> dict:
    edges = graph.path_edges(nodes)
    length = float(graph.length[edges].sum())
    out = {
        "nodes": [int(n) for n in nodes],
        "length_m": round(length, 1),
        "minutes": round(length / WALK_SPEED_M_S / 60, 1),
        "exposure": round(float(risk[edges].sum()), 3),
        "coords": graph.path_coords(nodes),
    }
    if lam is not None:
        out["lambda"] = lam
    return out


def pareto_routes(graph: WalkGraph, risk, src: int, dst: int, *, sweep=_SWEEP) -> list[dict]:
    """Non-dominated routes (length vs exposure) from a sweep of the trade-off weight, shortest first.

    Each route minimises ``length * (1 + c * density / p95(density))`` for one ``c`` of ``sweep``
    (``c = 0``: shortest, ties broken towards less exposure; the largest ``c``: safest)."""
    risk = np.asarray(risk, dtype=float)
    density = risk / np.maximum(graph.length, 1.0)
    positive = density[density > 0]
    p95 = float(np.percentile(positive, 95)) if positive.size else 1.0
    seen: dict[tuple, dict] = {}
    sweep = list(sweep) if positive.size else list(sweep)[:1]
    weights = [(c if c > 0 else 1e-9, graph.length * (1 + (c if c > 0 else 1e-9) * density / p95)) for c in sweep]
    # one search per c; after the first, A* with potentials from the risk part (WalkGraph.route_sweep): exact
    found = graph.route_sweep(src, dst, weights, graph.length * density / p95)
    for c, (nodes, _cost) in zip(sweep, found):
        if not nodes:
            raise ValueError("origin and destination are not connected in the street graph")
        key = tuple(nodes)
        if key not in seen:
            seen[key] = _summary(graph, nodes, risk, lam=float(c))
    return pareto_front(seen.values())


def plan_routes(graph: WalkGraph, risk, origin, dest, *, detour: float = DEFAULT_DETOUR,
                margin: float = DEFAULT_MARGIN) -> dict:
    """Shortest, recommended (``safer``), safest and Pareto routes between ``origin`` and ``dest``.

    ``origin``/``dest``: node indices or (lat, lon) pairs (snapped to the largest component);
    ``risk``: per-edge exposure (e.g. :meth:`analysis.risk.RiskModel.edge_mass`).  Each route has
    nodes, length_m, minutes, exposure, coords, lambda; ``comparison`` says the trade-off in words.
    """
    risk = np.asarray(risk, dtype=float)
    src, dst = _as_node(graph, origin), _as_node(graph, dest)
    if src == dst:
        only = _summary(graph, [src], risk, lam=0.0)
        front = [only]
    else:
        front = pareto_routes(graph, risk, src, dst)
    shortest, safer, safest, best = recommend(front, detour, margin)
    return {
        "origin_node": src,
        "dest_node": dst,
        "shortest": shortest,
        "safer": safer,
        "recommended": safer,
        "safest": safest,
        "pareto": front,
        "alpha": safer.get("lambda", 0.0),
        "detour": detour,
        "comparison": _comparison(shortest, safer, detour, margin, best),
    }


def default_endpoints(con, *, city: str, graph: WalkGraph, offset_m: float = 2000.0) -> tuple[int, int]:
    """Origin: the venue nearest the graph centroid (else the centroid itself);
    destination: the largest-component node nearest a point ~offset_m north-east."""
    clat, clon = graph.centroid()
    origin_ll = (clat, clon)
    if reads.has_table(con, "venues"):
        rows = con.execute(
            "SELECT lat, lon FROM venues WHERE city = ? AND lat IS NOT NULL AND lon IS NOT NULL "
            "ORDER BY (lat - ?) * (lat - ?) + ((lon - ?) * ?) * ((lon - ?) * ?) LIMIT 1",
            [city, clat, clat, clon, math.cos(math.radians(clat)), clon, math.cos(math.radians(clat))],
        ).fetchall()
        if rows:
            origin_ll = rows[0]
    src = graph.nearest_node(*origin_ll)
    step = offset_m / math.sqrt(2)
    lat, lon = graph.unproject(graph.x[src] + step, graph.y[src] + step)
    dst = graph.nearest_node(float(lat), float(lon))
    if dst == src:  # tiny graph: take the farthest reachable node instead
        dist, _ = graph.distances_from(src)
        dist[~np.isfinite(dist)] = -1
        dst = int(np.argmax(dist))
    return src, dst


def load_incidents(con, *, city: str, start, end, bbox=None, with_time: bool = False) -> dict[str, np.ndarray]:
    """Located incidents of ``city`` in [start, end): primary_type, lat, lon, hour (NaN when the time is
    unknown, i.e. recorded at exactly midnight).  ``bbox`` = ((s, w), (n, e)) narrows the read. ``with_time``:
    also ``t``, seconds since the epoch of occurred_at (naive local time, as stored), in time order."""
    rel = reads.incidents_relation(con)
    cols = reads.columns(con, rel)
    unknown = "coalesce(time_is_midnight, false)" if "time_is_midnight" in cols else \
        "(hour(occurred_at) = 0 AND minute(occurred_at) = 0 AND second(occurred_at) = 0)"
    where, params = "", [city, start, end]
    if bbox is not None:
        (s, w), (n, e) = bbox
        where = " AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?"
        params += [s, n, w, e]
    time = (", CAST(epoch(CAST(occurred_at AS TIMESTAMP)) AS DOUBLE) AS t" if with_time else "")
    return fetch_columns(
        con,
        f"SELECT primary_type, lat, lon, CASE WHEN {unknown} THEN NULL ELSE "
        f"CAST(hour(occurred_at) + minute(occurred_at) / 60.0 AS DOUBLE) END AS hour{time} "
        f"FROM {rel} WHERE city = ? AND lat IS NOT NULL AND lon IS NOT NULL "
        f"AND occurred_at >= ? AND occurred_at < ?{where}" + (" ORDER BY occurred_at" if with_time else ""),
        params,
    )


def graph_bbox(graph: WalkGraph, pad_m: float = 150.0):
    s, w = graph.unproject(graph.x.min() - pad_m, graph.y.min() - pad_m)
    n, e = graph.unproject(graph.x.max() + pad_m, graph.y.max() + pad_m)
    return (float(s), float(w)), (float(n), float(e))


def load_bars(con, *, city: str, bbox=None) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) of the city's bars (the ``venues_bars`` view; none when the warehouse has no such view)."""
    if not reads.has_table(con, "venues_bars"):
        return np.zeros(0), np.zeros(0)
    where, params = "", [city]
    if bbox is not None:
        (s, w), (n, e) = bbox
        where = " AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?"
        params += [s, n, w, e]
    cols = fetch_columns(con, "SELECT lat, lon FROM venues_bars WHERE city = ? AND lat IS NOT NULL "
                              f"AND lon IS NOT NULL{where}", params)
    return np.asarray(cols["lat"], float), np.asarray(cols["lon"], float)


def risk_model(con, *, city: str, graph: WalkGraph, options: dict | None = None) -> tuple[RiskModel, dict]:
    """The risk model of the incident window of ``options`` (``days`` 90 / ``start``/``end``), with the
    profile's ``street_factors`` (lit streets, bars; see :mod:`analysis.risk`), and facts about it (window,
    counts) for captions."""
    options = dict(options or {})
    start, end = reads.incident_window(con, city=city, options=options)
    bbox = graph_bbox(graph)
    inc = load_incidents(con, city=city, start=start, end=end, bbox=bbox)
    factors = options.get("street_factors") or {}
    if factors.get("bars") and not reads.has_table(con, "venues_bars"):
        raise ValueError(f"{city}: [risk.bars] is set but the warehouse has no venues_bars view (no venues "
                         "dataset loaded): load the bars, or remove [risk.bars] from the profile")
    bar_lat, bar_lon = load_bars(con, city=city, bbox=bbox) if factors.get("bars") else (None, None)
    # [risk.lit] outages: streetlight-outage requests open at the city's latest service-request time
    outages = (open_outage_points(con, city=city, bbox=bbox) if (factors.get("lit") or {}).get("outages")
               else {"lat": None, "lon": None})
    model = build_risk(graph, lat=inc["lat"], lon=inc["lon"], primary_type=inc["primary_type"],
                       hour=inc["hour"], type_weights=options.get("type_weights"),
                       bandwidth_m=float(options.get("bandwidth_m", DEFAULT_BANDWIDTH_M)),
                       sigma_h=float(options.get("sigma_h", DEFAULT_SIGMA_H)), factors=factors,
                       bar_lat=bar_lat, bar_lon=bar_lon, outage_lat=outages["lat"], outage_lon=outages["lon"])
    facts = {"start": start.isoformat(sep=" "), "end": end.isoformat(sep=" "),
             "incidents_in_area": model.n_incidents, "incidents_on_streets": model.n_snapped,
             "bandwidth_m": model.bandwidth_m, "sigma_h": model.sigma_h}
    return model, {**facts, "_inc": inc}


def coverage_summary(con, *, city: str) -> dict | None:
    """What the walk graph covers, from ``street_coverage``: areas (of the city's primary kind, as the pipeline
    counted them) where datasets mapping every street ('full' detail) cover at least 90 % of the surface
    (``full``: names), 10-90 % (``part``: names), areas with only major streets (``major``: count) or no street
    (``none``: count), km of streets per dataset in the graph, and the areas' ``kind`` and ``plural`` (from
    ``area_slots``, the profile's ``[areas]``; None when not recorded); None without the table."""
    if not reads.has_table(con, "street_coverage"):
        return None
    rows = con.execute(
        "SELECT area_code, any_value(area_name), coalesce(max(covered_share) FILTER (WHERE detail = 'full'), 0), "
        "sum(edge_m) FROM street_coverage WHERE city = ? GROUP BY area_code ORDER BY 2", [city]).fetchall()
    if not rows:
        return None
    kind = con.execute("SELECT any_value(area_kind) FROM street_coverage WHERE city = ?", [city]).fetchone()[0]
    full = [name or code for code, name, f, _ in rows if f >= FULL_SHARE]
    part = [name or code for code, name, f, _ in rows if PART_SHARE <= f < FULL_SHARE]
    none = sum(1 for _, _, f, m in rows if f < PART_SHARE and not m)
    km = dict(con.execute(
        "SELECT dataset, round(sum(length_m) / 1000, 1) FROM street_edges WHERE city = ? "
        "AND superseded_by IS NULL GROUP BY 1 ORDER BY 1", [city]).fetchall())
    return {"areas": len(rows), "full": full, "part": part, "major": len(rows) - len(full) - len(part) - none,
            "none": none, "km_by_dataset": km, "kind": kind, "plural": _plural_of(con, city=city, kind=kind)}


def _plural_of(con, *, city: str, kind: str | None) -> str | None:
    """The city's word for areas of ``kind`` in the plural (``area_slots.plural``), None when not recorded."""
    if kind is None or not reads.has_table(con, "area_slots"):
        return None
    row = con.execute("SELECT any_value(plural) FROM area_slots WHERE city = ? AND kind = ? AND plural IS NOT NULL",
                      [city, kind]).fetchone()
    return row[0] if row else None


def coverage_words(cov: dict | None, *, plural: str | None = None) -> str:
    """``"walk graph covers: every street in 1 of 77 community areas (Near West Side), in part of 8 (...); major
    streets only in 68"``. The areas are named ``plural`` (the profile's ``[areas.<slot>] plural``), else as
    recorded with the coverage (``cov["plural"]``), else from their kind (``lapd_division`` -> "lapd divisions")."""
    if not cov:
        return ""
    plural = plural or cov.get("plural") or (str(cov["kind"]).replace("_", " ") + "s" if cov.get("kind") else "areas")
    names = lambda xs: f" ({', '.join(str(n).title() for n in xs)})" if xs else ""  # noqa: E731
    text = (f"walk graph covers: every street in {len(cov['full'])} of {cov['areas']} {plural}"
            f"{names(cov['full'])}, in part of {len(cov['part'])}{names(cov['part'])}; "
            f"major streets only in {cov['major']}")
    if cov["none"]:
        text += f"; no streets in {cov['none']}"
    return text


def snap_ends(graph: WalkGraph, origin, destination, *, names=("the start", "the end")) -> tuple[int, int, dict, dict]:
    """Nodes of a walk between two (lat, lon) points, both in one street network (see
    :meth:`analysis.routing.WalkGraph.snap_pair`), and per end ``{node_lat, node_lon, snap_m}`` (metres from the
    point to its node). Two points in separate networks raise :class:`analysis.places.ResolveError` "no walking path:
    <names> are in separate street networks (N m apart)"."""
    from .places import ResolveError
    from .routing import SeparateNetworks

    try:
        src, dst, da, db = graph.snap_pair(tuple(map(float, origin)), tuple(map(float, destination)))
    except SeparateNetworks as exc:
        raise ResolveError(str(SeparateNetworks(exc.apart_m, names))) from None

    def end(node: int, d: float) -> dict:
        return {"node_lat": round(float(graph.lat[node]), 6), "node_lon": round(float(graph.lon[node]), 6),
                "snap_m": round(d, 1)}

    return src, dst, end(src, da), end(dst, db)


def _fresh_model(con, city: str, options: dict):
    """(graph, risk model, facts) built from the warehouse; None without a street graph."""
    graph = load_graph(con, city)
    if graph is None:
        return None
    model, facts = risk_model(con, city=city, graph=graph, options=options)
    return graph, model, facts


def _place_dict(place) -> dict:
    """The resolved place without its distance to the nearest node of any network (the end's own snap_m follows)."""
    return {k: v for k, v in place.as_dict().items() if k != "snap_m"}


def _nodes_of_edges(graph: WalkGraph, edge_ids, src: int, dst: int) -> list[int] | None:
    """The walk from ``src`` along the street segments ``edge_ids`` (warehouse ids, in order), or None when the
    current graph no longer has them joined so (streets changed) or the walk does not end at ``dst``."""
    index = {int(e): i for i, e in enumerate(graph.edge_ids.tolist())}
    nodes = [int(src)]
    for e in edge_ids:
        i = index.get(int(e))
        if i is None:
            return None
        u, v = int(graph.eu[i]), int(graph.ev[i])
        if u == nodes[-1]:
            nodes.append(v)
        elif v == nodes[-1]:
            nodes.append(u)
        else:
            return None
    return nodes if nodes[-1] == int(dst) else None


def _stable_advice(graph: WalkGraph, risk, routes: dict, *, stored, city: str, src: int, dst: int, hour, detour: float,
                   margin: float, hold: float) -> None:
    """Keep the pair's last advice unless the new choice is more than ``hold`` less exposed (:mod:`analysis.advice`);
    updates ``routes`` in place and the memory beside the stored model."""
    from .route_store import _slug

    memory = advice.memory_file(stored.directory.parent, _slug(city))
    key = advice.pair_key(graph.node_ids[src], graph.node_ids[dst], hour, detour, margin)
    shortest, new = routes["shortest"], routes["safer"]
    chosen = new
    entry = advice.recall(memory, key)
    if entry is not None:
        nodes = _nodes_of_edges(graph, entry["edges"], src, dst)
        if nodes is not None and nodes != new["nodes"]:
            held = _summary(graph, nodes, np.asarray(risk, dtype=float))
            same_model = entry["model"] == stored.key
            if held["length_m"] <= (1 + detour) * shortest["length_m"] + 1e-6 and (
                    entry.get("held") if same_model else advice.keeps(new, held, hold=hold)):
                held.update(vs_shortest=compare_words(shortest, held), within_detour=True, held=True)
                chosen = routes["safer"] = routes["recommended"] = held
                routes["comparison"] = f"{compare_words(shortest, held)} ({advice.held_words(new, held, hold)})"
    edges = [int(e) for e in graph.edge_ids[graph.path_edges(chosen["nodes"])]]
    if entry is None or (entry["model"], entry["edges"], bool(entry.get("held"))) != (stored.key, edges,
                                                                                        chosen is not new):
        advice.remember(memory, key, model=stored.key, edges=edges, held=chosen is not new)


def plan(con, *, city: str, origin, destination, at=None, detour: float = DEFAULT_DETOUR,
         options: dict | None = None, patterns=None) -> dict:
    """Plan a walk for the command line (the only file written: the pair's advice, :mod:`analysis.advice`).

    ``origin``/``destination``: anything :func:`analysis.places.resolve` reads (``"41.88,-87.65"``, a
    (lat, lon) pair, a bar name, a block ``"012XX W MADISON ST"`` or an intersection
    ``"N CLARK ST & W DIVISION ST"``); raises :class:`analysis.places.ResolveError` when one cannot be
    resolved.  ``at``: time of the walk (``"23:30"``, an hour as float, a datetime; None = all hours
    alike).  ``detour``: allowed extra length of the recommended route (0.25 = +25%).  ``options``:
    the profile's ``[maps.safe_route]`` table (``days``, ``start``, ``end``, ``type_weights``,
    ``bandwidth_m``, ``sigma_h``, ``street_factors``).  ``patterns``: the city's block forms ((regex, block size)
    pairs of the profile's ``[places]``).  Both ends snap into one street network (:func:`snap_ends`); ends in
    separate networks raise ResolveError ("no walking path: ...").  Returns a JSON-serialisable dict:
    ``origin``/``destination`` (resolved: label, kind, lat, lon, snap_m = metres from the place to the node the
    walk starts or ends at), ``at``, ``detour``, ``shortest``,
    ``recommended``, ``safest``, ``pareto`` (each: length_m, minutes, exposure, coords, vs_shortest),
    ``comparison``, ``window``, ``units``, ``street_factors``.
    """
    from .places import resolve

    from .route_store import model_for

    options = dict(options or {})
    hour = parse_at(at)
    # a read-only warehouse file (the CLI's): the graph and the risk model stored beside it (analysis/route_store.py)
    stored = model_for(con, city=city, options=options, builder=_fresh_model)
    graph = stored.graph if stored is not None else load_graph(con, city)
    if graph is None:
        raise ValueError(f"no street graph for city {city!r}: cannot plan a route")
    a = resolve(con, city=city, text=origin, graph=graph, patterns=patterns)
    b = resolve(con, city=city, text=destination, graph=graph, patterns=patterns)
    src, dst, end_a, end_b = snap_ends(graph, (a.lat, a.lon), (b.lat, b.lon), names=(repr(a.label), repr(b.label)))
    if stored is not None:
        model, facts, risk = stored.model, dict(stored.facts), stored.edge_risk(hour)
    else:
        model, facts = risk_model(con, city=city, graph=graph, options=options)
        facts.pop("_inc")
        risk = model.edge_risk(hour)
    margin = float(options.get("margin") or DEFAULT_MARGIN)
    routes = plan_routes(graph, risk, src, dst, detour=detour, margin=margin)
    if stored is not None and stored.directory is not None and advice.hold_of(options) > 0:
        _stable_advice(graph, risk, routes, stored=stored, city=city, src=src, dst=dst, hour=hour, detour=detour,
                       margin=margin, hold=advice.hold_of(options))
    strip = lambda r: {k: v for k, v in r.items() if k != "nodes"}  # noqa: E731
    return {
        "city": city,
        "origin": {**_place_dict(a), **end_a},
        "destination": {**_place_dict(b), **end_b},
        "at": None if hour is None else f"{int(hour):02d}:{int(round(hour % 1 * 60)):02d}",
        "detour": detour,
        "shortest": strip(routes["shortest"]),
        "recommended": strip(routes["safer"]),
        "safest": strip(routes["safest"]),
        "pareto": [strip(r) for r in routes["pareto"]],
        "comparison": routes["comparison"],
        "window": facts,
        "units": EXPOSURE_UNITS,
        "street_factors": model.factors.describe(hour) if model.factors else [],
    }
