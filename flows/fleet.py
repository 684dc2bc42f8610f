"""Many cities at once: every city a Prefect task on a Dask cluster, one DuckDB file per city, one catalogue.

``civicmash run --all [--workers K] [--scheduler tcp://host:port]`` (docs/operations.md, "Many cities on Dask")
calls :func:`run_fleet`: the parent flow :func:`run_cities` runs with prefect-dask's ``DaskTaskRunner`` (a
``LocalCluster`` of K single-threaded worker processes, or the Dask scheduler at ``--scheduler``), and submits one
task per city (:func:`run_city`). Each task runs that city's own pipeline, the :func:`civic_pipeline` flow
unchanged (as a subflow of the task), into its own output directory ``<out>/cities/<city>/``: its own warehouse
``civicmash.duckdb``, landing zone and maps. DuckDB allows one writer per file, so cities running side by side
never share a file, and the per-warehouse run lock (:mod:`.run_lock`) still keeps two runs of the same city
apart. After every city has finished, the parent merges each city's result into ``<out>/catalogue.json``
(:mod:`civicmash.warehouse.catalogue`), which ``civicmash sql --all`` attaches read-only so that one query spans
the cities.

A city that fails (its replay data broken, a portal down, its run health failed) fails its own task only: the
others run to the end, the catalogue records every city with its status, and the parent flow then fails with
:class:`FleetFailed` naming the failed cities (``civicmash run --all`` exits 1).

``workers=0`` runs the same parent flow with no Dask: the cities one after another in this process.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from civicmash.cities.profile import (
    CITIES_DIR,
    ProfileError,
    load_profile,
    profile_path,
)
from civicmash.flows.health import RunHealthError
from civicmash.warehouse.catalogue import CATALOGUE_FILE, schema_name, write_catalogue
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

__all__ = ["CityJob", "CityRunFailed", "FleetFailed", "catalogue_path", "city_out", "fleet_jobs", "run_cities",
           "run_fleet", "task_runner"]

CITIES_SUBDIR = "cities"


class CityRunFailed(RuntimeError):
    """One city's run failed; the message starts with the city (picklable: it crosses the Dask wire)."""


class FleetFailed(RuntimeError):
    """At least one city failed; the others completed. ``summary``: the parent run's summary (every city)."""

    def __init__(self, message: str, summary: dict | None = None):
        super().__init__(message)
        self.summary = summary

    def __reduce__(self):
        return (type(self), (str(self), self.summary))


@dataclass(frozen=True)
class CityJob:
    """One city of a fleet run: its slug, its profile file, and the replay directory served instead of the
    internet (``<replay-root>/<city>``), if any."""

    city: str
    profile: str
    replay: str | None = None


def city_out(out: str | Path, city: str) -> Path:
    """A city's own output directory in a fleet run: ``<out>/cities/<city>/`` (warehouse, landing, maps)."""
    return Path(out) / CITIES_SUBDIR / city


def catalogue_path(out: str | Path) -> Path:
    """``<out>/catalogue.json``: every city's warehouse, for ``civicmash sql --all``."""
    return Path(out) / CATALOGUE_FILE


def fleet_jobs(*, cities: Iterable[str] | None = None, profile_dir: str | Path | None = None,
               replay_root: str | Path | None = None) -> list[CityJob]:
    """The cities of a fleet run, each profile parsed once here so a bad one stops the run before anything starts.

    ``cities``: profile names (``cities/<name>.toml``) or profile files; default every ``*.toml`` of
    ``profile_dir`` (default ``cities/``). ``replay_root``: each city's replay directory is
    ``<replay_root>/<city>`` (checked when the city runs: a missing one fails that city alone)."""
    if cities:
        sources = [str(c) for c in cities]
    else:
        folder = Path(profile_dir) if profile_dir else CITIES_DIR
        if not folder.is_dir():
            raise ProfileError(f"profile directory {str(folder)!r} does not exist")
        sources = [str(p) for p in sorted(folder.glob("*.toml"))]
        if not sources:
            raise ProfileError(f"no city profile (*.toml) in {folder}")
    jobs: dict[str, CityJob] = {}
    for source in sources:
        profile = load_profile(source)
        path = profile_path(source)
        schema_name(profile.name)   # a slug: it names a directory and the catalogue's schema
        if profile.name in jobs:
            raise ProfileError(f"city {profile.name!r} is given twice ({jobs[profile.name].profile} and {path})")
        replay = str(Path(replay_root) / profile.name) if replay_root else None
        jobs[profile.name] = CityJob(city=profile.name, profile=str(path.resolve()), replay=replay)
    return list(jobs.values())


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


@task(name="city", cache_policy=NO_CACHE)
def run_city(job: CityJob, *, out: str, maps: list[str] | None = None, incremental: bool = False,
             wait: float = 0.0) -> dict[str, Any]:
    """One city's pipeline into its own ``<out>/cities/<city>/``; returns what the parent records.

    Any failure becomes :class:`CityRunFailed` naming the city (the task fails; the other cities go on)."""
    # imported here, not at module level: Dask ships this task's function by value (cloudpickle), and a flow
    # captured as a global would travel without its module's names (its annotations would not resolve)
    from civicmash.flows.pipeline import civic_pipeline

    started = time.perf_counter()
    try:
        profile = load_profile(job.profile)
        replay = None
        if job.replay:   # the flow's replay branch then checks every file the profile serves from it
            replay = Path(job.replay)
            if not replay.is_dir():
                raise FileNotFoundError(f"replay directory {replay} does not exist (--replay-root DIR serves "
                                        f"DIR/<city>)")
        summary = civic_pipeline(job.city, out=str(city_out(out, job.city)), replay=str(replay) if replay else None,
                                 profile_path=job.profile, maps=maps, incremental=incremental, profile=profile,
                                 wait=wait)
    except RunHealthError as exc:   # loaded what it could; the warehouse is there, the city failed its health
        raise CityRunFailed(f"{job.city}: run health failed: {exc}") from None
    except Exception as exc:
        raise CityRunFailed(f"{job.city}: {type(exc).__name__}: {exc}") from exc   # the task log keeps its traceback
    return {"city": job.city, "status": "completed", "title": summary["title"], "synthetic": summary["synthetic"],
            "run_id": summary["run_id"], "warehouse": summary["warehouse"],
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "incidents": summary["tables"].get("incidents", 0), "maps": sorted(summary["maps"]),
            "seconds": round(time.perf_counter() - started, 2), "worker": _worker_name(), "pid": os.getpid(),
            "peak_rss_mb": _peak_rss_mb(), "error": None}


@flow(name="civic_fleet", log_prints=True)
def run_cities(jobs: list[CityJob], out: str = "out", maps: list[str] | None = None, incremental: bool = False,
               wait: float = 0.0) -> dict[str, Any]:
    """Every city of ``jobs`` as a task on the flow's task runner, then the catalogue; fails (:class:`FleetFailed`)
    naming the cities that failed, after the others have completed and the catalogue is written."""
    logger = get_run_logger()
    started = time.perf_counter()
    futures = [(job, run_city.with_options(task_run_name=f"city-{job.city}").submit(
        job, out=out, maps=maps, incremental=incremental, wait=wait)) for job in jobs]
    results = []
    for job, future in futures:
        try:
            result = future.result()
        except Exception as exc:   # noqa: BLE001 - recorded for that city; the others go on
            message = str(exc) if str(exc).startswith(f"{job.city}:") else f"{job.city}: {type(exc).__name__}: {exc}"
            result = {"city": job.city, "status": "failed", "title": None, "synthetic": None, "run_id": None,
                      "warehouse": str(city_out(out, job.city) / "civicmash.duckdb"),
                      "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                      "incidents": None, "maps": [], "seconds": None, "worker": None, "pid": None,
                      "peak_rss_mb": None, "error": " ".join(message.split())}
        logger.info("%s: %s%s", job.city, result["status"], f" ({result['error']})" if result["error"] else "")
        results.append(result)
    catalogue = catalogue_path(out)
    write_catalogue(catalogue, results)
    failed = [r["city"] for r in results if r["status"] != "completed"]
    summary = {"out": str(out), "catalogue": str(catalogue), "cities": results, "failed": failed,
               "seconds": round(time.perf_counter() - started, 2), "workers": _workers_peak(results)}
    if failed:
        raise FleetFailed(f"{len(failed)} of {len(results)} cities failed: "
                          + "; ".join(r["error"] for r in results if r["status"] != "completed"), summary=summary)
    return summary


def _workers_peak(results: list[dict]) -> dict[str, dict]:
    """Per worker (address, or ``local``): the cities it ran and its process's peak RSS (MB)."""
    out: dict[str, dict] = {}
    for r in results:
        if r["worker"] is None:
            continue
        w = out.setdefault(r["worker"], {"cities": [], "peak_rss_mb": 0.0, "pids": []})
        w["cities"].append(r["city"])
        w["peak_rss_mb"] = max(w["peak_rss_mb"], r["peak_rss_mb"] or 0.0)
        if r["pid"] not in w["pids"]:
            w["pids"].append(r["pid"])
    return out


def _api_url() -> str:
    """The Prefect API this process talks to (a temporary local server is started when none is configured), so
    the LocalCluster's worker processes report to the same one instead of each starting its own."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return str(client.api_url)


def task_runner(*, workers: int, scheduler: str | None = None):
    """The parent flow's task runner: ``DaskTaskRunner(address=scheduler)`` for an existing Dask cluster (its
    workers need civicmash installed and their own ``PREFECT_API_URL``), else a ``LocalCluster`` of ``workers``
    single-threaded worker processes; ``workers=0``: no Dask, the cities one after another in this process."""
    from prefect.task_runners import ThreadPoolTaskRunner

    if scheduler:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=scheduler)
    if workers < 0:
        raise ValueError(f"--workers must be 0 (no Dask: one city after another) or more, not {workers}")
    if workers == 0:
        return ThreadPoolTaskRunner(max_workers=1)
    from prefect_dask import DaskTaskRunner

    env = {"PREFECT_API_URL": _api_url()}
    # memory_limit 0: Dask's nanny does not pause or kill a worker for DuckDB's memory (CIVICMASH_DUCKDB_MEMORY_LIMIT
    # bounds that); one thread per worker: one city at a time per process
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "memory_limit": 0, "dashboard_address": ":0", "env": env})


def run_fleet(jobs: list[CityJob], *, out: str | Path, workers: int = 2, scheduler: str | None = None,
              maps: list[str] | None = None, incremental: bool = False, wait: float = 0.0) -> dict[str, Any]:
    """Run :func:`run_cities` on :func:`task_runner` (see there); returns its summary or raises
    :class:`FleetFailed` (with the summary)."""
    if not jobs:
        raise ValueError("no cities to run")
    runner = task_runner(workers=workers, scheduler=scheduler)
    return run_cities.with_options(task_runner=runner)(jobs, out=str(out), maps=maps, incremental=incremental,
                                                       wait=wait)
