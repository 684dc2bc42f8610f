"""The Prefect flow: portal -> landing Parquet -> DuckDB warehouse -> run health -> HTML maps -> run summary.

Thin by design: every stage calls a room (connectors, warehouse, maps); this module only wires them,
in order, and reports what happened. The maps are those the city's data allows (:mod:`.products`); a dataset
that loaded nothing or quarantined too much fails the run after everything else is done (:mod:`.health`).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect import runtime as prefect_runtime
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from civicmash.cities.profile import CityProfile, load_profile
from civicmash.connectors import checkpoint
from civicmash.connectors.landing import landed_meta, write_page
from civicmash.flows.context import area_settings, map_options, warehouse_file
from civicmash.flows.explorer_extras import compute_hotspots, write_city_feeds
from civicmash.flows.alerts import AlertError, alert_body, send_alert
from civicmash.flows.health import DatasetHealth, RunHealthError, check_health, health_message
from civicmash.flows import refresh
from civicmash.flows.portal_checks import can_sweep, portal_count, portal_ids, portal_updated
from civicmash.flows.products import ProductPlan, plan_products, present_tables
from civicmash.flows.run_lock import run_lock
from civicmash.flows.run_records import write_changes_page, write_run_manifest
from civicmash.flows.sources import http_session, is_incremental, iter_dataset_pages
from civicmash.flows.status import record_health, worst
from civicmash.maps import explorer, locator, providers, safe_route, spending
from civicmash.maps import status as status_page
from civicmash.maps.render import PageContext
from civicmash.warehouse import db, enrich, offences, streets, views
from civicmash.warehouse.deletions import delete_missing
from civicmash.warehouse.load import dataset_watermark, load_dataset, record_run, stored_counts

MAP_BUILDERS = {
    "explorer": explorer.build,
    "safe_route": safe_route.build,
    "locator": locator.build,
    "spending": spending.build,
    "providers": providers.build,
}

# Tables reported in the run summary, in the order a reader meets them.
SUMMARY_TABLES = ["incidents", "venues", "services", "spending", "boundaries", "population",
                  "street_nodes", "street_edges", "quarantine"]


def warehouse_path(out: str | Path) -> Path:
    return warehouse_file(out=out)


def maps_dir(out: str | Path, city: str) -> Path:
    return Path(out) / "maps" / city


def _fetch_signature(spec) -> dict:
    """What a landing dir is fetched from: a resume only continues a fetch of the same source."""
    return {"protocol": spec.protocol, "domain": spec.domain, "dataset_id": spec.dataset_id,
            "format": spec.format, "where": spec.options.get("where"), "replay": spec.replay}


@task(name="fingerprint-sources", cache_policy=NO_CACHE)
def fingerprint_sources(profile: CityProfile, names: list[str], *, replay_base: str | None) -> dict[str, dict]:
    """Every dataset's source fingerprint (:func:`.refresh.source_fingerprint`), asked before any fetch: a few
    small requests per dataset, asked of the portals concurrently (a session per thread)."""
    local = threading.local()

    def one(name: str) -> dict:
        if not hasattr(local, "session"):
            local.session = http_session(profile.http, replay=replay_base is not None)
        return refresh.source_fingerprint(name, profile.datasets[name], replay_base=replay_base,
                                          session=local.session)

    with ThreadPoolExecutor(max_workers=min(8, max(1, len(names))), thread_name_prefix="fingerprint") as pool:
        return dict(zip(names, pool.map(one, names)))


def _refreshable(task_fn, key: str | None, *, store: Path, reuse: bool):
    """``task_fn`` under the :class:`.refresh.RefreshKey` cache policy ``key``, its result persisted in ``store``;
    ``reuse``: a result recorded under ``key`` may be returned instead of running (else the task runs and its
    result replaces the recorded one). ``key`` None: the task as it is (never cached)."""
    if key is None:
        return task_fn
    return task_fn.with_options(cache_policy=refresh.RefreshKey(key=key), persist_result=True,
                                result_storage=store, refresh_cache=not reuse)


def _quoted(value: Any) -> Any:
    """The profile (a large pydantic model) wrapped in Prefect's ``quote``: the task receives it unchanged, but
    Prefect does not walk every field of it looking for futures on each task call (a profile holds no future)."""
    return quote(value) if isinstance(value, CityProfile) else value


def _run(task_fn, *args, **kwargs) -> tuple[Any, bool]:
    """Call a task; ``(its result, whether Prefect returned it from the cache)``. A failed task raises as usual."""
    state = task_fn(*[_quoted(a) for a in args], return_state=True, **{k: _quoted(v) for k, v in kwargs.items()})
    return state.result(), state.name == "Cached"


def _refresh_dataset(profile: CityProfile, name: str, fp: dict, *, previous: dict, incremental: bool, store: Path,
                     warehouse: str, run_id: str, landing_root: str, replay_base: str | None,
                     since: str | None) -> tuple[dict, dict, dict]:
    """Fetch and load one dataset, or (``incremental``) reuse what the warehouse holds when its source is
    unchanged (:mod:`.refresh`): ``(ingested, load, record)``; ``record`` is the dataset's entry of the run
    summary's ``refresh`` block (``decision`` says what was done and why)."""
    city = profile.name
    strong = bool(fp["strong"] and fp["key"])
    reuse_fetch = incremental and strong and refresh.valid_dataset(previous, name, field="key", value=fp["key"])
    ingest_key = refresh.dataset_key("ingest", city=city, name=name, warehouse=warehouse,
                                     value=fp["key"] if strong else None)
    ingested, fetch_cached = _run(_refreshable(ingest_dataset, ingest_key, store=store, reuse=reuse_fetch),
                                  profile, name, landing_root=landing_root, replay_base=replay_base, since=since,
                                  run_id=run_id, content=not strong)
    field, value = ("key", fp["key"]) if strong else ("content", ingested.get("content"))
    reuse_load = incremental and refresh.valid_dataset(previous, name, field=field, value=value)
    record = previous["datasets"].get(name) or {}
    if fetch_cached and reuse_load and record.get("load"):
        # the source is unchanged and the warehouse holds the load recorded with it: the fetch was Prefect's cache
        # hit, and the load that would be one too is the record itself (one task run per unchanged dataset)
        load, load_cached = dict(record["load"]), True
    else:
        load_key = refresh.dataset_key("load", city=city, name=name, warehouse=warehouse, value=value)
        load, load_cached = _run(_refreshable(load_into_warehouse, load_key, store=store, reuse=reuse_load),
                                 profile, name, ingested, warehouse=warehouse, run_id=run_id)
    if load_cached:
        held_by = record.get("load_run_id")
        decision = (f"unchanged: skipped ({fp['why']}; as loaded by run {held_by})" if fetch_cached else
                    f"unchanged: fetched, the same rows as loaded by run {held_by}: not reloaded ({fp['why']})")
    elif not incremental:
        decision = "full run: fetched and loaded"
    else:
        decision = f"changed: fetched and loaded ({refresh.why_changed(previous, name, fp, field=field, value=value)})"
    get_run_logger().info("%s/%s: %s", city, name, decision)
    if fetch_cached:   # nothing was fetched: the portal was asked only for its fingerprint, now
        ingested = {**ingested, "mode": "unchanged", "fetched": 0, "fetched_pages": 0,
                    "fetched_at": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(),
                    "portal_count": fp.get("count", ingested.get("portal_count")),
                    "count_note": fp.get("count_note", ingested.get("count_note")),
                    "portal_updated_at": fp.get("updated", ingested.get("portal_updated_at"))}
    if load_cached:
        load = {**load, "skipped": True, "refresh": decision}
    entry = {"key": fp["key"], "strong": strong, "block": fp.get("block"), "source": fp.get("source"),
             "content": ingested.get("content"), "load_run_id": record.get("load_run_id") if load_cached else run_id,
             "healthy": record.get("healthy") if load_cached else None, "fetched": not fetch_cached,
             "loaded": not load_cached, "decision": decision,
             "load": {k: v for k, v in load.items() if k not in ("skipped", "refresh")}}
    return ingested, load, entry


class _Products:
    """The product stages of one run, each skipped (a Prefect cache hit) when its inputs did not change since
    the run that built it (:func:`.refresh.stage_key`), else run and recorded."""

    def __init__(self, profile: CityProfile, *, warehouse: str, store: Path, previous: dict, tables: dict,
                 incremental: bool):
        self.profile, self.warehouse, self.store, self.previous = profile, warehouse, store, previous
        self.tables, self.incremental, self.records = tables, incremental, {}
        old = previous.get("tables") or {}
        self.changed = sorted(t for t in set(tables) | set(old) if tables.get(t) != old.get(t))

    def _tables_for(self, stage: str) -> dict[str, str]:
        """The input states of ``stage``'s key: a table it reads only some columns of
        (:data:`.refresh.STAGE_COLUMNS`) counts by those columns' content, the others by their loads."""
        columns = refresh.STAGE_COLUMNS.get(stage) or {}
        if not columns:
            return self.tables
        with contextlib.closing(db.connect(self.warehouse, read_only=True, spatial=False)) as con:
            return {**self.tables, **{table: refresh.column_state(con, city=self.profile.name, table=table,
                                                                  columns=cols)
                                      for table, cols in columns.items() if table in self.tables}}

    def run(self, stage: str, task_fn, *args, extra: Any = None, output: Path | None = None, **kwargs):
        key = refresh.stage_key(stage, city=self.profile.name, warehouse=self.warehouse, profile=self.profile,
                                tables=self._tables_for(stage), extra=extra)
        before = self.previous["products"].get(stage) or {}
        missing = output is not None and not output.is_file()
        reuse = (self.incremental and before.get("key") == key and self.previous.get("version") == refresh.VERSION
                 and not missing)
        result, cached = _run(_refreshable(task_fn, key, store=self.store, reuse=reuse), *args, **kwargs)
        inputs = refresh.stage_inputs(stage, self.tables)
        if cached:
            read = [t for t in inputs if t in self.changed and t in (refresh.STAGE_COLUMNS.get(stage) or {})]
            decision = ("unchanged: skipped (its inputs did not change)" if not read else
                        "unchanged: skipped (" + "; ".join(
                            f"of {t}, the columns it reads ({', '.join(refresh.STAGE_COLUMNS[stage][t])}) did not "
                            "change" for t in read) + ")")
        elif not self.incremental:
            decision = "full run: built"
        elif before.get("key") is None:
            decision = "built: no earlier build recorded"
        elif missing:
            decision = f"rebuilt: {output.name} was missing"
        else:
            changed = [t for t in inputs if t in self.changed]
            decision = ("rebuilt: inputs changed: " + ", ".join(changed) if changed else
                        "rebuilt: the profile's settings or the civicmash version changed")
        get_run_logger().info("%s: %s %s", self.profile.name, stage, decision)
        self.records[stage] = {"key": key, "decision": decision, "inputs": inputs,
                               "base": refresh.stage_base(stage, city=self.profile.name, warehouse=self.warehouse,
                                                          profile=self.profile, extra=extra)}
        return result

    def only_changed(self, stage: str, tables: set[str], *, extra: Any = None) -> bool:
        """Whether, in this refresh, ``stage`` was built before with the same profile settings and code and, of its
        inputs, only ``tables`` changed since (so it may update only what changed in them)."""
        before = self.previous["products"].get(stage) or {}
        if (not self.incremental or self.previous.get("version") != refresh.VERSION or not before.get("base")
                or before["base"] != refresh.stage_base(stage, city=self.profile.name, warehouse=self.warehouse,
                                                        profile=self.profile, extra=extra)):
            return False
        changed = {t for t in refresh.stage_inputs(stage, self.tables) if t in self.changed}
        return bool(changed) and changed <= set(tables)


@task(name="ingest", cache_policy=NO_CACHE)
def ingest_dataset(profile: CityProfile, name: str, *, landing_root: str, replay_base: str | None,
                   since: str | None = None, run_id: str | None = None, content: bool = False) -> dict:
    """Fetch a dataset into the landing zone (one Parquet file per page, recorded in a checkpoint).

    Full fetch (``since`` None): into ``<landing_root>/<city>/<name>/``; an interrupted earlier fetch of the
    same source resumes after its last completed page (the pages already landed are reused), otherwise the
    directory starts empty. Incremental fetch (``since`` = the warehouse watermark): only the rows updated
    after it, into ``<name>/increments/<run_id>/`` so the load merges exactly the increment. The checkpoint
    is marked complete at the end, so the next full fetch starts from zero.
    ``content``: also return ``content``, the digest of the landed rows (:func:`.refresh.content_fingerprint`),
    for a source whose fingerprint cannot prove before the fetch that nothing changed.
    """
    spec = profile.datasets[name]
    logger = get_run_logger()
    fetched_at = datetime.now(timezone.utc).replace(tzinfo=None)
    base = Path(landing_root) / profile.name / name
    if since is not None:
        directory = base / checkpoint.INCREMENTS_DIR / (run_id or uuid.uuid4().hex)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        cp, resume, mode = checkpoint.Checkpoint(directory), None, "incremental"
        logger.info("%s/%s: incremental fetch of rows updated after %s", profile.name, name, since)
    else:
        directory = base
        cp, resume, notes = checkpoint.prepare_landing(directory, source=_fetch_signature(spec),
                                                       resumable=spec.connector.resumable)
        for note in notes:
            logger.info("%s/%s: %s", profile.name, name, note)
        mode = "resumed" if resume else "full"
    keep = {f for value in spec.fields.values() for f in ([value] if isinstance(value, str) else value)}
    # full and incremental landings must hash alike (the protocol's conform, e.g. socrata.conform_page)
    conform = spec.connector.conform if is_incremental(spec) else None
    fetched, fetched_pages, watermark = 0, 0, None
    session = http_session(profile.http, replay=replay_base is not None)
    pages = iter_dataset_pages(name, spec, replay_base=replay_base, since=since, session=session, **(resume or {}))
    for page in pages:
        if conform:
            page = conform(page, keep=keep)
        cp.record(page, file=write_page(page, directory=directory))
        fetched += page.row_count
        fetched_pages += 1
        watermark = page.meta.get("watermark", watermark)
    cp.finish()
    # the portal's own row count, asked after the rows so a row published meanwhile shows as a gap, not a loss
    count, count_note = portal_count(name, spec, replay_base=replay_base, session=session)
    updated = portal_updated(name, spec, replay_base=replay_base, session=session)
    if count_note:
        logger.info("%s/%s: portal row count %s", profile.name, name, count_note)
    files = [directory / p["file"] for p in cp.pages]
    logger.info("%s/%s: %d records in %d pages (%s; %d records fetched now)", profile.name, name, cp.records,
                len(files), mode, fetched)
    return {"dataset": name, "files": [str(f) for f in files], "records": cp.records, "fetched": fetched,
            "pages": len(files), "fetched_pages": fetched_pages, "mode": mode, "since": since,
            "watermark": watermark, "start_page": (resume or {}).get("start_page", 1),
            "start_offset": (resume or {}).get("start_offset", 0), "directory": str(directory),
            "fetched_at": fetched_at.isoformat(), "meta": landed_meta(files), "portal_count": count,
            "count_note": count_note, "portal_updated_at": updated,
            "content": refresh.content_fingerprint(files, skip_columns=("_fetched_at", "_url")) if content else None}


@task(name="load", cache_policy=NO_CACHE)
def load_into_warehouse(profile: CityProfile, name: str, ingested: dict, *, warehouse: str, run_id: str) -> dict:
    """Normalise one dataset's landing files into its canonical table; returns the reconciliation.

    A full (or resumed) fetch replaces the dataset's rows; an incremental one is merged by source_id and
    its last page's watermark becomes the dataset's watermark.
    """
    spec = profile.datasets[name]
    options = dict(spec.options)
    if "crs" not in options and ingested["meta"].get("crs"):  # the connector knows the CRS of OSM/edge lists
        options["crs"] = ingested["meta"]["crs"]
    options["city_timezone"] = profile.timezone   # the zone the warehouse writes local times in (not a profile key)
    if profile.money is not None and spec.table in ("spending", "outcomes"):   # crosswalks (warehouse/money.py)
        options["money"] = profile.money.plain()
    source_meta = {"protocol": spec.protocol, "portal_url": spec.portal_url, "dataset_id": spec.dataset_id,
                   "licence": spec.licence, "title": spec.title or name, "synthetic": profile.synthetic,
                   **{f"connector_{k}": v for k, v in ingested["meta"].items() if isinstance(v, (int, str))}}
    mode = "merge" if ingested.get("mode") == "incremental" else "replace"
    if mode == "merge" and ingested.get("watermark"):
        source_meta["watermark"] = ingested["watermark"]
    with contextlib.closing(db.connect(warehouse)) as con:
        result = load_dataset(con, city=profile.name, dataset=name, table=spec.table,
                              files=[Path(p) for p in ingested["files"]], fields=dict(spec.fields),
                              options=options, kind=spec.kind, run_id=run_id,
                              fetched_at=datetime.fromisoformat(ingested["fetched_at"]), source_meta=source_meta,
                              mode=mode, areas=area_settings(profile))
        # counted again in the warehouse: the loader's own counts come from staging and cannot see a lost row
        stored = stored_counts(con, city=profile.name, dataset=name, table=spec.table, run_id=run_id, mode=mode,
                               fields=dict(spec.fields))
    counts = asdict(result)
    if counts["rows_in"] != sum(stored) or stored != (result.rows_loaded, result.rows_quarantined):
        raise RuntimeError(f"{profile.name}/{name}: reconciliation failed: {result.rows_in} rows in, but the "
                           f"warehouse holds {stored[0]} loaded in {spec.table} + {stored[1]} quarantined by run "
                           f"{run_id} (the loader counted {result.rows_loaded} + {result.rows_quarantined})")
    return {"dataset": name, "table": spec.table, "mode": mode, **counts}


@task(name="classify-offences", cache_policy=NO_CACHE)
def classify_offences(profile: CityProfile, *, warehouse: str) -> dict | None:
    """The city's incidents placed in the canonical offence categories by its ``[offences]`` crosswalk
    (:mod:`civicmash.warehouse.offences`); unmapped values are counted in ``offence_unmapped`` and said here."""
    if profile.offences is None:
        return None
    with contextlib.closing(db.connect(warehouse, spatial=False)) as con:
        result = offences.classify_incidents(con, city=profile.name, crosswalk=profile.offences.as_dict(),
                                             field=profile.offences.field)
    get_run_logger().info("%s", result.summary())
    return {"field": result.field, "rows": result.rows, "mapped_rows": result.mapped_rows,
            "unmapped_rows": result.unmapped_rows, "unmapped_values": result.unmapped_values,
            "by_offence": result.by_offence, "line": result.summary()}


@task(name="enrich-and-views", cache_policy=NO_CACHE)
def enrich_and_views(city: str, *, warehouse: str, areas: dict | None = None, since: datetime | None = None) -> dict:
    """Fill and check the incidents' area columns from the boundaries of the kinds ``areas`` (the profile's
    ``[areas]``, plain) names, record them in ``area_slots``, and (re)create the views. ``since``: only the
    incidents fetched from then on (a refresh in which only incidents changed: :meth:`_Products.only_changed`)."""
    with contextlib.closing(db.connect(warehouse)) as con:
        enriched = enrich.enrich_incidents(con, city=city, areas=areas, since=since)
        views.create_views(con)
    return enriched


@task(name="link-streets", cache_policy=NO_CACHE)
def link_streets(profile: CityProfile, *, warehouse: str) -> dict:
    """All street datasets of the city -> one walk graph (duplicates set aside, links) and street_coverage."""
    options = {n: dict(s.options) for n, s in profile.datasets.items() if s.table == "streets"}
    with contextlib.closing(db.connect(warehouse)) as con:
        return streets.link_streets(con, city=profile.name, datasets=options,
                                    area_kind=_primary_kind(con, profile))


def _primary_kind(con, profile: CityProfile) -> str | None:
    """The area kind the street coverage is counted by: the profile's ``[areas] primary`` when the city has
    its boundaries, else the default preference (community areas first)."""
    from civicmash.warehouse import reads

    return reads.preferred_kind(reads.boundary_kinds(con, city=profile.name), primary=profile.areas.primary)


@task(name="service-access", cache_policy=NO_CACHE)
def service_access(profile: CityProfile, *, warehouse: str) -> dict:
    """Opening hours read into service_hours/service_schedules; coverage gaps and walking areas of the services
    (service_coverage, isochrones) when the city has a street graph. See docs/locator.md."""
    from civicmash.analysis.service_access import analyse
    from civicmash.warehouse.services import build_service_hours, unmapped_categories, write_coverage, write_isochrones

    with contextlib.closing(db.connect(warehouse)) as con:
        out = {"hours": build_service_hours(con, city=profile.name)}
        unmapped = unmapped_categories(con, city=profile.name)
        if unmapped:  # kept under their own slug; said here so a profile can map them to the taxonomy
            out["unmapped_categories"] = {category: sites for category, _, sites in unmapped}
        has_services = con.execute("SELECT count(*) FROM services WHERE city = ? AND lat IS NOT NULL",
                                   [profile.name]).fetchone()[0]
        has_graph = con.execute("SELECT count(*) FROM street_edges WHERE city = ?", [profile.name]).fetchone()[0]
        if has_services and has_graph:
            options = dict(profile.maps.get("locator", {}))
            primary = _primary_kind(con, profile)   # coverage gaps by the city's primary area kind
            if primary and not options.get("boundary_kind"):
                options["boundary_kind"] = primary
            result = analyse(con, city=profile.name, options=options)
            out["coverage_rows"] = write_coverage(con, city=profile.name, rows=result["coverage"])
            out["isochrones"] = write_isochrones(con, city=profile.name, rows=result["isochrones"])
    return out


@task(name="run-health", cache_policy=NO_CACHE)
def run_health(profile: CityProfile, loaded: list[dict], *, warehouse: str, run_id: str) -> list[DatasetHealth]:
    """Every loaded dataset's health verdict under the profile's ``[health]`` limits (:mod:`.health`)."""
    with contextlib.closing(db.connect(warehouse, read_only=True, spatial=False)) as con:
        return [check_health(con, city=profile.name, run_id=run_id, load=load,
                             **profile.health_for(load["dataset"]).run_health_limits()) for load in loaded]


@task(name="plan-products", cache_policy=NO_CACHE)
def plan_outputs(profile: CityProfile, kinds: list[str], verdicts: list[DatasetHealth], *,
                 warehouse: str) -> list[ProductPlan]:
    """Which maps this city's data allows (:mod:`.products`): the others are skipped with a reason."""
    unhealthy: dict[str, list[str]] = {}
    for verdict in verdicts:
        if not verdict.healthy:
            unhealthy.setdefault(verdict.table, []).append(verdict.dataset)
    with contextlib.closing(db.connect(warehouse, read_only=True, spatial=False)) as con:
        present = present_tables(con, city=profile.name)
    return plan_products(kinds, present=present, unhealthy=unhealthy, wanted_bars=profile.risk.bars is not None)


@task(name="build-map", cache_policy=NO_CACHE)
def build_map(profile: CityProfile, kind: str, *, warehouse: str, out: str, missing: tuple[str, ...] = ()) -> str:
    """One map of the city; ``missing``: what its page says the city's data lacks."""
    options = map_options(profile, kind)
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        # sources=None: each map credits the catalogue's datasets behind the tables it draws
        page = PageContext(con=con, city=profile.name, out_path=maps_dir(out, profile.name) / f"{kind}.html",
                           city_title=profile.title, synthetic=profile.synthetic, options=options,
                           missing=missing, languages=tuple(profile.languages))
        path = MAP_BUILDERS[kind](page)
    return str(path)


@task(name="deletion-sweep", cache_policy=NO_CACHE)
def sweep_deleted(profile: CityProfile, names: list[str], *, warehouse: str, replay_base: str | None,
                  run_id: str) -> dict[str, int]:
    """The deletion sweep (``civicmash run --sweep``): for every dataset whose protocol lists record ids and
    whose ``source_id`` is one source field, ask the portal for all its ids and remove the warehouse rows whose
    id it no longer has (kept in history as ``deleted``: :mod:`civicmash.warehouse.deletions`). Returns the
    rows removed per swept dataset; the others are logged with the reason they cannot be swept."""
    logger = get_run_logger()
    session = http_session(profile.http, replay=replay_base is not None)
    deleted = {}
    for name in names:
        spec = profile.datasets[name]
        why_not = can_sweep(spec)
        if why_not:
            logger.info("%s/%s: not swept: %s", profile.name, name, why_not)
            continue
        ids = set(portal_ids(name, spec, replay_base=replay_base, session=session))
        with contextlib.closing(db.connect(warehouse)) as con:
            deleted[name] = delete_missing(con, city=profile.name, dataset=name, table=spec.table, present_ids=ids,
                                           run_id=run_id, swept_at=datetime.now(timezone.utc))
        logger.info("%s/%s: deletion sweep: the portal has %d ids; %d rows deleted", profile.name, name, len(ids),
                    deleted[name])
    return deleted


def _record_and_alert(profile: CityProfile, names: list[str], *, warehouse: str, run_id: str, loads: dict,
                      ingests: dict, problems: dict, errors: dict, deleted: dict, error: str | None = None) -> dict:
    """Write this run's ``dataset_health`` rows (:mod:`.status`) and, when the run is not ok, POST the alert
    (:mod:`.alerts`). Returns ``{"status", "datasets", "alerted"}`` for the run summary."""
    with contextlib.closing(db.connect(warehouse, spatial=False)) as con:
        rows = record_health(con, profile, names, run_id=run_id, loads=loads, ingests=ingests, problems=problems,
                             errors=errors, deleted=deleted)
    status = "failed" if error else worst(r["status"] for r in rows)
    datasets = [{k: r[k] for k in ("dataset", "status", "reason", "portal_count", "compared_rows", "count_mismatch",
                                   "rows_deleted", "count_note")} for r in rows]
    alerted = False
    if status != "ok":
        try:
            alerted = send_alert(profile.alerts, alert_body(city=profile.name, run_id=run_id, status=status,
                                                            datasets=datasets, error=error))
        except AlertError as exc:
            get_run_logger().warning("%s", exc)
    return {"status": status, "datasets": datasets, "alerted": alerted}


def _write_status_page(profile: CityProfile, *, warehouse: str, out: str) -> str:
    """``status.html`` beside the maps (:mod:`civicmash.maps.status`)."""
    with contextlib.closing(db.connect(warehouse, read_only=True, spatial=False)) as con:
        page = PageContext(con=con, city=profile.name, out_path=maps_dir(out, profile.name) / "status.html",
                           city_title=profile.title, synthetic=profile.synthetic, languages=tuple(profile.languages))
        return str(status_page.build(page))


def artifact_key(city: str) -> str:
    """``civicmash-<city>`` in the characters Prefect allows in a key (lowercase letters, digits, dashes)."""
    return "civicmash-" + re.sub(r"[^a-z0-9-]+", "-", city.lower())


def table_counts(con, city: str) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t} WHERE city = ?", [city]).fetchone()[0]
            for t in SUMMARY_TABLES}


def summary_markdown(summary: dict) -> str:
    lines = [f"# civicmash run `{summary['run_id']}` — {summary['title']}", ""]
    if summary["synthetic"]:
        lines += ["**Synthetic sample data**: generated, not a real city.", ""]
    lines += ["| dataset | table | rows in | loaded | quarantined |", "|---|---|---:|---:|---:|"]
    for r in summary["datasets"]:
        lines.append(f"| {r['dataset']} | {r['table']} | {r['rows_in']:,} | {r['rows_loaded']:,} | "
                     f"{r['rows_quarantined']:,} |")
    lines += ["", "| table | rows |", "|---|---:|"]
    lines += [f"| {t} | {n:,} |" for t, n in summary["tables"].items()]
    lines += ["", "Incidents without coordinates (kept in the warehouse, not on the maps): " + ", ".join(
        f"{dataset} {n:,}" for dataset, n in summary["incidents_without_coordinates"].items()),
        "", "## Outputs", "",
              f"- warehouse: `{summary['warehouse']}`"]
    for kind, path in summary["maps"].items():
        lines += [f"- {kind}: `{path}`"] + [f"  - {line}" for line in summary["missing"].get(kind, [])]
    lines += [f"- {kind}: {reason}" for kind, reason in summary["skipped_maps"].items()]
    sick = [h for h in summary["health"] if not h["healthy"]]
    if sick:
        lines += ["", "## Run health: failed", ""]
        lines += [f"- {h['sentence']}" for h in sick]
    if summary.get("skipped_datasets") or summary.get("skipped_stages"):   # a refresh (--incremental)
        lines += ["", "## Refresh: unchanged, skipped", ""]
        lines += [f"- {name}: {why}" for name, why in {**summary.get("skipped_datasets", {}),
                                                        **summary.get("skipped_stages", {})}.items()]
    return "\n".join(lines)


@flow(name="civic_pipeline", log_prints=True)
def civic_pipeline(city: str, out: str = "out", replay: str | None = None, profile_path: str | None = None,
                   maps: list[str] | None = None, incremental: bool = False, replay_url: str | None = None,
                   datasets: list[str] | None = None, profile: CityProfile | None = None,
                   wait: float = 0.0, sweep: bool = False) -> dict[str, Any]:
    """Fetch every dataset of a city, load and normalise it into DuckDB, and publish the maps.

    One run at a time per warehouse (:mod:`civicmash.flows.run_lock`): when another run is writing the same
    warehouse this one waits up to ``wait`` seconds for it, then fails with
    :class:`~civicmash.flows.run_lock.RunInProgress` naming it, before touching anything.
    ``sweep``: after the loads, run the deletion sweep (:func:`sweep_deleted`).
    """
    warehouse = warehouse_path(Path(out))
    # the warehouse stays open for the run: one spatial load and schema check, not one per step (db.keep_open)
    with run_lock(warehouse, city=profile.name if profile else city, wait=wait), db.keep_open(warehouse):
        return _pipeline(city, out=out, replay=replay, profile_path=profile_path, maps=maps, incremental=incremental,
                         replay_url=replay_url, datasets=datasets, profile=profile, sweep=sweep)


def _pipeline(city: str, *, out: str, replay: str | None, profile_path: str | None, maps: list[str] | None,
              incremental: bool, replay_url: str | None, datasets: list[str] | None,
              profile: CityProfile | None, sweep: bool = False) -> dict[str, Any]:
    """The run itself (inside :func:`civic_pipeline`'s flow and run lock).

    ``replay``: serve the profile's ``replay`` files from this directory through the loopback replay
    portal instead of the internet. ``replay_url``: use an already running replay portal at this base URL
    (e.g. ``http://127.0.0.1:8123``; the caller owns it) instead; not together with ``replay``.
    ``maps``: which outputs to build (default all four; ``[]`` for none). ``datasets``: only these
    datasets of the profile (default all). ``incremental``: for Socrata datasets whose profile sets
    ``options.incremental = true`` and that the warehouse already holds (a watermark), fetch only the rows
    updated after the watermark and merge them; every other dataset is fetched in full and replaced.
    An interrupted full fetch of a Socrata dataset resumes after its last completed page on the next run.
    ``profile``: the city's profile already loaded by the caller (the CLI's run context), so a run parses it
    once; without it the flow loads ``profile_path`` or ``cities/<city>.toml`` (deployments, Python callers).
    """
    if replay and replay_url:
        raise ValueError("give either replay (a directory) or replay_url (a running portal), not both")
    if profile is None:
        profile = load_profile(profile_path or city)
    elif city != profile.name:
        raise ValueError(f"city {city!r} and the profile given (city {profile.name!r}) disagree")
    names = list(profile.datasets) if datasets is None else list(datasets)
    unknown = [n for n in names if n not in profile.datasets]
    if unknown:
        raise ValueError(f"{profile.name}: no dataset(s) {unknown}; the profile has {list(profile.datasets)}")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    warehouse = str(warehouse_path(out_dir))
    run_id = f"{profile.name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    run_started = datetime.now(timezone.utc)   # every row this run fetches has a fetched_at from then on
    started = run_started.replace(tzinfo=None)
    with contextlib.closing(db.connect(warehouse, spatial=False)) as con:   # bookkeeping: no ST_ function
        watermarks = {name: dataset_watermark(con, city=profile.name, dataset=name) for name in names
                      if incremental and is_incremental(profile.datasets[name])}
        previous = refresh.previous_state(con, city=profile.name)   # what the last run recorded (mod:`.refresh`)
    store = out_dir / refresh.RESULTS_DIR   # Prefect's persisted task results: the refresh cache

    portal = None
    if replay:   # offline: our own loopback portal (devkit) stands in for the city's portals
        from civicmash.devkit.city_portal import start_replay
        portal = start_replay(profile, Path(replay))
    # loaded: the datasets loaded by this run; kept: those whose unchanged load the warehouse keeps (refresh)
    loaded, kept, ingests, fetches, deleted, current, records = [], [], [], {}, {}, None, {}
    try:
        replay_base = portal.base_url if portal else replay_url
        fingerprints = fingerprint_sources(quote(profile), names, replay_base=replay_base)
        for current in names:
            ingested, load, records[current] = _refresh_dataset(
                profile, current, fingerprints[current], previous=previous, incremental=incremental, store=store,
                warehouse=warehouse, run_id=run_id, landing_root=str(out_dir / "landing"), replay_base=replay_base,
                since=watermarks.get(current))
            fetches[current] = ingested
            ingests.append({k: ingested[k] for k in ("dataset", "mode", "records", "fetched", "pages",
                                                     "fetched_pages", "start_page", "start_offset", "since",
                                                     "watermark", "portal_count", "count_note",
                                                     "portal_updated_at")})
            (kept if load.get("skipped") else loaded).append(load)
        current = None
        if sweep:
            deleted = sweep_deleted(quote(profile), names, warehouse=warehouse, replay_base=replay_base, run_id=run_id)
    except Exception as exc:   # recorded (dataset_health: failed) and alerted, then the run fails as before
        failed = current or "deletion-sweep"
        try:
            _record_and_alert(profile, [n for n in names if n in fetches or n == current], warehouse=warehouse,
                              run_id=run_id, loads={l["dataset"]: l for l in loaded + kept}, ingests=fetches,
                              problems={},
                              errors={failed: f"{type(exc).__name__}: {exc}"} if current else {}, deleted=deleted,
                              error=f"{failed}: {type(exc).__name__}: {exc}")
        except Exception as record_exc:   # noqa: BLE001 - never hide the run's own error behind the record's
            get_run_logger().warning("%s: could not record or alert the failed run: %s", profile.name, record_exc)
        raise
    finally:
        if portal:
            portal.stop()

    try:
        manifest = write_run_manifest(quote(profile), loaded, fetches, warehouse=warehouse, run_id=run_id)  # before pages
        verdicts = run_health(quote(profile), loaded, warehouse=warehouse, run_id=run_id)
        for verdict in verdicts:
            records[verdict.dataset]["healthy"] = verdict.healthy
        with contextlib.closing(db.connect(warehouse, read_only=True, spatial=False)) as con:   # products' inputs
            states = refresh.table_states(con, city=profile.name, deleted=deleted, run_id=run_id,
                                          tables_of={n: s.table for n, s in profile.datasets.items()})
        products = _Products(profile, warehouse=warehouse, store=store, previous=previous, tables=states,
                             incremental=incremental)
        offence_counts = products.run("classify-offences", classify_offences, profile, warehouse=warehouse)
        # a refresh whose only changed input is incidents enriches the rows this run fetched, not every row
        since = run_started if products.only_changed("enrich-and-views", {"incidents"}) else None
        products.run("enrich-and-views", enrich_and_views, profile.name, warehouse=warehouse,
                     areas=area_settings(profile), since=since)
        if since is not None:
            products.records["enrich-and-views"]["rows"] = f"incidents fetched since {since.isoformat()}"
        street_network = products.run("link-streets", link_streets, profile, warehouse=warehouse)
        services = products.run("service-access", service_access, profile, warehouse=warehouse)
        hotspots = (products.run("hotspots", compute_hotspots, profile, warehouse=warehouse)   # Gi*: the explorer's layer
                    if maps is None or "explorer" in maps else None)
        plans = plan_outputs(quote(profile), list(MAP_BUILDERS) if maps is None else list(maps), verdicts,
                             warehouse=warehouse)
        logger = get_run_logger()
        for plan in plans:
            if plan.skipped:
                logger.info("%s: map %s %s", profile.name, plan.kind, plan.skipped)
        page_dir = maps_dir(out_dir, profile.name)
        outputs = {plan.kind: products.run(f"map:{plan.kind}", build_map, profile, plan.kind, warehouse=warehouse,
                                           out=str(out_dir), missing=plan.missing, extra=list(plan.missing),
                                           output=page_dir / f"{plan.kind}.html")
                   for plan in plans if not plan.skipped}
    except Exception as exc:   # the data loaded, a later stage failed: recorded and alerted, then the run fails
        try:
            _record_and_alert(profile, names, warehouse=warehouse, run_id=run_id,
                              loads={l["dataset"]: l for l in loaded + kept}, ingests=fetches, problems={}, errors={},
                              deleted=deleted, error=f"after the loads: {type(exc).__name__}: {exc}")
        except Exception as record_exc:   # noqa: BLE001 - never hide the run's own error behind the record's
            get_run_logger().warning("%s: could not record or alert the failed run: %s", profile.name, record_exc)
        raise
    healthy = all(v.healthy for v in verdicts)
    health = _record_and_alert(profile, names, warehouse=warehouse, run_id=run_id,
                               loads={l["dataset"]: l for l in loaded + kept}, ingests=fetches,
                               problems={v.dataset: v.problem for v in verdicts if not v.healthy}, errors={},
                               deleted=deleted)
    status_html = _write_status_page(profile, warehouse=warehouse, out=str(out_dir))

    with contextlib.closing(db.connect(warehouse, spatial=False)) as con:
        tables = table_counts(con, profile.name)
        no_coords = dict(con.execute(
            "SELECT dataset, count(*) FILTER (WHERE geom IS NULL) FROM incidents WHERE city = ? "
            "GROUP BY dataset ORDER BY dataset", [profile.name]).fetchall())
        summary = {"run_id": run_id, "city": profile.name, "title": profile.title, "synthetic": profile.synthetic,
                   "warehouse": warehouse, "maps": outputs, "ingest": ingests, "tables": tables,
                   "datasets": sorted(loaded + kept, key=lambda load: names.index(load["dataset"])),
                   "incidents_without_coordinates": no_coords, "street_network": street_network,
                   "services": services, "offences": offence_counts, "hotspots": hotspots,
                   "status": "completed" if healthy else "failed",
                   "health": [v.as_dict() for v in verdicts],
                   "dataset_health": health, "status_page": status_html, "deleted": deleted,
                   "skipped_maps": {p.kind: p.skipped for p in plans if p.skipped},
                   "missing": {p.kind: list(p.missing) for p in plans if not p.skipped and p.missing},
                   "flow_run_id": str(prefect_runtime.flow_run.id) if prefect_runtime.flow_run.id else None,
                   "refresh": {"version": refresh.VERSION, "incremental": incremental, "tables": states,
                               "datasets": refresh.carried(previous, records, "datasets"),
                               "products": refresh.carried(previous, products.records, "products")},
                   "skipped_datasets": {n: r["decision"] for n, r in records.items() if not r["loaded"]},
                   "skipped_stages": {s: r["decision"] for s, r in products.records.items()
                                      if r["decision"].startswith("unchanged")}}
        record_run(con, run_id=run_id, city=profile.name, started_at=started,
                   finished_at=datetime.now(timezone.utc).replace(tzinfo=None), status=summary["status"],
                   summary=summary)
    summary.update(manifest=manifest, changes_page=write_changes_page(  # changes.html: needs the run recorded
        profile, warehouse=warehouse, maps_dir=maps_dir(out_dir, profile.name), run_id=run_id))
    if "explorer" in outputs:   # Atom feeds of new and reclassified incidents (needs the run recorded)
        summary["feeds"] = write_city_feeds(profile, warehouse=warehouse, out=out_dir, run_id=run_id)
    create_markdown_artifact(key=artifact_key(profile.name), markdown=summary_markdown(summary),
                             description=f"civicmash run summary for {profile.title}")
    if not healthy:   # after the warehouse, the maps that could be built and the record: then the run fails
        raise RunHealthError(health_message(profile.name, verdicts), summary=summary)
    return summary
