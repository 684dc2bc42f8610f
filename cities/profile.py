"""City profiles: what a city *is* (datasets, portals, field mappings, schedules).

A profile is a TOML file, ``cities/<name>.toml``. :func:`load_profile` parses and validates it and
raises :class:`ProfileError` naming the file and the field path of the first problems found.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from civicmash.warehouse.load import MAPPABLE

CITIES_DIR = Path(__file__).resolve().parent

Protocol = Literal["socrata", "arcgis", "ckan", "osm", "file"]
Table = Literal["incidents", "venues", "services", "spending", "boundaries", "streets", "population", "iucr_codes",
                "area_indicators"]

FORMATS: dict[str, set[str]] = {
    "socrata": {"json", "csv", "geojson"},
    "arcgis": {"geojson"},
    "ckan": {"json", "csv"},
    "osm": {"osm-xml", "overpass-json", "pbf"},
    "file": {"csv", "geojson", "json", "edgelist", "lines-geojson", "shapefile", "geopackage", "parquet"},
}

# Fields every table accepts in a mapping, on top of its canonical columns.
COMMON_FIELDS = {"source_id", "source_updated_at", "lat", "lon", "source_x", "source_y", "location",
                 "geometry", "wkt"}

# Canonical columns a profile may map per table: the warehouse owns them (see docs/warehouse.md).
TABLE_FIELDS: dict[str, set[str]] = {**MAPPABLE, "streets": set()}

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_CRON = re.compile(r"^\s*(\S+\s+){4}\S+\s*$")


class ProfileError(ValueError):
    """A city profile that cannot be used; the message names the file and the field path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Strict):
    """One dataset of a city: where it lives, how to fetch it, which canonical table it feeds."""

    protocol: Protocol
    table: Table
    format: str
    domain: str | None = None
    dataset_id: str | None = None
    url: str | None = None
    replay: str | None = None
    licence: str = "unknown: check the portal's terms"
    title: str | None = None
    kind: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "DatasetSpec":
        if self.format not in FORMATS[self.protocol]:
            raise ValueError(f"format {self.format!r} is not served by protocol {self.protocol!r} "
                             f"(one of {', '.join(sorted(FORMATS[self.protocol]))})")
        if self.protocol in ("socrata", "arcgis", "ckan"):
            if not self.domain or not self.dataset_id:
                raise ValueError(f"protocol {self.protocol!r} needs both 'domain' and 'dataset_id'")
        elif not self.url and not self.replay:
            raise ValueError(f"protocol {self.protocol!r} needs 'url' or 'replay'")
        allowed = TABLE_FIELDS[self.table] | COMMON_FIELDS
        unknown = sorted(set(self.fields) - allowed)
        if unknown:
            raise ValueError(f"fields {unknown} are not columns of table {self.table!r} "
                             f"(allowed: {', '.join(sorted(allowed))})")
        if self.table == "boundaries" and not self.kind:
            raise ValueError("a boundaries dataset needs 'kind' (community_area, beat, district, ward, ...)")
        if self.replay and (Path(self.replay).is_absolute() or ".." in Path(self.replay).parts):
            raise ValueError("'replay' must be a relative path inside the replay directory")
        return self

    @property
    def portal_url(self) -> str:
        """The public address of the dataset (what a journalist would cite)."""
        if self.protocol == "socrata":
            return f"https://{self.domain}/resource/{self.dataset_id}"
        if self.protocol == "arcgis":
            return f"https://{self.domain}/arcgis/rest/services/{self.dataset_id}/FeatureServer/0"
        if self.protocol == "ckan":
            return f"https://{self.domain}/dataset/{self.dataset_id}"
        return self.url or f"replay:{self.replay}"


class LitSpec(_Strict):
    """``[risk.lit]``: street lighting (the OSM ``lit`` tag of street_edges) as a factor on a street's risk."""

    lit: float = Field(1.0, gt=0, description="factor on the risk of streets tagged lit=yes (below 1 lowers it)")
    unlit: float = Field(1.0, gt=0, description="factor on the risk of streets tagged lit=no")
    hours: tuple[float, float] = Field((0.0, 24.0), description="[from, to) hour of the walk when it applies; may wrap midnight")


class BarsSpec(_Strict):
    """``[risk.bars]``: streets near bars (the venues_bars view) late at night as a factor on their risk."""

    radius_m: float = Field(75.0, gt=0, description="a street is near a bar when a bar is this close to it (metres)")
    factor: float = Field(1.0, gt=0, description="factor on the risk of streets near a bar (above 1 raises it)")
    hours: tuple[float, float] = Field((22.0, 4.0), description="[from, to) hour of the walk when it applies; may wrap midnight")


class RiskSpec(_Strict):
    """Severity weights for the safe-route risk surface: category weight per primary type; optional street
    factors (``lit``, ``bars``: off unless the profile sets them)."""

    weights: dict[str, float] = Field(default_factory=lambda: {"violent": 3.0, "property": 1.0,
                                                               "other": 0.5, "non_criminal": 0.0})
    categories: dict[str, list[str]] = Field(default_factory=dict)
    lit: LitSpec | None = None
    bars: BarsSpec | None = None

    def street_factors(self) -> dict:
        """``{"lit": {...}, "bars": {...}}`` for :mod:`maps.risk` (only the factors the profile sets)."""
        return {k: getattr(self, k).model_dump() for k in ("lit", "bars") if getattr(self, k) is not None}

    def type_weights(self) -> dict[str, float]:
        """Primary type (upper case) -> weight; ``"*"`` (any type not listed) gets the 'other' weight."""
        weights = {t.upper(): self.weights.get(cat, self.weights.get("other", 0.5))
                   for cat, types in self.categories.items() for t in types}
        weights["*"] = self.weights.get("other", 0.5)
        return weights


class HttpSpec(_Strict):
    """How politely and patiently the connectors talk to this city's portals (``[http]`` in the profile)."""

    timeout: float = Field(60.0, gt=0, description="seconds to wait for a connection or a read")
    retries: int = Field(5, ge=0, description="retries after the first try of a request")
    backoff: float = Field(0.5, ge=0, description="first retry delay in seconds; doubles each retry, with jitter")
    max_backoff: float = Field(30.0, ge=0, description="longest delay between two tries, in seconds")
    min_interval: float = Field(0.0, ge=0, description="seconds between two requests to one host (politeness)")


_WINDOW = ("days", "start", "end")          # the incident window: last `days` (90) of the data, or start/end
_BASE = ("center", "boundary_kind", "max_street_edges")   # the base layer every map draws
MAP_OPTIONS: dict[str, tuple[str, ...]] = {
    "explorer": (*_BASE, *_WINDOW, "today", "types", "type_categories", "near_categories"),
    "safe_route": (*_BASE, *_WINDOW, "from", "to", "at", "detour", "bandwidth_m", "sigma_h", "type_weights",
                   "street_factors"),
    "locator": (*_BASE, "near", "at", "categories", "n", "max_access_m", "spacing_m", "thresholds",
                "service_isochrones"),
    "spending": (*_BASE, "fiscal_year", "top"),
}
"""The options each map reads from the profile's ``[maps.<kind>]`` table (documented in docs/maps.md)."""


class CityProfile(_Strict):
    name: str
    title: str
    timezone: str = "UTC"
    synthetic: bool = False
    schedule: str | None = None
    center: tuple[float, float] | None = None
    datasets: dict[str, DatasetSpec]
    risk: RiskSpec = Field(default_factory=RiskSpec)
    http: HttpSpec = Field(default_factory=HttpSpec)
    maps: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError("must be a lower-case slug: letters, digits, underscore")
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and not _CRON.match(v):
            raise ValueError(f"{v!r} is not a 5-field cron expression")
        return v

    @field_validator("maps")
    @classmethod
    def _map_options(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        problems = []
        for kind, options in v.items():
            if kind not in MAP_OPTIONS:
                problems.append(f"[maps.{kind}]: no such map (maps are {', '.join(MAP_OPTIONS)})")
                continue
            unknown = sorted(set(options) - set(MAP_OPTIONS[kind]))
            if unknown:
                problems.append(f"[maps.{kind}]: unknown option(s) {', '.join(map(repr, unknown))} "
                                f"(known: {', '.join(MAP_OPTIONS[kind])})")
        if problems:
            raise ValueError("; ".join(problems))
        return v

    @field_validator("datasets")
    @classmethod
    def _names(cls, v: dict[str, DatasetSpec]) -> dict[str, DatasetSpec]:
        if not v:
            raise ValueError("a city needs at least one dataset")
        bad = [n for n in v if not _SLUG.match(n)]
        if bad:
            raise ValueError(f"dataset names must be lower-case slugs: {bad}")
        return v


def profile_path(name_or_path: str | Path) -> Path:
    """``chicago`` -> ``cities/chicago.toml``; a path is returned as is."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    return CITIES_DIR / f"{name_or_path}.toml"


def available_cities() -> list[str]:
    return sorted(p.stem for p in CITIES_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path) -> CityProfile:
    path = profile_path(name_or_path)
    if not path.exists():
        raise ProfileError(f"no city profile {str(name_or_path)!r} (looked for {path}; "
                           f"known cities: {', '.join(available_cities()) or 'none'})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return parse_profile(raw, source=str(path))


def parse_profile(raw: dict[str, Any], *, source: str = "<profile>") -> CityProfile:
    try:
        return CityProfile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{source}: {where}: {msg}")
        raise ProfileError("\n".join(problems)) from None
