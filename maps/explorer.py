"""Incident explorer: every incident of a city on one offline page, with combinable filters and three views.

Incidents are embedded column-wise in one deflated binary blob (``maps/_packed.py``; see docs/maps.md,
"Crime explorer"). Rows are sorted by time: ``occurred_at`` is stored as minutes since the previous
incident. Each row then carries two dictionary codes:

* a *place* code: one entry per distinct (block, latitude, longitude, beat, district, ward, community area)
  in a place table sorted by block name then coordinates, so the table's columns are stored as small
  differences (coordinates are integers of 1e-5 degree, about 1 m: the source is block-level);
* a *kind* code: one entry per distinct (primary type, description, arrest, domestic);

plus the location description code and the source id. Dictionaries (types, descriptions, blocks, ...)
and the schools and parks of the "near" filter travel in the blob's JSON header; the base map's street lines
travel in a second blob (:func:`_street_blob`). The type list is grouped by the profile's crime categories
(:func:`_type_groups`). The place and kind tables come first in the incidents' blob, with ``p_open``, the opening
view's dot colours (:func:`_opening`); the rows follow, and travel in a late block after the page's script: the page
draws the streets and the opening view's dots and count at once, while the browser still parses the rows, then
inflates the whole stream with the browser's ``DecompressionStream`` (the location codes and ids, the last columns,
after its own first pass) and keeps per row only the time, place and kind codes; all filtering, the
summary, the paged table, the CSV download and the three map views (points, heat, rates per 1,000
residents by the city's primary area kind) run in the page; the filter state lives in ``location.hash``.

Areas are the city's own (``options["areas"]``, the profile's ``[areas]`` as plain values): the area filters
carry its labels and exist only for the columns the city fills; the rates view counts incidents by the column
its primary kind fills and names that kind as the profile does. Without ``areas``: Chicago's.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from civicmash.analysis.routing import load_graph
from civicmash.warehouse import reads
from civicmash.warehouse._sqlexpr import DEFAULT_AREA_SLOTS as _DEFAULT_SLOTS
from civicmash.warehouse.hotspots import read_hotspots
from civicmash.warehouse.reads import fetch_columns

from . import _packed, _payload, explorer_filters, figure_payload, i18n, privacy
from .explorer_filters import MAX_RADIUS_M
from .render import Page, PageContext, publish

_EPOCH_DAY = date(1970, 1, 1)
_TABLES = ("incidents", "boundaries", "streets", "services")  # credited; plus the population datasets used
NEAR_CATEGORIES = ("school", "park")
RATE_KIND = "community_area"  # the choropleth's default areas (boundaries.kind and population.area_kind)
# Optional incident columns: (SQL expression, missing label). Absent columns become NULL.
_AREA_COLS = {
    "beat": "beat",
    "district": "CAST(district AS VARCHAR)",
    "ward": "CAST(ward AS VARCHAR)",
    "community_area": "CAST(community_area AS VARCHAR)",
}
MISSING = "(not given)"
# The page's assets: the filter predicates (also loaded by node's unit tests) run before the page code; the
# controls are drawn from the declared filters (maps/explorer_filters.py).
PAGE = Page(title="Crime explorer", scripts=("explorer_filters.js", "figure_sql.js", "explorer_compare.js", "packed.js", "explorer.js"), controls="explorer_controls.html.j2",
            legend="explorer_summary.html", style="explorer.css", plugins=("heat", "fflate"))


def _dict_encode(values, *, missing: str, alphabetical: bool = False) -> tuple[list[str], np.ndarray]:
    """(labels, code per row): labels ordered by frequency (most common first, then by name), or by name."""
    vals = np.array([missing if v is None or v == "" else str(v) for v in values], dtype=object)
    if not len(vals):
        return [], np.zeros(0, dtype=np.int64)
    labels, inverse, counts = np.unique(vals, return_inverse=True, return_counts=True)
    if alphabetical:
        return [str(x) for x in labels], inverse.astype(np.int64)
    order = np.lexsort((labels, -counts))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return [str(x) for x in labels[order]], rank[inverse]


def _ids(values) -> tuple[np.ndarray | None, list[str] | None]:
    """source_id: an integer column when every id is a canonical integer below 10**9, else strings."""
    ids = ["" if v is None else str(v) for v in values]
    if ids and all(s.isdigit() and (s == "0" or not s.startswith("0")) and len(s) < 10 for s in ids):
        return np.array([int(s) for s in ids], dtype=np.int64), None
    return None, ids


def _flags(arrest, domestic) -> np.ndarray:
    """arrest + 3 * domestic, each 0 = false, 1 = true, 2 = not given."""
    def code(v):
        return 2 if v is None else (1 if bool(v) else 0)
    return np.array([code(a) + 3 * code(d) for a, d in zip(arrest, domestic)], dtype=np.int64)


def _combos(columns: list[np.ndarray], *, by_frequency: bool) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``columns`` -> (table: one row per combination, code per input row). Without
    ``by_frequency`` the table is sorted by the columns in order (first column first)."""
    key = np.stack(columns, axis=1) if columns else np.zeros((0, 0), dtype=np.int64)
    if not len(key):
        return np.zeros((0, len(columns)), dtype=np.int64), np.zeros(0, dtype=np.int64)
    table, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if by_frequency:
        counts = np.bincount(inverse)
        order = np.argsort(-counts, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return table[order], rank[inverse]
    return table, inverse


def _type_groups(types: list[str], categories: dict[str, list[str]] | None) -> list[dict]:
    """The type list's groups: one per category of the profile (``[risk.categories]``, in its order) holding
    the types present in the data (matched case-insensitively, a type in the first category that names it),
    then "not in a category" for the rest. A member with ``*``/``?`` is a glob pattern (the ``[offences]``
    crosswalk's ``"BURGLARY*"``), tried after every exact name. No categories: no groups (one flat list)."""
    if not categories:
        return []
    owner: dict[int, str] = {}
    for globs in (False, True):   # exact names first, then patterns
        for name, members in categories.items():
            want = [str(m).strip().upper() for m in members if (("*" in str(m)) or ("?" in str(m))) == globs]
            owner.update({k: name for k, t in enumerate(types) if k not in owner and (
                any(fnmatch.fnmatchcase(t.strip().upper(), w) for w in want) if globs else t.strip().upper() in want)})
    groups, seen = [], set(owner)
    for name in categories:
        ks = [k for k in range(len(types)) if owner.get(k) == name]
        if ks:
            groups.append({"name": str(name).replace("_", " "), "types": ks})
    rest = [k for k in range(len(types)) if k not in seen]
    if rest:
        groups.append({"name": "not in a category", "types": rest, "rest": True})   # the page words it: ex.no_category
    return groups


def _opening(t, place, kind, place_table, kind_table, *, types: list[str], opening: tuple) -> tuple[np.ndarray, dict]:
    """The opening view's map and count, for the page to draw before it has read the incidents' rows (they travel
    late: :func:`build`). ``opening`` = (first day, last day, selected type names or None = all): the page's
    default state, every other filter unset. -> (per place: 1 + the highest type code among its matches with
    coordinates, 0 = none: the page colours a dot by it as its filter pass does; the count, the matches without
    coordinates and those at exactly 00:00). The page checks both against its own pass (explorer.js
    ``previewAgrees``)."""
    first, last, selected = opening
    lo, hi = (first - _EPOCH_DAY).days * 1440, ((last - _EPOCH_DAY).days + 1) * 1440
    type_of_kind = kind_table[:, 0] if len(kind_table) else np.zeros(0, dtype=np.int64)
    chosen = np.array([selected is None or name in selected for name in types], dtype=bool)
    match = (t >= lo) & (t < hi)
    if len(t):
        match &= chosen[type_of_kind[kind]]
    on_map = match & (place_table[place, 1] >= 0) if len(t) else match
    top = np.zeros(len(place_table), dtype=np.int64)
    np.maximum.at(top, place[on_map], type_of_kind[kind[on_map]] + 1)
    return top, {"count": int(match.sum()), "located": int(on_map.sum()), "nomap": int((match & ~on_map).sum()),
                 "midnight": int((match & (t % 1440 == 0)).sum())}


def _incident_blob(con, *, city: str, places: list[dict], categories: dict | None = None,
                   min_addresses: int | None = None, report: dict | None = None, opening: tuple | None = None) -> dict:
    """The incidents as one packed blob (module docstring): the header and the place and kind tables first, flushed
    (``"split"``: :func:`civicmash.maps._packed.pack`), then the rows. With ``opening`` (:func:`_opening`'s), the
    place table also holds ``p_open`` and the header ``"opening"``: the opening view's map and count."""
    incidents = reads.incidents_relation(con)
    have = reads.columns(con, incidents)

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
    lat, lon, merged = privacy.merge_points(lat, lon, cols["block"], min_addresses)   # maps/privacy.py
    if report is not None:
        report.update(merged)
    located = ~(np.isnan(lat) | np.isnan(lon))
    lat0 = float(np.floor(lat[located].min() * 100) / 100) if located.any() else 0.0
    lon0 = float(np.floor(lon[located].min() * 100) / 100) if located.any() else 0.0
    # Integer 1e-5-degree offsets; -1 marks "no coordinates" (offsets are >= 0 from the floor of the minimum).
    qlat = np.where(located, np.round((np.nan_to_num(lat) - lat0) * _payload.SCALE), -1).astype(np.int64)
    qlon = np.where(located, np.round((np.nan_to_num(lon) - lon0) * _payload.SCALE), -1).astype(np.int64)
    types, ty = _dict_encode(cols["primary_type"], missing="(type not given)")
    descs, de = _dict_encode(cols["description"], missing="(no description)")
    blocks, bk = _dict_encode(cols["block"], missing="(no block)", alphabetical=True)
    locs, lc = _dict_encode(cols["location_description"], missing=MISSING)
    areas, area_codes = {}, []
    for key in _AREA_COLS:
        labels, codes = _dict_encode(cols[key], missing=MISSING)
        areas[key] = labels
        area_codes.append(codes)
    place_table, place = _combos([bk, qlat, qlon, *area_codes], by_frequency=False)
    kind_table, kind = _combos([ty, de, _flags(cols["arrest"], cols["domestic"])], by_frequency=True)
    ids, id_strings = _ids(cols["source_id"])
    t0 = int(t.min()) if len(t) else 0

    def nulls(q):
        return [None if v < 0 else int(v) for v in q.tolist()]

    open_top, header_opening = (None, None) if opening is None else _opening(
        t, place, kind, place_table, kind_table, types=types, opening=opening)
    columns = {
        "p_block": _packed.column(place_table[:, 0], delta=True),
        "p_lat": _packed.column(nulls(place_table[:, 1]), nullable=True, delta=True),
        "p_lon": _packed.column(nulls(place_table[:, 2]), nullable=True, delta=True),
        **{f"p_{key}": _packed.column(place_table[:, 3 + k]) for k, key in enumerate(_AREA_COLS)},
        **({} if open_top is None else {"p_open": _packed.column(open_top)}),
        "k_type": _packed.column(kind_table[:, 0]),
        "k_desc": _packed.column(kind_table[:, 1]),
        "k_flags": _packed.column(kind_table[:, 2]),
        # the rows (late in the page): time, place and kind; then, with the ids, the location codes, which the
        # page decodes after its first paint with the page's own rows (explorer.js openBlob)
        "dt": _packed.column(np.diff(t, prepend=t0)),  # minutes since the previous incident (rows by time)
        "place": _packed.column(place),
        "kind": _packed.column(kind),
        "lc": _packed.column(lc),
    }
    if ids is not None:
        columns["id"] = _packed.column(ids)
    header = {
        "n": int(len(t)), "undated": int(undated), "t0": t0, "lat0": lat0, "lon0": lon0,
        "types": types, "descs": descs, "blocks": blocks, "locs": locs, "areas": areas,
        "ids": id_strings, "places": places, "groups": _type_groups(types, categories),
    }
    if header_opening is not None:
        header["opening"] = header_opening
    return _packed.pack(header, columns, flush_after="k_flags")


def _street_blob(streets: dict | None) -> dict | None:
    """The base map's street lines (``_payload.streets_payload``) as a second packed blob: nodes sorted by latitude
    then longitude (coordinates, integers of 1e-5 degree, stored as differences), each segment once as
    (u, v - u) with u <= v, sorted by u. About a seventh of the same lines as JSON (Chicago: 73,898 segments,
    1.9 MB as JSON)."""
    if not streets or not streets.get("seg"):
        return None
    lat, lon = np.asarray(streets["lat"], dtype=np.int64), np.asarray(streets["lon"], dtype=np.int64)
    seg = np.asarray(streets["seg"], dtype=np.int64).reshape(-1, 2)
    order = np.lexsort((lon, lat))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    u, v = rank[seg[:, 0]], rank[seg[:, 1]]
    u, v = np.minimum(u, v), np.maximum(u, v)
    by_u = np.lexsort((v, u))
    u, v = u[by_u], v[by_u]
    columns = {
        "s_lat": _packed.column(lat[order], delta=True),
        "s_lon": _packed.column(lon[order], delta=True),
        "s_u": _packed.column(u, delta=True),
        "s_dv": _packed.column(v - u),
    }
    header = {"lat0": streets["lat0"], "lon0": streets["lon0"], "dropped": streets.get("dropped", 0)}
    return _packed.pack(header, columns)


def _places(con, *, city: str, categories=NEAR_CATEGORIES) -> list[dict]:
    """Schools and parks with their exact coordinates (for the "within r of" filter)."""
    if not reads.has_table(con, "services") or not categories:
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


def population(con, *, city: str, kind: str = RATE_KIND) -> list[dict]:
    """Residents per area of ``kind``: the latest year loaded for each area (format fixtures left out),
    with the dataset it came from and that dataset's title. Areas whose latest figure is missing or 0 are
    left out (they have no rate)."""
    if not reads.has_table(con, "population"):
        return []
    catalogue = reads.columns(con, "datasets") if reads.has_table(con, "datasets") else set()
    fixtures = reads.fixture_filter(con, "p")
    title = ("(SELECT min(d.title) FROM datasets d WHERE d.city = l.city AND d.dataset = l.dataset)"
             if "title" in catalogue else "NULL")
    rows = con.execute(
        f"""WITH ranked AS (
               SELECT p.*, row_number() OVER (PARTITION BY p.area_code
                   ORDER BY p.year DESC NULLS LAST, p.fetched_at DESC NULLS LAST, p.dataset) AS r
               FROM population p WHERE p.city = ? AND p.area_kind = ? AND p.area_code IS NOT NULL {fixtures})
           SELECT l.area_code, l.area_name, l.population, l.year, l.dataset, {title}
           FROM ranked l WHERE l.r = 1 AND l.population > 0 ORDER BY l.area_code""",
        [city, kind],
    ).fetchall()
    return [{"code": str(c), "name": nm, "population": int(p), "year": y, "dataset": ds, "title": tt}
            for c, nm, p, y, ds, tt in rows]


def _slots(areas: dict | None) -> dict[str, dict]:
    """Slot -> settings (kind, label, plural) of ``areas`` (the profile's ``[areas]``), Chicago's where unset."""
    given = (areas or {}).get("slots", {}) or {}
    return {slot: {**default, **(given.get(slot) or {})} for slot, default in _DEFAULT_SLOTS.items()}


def _rate_area(con, *, city: str, areas: dict | None) -> dict:
    """The rates view's areas: the city's primary area kind (``[areas] primary``; else its preferred kind, as
    the base map's) and the incidents column (slot) it fills, with its words. ``slot`` None: the kind fills no
    column, so no incident can be counted by it (no rates)."""
    slots = _slots(areas)
    primary = (areas or {}).get("primary")
    kind = primary or reads.preferred_kind(reads.boundary_kinds(con, city=city)) or RATE_KIND
    slot = next((k for k, v in slots.items() if v["kind"] == kind), None)
    spec = slots.get(slot or "", {})
    label = spec.get("label") or kind.replace("_", " ").capitalize()
    plural = spec.get("plural") or label.lower() + "s"
    return {"kind": kind, "slot": slot, "label": label, "plural": plural}


def _present_slots(con, *, city: str, areas: dict | None) -> set[str]:
    """The area columns the city fills: boundaries of the slot's kind, or values in its incidents."""
    kinds = set(reads.boundary_kinds(con, city=city))
    incidents = reads.incidents_relation(con)
    have = reads.columns(con, incidents)
    cols = [k for k in _AREA_COLS if k in have]
    counts = con.execute(f"SELECT {', '.join(f'count({k})' for k in cols)} FROM {incidents} WHERE city = ?",
                         [city]).fetchone() if cols else ()
    filled = {k for k, n in zip(cols, counts) if n}
    return filled | {slot for slot, spec in _slots(areas).items() if spec["kind"] in kinds}


def _rates_payload(con, *, city: str, base_boundaries: dict, area: dict) -> dict:
    """Areas for the rates view (``area``: :func:`_rate_area`): their polygons (the base layer's when it already
    shows them) and residents (:func:`population` of that kind), with the population source named, the incidents
    column counted (``slot``) and the words for the areas."""
    kind = area["kind"]
    if area["slot"] is None:
        features = None
    elif base_boundaries.get("kind") == kind:
        features = "base"
    else:
        features = reads.boundaries_geojson(con, city=city, kind=kind)
        features = features if features["features"] and features["kind"] == kind else None
    pop = population(con, city=city, kind=kind)
    sources = {}
    for row in pop:
        src = sources.setdefault(row["dataset"], {"dataset": row["dataset"], "title": row["title"], "years": set(),
                                                  "areas": 0})
        src["years"].add(row["year"])
        src["areas"] += 1
    return {
        **area,
        "features": features,
        "population": {r["code"]: [r["population"], r["year"]] for r in pop},
        "sources": [{**s, "years": sorted(y for y in s["years"] if y is not None)} for s in sources.values()],
    }


def _hotspots_payload(con, *, city: str) -> dict | None:
    """The Gi* hotspot layer (``hotspot_cells``, written by the pipeline's ``hotspots`` stage): the significant
    cells (hot or cold) with their hexagons, and what the page states about the method. None: not computed."""
    rows = read_hotspots(con, city=city)
    if not rows:
        return None
    import h3

    res = int(rows[0]["resolution"])
    return {
        "cells": [{"h": r["h3_cell"], "c": r["class"], "n": int(r["incidents"]), "z": round(float(r["gi_z"]), 2),
                   "q": float(f"{r['p_fdr']:.3g}"), "b": json.loads(r["boundary"])}
                  for r in rows if r["class"] in ("hot", "cold")],
        "tested": len(rows), "resolution": res, "area_km2": round(float(h3.average_hexagon_area(res, unit="km^2")), 3),
        "edge_m": round(float(h3.average_hexagon_edge_length(res, unit="m"))), "alpha": float(rows[0]["alpha"]),
        "start": rows[0]["window_start"].date().isoformat(),
        "end": (rows[0]["window_end"] - timedelta(days=1)).date().isoformat(),
    }


def build(ctx: PageContext) -> Path:
    """Write the incident explorer for ``ctx.city`` to ``ctx.out_path``.

    Options: ``days`` (default window length, 90), ``start``/``end`` (ISO dates: the date range
    selected when the page opens; every dated incident is embedded either way), ``today`` (ISO date: the
    default window ends on that day instead of the day of the latest incident), ``types`` (initially
    selected primary types; default all), ``type_categories`` (category -> primary types, the profile's
    ``[risk.categories]``: the type list is grouped by them), ``near_categories`` (service categories offered
    by the "near" filter; default school, park), ``boundary_kind``, ``max_street_edges``, ``areas`` (the
    profile's ``[areas]``, plain: area labels, which area filters exist, the rates' kind; default the code's slots),
    ``min_addresses_per_point`` (privacy: :mod:`.privacy`). The Gi* hotspot layer is read from ``hotspot_cells``
    (written by the pipeline; ``hotspot_resolution`` is that stage's option). See docs/maps.md.
    """
    con, city, sources, options = ctx.con, ctx.city, ctx.sources, dict(ctx.options)
    if options.get("today") and not options.get("end"):  # the window's last day (inclusive)
        options["end"] = (reads._as_datetime(options["today"]) + timedelta(days=1)).date().isoformat()
    start, end = reads.incident_window(con, city=city, options=options)
    graph = load_graph(con, city)
    areas = options.get("areas")
    if areas and areas.get("primary") and not options.get("boundary_kind") and \
            areas["primary"] in reads.boundary_kinds(con, city=city):
        options["boundary_kind"] = areas["primary"]   # the base map draws the city's primary areas
    base = _payload.base_layer(con, city=city, graph=graph, options=options)
    # The street lines travel in their own deflated blob (the page draws them once inflated), not as base JSON.
    streets, base["streets"] = base["streets"], None
    view = None
    if streets and not base["boundaries"]["features"]:  # the shell frames the city by its streets then
        view = [[streets["lat0"] + min(streets["lat"]) / _payload.SCALE, streets["lon0"] + min(streets["lon"]) / _payload.SCALE],
                [streets["lat0"] + max(streets["lat"]) / _payload.SCALE, streets["lon0"] + max(streets["lon"]) / _payload.SCALE]]
    places = _places(con, city=city, categories=tuple(options.get("near_categories", NEAR_CATEGORIES)))
    rate_area = _rate_area(con, city=city, areas=areas)
    rates = _rates_payload(con, city=city, base_boundaries=base["boundaries"], area=rate_area)
    # with the profile's [areas], only the area filters of the columns the city fills; without, all four
    filters = explorer_filters.filters_for(areas, present=_present_slots(con, city=city, areas=areas) if areas else None)
    if sources is None:  # the catalogue's rows for what the page draws: only the population datasets it uses
        used = {s["dataset"] for s in rates["sources"]}
        sources = sorted(reads.sources_for(con, city, None, _TABLES) +
                         [s for s in reads.sources_for(con, city, None, ("population",)) if s["dataset"] in used],
                         key=lambda s: str(s["dataset"]))
    merged: dict = {}
    first, last = start.date(), (end - timedelta(days=1)).date()   # the opening dates, both included
    incidents = _incident_blob(con, city=city, places=places, categories=options.get("type_categories"),
                               min_addresses=options.get("min_addresses_per_point"), report=merged,
                               opening=(first, last, options.get("types")))
    cut = incidents["split"]
    data = {
        "base": base,
        # The incidents' rows (most of the page) are written after the scripts, in a late block: the page draws
        # the opening view's map and count from the first part (the place table with p_open) while the browser
        # still parses them (docs/maps.md).
        "incidents": {"z": incidents["z"][:cut], "late": "incidents", "raw": incidents["raw"]},
        "hotspots": _hotspots_payload(con, city=city),
        "streets": _street_blob(streets),
        "rates": rates,
        "view": view,
        **explorer_filters.page_table(filters),  # "filters" (the city's declared table) and "maxRadius" (the cap)
        "window": {"start": first.isoformat(), "end": last.isoformat()},
        "selected_types": options.get("types"),
        "city": city,
        "figures": figure_payload.explorer(rate_area if rates["features"] else None),
        "collapseOnPhone": False,
    }
    data["privacy"] = {k: merged.get(k) for k in ("min_addresses", "points", "points_moved", "rows_moved",
                                                  "rows_withheld")}
    return publish(ctx, PAGE, data=data, sources=sources, late={"incidents": incidents["z"][cut:]},
                   fragment_vars={"sections": explorer_filters.SECTIONS, "filters": filters,
                                  "max_radius": MAX_RADIUS_M},
                   messages=i18n.category_keys(p["cat"] for p in places))  # the place list's group names

