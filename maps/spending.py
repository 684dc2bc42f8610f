"""The spending explorer (issue 16): where the budget goes, year over year, by place, to whom, and what it achieved.

One offline page, a single column that reads on a phone (tested at 390 px): the year's total, then
department -> fund -> account drill-down for any year held; each department across the years held (gaps as
gaps) in nominal dollars, constant dollars (the profile's price index) or per resident; spending attributed to
places on a map (when the city publishes it); contract revisions by vendor; and, for a service with outcomes, the
department's budget beside what it achieved. Every number carries its "How is this computed?" SQL
(:mod:`civicmash.warehouse.money_figures`). Data from :mod:`.money_data`; page code in
``templates/spending.js``.
"""

from __future__ import annotations

from pathlib import Path

from civicmash.warehouse import reads
from civicmash.warehouse.services import category_label

from . import figure_payload, i18n
from .money_data import (
    area_population,
    format_amount,
    has_money_columns,
    lines_relation,
    population_total,
    price_index,
)
from .render import Page, PageContext, publish

__all__ = ["PAGE", "build", "format_amount"]

_TABLES = ("spending", "contract_revisions", "place_spending", "outcomes", "population", "boundaries")
PAGE = Page(title="Spending explorer", scripts=("figure_sql.js", "spending_charts.js", "spending.js"), controls="spending_controls.html",
            style="spending.css")
_KIND_ORDER = {"appropriation": 0, "actual": 1, "payment": 2}


def _index(values) -> tuple[list, dict]:
    out, at = [], {}
    for v in values:
        if v not in at:
            at[v] = len(out)
            out.append(v)
    return out, at


def _budget(con, city: str) -> dict:
    rel = lines_relation(con)
    rows = con.execute(
        f"SELECT fiscal_year, line_kind, department_id, fund_id, account_key, sum(amount), count(*) "
        f"FROM ({rel}) WHERE city = ? GROUP BY ALL ORDER BY 1, 2, 3, 4, 5", [city]).fetchall()
    kinds = sorted({r[1] for r in rows}, key=lambda k: (_KIND_ORDER.get(k, 9), k))
    # labels: a department's and a fund's name of the latest year that has one; an account's most common name
    dept_rows = con.execute(
        f"SELECT department_id, arg_max(department_label, fiscal_year), arg_max(department_abbrev, fiscal_year), "
        f"string_agg(DISTINCT dataset, ', ') FROM ({rel}) WHERE city = ? GROUP BY 1", [city]).fetchall()
    fund_rows = con.execute(
        f"SELECT fund_id, arg_max(fund_label, fiscal_year) FROM ({rel}) WHERE city = ? GROUP BY 1", [city]).fetchall()
    account_rows = con.execute(
        f"SELECT account_key, mode(account) FROM ({rel}) WHERE city = ? GROUP BY 1", [city]).fetchall()
    dept_ids, dept_at = _index(sorted(r[0] for r in dept_rows))
    fund_ids, fund_at = _index(sorted(r[0] for r in fund_rows))
    acct_ids, acct_at = _index(sorted(r[0] for r in account_rows))
    dept_info = {r[0]: r for r in dept_rows}
    fund_label = {r[0]: r[1] for r in fund_rows}
    acct_label = {r[0]: r[1] for r in account_rows}
    datasets = sorted({d.strip() for r in dept_rows for d in (r[3] or "").split(",") if d.strip()})
    year_sets = {str(y): sorted(str(d) for d in ds) for y, ds in con.execute(
        f"SELECT fiscal_year, list(DISTINCT dataset) FROM ({rel}) WHERE city = ? GROUP BY 1", [city]).fetchall()}
    return {
        "kinds": kinds,
        "years": sorted({int(r[0]) for r in rows}),
        "depts": [{"id": d, "label": dept_info[d][1] or f"Department {d}", "abbrev": dept_info[d][2]}
                  for d in dept_ids],
        "funds": [{"id": f, "label": fund_label.get(f) or ""} for f in fund_ids],
        "accounts": [{"key": a, "label": acct_label.get(a) or ""} for a in acct_ids],
        # [year, kind, department, fund, account, amount, lines]
        "lines": [[int(y), kinds.index(k), dept_at[d], fund_at[f], acct_at[a], float(amt), int(n)]
                  for y, k, d, f, a, amt, n in rows],
        "datasets": datasets,
        "yearSets": year_sets,
    }


def _place(con, city: str, options: dict) -> dict | None:
    if not (reads.has_table(con, "place_spending") and reads.has_table(con, "place_spending_by_area_year")):
        return None
    kinds = [r[0] for r in con.execute(
        "SELECT area_kind FROM place_spending_by_area_year WHERE city = ? AND area_kind IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1", [city]).fetchall()]
    if not kinds:
        return None
    kind = options.get("place_area_kind") or kinds[0]
    rows = con.execute(
        "SELECT area_code, fiscal_year, coalesce(category, '(category not given)'), amount, projects "
        "FROM place_spending_by_area_year WHERE city = ? AND area_kind = ? AND fiscal_year IS NOT NULL "
        "AND area_code IS NOT NULL ORDER BY 2, 1, 3", [city, kind]).fetchall()
    # lines whose area matches no boundary of the kind (area_code NULL): said on the page, in no area
    unplaced = {str(y): [float(a), int(n)] for y, a, n in con.execute(
        "SELECT fiscal_year, sum(amount), sum(projects) FROM place_spending_by_area_year WHERE city = ? "
        "AND area_kind = ? AND fiscal_year IS NOT NULL AND area_code IS NULL GROUP BY 1", [city, kind]).fetchall()}
    cats, cat_at = _index(sorted({r[2] for r in rows}))
    shapes = reads.boundaries_geojson(con, city=city, kind=kind) if reads.has_table(con, "boundaries") else None
    names = {f["properties"]["code"]: f["properties"]["name"] for f in (shapes or {}).get("features", [])}
    codes, code_at = _index(sorted({str(r[0]) for r in rows}, key=lambda c: (len(c), c)))
    people = area_population(con, city=city, kind=kind)
    points = con.execute(
        "SELECT fiscal_year, coalesce(category, '(category not given)'), round(lat, 5), round(lon, 5), amount, "
        "project, area_code FROM place_spending WHERE city = ? AND lat IS NOT NULL AND lon IS NOT NULL "
        "AND fiscal_year IS NOT NULL ORDER BY 1, 2", [city]).fetchall()
    in_totals = "in_totals" if "in_totals" in reads.columns(con, "place_spending") else "TRUE"
    datasets = [r[0] for r in con.execute(
        f"SELECT DISTINCT dataset FROM place_spending WHERE city = ? AND {in_totals} ORDER BY 1", [city]).fetchall()]
    point_sets = [r[0] for r in con.execute(
        "SELECT DISTINCT dataset FROM place_spending WHERE city = ? AND lat IS NOT NULL AND lon IS NOT NULL "
        "ORDER BY 1", [city]).fetchall()]
    return {
        "kind": kind,
        "years": sorted({int(r[1]) for r in rows}),
        "cats": cats,
        "areas": [{"code": c, "name": names.get(c) or "", "pop": people.get(c)} for c in codes],
        # [area, year, category, amount, projects]
        "rows": [[code_at[str(a)], int(y), cat_at[c], float(amt), int(n)] for a, y, c, amt, n in rows],
        # [year, category, lat, lon, amount, project, area]
        "points": [[int(y), cat_at.get(c, -1), lat, lon, float(amt or 0), p or "", str(a or "")]
                   for y, c, lat, lon, amt, p, a in points],
        "pointSets": point_sets,
        "unplaced": unplaced,
        "withPopulation": bool(people),
        "datasets": datasets,
        "shapes": shapes,
    }


def _contracts(con, city: str) -> dict | None:
    if not (reads.has_table(con, "contract_revisions") and reads.has_table(con, "contracts_by_vendor")):
        return None
    vendors = con.execute(
        "SELECT vendor_key, vendor, contracts, revisions, amount_awarded FROM contracts_by_vendor "
        "WHERE city = ? AND vendor_key IS NOT NULL ORDER BY vendor_key", [city]).fetchall()
    if not vendors:
        return None
    at = {v[0]: k for k, v in enumerate(vendors)}
    revs = con.execute(
        "SELECT vendor_key, contract_number, revision, CAST(approval_date AS VARCHAR), department, description, "
        "amount, CAST(start_date AS VARCHAR), CAST(end_date AS VARCHAR), vendor FROM contract_revisions "
        "WHERE city = ? AND vendor_key IS NOT NULL ORDER BY vendor_key, contract_number, revision NULLS FIRST, "
        "approval_date NULLS FIRST", [city]).fetchall()
    depts, dept_at = _index(sorted({r[4] or "" for r in revs}))
    datasets = [r[0] for r in con.execute(
        "SELECT DISTINCT dataset FROM contract_revisions WHERE city = ? ORDER BY 1", [city]).fetchall()]
    return {
        # [vendor_key, vendor, contracts, revisions, revision amounts]
        "vendors": [[k, v or k, int(c), int(n), float(a or 0)] for k, v, c, n, a in vendors],
        "depts": depts,
        # [vendor, contract, revision, approved, department, description, amount, start, end, name as published]
        "revs": [[at[r[0]], r[1] or "", r[2], r[3], dept_at[r[4] or ""], r[5] or "", None if r[6] is None else float(r[6]),
                  r[7], r[8], r[9] or ""] for r in revs],
        "datasets": datasets,
    }


def _outcomes(con, city: str) -> list[dict]:
    """Per service category with outcomes tied to a budget department: measures by year."""
    if not (reads.has_table(con, "outcomes") and reads.has_table(con, "outcomes_by_entity_year")):
        return []
    rows = con.execute(
        "SELECT service_category, department_id, measure, any_value(unit), year, sum(value), max(months), "
        "min(months), count(*) FROM outcomes_by_entity_year WHERE city = ? AND department_id IS NOT NULL "
        "AND service_category IS NOT NULL AND year IS NOT NULL GROUP BY 1, 2, 3, 5 ORDER BY 1, 2, 3, 5",
        [city]).fetchall()
    datasets = {(r[0], r[1]): r[2] for r in con.execute(
        "SELECT service_category, department_id, string_agg(DISTINCT dataset, ', ' ORDER BY dataset) FROM outcomes "
        "WHERE city = ? "
        "GROUP BY 1, 2", [city]).fetchall()}
    out: dict = {}
    for cat, dept, measure, unit, year, value, months, min_months, entities in rows:
        entry = out.setdefault((cat, dept), {"category": cat, "label": category_label(cat), "dept": dept,
                                             "measures": {}, "dataset": datasets.get((cat, dept)) or ""})
        m = entry["measures"].setdefault(measure, {"unit": unit or "", "years": {}})
        m["years"][str(year)] = [float(value or 0), int(months or 0), int(min_months or 0), int(entities)]
    return list(out.values())


def _has_providers(con, city: str) -> bool:
    """Whether the providers page has locations to compare (outcomes tied to services)."""
    return reads.has_table(con, "outcomes") and bool(con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM outcomes WHERE city = ? AND service_id IS NOT NULL LIMIT 1)",
        [city]).fetchone()[0])


def build(ctx: PageContext) -> Path:
    """Write the spending page. Options (``[maps.spending]``): ``fiscal_year`` (opened; default the latest),
    ``top`` (departments listed before "show all", default 25), ``place_area_kind``; and from the profile's
    money block: ``price_index`` (year -> value), ``price_index_source``, ``price_index_base_year``."""
    con, city, options = ctx.con, ctx.city, dict(ctx.options)
    budget = _budget(con, city)
    year = options.get("fiscal_year")
    if year is not None and int(year) not in budget["years"]:
        raise ValueError(f"spending page of {city}: fiscal_year {year} is not in the data "
                         f"(years held: {', '.join(map(str, budget['years'])) or 'none'})")
    place = _place(con, city, options)
    with_map = bool(place and ((place["shapes"] or {}).get("features") or place["points"]))
    outcomes = _outcomes(con, city)
    data = {
        "city": city,
        "budget": budget,
        "year": int(year) if year is not None else (budget["years"][-1] if budget["years"] else None),
        "kind": "appropriation" if "appropriation" in budget["kinds"] else (budget["kinds"] or [None])[0],
        "top": int(options.get("top", 25)),
        "current": has_money_columns(con) and reads.has_table(con, "budget_by_department_year"),
        "price": price_index(options),
        "population": population_total(con, city=city),
        "place": place,
        "contracts": _contracts(con, city),
        "outcomes": outcomes,
        "providers": _has_providers(con, city),
        "figures": figure_payload.page("spending"),
    }
    return publish(ctx, PAGE, data=data, sources=reads.sources_for(con, city, ctx.sources, _TABLES),
                   with_map=with_map, messages=i18n.category_keys(o["category"] for o in outcomes))
