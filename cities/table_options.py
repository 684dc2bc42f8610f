"""The ``options`` a dataset may set for the warehouse's normaliser of its canonical table, typed and closed.

They are per canonical table, not per protocol: ``crs`` and ``bbox`` place a crime wherever it came from.
The warehouse reads them as a plain dict (``warehouse/load.py``, ``streets.py``, ``services.py``) and may not
import ``cities/``, so the models live here, declared from the keys the warehouse documents; its defaults
are imported from it so docs/profile.md states the real ones. A dataset's ``options`` are checked against
its protocol's model (``connectors/``) and its table's model (:data:`TABLE_OPTIONS`) together.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from civicmash.warehouse._sqlexpr import EPOCH_FORMATS, TIMESTAMP_FORMATS
from civicmash.warehouse.load import (DEFAULT_COORDINATE_SENTINELS, DEFAULT_MIN_DATE, DEFAULT_VENUE_RULE,
                                      LOCATION_PAIRS, ROW_UNITS)
from civicmash.warehouse.money import ENTITY_KINDS, LINE_KINDS
from civicmash.warehouse.row_filters import EXCLUDED_REASON, rule_problem
from civicmash.warehouse.service_requests import DEFAULT_CLOSED_STATUSES


class PatternRule(BaseModel):
    """A row rule ``{ pattern = "..." }``: the trimmed cell matches the regular expression in full."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(description="a regular expression the whole trimmed cell must match (RE2 syntax)",
                         examples=["^[0-9]{2}$"])


RowRule = Literal["not_empty", "empty"] | list[str | int] | PatternRule
"""One field's rule in ``keep``/``drop``: ``"not_empty"``, ``"empty"``, a list of values (the trimmed cell equals
one of them, exact) or ``{ pattern = "..." }`` (warehouse/row_filters.py)."""
from civicmash.warehouse.streets import DEFAULT_EXCLUDE_HIGHWAYS, DETAILS


class TableOptions(BaseModel):
    """Options every canonical table's loader reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: dict[str, Any] | None = Field(
        None, description="canonical column -> value used where the source gives none (a constant the "
        "publisher states elsewhere, e.g. the budget's year)", examples=[{"fiscal_year": 2019}])
    role: Literal["data", "fixture"] = Field(
        "data", description="`fixture`: a format test file, kept out of the current views and the spatial "
        "enrichment (datasets.role)", examples=["fixture"])
    keep: dict[str, RowRule] | None = Field(
        None, description="source field -> rule: only rows meeting every rule are data. A rule is `\"not_empty\"`, "
        "`\"empty\"`, a list of values (the trimmed cell equals one, exact) or `{ pattern = \"...\" }` (the "
        f"trimmed cell matches in full). Other rows are quarantined `{EXCLUDED_REASON}` with the rule named, "
        "never dropped, and not held against run health", examples=[{"Dept Code": "not_empty"},
                                                                     {"STATUS": ["ACTIVE", "PENDING"]}])
    drop: dict[str, RowRule] | None = Field(
        None, description=f"source field -> rule (as `keep`): rows meeting any rule are quarantined "
        f"`{EXCLUDED_REASON}` with the rule named", examples=[{"Dept Name": {"pattern": "(?i)^total"}}])

    @field_validator("keep", "drop", mode="before")
    @classmethod
    def _rules(cls, rules: Any) -> Any:
        """A misspelt rule word ("not empty") is an error naming the vocabulary, not a silent no-op."""
        if isinstance(rules, dict):
            for name, rule in rules.items():
                problem = rule_problem(rule)
                if problem:
                    raise ValueError(f"{name}: {problem}")
        return rules


class LocatedOptions(TableOptions):
    """Options of tables whose rows have a place (points or polygons): where the coordinates are and may be."""

    crs: str | None = Field(None, description="CRS of the mapped `source_x`/`source_y` columns, used when no "
                            "latitude/longitude is given", examples=["EPSG:3435"])
    bbox: list[float] | None = Field(None, min_length=4, max_length=4, description="the city's extent "
                                     "`[min_lat, min_lon, max_lat, max_lon]`: points outside are flagged "
                                     "`outside_city`", examples=[[41.60, -87.95, 42.03, -87.52]])
    bbox_tolerance_m: float = Field(0, ge=0, description="how far (metres) outside `bbox` a point may lie before "
                                    "it is flagged `outside_city`; with a `bbox`, a point that lands inside once "
                                    "latitude and longitude are swapped is flagged `swapped_coordinates`, and one "
                                    "that lands inside once multiplied by a power of ten (`-8763` for -87.63) "
                                    "`misplaced_decimal` (both lose lat/lon, never moved; the row is kept)",
                                    examples=[500])
    coordinate_sentinels: list[float] = Field(
        default_factory=lambda: list(DEFAULT_COORDINATE_SENTINELS),
        description="a latitude or longitude equal to one of these means 'no location': the row is kept "
        "without lat/lon, flagged `sentinel_coordinates` (`0,0` stays `invalid_coordinates`)", examples=[[0, -1]])
    location_pair: Literal[LOCATION_PAIRS] = Field(  # type: ignore[valid-type]
        "first", description="which `(lat, lon)` of a mapped `location` cell holding several is the point: the "
        "`first` (an address then its point) or the `last` (a geocode embedded mid-address, the real point last)",
        examples=["last"])
    xy_tolerance_m: float | None = Field(
        None, gt=0, description="when both latitude/longitude and `source_x`/`source_y` (in `crs`) are given and "
        "lie farther apart than this many metres, the row is flagged `coordinates_disagree` (lat/lon kept); "
        "default: not checked", examples=[250])


class TimedOptions(LocatedOptions):
    """Options of tables whose rows have times read from the source's text (incidents, service requests)."""

    time_formats: list[str] = Field(
        default_factory=lambda: list(TIMESTAMP_FORMATS), min_length=1,
        description="strptime formats tried in order (the first that matches wins). `%z` reads an offset: `Z`, "
        "`+00`, `-0700`, `+05:30` (the value is then an instant, converted to the city's time); "
        f"{' / '.join(f'`{k}`' for k in EPOCH_FORMATS)}: numbers since 1970 UTC in milliseconds (ArcGIS) or "
        "seconds; a format without a clock part (`%Y-%m-%d`) marks the row `time_unknown`. A value no format "
        "reads is quarantined `bad_timestamp` with the field named",
        examples=[["%Y/%m/%d %H:%M:%S%z"], ["%m/%d/%Y %I:%M:%S %p"], ["epoch_ms"]])
    time_zone: str | None = Field(None, description="IANA time zone of times written without an offset "
                                  "(default: the city's `timezone`)", examples=["UTC"])
    z_is_local: bool = Field(False, description="the source stamps local times with `Z` or an offset that is "
                             "not true: ignore it and read the wall time as written in `time_zone`",
                             examples=[True])
    min_date: date = Field(DEFAULT_MIN_DATE, description="times (of every mapped time field) before this day "
                           "are implausible", examples=["2000-01-01"])
    max_date: date | None = Field(None, description="times after this day are implausible (default: "
                                  "the day after the download)", examples=["2026-12-31"])

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, zone: str | None) -> str | None:
        """An unknown zone would fail every load: say so when the profile is read."""
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"not an IANA time zone such as 'America/Los_Angeles': {zone!r}") from exc
        return zone


class IncidentsOptions(TimedOptions):
    """``incidents``: crimes, one row per record of the source.

    Times: every incident time field (`occurred_at`, `reported_at`, `occurred_end_at`, each optionally with a
    separate time-of-day field `occurred_time`, `reported_time`, `occurred_end_time` holding `HHMM` as text or
    a number, or `HH:MM`) is read with `time_formats` in `time_zone`; the warehouse stores the city's local
    wall time (`occurred_at`) and the instant (`occurred_at_utc`). docs/warehouse.md, incidents.
    """

    incident_time: Literal["occurred", "reported"] = Field(
        "occurred", description="which source time fills `occurred_at`, the incident time every product "
        "uses: when it occurred (`occurred_at`) or when it was reported (`reported_at`)", examples=["reported"])
    row_unit: Literal[ROW_UNITS] = Field(  # type: ignore[valid-type]
        "case", description="what one row of the source counts, stored in `datasets.row_unit` so every count can "
        "say it: `case` (one report), `victim` (one row per victim, e.g. homicide files), `offence` (one row per "
        "offence of a case); with `victim`/`offence` map a composite `source_id` (a list of fields)",
        examples=["victim"])
    implausible_dates: Literal["quarantine", "flag"] = Field(
        "quarantine", description="what happens to a row whose incident time (see `incident_time`) is "
        "implausible: quarantined `implausible_date` with the field named, or loaded with time_flag "
        "`implausible_occurred_at` (or `implausible_reported_at`). Another implausible time (a year-1025 start date "
        "beside a good report time) only flags its row `implausible_<field>`", examples=["flag"])


class ServiceRequestsOptions(TimedOptions):
    """``service_requests``: 311-style requests (a street light out, a pothole), one row per request.

    Times: `opened_at` and `closed_at` (each optionally with a separate time-of-day field `opened_time`,
    `closed_time`) are read like the incidents' times, with `time_formats` in `time_zone`. A request without an
    opened time, or with one outside `min_date`..`max_date`, is quarantined. docs/warehouse.md, service_requests.
    """

    streetlight_types: list[str] = Field(
        default_factory=list, description="request types (compared trimmed, any case) that mean a street light "
        "is out: their rows get `streetlight_outage`; open ones feed `open_streetlight_outages` and, with "
        "`[risk.lit] outages = true`, the safe route's unlit streets",
        examples=[["Street Lights - All/Out", "Street Light Out"]])
    closed_statuses: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CLOSED_STATUSES), description="status values (any case) that mean "
        "a request is closed even without a closed time", examples=[["Closed", "Completed", "Cancelled"]])


class VenuesOptions(LocatedOptions):
    """``venues``: licensed premises (bars, restaurants, ...)."""

    venue_rule: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_VENUE_RULE),
        description="licence description (case-insensitive) -> venue_type; unlisted licences get no venue_type",
        examples=[{"Tavern": "bar", "Consumption on Premises - Incidental Activity": "restaurant-bar"}])


class ServicesOptions(LocatedOptions):
    """``services``: public services (libraries, clinics, schools, parks, ...)."""

    hours_columns: dict[str, list[str]] | None = Field(
        None, description="day (mon..sun) -> [opening field, closing field] when the source has a column per day",
        examples=[{"mon": ["monday_open", "monday_close"]}])


class BoundariesOptions(LocatedOptions):
    """``boundaries``: areas of one `kind` (community areas, beats, wards, ...).

    Vintages: when areas are redrawn (wards after a census), give each map its own dataset of the same `kind`
    with the days it was in force; incidents are matched to the map in force on their date, the maps draw the
    latest one. Vintages of one kind may not overlap.
    """

    valid_from: date | None = Field(None, description="first day this map was in force (inclusive); absent: "
                                    "since before the data begins", examples=["2023-05-15"])
    valid_to: date | None = Field(None, description="last day this map was in force (inclusive); absent: still "
                                  "in force. An incident dated outside every vintage of a kind gets no area of "
                                  "it (counted as out_of_vintage)", examples=["2023-05-14"])

    @model_validator(mode="after")
    def _ordered(self) -> "BoundariesOptions":
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self


class SpendingOptions(TableOptions):
    """``spending``: budget lines (appropriations, actuals or payments), one row per published line.

    The city's `[money]` block makes years comparable (department crosswalk, fund recodes, code widths); see
    docs/warehouse.md, "Money and outcomes".
    """

    line_kind: Literal[LINE_KINDS] = Field(  # type: ignore[valid-type]
        "appropriation", description="what the amounts are: `appropriation` (a budget), `actual` (money spent in "
        "a closed year) or `payment` (payments to vendors); lines of different kinds are never added together",
        examples=["payment"])


class ContractRevisionsOptions(TableOptions):
    """``contract_revisions``: contracts, one row per revision; amounts are per revision (may be negative) and
    are never summed as spending. Dates are read as `MM/DD/YYYY`, ISO days or Socrata timestamps; one given but
    unreadable is quarantined `bad_timestamp` with the field named."""


class PlaceSpendingOptions(LocatedOptions):
    """``place_spending``: spending by place (e.g. by ward), with a point or shape when the source has one."""

    area_kind: str | None = Field(None, description="the boundaries `kind` the area codes refer to (default: "
                                  "the dataset's `kind`)", examples=["ward"])
    area_match: Literal["code", "name"] = Field("code", description="`name`: the area field holds the area's "
                                                "name, matched to the names of the boundaries of `area_kind` "
                                                "(letters and digits, any case); unmatched rows keep area_name "
                                                "and have no area_code", examples=["name"])
    area_name_suffix: str | None = Field(None, description="appended to a published area name before matching "
                                         "(`Arleta` + ` NC` = `ARLETA NC`)", examples=[" NC"])
    in_totals: bool = Field(True, description="`false`: the rows only place projects another dataset already "
                            "counts (kept for their points, left out of every sum)", examples=[False])
    categories: dict[str, str] | None = Field(None, description="published category -> category stored "
                                              "(unlisted ones kept as published)",
                                              examples=[{"Streets & Transportation": "Streets and transportation"}])


class OutcomesOptions(TableOptions):
    """``outcomes``: what services achieved. A wide file (one column per month) gives `month_columns` and
    `year`; a long one maps `period_start` and `value` (and `period_grain`)."""

    measure: str = Field(description="what the values count (a slug the pages show by name)",
                         examples=["visitors"])
    unit: str | None = Field(None, description="the unit of the values", examples=["visits"])
    entity_kind: Literal[ENTITY_KINDS] = Field(  # type: ignore[valid-type]
        "service", description="`service`: each row is a service location (matched to `services` by name); "
        "`department`: a whole department", examples=["department"])
    service_category: str | None = Field(None, description="the services category the entities belong to "
                                         "(default: the dataset's `kind`)", examples=["library"])
    department_id: str | None = Field(None, description="the spending department_id the outcomes belong to",
                                      examples=["91"])
    month_columns: list[str] | None = Field(None, min_length=12, max_length=12, description="the 12 source "
                                            "fields holding January ... December (a wide file)",
                                            examples=[["JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE",
                                                       "JULY", "AUGUST", "SEPTEMBER", "OCTOBER", "NOVEMBER",
                                                       "DECEMBER"]])
    year: int | None = Field(None, description="the calendar year of a wide file's months", examples=[2019])
    period_grain: Literal["month", "year"] = Field("month", description="a long file's period: the mapped "
                                                   "`period_start` begins a `month` or a `year`",
                                                   examples=["year"])

    @model_validator(mode="after")
    def _wide(self) -> "OutcomesOptions":
        if self.month_columns and self.year is None:
            raise ValueError("month_columns needs year (the calendar year of the months)")
        return self


class IucrCodesOptions(TableOptions):
    """``iucr_codes``: the offence code list."""


class PopulationOptions(TableOptions):
    """``population``: residents per area."""

    area_kind: str | None = Field(None, description="the boundaries `kind` the area codes refer to (default: "
                                  "the dataset's `kind`)", examples=["community_area"])


class AreaIndicatorsOptions(TableOptions):
    """``area_indicators``: one value per area and indicator (census, health, ...)."""

    area_kind: str | None = Field(None, description="the boundaries `kind` the area codes refer to (default: "
                                  "the dataset's `kind`)", examples=["community_area"])
    city_area_name: str | None = Field(None, description="the area name of the row that holds the whole city's "
                                       "values (stored with area_kind `city`)", examples=["CHICAGO"])
    source: str | None = Field(None, description="who published the values, where the source has no column "
                               "for it", examples=["American Community Survey 2008-2012"])
    indicators: dict[str, str] | None = Field(None, description="indicator name -> source field (default: every "
                                              "unmapped column, named as published)",
                                              examples=[{"hardship_index": "HARDSHIP INDEX"}])
    exclude: list[str] | None = Field(None, description="source fields that are not indicators (when "
                                      "`indicators` is not given)", examples=[["shape_area", "shape_len"]])


class StreetsOptions(BaseModel):
    """``streets``: street segments, linked into one walk graph per city (docs/safe-route.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["data", "fixture"] = Field("data", description="`fixture`: a format test file",
                                             examples=["fixture"])
    crs: str | None = Field(None, description="CRS of the node coordinates (default: what the connector says, "
                            "else EPSG:4326)", examples=["EPSG:32616"])
    node_ids: Literal["osm", "offset"] | None = Field(
        None, description="`osm`: keep the source's node ids (default for protocol osm); `offset`: number them "
        "into the dataset's own id space", examples=["offset"])
    exclude_highways: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDE_HIGHWAYS),
                                        description="highway tags that are not walkable (quarantined as "
                                        "not_walkable)", examples=[["motorway", "trunk"]])
    detail: Literal[DETAILS] = Field("full", description="what the dataset maps: `full` (every street of its "  # type: ignore[valid-type]
                                     "area) or `major_streets` (arterials/collectors only)",
                                     examples=["major_streets"])
    merge_priority: int | None = Field(None, description="where two datasets map the same street, the lower "
                                       "priority's segments are kept (default 1 for full, 2 for major_streets)",
                                       examples=[2])


TABLE_OPTIONS: dict[str, type[BaseModel]] = {
    "incidents": IncidentsOptions,
    "venues": VenuesOptions,
    "services": ServicesOptions,
    "service_requests": ServiceRequestsOptions,
    "spending": SpendingOptions,
    "boundaries": BoundariesOptions,
    "streets": StreetsOptions,
    "population": PopulationOptions,
    "iucr_codes": IucrCodesOptions,
    "area_indicators": AreaIndicatorsOptions,
    "contract_revisions": ContractRevisionsOptions,
    "place_spending": PlaceSpendingOptions,
    "outcomes": OutcomesOptions,
}
"""Canonical table -> the model of the options its normaliser reads."""
