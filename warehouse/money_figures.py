"""The figures of the money pages (issue 16): the spending explorer and the providers comparison.

Each is the keywords of a :class:`civicmash.warehouse.figures.Figure` (built and registered in
``figures.FIGURES``): the SQL over the warehouse's money views (``budget_by_department_year``, ``place_spending_by_area_year``, ``outcomes_by_entity_year``,
``contracts_by_vendor``) and tables that gives the number a page shows, with text parameters as
``civicmash sql --param`` passes them. What is not in the warehouse (the profile's price index) travels as a
parameter, and the definition says so.
"""

from __future__ import annotations

import re

_NOT_FIXTURE = ("NOT EXISTS (SELECT 1 FROM datasets d WHERE d.city = {a}.city AND d.dataset = {a}.dataset "
                "AND d.role = 'fixture')")

_DEPT_YEAR = ("FROM budget_by_department_year\n"
              "WHERE city = $city AND fiscal_year = CAST($fiscal_year AS INTEGER) AND line_kind = $line_kind\n"
              "  AND department_id = $department_id")
_LINES = ("FROM spending\n"
          "WHERE city = $city AND fiscal_year = CAST($fiscal_year AS INTEGER) AND line_kind = $line_kind\n"
          "  AND amount IS NOT NULL AND department_id = $department_id")
ACCOUNT_KEY = "coalesce(nullif(trim(account_code), ''), nullif(trim(account), ''), '(account not given)')"
FUND_KEY = "coalesce(nullif(trim(fund_id), ''), '(fund not given)')"

# the city's residents: one count per area of the kind, of the year named (an area loaded twice counts once)
_RESIDENTS = (
    "residents AS (\n"
    "  SELECT sum(population) AS population, count(*) AS areas FROM (\n"
    "    SELECT p.area_code, max(p.population) AS population FROM population p\n"
    "    WHERE p.city = $city AND p.area_kind = $pop_kind AND p.year = CAST($pop_year AS INTEGER)\n"
    f"      AND {_NOT_FIXTURE.format(a='p')}\n"
    "    GROUP BY p.area_code) t)")
# each area's residents: its latest year loaded
_PEOPLE = (
    "people AS (\n"
    "  SELECT p.area_code, max(p.population) AS population FROM population p\n"
    "  WHERE p.city = $city AND p.area_kind = $area_kind\n"
    f"    AND {_NOT_FIXTURE.format(a='p')}\n"
    "    AND p.year = (SELECT max(q.year) FROM population q WHERE q.city = p.city AND q.area_kind = p.area_kind\n"
    "                  AND q.area_code = p.area_code)\n"
    "  GROUP BY p.area_code)")

BUDGET_DEFINITION = (
    "Sum of the budget lines (spending.amount) of the fiscal year $fiscal_year and the line kind $line_kind "
    "('appropriation': the budget as passed; 'actual': spent; 'payment': paid), from the view "
    "budget_by_department_year; lines without an amount are left out; the page rounds to whole dollars. A department "
    "is its department_id, the key that is stable across years (the profile's crosswalk; by default the published "
    "department number without leading zeros), shown with its name spelled out and the acronym beside it.")
CONSTANT_DEFINITION = (
    "Constant dollars = nominal x index(base year) / index($fiscal_year), with the price index the city profile names "
    "(its values are not in the warehouse: they are the parameters $index_year and $index_to, copied from the "
    "profile). A year the index does not cover stays in nominal dollars and the page says so. ") + BUDGET_DEFINITION
PER_RESIDENT_DEFINITION = (
    "Per resident = the department's lines of the year / the city's residents: the sum of the population table's "
    "counts of year $pop_year over its areas of kind $pop_kind (one count per area), the same count for every "
    "budget year. ") + BUDGET_DEFINITION
PLACE_DEFINITION = (
    "Sum of place_spending.amount (spending the source attributes to a place, e.g. a council member's discretionary "
    "money for their district) of the area $area (kind $area_kind) in fiscal year $place_year, one category or all "
    "($place_category = 'all'), from the view place_spending_by_area_year. Spending the source does not attribute to "
    "an area is not in it.")
PLACE_PER_RESIDENT_DEFINITION = (
    "Per resident = the area's place spending / its residents (population table, area kind $area_kind, the latest "
    "year loaded for the area). ") + PLACE_DEFINITION
VENDOR_DEFINITION = (
    "Contract revisions of one vendor, from the view contracts_by_vendor: vendors are grouped by vendor_key (the "
    "published name upper-cased, punctuation and legal suffixes such as INC, LLC, CORP, CO removed, spaces "
    "collapsed), so 'Acme Paving, Inc.' and 'ACME PAVING LLC' are one vendor. Each revision's amount is the award "
    "amount of that revision as published (often negative): revision amounts, not spending; their sum is not "
    "money spent.")
OUTCOME_DEFINITION = (
    "Sum of the outcomes table's values (view outcomes_by_entity_year) of measure $measure for the service "
    "category $category and the department $department_id in year $fiscal_year, over every entity (service location) "
    "the source lists; months = the months of that year with data (a year with fewer than 12 is partial).")
COST_DEFINITION = (
    "Cost per visit = the department's budget lines of the year (budget_by_department_year, line kind $line_kind) "
    "/ the visits counted in that year (outcomes of measure $measure, all the category's locations). Only for years "
    "with both a budget and 12 months of visits. The budget covers everything the department does, not only "
    "visits, so this is a ratio, not a unit cost.")
PROVIDER_DEFINITION = (
    "One service location's outcomes (view outcomes_by_entity_year) of measure $measure in year $year: the sum of "
    "its monthly (or yearly) values as published; months = the months of that year with data.")
CATCHMENT_DEFINITION = (
    "Residents of the walking catchment (an estimate): the location's walking area (isochrones, kind 'service', "
    "1.3 m/s along the streets; the page says how many minutes) laid over the population areas of kind $area_kind; "
    "each area counts its residents (latest population year loaded) times the share of its surface inside the "
    "walking area ($area_shares, in the order of $area_codes), i.e. residents assumed spread evenly over the area: "
    "there is no finer population data. The shares are computed from the warehouse by DuckDB spatial "
    "(ST_Area(ST_Intersection(area, walking area)) / ST_Area(area), docs/maps.md) and carried by the page; this SQL "
    "sums population x share. Catchments of neighbouring locations overlap, so they do not add up to the city.")
VISITS_PER_RESIDENT_DEFINITION = (
    "Visits per resident = the location's visits of year $year (measure $measure) / the residents of its walking "
    "catchment. Visitors come from anywhere: this is a ratio, not a share of residents. ") + CATCHMENT_DEFINITION

_SHARES = (
    "shares AS (\n"
    "  SELECT unnest(from_json($area_codes, '[\"VARCHAR\"]')) AS area_code,\n"
    "         unnest(from_json($area_shares, '[\"DOUBLE\"]')) AS share)")
_SHARES_SQLITE = (
    "shares AS (\n"
    "  SELECT c.value AS area_code, CAST(s.value AS REAL) AS share\n"
    "  FROM json_each(:area_codes) c JOIN json_each(:area_shares) s ON s.key = c.key)")
CATCHMENT_SHARES_SQL = (
    "SELECT b.code AS area_code,\n"
    "       ST_Area(ST_Intersection(b.geom, i.geom)) / ST_Area(b.geom) AS share\n"
    "FROM isochrones i JOIN boundaries b ON b.city = i.city AND ST_Intersects(b.geom, i.geom)\n"
    "WHERE i.city = $city AND i.kind = 'service' AND i.category = $category AND i.source_id = $service_id\n"
    "  AND i.minutes = CAST($minutes AS INTEGER) AND b.kind = $area_kind AND b.geom IS NOT NULL\n"
    "  AND ST_Area(b.geom) > 0\n"
    f"  AND {_NOT_FIXTURE.format(a='b')}\n"
    "  AND NOT EXISTS (SELECT 1 FROM boundaries v WHERE v.city = b.city AND v.kind = b.kind AND v.geom IS NOT NULL\n"
    "    AND coalesce(v.valid_from, DATE '0001-01-01') > coalesce(b.valid_from, DATE '0001-01-01'))")
"""How much of each population area a location's walking area covers (DuckDB spatial, degrees: a ratio of two
areas at the same latitude). The page carries these shares, and the catchment figures sum population x share."""

def _fig(key: str, title: str, sql: str, column: str, definition: str, sqlite: str | None = None) -> dict:
    """One figure as the keywords of ``figures.Figure`` (built there: this module does not import figures.py)."""
    return {"key": key, "page": key.split(".")[0], "title": title, "sql": sql, "definition": definition,
            "column": column, "sqlite_sql": sqlite if sqlite is not None else _sqlite(sql)}


def _sqlite(sql: str) -> str:
    """The same SQL over Datasette's published tables (SQLite, ``:name`` parameters; the money summed to cents)."""
    sql = sql.replace("SELECT sum(amount) AS total", "SELECT round(sum(amount), 2) AS total")
    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", r":\1", sql)


_VISITS = (
    "visits AS (\n"
    "  SELECT sum(value) AS visits FROM outcomes_by_entity_year\n"
    "  WHERE city = $city AND service_id = $service_id AND measure = $measure AND year = CAST($year AS INTEGER))")


def money_figures() -> list[dict]:
    year_total = ("SELECT sum(amount) AS total, sum(lines) AS lines, count(*) AS departments\n"
                  "FROM budget_by_department_year\n"
                  "WHERE city = $city AND fiscal_year = CAST($fiscal_year AS INTEGER) AND line_kind = $line_kind")
    dept = "SELECT sum(amount) AS total, sum(lines) AS lines\n" + _DEPT_YEAR
    fund = ("SELECT sum(amount) AS total, count(*) AS lines\n" + _LINES + f"\n  AND {FUND_KEY} = $fund_id")
    account = fund + f"\n  AND {ACCOUNT_KEY} = $account"
    constant = ("SELECT round(sum(amount) * CAST($index_to AS DOUBLE) / CAST($index_year AS DOUBLE)) "
                "AS constant_dollars,\n       sum(amount) AS nominal\n" + _DEPT_YEAR)
    per_resident = (f"WITH {_RESIDENTS}\n"
                    "SELECT round(sum(b.amount) / max(r.population), 2) AS per_resident, sum(b.amount) AS amount,\n"
                    "       max(r.population) AS residents\n"
                    "FROM budget_by_department_year b, residents r\n"
                    "WHERE b.city = $city AND b.fiscal_year = CAST($fiscal_year AS INTEGER) AND b.line_kind = $line_kind\n"
                    "  AND b.department_id = $department_id AND r.population > 0")
    place = ("SELECT sum(amount) AS total, sum(projects) AS projects\nFROM place_spending_by_area_year\n"
             "WHERE city = $city AND area_kind = $area_kind AND area_code = $area\n"
             "  AND fiscal_year = CAST($place_year AS INTEGER) AND ($place_category = 'all' OR category = $place_category)")
    place_pr = (
        "WITH spent AS (\n"
        "  SELECT sum(amount) AS total FROM place_spending_by_area_year\n"
        "  WHERE city = $city AND area_kind = $area_kind AND area_code = $area\n"
        "    AND fiscal_year = CAST($place_year AS INTEGER)\n"
        "    AND ($place_category = 'all' OR category = $place_category)),\n"
        + _PEOPLE + "\n"
        "SELECT round(s.total / p.population, 2) AS per_resident, s.total, p.population\n"
        "FROM spent s, people p WHERE p.area_code = $area AND p.population > 0")
    vendor = ("SELECT revisions, contracts, amount_awarded AS revision_amounts\nFROM contracts_by_vendor\n"
              "WHERE city = $city AND vendor_key = $vendor_key")
    outcome = ("SELECT sum(value) AS value, max(months) AS months\nFROM outcomes_by_entity_year\n"
               "WHERE city = $city AND service_category = $category AND department_id = $department_id\n"
               "  AND measure = $measure AND year = CAST($fiscal_year AS INTEGER)")
    cost = ("WITH budget AS (\n"
            "  SELECT sum(amount) AS amount FROM budget_by_department_year\n"
            "  WHERE city = $city AND fiscal_year = CAST($fiscal_year AS INTEGER) AND line_kind = $line_kind\n"
            "    AND department_id = $department_id),\n"
            "visits AS (\n"
            "  SELECT sum(value) AS visits, max(months) AS months FROM outcomes_by_entity_year\n"
            "  WHERE city = $city AND service_category = $category AND department_id = $department_id\n"
            "    AND measure = $measure AND year = CAST($fiscal_year AS INTEGER))\n"
            "SELECT round(b.amount / v.visits, 2) AS cost_per_visit, b.amount AS budget, v.visits, v.months\n"
            "FROM budget b, visits v WHERE v.visits > 0 AND v.months = 12")
    provider = ("SELECT sum(value) AS value, max(months) AS months\nFROM outcomes_by_entity_year\n"
                "WHERE city = $city AND service_id = $service_id AND measure = $measure\n"
                "  AND year = CAST($year AS INTEGER)")
    tail = "\nSELECT round(sum(p.population * s.share)) AS residents, count(*) AS areas\nFROM shares s JOIN people p ON p.area_code = s.area_code"
    catchment = "WITH " + _SHARES + ",\n" + _PEOPLE + tail
    catchment_lite = "WITH " + _SHARES_SQLITE + ",\n" + _sqlite(_PEOPLE) + tail
    ratio = ("\nSELECT round(v.visits / sum(p.population * s.share), 2) AS visits_per_resident, v.visits,\n"
             "       round(sum(p.population * s.share)) AS residents\n"
             "FROM shares s JOIN people p ON p.area_code = s.area_code, visits v\n"
             "GROUP BY v.visits HAVING sum(p.population * s.share) > 0")
    per_res = "WITH " + _SHARES + ",\n" + _PEOPLE + ",\n" + _VISITS + ratio
    per_res_lite = "WITH " + _SHARES_SQLITE + ",\n" + _sqlite(_PEOPLE + ",\n" + _VISITS) + ratio
    return [
        _fig("spending.year_total", "Total of the year's budget lines", year_total, "total", BUDGET_DEFINITION),
        _fig("spending.department_year", "One department's budget lines in a year", dept, "total",
             BUDGET_DEFINITION),
        _fig("spending.department_fund", "One department's lines from one fund in a year", fund, "total",
             BUDGET_DEFINITION + " A fund is its fund_id (the published code, normalised), shown with its name."),
        _fig("spending.department_fund_account", "One department's lines from one fund for one account",
             account, "total", BUDGET_DEFINITION + " An account is its published code (its name when the source has "
             "no code)."),
        _fig("spending.department_constant", "One department's budget lines in constant dollars", constant,
             "constant_dollars", CONSTANT_DEFINITION),
        _fig("spending.department_per_resident", "One department's budget lines per resident", per_resident,
             "per_resident", PER_RESIDENT_DEFINITION),
        _fig("spending.place_area", "Spending attributed to one area in a year", place, "total", PLACE_DEFINITION),
        _fig("spending.place_area_per_resident", "Spending attributed to one area per resident", place_pr,
             "per_resident", PLACE_PER_RESIDENT_DEFINITION),
        _fig("spending.vendor_revisions", "Contract revisions of one vendor", vendor, "revisions",
             VENDOR_DEFINITION),
        _fig("spending.outcome_year", "A service's outcomes in a year (all its locations)", outcome, "value",
             OUTCOME_DEFINITION),
        _fig("spending.cost_per_visit", "Budget per visit in a year", cost, "cost_per_visit", COST_DEFINITION),
        _fig("providers.measure_year", "One location's outcome in a year", provider, "value", PROVIDER_DEFINITION),
        _fig("providers.catchment_residents", "Residents of a location's walking catchment (estimate)", catchment,
             "residents", CATCHMENT_DEFINITION, catchment_lite),
        _fig("providers.visits_per_resident", "Visits per resident of the walking catchment", per_res,
             "visits_per_resident", VISITS_PER_RESIDENT_DEFINITION, per_res_lite),
    ]


def example_params(con, city: str) -> dict[str, dict[str, str]]:
    """Parameter values (text) for the money figures of ``city`` that give a number: the spending page's (the
    outcomes' department in a year with a budget and 12 months of visits, else the largest department of the
    latest year; its largest fund and account; the largest place; the vendor with most revisions) and the
    providers page's (a located service with visits and a walking area). The price index is not in the warehouse:
    the example index values are 100 and 100 (constant = nominal). A value the warehouse cannot give is left
    out; ``warehouse.publish.example_params`` adds these to the other pages'."""
    spending: dict[str, str] = {"city": city, "line_kind": "appropriation", "index_to": "100",
                                "index_year": "100", "place_category": "all"}
    providers: dict[str, str] = {"city": city}

    def one(sql: str, *args):
        try:
            return con.execute(sql, [*args]).fetchone()
        except Exception:   # noqa: BLE001 - a table an older warehouse lacks: no example from it
            return None

    row = one("SELECT o.service_category, o.department_id, o.measure, CAST(o.year AS VARCHAR) "
              "FROM outcomes_by_entity_year o JOIN budget_by_department_year b ON b.city = o.city "
              "AND b.department_id = o.department_id AND b.fiscal_year = o.year AND b.line_kind = 'appropriation' "
              "WHERE o.city = ? AND o.unit = 'visits' GROUP BY 1, 2, 3, o.year HAVING max(o.months) = 12 "
              "ORDER BY o.year DESC LIMIT 1", city)
    if row:
        spending.update(category=row[0], department_id=row[1], measure=row[2], fiscal_year=row[3])
    else:
        row = one("SELECT department_id, CAST(fiscal_year AS VARCHAR) FROM budget_by_department_year WHERE city = ? "
                  "AND line_kind = 'appropriation' ORDER BY fiscal_year DESC, amount DESC LIMIT 1", city)
        if row:
            spending.update(department_id=row[0], fiscal_year=row[1])
    if "fiscal_year" in spending:
        row = one(f"SELECT {FUND_KEY}, {ACCOUNT_KEY}, sum(amount) FROM spending WHERE city = ? AND line_kind = "
                  "'appropriation' AND department_id = ? AND fiscal_year = CAST(? AS INTEGER) AND amount IS NOT NULL "
                  "GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1", city, spending["department_id"], spending["fiscal_year"])
        if row:
            spending.update(fund_id=row[0], account=row[1])
    row = one("SELECT area_kind, CAST(max(year) AS VARCHAR) FROM population WHERE city = ? GROUP BY 1 "
              "ORDER BY count(DISTINCT area_code) DESC, 1 LIMIT 1", city)
    if row:
        spending.update(pop_kind=row[0], pop_year=row[1])
    row = one("SELECT s.area_kind, s.area_code, CAST(s.fiscal_year AS VARCHAR) FROM place_spending_by_area_year s "
              "WHERE s.city = ? AND EXISTS (SELECT 1 FROM population p WHERE p.city = s.city AND p.area_kind = "
              "s.area_kind AND p.area_code = s.area_code AND p.population > 0) GROUP BY 1, 2, s.fiscal_year "
              "ORDER BY s.fiscal_year DESC, sum(s.amount) DESC LIMIT 1", city)
    if row:
        spending.update(area_kind=row[0], area=row[1], place_year=row[2])
    row = one("SELECT vendor_key FROM contracts_by_vendor WHERE city = ? ORDER BY revisions DESC, vendor_key "
              "LIMIT 1", city)
    if row:
        spending["vendor_key"] = row[0]
    row = one("SELECT o.service_id, o.measure, CAST(o.year AS VARCHAR), o.service_category, max(i.minutes) "
              "FROM outcomes_by_entity_year o JOIN isochrones i ON i.city = o.city AND i.kind = 'service' "
              "AND i.source_id = o.service_id AND i.category = o.service_category "
              "WHERE o.city = ? AND o.unit = 'visits' AND o.months = 12 GROUP BY 1, 2, o.year, 4 "
              "ORDER BY o.year DESC, o.service_id LIMIT 1", city)
    kind = one("SELECT p.area_kind FROM population p WHERE p.city = ? AND EXISTS (SELECT 1 FROM boundaries b WHERE "
               "b.city = p.city AND b.kind = p.area_kind AND b.code = p.area_code) GROUP BY 1 "
               "ORDER BY count(DISTINCT p.area_code) DESC, 1 LIMIT 1", city)
    if row and kind:
        providers.update(service_id=row[0], measure=row[1], year=row[2], area_kind=kind[0])
        try:
            shares = con.execute(CATCHMENT_SHARES_SQL, {"city": city, "category": row[3], "service_id": row[0],
                                                        "minutes": str(min(15, row[4])),
                                                        "area_kind": kind[0]}).fetchall()
        except Exception:   # noqa: BLE001 - no spatial extension loaded: no catchment example
            shares = []
        shares = sorted((str(c), round(float(v), 6)) for c, v in shares if v and v > 0)
        if shares:
            import json

            providers.update(area_codes=json.dumps([c for c, _ in shares]),
                             area_shares=json.dumps([v for _, v in shares]))
    return {"spending": spending, "providers": providers}
