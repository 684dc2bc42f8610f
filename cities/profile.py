"""City profiles: what a city *is* (datasets, portals, field mappings, schedules), as a typed, closed schema.

A profile is a TOML file, ``cities/<name>.toml``. :func:`load_profile` parses and validates it and raises
:class:`ProfileError` naming the file, the table (``[datasets.crimes.options]``), the key and, for a key
that does not exist, the closest known one ("did you mean"). Every table is closed: a misspelt key anywhere
is an error, never a silent default. A dataset's ``options`` are checked against its protocol's options
model (declared by its connector, :mod:`civicmash.connectors`) and its canonical table's
(:mod:`civicmash.cities.table_options`); ``[maps.<kind>]`` against :mod:`civicmash.cities.map_options`.
docs/profile.md is generated from these models (:mod:`civicmash.cities.schema_docs`).
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from civicmash import connectors
from civicmash.cities.area_options import AreasSpec
from civicmash.cities.map_options import MAP_OPTIONS, MapsSpec
from civicmash.cities.money_options import MoneySpec
from civicmash.cities.offence_options import OffencesSpec
from civicmash.cities.place_options import PlacesSpec
from civicmash.cities.table_options import TABLE_OPTIONS
from civicmash.warehouse.load import MAPPABLE

__all__ = ["CITIES_DIR", "COMMON_FIELDS", "MAP_OPTIONS", "TABLE_FIELDS", "BarsSpec", "CityProfile", "DatasetSpec",
           "HealthSpec", "HttpSpec", "LitSpec", "OffencesSpec", "ProfileError", "RiskSpec", "available_cities", "check_profile", "load_profile",
           "parse_profile", "profile_json_schema", "profile_path"]

CITIES_DIR = Path(__file__).resolve().parent

Table = Literal["incidents", "venues", "services", "service_requests", "spending", "boundaries", "streets",
                "population", "iucr_codes", "area_indicators", "contract_revisions", "place_spending", "outcomes"]

# Fields every table accepts in a mapping, on top of its canonical columns.
COMMON_FIELDS = {"source_id", "source_updated_at", "lat", "lon", "source_x", "source_y", "location",
                 "geometry", "wkt"}

# Canonical columns a profile may map per table: the warehouse owns them (see docs/warehouse.md).
TABLE_FIELDS: dict[str, set[str]] = {**MAPPABLE, "streets": set()}

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_CRON = re.compile(r"^\s*(\S+\s+){4}\S+\s*$")
_LANG_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")   # BCP 47, e.g. en-US, es-US, es-419


class ProfileError(ValueError):
    """A city profile that cannot be used; the message names the file, the table and the key of each problem."""


def did_you_mean(word: str, known: typing.Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``known`` to a misspelt ``word``, else ``""``."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown(word: str, known: typing.Iterable[str], *, what: str = "unknown key") -> str:
    known = sorted(known)
    return f"{what}{did_you_mean(word, known)} (known: {', '.join(known) or 'none'})"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthSpec(_Strict):
    """``[health]`` (the city's) and ``[datasets.<name>.health]`` (one dataset's, overriding the city's key by
    key): when a dataset's load fails the run. A run whose dataset loads no row, or quarantines more than
    ``max_quarantine_share`` of its rows, ends Failed (non-zero exit) naming the dataset and its top reasons;
    the warehouse keeps what loaded and the quarantine rows, so the reasons can be read there."""

    max_quarantine_share: float = Field(0.05, ge=0, le=1, description="largest share of a dataset's rows that "
                                        "may be quarantined before the run fails (0.05 = 5 %)", examples=[0.05])
    allow_empty: bool = Field(False, description="a full load of no rows is healthy (a dataset that is empty "
                              "some days); an incremental run that finds no new rows always is", examples=[True])
    expected_reasons: tuple[str, ...] = Field(("not_walkable", "excluded_by_profile"), description="quarantine "
                                              "reasons that set rows aside by design (streets not walked on, rows "
                                              "the profile's keep/drop rules exclude), counted but not held "
                                              "against the share", examples=[["not_walkable", "excluded_by_profile"]])
    max_count_gap: float = Field(0.01, ge=0, le=1, description="largest gap between the portal's own row count "
                                 "and the rows fetched (after an incremental run: held), as a share of the "
                                 "portal's count, before the dataset is `degraded` and an alert is sent "
                                 "(0.01 = 1 %)", examples=[0.01])
    max_age_hours: float | None = Field(None, gt=0, description="a dataset whose last successful fetch is older "
                                        "than this many hours is `degraded` (late) and an alert is sent; none: "
                                        "never late", examples=[26])

    def run_health_limits(self) -> dict:
        """The keys the load's run-health check takes (``flows.health.check_health``)."""
        return self.model_dump(include={"max_quarantine_share", "allow_empty", "expected_reasons"})


class AlertsSpec(_Strict):
    """``[alerts]``: where a failed, degraded or late run is reported (a webhook; docs/operations.md). The URL
    is a secret, so the profile names the environment variable that holds it, never the URL itself."""

    webhook_url_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="name of the "
                                        "environment variable holding the webhook URL a JSON alert is POSTed "
                                        "to; none: no alerts", examples=["CIVICMASH_ALERT_WEBHOOK"])
    retries: int = Field(3, ge=0, le=10, description="retries of a failed webhook POST (1 s, 2 s, 4 s... apart)",
                         examples=[3])


class DatasetSpec(_Strict):
    """One dataset of a city: where it lives, how to fetch it, which canonical table it feeds."""

    protocol: str = Field(description="the portal protocol, one registered in civicmash.connectors",
                          examples=["socrata"])
    table: Table = Field(description="the canonical warehouse table it feeds", examples=["incidents"])
    format: str = Field(description="the format fetched; one the protocol serves", examples=["csv"])
    domain: str | None = Field(None, description="the portal's host, reached over https (portal protocols); or "
                               "a base URL with its own scheme (a local CKAN, an intranet portal, an emulator)",
                               examples=["data.cityofchicago.org", "http://127.0.0.1:5000"])
    dataset_id: str | None = Field(None, description="the dataset's id on the portal (portal protocols)",
                                   examples=["ijzp-q8t2"])
    url: str | None = Field(None, description="the file's address (file protocols)",
                            examples=["https://example.org/streets.osm"])
    replay: str | None = Field(None, description="path of a saved export inside the replay directory, served by "
                               "the loopback replay portal on `civicmash run --replay DIR`",
                               examples=["crime/crimes.csv"])
    licence: str = Field("unknown: check the portal's terms", description="the data's licence or terms of use",
                         examples=["City of Chicago Data Portal Terms of Use"])
    title: str | None = Field(None, description="the dataset's title as published", examples=["Crimes - 2001 to Present"])
    kind: str | None = Field(None, description="boundaries: the area kind (required); services: the category",
                             examples=["community_area"])
    fields: dict[str, str | list[str]] = Field(
        default_factory=dict, description="canonical column -> source field (see the table's columns); "
        "`source_id` may list several fields, joined with `|` into one id (`[\"case_number\", \"victim_seq\"]`)",
        examples=[{"source_id": "id", "occurred_at": "date"}, {"source_id": ["case_number", "victim_seq"]}])
    options: dict[str, Any] = Field(default_factory=dict, description="the protocol's options and the table's "
                                    "options, in one table (see below)", examples=[{"page_size": 50000}])
    health: HealthSpec | None = Field(None, description="this dataset's run-health limits; the keys it sets "
                                      "override the city's `[health]`", examples=[{"max_quarantine_share": 0.2}])

    @model_validator(mode="after")
    def _check(self) -> "DatasetSpec":
        try:
            protocol = connectors.protocol(self.protocol)
        except KeyError as exc:
            raise ValueError(f"protocol: {exc}") from None
        problems = []
        if self.format not in protocol.formats:
            problems.append(f"format: {self.format!r} is not served by protocol {self.protocol!r} (one of "
                            f"{', '.join(protocol.formats)}){did_you_mean(self.format, protocol.formats)}")
        address = protocol.address_problem(domain=self.domain, dataset_id=self.dataset_id, url=self.url,
                                           replay=self.replay)
        if address:
            problems.append(address)
        allowed = TABLE_FIELDS[self.table] | COMMON_FIELDS
        problems += [f"fields.{key}: {_unknown(key, allowed, what=f'not a column of table {self.table!r}')}"
                     for key in self.fields if key not in allowed]
        problems += [f"fields.{key}: only source_id may list several source fields (a composite id)"
                     if key != "source_id" else f"fields.{key}: list at least one source field"
                     for key, value in self.fields.items()
                     if isinstance(value, list) and (key != "source_id" or not value)]
        if self.table == "boundaries" and not self.kind:
            problems.append("kind: a boundaries dataset needs 'kind' (community_area, beat, district, ward, ...)")
        if self.replay and (Path(self.replay).is_absolute() or ".." in Path(self.replay).parts):
            problems.append("replay: must be a relative path inside the replay directory")
        if not problems:  # the options models depend on a known format
            problems += self._option_problems(protocol)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _option_problems(self, protocol) -> list[str]:
        own, table = protocol.options_model(self.format), TABLE_OPTIONS[self.table]
        known = set(own.model_fields) | set(table.model_fields)
        problems = [f"options.{key}: {_unknown(key, known)}" for key in self.options if key not in known]
        for model, whose in ((own, f"protocol {protocol.name!r}"), (table, f"table {self.table!r}")):
            try:
                model.model_validate({k: v for k, v in self.options.items() if k in model.model_fields})
            except ValidationError as exc:
                problems += [f"options.{'.'.join(map(str, e['loc']))}: {_message(e)} ({whose})"
                             for e in exc.errors()]
        columns = TABLE_FIELDS[self.table] | COMMON_FIELDS
        problems += [f"options.defaults.{key}: {_unknown(key, columns, what=f'not a column of table {self.table!r}')}"
                     for key in self.options.get("defaults") or {} if key not in columns]
        return problems

    @property
    def connector(self) -> connectors.Protocol:
        """The registered protocol this dataset is fetched with."""
        return connectors.protocol(self.protocol)

    @property
    def protocol_options(self) -> connectors.ProtocolOptions:
        """The protocol's typed options (its defaults filled in) for this dataset's format."""
        model = self.connector.options_model(self.format)
        return model.model_validate({k: v for k, v in self.options.items() if k in model.model_fields})

    @property
    def table_options(self) -> BaseModel:
        """The table normaliser's typed options (its defaults filled in)."""
        model = TABLE_OPTIONS[self.table]
        return model.model_validate({k: v for k, v in self.options.items() if k in model.model_fields})

    @property
    def incremental(self) -> bool:
        """Whether runs with ``--incremental`` fetch only this dataset's changed rows: its protocol can, and its
        options ask for it (``incremental = true``)."""
        return self.connector.incremental and getattr(self.protocol_options, "incremental", False) is True

    @property
    def portal_url(self) -> str:
        """The public address of the dataset (what a journalist would cite)."""
        return self.connector.public_url(domain=self.domain, dataset_id=self.dataset_id, url=self.url,
                                         replay=self.replay)


class LitSpec(_Strict):
    """``[risk.lit]``: street lighting as a factor on a street's risk: the OSM ``lit`` tag of street_edges and,
    with ``outages``, the open streetlight-outage service requests (a street near one counts as unlit)."""

    lit: float = Field(1.0, gt=0, description="factor on the risk of streets tagged lit=yes (below 1 lowers it)")
    unlit: float = Field(1.0, gt=0, description="factor on the risk of streets tagged lit=no, or near an open "
                         "streetlight outage when `outages` is on")
    hours: tuple[float, float] = Field((0.0, 24.0), description="[from, to) hour of the walk when it applies; may wrap midnight")
    outages: bool = Field(False, description="a street segment within `outage_radius_m` of a streetlight outage "
                          "open at the city's latest service-request time (the open_streetlight_outages view) counts "
                          "as unlit, whatever its tag; needs a `service_requests` dataset with "
                          "`options.streetlight_types`", examples=[True])
    outage_radius_m: float = Field(40.0, gt=0, description="how close (metres) an open outage must be to a street "
                                   "segment to make it unlit", examples=[40])


class BarsSpec(_Strict):
    """``[risk.bars]``: streets near bars (the venues_bars view) late at night as a factor on their risk."""

    radius_m: float = Field(75.0, gt=0, description="a street is near a bar when a bar is this close to it (metres)")
    factor: float = Field(1.0, gt=0, description="factor on the risk of streets near a bar (above 1 raises it)")
    hours: tuple[float, float] = Field((22.0, 4.0), description="[from, to) hour of the walk when it applies; may wrap midnight")


class RiskSpec(_Strict):
    """Severity weights for the safe-route risk surface: category weight per primary type; optional street
    factors (``lit``, ``bars``: off unless the profile sets them)."""

    weights: dict[str, float] = Field(default_factory=lambda: {"violent": 3.0, "property": 1.0,
                                                               "other": 0.5, "non_criminal": 0.0},
                                      description="category -> severity weight on the safe route's risk surface",
                                      examples=[{"violent": 3.0, "property": 1.0}])
    categories: dict[str, list[str]] = Field(default_factory=dict, description="category -> the primary types "
                                             "in it (upper case)", examples=[{"violent": ["HOMICIDE", "ROBBERY"]}])
    lit: LitSpec | None = Field(None, description="street lighting factor (off unless set)")
    bars: BarsSpec | None = Field(None, description="late-night bar street factor (off unless set)")

    def street_factors(self) -> dict:
        """``{"lit": {...}, "bars": {...}}`` for :mod:`maps.risk` (only the factors the profile sets; the outage
        keys of ``lit`` only when ``outages`` is on)."""
        out = {k: getattr(self, k).model_dump() for k in ("lit", "bars") if getattr(self, k) is not None}
        if "lit" in out and not out["lit"]["outages"]:
            out["lit"] = {k: v for k, v in out["lit"].items() if k not in ("outages", "outage_radius_m")}
        return out

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


class CityProfile(_Strict):
    """A city: its name, its datasets and how its products are drawn."""

    name: str = Field(description="the city's slug (lower case, digits, underscore): names its outputs",
                      examples=["chicago"])
    title: str = Field(description="the city's name as shown on the maps", examples=["Chicago"])
    timezone: str = Field("UTC", description="the city's IANA time zone", examples=["America/Chicago"])
    synthetic: bool = Field(False, description="generated, not real data: every output says so", examples=[True])
    schedule: str | None = Field(None, description="5-field cron for `civicmash serve`", examples=["0 6 * * *"])
    center: tuple[float, float] | None = Field(None, description="where the maps open `[lat, lon]`",
                                               examples=[[41.8781, -87.6298]])
    languages: list[str] = Field(["en-US", "es-US"], description="the pages' languages as BCP 47 tags, the first "
                                 "shown when the reader's browser asks for none of them; each tag's language needs a "
                                 "message catalogue (`maps/locales/<lang>.json`: en, es) and its region sets how "
                                 "numbers and dates are written (es-US: 1,234.5; es-MX or es-ES differ)",
                                 examples=[["en-US", "es-US"]])
    datasets: dict[str, DatasetSpec] = Field(description="dataset name (a slug) -> dataset")
    risk: RiskSpec = Field(default_factory=RiskSpec, description="severity weights for the safe route")
    http: HttpSpec = Field(default_factory=HttpSpec, description="how the connectors treat the portals")
    health: HealthSpec = Field(default_factory=HealthSpec, description="when a dataset's load fails the run")
    alerts: AlertsSpec = Field(default_factory=AlertsSpec, description="where failed, degraded or late runs "
                               "are reported (a webhook)")
    maps: MapsSpec = Field(default_factory=MapsSpec, description="per-map options")
    areas: AreasSpec = Field(default_factory=AreasSpec, description="the city's area kinds: which boundaries "
                             "fill the incidents' area columns, what they are called, the primary kind")
    places: PlacesSpec = Field(default_factory=PlacesSpec, description="how the city's portals write a block "
                               "(for typed places: route, locate)")
    money: MoneySpec | None = Field(None, description="crosswalks that make budget years, funds and outcome "
                                    "names comparable, and the price index for constant dollars")
    offences: OffencesSpec | None = Field(None, description="crosswalk from the city's offence types onto the "
                                          "canonical categories (incidents.offence); none: offence stays NULL")

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError("must be a lower-case slug: letters, digits, underscore")
        return v

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str]) -> list[str]:
        bad = [tag for tag in v if not isinstance(tag, str) or not _LANG_TAG.match(tag)]
        if bad:
            raise ValueError(f"{bad} are not language tags like 'en-US' or 'es-US'")
        if not v:
            raise ValueError("name at least one language, e.g. ['en-US']")
        bases = [tag.split("-")[0].lower() for tag in v]
        if len(set(bases)) != len(bases):
            raise ValueError(f"{v}: each language once")
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and not _CRON.match(v):
            raise ValueError(f"{v!r} is not a 5-field cron expression")
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

    @model_validator(mode="after")
    def _primary_area(self) -> "CityProfile":
        """``[areas] primary`` names a kind the profile's boundaries datasets load (else nothing could use it)."""
        primary = self.areas.primary
        kinds = sorted({d.kind for d in self.datasets.values() if d.table == "boundaries" and d.kind})
        if primary is not None and primary not in kinds:
            raise ValueError(f"[areas] primary: no boundaries dataset has kind {primary!r}"
                             f"{did_you_mean(primary, kinds)} (kinds: {', '.join(kinds) or 'none'})")
        return self

    @model_validator(mode="after")
    def _outages(self) -> "CityProfile":
        """``[risk.lit] outages = true`` reads service requests: the profile must load some that name the
        streetlight request types."""
        if self.risk.lit is None or not self.risk.lit.outages:
            return self
        requests = [d for d in self.datasets.values() if d.table == "service_requests"]
        if not requests:
            raise ValueError("[risk.lit] outages: no dataset has table 'service_requests' to read streetlight "
                             "outages from: add one, or remove outages")
        if not any(d.table_options.streetlight_types for d in requests):
            raise ValueError("[risk.lit] outages: no service_requests dataset sets options.streetlight_types (the "
                             "request types that mean a street light is out)")
        return self

    @model_validator(mode="after")
    def _vintages(self) -> "CityProfile":
        """Boundaries datasets of one kind with different vintages (``valid_from``/``valid_to``) may not overlap:
        an incident would match two maps. Datasets with the same vintage are one map in several files."""
        by_kind: dict[str, dict[tuple, list[str]]] = {}
        for name, d in self.datasets.items():
            if d.table == "boundaries" and d.kind and d.options.get("role") != "fixture":
                o = d.table_options
                by_kind.setdefault(d.kind, {}).setdefault((o.valid_from, o.valid_to), []).append(name)
        for kind, vintages in sorted(by_kind.items()):
            spans = sorted(vintages, key=lambda v: (v[0] is not None, v[0] or 0, v[1] is None, v[1] or 0))
            for a, b in zip(spans, spans[1:]):
                if a[1] is None or b[0] is None or a[1] >= b[0]:
                    raise ValueError(
                        f"boundaries of kind {kind!r}: datasets {', '.join(vintages[a])} ({_span(a)}) and "
                        f"{', '.join(vintages[b])} ({_span(b)}) have overlapping vintages: give each options "
                        "valid_from/valid_to that do not overlap (days, both inclusive)")
        return self

    def health_for(self, dataset: str) -> HealthSpec:
        """The run-health limits of one dataset: the city's ``[health]`` with the keys its own ``health`` sets."""
        own = self.datasets[dataset].health
        if own is None:
            return self.health
        return self.health.model_copy(update={key: getattr(own, key) for key in own.model_fields_set})

    def map_options(self, kind: str) -> dict[str, Any]:
        """The options a map of ``kind`` gets: the profile's ``[maps.<kind>]`` plus what other tables of the
        profile supply (``[risk]`` weights and street factors, crime categories, the city's centre)."""
        options = self.maps.get(kind, {})
        if kind == "safe_route":
            options.setdefault("type_weights", self._type_weights())
            options.setdefault("street_factors", self.risk.street_factors())
        if kind == "explorer":  # the explorer groups its type list by the profile's crime categories
            options.setdefault("type_categories", self._type_categories())
        if kind == "spending" and self.money is not None and self.money.price_index:
            # constant dollars: the [money] block's price index, stated on the page with its source
            options.setdefault("price_index", {str(y): v for y, v in self.money.price_index.items()})
            options.setdefault("price_index_source", self.money.price_index_source)
            options.setdefault("price_index_base_year", self.money.price_index_base_year)
        if self.center:
            options.setdefault("center", list(self.center))
        return options


    def _type_weights(self) -> dict[str, float]:
        """``[risk.categories]`` weighed by ``[risk.weights]``; without categories, the ``[offences]`` crosswalk's
        canonical categories weighed by their class (person -> violent, property -> property, society -> other)."""
        if self.risk.categories or self.offences is None:
            return self.risk.type_weights()
        return self.offences.type_weights(self.risk.weights)

    def _type_categories(self) -> dict[str, list[str]]:
        """The explorer's type groups: ``[risk.categories]``, else the ``[offences]`` crosswalk's categories."""
        if self.risk.categories or self.offences is None:
            return self.risk.categories
        return self.offences.type_categories()


def _span(vintage: tuple) -> str:
    return f"{vintage[0] or 'open'} to {vintage[1] or 'open'}"


def profile_path(name_or_path: str | Path) -> Path:
    """``chicago`` -> ``cities/chicago.toml``; a path is returned as is."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    return CITIES_DIR / f"{name_or_path}.toml"


def available_cities() -> list[str]:
    return sorted(p.stem for p in CITIES_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path) -> CityProfile:
    """The profile ``cities/<name>.toml`` (or the TOML file at a path), validated; :class:`ProfileError` if not."""
    path = profile_path(name_or_path)
    if not path.exists():
        raise ProfileError(f"no city profile {str(name_or_path)!r} (looked for {path}; "
                           f"known cities: {', '.join(available_cities()) or 'none'})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return parse_profile(raw, source=str(path))


def check_profile(path: str | Path) -> CityProfile:
    """Validate the profile file at ``path`` without fetching anything (``civicmash profile check FILE``)."""
    return load_profile(Path(path))


def parse_profile(raw: dict[str, Any], *, source: str = "<profile>") -> CityProfile:
    """Validate a parsed profile; every problem is one line ``<source>: [<table>] <key>: <what is wrong>``."""
    try:
        return CityProfile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{source}: {line}" for err in exc.errors() for line in _problem_lines(err)]
        raise ProfileError("\n".join(problems)) from None


def profile_json_schema() -> dict[str, Any]:
    """The profile's JSON Schema (for editors; ``civicmash profile schema``). A dataset's ``options`` list every
    option of every registered protocol and table; which apply to a dataset is checked by :func:`load_profile`."""
    schema = CityProfile.model_json_schema()
    properties: dict[str, Any] = {}
    models = [m for p in connectors.protocols().values() for m in p.all_option_models()] + list(TABLE_OPTIONS.values())
    for model in models:
        for name, prop in model.model_json_schema(ref_template="#/$defs/{model}")["properties"].items():
            properties.setdefault(name, prop)
    dataset = schema["$defs"]["DatasetSpec"]
    dataset["properties"]["options"].update({"properties": dict(sorted(properties.items())),
                                             "additionalProperties": False})
    dataset["properties"]["protocol"]["enum"] = list(connectors.protocols())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "civicmash city profile"
    return schema


# --- error messages -----------------------------------------------------------------------------------

def _message(err: dict) -> str:
    return err["msg"].removeprefix("Value error, ")


def _table(loc: tuple) -> str:
    return "[" + ".".join(map(str, loc)) + "]" if loc else "(top level)"


def _problem_lines(err: dict) -> list[str]:
    """One or more message lines for a pydantic error: the TOML table, the key, what is wrong."""
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        return [f"{_table(loc[:-1])} {loc[-1]}: {_unknown(loc[-1], _keys_at(loc[:-1]))}"]
    if err["type"] == "value_error" and len(loc) == 2 and loc[0] == "datasets":   # DatasetSpec's own checks
        return [f"{_table(loc)} {line}" for line in _message(err).splitlines()]
    if err["type"] == "value_error" and loc == ("areas",):   # AreasSpec's own checks, one line per slot key
        return [f"[areas.{line.split('.', 1)[0]}] {line.split('.', 1)[1]}" if "." in line.split(":")[0]
                else f"[areas] {line}" for line in _message(err).splitlines()]
    return [f"{_table(loc[:-1])} {loc[-1]}: {_message(err)}" if loc else _message(err)]


def _keys_at(loc: tuple) -> list[str]:
    """The keys the profile's model accepts in the table at ``loc`` (for "did you mean")."""
    model: Any = CityProfile
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return []
        target = _model_in(field.annotation, parts)
        if target is None:
            return []
        model = target
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_in(annotation: Any, parts: list) -> type[BaseModel] | None:
    """The model an annotation holds (``X | None``, ``dict[str, X]``: consuming the dict key from ``parts``)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return next((m for m in map(lambda a: _model_in(a, parts), typing.get_args(annotation)) if m), None)
    if origin is dict:
        if parts:
            parts.pop(0)
        return _model_in(typing.get_args(annotation)[1], parts)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
