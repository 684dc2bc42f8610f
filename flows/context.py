"""One run context: what a command works with, resolved once at its start.

A command names its city by profile name (``--city chicago``, read from ``cities/chicago.toml``) or by a
profile file (``--profile FILE``); :func:`open_context` parses that profile once into a :class:`RunContext`,
and the command hands that same profile on (to the flow, to the pages' options) instead of naming it again.
Nothing here imports Prefect, so the commands that only read the warehouse (``explore``, ``route``,
``locate``) start without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicmash.cities.profile import CityProfile, ProfileError, load_profile

WAREHOUSE_FILE = "civicmash.duckdb"


def warehouse_file(*, out: str | Path, db: str | Path | None = None) -> Path:
    """The warehouse a command reads or writes: ``db`` when given, else ``<out>/civicmash.duckdb``."""
    return Path(db) if db else Path(out) / WAREHOUSE_FILE


AREA_MAPS = ("explorer", "safe_route", "locator")
"""The maps that name areas: they get the profile's ``[areas]`` as the plain option ``areas``."""


def map_options(profile: CityProfile, kind: str) -> dict[str, Any]:
    """The options a map of ``kind`` gets (:meth:`CityProfile.map_options`), as a copy of its own: a command
    adds or drops options for one page (``--today``, ``--days``) without changing the profile. The maps that
    name areas also get ``areas`` (:func:`area_settings`)."""
    options = dict(profile.map_options(kind))
    if kind in AREA_MAPS:
        options.setdefault("areas", area_settings(profile))
    return options


def area_settings(profile: CityProfile) -> dict[str, Any]:
    """The profile's ``[areas]`` as plain values for warehouse, analysis and maps (which may not import
    ``cities/``): ``{"primary": kind or None, "slots": {slot: {"kind", "label", "plural", "pad", "values"}}}``."""
    return profile.areas.plain()


@dataclass(frozen=True)
class RunContext:
    """A command's city and paths: the profile (parsed once), the file it came from, the output directory,
    the warehouse and, for a pipeline run, the replay directory served instead of the internet."""

    profile: CityProfile
    profile_file: Path | None
    out: Path
    warehouse: Path
    replay: Path | None = None

    @property
    def city(self) -> str:
        return self.profile.name

    @property
    def maps_dir(self) -> Path:
        return self.out / "maps" / self.profile.name

    def map_options(self, kind: str) -> dict[str, Any]:
        return map_options(self.profile, kind)


def resolve_profile(*, city: str | None, profile_file: str | Path | None) -> tuple[CityProfile, Path | None]:
    """The profile named by ``city`` (a name in ``cities/``, or a path) or read from ``profile_file``, loaded
    once, and the file it came from (``None`` for a profile of ``cities/``). With both, the file's ``name``
    must be ``city``: a mismatch is a mistake, not a choice."""
    if profile_file is not None:
        path = Path(profile_file)
        if not path.is_file():
            raise ProfileError(f"profile file {str(profile_file)!r} does not exist")
        profile = load_profile(path)
        if city is not None and city != profile.name:
            raise ProfileError(f"--profile {path} is the profile of city {profile.name!r}, not {city!r}: "
                               "give one of --city and --profile, or make them agree")
        return profile, path
    if city is None:
        raise ProfileError("no city: give a profile name (--city NAME) or a profile file (--profile FILE)")
    path = Path(city)
    return load_profile(city), (path if path.suffix == ".toml" else None)


def open_context(*, city: str | None, profile_file: str | Path | None, out: str | Path,
                 db: str | Path | None = None, replay: str | Path | None = None) -> RunContext:
    """The :class:`RunContext` of one command: its profile loaded once (see :func:`resolve_profile`)."""
    profile, source = resolve_profile(city=city, profile_file=profile_file)
    return RunContext(profile=profile, profile_file=source, out=Path(out), warehouse=warehouse_file(out=out, db=db),
                      replay=Path(replay) if replay else None)
