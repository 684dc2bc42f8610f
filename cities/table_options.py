"""The ``options`` a dataset may set for the warehouse's normaliser of its canonical table, typed and closed.

They are per canonical table, not per protocol: ``crs`` and ``bbox`` place a crime wherever it came from.
The warehouse reads them as a plain dict (``warehouse/load.py``, ``streets.py``, ``services.py``) and may not
import ``cities/``, so the models live here, declared from the keys the warehouse documents; its defaults
are imported from it so docs/profile.md states the real ones. A dataset's ``options`` are checked against
its protocol's model (``connectors/``) and its table's model (:data:`TABLE_OPTIONS`) together.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from civicmash.warehouse.load import DEFAULT_VENUE_RULE
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


class LocatedOptions(TableOptions):
    """Options of tables whose rows have a place (points or polygons): where the coordinates are and may be."""

    crs: str | None = Field(None, description="CRS of the mapped `source_x`/`source_y` columns, used when no "
                            "latitude/longitude is given", examples=["EPSG:3435"])
    bbox: list[float] | None = Field(None, min_length=4, max_length=4, description="the city's extent "
                                     "`[min_lat, min_lon, max_lat, max_lon]`: points outside are flagged "
                                     "`outside_city`", examples=[[41.60, -87.95, 42.03, -87.52]])


class IncidentsOptions(LocatedOptions):
    """``incidents``: crimes, one row per record of the source."""


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
    """``boundaries``: areas of one `kind` (community areas, beats, wards, ...)."""


class SpendingOptions(TableOptions):
    """``spending``: budget lines."""


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
    "spending": SpendingOptions,
    "boundaries": BoundariesOptions,
    "streets": StreetsOptions,
    "population": PopulationOptions,
    "iucr_codes": IucrCodesOptions,
    "area_indicators": AreaIndicatorsOptions,
}
"""Canonical table -> the model of the options its normaliser reads."""
