"""The ``[maps.<kind>]`` tables of a profile: one closed, typed model per map (documented in docs/maps.md).

A builder gets the options the profile sets (``CityProfile.map_options``), so each builder's own default
applies to the rest; the defaults named in the descriptions are those builders'.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Point = list[float]   # [lat, lon]; a list (not a tuple) so the options reach the builders as TOML gave them


def _point(description: str, example: list[float]) -> Any:
    return Field(None, min_length=2, max_length=2, description=f"{description} `[lat, lon]`", examples=[example])


class MapOptions(BaseModel):
    """Options of the base layer every map draws."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    center: Point | None = _point("where the map opens (default: the profile's `center`)", [41.8781, -87.6298])
    boundary_kind: str | None = Field(None, description="the boundaries `kind` drawn and used for areas "
                                      "(default: the first the city has)", examples=["district"])
    max_street_edges: int | None = Field(None, ge=0, description="street segments drawn at most (default 150,000)",
                                         examples=[150_000])


class WindowOptions(MapOptions):
    """A map that draws incidents of a time window: the last ``days`` of the data, or ``start``..``end``."""

    days: int | None = Field(None, ge=1, description="length of the incident window ending on the latest "
                             "incident (default 90)", examples=[90])
    start: str | date | datetime | None = Field(None, description="first day of a fixed window (with `end`)",
                                                examples=["2018-08-01"])
    end: str | date | datetime | None = Field(None, description="day after the last of a fixed window",
                                              examples=["2018-11-01"])


class ExplorerOptions(WindowOptions):
    """``[maps.explorer]``: the crime explorer."""

    today: str | date | None = Field(None, description="the selected window ends on this day (default: the day "
                                     "of the latest incident)", examples=["2018-11-12"])
    types: list[str] | None = Field(None, description="primary types selected on opening (default all)",
                                    examples=[["THEFT", "BATTERY"]])
    type_categories: dict[str, list[str]] | None = Field(None, description="type list grouped by category "
                                                         "(default: `[risk.categories]`, else the `[offences]` "
                                                         "crosswalk's canonical categories)",
                                                         examples=[{"property": ["THEFT"]}])
    near_categories: list[str] | None = Field(None, description="service categories offered for 'within ½ mile "
                                              "of' (default school, park)", examples=[["school", "park"]])
    areas: dict[str, Any] | None = Field(None, description="the area filters and rates: which slots, labels and "
                                         "primary kind (default: the profile's `[areas]`; set that, not this)",
                                         examples=[{"primary": "district"}])
    hotspot_resolution: int | None = Field(None, ge=5, le=10, description="H3 resolution of the Gi* hotspot "
                                           "grid (default by the city's extent: 9 under 50 km², 8 up to 2,000 km², "
                                           "else 7)", examples=[8])
    min_addresses_per_point: int | None = Field(None, ge=2, le=1000, description="privacy: a point on the map "
                                                "stands for at least this many distinct addresses (blocks); "
                                                "points with fewer move to the centre of a coarser H3 cell "
                                                "(police.uk uses 8; default off)", examples=[8])


class SafeRouteOptions(WindowOptions):
    """``[maps.safe_route]``: the safe route home."""

    from_: Point | None = Field(None, alias="from", min_length=2, max_length=2,
                                description="the walk's start `[lat, lon]` (default: two far-apart nodes)",
                                examples=[[41.8841, -87.6488]])
    to: Point | None = _point("the walk's end", [41.8745, -87.6497])
    at: str | None = Field(None, description="time of the walk `HH:MM`: incidents near that hour weigh more",
                           examples=["23:00"])
    detour: float | None = Field(None, ge=0, description="longest detour accepted for a safer walk, as a share "
                                 "of the shortest (default 0.25)", examples=[0.25])
    margin: float | None = Field(None, ge=0, lt=1, description="a safer walk is recommended only when it is at "
                                 "least this share less exposed than the shortest, else the shortest is (stable "
                                 "advice; default 0: any gain)", examples=[0.2])
    hold: float | None = Field(None, ge=0, lt=1, description="`civicmash route` keeps a pair's last recommended "
                               "walk after new data unless the new choice is more than this share less exposed "
                               "(stable advice, analysis/advice.py; default 0.2; 0: no memory)", examples=[0.2])
    bandwidth_m: float | None = Field(None, gt=0, description="how far an incident's weight spreads along the "
                                      "streets, in metres (default 100)", examples=[100.0])
    sigma_h: float | None = Field(None, gt=0, description="how far in hours an incident's weight spreads from "
                                  "`at` (default 2)", examples=[2.0])
    type_weights: dict[str, float] | None = Field(None, description="primary type -> weight (default: from "
                                                  "`[risk]`; without `[risk.categories]`, from the `[offences]` "
                                                  "crosswalk's categories by their weight class)", examples=[{"HOMICIDE": 3.0, "*": 0.5}])
    street_factors: dict[str, Any] | None = Field(None, description="street factors (default: `[risk.lit]`, "
                                                  "`[risk.bars]`)", examples=[{"lit": {"unlit": 1.5}}])


class LocatorOptions(MapOptions):
    """``[maps.locator]``: the service locator."""

    near: Point | None = _point("where the page opens and the stored walking areas are centred (default: the "
                                "middle of the street graph)", [41.88162, -87.65714])
    at: str | None = Field(None, description="the 'open at' time selected on opening (`Sat 10:00`, "
                           "`2024-01-06 10:00`)", examples=["Sat 10:00"])
    categories: list[str] | None = Field(None, description="service categories shown (default all)",
                                         examples=[["library", "clinic"]])
    n: int | None = Field(None, ge=1, description="nearest services listed per category (default 3)",
                          examples=[3])
    max_access_m: float | None = Field(None, gt=0, description="longest straight walk from a service to the "
                                       "street graph, metres (default 400)", examples=[400.0])
    spacing_m: float | None = Field(None, gt=0, description="spacing of the coverage lattice, metres (default 50)",
                                    examples=[50.0])
    thresholds: list[int] | None = Field(None, description="walking minutes of the coverage bands and walking "
                                         "areas (default 5, 10, 15)", examples=[[5, 10, 15]])
    service_isochrones: list[str] | None = Field(None, description="categories whose every site gets walking "
                                                 "areas (default: those with few sites)", examples=[["library"]])


class SpendingOptions(MapOptions):
    """``[maps.spending]``: the spending explorer."""

    fiscal_year: int | None = Field(None, description="the year shown (default: the latest)", examples=[2019])
    top: int | None = Field(None, ge=1, description="departments listed before 'show all' (default 25)",
                            examples=[25])
    place_area_kind: str | None = Field(None, description="the area kind of the place-spending map (default: the "
                                        "kind most place spending names)", examples=["ward"])


class ProvidersOptions(MapOptions):
    """``[maps.providers]``: service locations compared on their outcomes (issue 16)."""

    category: str | None = Field(None, description="the service category compared (default: the one with the "
                                 "most locations that have outcomes)", examples=["library"])
    catchment_minutes: int | None = Field(None, ge=1, description="the walk that makes a location's catchment, "
                                          "in minutes (default: 15, else the longest walking area held)",
                                          examples=[15])
    area_kind: str | None = Field(None, description="the population areas the catchments are counted on "
                                  "(default: the kind with population and boundaries that has the most areas)",
                                  examples=["district"])


class MapsSpec(BaseModel):
    """``[maps]``: one table per map; a map without one gets its builder's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    explorer: ExplorerOptions | None = None
    safe_route: SafeRouteOptions | None = None
    locator: LocatorOptions | None = None
    spending: SpendingOptions | None = None
    providers: ProvidersOptions | None = None

    def get(self, kind: str, default: dict | None = None) -> dict[str, Any] | None:
        """The options ``[maps.<kind>]`` sets, as a new dict (``default`` when the profile has no such table)."""
        if kind not in MAP_MODELS:
            raise KeyError(f"no map {kind!r} (maps are {', '.join(MAP_MODELS)})")
        table = getattr(self, kind)
        return default if table is None else table.model_dump(by_alias=True, exclude_unset=True)

    def __getitem__(self, kind: str) -> dict[str, Any]:
        table = self.get(kind)
        if table is None:
            raise KeyError(f"the profile has no [maps.{kind}] table")
        return table

    def kinds(self) -> list[str]:
        """The maps the profile has a table for."""
        return [kind for kind in MAP_MODELS if getattr(self, kind) is not None]


MAP_MODELS: dict[str, type[MapOptions]] = {"explorer": ExplorerOptions, "safe_route": SafeRouteOptions,
                                           "locator": LocatorOptions, "spending": SpendingOptions,
                                           "providers": ProvidersOptions}

MAP_OPTIONS: dict[str, tuple[str, ...]] = {
    kind: tuple(field.alias or name for name, field in model.model_fields.items())
    for kind, model in MAP_MODELS.items()}
"""The options each map reads from the profile's ``[maps.<kind>]`` table (documented in docs/maps.md)."""
