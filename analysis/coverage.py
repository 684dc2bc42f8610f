"""Coverage gaps and walking-area polygons, measured on a lattice of sample points.

The lattice: points every ``spacing_m`` metres (a square lattice aligned on whole multiples of the spacing in
degrees, so every area of a city shares it) inside the polygons of one boundary kind (default the city's primary
area kind, the profile's ``[areas] primary``; without one community areas first);
each point belongs to the area it falls in. Each point is attached to its nearest street segment of the walk
graph (:class:`analysis.nearest.Snapper`); a point farther than ``max_access_m`` from every segment is **off the
network**: it gets no walking time and is left out of the shares (and counted in ``share_on_network``).

- **Coverage** (:func:`coverage_rows`): for each area, category and threshold, the share of the area's
  on-network points whose nearest service of the category is more than ``threshold`` minutes' walk away.
  Residents beyond = the area's population x that share (residents assumed spread evenly: there is no finer
  population data), only where the graph covers the area (status ``full``/``mixed``/``major_streets``/``covered``).
- **Walking areas** (:func:`catchment_rows`, :func:`point_rows`, :func:`service_rows`): a lattice cell belongs to
  the t-minute area when its point is within t minutes' walk (including the straight walk to the street); the
  cells are merged into polygons (row runs -> rectangles -> ``ST_Union_Agg``), so the polygon is the land, not
  just the streets, within reach. Cells off the network never belong to an area.

``network_status`` of an area: ``none`` when under 5% of its points reach the graph; ``partial`` under 90%;
otherwise, from ``street_coverage`` (when loaded for the area): ``full`` when street datasets mapping every
street cover at least 90% of it, ``mixed`` when they cover at least 10%, ``major_streets`` when only
arterial/collector data covers it; ``covered`` when the graph reaches the area but its detail is not recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from civicmash.warehouse import reads

from .nearest import WALK_SPEED_M_S, ServiceNetwork, Snap

DEFAULT_THRESHOLDS = (5, 10, 15)
DEFAULT_SPACING_M = 50.0
_M_PER_DEG_LAT = 110_540.0
_M_PER_DEG_LON_EQ = 111_320.0
FULL_DETAIL = ("full",)
# share of an area's surface that street datasets mapping every street ('full' detail) cover: from FULL_SHARE
# the area is 'full', from PART_SHARE 'mixed' (the locator's choropleth and the safe route's coverage note)
FULL_SHARE, PART_SHARE = 0.9, 0.1


@dataclass
class Lattice:
    """Sample points: integer lattice coordinates (i, j) = (lon / dlon, lat / dlat), area index per point."""

    i: np.ndarray
    j: np.ndarray
    area: np.ndarray             # index into ``areas``; -1 = no area (no boundaries)
    areas: list[tuple[str, str]]  # (code, name)
    kind: str | None
    spacing_m: float
    dlat: float
    dlon: float
    snap: Snap | None = None

    @property
    def lat(self) -> np.ndarray:
        return self.j * self.dlat

    @property
    def lon(self) -> np.ndarray:
        return self.i * self.dlon

    def __len__(self) -> int:
        return len(self.i)

    def take(self, mask) -> "Lattice":
        return Lattice(self.i[mask], self.j[mask], self.area[mask], self.areas, self.kind, self.spacing_m,
                       self.dlat, self.dlon, self.snap.take(mask) if self.snap is not None else None)


def _steps(lat0: float, spacing_m: float) -> tuple[float, float]:
    return spacing_m / _M_PER_DEG_LAT, spacing_m / (_M_PER_DEG_LON_EQ * math.cos(math.radians(lat0)))


def boundary_kind(con, *, city: str, kind: str | None, primary: str | None = None) -> str | None:
    """``kind`` if the city has boundaries of it, else the city's ``primary`` area kind (the profile's ``[areas]
    primary``) when it has it, else the preferred kind it has (:func:`warehouse.reads.preferred_kind`)."""
    kinds = reads.boundary_kinds(con, city=city)
    if kind is not None and kind not in kinds:
        raise ValueError(f"no boundaries of kind {kind!r} for {city!r} (has: {', '.join(kinds) or 'none'})")
    return kind or reads.preferred_kind(kinds, primary=primary)


def build_lattice(con, *, city: str, graph, kind: str | None = None, spacing_m: float = DEFAULT_SPACING_M,
                  bbox: tuple[float, float, float, float] | None = None, primary: str | None = None) -> Lattice:
    """Lattice points inside the areas of ``kind`` (default: the city's ``primary`` kind, :func:`boundary_kind`;
    within ``bbox`` = (min_lat, min_lon, max_lat, max_lon) when given); without boundaries, over the graph's (or
    the bbox's) extent with no areas."""
    lat0 = float(np.mean(graph.lat)) if graph is not None and graph.n_nodes else (bbox[0] if bbox else 0.0)
    dlat, dlon = _steps(lat0, spacing_m)
    kind = boundary_kind(con, city=city, kind=kind, primary=primary)
    if kind is None:
        if bbox is None:
            bbox = (float(graph.lat.min()), float(graph.lon.min()), float(graph.lat.max()), float(graph.lon.max()))
        i = np.arange(math.floor(bbox[1] / dlon), math.ceil(bbox[3] / dlon) + 1)
        j = np.arange(math.floor(bbox[0] / dlat), math.ceil(bbox[2] / dlat) + 1)
        I, J = np.meshgrid(i, j)
        return Lattice(I.ravel(), J.ravel(), np.full(I.size, -1), [], None, spacing_m, dlat, dlon)
    reads.ensure_spatial(con)
    fixtures = reads.fixture_filter(con, "boundaries") + reads.vintage_filter(con, "boundaries")  # latest map
    clamp = ""
    params = {"city": city, "kind": kind, "dlat": dlat, "dlon": dlon}
    if bbox is not None:
        clamp = ("WHERE i1 >= $bi0 AND i0 <= $bi1 AND j1 >= $bj0 AND j0 <= $bj1")
        params.update(bi0=math.floor(bbox[1] / dlon), bi1=math.ceil(bbox[3] / dlon),
                      bj0=math.floor(bbox[0] / dlat), bj1=math.ceil(bbox[2] / dlat))
    lo_i = "greatest(i0, $bi0)" if bbox is not None else "i0"
    hi_i = "least(i1, $bi1)" if bbox is not None else "i1"
    lo_j = "greatest(j0, $bj0)" if bbox is not None else "j0"
    hi_j = "least(j1, $bj1)" if bbox is not None else "j1"
    rows = con.execute(f"""
        WITH b AS (SELECT code, min(name) AS name, ST_Union_Agg(geom) AS geom FROM boundaries
                   WHERE city = $city AND kind = $kind AND geom IS NOT NULL {fixtures}GROUP BY code),
        bb AS (SELECT code, name, geom,
                      CAST(floor(ST_XMin(geom) / $dlon) AS BIGINT) AS i0, CAST(ceil(ST_XMax(geom) / $dlon) AS BIGINT) AS i1,
                      CAST(floor(ST_YMin(geom) / $dlat) AS BIGINT) AS j0, CAST(ceil(ST_YMax(geom) / $dlat) AS BIGINT) AS j1
               FROM b),
        c AS (SELECT * FROM bb {clamp}),
        cols AS (SELECT code, geom, {lo_j} AS ja, {hi_j} AS jb, unnest(range({lo_i}, {hi_i} + 1)) AS i FROM c),
        pts AS (SELECT code, geom, i, unnest(range(ja, jb + 1)) AS j FROM cols)
        SELECT code, i, j FROM pts WHERE ST_Contains(geom, ST_Point(i * $dlon, j * $dlat))
        ORDER BY j, i, code""", params).fetchall()
    areas = con.execute("SELECT code, min(name) FROM boundaries WHERE city = ? AND kind = ? AND geom IS NOT NULL "
                        f"{fixtures}GROUP BY code ORDER BY code", [city, kind]).fetchall()
    index = {code: k for k, (code, _) in enumerate(areas)}
    if rows:
        code, i, j = zip(*rows)
        i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
        area = np.asarray([index[c] for c in code], np.int64)
        # a point on a shared border falls in two areas: keep the first (smallest code)
        key = i * 4_000_000_000 + j
        _, first = np.unique(key, return_index=True)
        i, j, area = i[first], j[first], area[first]
    else:
        i = j = area = np.zeros(0, np.int64)
    return Lattice(i, j, area, [(str(c), n) for c, n in areas], kind, spacing_m, dlat, dlon)


def random_points(con, *, city: str, n: int, seed: int, kind: str | None = None,
                  bbox: tuple[float, float, float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniformly random (``seed``) inside the city's boundaries of ``kind`` (default: its preferred
    kind, :func:`boundary_kind`; and inside ``bbox`` = (min_lat, min_lon, max_lat, max_lon) when given): (lat, lon)."""
    import shapely
    from shapely import wkb

    kind = boundary_kind(con, city=city, kind=kind)
    reads.ensure_spatial(con)
    polys = [wkb.loads(bytes(r[0])) for r in con.execute(
        "SELECT ST_AsWKB(geom) FROM boundaries WHERE city = ? AND kind = ? AND geom IS NOT NULL "
        + reads.fixture_filter(con, "boundaries") + reads.vintage_filter(con, "boundaries"), [city, kind]).fetchall()]
    if not polys:
        raise ValueError(f"no boundaries of kind {kind!r} for {city!r} to draw random points in")
    shape = shapely.union_all(polys)
    shapely.prepare(shape)
    x0, y0, x1, y1 = shape.bounds
    if bbox is not None:
        y0, x0, y1, x1 = max(y0, bbox[0]), max(x0, bbox[1]), min(y1, bbox[2]), min(x1, bbox[3])
        if y0 >= y1 or x0 >= x1:
            raise ValueError(f"bbox {bbox} does not overlap the {kind} boundaries of {city!r}")
    rng = np.random.default_rng(seed)
    lat, lon, got = [], [], 0
    while got < n:
        la, lo = rng.uniform(y0, y1, 4 * n), rng.uniform(x0, x1, 4 * n)
        keep = shapely.contains_xy(shape, lo, la)
        lat.append(la[keep])
        lon.append(lo[keep])
        got += int(keep.sum())
    return np.concatenate(lat)[:n], np.concatenate(lon)[:n]


def attach(net: ServiceNetwork, lattice: Lattice) -> Lattice:
    """Snap every lattice point to the graph (once; stored in ``lattice.snap``)."""
    if lattice.snap is None:
        lattice.snap = net.snapper.snap(lattice.lat, lattice.lon, max_dist=net.max_access_m) if len(lattice) else \
            Snap(*(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)))
    return lattice


def walk_metres(net: ServiceNetwork, lattice: Lattice, category: str) -> np.ndarray:
    """Metres from each lattice point to the nearest service of ``category`` (inf: off the network or unreachable)."""
    attach(net, lattice)
    if not len(lattice):
        return np.zeros(0)
    dist, _, _ = net.nearest_batch(None, None, category, snap=lattice.snap)
    return dist


# --------------------------------------------------------------------------------------------- coverage

def _street_detail(con, *, city: str, kind: str | None) -> dict[str, list[tuple[str, str, float]]]:
    """area code -> [(dataset, detail, covered_share)] from street_coverage (empty when absent)."""
    if kind is None or not reads.has_table(con, "street_coverage"):
        return {}
    out: dict[str, list] = {}
    for code, dataset, detail, share in con.execute(
            "SELECT area_code, dataset, detail, covered_share FROM street_coverage WHERE city = ? AND area_kind = ? "
            "ORDER BY area_code, dataset", [city, kind]).fetchall():
        out.setdefault(str(code), []).append((dataset, detail, float(share or 0.0)))
    return out


def network_status(on_share: float, detail: list[tuple[str, str, float]] | None) -> str:
    """See the module doc."""
    if on_share < 0.05:
        return "none"
    if on_share < 0.9:
        return "partial"
    if not detail:
        return "covered"
    full = max([s for _, d, s in detail if d in FULL_DETAIL] or [0.0])
    if full >= FULL_SHARE:
        return "full"
    if full >= PART_SHARE:
        return "mixed"
    return "major_streets"


def _population(con, *, city: str, kind: str | None) -> dict[str, tuple[int, int]]:
    if kind is None or not reads.has_table(con, "population"):
        return {}
    rows = con.execute("SELECT area_code, arg_max(population, year), max(year) FROM population "
                       "WHERE city = ? AND area_kind = ? AND population IS NOT NULL GROUP BY 1", [city, kind]).fetchall()
    return {str(c): (int(p), int(y)) for c, p, y in rows}


def coverage_rows(con, *, city: str, net: ServiceNetwork, lattice: Lattice, categories,
                  thresholds=DEFAULT_THRESHOLDS) -> list[dict]:
    """One dict per (area, category, threshold): the columns of the ``service_coverage`` table."""
    attach(net, lattice)
    detail = _street_detail(con, city=city, kind=lattice.kind)
    pop = _population(con, city=city, kind=lattice.kind)
    on = lattice.snap.offset <= net.max_access_m if len(lattice) else np.zeros(0, bool)
    counts = np.bincount(lattice.area[lattice.area >= 0], minlength=len(lattice.areas))
    on_counts = np.bincount(lattice.area[(lattice.area >= 0) & on], minlength=len(lattice.areas))
    rows = []
    for cat in categories:
        walk = walk_metres(net, lattice, cat)
        for a, (code, name) in enumerate(lattice.areas):
            mask = (lattice.area == a) & on
            n_all, n_on = int(counts[a]), int(on_counts[a])
            share_on = n_on / n_all if n_all else 0.0
            status = network_status(share_on, detail.get(code))
            w = walk[mask]
            fin = w[np.isfinite(w)]
            median = round(float(np.median(fin)) / WALK_SPEED_M_S / 60, 1) if len(fin) else None
            people, year = pop.get(code, (None, None))
            for t in thresholds:
                beyond = None if status == "none" or not n_on else float(np.mean(w > t * 60 * WALK_SPEED_M_S))
                residents = (round(people * beyond) if people is not None and beyond is not None
                             and status not in ("none", "partial") else None)
                rows.append({
                    "city": city, "area_kind": lattice.kind, "area_code": code, "area_name": name, "category": cat,
                    "threshold_min": int(t), "network_status": status, "sample_points": n_all,
                    "spacing_m": lattice.spacing_m, "share_on_network": round(share_on, 4),
                    "share_area_beyond": None if beyond is None else round(beyond, 4),
                    "population": people, "population_year": year, "residents_beyond": residents,
                    "median_min": median if status != "none" else None, "max_access_m": net.max_access_m,
                    "street_detail": "; ".join(f"{d}: {det} {s:.0%}" for d, det, s in detail.get(code, [])) or None,
                })
    return rows


# ------------------------------------------------------------------------------------------ polygons

def cells_to_polygons(con, *, i: np.ndarray, j: np.ndarray, group: np.ndarray, dlat: float, dlon: float,
                      simplify: bool = True) -> dict[int, tuple[str, float]]:
    """Lattice cells (centre i, j) grouped by ``group`` -> {group: (WKB hex of a WGS84 (multi)polygon, cells)}.

    Each row of consecutive cells becomes one rectangle; the rectangles of a group are merged with
    ``ST_Union_Agg`` and the stair steps smoothed by ``ST_SimplifyPreserveTopology`` (a quarter of a cell)."""
    import pyarrow as pa

    if not len(i):
        return {}
    order = np.lexsort((i, j, group))
    g, jj, ii = group[order], j[order], i[order]
    brk = np.ones(len(ii), dtype=bool)
    brk[1:] = (g[1:] != g[:-1]) | (jj[1:] != jj[:-1]) | (ii[1:] != ii[:-1] + 1)
    starts = np.flatnonzero(brk)
    ends = np.r_[starts[1:], len(ii)] - 1
    tbl = pa.table({"g": g[starts].astype(np.int64), "x0": (ii[starts] - 0.5) * dlon, "x1": (ii[ends] + 0.5) * dlon,
                    "y0": (jj[starts] - 0.5) * dlat, "y1": (jj[starts] + 0.5) * dlat,
                    "n": (ends - starts + 1).astype(np.int64)})
    reads.ensure_spatial(con)
    name = f"_cm_cells_{id(tbl)}"
    con.register(name, tbl)
    try:
        tol = min(dlat, dlon) / 4 if simplify else 0.0
        rows = con.execute(f"""SELECT g, ST_AsHEXWKB(ST_SimplifyPreserveTopology(ST_Union_Agg(ST_MakeEnvelope(x0, y0, x1, y1)),
                                                                           {tol!r})), sum(n)
                               FROM {name} GROUP BY g ORDER BY g""").fetchall()
    finally:
        con.unregister(name)
    return {int(k): (wkb, float(n)) for k, wkb, n in rows}


def _iso_row(*, city, kind, category, dataset, source_id, label, lat, lon, minutes, street_m, cells, wkb,
             spacing_m) -> dict:
    return {"city": city, "kind": kind, "category": category, "dataset": dataset, "source_id": source_id,
            "label": label, "origin_lat": lat, "origin_lon": lon, "minutes": int(minutes),
            "walk_m": round(minutes * 60 * WALK_SPEED_M_S, 1), "buffer_m": spacing_m / 2,
            "street_m": None if street_m is None else round(street_m, 1), "area_m2": round(cells * spacing_m ** 2, 1),
            "wkb": wkb}


def catchment_rows(con, *, city: str, net: ServiceNetwork, lattice: Lattice, categories,
                   thresholds=DEFAULT_THRESHOLDS) -> list[dict]:
    """'category' walking areas: the lattice cells within t minutes of any service of each category."""
    from civicmash.warehouse.services import category_label

    attach(net, lattice)
    out = []
    for cat in categories:
        walk = walk_metres(net, lattice, cat)
        groups, idx = [], []
        for k, t in enumerate(sorted(thresholds)):
            sel = np.flatnonzero(walk <= t * 60 * WALK_SPEED_M_S)
            idx.append(sel)
            groups.append(np.full(len(sel), k))
        if not sum(len(s) for s in idx):
            continue
        sel = np.concatenate(idx)
        polys = cells_to_polygons(con, i=lattice.i[sel], j=lattice.j[sel], group=np.concatenate(groups),
                                  dlat=lattice.dlat, dlon=lattice.dlon)
        dist_nodes, _ = net.node_table(cat)
        for k, t in enumerate(sorted(thresholds)):
            if k not in polys:
                continue
            wkb, cells = polys[k]
            out.append(_iso_row(city=city, kind="category", category=cat, dataset=None, source_id=None,
                                label=category_label(cat), lat=None, lon=None, minutes=t,
                                street_m=_street_m(net, dist_nodes, t * 60 * WALK_SPEED_M_S), cells=cells, wkb=wkb,
                                spacing_m=lattice.spacing_m))
    return out


def _street_m(net: ServiceNetwork, node_dist: np.ndarray, budget: float) -> float:
    """Metres of street reached within ``budget`` from the node distances (parts of segments included)."""
    g = net.graph
    du, dv = node_dist[g.eu], node_dist[g.ev]
    fu = np.clip(np.where(np.isfinite(du), (budget - du), 0) / np.maximum(g.length, 1e-9), 0, 1)
    fv = np.clip(np.where(np.isfinite(dv), (budget - dv), 0) / np.maximum(g.length, 1e-9), 0, 1)
    return float(np.sum(np.minimum(fu + fv, 1.0) * g.length))


def point_rows(con, *, city: str, net: ServiceNetwork, lat: float, lon: float, label: str,
               thresholds=DEFAULT_THRESHOLDS, spacing_m: float = 20.0, kind: str | None = None) -> list[dict]:
    """'point' walking areas around (lat, lon), on a local lattice of ``spacing_m`` inside the areas of ``kind``
    (the coverage gaps' kind; default the city's preferred kind)."""
    budget = max(thresholds) * 60 * WALK_SPEED_M_S
    pad_lat, pad_lon = _steps(lat, budget + net.max_access_m)
    lattice = build_lattice(con, city=city, graph=net.graph, spacing_m=spacing_m, kind=kind,
                            bbox=(lat - pad_lat, lon - pad_lon, lat + pad_lat, lon + pad_lon))
    attach(net, lattice)
    origin = net.search(lat, lon)
    walk = _point_walk(net, origin, lattice)
    out = []
    sel_all, groups = [], []
    for k, t in enumerate(sorted(thresholds)):
        sel = np.flatnonzero(walk <= t * 60 * WALK_SPEED_M_S)
        sel_all.append(sel)
        groups.append(np.full(len(sel), k))
    polys = cells_to_polygons(con, i=lattice.i[np.concatenate(sel_all)], j=lattice.j[np.concatenate(sel_all)],
                              group=np.concatenate(groups), dlat=lattice.dlat, dlon=lattice.dlon)
    for k, t in enumerate(sorted(thresholds)):
        if k in polys:
            wkb, cells = polys[k]
            out.append(_iso_row(city=city, kind="point", category=None, dataset=None, source_id=None, label=label,
                                lat=lat, lon=lon, minutes=t, street_m=_street_m(net, origin.node_dist,
                                                                                  t * 60 * WALK_SPEED_M_S),
                                cells=cells, wkb=wkb, spacing_m=spacing_m))
    return out


def _point_walk(net: ServiceNetwork, origin, lattice: Lattice) -> np.ndarray:
    """Metres from ``origin`` (an OriginSearch) to each lattice point (walking the other way round)."""
    s, g = lattice.snap, net.graph
    L = g.length[s.edge]
    d = s.offset + np.minimum(s.t * L + origin.node_dist[g.eu[s.edge]], (1 - s.t) * L + origin.node_dist[g.ev[s.edge]])
    same = s.edge == origin.snap.edge
    if same.any():
        direct = s.offset[same] + origin.offset + np.abs(s.t[same] - origin.snap.t) * L[same]
        d[same] = np.minimum(d[same], direct)
    d[s.offset > net.max_access_m] = np.inf
    if origin.offset > net.max_access_m:
        d[:] = np.inf
    return d


def service_rows(con, *, city: str, net: ServiceNetwork, lattice: Lattice, services,
                 thresholds=DEFAULT_THRESHOLDS) -> list[dict]:
    """'service' walking areas: around each service index in ``services`` (its access points), on ``lattice``."""
    from scipy.sparse.csgraph import dijkstra

    attach(net, lattice)
    g, s = net.graph, lattice.snap
    n = g.n_nodes
    budget = max(thresholds) * 60 * WALK_SPEED_M_S
    L = g.length[s.edge] if len(lattice) else np.zeros(0)
    rows_i, rows_j, rows_g, meta = [], [], [], []
    for svc in services:
        aps = np.flatnonzero((net.services.ap_service == svc) & net.ap_ok)
        if not len(aps):
            continue
        dist = dijkstra(net._aug, directed=True, indices=n + aps, min_only=True, limit=budget)[:n]
        # lattice points near the service only
        la, lo = net.services.lat[svc], net.services.lon[svc]
        pad_lat, pad_lon = _steps(la, budget + net.max_access_m + 200)
        near = np.flatnonzero((np.abs(lattice.lat - la) <= pad_lat) & (np.abs(lattice.lon - lo) <= pad_lon))
        e = s.edge[near]
        d = s.offset[near] + np.minimum(s.t[near] * L[near] + dist[g.eu[e]],
                                        (1 - s.t[near]) * L[near] + dist[g.ev[e]])
        for k in aps:   # lattice points on an access point's own segment
            same = e == net.ap.edge[k]
            if same.any():
                direct = s.offset[near][same] + net.ap.offset[k] + np.abs(s.t[near][same] - net.ap.t[k]) * L[near][same]
                d[same] = np.minimum(d[same], direct)
        d[s.offset[near] > net.max_access_m] = np.inf
        for t in sorted(thresholds):
            sel = near[d <= t * 60 * WALK_SPEED_M_S]
            gid = len(meta)
            meta.append((svc, t, _street_m(net, dist, t * 60 * WALK_SPEED_M_S)))
            rows_i.append(lattice.i[sel])
            rows_j.append(lattice.j[sel])
            rows_g.append(np.full(len(sel), gid))
    if not meta:
        return []
    polys = cells_to_polygons(con, i=np.concatenate(rows_i), j=np.concatenate(rows_j), group=np.concatenate(rows_g),
                              dlat=lattice.dlat, dlon=lattice.dlon)
    sv = net.services
    out = []
    for gid, (svc, t, street) in enumerate(meta):
        if gid in polys:
            wkb, cells = polys[gid]
            out.append(_iso_row(city=city, kind="service", category=sv.category[svc], dataset=sv.dataset[svc],
                                source_id=sv.source_id[svc], label=sv.name[svc], lat=float(sv.lat[svc]),
                                lon=float(sv.lon[svc]), minutes=t, street_m=street, cells=cells, wkb=wkb,
                                spacing_m=lattice.spacing_m))
    return out
