"""Providers compared (issue 16, after Stockholm's comparison of care providers): each location of a service
category (libraries) with its outcomes per year, trend, walking catchment and visits per resident of it, as a
sortable table and a map, each indicator defined with its source on the page.

The catchment of a location is its walking area (the locator's ``isochrones`` of kind 'service') laid over the
population areas: each area counts with the share of its surface inside the walk (:mod:`.money_data`). Where the
city's data cannot give it (no walking areas per location, no population with boundaries) the page says so and
shows no number. Every number carries its "How is this computed?" SQL
(:mod:`civicmash.warehouse.money_figures`); page code in ``templates/providers.js``.
"""

from __future__ import annotations

import json
from pathlib import Path

from civicmash.warehouse import figures, reads
from civicmash.warehouse.services import category_label

from . import _payload, figure_payload, i18n
from .money_data import catchment_shares, population_kinds
from .render import Page, PageContext, publish

_TABLES = ("outcomes", "services", "population", "boundaries", "streets")
PAGE = Page(title="Providers compared", scripts=("figure_sql.js", "spending_charts.js", "providers.js"),
            controls="providers_controls.html", style="spending.css")


def categories(con, city: str) -> list[str]:
    """Service categories whose outcomes name located services, the one with most locations first."""
    if not reads.has_table(con, "outcomes_by_entity_year"):
        return []
    return [r[0] for r in con.execute(
        "SELECT service_category FROM outcomes_by_entity_year WHERE city = ? AND service_id IS NOT NULL "
        "AND service_category IS NOT NULL GROUP BY 1 ORDER BY count(DISTINCT service_id) DESC, 1", [city]).fetchall()]


def _catchment_minutes(con, city: str, category: str, wanted) -> int | None:
    if not reads.has_table(con, "isochrones"):
        return None
    held = [r[0] for r in con.execute(
        "SELECT DISTINCT minutes FROM isochrones WHERE city = ? AND kind = 'service' AND category = ? ORDER BY 1",
        [city, category]).fetchall()]
    if wanted is not None:
        if int(wanted) not in held:
            raise ValueError(f"providers page of {city}: no {wanted}-minute walking areas for {category} locations "
                             f"(held: {', '.join(map(str, held)) or 'none'})")
        return int(wanted)
    return 15 if 15 in held else (held[-1] if held else None)


def build(ctx: PageContext) -> Path:
    """Write ``providers.html``. Options (``[maps.providers]``): ``category`` (default: the category with the
    most locations that have outcomes), ``catchment_minutes`` (15), ``area_kind`` (population areas)."""
    con, city, options = ctx.con, ctx.city, dict(ctx.options)
    cats = categories(con, city)
    category = options.get("category") or (cats[0] if cats else None)
    if category is None or category not in cats:
        raise ValueError(f"providers page of {city}: no outcomes tied to service locations"
                         + (f" of category {category!r} (categories with outcomes: {', '.join(cats) or 'none'})"
                            if category else ""))
    rows = con.execute(
        "SELECT service_id, measure, any_value(unit), year, sum(value), max(months) FROM outcomes_by_entity_year "
        "WHERE city = ? AND service_category = ? AND service_id IS NOT NULL AND year IS NOT NULL "
        "GROUP BY service_id, measure, year ORDER BY 1, 2, 4", [city, category]).fetchall()
    units = {}
    for _, measure, unit, *_ in rows:
        units.setdefault(measure, unit or "")
    measures = sorted(units, key=lambda m: (units[m] != "visits", m))
    visits = next((m for m in measures if units[m] == "visits"), None)
    svc = con.execute(
        "SELECT source_id, any_value(name), any_value(lat), any_value(lon), any_value(address), any_value(dataset) "
        "FROM services WHERE city = ? AND category = ? AND source_id IN (SELECT DISTINCT service_id FROM "
        "outcomes_by_entity_year WHERE city = ? AND service_category = ?) GROUP BY 1 ORDER BY 2, 1",
        [city, category, city, category]).fetchall()
    at = {r[0]: k for k, r in enumerate(svc)}
    values: dict = {}
    for sid, measure, _, year, value, months in rows:
        if sid in at:
            values.setdefault(at[sid], {}).setdefault(measure, {})[str(year)] = [float(value or 0), int(months or 0)]
    years = sorted({int(r[3]) for r in rows})
    # the indicator year: the latest year with 12 months of the main measure somewhere
    main = visits or (measures[0] if measures else None)
    full = sorted({int(r[3]) for r in rows if r[1] == main and (r[5] or 0) >= 12})
    year = full[-1] if full else (years[-1] if years else None)
    sources = {m: [r[0] for r in con.execute(
        "SELECT DISTINCT dataset FROM outcomes WHERE city = ? AND service_category = ? AND measure = ? ORDER BY 1",
        [city, category, m]).fetchall()] for m in measures}
    unmatched = [r[0] for r in con.execute(
        "SELECT DISTINCT entity_name FROM outcomes WHERE city = ? AND service_category = ? AND service_id IS NULL "
        "AND entity_kind = 'service' ORDER BY 1", [city, category]).fetchall()] \
        if "entity_kind" in reads.columns(con, "outcomes") else []

    minutes = _catchment_minutes(con, city, category, options.get("catchment_minutes"))
    kinds = population_kinds(con, city=city)
    area_kind = options.get("area_kind") or (kinds[0] if kinds else None)
    # why the catchment has no numbers: a reason code the page words (pv.why_<code>) with the values beside it
    catchment = {"minutes": minutes, "areaKind": area_kind, "why": None, "rows": {}}
    if minutes is None:
        catchment["why"] = {"code": "no_walk_areas", "category": category}
    elif area_kind is None or area_kind not in kinds:
        catchment["why"] = {"code": "no_population", "areaKind": area_kind}
    else:
        pop = con.execute(
            "SELECT max(year), string_agg(DISTINCT dataset, ', ') FROM population WHERE city = ? AND area_kind = ?",
            [city, area_kind]).fetchone()
        catchment.update({"popYear": pop[0], "popDataset": pop[1]})
        for sid, k in at.items():
            shares = catchment_shares(con, city=city, category=category, service_id=sid, minutes=minutes,
                                      area_kind=area_kind)
            if not shares:
                continue
            params = {"city": city, "area_kind": area_kind, "area_codes": json.dumps([c for c, _ in shares]),
                      "area_shares": json.dumps([s for _, s in shares])}
            residents = figures.run_figure(con, "providers.catchment_residents", **params)
            row = {"codes": params["area_codes"], "shares": params["area_shares"],
                   "residents": None if not residents or residents[0][0] is None else float(residents[0][0])}
            if visits and year is not None and row["residents"]:
                ratio = figures.run_figure(con, "providers.visits_per_resident", **params, service_id=sid,
                                           measure=visits, year=year)
                row["perResident"] = float(ratio[0][0]) if ratio and ratio[0][0] is not None else None
            catchment["rows"][str(k)] = row
    data = {
        "city": city,
        "cityTitle": ctx.display_city,
        "category": category,
        "categoryLabel": category_label(category),
        "measures": [{"id": m, "unit": units[m], "sources": sources[m]} for m in measures],
        "visits": visits,
        "years": years,
        "year": year,
        "services": [{"id": r[0], "name": r[1] or r[0], "lat": r[2], "lon": r[3], "address": r[4] or "",
                      "dataset": r[5]} for r in svc],
        "values": {str(k): v for k, v in values.items()},
        "unmatched": unmatched,
        "catchment": catchment,
        "figures": figure_payload.page("providers"),
    }
    with_map = any(r[2] is not None and r[3] is not None for r in svc)
    if with_map:
        data["base"] = _payload.base_layer(con, city=city, graph=None, options=options)
    return publish(ctx, PAGE, data=data, sources=reads.sources_for(con, city, ctx.sources, _TABLES),
                   with_map=with_map, messages=i18n.category_keys([category]))
