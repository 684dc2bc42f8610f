"""Nearest public services by walking time along the street graph.

Points are attached to the graph by their **nearest street segment** (not the nearest node): a point at
straight-line distance ``offset`` from segment ``(u, v)`` of length ``L``, at fraction ``t`` along it, is
``offset + t L`` from ``u`` and ``offset + (1 - t) L`` from ``v``. The walking distance between two attached
points is ``offset_a + min over the segment ends (along_a + network + along_b) + offset_b``, or straight along
the segment when both lie on the same one. Minutes = metres / 1.3 m/s / 60 (``WALK_SPEED_M_S``).

- A service is attached by its **access points**: its own point, or for an area (a park polygon) points along its
  outline every ~``ACCESS_SPACING_M`` metres, so the distance is to the nearest edge of the park, not to a point
  inside it. An access point farther than ``max_access_m`` from the graph is not used; a service with no usable
  access point is reported as off the network, never given a made-up distance.
- Only the street networks the graph keeps for walking are used (every component with at least
  ``routing.MIN_COMPONENT_M`` of street, like :meth:`analysis.routing.WalkGraph.nearest_nodes`): a point is attached
  to the nearest segment of any of them, and a service in another network than the origin is not reachable from it.
- :meth:`ServiceNetwork.nearest` (one origin, N nearest of each category): two Dijkstra runs from the origin's
  segment ends over the whole graph, then every access point's distance by the formula above.
- :meth:`ServiceNetwork.nearest_batch` (many origins, the nearest of one category): one multi-source Dijkstra per
  category (scipy ``min_only``) over the graph plus one virtual node per access point, joined to its segment's
  ends by ``offset + along``; it gives every node its distance to, and the identity of, the nearest access point.
  Each origin then costs two look-ups (and a check of access points on its own segment).

Snapping is exact: segments are sampled every ``spacing`` metres into a k-d tree; the 8 nearest samples give
candidate segments, and the answer is accepted when the 8th sample is farther than the best exact point-to-segment
distance ``d`` plus half the spacing; otherwise every segment with a sample within ``d`` + half the spacing is
checked, so no other segment can be nearer (ties: the lowest segment index).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .routing import WalkGraph, concat_ranges, sample_edges

WALK_SPEED_M_S = 1.3          # metres a second: every walking time of the maps (locator, safe route)
DEFAULT_MAX_ACCESS_M = 400.0  # half of Chicago's half-mile arterial grid spacing
ACCESS_SPACING_M = 40.0       # access points along an area service's outline
_MIN_W = 1e-3                 # csgraph treats 0 as "no edge"


def minutes(metres):
    """Walking minutes for metres (scalar or array) at WALK_SPEED_M_S."""
    return np.asarray(metres, dtype=float) / WALK_SPEED_M_S / 60.0


# ---------------------------------------------------------------------------------------------- snapping

@dataclass
class Snap:
    """Points attached to graph segments: segment index, fraction from ``eu`` to ``ev``, straight-line offset (m),
    and the attachment point (projected x, y)."""

    edge: np.ndarray
    t: np.ndarray
    offset: np.ndarray
    px: np.ndarray
    py: np.ndarray

    def take(self, idx) -> "Snap":
        return Snap(self.edge[idx], self.t[idx], self.offset[idx], self.px[idx], self.py[idx])


class Snapper:
    """Exact nearest-segment snapping over the segments of ``edge_mask`` (default: the kept street networks)."""

    def __init__(self, graph: WalkGraph, *, edge_mask=None, spacing: float = 25.0):
        self.graph = graph
        mask = graph.walk_mask[graph.eu] & graph.walk_mask[graph.ev]
        if edge_mask is not None:
            mask &= np.asarray(edge_mask, dtype=bool)
        self.edges = np.flatnonzero(mask)
        ax, ay = graph.x[graph.eu[self.edges]], graph.y[graph.eu[self.edges]]
        bx, by = graph.x[graph.ev[self.edges]], graph.y[graph.ev[self.edges]]
        owner, self._sx, self._sy, n = sample_edges(ax, ay, bx, by, spacing=spacing)
        self._owner = owner
        self._half = float(np.max(np.hypot(bx - ax, by - ay) / n) / 2) if len(n) else 0.0
        self._ax, self._ay, self._bx, self._by = ax, ay, bx, by
        from scipy.spatial import cKDTree  # here: importing this module (route_planner does) stays light

        self._tree = cKDTree(np.column_stack([self._sx, self._sy])) if len(owner) else None

    def _project(self, x, y, local):
        ax, ay, bx, by = self._ax[local], self._ay[local], self._bx[local], self._by[local]
        dx, dy = bx - ax, by - ay
        den = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(den > 0, ((x - ax) * dx + (y - ay) * dy) / np.where(den > 0, den, 1), 0.0)
        t = np.clip(t, 0.0, 1.0)
        px, py = ax + t * dx, ay + t * dy
        return t, np.hypot(x - px, y - py), px, py

    def snap_xy(self, x, y, *, max_dist: float = np.inf) -> Snap:
        """Exact nearest segment of each point. Points farther than ``max_dist`` from every segment are not
        refined: their offset is then only known to exceed ``max_dist`` (inf when no sample lies within
        ``max_dist`` + half the sample spacing), which is all a caller that drops points beyond ``max_dist`` needs
        (and keeps far-away points cheap)."""
        x, y = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))
        if self._tree is None:
            raise ValueError(f"street graph of {self.graph.city!r} has no segments to attach points to")
        m = len(x)
        total = len(self._owner)
        kk = min(8, total)
        # 1. the kk nearest samples (only those within max_dist + half: a segment within max_dist has one): the
        #    exact nearest segment among their segments
        bound = max_dist + self._half if np.isfinite(max_dist) else np.inf
        dist, pos = self._tree.query(np.column_stack([x, y]), k=kk, distance_upper_bound=bound)
        dist, pos = dist.reshape(m, kk), pos.reshape(m, kk)
        cand = self._owner[np.minimum(pos, total - 1)]              # (m, kk) local segment indices
        _, d, _, _ = self._project(x[:, None], y[:, None], cand)
        d[~np.isfinite(dist)] = np.inf
        first = np.lexsort((cand, d), axis=1)[:, 0]                # ties -> lowest segment index
        rows = np.arange(m)
        best_d, best_local = d[rows, first], cand[rows, first]
        # no segment within max_dist: not refined (offset only known to exceed max_dist)
        far = best_d > max_dist
        best_d[far] = np.maximum(best_d[far], np.nextafter(max_dist, np.inf))
        # 2. a segment nearer than best_d has a sample within best_d + half: when the kk-th sample is farther, done;
        #    else every sample within that radius is checked
        rest = np.flatnonzero(~far & (dist[:, -1] - self._half < best_d) & (kk < total))
        if len(rest):
            balls = self._tree.query_ball_point(np.column_stack([x[rest], y[rest]]), r=best_d[rest] + self._half + 1e-6,
                                                return_sorted=False)
            lens = np.fromiter((len(b) for b in balls), dtype=np.int64, count=len(rest))
            flat = np.fromiter(itertools.chain.from_iterable(balls), dtype=np.int64, count=int(lens.sum()))
            key = np.unique(np.repeat(np.arange(len(rest), dtype=np.int64), lens) * len(self.edges) + self._owner[flat])
            q, c = key // len(self.edges), key % len(self.edges)
            _, dq, _, _ = self._project(x[rest][q], y[rest][q], c)
            order = np.lexsort((c, dq, q))
            head = np.ones(len(order), dtype=bool)
            head[1:] = q[order][1:] != q[order][:-1]
            sel = order[head]
            best_d[rest[q[sel]]] = dq[sel]
            best_local[rest[q[sel]]] = c[sel]
        t, d, px, py = self._project(x, y, best_local)
        d[far] = best_d[far]
        return Snap(self.edges[best_local], t, d, px, py)

    def snap(self, lat, lon, *, max_dist: float = np.inf) -> Snap:
        x, y = self.graph.project(np.atleast_1d(lat), np.atleast_1d(lon))
        return self.snap_xy(x, y, max_dist=max_dist)


# ---------------------------------------------------------------------------------------------- services

@dataclass
class ServiceSet:
    """Services of one city with their access points (one row per service; ``ap_*`` per access point)."""

    dataset: list[str]
    source_id: list[str]
    name: list[str]
    category: list[str]
    address: list[str]
    lat: np.ndarray
    lon: np.ndarray
    schedules: list = field(default_factory=list)      # warehouse.hours.Schedule per service
    extra: dict = field(default_factory=dict)           # optional per-service lists (subtype, phone, ...)
    ap_service: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ap_lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ap_lon: np.ndarray = field(default_factory=lambda: np.zeros(0))
    area: np.ndarray | None = None                      # True where the service is an area (access on its outline)

    def __len__(self) -> int:
        return len(self.name)

    @property
    def categories(self) -> list[str]:
        return sorted(set(self.category))

    def members(self, category: str) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.category, dtype=object) == category)

    def open_flags(self, at) -> list:
        """True / False / None (unknown) per service at ``at`` ((ISO day, minute) or datetime)."""
        if at is None or not self.schedules:
            return [None] * len(self)
        from civicmash.warehouse.hours import as_day_minute

        day, minute = as_day_minute(at)
        return [s.is_open(day, minute) if s is not None else None for s in self.schedules]

    @classmethod
    def from_warehouse(cls, con, *, city: str, categories=None, graph: WalkGraph | None = None,
                       spacing_m: float = ACCESS_SPACING_M) -> "ServiceSet":
        """Located services of ``city`` (category mapped to the taxonomy, hours parsed); areas (polygons) get access
        points along their outline."""
        from civicmash.warehouse import reads
        from civicmash.warehouse.services import canonical_category, service_schedules

        if not reads.has_table(con, "services"):
            return cls([], [], [], [], [], np.zeros(0), np.zeros(0))
        cols = reads.columns(con, "services")
        opt = [c for c in ("subtype", "phone", "organization", "hours") if c in cols]
        polys = "geom IS NOT NULL AND ST_GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')" if "geom" in cols \
            else "FALSE"
        if "geom" in cols:
            reads.ensure_spatial(con)
        rows = con.execute(
            f"SELECT dataset, source_id, name, category, address, lat, lon, {polys} AS is_area"
            f"{''.join(', ' + c for c in opt)} FROM services WHERE city = ? AND lat IS NOT NULL AND lon IS NOT NULL "
            "ORDER BY category, name, dataset, source_id", [city]).fetchall()
        wanted = set(categories) if categories else None
        keep = []
        for r in rows:
            cat = canonical_category(r[3]) or "other"
            if wanted is None or cat in wanted or r[3] in wanted:
                keep.append((r, cat))
        scheds = service_schedules(con, city=city)
        svc = cls(
            dataset=[str(r[0]) for r, _ in keep], source_id=[str(r[1]) for r, _ in keep],
            name=[r[2] or "(unnamed)" for r, _ in keep], category=[c for _, c in keep],
            address=[r[4] or "" for r, _ in keep],
            lat=np.array([r[5] for r, _ in keep], float), lon=np.array([r[6] for r, _ in keep], float),
            schedules=[scheds.get((str(r[0]), str(r[1]))) for r, _ in keep],
            extra={c: [r[8 + i] for r, _ in keep] for i, c in enumerate(opt)},
            area=np.array([bool(r[7]) for r, _ in keep], dtype=bool),
        )
        svc._access_points(con, city=city, spacing_m=spacing_m, graph=graph)
        return svc

    def _access_points(self, con, *, city: str, spacing_m: float, graph: WalkGraph | None) -> None:
        """Own point for point services; points every ``spacing_m`` along the outline for areas."""
        svc_idx = list(range(len(self)))
        ap_s, ap_lat, ap_lon = list(svc_idx), list(self.lat), list(self.lon)
        areas = [i for i in svc_idx if self.area is not None and self.area[i]]
        if areas:
            key = {(self.dataset[i], self.source_id[i]): i for i in areas}
            rows = con.execute(
                "SELECT dataset, source_id, [[ST_Y(p.geom), ST_X(p.geom)] FOR p IN ST_Dump(ST_Points(ST_Boundary("
                "ST_SimplifyPreserveTopology(geom, 0.00002))))] FROM services WHERE city = ? AND geom IS NOT NULL "
                "AND ST_GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')", [city]).fetchall()
            kx = 111_320.0 * math.cos(math.radians(float(np.mean(self.lat)) if len(self.lat) else 0.0))
            for dataset, source_id, pts in rows:
                i = key.get((str(dataset), str(source_id)))
                if i is None or not pts:
                    continue
                for la, lo in _thin(np.asarray(pts, float), spacing_m=spacing_m, kx=kx):
                    ap_s.append(i)
                    ap_lat.append(la)
                    ap_lon.append(lo)
        self.ap_service = np.asarray(ap_s, dtype=np.int64)
        self.ap_lat = np.asarray(ap_lat, dtype=float)
        self.ap_lon = np.asarray(ap_lon, dtype=float)


def _thin(pts: np.ndarray, *, spacing_m: float, kx: float) -> list[tuple[float, float]]:
    """Outline vertices -> points at least ``spacing_m`` apart, with points added along long straight sides."""
    x, y = pts[:, 1] * kx, pts[:, 0] * 110_540.0
    out, last = [], None
    for k in range(len(pts)):
        if k and last is not None:
            seg = math.hypot(x[k] - x[k - 1], y[k] - y[k - 1])
            n = int(seg // spacing_m)
            for j in range(1, n + 1):   # fill long sides
                f = j * spacing_m / seg
                if f < 1:
                    fx, fy = x[k - 1] + f * (x[k] - x[k - 1]), y[k - 1] + f * (y[k] - y[k - 1])
                    if math.hypot(fx - last[0], fy - last[1]) >= spacing_m:
                        out.append((fy / 110_540.0, fx / kx))
                        last = (fx, fy)
        if last is None or math.hypot(x[k] - last[0], y[k] - last[1]) >= spacing_m:
            out.append((float(pts[k, 0]), float(pts[k, 1])))
            last = (x[k], y[k])
    return out


# ------------------------------------------------------------------------------------------------ network

class ServiceNetwork:
    """Services attached to a walk graph; answers nearest-service questions (see the module doc)."""

    def __init__(self, graph: WalkGraph, services: ServiceSet, *, max_access_m: float = DEFAULT_MAX_ACCESS_M,
                 snapper: Snapper | None = None):
        self.graph = graph
        self.services = services
        self.max_access_m = float(max_access_m)
        self.snapper = snapper or Snapper(graph)
        n = graph.n_nodes
        if len(services.ap_service):
            self.ap = self.snapper.snap(services.ap_lat, services.ap_lon, max_dist=self.max_access_m)
        else:
            self.ap = Snap(*(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)))
        self.ap_ok = self.ap.offset <= self.max_access_m
        L = graph.length[self.ap.edge] if len(self.ap.edge) else np.zeros(0)
        self.ap_to_u = self.ap.offset + self.ap.t * L
        self.ap_to_v = self.ap.offset + (1 - self.ap.t) * L
        self.on_network = np.zeros(len(services), dtype=bool)
        if len(self.ap_ok):
            self.on_network[services.ap_service[self.ap_ok]] = True
        # service -> its best (smallest offset) usable access point, for display
        self._cache: dict = {}
        # augmented graph: graph nodes 0..n-1, access point k = node n + k (outgoing edges only)
        A = len(self.ap.edge)
        g = graph.csr.tocoo()
        ok = np.flatnonzero(self.ap_ok)
        rows = np.concatenate([g.row, n + ok, n + ok])
        cols = np.concatenate([g.col, graph.eu[self.ap.edge[ok]], graph.ev[self.ap.edge[ok]]])
        data = np.concatenate([g.data, np.maximum(self.ap_to_u[ok], _MIN_W), np.maximum(self.ap_to_v[ok], _MIN_W)])
        self._aug = csr_matrix((data, (rows, cols)), shape=(n + A, n + A))

    # ---- single origin -------------------------------------------------------------------------
    def search(self, lat: float, lon: float) -> "OriginSearch":
        """Walking distance from (lat, lon) to every graph node (two Dijkstra runs from its segment's ends)."""
        return OriginSearch(self, self.snapper.snap([lat], [lon]).take(0), lat, lon)

    def nearest(self, lat: float, lon: float, *, categories=None, n: int = 3, at=None,
                open_only: bool = False) -> list[dict]:
        """The ``n`` nearest services of each category (all when ``categories`` is None), nearest first.

        Entry per category: ``category``, ``results`` (dicts: index, name, address, dataset, source_id, lat, lon,
        dist_m, minutes, open (True / False / None = hours unknown), path ([[lat, lon], ...])), ``off_network``
        (services of the category that cannot be reached on the graph)."""
        origin = self.search(lat, lon)
        dist = origin.service_distances()
        opened = self.services.open_flags(at)
        cats = categories or self.services.categories
        out = []
        for cat in cats:
            members = self.services.members(cat)
            if open_only:
                members = np.array([i for i in members if opened[i] is True], dtype=np.int64)
            reach = members[np.isfinite(dist[0][members])] if len(members) else members
            reach = reach[np.lexsort((reach, dist[0][reach]))][:n] if len(reach) else reach
            results = []
            for i in reach:
                d = float(dist[0][i])
                results.append({
                    "index": int(i), "name": self.services.name[i], "address": self.services.address[i],
                    "dataset": self.services.dataset[i], "source_id": self.services.source_id[i],
                    "lat": float(self.services.lat[i]), "lon": float(self.services.lon[i]),
                    "dist_m": round(d, 1), "minutes": round(float(minutes(d)), 1), "open": opened[i],
                    "path": origin.path_to_access(int(dist[1][i])),
                })
            off = int(sum(1 for i in self.services.members(cat) if not self.on_network[i]))
            out.append({"category": cat, "results": results, "off_network": off})
        return out

    # ---- many origins --------------------------------------------------------------------------
    def node_table(self, category: str, *, at=None, open_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """For every graph node: (walking metres to the nearest access point of ``category``, its service index
        or -1). One multi-source Dijkstra, cached."""
        key = (category, at if open_only else None)
        if key in self._cache:
            return self._cache[key]
        n = self.graph.n_nodes
        members = set(self.services.members(category).tolist())
        if open_only:
            opened = self.services.open_flags(at)
            members = {i for i in members if opened[i] is True}
        aps = np.flatnonzero(self.ap_ok & np.isin(self.services.ap_service, list(members)))
        if not len(aps):
            res = (np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
        else:
            dist, _, src = dijkstra(self._aug, directed=True, indices=n + aps, min_only=True,
                                    return_predecessors=True)
            svc = np.where(src[:n] >= 0, self.services.ap_service[np.maximum(src[:n] - n, 0)], -1)
            res = (dist[:n], svc.astype(np.int64))
        self._cache[key] = res
        return res

    def nearest_batch(self, lat, lon, category: str, *, at=None, open_only: bool = False,
                      snap: Snap | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest service of ``category`` for many origins: (walking metres, service index or -1, origin offset m).

        Origins farther than ``max_access_m`` from the graph get inf / -1 (their offset tells why)."""
        s = snap if snap is not None else self.snapper.snap(lat, lon, max_dist=self.max_access_m)
        dist, svc = self.node_table(category, at=at, open_only=open_only)
        return self.combine(s, dist, svc, category, at=at, open_only=open_only)

    def combine(self, s: Snap, dist: np.ndarray, svc: np.ndarray, category: str, *, at=None,
                open_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Snapped origins + a node table (walking metres from every node to the nearest access point of
        ``category``, and its service) -> (walking metres, service index or -1, origin offset m) per origin: the
        better of the origin segment's two ends, or the direct walk along the segment to an access point on it."""
        g = self.graph
        eu, ev = g.eu[s.edge], g.ev[s.edge]
        L = g.length[s.edge]
        du = s.offset + s.t * L + dist[eu]
        dv = s.offset + (1 - s.t) * L + dist[ev]
        best = np.minimum(du, dv)
        who = np.where(du <= dv, svc[eu], svc[ev])
        self._same_edge(s, best, who, category, at=at, open_only=open_only)
        far = s.offset > self.max_access_m
        best[far] = np.inf
        who[far] = -1
        who[~np.isfinite(best)] = -1
        return best, who, s.offset

    def _same_edge(self, s: Snap, best, who, category, *, at, open_only) -> None:
        """Origins whose segment carries an access point of the category: the direct walk along the segment."""
        members = self.services.members(category)
        if open_only:
            opened = self.services.open_flags(at)
            members = np.array([i for i in members if opened[i] is True], dtype=np.int64)
        aps = np.flatnonzero(self.ap_ok & np.isin(self.services.ap_service, members))
        aps = aps[np.argsort(self.ap.edge[aps], kind="stable")]
        edges = self.ap.edge[aps]
        near = np.flatnonzero(s.offset <= self.max_access_m)
        lo = np.searchsorted(edges, s.edge[near], side="left")
        hi = np.searchsorted(edges, s.edge[near], side="right")
        has = hi > lo
        q, lo, hi = near[has], lo[has], hi[has]
        if not len(q):
            return
        counts = hi - lo
        qq = np.repeat(q, counts)                                  # (origin, access point) pairs on one segment
        pos = concat_ranges(lo, counts)
        kk = aps[pos]
        d = s.offset[qq] + self.ap.offset[kk] + np.abs(s.t[qq] - self.ap.t[kk]) * self.graph.length[s.edge[qq]]
        order = np.lexsort((kk, d, qq))                            # per origin: smallest distance first
        first = np.ones(len(order), dtype=bool)
        first[1:] = qq[order][1:] != qq[order][:-1]
        q1, d1, k1 = qq[order][first], d[order][first], kk[order][first]
        better = d1 < best[q1]
        best[q1[better]] = d1[better]
        who[q1[better]] = self.services.ap_service[k1[better]]


class OriginSearch:
    """Distances from one origin (attached to its nearest segment) to every node, access point and service."""

    def __init__(self, net: ServiceNetwork, snap: Snap, lat: float, lon: float):
        self.net, self.snap, self.lat, self.lon = net, snap, float(lat), float(lon)
        g = net.graph
        e = int(snap.edge)
        self.u, self.v = int(g.eu[e]), int(g.ev[e])
        L = float(g.length[e])
        self.to_u = float(snap.offset + snap.t * L)
        self.to_v = float(snap.offset + (1 - snap.t) * L)
        d, self.pred = dijkstra(g.csr, directed=True, indices=[self.u, self.v], return_predecessors=True)
        du, dv = self.to_u + d[0], self.to_v + d[1]
        self.from_v = dv < du                       # which end the best path leaves by
        self.node_dist = np.minimum(du, dv)
        self.offset = float(snap.offset)

    def ap_distances(self) -> tuple[np.ndarray, np.ndarray]:
        """(metres to every access point, via: 0 = its segment's u end, 1 = v end, 2 = along the shared segment)."""
        net, g = self.net, self.net.graph
        ap = net.ap
        du = self.node_dist[g.eu[ap.edge]] + net.ap_to_u
        dv = self.node_dist[g.ev[ap.edge]] + net.ap_to_v
        dist = np.minimum(du, dv)
        via = np.where(du <= dv, 0, 1)
        same = ap.edge == self.snap.edge
        if same.any():
            direct = self.offset + ap.offset[same] + np.abs(self.snap.t - ap.t[same]) * g.length[ap.edge[same]]
            better = direct < dist[same]
            idx = np.flatnonzero(same)[better]
            dist[idx] = direct[better]
            via[idx] = 2
        dist = np.where(net.ap_ok, dist, np.inf)
        if self.offset > net.max_access_m:
            dist[:] = np.inf
        self._via = via
        return dist, via

    def service_distances(self) -> tuple[np.ndarray, np.ndarray]:
        """(metres to every service = its nearest access point, that access point's index or -1)."""
        dist, _ = self.ap_distances()
        s = self.net.services.ap_service
        n = len(self.net.services)
        best = np.full(n, np.inf)
        np.minimum.at(best, s, dist)
        which = np.full(n, -1, dtype=np.int64)
        order = np.lexsort((np.arange(len(dist)), dist, s))      # by service, then distance, then index
        first = np.ones(len(order), dtype=bool)
        first[1:] = s[order][1:] != s[order][:-1]
        which[s[order][first]] = order[first]
        which[~np.isfinite(best)] = -1
        return best, which

    def path_to_access(self, k: int) -> list[list[float]]:
        """[[lat, lon], ...] from the origin to access point ``k`` (empty when unreachable)."""
        if k < 0:
            return []
        net, g = self.net, self.net.graph
        ap = net.ap
        lat0, lon0 = g.unproject(self.snap.px, self.snap.py)
        alat, alon = g.unproject(ap.px[k], ap.py[k])
        head = [[self.lat, self.lon], [float(lat0), float(lon0)]]
        tail = [[float(alat), float(alon)], [float(net.services.ap_lat[k]), float(net.services.ap_lon[k])]]
        via = getattr(self, "_via", None)
        if via is None:
            self.ap_distances()
            via = self._via
        if via[k] == 2:
            nodes = []
        else:
            end = int(g.eu[ap.edge[k]] if via[k] == 0 else g.ev[ap.edge[k]])
            row = 1 if self.from_v[end] else 0
            src = self.v if row else self.u
            nodes = WalkGraph.path_to(self.pred[row], src, end)
        coords = head + g.path_coords(nodes) + tail
        return [[round(a, 6), round(b, 6)] for a, b in coords]

    def reached_within(self, metres: float) -> list[tuple[int, float, float]]:
        """Segments (index, reached fraction from u, from v) within ``metres``: whole segments (1, 1) when both ends
        are reached with room to cross, otherwise the parts reached from each end; the origin's own segment too."""
        g = self.net.graph
        du, dv = self.node_dist[g.eu], self.node_dist[g.ev]
        L = np.maximum(g.length, 1e-9)
        fu = np.clip((metres - du) / L, 0, 1)
        fv = np.clip((metres - dv) / L, 0, 1)
        fu[~np.isfinite(du)] = 0
        fv[~np.isfinite(dv)] = 0
        out = [(int(i), float(fu[i]), float(fv[i])) for i in np.flatnonzero((fu > 0) | (fv > 0))]
        return out


# ------------------------------------------------------------------------------------ straight line vs walking

def same_site(services: ServiceSet, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where services ``a`` and ``b`` (index arrays) stand at the same point (schools sharing a building)."""
    a, b = np.maximum(np.asarray(a), 0), np.maximum(np.asarray(b), 0)
    return (np.abs(services.lat[a] - services.lat[b]) < 1e-7) & (np.abs(services.lon[a] - services.lon[b]) < 1e-7)


def compare_straight_line(net: ServiceNetwork, lat, lon, *, categories=None) -> dict:
    """How often the nearest service by walking is not the nearest as the crow flies, per category.

    Both rankings use the same candidates: the access points that can be reached on the graph (a service's own
    point, or points along a park's outline). Origins farther than ``max_access_m`` from the graph are left out;
    two services at the same point count as the same answer. Per category: ``points`` (origins with an answer),
    ``nearest_changes``, ``share_changes``, ``median_walk_over_straight`` (walking metres / straight-line metres to
    the straight-line nearest, a detour factor) and ``walk_shorter_than_straight`` (must be 0: a walk cannot beat
    the straight line; 0.5% allowed for the local projection of the lengths)."""
    g = net.graph
    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    ox, oy = g.project(lat, lon)
    ax, ay = g.project(net.services.ap_lat, net.services.ap_lon)
    snap = net.snapper.snap(lat, lon, max_dist=net.max_access_m)
    out = {}
    for cat in categories or net.services.categories:
        aps = np.flatnonzero(net.ap_ok & np.isin(net.services.ap_service, net.services.members(cat)))
        if not len(aps):
            continue
        walk, who, _ = net.nearest_batch(None, None, cat, snap=snap)
        crow = np.hypot(ox[:, None] - ax[aps][None, :], oy[:, None] - ay[aps][None, :])
        k = np.argmin(crow, axis=1)
        crow_best, crow_who = crow[np.arange(len(lat)), k], net.services.ap_service[aps][k]
        ok = np.isfinite(walk)
        differ = ok & (who != crow_who) & ~same_site(net.services, who, crow_who)
        out[cat] = {"points": int(ok.sum()), "nearest_changes": int(differ.sum()),
                    "share_changes": round(float(differ.sum() / max(int(ok.sum()), 1)), 3),
                    "median_walk_over_straight": round(float(np.median(walk[ok] / np.maximum(crow_best[ok], 1.0))), 3)
                    if ok.any() else None,
                    "walk_shorter_than_straight": int(np.sum(walk[ok] < 0.995 * crow_best[ok]))}
    return out
