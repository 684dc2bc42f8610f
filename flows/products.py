"""Which products a city's data allows, and what each page that is built must say is missing.

A city is not required to publish everything: one with crimes but no street network still gets its explorer,
one without a budget still gets its safe route. Each product needs some tables (:data:`REQUIRED`); a product
whose table is empty in the warehouse, or fed by a dataset that failed its run-health check
(:mod:`civicmash.flows.health`), is skipped with one sentence saying why, and is not an error. A product that
is built lists on its page what the city's data lacks and what the page therefore cannot show
(:data:`OPTIONAL`), so a reader never takes a missing feature for a quiet city.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from civicmash.warehouse import reads

#: what a table holds when it counts, in a query of the warehouse: SQL from code, never from a profile
_PRESENT = {
    "incidents": ("incidents", "geom IS NOT NULL", "incidents with coordinates"),
    "street_edges": ("street_edges", "TRUE", "street network"),
    "services": ("services", "lat IS NOT NULL", "services with coordinates"),
    "spending": ("spending", "TRUE", "spending rows"),
    "boundaries": ("boundaries", "TRUE", "area boundaries"),
    "population": ("population", "TRUE", "population figures"),
    "venues": ("venues", "lat IS NOT NULL", "bars or licensed premises with coordinates"),
    "outcomes": ("outcomes", "service_id IS NOT NULL", "outcomes of service locations"),
}

#: product -> the tables it cannot be built without
REQUIRED: dict[str, tuple[str, ...]] = {
    "explorer": ("incidents",),
    "safe_route": ("street_edges", "incidents"),
    "locator": ("services", "street_edges"),
    "spending": ("spending",),
    "providers": ("outcomes", "services"),
}

#: product -> (table, what the page cannot show without it); said on the page when the table is empty
OPTIONAL: dict[str, tuple[tuple[str, str], ...]] = {
    "explorer": (("boundaries", "no area filter and no areas drawn"),
                 ("population", "no rates per 1,000 residents")),
    "safe_route": (("venues", "the route does not weigh streets near late-night bars"),),
    "locator": (("population", "residents beyond walking distance are not counted"),),
    "spending": (),
    "providers": (("population", "no residents per walking catchment, no visits per resident"),),
}

#: canonical table -> the warehouse table a product checks (a streets dataset loads street_edges)
_WAREHOUSE_TABLE = {"streets": "street_edges"}


@dataclass(frozen=True)
class ProductPlan:
    """One product for one run: ``skipped`` says why it is not built (None: it is), ``missing`` what its
    page must say the data lacks."""

    kind: str
    skipped: str | None = None
    missing: tuple[str, ...] = ()


def present_tables(con, *, city: str) -> set[str]:
    """The tables of :data:`_PRESENT` that hold at least one usable row of ``city``."""
    present = set()
    for name, (table, condition, _) in _PRESENT.items():
        if reads.has_table(con, table) and con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE city = ? AND {condition} LIMIT 1)",
                [city]).fetchone()[0]:
            present.add(name)
    return present


def plan_products(kinds: Iterable[str], *, present: set[str], unhealthy: Mapping[str, list[str]],
                  wanted_bars: bool) -> list[ProductPlan]:
    """A plan per product in ``kinds``: skipped (and why) or built (and what its page says is missing).

    ``present``: :func:`present_tables`. ``unhealthy``: canonical table -> datasets feeding it that failed
    their health check; a product needing that table is skipped rather than drawn from a partial load.
    ``wanted_bars``: the profile weighs streets near bars (``[risk.bars]``); without it the safe route never
    uses bars and says nothing about them.
    """
    failed = {_WAREHOUSE_TABLE.get(table, table): names for table, names in unhealthy.items()}
    plans = []
    for kind in kinds:
        if kind not in REQUIRED:
            raise ValueError(f"no product {kind!r} (products: {', '.join(REQUIRED)})")
        sick = [f"{table} (dataset {', '.join(failed[table])} failed its health check)"
                for table in REQUIRED[kind] if table in failed]
        absent = [_PRESENT[table][2] for table in REQUIRED[kind] if table not in present and table not in failed]
        if sick or absent:
            plans.append(ProductPlan(kind, skipped="not built: " + "; ".join(
                ([f"no {', '.join(absent)} in this city's data"] if absent else []) + sick)))
            continue
        missing = tuple(f"No {_PRESENT[table][2]}: {consequence}." for table, consequence in OPTIONAL[kind]
                        if table not in present and (table != "venues" or wanted_bars))
        plans.append(ProductPlan(kind, missing=missing))
    return plans
