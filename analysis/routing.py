"""A small undirected walking graph over the warehouse street tables.

Nodes get compact indices ``0..n-1``; the street table's ``node_id`` values are
kept in :attr:`WalkGraph.node_ids`.  Parallel edges collapse to the shortest one
and self-loops are dropped, so every unordered node pair has at most one edge
and per-edge weights map one-to-one onto the CSR matrix.

Point-to-point queries (:meth:`WalkGraph.route`) are exact for any positive weights and use one of two
searches built on scipy's compiled Dijkstra:

- *landmark A* on a bounded subgraph* (:meth:`WalkGraph._route_alt`), for every query on graphs of at least
  ``ALT_MIN_NODES`` nodes and for long trips on smaller ones: lower bounds from 8 landmarks select, through a
  cell index, the nodes that can lie on a path within a bound; Dijkstra runs on their subgraph with reduced
  costs.  Work follows the candidate set (roughly the ellipse around the trip), not the graph size.
- *bidirectional, distance-limited Dijkstra*: scipy's Dijkstra from both ends at once with ``limit=r``; the
  best meeting edge ``d_s[a] + w(a, b) + d_t[b]`` is the exact answer as soon as it is ``<= 2 r`` (any s-t path
  of cost ``<= 2 r`` crosses from the s-ball to the t-ball on some edge).  ``r`` starts at ``0.7 x`` the
  straight-line distance and grows (to ``best / 2`` once a meeting edge is known, else doubles).

Street networks: a city's walk graph may hold several connected components (two street extracts far apart, a
campus, an island). The largest and every component with at least ``MIN_COMPONENT_M`` of street outside the larger
ones' extent are kept for walking (:attr:`WalkGraph.walk_mask`, :attr:`WalkGraph.networks`); shorter ones, and
pieces inside a larger network's extent, are fragments and are never snapped to.
A single point snaps to the nearest node of any kept network (:meth:`WalkGraph.nearest_nodes`); a walk between two
points snaps both into one network that both lie near (:meth:`WalkGraph.snap_pair`), or raises
:class:`SeparateNetworks` ("no walking path: ... separate street networks (N m apart)").

See bench/bench_routing.py for the timings against networkx.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from civicmash.warehouse.reads import columns as _columns_of
from civicmash.warehouse.reads import fetch_columns, has_table

try:  # the compiled search engine (analysis/_fastroute.c, built by setup.py); scipy's searches without it
    from . import _fastroute
except ImportError:  # pragma: no cover - depends on the build
    _fastroute = None

ENGINE_ENV = "CIVICMASH_ROUTE_ENGINE"  # "scipy" forces the scipy searches even when the compiled engine is built


def route_engine() -> str:
    """Which engine runs the route planner's sweep: ``"compiled"`` (analysis/_fastroute.c: one bidirectional
    landmark A* per weighting, all in one call) or ``"scipy"`` (the searches below, on scipy's Dijkstra). The same
    answers either way (exact shortest paths); ``CIVICMASH_ROUTE_ENGINE=scipy`` forces the second."""
    return "compiled" if _fastroute is not None and os.environ.get(ENGINE_ENV, "") != "scipy" else "scipy"

_MIN_WEIGHT = 1e-3  # csgraph treats 0 as "no edge"
# A connected component with less street than this (about 20 city blocks) is a fragment, not a street network a
# walk can use: a plaza's paths, a bridge or ramp cut off where an excluded motorway meets it, a mapping gap. A point
# snapped to one would be stranded (nothing reachable), so fragments are left out of snapping; every component with
# at least this much street, lying outside the larger networks' extent, is kept as a network of its own (a second
# extract far away, a campus, an airport; see WalkGraph._street_networks).
MIN_COMPONENT_M = 2000.0
_M_PER_DEG_LAT = 110_540.0
_M_PER_DEG_LON_EQ = 111_320.0


def concat_ranges(starts, counts) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for every (s, c), as one int64 array (CSR rows, grouped offsets)."""
    counts = np.asarray(counts, np.int64)
    return np.repeat(np.asarray(starts, np.int64) - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))


def sample_edges(ax, ay, bx, by, *, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points along straight segments a->b, both ends included, at most ``spacing`` apart (evenly spread): (owner =
    the segment's index, x, y, the segment's number of steps). A point of a segment is within half a step of one."""
    seg = np.hypot(bx - ax, by - ay)
    n = np.maximum(1, np.ceil(seg / spacing)).astype(np.int64)
    owner = np.repeat(np.arange(len(seg)), n + 1)
    frac = concat_ranges(np.zeros(len(seg), np.int64), n + 1) / np.repeat(n, n + 1)
    return owner, ax[owner] + frac * (bx - ax)[owner], ay[owner] + frac * (by - ay)[owner], n


class SeparateNetworks(ValueError):
    """Two points lie in different street networks of the walk graph: no walking path joins them."""

    def __init__(self, apart_m: float, names: tuple[str, str] = ("the start", "the end")):
        self.apart_m = apart_m
        super().__init__(f"no walking path: {names[0]} and {names[1]} are in separate street networks "
                         f"({apart_m:,.0f} m apart)")


@dataclass(frozen=True)
class _EntryWeights:
    """Per-edge weights read per CSR entry (floored like :meth:`WalkGraph.matrix`), only where taken."""

    w: np.ndarray
    edge_of_entry: np.ndarray

    def take(self, entries: np.ndarray) -> np.ndarray:
        return np.maximum(self.w.take(self.edge_of_entry.take(entries)), _MIN_WEIGHT)


@dataclass(frozen=True)
class _Entries:
    """A CSR structure with one weighting's values: what :meth:`WalkGraph._subgraph` reads of a matrix."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray


@dataclass(eq=False)
class WalkGraph:
    """Street graph for one city, with coordinates projected to local metres."""

    city: str
    node_ids: np.ndarray  # int64 warehouse node_id per compact index
    lat: np.ndarray
    lon: np.ndarray
    edge_ids: np.ndarray  # warehouse edge_id per kept edge
    eu: np.ndarray  # compact index of one end
    ev: np.ndarray  # compact index of the other end
    length: np.ndarray  # metres
    highway: np.ndarray | None = None  # road class per edge (street_edges.highway)
    lit: np.ndarray | None = None  # OSM lit tag per edge ('yes', 'no', None)
    dataset: np.ndarray | None = None  # street dataset per edge ('street_links' for a link between datasets)
    min_component_m: float = MIN_COMPONENT_M  # street networks shorter than this are left out (see the constant)
    _lat0: float = field(init=False, repr=False)
    _lon0: float = field(init=False, repr=False)
    _kx: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.node_ids)
        self._lat0 = float(np.mean(self.lat)) if n else 0.0
        self._lon0 = float(np.mean(self.lon)) if n else 0.0
        self._kx = _M_PER_DEG_LON_EQ * math.cos(math.radians(self._lat0))
        self.x, self.y = self.project(self.lat, self.lon)
        m = len(self.eu)
        rows = np.concatenate([self.eu, self.ev])
        cols = np.concatenate([self.ev, self.eu])
        order = csr_matrix((np.arange(1, 2 * m + 1, dtype=np.int64), (rows, cols)), shape=(n, n))
        self._indptr, self._indices = order.indptr, order.indices
        self._edge_of_entry = (order.data - 1) % max(m, 1)  # CSR entry -> edge index
        self._pairs = order  # values: 1 + position in rows/cols
        self.csr = self.matrix()
        _, labels = connected_components(self.csr, directed=False)
        self.component = labels
        if n:
            largest = np.bincount(labels).argmax()
            self.lcc_mask = labels == largest
            self.walk_mask = np.isin(labels, self._street_networks(labels, int(largest)))
        else:
            self.lcc_mask = np.zeros(0, dtype=bool)
            self.walk_mask = np.zeros(0, dtype=bool)
        self._lcc_index = np.flatnonzero(self.lcc_mask)
        self._walk_index = np.flatnonzero(self.walk_mask)
        self.networks = np.unique(labels[self._walk_index]) if n else np.zeros(0, np.int64)
        self._area = float(np.ptp(self.x) * np.ptp(self.y)) if n else 0.0  # bbox, m^2
        self._trees: dict = {}  # None (all kept networks) or a component label -> (node indices, cKDTree), lazily

    def _street_networks(self, labels: np.ndarray, largest: int) -> list[int]:
        """Component labels kept for walking: the largest, and each other component with at least
        ``min_component_m`` of street whose extent (bounding box) overlaps no larger kept network's. A component
        inside a larger network's extent is a piece of that network the data fails to connect (a major-streets
        file whose crossings of an excluded expressway are missing, a park's paths): a point there is snapped to
        the enclosing network, never stranded on the piece. One outside every larger extent is a network of its
        own (a second street extract across town, an airport, a campus)."""
        count = int(labels.max()) + 1
        street_m = np.bincount(labels[self.eu], weights=self.length, minlength=count)
        big = [int(c) for c in np.argsort(-street_m, kind="stable") if street_m[c] >= self.min_component_m]
        order = [largest] + [c for c in big if c != largest]
        x0, y0 = np.full(count, np.inf), np.full(count, np.inf)
        x1, y1 = np.full(count, -np.inf), np.full(count, -np.inf)
        np.minimum.at(x0, labels, self.x)
        np.minimum.at(y0, labels, self.y)
        np.maximum.at(x1, labels, self.x)
        np.maximum.at(y1, labels, self.y)
        kept: list[int] = []
        for c in order:
            inside = any(x0[c] <= x1[k] and x0[k] <= x1[c] and y0[c] <= y1[k] and y0[k] <= y1[c] for k in kept)
            if not inside:
                kept.append(c)
        return kept

    # ---- construction -------------------------------------------------
    @classmethod
    def from_warehouse(cls, con, city: str, *, bbox=None, datasets=None,
                       min_component_m: float = MIN_COMPONENT_M) -> "WalkGraph":
        """The city's walk graph from the warehouse (parameterised SQL): every street dataset's ``street_edges``
        not superseded by another dataset, plus the ``street_links`` that join the datasets (see
        :func:`warehouse.streets.link_streets`).  A node id shared by two OpenStreetMap datasets is one node.

        ``bbox`` = ((south, west), (north, east)) keeps the edges with both ends inside; ``datasets`` (names)
        keeps only those datasets' edges (and the links between them).  Per edge the graph keeps ``highway``,
        ``lit`` and ``dataset`` ('street_links' for a link)."""
        cols = _columns_of(con, "street_edges")
        opt = lambda c, typ="VARCHAR": c if c in cols else f"CAST(NULL AS {typ}) AS {c}"  # noqa: E731
        where, params = "", []
        if bbox is not None:
            (s, w), (n, e) = bbox
            where = " AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?"
            params = [float(s), float(n), float(w), float(e)]
        edge_sql = (f"SELECT coalesce(edge_id, -1) AS edge_id, u, v, CAST(length_m AS DOUBLE) AS length_m, "
                    f"{opt('highway')}, {opt('lit')}, dataset FROM street_edges "
                    f"WHERE city = ? AND u IS NOT NULL AND v IS NOT NULL")
        eparams: list = [city]
        if "superseded_by" in cols:
            edge_sql += " AND superseded_by IS NULL"
        if datasets is not None:
            edge_sql += " AND list_contains(?, dataset)"
            eparams.append(list(datasets))
        if _columns_of(con, "street_links"):
            edge_sql += (" UNION ALL SELECT link_id, u, v, length_m, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), "
                         "'street_links' FROM street_links WHERE city = ?")
            eparams.append(city)
            if datasets is not None:
                edge_sql += " AND list_contains(?, dataset_u) AND list_contains(?, dataset_v)"
                eparams += [list(datasets), list(datasets)]
        nodes = fetch_columns(
            con,
            "SELECT node_id, any_value(lat ORDER BY dataset) AS lat, any_value(lon ORDER BY dataset) AS lon "
            "FROM street_nodes WHERE city = ? AND node_id IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL"
            f"{where} GROUP BY node_id ORDER BY node_id",
            [city, *params],
        )
        edges = fetch_columns(con, f"SELECT * FROM ({edge_sql}) ORDER BY edge_id", eparams)
        return cls.from_arrays(
            city=city,
            node_ids=np.asarray(nodes["node_id"], dtype=np.int64),
            lat=np.asarray(nodes["lat"], dtype=float),
            lon=np.asarray(nodes["lon"], dtype=float),
            edge_ids=np.asarray(edges["edge_id"], dtype=np.int64),
            u=np.asarray(edges["u"], dtype=np.int64),
            v=np.asarray(edges["v"], dtype=np.int64),
            length=np.asarray(edges["length_m"], dtype=float),
            highway=np.asarray(edges["highway"], dtype=object),
            lit=np.asarray(edges["lit"], dtype=object),
            dataset=np.asarray(edges["dataset"], dtype=object),
            drop_isolated=True,
            min_component_m=min_component_m,
        )

    @classmethod
    def from_arrays(cls, *, city, node_ids, lat, lon, edge_ids, u, v, length, highway=None, lit=None, dataset=None,
                    drop_isolated: bool = False, min_component_m: float = MIN_COMPONENT_M) -> "WalkGraph":
        """Build from raw arrays keyed by warehouse ids; dangling edges are dropped (and, with
        ``drop_isolated``, the nodes no edge uses, e.g. those of superseded segments)."""
        node_ids = np.asarray(node_ids, dtype=np.int64)
        order = np.argsort(node_ids, kind="stable")
        node_ids = node_ids[order]
        lat, lon = np.asarray(lat, float)[order], np.asarray(lon, float)[order]
        u, v = np.asarray(u, np.int64), np.asarray(v, np.int64)
        iu = np.searchsorted(node_ids, u).clip(0, max(len(node_ids) - 1, 0))
        iv = np.searchsorted(node_ids, v).clip(0, max(len(node_ids) - 1, 0))
        if len(node_ids):
            ok = (node_ids[iu] == u) & (node_ids[iv] == v) & (iu != iv)
        else:
            ok = np.zeros(len(u), dtype=bool)
        length = np.asarray(length, float)
        iu, iv, length = iu[ok], iv[ok], length[ok]
        if drop_isolated and len(node_ids):
            used = np.zeros(len(node_ids), dtype=bool)
            used[iu] = used[iv] = True
            remap = np.cumsum(used) - 1
            node_ids, lat, lon, iu, iv = node_ids[used], lat[used], lon[used], remap[iu], remap[iv]
        missing = ~(length > 0)  # NaN or 0: fall back to the straight-line distance
        if missing.any():
            kx = _M_PER_DEG_LON_EQ * math.cos(math.radians(float(np.mean(lat))))
            dx = (lon[iu] - lon[iv]) * kx
            dy = (lat[iu] - lat[iv]) * _M_PER_DEG_LAT
            length = np.where(missing, np.hypot(dx, dy), length)
        edge_ids = np.asarray(edge_ids, np.int64)[ok]
        extra = {k: None if a is None else np.asarray(a, dtype=object)[ok]
                 for k, a in (("highway", highway), ("lit", lit), ("dataset", dataset))}
        # Collapse parallel edges: keep the shortest per unordered pair.
        a, b = np.minimum(iu, iv), np.maximum(iu, iv)
        keep = np.lexsort((length, b, a))
        a_s, b_s = a[keep], b[keep]
        first = np.ones(len(keep), dtype=bool)
        first[1:] = (a_s[1:] != a_s[:-1]) | (b_s[1:] != b_s[:-1])
        keep = np.sort(keep[first])
        return cls(
            city=city,
            node_ids=node_ids,
            lat=lat,
            lon=lon,
            edge_ids=edge_ids[keep],
            eu=iu[keep],
            ev=iv[keep],
            length=length[keep],
            **{k: None if a is None else a[keep] for k, a in extra.items()},
            min_component_m=min_component_m,
        )

    # ---- stored form (analysis/route_store.py) --------------------------
    _STATE_ARRAYS = ("node_ids", "lat", "lon", "edge_ids", "eu", "ev", "length", "x", "y", "_indptr", "_indices",
                     "_edge_of_entry", "component", "lcc_mask", "walk_mask")
    _LANDMARK_ARRAYS = ("_lm", "_cell_members", "_cell_ptr", "_cell_lo", "_cell_hi")

    def state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Everything :meth:`from_state` needs to rebuild this graph without recomputing it: (arrays, plain
        facts). The landmarks and their cell index are computed first if they were not, so a stored graph
        answers its first query at once. ``highway``/``lit``/``dataset`` go as codes into a vocabulary."""
        self._landmarks()
        arrays = {name: np.asarray(getattr(self, name)) for name in self._STATE_ARRAYS + self._LANDMARK_ARRAYS}
        arrays["_pairs_data"] = np.asarray(self._pairs.data)
        arrays["csr_data"] = np.asarray(self.csr.data)
        facts = {"city": self.city, "min_component_m": self.min_component_m, "lat0": self._lat0,
                 "lon0": self._lon0, "kx": self._kx, "area": self._area, "vocab": {}}
        for name in ("highway", "lit", "dataset"):
            values = getattr(self, name)
            if values is None:
                continue
            vocab = sorted({v for v in values.tolist() if v is not None}, key=str)
            pos = {v: i for i, v in enumerate(vocab)}
            arrays[f"code_{name}"] = np.array([pos[v] if v is not None else -1 for v in values.tolist()],
                                              dtype=np.int32)
            facts["vocab"][name] = vocab
        return arrays, facts

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], facts: dict) -> "WalkGraph":
        """The graph :meth:`state` described (arrays may be read-only memory maps), without recomputing the
        CSR structure, the components, the street networks or the landmarks."""
        g = cls.__new__(cls)
        for name in cls._STATE_ARRAYS + cls._LANDMARK_ARRAYS:
            setattr(g, name, arrays[name])
        g.city, g.min_component_m = facts["city"], float(facts["min_component_m"])
        g._lat0, g._lon0, g._kx, g._area = facts["lat0"], facts["lon0"], facts["kx"], facts["area"]
        for name in ("highway", "lit", "dataset"):
            vocab = facts["vocab"].get(name)
            if vocab is None:
                setattr(g, name, None)
                continue
            table = np.empty(len(vocab) + 1, dtype=object)
            table[:len(vocab)] = vocab
            table[-1] = None
            setattr(g, name, table[arrays[f"code_{name}"]])
        n = len(g.node_ids)
        g._pairs = csr_matrix((arrays["_pairs_data"], g._indices, g._indptr), shape=(n, n))
        g.csr = csr_matrix((arrays["csr_data"], g._indices, g._indptr), shape=(n, n))
        g._lcc_index = np.flatnonzero(g.lcc_mask)
        g._walk_index = np.flatnonzero(g.walk_mask)
        g.networks = np.unique(g.component[g._walk_index]) if n else np.zeros(0, np.int64)
        g._trees = {}
        g._local = np.full(n, -1, dtype=np.int32)
        return g

    # ---- geometry -----------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        return len(self.eu)

    def project(self, lat, lon):
        """WGS84 -> local equirectangular metres (fine at city scale)."""
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        return (lon - self._lon0) * self._kx, (lat - self._lat0) * _M_PER_DEG_LAT

    def unproject(self, x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return y / _M_PER_DEG_LAT + self._lat0, x / self._kx + self._lon0

    def centroid(self) -> tuple[float, float]:
        """Mean (lat, lon) of the largest component's nodes."""
        idx = self._lcc_index
        return float(self.lat[idx].mean()), float(self.lon[idx].mean())

    def edge_midpoints(self) -> tuple[np.ndarray, np.ndarray]:
        """Projected (x, y) of every edge's midpoint (straight segment)."""
        return (self.x[self.eu] + self.x[self.ev]) / 2, (self.y[self.eu] + self.y[self.ev]) / 2

    def nearest_nodes(self, lat, lon, *, network: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised snap to the street networks kept for walking (every component with at least
        ``min_component_m`` of street, and the largest): (node indices, distances in m). ``network`` (a component
        label of :attr:`networks`) snaps to that network only.

        A few points (a command's two ends) are snapped by a plain scan of the nodes, which needs no k-d tree (its
        import and build cost more than the scan); an exact tie between two nodes, and every larger query, go to
        the cKDTree, so the answer is the tree's in every case."""
        if not len(self._walk_index):
            raise ValueError(f"street graph of {self.city!r} is empty")
        x, y = self.project(np.atleast_1d(lat), np.atleast_1d(lon))
        index = self._walk_index if network is None else self._network_index(int(network))
        if len(x) <= self.SCAN_POINTS and (network, "tree") not in self._trees:
            found = self._scan_nearest(index, x, y)
            if found is not None:
                return found
        tree = self._trees.get((network, "tree"))
        if tree is None:
            from scipy.spatial import cKDTree

            tree = self._trees[(network, "tree")] = cKDTree(np.column_stack([self.x[index], self.y[index]]))
        dist, pos = tree.query(np.column_stack([x, y]))
        return index[pos], dist

    SCAN_POINTS = 4  # nearest_nodes scans the nodes for up to this many points (no k-d tree)

    def _scan_nearest(self, index: np.ndarray, x: np.ndarray, y: np.ndarray):
        """(nodes, distances) of the nearest of ``index`` to each point by a scan, or None on a near tie (the two
        nearest within 1e-6 m: the k-d tree decides, as it always did)."""
        nodes, dists = [], []
        px, py = self.x.take(index), self.y.take(index)
        for qx, qy in zip(x.tolist(), y.tolist()):
            d = np.sqrt((px - qx) ** 2 + (py - qy) ** 2)
            if len(d) > 1:
                two = np.argpartition(d, 1)[:2]
                if abs(float(d[two[0]]) - float(d[two[1]])) <= 1e-6:
                    return None
                k = int(two[0] if d[two[0]] < d[two[1]] else two[1])
            else:
                k = 0
            nodes.append(index[k])
            dists.append(d[k])
        return np.asarray(nodes, dtype=index.dtype), np.asarray(dists, dtype=float)

    def nearest_node(self, lat: float, lon: float) -> int:
        """Compact index of the node (of a kept street network) nearest to (lat, lon)."""
        idx, _ = self.nearest_nodes(lat, lon)
        return int(idx[0])

    def _network_index(self, label: int) -> np.ndarray:
        """Node indices of the kept street network ``label``."""
        if label not in self._trees:
            if label not in set(self.networks.tolist()):
                raise ValueError(f"component {label} is not a street network kept for walking")
            self._trees[label] = np.flatnonzero(self.component == label)
        return self._trees[label]

    def snap_pair(self, a, b, *, reach_m: float = 1000.0) -> tuple[int, int, float, float]:
        """Snap two points ``a``, ``b`` = (lat, lon) for a walk between them: (node of a, node of b, snap metres of
        a, of b), both nodes in one street network.

        Each point is *in* every kept network within ``reach_m`` of it. When both are in one network, the one with
        the smallest sum of snap distances is used (each point goes to that network's nearest node, even when
        another network's node is nearer to it alone): the walk can then be made. Otherwise
        :class:`SeparateNetworks` says how far apart the points are."""
        dist = {}
        for label in self.networks.tolist():
            ia, da = self.nearest_nodes(a[0], a[1], network=label)
            ib, db = self.nearest_nodes(b[0], b[1], network=label)
            dist[label] = (int(ia[0]), int(ib[0]), float(da[0]), float(db[0]))
        both = [v for v in dist.values() if v[2] <= reach_m and v[3] <= reach_m]
        if both:
            return min(both, key=lambda v: (v[2] + v[3], v[0], v[1]))
        xa, ya = self.project(a[0], a[1])
        xb, yb = self.project(b[0], b[1])
        raise SeparateNetworks(float(math.hypot(float(xa) - float(xb), float(ya) - float(yb))))

    # ---- shortest paths -----------------------------------------------
    def matrix(self, weights=None) -> csr_matrix:
        """Symmetric CSR matrix of per-edge ``weights`` (default: length in m)."""
        w = self.length if weights is None else np.asarray(weights, dtype=float)
        if len(w) != self.n_edges:
            raise ValueError(f"weights has {len(w)} values, graph has {self.n_edges} edges")
        w = np.maximum(w, _MIN_WEIGHT)
        n = self.n_nodes
        return csr_matrix((w[self._edge_of_entry], self._indices, self._indptr), shape=(n, n))

    def distances_from(self, src: int, weights=None) -> tuple[np.ndarray, np.ndarray]:
        """One Dijkstra from ``src``: (cost to every node, predecessor array)."""
        mat = self.csr if weights is None else self.matrix(weights)
        dist, pred = dijkstra(mat, directed=True, indices=int(src), return_predecessors=True)
        return dist, pred

    @staticmethod
    def path_to(pred: np.ndarray, src: int, dst: int) -> list[int]:
        """Walk a predecessor array back from ``dst``; [] when unreachable."""
        if src == dst:
            return [int(src)]
        if pred[dst] < 0:
            return []
        path = [int(dst)]
        while path[-1] != src:
            path.append(int(pred[path[-1]]))
        return path[::-1]

    def shortest_path(self, src: int, dst: int, weights=None) -> tuple[list[int], float]:
        """(node index list from src to dst, total cost); ([], inf) when unreachable."""
        dist, pred = self.distances_from(src, weights)
        nodes = self.path_to(pred, int(src), int(dst))
        return nodes, float(dist[dst]) if nodes else math.inf

    def route(self, src: int, dst: int, weights=None, *, matrix=None) -> tuple[list[int], float]:
        """Exact point-to-point shortest path: (node list, cost); ([], inf) when unreachable.

        Same answer as :meth:`shortest_path` (up to ties).  On graphs of at least ``ALT_MIN_NODES`` nodes
        (and for any trip whose search balls would cover more than ``ALT_FRACTION`` of the graph) it runs a
        landmark A* on a bounded subgraph (:meth:`_route_alt`); otherwise a bidirectional, distance-limited
        scipy Dijkstra (see the module doc).  Weights far from proportional to length (their weight/length
        ratios spread over more than ``WEAK_SPREAD``, e.g. length x risk) take one full Dijkstra instead.
        ``matrix`` (from :meth:`matrix`) saves rebuilding the CSR matrix when one weighting serves many
        queries.  Exact for any positive weights: weights below ``length`` only make the searches wider.
        """
        src, dst = int(src), int(dst)
        if src == dst:
            return [src], 0.0
        mat = matrix if matrix is not None else (self.csr if weights is None else self.matrix(weights))
        if self.component[src] != self.component[dst]:
            return [], math.inf
        _, total, spread = self._matrix_facts(mat)
        if spread > self.WEAK_SPREAD:
            # weights far from proportional to length (e.g. length x risk): length-based bounds say little and
            # both searches would widen round after round; one full Dijkstra is cheaper
            dist, pred = dijkstra(mat, directed=True, indices=src, return_predecessors=True)
            return self.path_to(pred, src, dst), float(dist[dst])
        straight = float(math.hypot(self.x[src] - self.x[dst], self.y[src] - self.y[dst]))
        r = max(0.7 * straight, 50.0)
        if mat.nnz and (self.n_nodes >= self.ALT_MIN_NODES
                        or 2 * math.pi * r * r > self.ALT_FRACTION * self._area):
            found = self._route_alt(src, dst, mat)
            if found is not None:
                return found
        indptr, indices, data = mat.indptr, mat.indices, mat.data
        while True:
            unlimited = r >= total
            dist, pred = dijkstra(mat, directed=True, indices=[src, dst], return_predecessors=True,
                                  limit=np.inf if unlimited else r)
            ds, dt = dist[0], dist[1]
            if np.isfinite(ds[dst]) and (unlimited or ds[dst] <= r):
                # dst inside the s-ball: exact from one side already.
                return self.path_to(pred[0], src, dst), float(ds[dst])
            ball = np.flatnonzero(np.isfinite(ds))
            starts, ends = indptr[ball], indptr[ball + 1]
            counts = ends - starts
            if counts.sum():
                owner = np.repeat(ball, counts)
                entry = concat_ranges(starts, counts)
                nb = indices[entry]
                cost = ds[owner] + data[entry] + dt[nb]
                k = int(np.argmin(cost))
                best = float(cost[k])
            else:
                best = math.inf
            if np.isfinite(best) and (unlimited or best <= 2 * r + 1e-9):
                a, b = int(owner[k]), int(nb[k])
                left = self.path_to(pred[0], src, a)
                right = self.path_to(pred[1], dst, b)
                return left + right[::-1], best
            if unlimited:
                return [], math.inf
            r = best / 2 + 1e-6 if np.isfinite(best) else 2 * r

    WEAK_SPREAD = 4.0  # weights whose weight/length ratio varies more than this: one full Dijkstra per query
    ALT_MIN_NODES = 20_000  # from this size on, every query uses the landmark A* (its work is independent of n)
    ALT_FRACTION = 0.05  # smaller graphs: landmark A* when the two balls would cover more of the bbox than this
    N_LANDMARKS = 8
    CELL_NODES = 64  # mean nodes per cell of the landmark cell index
    ALT_SLACK = 0.02  # first bound of the A* subgraph: lower bound + 2 % (grown x3 per round)

    def _landmarks(self) -> np.ndarray:
        """(k, n) shortest lengths from k landmarks (farthest-point picks on the largest component), computed once.

        Also builds the cell index used to find candidate nodes without touching every node: the largest
        component's nodes bucketed in square cells of about ``CELL_NODES`` nodes, and per cell and landmark the
        range ``[lo, hi]`` of the nodes' landmark distances."""
        if getattr(self, "_lm", None) is None:
            lcc = self._lcc_index
            far = lcc[np.argmax(np.hypot(self.x[lcc] - self.x[lcc].mean(), self.y[lcc] - self.y[lcc].mean()))]
            dists = []
            best = np.full(self.n_nodes, np.inf)
            for _ in range(min(self.N_LANDMARKS, len(lcc))):
                d = dijkstra(self.csr, directed=True, indices=int(far))
                dists.append(d)
                best = np.minimum(best, d)
                far = int(np.argmax(np.where(np.isfinite(best), best, -1)))
            lm = np.vstack(dists)  # (k, n)
            # cell index over the nodes the landmarks reach (the largest component)
            ok = np.flatnonzero(np.isfinite(lm).all(axis=0))
            x, y = self.x[ok], self.y[ok]
            span = max(float(np.ptp(x)) * float(np.ptp(y)), 1.0)
            size = max(math.sqrt(span * self.CELL_NODES / max(len(ok), 1)), 1.0)
            cx = ((x - x.min()) // size).astype(np.int64)
            cy = ((y - y.min()) // size).astype(np.int64)
            cell = cy * (int(cx.max()) + 1) + cx
            order = np.argsort(cell, kind="stable")
            members, cell = ok[order], cell[order]
            starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
            self._cell_members = members
            self._cell_ptr = np.r_[starts, len(members)].astype(np.int64)
            sub = lm[:, members]
            self._cell_lo = np.minimum.reduceat(sub, starts, axis=1)  # (k, cells)
            self._cell_hi = np.maximum.reduceat(sub, starts, axis=1)
            self._local = np.full(self.n_nodes, -1, dtype=np.int32)  # node -> index in a query's subgraph (reset after)
            self._lm = lm
        return self._lm

    def _matrix_facts(self, mat) -> tuple[float, float, float]:
        """(kappa, total, spread) of a weight matrix, cached for the last matrix seen: kappa = smallest
        weight/length ratio (capped at 1; scales length potentials to stay lower bounds); total = sum of all
        weights; spread = largest / smallest weight/length ratio (1 for lengths)."""
        if getattr(self, "_facts_for", None) is not mat:
            if mat.nnz and mat is not self.csr:
                ratio = mat.data / np.maximum(self.csr.data, 1e-12)
                lo, hi = float(ratio.min()), float(ratio.max())
                self._facts = (min(1.0, lo), float(mat.data.sum()), hi / max(lo, 1e-300))
            else:
                self._facts = (1.0, float(mat.data.sum()) if mat.nnz else 0.0, 1.0)
            self._facts_for = mat
        return self._facts

    def _route_alt(self, src: int, dst: int, mat):
        """A* with landmark (ALT) potentials on the part of the graph that can hold the shortest path.

        ``h_t(x) = kappa * max_L |d(L, dst) - d(L, x)|`` is a lower bound of the cost from ``x`` to ``dst`` (``kappa``:
        the smallest weight/length ratio, 1 for lengths); ``h_s`` likewise to ``src``.  Every node of a path of cost
        ``<= B`` has ``h_s + h_t <= B``.  For a bound ``B`` (first the lower bound ``h_t(src)`` plus ``ALT_SLACK``,
        then growing) only those nodes are kept: whole cells of the cell index are dropped first with the
        cell-level bound (from each cell's range of landmark distances), then the nodes of the remaining cells are
        tested one by one, so the work is proportional to the candidates, not to the graph.  On the subgraph they
        induce, scipy's Dijkstra runs from ``src`` on reduced costs ``w(u,v) - h_t(u) + h_t(v)`` (>= 0) with limit
        ``B - h_t(src)``.  Reaching ``dst`` proves the answer optimal in the whole graph (if the shortest path cost
        ``D <= B`` it lies in the subgraph; a subgraph path is a real path, so ``>= D``); otherwise ``B`` grows.
        When the candidates pass half the graph, one plain Dijkstra on the whole graph answers instead.
        None when the landmarks say nothing about ``src`` or ``dst`` (outside the largest component)."""
        lm = self._landmarks()
        ls_, lt_ = lm[:, src], lm[:, dst]
        if not (np.isfinite(ls_).all() and np.isfinite(lt_).all()):
            return None
        kappa, total, _ = self._matrix_facts(mat)
        kappa *= 1 - 1e-9
        lo, hi = self._cell_lo, self._cell_hi
        # cell-level lower bounds, per landmark on short (cells,) rows
        cell_lb = np.empty(lo.shape[1])
        cell_t, cell_s, tmp = np.zeros(lo.shape[1]), np.zeros(lo.shape[1]), np.empty(lo.shape[1])
        for k in range(len(ls_)):
            for ref, acc in ((lt_[k], cell_t), (ls_[k], cell_s)):
                np.subtract(lo[k], ref, out=tmp)
                np.maximum(acc, tmp, out=acc)
                np.subtract(ref, hi[k], out=tmp)
                np.maximum(acc, tmp, out=acc)
        np.add(cell_t, cell_s, out=cell_lb)
        cell_lb *= kappa
        lower = float(np.abs(ls_ - lt_).max()) * kappa
        slack = max(self.ALT_SLACK * lower, 25.0 * kappa)
        ptr, members = self._cell_ptr, self._cell_members
        while True:
            bound = lower + slack
            cells = np.flatnonzero(cell_lb <= bound)
            starts, counts = ptr[cells], ptr[cells + 1] - ptr[cells]
            n_cand = int(counts.sum())
            if n_cand > self.n_nodes // 2 or bound >= total:
                dist, pred = dijkstra(mat, directed=True, indices=src, return_predecessors=True)
                nodes = self.path_to(pred, src, dst)
                return (nodes, float(dist[dst])) if nodes else ([], math.inf)
            cand = members[concat_ranges(starts, counts)]
            h_t, h_s, tmp = np.zeros(n_cand), np.zeros(n_cand), np.empty(n_cand)
            for k in range(len(ls_)):  # potentials of the candidates only
                row = lm[k].take(cand)
                for ref, acc in ((lt_[k], h_t), (ls_[k], h_s)):
                    np.subtract(row, ref, out=tmp)
                    np.abs(tmp, out=tmp)
                    np.maximum(acc, tmp, out=acc)
            h_t *= kappa
            h_s *= kappa
            h_s += h_t
            keep = h_s <= bound
            cand, h_t = cand[keep], h_t[keep]
            sub, ls, lt = self._subgraph(cand, mat, h_t, src, dst)
            if ls >= 0 and lt >= 0:
                dist, pred = dijkstra(sub, directed=True, indices=ls, return_predecessors=True,
                                      limit=bound - lower + 1e-9 * max(bound, 1.0))
                if np.isfinite(dist[lt]):
                    nodes = cand[self.path_to(pred, ls, lt)].tolist()
                    return nodes, float(dist[lt]) + lower
            slack *= 3

    def _subgraph(self, cand: np.ndarray, mat, h: np.ndarray, src: int, dst: int):
        """CSR of ``mat`` restricted to the nodes ``cand``, with reduced costs ``w + h(v) - h(u)`` (``h`` aligned
        with ``cand``); returns it and the subgraph indices of ``src`` and ``dst`` (-1 when not in ``cand``).

        Entries leaving ``cand`` are kept but point to one extra sink node (index ``len(cand)``, no out-edges)
        at a huge cost: cheaper than filtering them out, and a sink never lies on a path to another node."""
        local, indptr = self._local, mat.indptr
        k = len(cand)
        local[cand] = np.arange(k, dtype=np.int32)
        ls, lt = int(local[src]), int(local[dst])
        starts = indptr[cand]
        counts = indptr[cand + 1] - starts
        sub_ptr = np.zeros(k + 2, dtype=np.int32)
        np.cumsum(counts, out=sub_ptr[1:k + 1])
        n_ent = int(sub_ptr[k])
        sub_ptr[k + 1] = n_ent
        entry = np.repeat(starts - sub_ptr[:k], counts)
        entry += np.arange(n_ent)
        col = local.take(mat.indices.take(entry))
        local[cand] = -1
        col[col < 0] = k
        h_ext = np.empty(k + 1)
        h_ext[:k] = h
        h_ext[k] = 1e300
        data = mat.data.take(entry)
        data += h_ext.take(col)
        data -= np.repeat(h, counts)
        np.maximum(data, 1e-12, out=data)
        return csr_matrix((data, col, sub_ptr), shape=(k + 1, k + 1)), ls, lt

    def route_sweep(self, src: int, dst: int, sweep, extra) -> list[tuple[list[int], float]]:
        """Exact shortest paths from ``src`` to ``dst`` for a sweep of weightings ``sweep`` = [(c, weights), ...],
        each weights >= length + c * ``extra`` (``extra`` >= 0 per edge: the route planner's risk part), in order.

        With the compiled engine (:func:`route_engine` is ``"compiled"``) every weighting runs in one call of
        ``analysis/_fastroute.c`` (a bidirectional landmark A* each, pruned by the cheapest path so far); else:
        The first weighting is routed by :meth:`route`. Each later one by A* on a bounded subgraph with a
        risk-aware potential: ``h_t(v) = LB(v, t) + c * X(v, t)``, where ``LB`` is the landmark lower bound of the
        length and ``X`` the exact least ``extra`` from ``v`` to ``t`` (one Dijkstra from each end on ``extra``,
        shared by the whole sweep, exact up to the first path's own ``extra`` and capped there); ``h`` is consistent for ``length + c * extra``, so reduced costs stay >= 0. The
        cheapest path found so far, re-priced with the new weights, is an upper bound ``U``; only nodes with
        ``h_s + h_t <= U`` can lie on a better path, and Dijkstra runs on their subgraph with limit ``U - h_t(s)``.
        Where length-only bounds let the candidate set grow with the risk weight, these keep it near the routes
        themselves. Falls back to :meth:`route` outside the landmarks' component."""
        src, dst = int(src), int(dst)
        sweep = list(sweep)
        if route_engine() == "compiled":
            # every weighting in one compiled call: bidirectional A* with landmark potentials (exact, see the C source)
            found = self.engine().sweep(src, dst, [np.ascontiguousarray(w, dtype=np.float64) for _, w in sweep])
            return [(nodes, cost) for nodes, cost, _ in found]
        lm = self._landmarks()
        ls_, lt_ = lm[:, src], lm[:, dst]
        if src == dst or not (np.isfinite(ls_).all() and np.isfinite(lt_).all()) or len(sweep) < 2:
            return [self.route(src, dst, w) for _, w in sweep]
        n = self.n_nodes
        found = [self.route(src, dst, sweep[0][1])]
        if not found[0][0]:
            return found + [([], math.inf) for _ in sweep[1:]]
        shrink = 1 - 1e-9
        # risk part per CSR entry; 0 on edges shorter than the 1 mm floor (their weight is floored, not summed)
        x = np.where(self.length < _MIN_WEIGHT, 0.0, np.maximum(np.asarray(extra, float), 0.0))
        xmat = csr_matrix((x[self._edge_of_entry], self._indices, self._indptr), shape=(n, n))
        # X from each end, exact up to the shortest path's own risk part R and R beyond it (still a lower bound, and
        # still consistent): the large-c routes need it only near paths no more exposed than that one; a ball of
        # R costs a few thousand nodes where the whole graph costs 70,000
        reach = float(x.take(self.path_edges(found[0][0])).sum()) * (1 + 1e-9) + 1e-9
        dx = dijkstra(xmat, directed=True, indices=[src, dst], limit=reach)
        dx[~np.isfinite(dx)] = reach
        lb_s, lb_t = np.zeros(n), np.zeros(n)
        for k in range(lm.shape[0]):
            np.maximum(lb_s, np.abs(lm[k] - ls_[k]), out=lb_s)
            np.maximum(lb_t, np.abs(lm[k] - lt_[k]), out=lb_t)
        with np.errstate(invalid="ignore"):
            lb_sum = (lb_s + lb_t) * shrink  # NaN / inf outside the landmarks' component: never a candidate
        paths = [self.path_edges(found[0][0])]  # edges of each distinct path found so far
        for c, w in sweep[1:]:
            w = np.asarray(w, float)
            upper = min(float(np.maximum(w.take(p), _MIN_WEIGHT).sum()) for p in paths) * (1 + 1e-9) + 1e-9
            with np.errstate(invalid="ignore"):
                cand = np.flatnonzero(lb_sum <= upper)  # c * X >= 0: the length bound alone first
            h_t = (lb_t.take(cand) + c * dx[1].take(cand)) * shrink
            keep = (lb_s.take(cand) + c * dx[0].take(cand)) * shrink + h_t <= upper
            cand, h_t = cand[keep], h_t[keep]
            # the CSR structure of the graph with this weighting's values (no scipy matrix: _subgraph reads arrays)
            mat = _Entries(self._indptr, self._indices, _EntryWeights(w, self._edge_of_entry))
            nodes = None
            if len(cand) <= n // 2:
                sub, ls, lt = self._subgraph(cand, mat, h_t, src, dst)
                if ls >= 0 and lt >= 0:
                    lower = float(h_t[ls])
                    dist, pred = dijkstra(sub, directed=True, indices=ls, return_predecessors=True,
                                          limit=upper - lower + 1e-9 * max(upper, 1.0))
                    if np.isfinite(dist[lt]):
                        nodes = cand[self.path_to(pred, ls, lt)].tolist()
                        cost = float(dist[lt]) + lower
            if nodes is None:  # the bound did not hold (it always should) or too many candidates: plain Dijkstra
                full = self.matrix(w)
                dist, pred = dijkstra(full, directed=True, indices=src, return_predecessors=True)
                nodes, cost = self.path_to(pred, src, dst), float(dist[dst])
            if nodes != found[-1][0]:
                paths.append(self.path_edges(nodes))
            found.append((nodes, cost))
        return found

    def engine(self):
        """The compiled engine over this graph (analysis/_fastroute.c), built once: the CSR structure, the lengths
        and the landmark distances, copied (the landmarks transposed, one node's row in one cache line)."""
        if getattr(self, "_engine", None) is None:
            lm = self._landmarks()
            self._engine = _fastroute.Engine(self._indptr, self._indices, self._edge_of_entry,
                                             np.ascontiguousarray(self.length, dtype=np.float64),
                                             np.ascontiguousarray(lm, dtype=np.float64), lm.shape[0])
        return self._engine

    def routes(self, pairs, weights=None) -> list[tuple[list[int], float]]:
        """:meth:`route` for many (src, dst) pairs sharing one weighting (the CSR matrix is built once)."""
        mat = self.csr if weights is None else self.matrix(weights)
        return [self.route(s, t, matrix=mat) for s, t in pairs]

    def path_edges(self, nodes: list[int]) -> np.ndarray:
        """Edge indices along a node path."""
        if len(nodes) < 2:
            return np.zeros(0, dtype=np.int64)
        a = np.asarray(nodes[:-1])
        b = np.asarray(nodes[1:])
        pos = np.asarray(self._pairs[a, b]).ravel() - 1
        return pos % self.n_edges

    def path_coords(self, nodes: list[int]) -> list[list[float]]:
        return [[round(float(self.lat[i]), 6), round(float(self.lon[i]), 6)] for i in nodes]


def load_graph(con, city: str, *, min_component_m: float = MIN_COMPONENT_M) -> WalkGraph | None:
    """The city's walking graph, or None when it has no street tables/rows."""
    if not (has_table(con, "street_nodes") and has_table(con, "street_edges")):
        return None
    graph = WalkGraph.from_warehouse(con, city, min_component_m=min_component_m)
    return graph if graph.n_nodes else None
