"""A city's replay portal: the profile's ``replay`` files served over loopback under their protocols.

Each protocol's serving is the replay handler registered under its name (:func:`.replay.register_handler`);
a protocol that addresses files (``file``, ``osm``) needs none: the portal serves its files under ``/files/``.
"""

from __future__ import annotations

from pathlib import Path

from civicmash.cities.profile import CityProfile
from civicmash.flows.sources import SourceError

from .replay import ReplayPortal, Route, handler_for


def replay_routes(profile: CityProfile, replay_dir: Path) -> list[Route]:
    """Routes for the replay portal: every dataset with a ``replay`` path, served under its protocol.

    Raises :class:`SourceError` naming the dataset when its replay file is missing, or when its protocol
    addresses a portal and no replay handler serves it.
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
        handler = handler_for(spec.protocol)
        if handler is None:
            if spec.connector.addressing == "portal":
                raise SourceError(f"{profile.name}/{name}: no replay handler serves protocol {spec.protocol!r} "
                                  f"(register one with civicmash.devkit.replay.register_handler)")
            continue   # a file protocol: served under /files/<replay>
        key = (spec.protocol, spec.dataset_id)
        if served.setdefault(key, spec.replay) != spec.replay:
            raise SourceError(f"{profile.name}: datasets serve different replay files under one "
                              f"{spec.protocol} id {spec.dataset_id!r} ({served[key]} and {spec.replay}); "
                              f"the portal can serve only one")
        # the source file's own format comes from its suffix; spec.format is what the portal serves
        routes.append(handler.route(dataset_id=spec.dataset_id, path=spec.replay, options=spec.protocol_options))
    if missing:
        raise SourceError(f"{profile.name}: replay files missing under {replay_dir}:\n  " + "\n  ".join(missing))
    return routes


def replay_endpoints(profile: CityProfile) -> dict[str, str]:
    """Dataset name -> the path on the replay portal where a person sees it (datasets with a ``replay`` path)."""
    out = {}
    for name, spec in profile.datasets.items():
        if spec.replay:
            handler = handler_for(spec.protocol)
            out[name] = (handler.endpoint(dataset_id=spec.dataset_id, fmt=spec.format) if handler
                         else f"/files/{spec.replay}")
    return out


def start_replay(profile: CityProfile, replay_dir: Path, **portal_options) -> ReplayPortal:
    """Start a loopback replay portal serving the profile's replay files (caller stops it)."""
    portal = ReplayPortal(Path(replay_dir), replay_routes(profile, Path(replay_dir)), **portal_options)
    portal.start()
    return portal
