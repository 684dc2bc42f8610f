"""The Prefect flow: portal -> landing Parquet -> DuckDB warehouse -> four HTML maps -> run summary.

Thin by design: every stage calls a room (connectors, warehouse, maps); this module only wires them,
in order, and reports what happened.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from cities.profile import CityProfile, load_profile
from connectors.landing import write_page
from flows.sources import iter_dataset_pages, start_replay
from maps import explorer, locator, safe_route, spending
from warehouse import db, enrich, views
from warehouse.load import load_dataset, record_run

MAP_BUILDERS = {
    "explorer": explorer.build,
    "safe_route": safe_route.build,
    "locator": locator.build,
    "spending": spending.build,
}

# Tables reported in the run summary, in the order a reader meets them.
SUMMARY_TABLES = ["incidents", "venues", "services", "spending", "boundaries", "population",
                  "street_nodes", "street_edges", "quarantine"]


def warehouse_path(out: str | Path) -> Path:
    return Path(out) / "civicmash.duckdb"


def maps_dir(out: str | Path, city: str) -> Path:
    return Path(out) / "maps" / city


@task(name="ingest", cache_policy=NO_CACHE)
def ingest_dataset(profile: CityProfile, name: str, *, landing_root: str, replay_base: str | None) -> dict:
    """Fetch every page of one dataset into the landing zone (one Parquet file per page)."""
    spec = profile.datasets[name]
    fetched_at = datetime.now(timezone.utc).replace(tzinfo=None)
    directory = Path(landing_root) / profile.name / name
    if directory.exists():  # a fresh landing per run keeps loads exact
        for old in directory.glob("page-*"):
            old.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    paths, records, meta = [], 0, {}
    for page in iter_dataset_pages(name, spec, replay_base=replay_base):
        paths.append(str(write_page(page, directory=directory)))
        records += page.row_count
        for key, value in page.meta.items():  # counters add up across pages, the rest keeps the last value
            meta[key] = meta.get(key, 0) + value if isinstance(value, int) and not isinstance(value, bool) else value
    get_run_logger().info("%s/%s: %d records in %d pages", profile.name, name, records, len(paths))
    return {"dataset": name, "files": paths, "records": records, "fetched_at": fetched_at.isoformat(),
            "meta": meta}


@task(name="load", cache_policy=NO_CACHE)
def load_into_warehouse(profile: CityProfile, name: str, ingested: dict, *, warehouse: str, run_id: str) -> dict:
    """Normalise one dataset's landing files into its canonical table; returns the reconciliation."""
    spec = profile.datasets[name]
    options = dict(spec.options)
    options.update({k: v for k, v in ingested["meta"].items() if k == "crs" and "crs" not in options})
    source_meta = {"protocol": spec.protocol, "portal_url": spec.portal_url, "dataset_id": spec.dataset_id,
                   "licence": spec.licence, "title": spec.title or name, "synthetic": profile.synthetic,
                   **{f"connector_{k}": v for k, v in ingested["meta"].items() if isinstance(v, (int, str))}}
    with contextlib.closing(db.connect(warehouse)) as con:
        result = load_dataset(con, city=profile.name, dataset=name, table=spec.table,
                              files=[Path(p) for p in ingested["files"]], fields=dict(spec.fields),
                              options=options, kind=spec.kind, run_id=run_id,
                              fetched_at=datetime.fromisoformat(ingested["fetched_at"]), source_meta=source_meta)
    counts = asdict(result)
    if counts["rows_in"] != counts["rows_loaded"] + counts["rows_quarantined"]:
        raise RuntimeError(f"{profile.name}/{name}: reconciliation failed: {counts}")
    return {"dataset": name, "table": spec.table, **counts}


@task(name="enrich-and-views", cache_policy=NO_CACHE)
def enrich_and_views(city: str, *, warehouse: str) -> dict:
    with contextlib.closing(db.connect(warehouse)) as con:
        enriched = enrich.enrich_incidents(con, city=city)
        views.create_views(con)
    return enriched if isinstance(enriched, dict) else {}


@task(name="build-map", cache_policy=NO_CACHE)
def build_map(profile: CityProfile, kind: str, *, warehouse: str, out: str) -> str:
    options = dict(profile.maps.get(kind, {}))
    if kind == "safe_route":
        options.setdefault("type_weights", profile.risk.type_weights())
    if profile.center:
        options.setdefault("center", list(profile.center))
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        sources = [dict(zip(("dataset", "portal_url", "licence", "fetched_at", "title"), row)) for row in con.execute(
            "SELECT dataset, portal_url, licence, CAST(fetched_at AS VARCHAR), dataset FROM datasets "
            "WHERE city = ? ORDER BY dataset", [profile.name]).fetchall()]
        path = MAP_BUILDERS[kind](con, city=profile.name, out_path=maps_dir(out, profile.name) / f"{kind}.html",
                                  title=profile.title, synthetic=profile.synthetic, sources=sources,
                                  options=options)
    return str(path)


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
    lines += [f"- {kind}: `{path}`" for kind, path in summary["maps"].items()]
    return "\n".join(lines)


@flow(name="civic_pipeline", log_prints=True)
def civic_pipeline(city: str, out: str = "out", replay: str | None = None, profile_path: str | None = None,
                   maps: list[str] | None = None) -> dict[str, Any]:
    """Fetch every dataset of a city, load and normalise it into DuckDB, and publish the maps.

    ``replay``: serve the profile's ``replay`` files from this directory through the loopback replay
    portal instead of the internet. ``maps``: which outputs to build (default all four).
    """
    profile = load_profile(profile_path or city)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    warehouse = str(warehouse_path(out_dir))
    run_id = f"{profile.name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    started = datetime.now(timezone.utc).replace(tzinfo=None)
    with contextlib.closing(db.connect(warehouse)) as con:
        db.ensure_schema(con)

    portal = start_replay(profile, Path(replay)) if replay else None
    try:
        replay_base = portal.base_url if portal else None
        loaded = []
        for name in profile.datasets:
            ingested = ingest_dataset(profile, name, landing_root=str(out_dir / "landing"), replay_base=replay_base)
            loaded.append(load_into_warehouse(profile, name, ingested, warehouse=warehouse, run_id=run_id))
    finally:
        if portal:
            portal.stop()

    enrich_and_views(profile.name, warehouse=warehouse)
    outputs = {kind: build_map(profile, kind, warehouse=warehouse, out=str(out_dir))
               for kind in (maps or list(MAP_BUILDERS))}

    with contextlib.closing(db.connect(warehouse)) as con:
        tables = table_counts(con, profile.name)
        no_coords = dict(con.execute(
            "SELECT dataset, count(*) FILTER (WHERE geom IS NULL) FROM incidents WHERE city = ? "
            "GROUP BY dataset ORDER BY dataset", [profile.name]).fetchall())
        summary = {"run_id": run_id, "city": profile.name, "title": profile.title, "synthetic": profile.synthetic,
                   "warehouse": warehouse, "maps": outputs, "datasets": loaded, "tables": tables,
                   "incidents_without_coordinates": no_coords}
        record_run(con, run_id=run_id, city=profile.name, started_at=started,
                   finished_at=datetime.now(timezone.utc).replace(tzinfo=None), status="completed",
                   summary=summary)
    create_markdown_artifact(key=f"civicmash-{profile.name}", markdown=summary_markdown(summary),
                             description=f"civicmash run summary for {profile.title}")
    return summary
