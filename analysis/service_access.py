"""Service locator: the nearest open public service by walking time, and where a city leaves its residents far
from one.

- :func:`locate` (``civicmash locate``): from a place (``lat,lon``, an address, a service or bar name, a police
  block or an intersection: :func:`resolve_place`), the N nearest services of each chosen category by walking time
  along the street graph (:mod:`analysis.nearest`), with metres, minutes and whether each is open at a given time.
- :func:`analyse`: the warehouse tables ``service_coverage`` (coverage gaps per area) and ``isochrones`` (walking
  areas around a point, every service of the smaller categories and every category), see :mod:`analysis.coverage`;
  the pipeline writes them, the page reads them (or computes them when a warehouse has none).
- :func:`build`: ``locator.html``: category toggles, an "open at" selector, click anywhere to locate (the nearest
  services are recomputed in the page over the embedded graph, with the same numbers as :func:`locate`), walking
  areas, and the coverage-gap choropleth with the areas the street data does not cover marked as such.
"""

from __future__ import annotations

import difflib
import re

import numpy as np

from civicmash.warehouse import reads
from civicmash.warehouse.addresses import normalise_address

from .coverage import (
    DEFAULT_SPACING_M,
    DEFAULT_THRESHOLDS,
    attach,
    build_lattice,
    catchment_rows,
    coverage_rows,
    point_rows,
    service_rows,
)
from .nearest import DEFAULT_MAX_ACCESS_M, WALK_SPEED_M_S, ServiceNetwork, ServiceSet
from .places import Place, ResolveError, check_near, resolve, snap_words
from .places import address as _address_point
from .routing import load_graph

_TABLES = ("services", "boundaries", "streets", "population")
SERVICE_ISOCHRONE_MAX = 150   # per-service walking areas for categories with at most this many located services
_ADDRESS = re.compile(r"^\s*(\d{1,6})\s+(?:([NSEW])\.?\s+)?(.+?)\s*$", re.IGNORECASE)


# ------------------------------------------------------------------------------------------------ places

def resolve_place(con, *, city: str, text, graph=None, patterns=None) -> Place:
    """A place for the locator: what :func:`analysis.places.resolve` understands (``lat,lon``, a bar's name, a police
    block ``012XX W MADISON ST`` or any form of the city's block ``patterns``, an intersection
    ``N CLARK ST & W DIVISION ST``), plus

    - an address, ``1101 W Taylor St``: a service or venue at exactly that address (after normalising case,
      punctuation and street-type words), else the point of :func:`analysis.places.address` (interpolated in a
      street segment's address range, else the incidents' block of the house number, ``011XX W TAYLOR ST``);
    - a service's name, ``Harold Washington Library Center`` (exact, else a unique name containing the text).

    Unresolvable text raises :class:`analysis.places.ResolveError` naming the nearest matches."""
    raw = str(text or "").strip() if not isinstance(text, (tuple, list)) else text
    if isinstance(raw, str) and raw and reads.has_table(con, "services") and con.execute(
            "SELECT count(*) FROM services WHERE city = ? AND upper(trim(name)) = ? AND lat IS NOT NULL",
            [city, re.sub(r"\s+", " ", raw.upper())]).fetchone()[0]:
        place = _service_by_name(con, city=city, text=raw)   # a service's exact name wins
        if place is not None:
            return _check_near(place, graph, city)
    if isinstance(raw, str) and _ADDRESS.match(raw):
        place = _address(con, city=city, text=raw, patterns=patterns)
        if place is not None:
            return _check_near(place, graph, city)
    try:
        return resolve(con, city=city, text=raw, graph=graph, patterns=patterns)
    except ResolveError as first:
        place = _service_by_name(con, city=city, text=str(raw)) if isinstance(raw, str) else None
        if place is not None:
            return _check_near(place, graph, city)
        extra = _service_suggestions(con, city=city, text=str(raw))
        raise ResolveError(str(first).split("; did you mean:")[0],
                           (first.candidates + extra)[:12]) from None


def _check_near(place: Place, graph, city: str) -> Place:
    return check_near(place, graph, city=city, covers="the walk network covers")


def _address(con, *, city: str, text: str, patterns=None) -> Place | None:
    want = normalise_address(text, city=city)
    for table, label in (("services", "service"), ("venues", "venue")):
        if not reads.has_table(con, table):
            continue
        rows = con.execute(f"SELECT name, address, lat, lon FROM {table} WHERE city = ? AND address IS NOT NULL "
                           "AND lat IS NOT NULL", [city]).fetchall()
        hits = [r for r in rows if normalise_address(r[1], city=city) == want]
        if hits:
            lat = float(np.median([h[2] for h in hits]))
            lon = float(np.median([h[3] for h in hits]))
            return Place(lat, lon, "address", want, f"address of {label} {hits[0][0]}")
    try:
        return _address_point(con, city=city, text=want, patterns=patterns)
    except ResolveError:
        return None


def _service_by_name(con, *, city: str, text: str) -> Place | None:
    if not reads.has_table(con, "services"):
        return None
    q = re.sub(r"\s+", " ", text.strip().upper())
    rows = con.execute("SELECT name, lat, lon, address FROM services WHERE city = ? AND lat IS NOT NULL AND name IS NOT "
                       "NULL AND contains(upper(name), ?)", [city, q]).fetchall()
    exact = [r for r in rows if r[0].strip().upper() == q]
    hits = exact or rows
    places = {(round(r[1], 4), round(r[2], 4)) for r in hits}
    if hits and len(places) == 1:
        r = hits[0]
        return Place(float(r[1]), float(r[2]), "service", r[0].strip(), str(r[3] or ""))
    if len(hits) > 1:
        raise ResolveError(f"{text!r} matches {len(places)} different service sites",
                           sorted({f"{r[0].strip()} ({r[3]})" for r in hits})[:10])
    return None


def _service_suggestions(con, *, city: str, text: str) -> list[str]:
    if not reads.has_table(con, "services"):
        return []
    names = [r[0] for r in con.execute("SELECT DISTINCT name FROM services WHERE city = ? AND name IS NOT NULL "
                                       "AND lat IS NOT NULL", [city]).fetchall()]
    lookup = {n.strip().upper(): n.strip() for n in names}
    return [lookup[c] for c in difflib.get_close_matches(text.strip().upper(), list(lookup), n=4, cutoff=0.6)]


# ------------------------------------------------------------------------------------------------ locate

def network(con, *, city: str, categories=None, max_access_m: float = DEFAULT_MAX_ACCESS_M) -> ServiceNetwork:
    """The city's walk graph with its located services attached."""
    graph = load_graph(con, city)
    if graph is None:
        raise ValueError(f"no street graph for city {city!r}: cannot measure walking distance")
    services = ServiceSet.from_warehouse(con, city=city, categories=categories, graph=graph)
    return ServiceNetwork(graph, services, max_access_m=max_access_m)


def _check_categories(net: ServiceNetwork, categories) -> list[str]:
    from civicmash.warehouse.services import canonical_category

    have = net.services.categories
    if not categories:
        return have
    out = []
    for c in categories:
        cat = canonical_category(c)
        if cat not in have:
            close = difflib.get_close_matches(str(cat), have, n=3, cutoff=0.5)
            raise ValueError(f"no located services of category {c!r}"
                             + (f"; did you mean: {', '.join(close)}" if close else "")
                             + f" (categories: {', '.join(have)})")
        if cat not in out:
            out.append(cat)
    return out


def locate(con, *, city: str, near, categories=None, n: int = 3, at=None, open_only: bool = False,
           max_access_m: float = DEFAULT_MAX_ACCESS_M, net: ServiceNetwork | None = None, patterns=None) -> dict:
    """The ``n`` nearest services of each category from ``near`` (see :func:`resolve_place`; ``patterns``: the
    city's block forms) by walking time.

    ``at``: ``"Sat 10:00"`` / ``"2024-01-06 10:00"`` / ``"now"`` / (ISO day, minute): each result says whether it is
    open then (True / False / None = hours unknown); ``open_only`` keeps only services known to be open.
    ``place.snap_m`` (= ``origin_offset_m``) is how far the place is from the street segment the walks start on."""
    from civicmash.warehouse.hours import DAY_NAMES, fmt_minute, parse_at
    from civicmash.warehouse.services import category_label

    if n < 1:
        raise ValueError("n must be at least 1")
    net = net or network(con, city=city, max_access_m=max_access_m)
    cats = _check_categories(net, categories)
    when = None
    if at is not None:
        when = at if isinstance(at, tuple) else parse_at(at)
    if open_only and when is None:
        raise ValueError("open_only needs a time (at)")
    place = resolve_place(con, city=city, text=near, graph=net.graph, patterns=patterns)
    entries = net.nearest(place.lat, place.lon, categories=cats, n=n, at=when, open_only=open_only)
    snap = net.snapper.snap([place.lat], [place.lon])
    place.snap_m = float(snap.offset[0])   # the walks start on the nearest segment: that is the snap
    for e in entries:
        e["label"] = category_label(e["category"])
        e["located"] = int(len(net.services.members(e["category"])))
    return {
        "city": city,
        "place": place.as_dict(),
        "at": None if when is None else {"day": DAY_NAMES[when[0] - 1], "time": fmt_minute(when[1]),
                                         "iso_day": when[0], "minute": when[1]},
        "open_only": bool(open_only),
        "walk_speed_m_s": WALK_SPEED_M_S,
        "origin_offset_m": round(float(snap.offset[0]), 1),
        "area": _area_of(con, city=city, lat=place.lat, lon=place.lon),
        "categories": entries,
    }


def _area_of(con, *, city: str, lat: float, lon: float, kind: str | None = None) -> dict | None:
    """The area of the point ("your area"), with its street coverage when recorded: of ``kind``, else of the kind
    the stored coverage gaps were measured by (the city's primary area kind, ``[areas] primary``), else of the
    preferred kind the city has (community areas first)."""
    from .coverage import boundary_kind

    if kind is None and reads.has_table(con, "service_coverage"):
        kind = con.execute("SELECT any_value(area_kind) FROM service_coverage WHERE city = ?", [city]).fetchone()[0]
    kind = boundary_kind(con, city=city, kind=None, primary=kind)
    if kind is None:
        return None
    reads.ensure_spatial(con)
    row = con.execute("SELECT code, name FROM boundaries WHERE city = ? AND kind = ? AND geom IS NOT NULL "
                      f"{reads.vintage_filter(con, 'boundaries')}AND ST_Contains(geom, ST_Point(?, ?)) ORDER BY code LIMIT 1",
                      [city, kind, lon, lat]).fetchone()
    if row is None:
        return None
    out = {"kind": kind, "code": row[0], "name": row[1], "network_status": None}
    if reads.has_table(con, "service_coverage"):
        st = con.execute("SELECT any_value(network_status), any_value(street_detail) FROM service_coverage "
                         "WHERE city = ? AND area_kind = ? AND area_code = ?", [city, kind, row[0]]).fetchone()
        if st and st[0]:
            out["network_status"], out["street_detail"] = st[0], st[1]
    return out


def format_table(result: dict) -> str:
    """Plain-text rendering of :func:`locate` (the CLI's default output)."""
    p = result["place"]
    lines = [f"from {p['label']} ({p['lat']:.5f}, {p['lon']:.5f}; {p['kind']}"
             + (f": {p['detail']}" if p.get("detail") else "") + ")"]
    if result["at"]:
        lines[0] += f"  at {result['at']['day']} {result['at']['time']}" + (" (open only)" if result["open_only"] else "")
    area = result.get("area")
    if area:
        status = area.get("network_status")
        lines.append(f"in {area['kind'].replace('_', ' ')} {area['code']} {area['name'] or ''}".rstrip()
                     + (f"; street data: {status}" if status else ""))
    note = snap_words("the place", p.get("snap_m", result["origin_offset_m"]))
    if note:
        lines.append(note)
    for e in result["categories"]:
        lines.append(f"\n{e['label']} ({e['located']} located" + (f", {e['off_network']} off the street graph"
                                                                  if e["off_network"] else "") + ")")
        if not e["results"]:
            lines.append("  none reachable" + (" and open at that time" if result["open_only"] else ""))
        for k, r in enumerate(e["results"], 1):
            state = "" if result["at"] is None else ("  open" if r["open"] else "  closed" if r["open"] is False
                                                      else "  hours unknown")
            lines.append(f"  {k}. {r['name']:<38} {r['minutes']:>5.1f} min {r['dist_m']:>7,.0f} m{state}"
                         + (f"  {r['address']}" if r["address"] else ""))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ analysis

def analyse(con, *, city: str, options: dict | None = None, net: ServiceNetwork | None = None) -> dict:
    """Coverage gaps and walking areas of ``city`` (rows of ``service_coverage`` and ``isochrones``; isochrone
    rows carry their polygon as WKB hex in ``wkb``). Options: ``boundary_kind``, ``thresholds`` (5, 10, 15),
    ``spacing_m`` (50), ``max_access_m`` (400), ``near`` (the point of the 'point' areas; default the graph's
    centroid), ``service_isochrones`` (categories that get one walking area per service; default those with at
    most 150 located services)."""
    from civicmash.warehouse.services import canonical_category

    options = dict(options or {})
    net = net or network(con, city=city, max_access_m=float(options.get("max_access_m", DEFAULT_MAX_ACCESS_M)))
    thresholds = tuple(int(t) for t in options.get("thresholds", DEFAULT_THRESHOLDS))
    cats = [c for c in net.services.categories if net.on_network[net.services.members(c)].any()]
    lattice = build_lattice(con, city=city, graph=net.graph, kind=options.get("boundary_kind"),
                            spacing_m=float(options.get("spacing_m", DEFAULT_SPACING_M)))
    attach(net, lattice)
    cov = coverage_rows(con, city=city, net=net, lattice=lattice, categories=net.services.categories,
                        thresholds=thresholds) if lattice.kind else []
    iso = catchment_rows(con, city=city, net=net, lattice=lattice, categories=cats, thresholds=thresholds)
    wanted = options.get("service_isochrones")
    if wanted is None:
        wanted = [c for c in cats if len(net.services.members(c)) <= SERVICE_ISOCHRONE_MAX]
    else:  # a misspelt category is an error naming the close matches, not an empty result
        wanted = _check_categories(net, wanted)
    wanted = {canonical_category(c) for c in wanted}
    svc = [i for i in range(len(net.services)) if net.services.category[i] in wanted and net.on_network[i]]
    iso += service_rows(con, city=city, net=net, lattice=lattice, services=svc, thresholds=thresholds)
    lat, lon = options.get("near") or net.graph.centroid()
    iso += point_rows(con, city=city, net=net, lat=float(lat), lon=float(lon),
                      label="the map's starting point" if options.get("near") else "the middle of the street graph",
                      thresholds=thresholds, kind=lattice.kind)
    return {"coverage": cov, "isochrones": iso, "boundary_kind": lattice.kind, "lattice_points": len(lattice),
            "spacing_m": lattice.spacing_m}


def stored_access(con, *, city: str) -> dict | None:
    """Coverage and walking areas as the pipeline stored them (None when the warehouse has none for the city)."""
    if not (reads.has_table(con, "service_coverage") and reads.has_table(con, "isochrones")):
        return None
    n = con.execute("SELECT count(*) FROM isochrones WHERE city = ?", [city]).fetchone()[0]
    if not n:
        return None
    cols = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                      "table_name = 'service_coverage' ORDER BY ordinal_position").fetchall()]
    cov = [dict(zip(cols, r)) for r in con.execute("SELECT * FROM service_coverage WHERE city = ? "
                                                   "ORDER BY area_code, category, threshold_min", [city]).fetchall()]
    reads.ensure_spatial(con)
    iso = [{"kind": k, "category": c, "dataset": d, "source_id": s, "label": lab, "origin_lat": la, "origin_lon": lo,
            "minutes": m, "area_m2": a, "wkb": w}
           for k, c, d, s, lab, la, lo, m, a, w in con.execute(
               "SELECT kind, category, dataset, source_id, label, origin_lat, origin_lon, minutes, area_m2, "
               "ST_AsHEXWKB(geom) FROM isochrones WHERE city = ? AND kind IN ('point', 'category') "
               "ORDER BY kind, category, minutes", [city]).fetchall()]
    kind = cov[0]["area_kind"] if cov else None
    return {"coverage": cov, "isochrones": iso, "boundary_kind": kind}
