"""``civicmash route``'s fast path: a walk between two ``lat,lon`` points answered from the stored route model
(:mod:`analysis.route_store`) by the compiled engine (``analysis/_fastroute.c``), importing neither numpy nor scipy
nor DuckDB.

A warm ``civicmash route`` used to spend most of its time starting numpy and ``scipy.sparse.csgraph`` (~0.3 s of a
~0.7 s answer on a shared machine). Here the stored ``.npy`` arrays are memory-mapped with :mod:`mmap` and handed to
the engine as buffers; the engine snaps the two ends (a scan of the nodes), runs the 15 weightings of the Pareto
sweep (one bidirectional landmark A* each) and sums lengths and exposure along the routes with numpy's own pairwise
summation, so the answer is the one :func:`analysis.route_planner.plan` gives, byte for byte (the tests compare them).

:func:`answer` returns None whenever it cannot promise that, and the command then runs :func:`plan` as before: the
engine is not built, the model is not stored yet (the first question after a run builds it), an end is not a
``lat,lon`` pair, the hour falls between whole hours (a walk at 23:30 is weighed from the kernel), the profile's
street factors apply, two nodes tie for nearest, or the answer is an error (an end far from the streets, separate
networks). Only the standard library is imported here; the small pure pieces the planner shares with it
(the words of the comparison, the Pareto front, the recommendation) live here too.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import re
from pathlib import Path

from . import advice, route_store

try:
    from . import _fastroute
except ImportError:  # pragma: no cover - depends on the build
    _fastroute = None

# a place typed as "lat,lon" (analysis.places reads places with these, too)
LATLON = re.compile(r"^\s*\(?\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*\)?\s*$")
SNAP_NOTE_M = 50.0      # a place farther than this from the street graph is noted in the text outputs
NEAR_LIMIT_M = 1000.0   # a place farther than this from the street graph is refused
# the same values as analysis.routing._M_PER_DEG_LAT and analysis.nearest.WALK_SPEED_M_S (the tests check)
M_PER_DEG_LAT = 110_540.0
WALK_SPEED_M_S = 1.3
DEFAULT_MARGIN = 0.0  # [maps.safe_route] margin: a safer route must be this share less exposed than the shortest
SWEEP = (0.0, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0, 1e5)
EXPOSURE_UNITS = ("weighted incidents: each incident of the window counts its type weight (x its hour weight "
                  "with --at), spread along the streets within 100 m; a route's exposure sums what lies on it "
                  "(x the profile's street factors, lit streets and bars, at the hours they apply)")
_TIE_M = 1e-6  # two nodes this close to equally near: analysis.routing decides with its k-d tree, so we do not answer
_NPY_CODES = {"<f8": "d", "<i8": "q", "<i4": "i", "|b1": "?", "|u1": "B", "|i1": "b", "<i2": "h"}


def engine_available() -> bool:
    return _fastroute is not None


def snap_words(label: str, snap_m: float | None) -> str:
    """``"note: 'X' is 120 m from the nearest street of the graph (walked as a straight line)"`` when the place
    lies more than :data:`SNAP_NOTE_M` from the street graph, else ``""``: one wording for every command."""
    if snap_m is None or snap_m <= SNAP_NOTE_M:
        return ""
    return f"note: {label} is {snap_m:,.0f} m from the nearest street of the graph (walked as a straight line)"


# ---- shared with analysis.route_planner -----------------------------------------------------------------------

def _pct(new: float, old: float) -> float:
    return 0.0 if old <= 0 else (new - old) / old * 100


def compare_words(short: dict, other: dict) -> str:
    """``"+8% distance, −40% exposure"`` (Unicode minus)."""
    d = _pct(other["length_m"], short["length_m"])
    e = _pct(other["exposure"], short["exposure"])
    return f"{d:+.0f}% distance, {e:+.0f}% exposure".replace("-", "\u2212")


def comparison(short: dict, safer: dict, detour: float, margin: float = DEFAULT_MARGIN, best: dict | None = None) -> str:
    """The trade-off in words; ``best``: the least exposed route within the detour when the margin set it aside."""
    if safer["nodes"] == short["nodes"]:
        if short["exposure"] <= 0:
            return "The shortest route has no recorded exposure (0 exposure): it is recommended."
        if best is not None and best["nodes"] != short["nodes"]:
            return (f"The shortest route is recommended: no route within a +{detour:.0%} detour is at least "
                    f"{margin:.0%} less exposed (the least exposed one: {compare_words(short, best)}).")
        return f"The shortest route is already the least exposed one within a +{detour:.0%} detour (0% exposure change)."
    return compare_words(short, safer)


def pareto_front(candidates) -> list[dict]:
    """The routes no other route beats on both length and exposure, shortest first."""
    front, best = [], math.inf
    for r in sorted(candidates, key=lambda r: (r["length_m"], r["exposure"])):
        if r["exposure"] < best - 1e-9:
            front.append(r)
            best = r["exposure"]
    return front


def recommend(front: list[dict], detour: float, margin: float = DEFAULT_MARGIN) -> tuple[dict, dict, dict, dict]:
    """(shortest, recommended, safest, least exposed within the detour) of a Pareto front: the recommended route is
    the least exposed one no longer than ``(1 + detour)`` times the shortest, if it is at least ``margin`` less
    exposed than the shortest (0.2 = 20 % less), else the shortest (advice that does not flip on small differences).
    Adds ``vs_shortest`` and ``within_detour`` to every route."""
    shortest = front[0]
    budget = (1 + detour) * shortest["length_m"] + 1e-6
    within = [r for r in front if r["length_m"] <= budget]
    best = safer = min(within, key=lambda r: (r["exposure"], r["length_m"]))
    if margin > 0 and safer is not shortest and safer["exposure"] > (1 - margin) * shortest["exposure"]:
        safer = shortest
    safest = front[-1]
    for r in front:
        r["vs_shortest"] = compare_words(shortest, r)
        r["within_detour"] = r["length_m"] <= budget
    return shortest, safer, safest, best


# ---- the stored arrays, without numpy ---------------------------------------------------------------------------

class _Arrays:
    """The store's ``.npy`` files memory-mapped read-only, as typed memoryviews (kept open until :meth:`close`)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._maps: list[mmap.mmap] = []
        self.shapes: dict[str, tuple[int, ...]] = {}

    def get(self, name: str) -> memoryview:
        with open(self.directory / f"{name}.npy", "rb") as f:
            head = f.read(12)
            if head[:6] != b"\x93NUMPY":
                raise ValueError(f"{name}.npy is not a .npy file")
            if head[6] == 1:
                start, size = 10, int.from_bytes(head[8:10], "little")
            else:
                start, size = 12, int.from_bytes(head[8:12], "little")
            f.seek(start)
            header = f.read(size).decode("latin-1")
            descr = re.search(r"'descr':\s*'([^']*)'", header)
            shape = re.search(r"'shape':\s*\(([^)]*)\)", header)
            if descr is None or shape is None or "'fortran_order': False" not in header:
                raise ValueError(f"{name}.npy: unexpected header {header!r}")
            code = _NPY_CODES.get(descr.group(1))
            if code is None:
                raise ValueError(f"{name}.npy: unexpected type {descr.group(1)}")
            dims = tuple(int(x) for x in shape.group(1).replace(" ", "").split(",") if x)
            count = math.prod(dims)
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._maps.append(m)
        self.shapes[name] = dims
        offset = start + size
        view = memoryview(m)[offset:offset + count * _item_size(code)]
        return view.cast(code)

    def close(self) -> None:
        for m in self._maps:
            try:
                m.close()
            except BufferError:  # a view still exported (an exception mid-answer): the process ends soon anyway
                pass
        self._maps.clear()


def _item_size(code: str) -> int:
    return {"d": 8, "q": 8, "i": 4, "h": 2, "?": 1, "B": 1, "b": 1}[code]


# ---- the answer ---------------------------------------------------------------------------------------------------

def hour_of_text(text: str) -> float:
    """The hour a time of day written ``HH:MM`` or as a number (``23.5``) stands for; ValueError when it is
    neither (the range is the caller's to check)."""
    if ":" in text:
        hh, mm = text.split(":", 1)
        return int(hh) + int(mm[:2]) / 60
    return float(text)


def _hour(at) -> tuple[bool, float | None]:
    """(understood, hour) of ``at`` as analysis.risk.parse_at reads it; not understood: the full path decides."""
    if at is None or at == "":
        return True, None
    try:
        h = hour_of_text(str(at).strip())
    except ValueError:
        return False, None
    if not 0 <= h <= 24:
        return False, None
    return True, h % 24


def _end(text) -> tuple[float, float, str] | None:
    raw = str(text or "").strip()
    m = LATLON.match(raw)
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon, raw


def answer(db_path: Path | str, *, city: str, options: dict | None, origin, destination, at=None,
           detour: float = 0.25) -> dict | None:
    """What :func:`analysis.route_planner.plan` returns for a walk between two ``lat,lon`` places, from the stored
    model of ``city`` in the warehouse ``db_path`` (read-only; the warehouse itself is not opened); None when the
    fast path cannot promise the same answer (see the module doc): the caller then runs ``plan``."""
    if _fastroute is None or os.environ.get("CIVICMASH_ROUTE_ENGINE", "") == "scipy":  # routing.ENGINE_ENV
        return None
    a, b = _end(origin), _end(destination)
    ok, hour = _hour(at)
    if a is None or b is None or not ok:
        return None
    band = "all" if hour is None else (f"{int(hour):02d}" if float(hour).is_integer() else None)
    if band is None:
        return None
    db_path = Path(db_path)
    key, _ = route_store.key_of(db_path, city=city, options=options)
    directory = route_store.store_root(db_path) / f"{route_store._slug(city)}-{key}"
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("version") != route_store.STORE_VERSION or meta["risk"].get("factors") is not None:
        return None
    arrays = _Arrays(directory)
    try:
        return _answer(arrays, meta, city=city, a=a, b=b, hour=hour, band=band, detour=detour, options=options)
    except (OSError, ValueError, KeyError):
        return None
    finally:
        arrays.close()


def _answer(arrays: _Arrays, meta: dict, *, city: str, a, b, hour, band: str, detour: float,
            options: dict | None = None) -> dict | None:
    g = meta["graph"]
    x, y = arrays.get("gx"), arrays.get("gy")
    lat, lon = arrays.get("glat"), arrays.get("glon")
    component, walk = arrays.get("gcomponent"), arrays.get("gwalk_mask")
    kx, lat0, lon0 = g["kx"], g["lat0"], g["lon0"]

    def project(p):
        return (p[1] - lon0) * kx, (p[0] - lat0) * M_PER_DEG_LAT

    qa, qb = project(a), project(b)
    # check_near: each end within 1 km of some kept street network (else plan's error message)
    for q in (qa, qb):
        node, d1, d2 = _fastroute.nearest(x, y, walk, 1, q[0], q[1])
        if node < 0 or abs(d2 - d1) <= _TIE_M or d1 > NEAR_LIMIT_M:
            return None
    # WalkGraph.snap_pair: both ends into the one network with the smallest sum of snap distances
    candidates = []
    for label in meta["networks"]:
        ia, da, da2 = _fastroute.nearest(x, y, component, label, qa[0], qa[1])
        ib, db, db2 = _fastroute.nearest(x, y, component, label, qb[0], qb[1])
        if ia < 0 or ib < 0 or abs(da2 - da) <= _TIE_M or abs(db2 - db) <= _TIE_M:
            return None
        if da <= NEAR_LIMIT_M and db <= NEAR_LIMIT_M:
            candidates.append((ia, ib, da, db))
    if not candidates:
        return None  # separate street networks: plan says so
    src, dst, da, db = min(candidates, key=lambda v: (v[2] + v[3], v[0], v[1]))

    risk = arrays.get("h_all" if band == "all" else f"h_{band}")
    lm = arrays.get("g_lm")
    engine = _fastroute.Engine(arrays.get("g_indptr"), arrays.get("g_indices"), arrays.get("g_edge_of_entry"),
                               arrays.get("glength"), lm, arrays.shapes["g_lm"][0])

    def summary(nodes, edges, lam):
        length, exposure = engine.path_sums(edges, risk)
        return {"nodes": nodes, "length_m": round(length, 1), "minutes": round(length / WALK_SPEED_M_S / 60, 1),
                "exposure": round(exposure, 3),
                "coords": [[round(lat[i], 6), round(lon[i], 6)] for i in nodes], "lambda": lam, "_edges": edges}

    if src == dst:
        front = [summary([src], [], 0.0)]
    else:
        p95, positive = meta["sweep_scale"][band]
        sweep = list(SWEEP) if positive else list(SWEEP)[:1]
        found = engine.sweep_risk(src, dst, risk, p95, [c if c > 0 else 1e-9 for c in sweep])
        seen: dict[tuple, dict] = {}
        for c, (nodes, _cost, edges) in zip(sweep, found):
            if not nodes:
                return None
            if tuple(nodes) not in seen:
                seen[tuple(nodes)] = summary(nodes, edges, float(c))
        front = pareto_front(seen.values())
    margin = float((options or {}).get("margin") or DEFAULT_MARGIN)
    shortest, safer, safest, best = recommend(front, detour, margin)
    hold = advice.hold_of(options)
    if hold > 0:   # stable advice (analysis/advice.py): a pair asked before under another model goes to plan
        node_ids, edge_ids = arrays.get("gnode_ids"), arrays.get("gedge_ids")
        memory = advice.memory_file(arrays.directory.parent, route_store._slug(city))   # beside the stored model
        key = advice.pair_key(node_ids[src], node_ids[dst], hour, detour, margin)
        edges = [int(edge_ids[e]) for e in safer["_edges"]]
        entry = advice.recall(memory, key)
        if entry is None:
            advice.remember(memory, key, model=meta["key"], edges=edges)
        elif entry["model"] != meta["key"] or entry["edges"] != edges:
            return None   # asked before under another model, or the last advice was kept: plan decides
    text = comparison(shortest, safer, detour, margin, best)
    strip = lambda r: {k: v for k, v in r.items() if k not in ("nodes", "_edges")}  # noqa: E731

    def place(p, node, d):
        return {"lat": round(p[0], 6), "lon": round(p[1], 6), "kind": "latlon", "label": p[2], "detail": "",
                "node_lat": round(lat[node], 6), "node_lon": round(lon[node], 6), "snap_m": round(d, 1)}

    return {
        "city": city,
        "origin": place(a, src, da),
        "destination": place(b, dst, db),
        "at": None if hour is None else f"{int(hour):02d}:{int(round(hour % 1 * 60)):02d}",
        "detour": detour,
        "shortest": strip(shortest),
        "recommended": strip(safer),
        "safest": strip(safest),
        "pareto": [strip(r) for r in front],
        "comparison": text,
        "window": dict(meta["facts"]),
        "units": EXPOSURE_UNITS,
        "street_factors": [],
    }
