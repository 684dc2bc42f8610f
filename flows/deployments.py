"""Prefect deployments: one per city profile with a ``schedule``, served by ``civicmash serve``."""

from __future__ import annotations

from pathlib import Path

from prefect import serve

from civicmash.cities.profile import available_cities, load_profile
from civicmash.flows.pipeline import civic_pipeline


def build_deployments(cities: list[str] | None = None, *, out: str = "out", replay: str | None = None):
    """A RunnerDeployment per city on the profile's cron schedule (cities without one are skipped
    unless named explicitly, which is an error)."""
    names = cities or [c for c in available_cities() if load_profile(c).schedule]
    deployments = []
    for name in names:
        profile = load_profile(name)
        if not profile.schedule:
            raise ValueError(f"city {name!r} has no 'schedule' in its profile, so it cannot be served")
        parameters = {"city": profile.name, "out": out}
        if Path(name).suffix == ".toml":  # a profile file outside cities/
            parameters["profile_path"] = str(name)
        if replay:
            parameters["replay"] = replay
        deployments.append(civic_pipeline.to_deployment(
            name=f"{profile.name}-scheduled", cron=profile.schedule, parameters=parameters,
            description=f"civicmash pipeline for {profile.title}", tags=["civicmash", profile.name],
            _sync=True))  # plain call even when the caller's thread runs an event loop
    return deployments


def serve_deployments(deployments) -> None:  # pragma: no cover - blocks until interrupted
    serve(*deployments)
