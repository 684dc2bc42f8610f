"""The stored route model: a warehouse's walk graph and risk model, built once and memory-mapped after that.

``civicmash route`` used to rebuild the walk graph (street tables -> CSR, components, landmarks) and the risk model
(incidents snapped, kernel along the network) for every question: ~3 s of a ~3 s answer on Chicago. Both depend
only on the warehouse's content and the risk options, so :func:`model_for` builds them on first use and writes them
beside the warehouse, in ``<warehouse>.routes/<city>-<key>/``: one ``.npy`` file per array (loaded with
``numpy.load(mmap_mode="r")``: nothing is parsed or copied) and ``meta.json``. Stored with them: the edge risk of
every whole hour of the day and of "all hours alike" (the time-of-day bands a walk is weighed by; a time between
whole hours, such as 23:30, is weighed from the stored kernel, exactly as before, in a few milliseconds).

**Key.** The directory name is a hash of: the warehouse file's real path, size and modification time (and its
write-ahead log's, if any), the city, the options the model depends on (every ``[maps.safe_route]`` option but
``at``/``from``/``to``/``detour``/``margin``, with the ``[risk]`` weights and street factors) and the size and
modification time of the code that builds it (this module, ``routing.py`` with ``MIN_COMPONENT_M``, ``risk.py``,
``route_planner.py``). A new run rewrites the warehouse file, so its size or time changes and the next question
builds a new store (``meta.json`` records the city's last run id, ``ingest_runs``, for the record); changed options
give another key. Only a **read-only** connection to a warehouse **file** uses the store (the CLI's): a writable
connection may change the data under it, and an in-memory warehouse has nothing to key on. A store that cannot be
written (a read-only directory) is not an error: the model is built in memory, as before.

A stored model gives the same answers as a fresh build, array for array (``tests/maps/test_route_store.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where used: `civicmash route`'s fast path (analysis/fast_route.py) reads
    import numpy as np  # the store with this module and without numpy

STORE_VERSION = 2  # 2: the sweep's scale per hour band and the street networks in meta.json (the fast path)
SUFFIX = ".routes"
IGNORED_OPTIONS = ("at", "from", "to", "detour", "margin", "hold")
_CODE = ("route_store.py", "routing.py", "risk.py", "route_planner.py")

BUILDS = 0
"""How many route models this process built (and tried to store): a test reads it to see that a second
question was answered from the store."""

_MEMO: dict[str, "StoredModel"] = {}  # key -> model, within one process (a test's or a server's many questions)
MEMO_SIZE = 4  # models kept in _MEMO (the oldest goes first)


class StoredModel:
    """The walk graph, the risk model and the window facts of one warehouse and set of risk options. (A plain
    class, not a dataclass: ``dataclasses`` imports ``inspect``, ~10 ms of every ``civicmash route``.)"""

    def __init__(self, *, graph, model, facts: dict, key: str, directory: Path | None = None,
                 hours: dict | None = None):
        self.graph = graph  # analysis.routing.WalkGraph
        self.model = model  # analysis.risk.RiskModel
        self.facts = facts  # risk_model's facts (window, counts), without the incidents
        self.key = key
        self.directory = directory  # where it is stored (None: in memory only)
        self.hours = {} if hours is None else hours  # hour band (None or 0..23) -> edge risk, as stored

    def edge_risk(self, hour: float | None) -> np.ndarray:
        """``model.edge_risk(hour)``: the stored band for ``None`` and whole hours, else computed (the same
        function on the same arrays, so the same numbers)."""
        band = None if hour is None else (int(hour) if float(hour).is_integer() else -1)
        if band != -1 and band in self.hours:
            return self.hours[band]
        return self.model.edge_risk(hour)


# ---- connections ---------------------------------------------------------------------------------------------

class LazyConnection:
    """A read-only warehouse connection opened on first use: a question the stored model answers alone (two
    ``lat,lon`` ends) never opens DuckDB. ``execute`` and every other attribute go to the real connection."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._con = None

    def _open(self):
        if self._con is None:
            from civicmash.warehouse import db

            self._con = db.connect(self.path, read_only=True)
        return self._con

    def execute(self, *args, **kwargs):
        return self._open().execute(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._open(), name)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def warehouse_of(con) -> Path | None:
    """The warehouse file behind a read-only connection, else None (writable or in-memory: no store)."""
    if isinstance(con, LazyConnection):
        return con.path
    try:
        mode = con.execute("SELECT current_setting('access_mode')").fetchone()[0]
        if str(mode).lower() != "read_only":
            return None
        row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    except Exception:  # not a DuckDB connection (a test double): no store
        return None
    return Path(row[0]) if row and row[0] else None


# ---- key -----------------------------------------------------------------------------------------------------

def _stat(path: Path) -> list | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def model_options(options: dict | None) -> dict:
    """The options a route model depends on (every option but the walk's own: at, from, to, detour, margin,
    hold)."""
    return {k: v for k, v in dict(options or {}).items() if k not in IGNORED_OPTIONS}


def key_of(db_path: Path, *, city: str, options: dict | None) -> tuple[str, dict]:
    """(hex key, what it hashes) of the model of ``city`` in the warehouse ``db_path`` with ``options``. The street
    networks' threshold (``routing.MIN_COMPONENT_M``) is covered by routing.py's size and time among the code's;
    importing it would import numpy, which ``civicmash route``'s fast path does without."""
    real = Path(os.path.realpath(db_path))
    here = Path(__file__).resolve().parent
    parts = {
        "version": STORE_VERSION,
        "warehouse": str(real),
        "file": _stat(real),
        "wal": _stat(Path(str(real) + ".wal")),
        "city": city,
        "options": json.loads(json.dumps(model_options(options), sort_keys=True, default=str)),
        "code": {name: _stat(here / name) for name in _CODE},
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20], parts


def store_root(db_path: Path) -> Path:
    return Path(str(db_path) + SUFFIX)


def _slug(city: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", city)[:60] or "city"


# ---- build, save, load ---------------------------------------------------------------------------------------

def build(con, *, city: str, options: dict | None, builder) -> StoredModel | None:
    """A fresh model: ``builder(con, city, options)`` gives (graph, risk model, facts) or None without a street
    graph (``route_planner`` passes its own: this module does not import it); the landmarks and the hour bands
    are added here."""
    global BUILDS
    built = builder(con, city, dict(options or {}))
    if built is None:
        return None
    BUILDS += 1
    graph, model, facts = built
    facts = {k: v for k, v in facts.items() if k != "_inc"}
    graph._landmarks()
    hours = {None: model.edge_risk(None)}
    for h in range(24):
        hours[h] = model.edge_risk(float(h))
    return StoredModel(graph=graph, model=model, facts=facts, key="", hours=hours)


def sweep_scale(length, risk) -> list:
    """[p95, any positive] of the edge densities ``risk / max(length, 1)`` that are positive: the scale of the route
    planner's sweep, computed as :func:`analysis.route_planner.pareto_routes` computes it (p95 = 1.0 when no edge has
    risk, and then only the shortest route is searched). Stored per hour band so the fast path needs no numpy."""
    import numpy as np

    density = np.asarray(risk, dtype=float) / np.maximum(length, 1.0)
    positive = density[density > 0]
    return [float(np.percentile(positive, 95)) if positive.size else 1.0, bool(positive.size)]


def _risk_arrays(model) -> tuple[dict[str, "np.ndarray"], dict]:
    k = model.kernel.tocsr()
    arrays = {"k_data": k.data, "k_indices": k.indices, "k_indptr": k.indptr, "inc_loc": model.inc_loc,
              "inc_type_w": model.inc_type_w, "inc_hour": model.inc_hour}
    facts = {"k_shape": list(k.shape), "bandwidth_m": model.bandwidth_m, "sigma_h": model.sigma_h,
             "n_incidents": model.n_incidents, "n_snapped": model.n_snapped, "factors": None}
    f = model.factors
    if f is not None:
        arrays["f_lit_class"], arrays["f_near_bar"] = f.lit_class, f.near_bar
        if f.near_outage is not None:
            arrays["f_near_outage"] = f.near_outage
        facts["factors"] = {"lit": f.lit, "bars": f.bars, "n_bars": f.n_bars, "n_outages": f.n_outages}
    return arrays, facts


def _risk_from(graph, arrays: dict, facts: dict):
    from scipy.sparse import csr_matrix

    from .risk import RiskModel, StreetFactors

    kernel = csr_matrix((arrays["k_data"], arrays["k_indices"], arrays["k_indptr"]), shape=tuple(facts["k_shape"]))
    factors = None
    ff = facts["factors"]
    if ff is not None:
        factors = StreetFactors(lit_class=arrays["f_lit_class"], near_bar=arrays["f_near_bar"], lit=ff["lit"],
                                bars=ff["bars"], n_bars=ff["n_bars"], near_outage=arrays.get("f_near_outage"),
                                n_outages=ff["n_outages"])
    return RiskModel(graph=graph, kernel=kernel, inc_loc=arrays["inc_loc"], inc_type_w=arrays["inc_type_w"],
                     inc_hour=arrays["inc_hour"], bandwidth_m=facts["bandwidth_m"], sigma_h=facts["sigma_h"],
                     n_incidents=facts["n_incidents"], n_snapped=facts["n_snapped"], factors=factors)


def _last_run(con, city: str) -> str | None:
    try:
        rows = con.execute("SELECT city, run_id, finished_at FROM ingest_runs ORDER BY started_at").fetchall()
    except Exception:  # no ingest_runs table (a hand-made warehouse)
        return None
    mine = [r for r in rows if r[0] == city]
    return str(mine[-1][1]) if mine else None


def save(stored: StoredModel, db_path: Path, *, city: str, parts: dict, run_id: str | None) -> Path | None:
    """Write ``stored`` under ``<warehouse>.routes/<city>-<key>/`` (atomically: a temporary directory renamed into
    place) and remove the city's older stores; None when the directory cannot be written."""
    import shutil
    import tempfile

    import numpy as np

    root = store_root(db_path)
    final = root / f"{_slug(city)}-{stored.key}"
    try:
        root.mkdir(exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    except OSError:
        return None
    try:
        g_arrays, g_facts = stored.graph.state()
        r_arrays, r_facts = _risk_arrays(stored.model)
        arrays = {f"g{name}": a for name, a in g_arrays.items()} | {f"r_{name}": a for name, a in r_arrays.items()}
        for band, risk in stored.hours.items():
            arrays["h_all" if band is None else f"h_{band:02d}"] = risk
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)
        meta = {"version": STORE_VERSION, "key": stored.key, "keyed_on": parts, "run_id": run_id,
                "graph": g_facts, "risk": r_facts, "facts": stored.facts, "arrays": sorted(arrays),
                # for analysis/fast_route.py: the kept street networks and, per band, the sweep's scale
                "networks": [int(c) for c in stored.graph.networks.tolist()],
                "sweep_scale": {("all" if band is None else f"{band:02d}"): sweep_scale(stored.graph.length, risk)
                                for band, risk in stored.hours.items()}}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:  # another process stored the same key first: theirs is as good
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    for old in root.glob(f"{_slug(city)}-*"):
        if old != final and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return final


def load(directory: Path) -> StoredModel | None:
    """The model stored in ``directory`` (arrays memory-mapped), or None when it is missing or unreadable."""
    import numpy as np

    from .routing import WalkGraph

    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("version") != STORE_VERSION:
            return None
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                  for name in meta["arrays"]}
    except (OSError, ValueError, KeyError):
        return None
    graph = WalkGraph.from_state({n[1:]: a for n, a in arrays.items() if n.startswith("g")}, meta["graph"])
    model = _risk_from(graph, {n[2:]: a for n, a in arrays.items() if n.startswith("r_")}, meta["risk"])
    hours = {None if n == "h_all" else int(n[2:]): a for n, a in arrays.items() if n.startswith("h_")}
    return StoredModel(graph=graph, model=model, facts=meta["facts"], key=meta["key"], directory=directory,
                       hours=hours)


def model_for(con, *, city: str, options: dict | None, builder) -> StoredModel | None:
    """The stored model of ``city`` for a read-only warehouse connection: loaded when stored, else built (with
    ``builder``, see :func:`build`) and stored. None when ``con`` is not a read-only connection to a warehouse file (the caller builds as before) or
    the city has no street graph."""
    db_path = warehouse_of(con)
    if db_path is None:
        return None
    key, parts = key_of(db_path, city=city, options=options)
    if key in _MEMO:
        return _MEMO[key]
    directory = store_root(db_path) / f"{_slug(city)}-{key}"
    stored = load(directory) if directory.is_dir() else None
    if stored is None:
        stored = build(con, city=city, options=options, builder=builder)
        if stored is None:
            return None
        stored.key = key
        stored.directory = save(stored, db_path, city=city, parts=parts, run_id=_last_run(con, city))
    while len(_MEMO) >= MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = stored
    return stored


def forget() -> None:
    """Drop the in-process memo (tests: the next question reads the store from disk)."""
    _MEMO.clear()


# ---- small JSON facts beside the warehouse (the CLI's parsed profile) ----------------------------------------

FRESH_S = 2.0  # a source file changed less than this long ago is not remembered (see remember_json)


def _source_key(source: Path, extra: dict) -> str:
    """Key of ``source`` by its path and status (size, modification time, inode): read without opening it, so a
    command that parses its profile once still opens it once."""
    st = Path(source).stat()
    text = json.dumps({"path": os.path.realpath(source), "stat": [st.st_size, st.st_mtime_ns, st.st_ino], **extra},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def recall_json(db_path: Path, kind: str, source: Path, extra: dict) -> dict | None:
    """JSON stored by :func:`remember_json` for ``source`` unchanged since (same path, size, time) and the same
    ``extra``, else None."""
    try:
        path = store_root(db_path) / f"{kind}-{_source_key(source, extra)}.json"
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def remember_json(db_path: Path, kind: str, source: Path, extra: dict, value: dict) -> None:
    """Store ``value`` keyed by ``source``'s path and status and ``extra`` (best effort: errors are ignored).

    A source modified less than ``FRESH_S`` ago is not remembered: an edit within the file system's timestamp
    granularity of the one read could keep its size and time; any later edit changes the time ("racy git")."""
    import time

    try:
        if time.time() - Path(source).stat().st_mtime < FRESH_S:
            return
        root = store_root(db_path)
        root.mkdir(exist_ok=True)
        path = root / f"{kind}-{_source_key(source, extra)}.json"
        tmp = root / f".tmp-{os.getpid()}-{path.name}"
        tmp.write_text(json.dumps(value, default=str), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
