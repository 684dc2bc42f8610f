"""The run's records beyond health: the run manifest (after the loads) and the "what changed" page (at the end).

Two steps of :mod:`.pipeline`, kept here so the flow only calls them: :func:`write_run_manifest` writes the
``run_manifest`` rows of the run (:mod:`civicmash.warehouse.manifest`) before any page is built, so every
page's footer cites this run's snapshot; :func:`write_changes_page` writes ``changes.html`` beside the maps once
the run is recorded in ``ingest_runs`` (:mod:`civicmash.maps.changes`: this run against the previous successful
one).
"""

from __future__ import annotations

import contextlib

from civicmash.cities.profile import CityProfile
from civicmash.warehouse import db
from civicmash.warehouse.manifest import write_manifest
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE


@task(name="run-manifest", cache_policy=NO_CACHE)
def write_run_manifest(profile: CityProfile, loaded: list[dict], fetches: dict, *, warehouse: str,
                       run_id: str) -> list[dict]:
    """One ``run_manifest`` row per dataset this run loaded: source URL (no secrets), fetch time, rows in /
    loaded / quarantined, rows held, the portal's count and the content hash. Returns them (times as text)."""
    sources = {name: {"url": spec.portal_url, "protocol": spec.protocol} for name, spec in profile.datasets.items()}
    with contextlib.closing(db.connect(warehouse, spatial=False)) as con:   # bookkeeping: no ST_ function
        db.ensure_schema(con)
        rows = write_manifest(con, run_id=run_id, city=profile.name, loads=loaded, fetches=fetches, sources=sources)
    get_run_logger().info("%s: run manifest of %s: %s", profile.name, run_id,
                          ", ".join(f"{r['dataset']} {r['content_hash'][:12]}" for r in rows))
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows]


def write_changes_page(profile: CityProfile, *, warehouse: str, maps_dir, run_id: str) -> str | None:
    """``changes.html`` beside the maps: what changed in the city's incidents from the previous successful run
    to ``run_id`` (which must be recorded in ``ingest_runs``). None for a city without an incidents dataset.
    The run's data is already recorded: a failure here is logged as a warning, never fails the run."""
    from pathlib import Path

    from civicmash.maps import changes as changes_page
    from civicmash.maps.render import PageContext

    if not any(spec.table == "incidents" for spec in profile.datasets.values()):
        return None
    try:
        with contextlib.closing(db.connect(warehouse, read_only=True, spatial=False)) as con:
            page = PageContext(con=con, city=profile.name, out_path=Path(maps_dir) / "changes.html",
                               city_title=profile.title, synthetic=profile.synthetic,
                               options={"to_run": run_id}, languages=tuple(profile.languages))
            return str(changes_page.build(page))
    except Exception as exc:   # noqa: BLE001 - the run is recorded; the page is a report of it
        get_run_logger().warning("%s: could not write changes.html: %s: %s", profile.name, type(exc).__name__, exc)
        return None
