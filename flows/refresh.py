"""Refresh: a run does only the changed work (``civicmash run --incremental``).

Two questions, each answered by a key the run compares with what the warehouse recorded for its last run:

* **Did a dataset's source change?** Its *source fingerprint* (:func:`source_fingerprint`) is cheap to get
  before fetching anything: the portal's own row count and newest update (the protocol's declared ``count``
  and ``updated_at``, through :mod:`.portal_checks`), or, for a file download, the server's ``ETag`` /
  ``Last-Modified`` / length from a ``HEAD`` request, else the SHA-256 of the file's bytes (no parsing); each
  combined with the dataset's profile block, so editing the block invalidates it. A protocol that gives a
  count but no update time (ArcGIS, CKAN) cannot prove that nothing changed before fetching: its rows are
  fetched, and the *content* fingerprint of the landed pages (:func:`content_fingerprint`) decides whether
  they are loaded again.
* **Did a product's inputs change?** Each product stage (offence classes, enrichment and views, street links,
  service access, each map) reads some canonical tables (:data:`STAGE_INPUTS`); a table's *state*
  (:func:`table_states`) is the ``datasets`` rows feeding it (which run loaded each, how, how many rows). A
  stage key is its inputs' states plus the profile's settings outside ``datasets`` and the civicmash version
  (:func:`stage_key`).

The skipping itself is Prefect's: each ``ingest``, ``load`` and product task runs with a :class:`RefreshKey`
cache policy (the key above), its result persisted under ``<out>/.prefect-results``; a key whose record is
valid in the warehouse (:func:`valid_dataset`: the same fingerprint, the dataset still holds the load that
recorded it, and that load was healthy) is looked up, and a hit returns the persisted result without running
the task (task run state ``Cached``). An invalid record sets ``refresh_cache`` so the task runs and overwrites
it. Without ``--incremental`` every task runs (``refresh_cache``) and records its key for the next refresh.

What the warehouse keeps: the run summary (``ingest_runs.summary``) has a ``refresh`` block naming, per
dataset, its fingerprint, the run whose load the warehouse holds and the decision (``unchanged: skipped``,
``changed: ...``), and per product stage its key and decision; the next run reads the latest one
(:func:`previous_state`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from prefect.cache_policies import CachePolicy

from civicmash.cities.profile import CityProfile, DatasetSpec
from civicmash.connectors import http
from civicmash.flows.portal_checks import portal_count, portal_updated

#: bump when the meaning of a fingerprint changes: every record made before is then invalid
VERSION = 1
#: where the flow's persisted task results (the cache) live, under ``--out``
RESULTS_DIR = ".prefect-results"

#: product stage -> the canonical tables it reads (a streets dataset's table is ``streets``). A table no stage
#: names here counts as an input of every stage (:func:`stage_inputs`), so a new table is never ignored.
STAGE_INPUTS: dict[str, tuple[str, ...]] = {
    "classify-offences": ("incidents",),
    "enrich-and-views": ("incidents", "boundaries"),
    "link-streets": ("streets", "boundaries"),
    "service-access": ("services", "streets", "boundaries", "population", "venues"),
    "hotspots": ("incidents",),
    "map:explorer": ("incidents", "boundaries", "streets", "services", "population", "area_indicators",
                     "iucr_codes"),
    "map:safe_route": ("incidents", "venues", "boundaries", "streets", "services"),
    "map:locator": ("services", "boundaries", "streets", "population", "venues", "outcomes"),
    "map:spending": ("spending", "contract_revisions", "place_spending", "outcomes", "population", "boundaries"),
    "map:providers": ("outcomes", "services", "boundaries", "streets", "population"),
}

#: product stage -> input table -> the only columns of it the stage reads: a refresh that changed the table's other
#: columns alone (say a description) leaves the stage's key, so its product, as it was (:func:`column_state`)
STAGE_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "hotspots": {"incidents": ("lat", "lon", "occurred_at")},
    "map:safe_route": {"incidents": ("dataset", "primary_type", "lat", "lon", "occurred_at", "time_is_midnight")},
}


@dataclass
class RefreshKey(CachePolicy):
    """A Prefect cache policy whose key was computed before the task is called (a fingerprint): the task's
    inputs do not enter it. ``key`` None: no caching."""

    key: str | None = None

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs) -> str | None:
        return self.key


def digest(value: Any) -> str:
    """SHA-256 (hex) of a JSON-able value, keys sorted."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def profile_block(spec: DatasetSpec) -> str:
    """The digest of a dataset's profile block (``[datasets.<name>]``, as parsed)."""
    return digest(spec.model_dump(mode="json"))


def settings_digest(profile: CityProfile) -> str:
    """The digest of what the products read from the profile outside its datasets (areas, maps, risk, offences,
    places, title...). Scheduling, HTTP, health limits and alerts do not change a product and are left out."""
    return digest(profile.model_dump(mode="json", exclude={"datasets", "schedule", "http", "health", "alerts"}))


def code_digest() -> str:
    """What identifies the code that builds the products: the installed civicmash version. Upgrading rebuilds
    every product once; a working-copy edit of ``warehouse/``, ``analysis/`` or ``maps/`` does not (run once
    without ``--incremental`` after one). Not the files' contents: a product must not be rebuilt because an
    unrelated file changed, and reading every file costs each run."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"civicmash {version('civicmash')}"
    except PackageNotFoundError:   # running from a source tree that is not installed
        return "civicmash (not installed)"


# --- source fingerprints -----------------------------------------------------------------------------

def _file_source(url: str, session: requests.Session) -> dict:
    """What identifies a downloadable file's version, cheapest first: the server's ``ETag`` or
    ``Last-Modified`` (one ``HEAD``), else the SHA-256 of its bytes (one ``GET``, nothing parsed)."""
    try:
        head = session.head(url, timeout=getattr(getattr(session, "civicmash", None), "timeout", 30.0),
                            allow_redirects=True)
        if head.status_code == 200 and (head.headers.get("ETag") or head.headers.get("Last-Modified")):
            return {"etag": head.headers.get("ETag"), "last_modified": head.headers.get("Last-Modified"),
                    "length": head.headers.get("Content-Length")}
    except requests.RequestException:
        pass   # no HEAD: hash the body
    body = http.get(url, session=session, expect="any").content
    return {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}


def source_fingerprint(name: str, spec: DatasetSpec, *, replay_base: str | None,
                       session: requests.Session | None) -> dict:
    """``{"key", "source", "strong", "why"}`` for one dataset, before fetching it.

    ``source``: what the portal said (``count`` and ``updated``; or the file's ``etag``/``last_modified``/
    ``length`` or ``sha256``); ``key``: the digest of it with the profile block (None when nothing could be
    learned: never skipped); ``strong``: whether an equal key proves the rows unchanged (a count with an update
    time, or a file's version), so the fetch itself can be skipped; ``why``: what the key is made of, in words.
    """
    block = profile_block(spec)
    if replay_base and not spec.replay:   # the fetch itself says why it cannot be served offline
        return {"key": None, "source": {}, "strong": False, "why": "no replay path", "block": block}
    try:
        fp = _source_fingerprint(name, spec, block=block, replay_base=replay_base, session=session)
    except Exception as exc:   # noqa: BLE001 - a fingerprint never fails the run: the dataset is fetched
        fp = {"key": None, "source": {}, "strong": False,
              "why": f"no fingerprint ({type(exc).__name__}: {exc})"}
    return {**fp, "block": block}


def _source_fingerprint(name: str, spec: DatasetSpec, *, block: str, replay_base: str | None,
                        session: requests.Session | None) -> dict:
    connector = spec.connector
    if connector.count is not None or connector.updated_at is not None:
        count, note = portal_count(name, spec, replay_base=replay_base, session=session)
        updated = portal_updated(name, spec, replay_base=replay_base, session=session)
        source = {"count": count, "updated": updated}
        if count is None and updated is None:
            return {"key": None, "source": source, "strong": False,
                    "why": f"the portal said neither its row count nor its newest update ({note})"}
        strong = count is not None and updated is not None
        why = (f"portal row count {count:,} and newest update {updated}" if strong else
               f"portal row count {count:,} (the protocol gives no update time)" if count is not None else
               f"newest update {updated} (no row count)")
        return {"key": digest({"v": VERSION, "block": block, "source": source}), "source": source,
                "strong": strong, "why": why, "count": count, "count_note": note, "updated": updated}
    location = connector.location(domain=spec.domain, url=spec.url, replay=spec.replay, replay_base=replay_base)
    if not location:
        return {"key": None, "source": {}, "strong": False, "why": "no address to check"}
    try:
        if str(location).startswith(("http://", "https://")):
            source = _file_source(str(location), session or requests.Session())
        else:
            data = Path(location).read_bytes()
            source = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    except (http.FetchError, requests.RequestException, OSError) as exc:
        return {"key": None, "source": {}, "strong": False, "why": f"the file could not be checked: {exc}"}
    why = (f"file sha256 {source['sha256'][:12]}" if "sha256" in source else
           f"file ETag {source.get('etag')} / Last-Modified {source.get('last_modified')}")
    return {"key": digest({"v": VERSION, "block": block, "source": source}), "source": source, "strong": True,
            "why": why}


def content_fingerprint(files: list[str | Path], *, skip_columns: tuple[str, ...]) -> str:
    """The digest of landed pages' data (every column but ``skip_columns``, e.g. the fetch time), in page
    order: equal for two fetches that received the same rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    h = hashlib.sha256()
    for path in files:
        table = pq.read_table(path)
        table = table.drop_columns([c for c in skip_columns if c in table.column_names])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        h.update(sink.getvalue())
    return h.hexdigest()


# --- the warehouse's record --------------------------------------------------------------------------

def previous_state(con, *, city: str) -> dict:
    """The ``refresh`` block of the city's latest run summary (``{}`` when there is none), with
    ``loaded_by``: dataset -> the run whose load the warehouse holds now (``datasets.run_id``)."""
    row = con.execute("SELECT summary FROM ingest_runs WHERE city = ? AND finished_at IS NOT NULL "
                      "ORDER BY finished_at DESC LIMIT 1", [city]).fetchone()
    state = {}
    if row and row[0]:
        try:
            state = (json.loads(row[0]) or {}).get("refresh") or {}
        except ValueError:
            state = {}
    loaded_by = dict(con.execute("SELECT dataset, run_id FROM datasets WHERE city = ?", [city]).fetchall())
    return {"datasets": state.get("datasets") or {}, "products": state.get("products") or {},
            "tables": state.get("tables") or {}, "loaded_by": loaded_by, "version": state.get("version")}


def carried(previous: dict, now: dict, part: str) -> dict:
    """This run's records of ``part`` (``datasets`` or ``products``) over the previous run's (a run of some
    datasets or maps only keeps the others' records for the next run; each is checked again before any reuse)."""
    before = previous.get(part) or {} if previous.get("version") == VERSION else {}
    return {**before, **now}


def valid_dataset(previous: dict, name: str, *, field: str, value: str | None) -> bool:
    """Whether the record of ``name`` in ``previous`` (:func:`previous_state`) says the warehouse holds exactly
    what ``value`` (a fingerprint, ``field`` = ``key`` or ``content``) describes: same value, the load it was
    recorded with still the dataset's current load, and that load healthy."""
    record = previous["datasets"].get(name)
    return bool(value and record and previous.get("version") == VERSION and record.get(field) == value
                and record.get("healthy") and record.get("load_run_id")
                and previous["loaded_by"].get(name) == record["load_run_id"])


def table_states(con, *, city: str, deleted: dict[str, int] | None = None,
                 tables_of: dict[str, str] | None = None, run_id: str | None = None) -> dict[str, str]:
    """Canonical table -> a digest of the ``datasets`` rows feeding it (which run loaded each dataset, how, how
    many rows, to which watermark); a deletion sweep that removed rows this run (``deleted``, by dataset, with
    ``tables_of`` dataset -> table) changes its table's state too."""
    rows = con.execute("SELECT table_name, dataset, run_id, load_mode, rows_in, rows_loaded, rows_quarantined, "
                       "watermark FROM datasets WHERE city = ? ORDER BY table_name, dataset", [city]).fetchall()
    by_table: dict[str, list] = {}
    for table, *rest in rows:
        by_table.setdefault(table, []).append(rest)
    for dataset, n in (deleted or {}).items():
        if n and tables_of and dataset in tables_of:
            by_table.setdefault(tables_of[dataset], []).append(["deleted", dataset, n, run_id])
    return {table: digest(entries) for table, entries in by_table.items()}


def column_state(con, *, city: str, table: str, columns: tuple[str, ...]) -> str:
    """A digest of the city's rows of ``table`` (its current rows: the warehouse's ``<table>_current`` view when
    there is one) over ``columns`` only: row count and an order-free sum of row hashes. Equal for two states of the
    table that differ only in other columns."""
    relation = f"{table}_current" if con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [f"{table}_current"]).fetchone()[0] \
        else table
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                      [relation]).fetchall()}
    present = [c for c in columns if c in have]
    if not present:
        return digest({"table": table, "columns": []})
    rows, total = con.execute(f"SELECT count(*), CAST(sum(hash({', '.join(present)})) AS VARCHAR) FROM {relation} "
                              "WHERE city = ?", [city]).fetchone()
    return digest({"table": table, "columns": present, "rows": rows, "hashes": total})


def stage_inputs(stage: str, tables: dict[str, str]) -> list[str]:
    """The tables ``stage`` reads: its :data:`STAGE_INPUTS`, plus any table no stage declares."""
    known = {t for inputs in STAGE_INPUTS.values() for t in inputs}
    return sorted(set(STAGE_INPUTS[stage]) | {t for t in tables if t not in known})


def stage_base(stage: str, *, city: str, warehouse: str, profile: CityProfile, extra: Any = None) -> str:
    """What a stage's key holds besides its inputs' states: the stage, the profile's settings, the code, ``extra``.
    Equal for two builds that differ only in their inputs (a stage may then update only what changed)."""
    return digest({"v": VERSION, "stage": stage, "city": city, "warehouse": str(Path(warehouse).resolve()),
                   "settings": settings_digest(profile), "code": code_digest(), "extra": extra})


def stage_key(stage: str, *, city: str, warehouse: str, profile: CityProfile, tables: dict[str, str],
              extra: Any = None) -> str:
    """The key of one product stage: its input tables' states, the profile's settings, the code, ``extra``."""
    return digest({"v": VERSION, "stage": stage, "city": city, "warehouse": str(Path(warehouse).resolve()),
                   "settings": settings_digest(profile), "code": code_digest(), "extra": extra,
                   "inputs": {t: tables.get(t) for t in stage_inputs(stage, tables)}})


def dataset_key(kind: str, *, city: str, name: str, warehouse: str, value: str | None) -> str | None:
    """The cache key of a dataset task (``kind`` ``ingest`` or ``load``) for a fingerprint ``value``."""
    if not value:
        return None
    return digest({"v": VERSION, "task": kind, "city": city, "dataset": name,
                   "warehouse": str(Path(warehouse).resolve()), "value": value})


def why_changed(previous: dict, name: str, fp: dict, *, field: str, value: str | None) -> str:
    """Why a dataset's record does not allow skipping it, in words for the run log and summary."""
    record = previous["datasets"].get(name)
    if not value:
        return fp.get("why") or "no fingerprint"
    if record is None:
        return "no earlier load recorded"
    if previous.get("version") != VERSION:
        return "recorded by another version of the refresh"
    if previous["loaded_by"].get(name) != record.get("load_run_id"):
        return (f"the warehouse holds the load of run {previous['loaded_by'].get(name)}, not the recorded "
                f"{record.get('load_run_id')}")
    if not record.get("healthy"):
        return "its last load failed the run-health check"
    if record.get("block") != fp.get("block"):
        return "its profile block changed"
    old, new = record.get("source") or {}, fp.get("source") or {}
    if field == "content":
        return f"{fp.get('why')}: the rows fetched differ from the last load"
    def short(v):   # a digest is named by its first 12 hex digits
        return v[:12] if isinstance(v, str) and len(v) == 64 else v
    parts = [f"{k} {short(old.get(k))} -> {short(new.get(k))}" for k in sorted(set(old) | set(new))
             if old.get(k) != new.get(k)]
    return "; ".join(parts) or "fingerprint changed"
