"""Prefect deployments: one per city profile with a ``schedule``, served by ``civicmash serve``."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect import serve
from prefect.schedules import Cron, Schedule

from civicmash.cities.profile import CityProfile, available_cities
from civicmash.flows.context import resolve_profile
from civicmash.flows.pipeline import civic_pipeline


def build_deployments(cities: list[str] | None = None, *, profile_files: list[str] | None = None,
                      out: str = "out", replay: str | None = None):
    """A RunnerDeployment per city on the profile's cron schedule in the profile's time zone: the named
    ``cities`` (profile names, or paths) and ``profile_files``; with neither, every profile of ``cities/``
    that has a schedule (a city named without one is an error).

    Each profile is parsed once here. A deployment's parameters name the profile (city, profile_path), they
    do not carry it: each scheduled run parses the file once, as it is on that day."""
    chosen = [resolve_profile(city=name, profile_file=None) for name in cities or []]
    chosen += [resolve_profile(city=None, profile_file=path) for path in profile_files or []]
    if not chosen:
        chosen = [(profile, source) for profile, source in
                  (resolve_profile(city=name, profile_file=None) for name in available_cities()) if profile.schedule]
    deployments = []
    for profile, source in chosen:
        if not profile.schedule:
            raise ValueError(f"city {profile.name!r} has no 'schedule' in its profile{f' {source}' if source else ''}, "
                             "so it cannot be served")
        parameters = {"city": profile.name, "out": out}
        if source is not None:  # a profile file outside cities/
            parameters["profile_path"] = str(source)
        if replay:
            parameters["replay"] = replay
        deployments.append(civic_pipeline.to_deployment(
            name=f"{profile.name}-scheduled", schedules=[profile_schedule(profile)], parameters=parameters,
            description=f"civicmash pipeline for {profile.title}", tags=["civicmash", profile.name],
            _sync=True))  # plain call even when the caller's thread runs an event loop
    return deployments


def profile_schedule(profile: CityProfile) -> Schedule:
    """The profile's cron ``schedule`` read in its ``timezone``: "0 6 * * *" for Chicago is 06:00 in
    America/Chicago all year (11:00 or 12:00 UTC with daylight saving), not 06:00 UTC, which is what
    Prefect assumes for a bare ``cron=`` (timezone None)."""
    try:
        ZoneInfo(profile.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"city {profile.name!r}: timezone {profile.timezone!r} is not an IANA time zone "
                         f"(e.g. 'America/Chicago'), so its schedule cannot be placed in time") from None
    return Cron(profile.schedule, timezone=profile.timezone)


def require_prefect_server() -> str:
    """The URL of the Prefect server ``PREFECT_API_URL`` names, checked to answer; a clear error otherwise.

    Without ``PREFECT_API_URL`` Prefect would start a temporary server inside ``serve``. That server does not
    run the scheduler service, so it would register the deployments and never create a scheduled run: the
    schedule would silently never fire. ``serve`` needs a dedicated server (docs/operations.md)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ValueError("civicmash serve needs a running Prefect server: start one with `prefect server start` "
                         "and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api); Prefect's temporary server "
                         "has no scheduler, so the schedules would never fire (see docs/operations.md)")
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise ValueError(f"no Prefect server answers at PREFECT_API_URL={url} ({type(problem).__name__}: "
                         f"{problem}); start it with `prefect server start` (see docs/operations.md)")
    return url


def serve_deployments(deployments) -> None:  # pragma: no cover - blocks until interrupted
    """Serve the deployments from this process until interrupted, against the dedicated Prefect server."""
    print(f"serving on the Prefect server at {require_prefect_server()}")
    serve(*deployments)
