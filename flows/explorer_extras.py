"""The crime explorer's pipeline additions: Gi* hotspots before the maps, Atom feeds after the run is recorded.

* :func:`compute_hotspots` (a Prefect task, a refreshable product stage ``hotspots``): ``analysis.hotspots`` on
  the city's incidents into ``hotspot_cells``; the explorer draws its significant cells.
* :func:`write_city_feeds`: ``<out>/feeds/<city>/...``, one Atom feed per area of every kind and per ½-mile circle
  around a school or park, from ``incident_changes_by_run`` (needs this run in ``ingest_runs``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from civicmash.cities.profile import CityProfile
from civicmash.flows.context import area_settings, map_options
from civicmash.warehouse import db
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE


@task(name="hotspots", cache_policy=NO_CACHE)
def compute_hotspots(profile: CityProfile, *, warehouse: str) -> dict:
    """Gi* hotspots of the city's incidents (``[maps.explorer] hotspot_resolution`` or by city size) stored in
    ``hotspot_cells``; returns the resolution, window, cells and significant cells."""
    from civicmash.analysis.hotspots import compute
    from civicmash.warehouse.hotspots import write_hotspots

    options = map_options(profile, "explorer")
    with contextlib.closing(db.connect(warehouse, spatial=False)) as con:   # places and times: no ST_ function
        result = compute(con, city=profile.name, resolution=options.get("hotspot_resolution"))
        write_hotspots(con, city=profile.name, result=result)
    rows = result["rows"]
    return {"resolution": result["resolution"], "cells": len(rows),
            "hot": sum(r["class"] == "hot" for r in rows), "cold": sum(r["class"] == "cold" for r in rows),
            "window_start": str(result["window_start"]), "window_end": str(result["window_end"])}


def write_city_feeds(profile: CityProfile, *, warehouse: str, out: str | Path, run_id: str) -> dict | None:
    """The city's Atom feeds under ``<out>/feeds/<city>/`` (:func:`civicmash.maps.feeds.write_feeds`); a
    failure is logged, never fails the run (the data and maps are already written)."""
    options = map_options(profile, "explorer")
    try:
        from civicmash.maps.feeds import write_feeds

        with contextlib.closing(db.connect(warehouse, read_only=True, spatial=False)) as con:
            return write_feeds(con, city=profile.name, city_title=profile.title, out=Path(out),
                               areas=area_settings(profile), run_id=run_id,
                               near_categories=tuple(options.get("near_categories") or ("school", "park")))
    except Exception as exc:   # noqa: BLE001 - the run's data and pages stand; say why the feeds are missing
        get_run_logger().warning("%s: could not write the Atom feeds: %s: %s", profile.name, type(exc).__name__, exc)
        return None
