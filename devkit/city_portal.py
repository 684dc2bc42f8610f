"""A city's replay portal: the profile's ``replay`` files served over loopback under their protocols."""

from __future__ import annotations

from pathlib import Path

from civicmash.cities.profile import CityProfile
from civicmash.flows.sources import SourceError

from .replay import ReplayPortal, Route


def replay_routes(profile: CityProfile, replay_dir: Path) -> list[Route]:
    """Routes for the replay portal: every dataset with a ``replay`` path, served under its protocol.

    Raises :class:`SourceError` naming the dataset when its replay file is missing.
    """
    routes = []
    missing = []
    served: dict[tuple[str, str], str] = {}
    for name, spec in profile.datasets.items():
        if not spec.replay:
            continue
        if not (replay_dir / spec.replay).exists():
            missing.append(f"{name}: {replay_dir / spec.replay}")
            continue
        if spec.protocol in ("socrata", "arcgis", "ckan"):
            key = (spec.protocol, spec.dataset_id)
            if served.setdefault(key, spec.replay) != spec.replay:
                raise SourceError(f"{profile.name}: datasets serve different replay files under one "
                                  f"{spec.protocol} id {spec.dataset_id!r} ({served[key]} and {spec.replay}); "
                                  f"the portal can serve only one")
            # the source file's own format comes from its suffix; spec.format is what the portal serves
            routes.append(Route(spec.protocol, spec.dataset_id, spec.replay,
                                max_records=spec.options.get("replay_max_records")))
    if missing:
        raise SourceError(f"{profile.name}: replay files missing under {replay_dir}:\n  " + "\n  ".join(missing))
    return routes


def start_replay(profile: CityProfile, replay_dir: Path, **portal_options) -> ReplayPortal:
    """Start a loopback replay portal serving the profile's replay files (caller stops it)."""
    portal = ReplayPortal(Path(replay_dir), replay_routes(profile, Path(replay_dir)), **portal_options)
    portal.start()
    return portal
