"""What the money pages (spending explorer, providers comparison) read from the warehouse, shared by both.

Every number is read from the warehouse's money views and tables (issue 16) with the same keys the figures of
:mod:`civicmash.warehouse.money_figures` use, so the SQL a page shows gives the number it shows. A warehouse
written before those columns existed still draws: the missing keys fall back to the published values
(``department_id`` to the department number without leading zeros, else the name; ``line_kind`` to
'appropriation'), and the page says the figures' SQL needs a current warehouse.
"""

from __future__ import annotations

from decimal import Decimal

from civicmash.warehouse import reads
from civicmash.warehouse.money_figures import (
    ACCOUNT_KEY,
    CATCHMENT_SHARES_SQL,
    FUND_KEY,
)

MONEY_COLUMNS = ("line_kind", "department_id", "department_label", "department_abbrev", "fund_id", "fund_label",
                 "account_code")


def format_amount(value) -> str:
    """``1234567.8`` -> ``$1,234,568``; negatives get a real minus sign."""
    amount = Decimal(str(value or 0))
    sign = "\u2212" if amount < 0 else ""
    return f"{sign}${abs(amount):,.0f}"


def has_money_columns(con) -> bool:
    return reads.has_table(con, "spending") and set(MONEY_COLUMNS) <= reads.columns(con, "spending")


def lines_relation(con) -> str:
    """A SELECT over ``spending`` with the money keys (falling back to published values on an older warehouse).
    Column expressions are our own SQL, never portal text."""
    cols = reads.columns(con, "spending")

    def col(name: str, fallback: str) -> str:
        return f"coalesce({name}, {fallback})" if name in cols else fallback

    code = "nullif(ltrim(trim(department_code), '0'), '')" if "department_code" in cols else "NULL"
    dept = col("department_id", f"coalesce({code}, nullif(trim(department), ''), '(department not given)')")
    fund_id = FUND_KEY if "fund_id" in cols else "coalesce(nullif(trim(fund_code), ''), nullif(trim(fund), ''), '(fund not given)')"
    account = ACCOUNT_KEY if "account_code" in cols else \
        "coalesce(nullif(trim(account), ''), '(account not given)')"
    return (f"SELECT city, dataset, fiscal_year, {col('line_kind', repr('appropriation'))} AS line_kind, "
            f"{dept} AS department_id, "
            f"{col('department_label', 'nullif(trim(department), ' + repr('') + ')')} AS department_label, "
            f"{'department_abbrev' if 'department_abbrev' in cols else 'NULL'} AS department_abbrev, "
            f"{fund_id} AS fund_id, "
            f"{col('fund_label', 'nullif(trim(fund), ' + repr('') + ')')} AS fund_label, "
            f"{account} AS account_key, nullif(trim(account), '') AS account, amount FROM spending "
            "WHERE amount IS NOT NULL AND fiscal_year IS NOT NULL")


def population_total(con, *, city: str) -> dict | None:
    """The city's residents for "per resident": the population table's latest year, summed over the areas of the
    kind with the most areas that year (one count per area). None when the table has none."""
    if not reads.has_table(con, "population"):
        return None
    fixtures = reads.fixture_filter(con, "p")
    row = con.execute(
        "WITH per_area AS (SELECT p.area_kind, p.year, p.area_code, max(p.population) AS population, "
        "min(p.dataset) AS dataset FROM population p "
        f"WHERE p.city = ? AND p.population IS NOT NULL AND p.year IS NOT NULL {fixtures}GROUP BY ALL) "
        "SELECT area_kind, year, sum(population), count(*), string_agg(DISTINCT dataset, ', ') FROM per_area "
        "GROUP BY area_kind, year ORDER BY year DESC, count(*) DESC, area_kind LIMIT 1", [city]).fetchone()
    if not row or not row[2]:
        return None
    return {"kind": row[0], "year": int(row[1]), "total": int(row[2]), "areas": int(row[3]), "dataset": row[4]}


def area_population(con, *, city: str, kind: str) -> dict[str, int]:
    """Residents of each area of ``kind``: its latest year loaded (as the figures count them)."""
    if not reads.has_table(con, "population"):
        return {}
    fixtures = reads.fixture_filter(con, "p")
    rows = con.execute(
        "SELECT p.area_code, max(p.population) FROM population p WHERE p.city = ? AND p.area_kind = ? "
        f"AND p.population IS NOT NULL {fixtures}"
        "AND p.year = (SELECT max(q.year) FROM population q WHERE q.city = p.city AND q.area_kind = p.area_kind "
        "AND q.area_code = p.area_code) GROUP BY 1", [city, kind]).fetchall()
    return {str(code): int(pop) for code, pop in rows if pop is not None}


def population_kinds(con, *, city: str) -> list[str]:
    """Area kinds with both population counts and boundaries, the one with most areas first."""
    if not (reads.has_table(con, "population") and reads.has_table(con, "boundaries")):
        return []
    rows = con.execute(
        "SELECT p.area_kind, count(DISTINCT p.area_code) FROM population p WHERE p.city = ? AND EXISTS "
        "(SELECT 1 FROM boundaries b WHERE b.city = p.city AND b.kind = p.area_kind AND b.code = p.area_code) "
        "GROUP BY 1 ORDER BY 2 DESC, 1", [city]).fetchall()
    return [r[0] for r in rows]


def price_index(options) -> dict | None:
    """The profile's price index (``price_index`` year -> value, ``price_index_source``,
    ``price_index_base_year``: constant dollars are dollars of that year, default the latest the index covers) as
    the page states it, or None."""
    raw = options.get("price_index") or {}
    values = {}
    for year, value in dict(raw).items():
        try:
            values[int(year)] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"price_index: year {year!r} -> {value!r} is not a year and a number") from None
    if not values:
        return None
    base = str(options.get("price_index_base_year") or "")
    to_year = int(base) if base.isdigit() and int(base) in values else max(values)
    return {"values": {str(y): v for y, v in sorted(values.items())}, "toYear": to_year, "to": values[to_year],
            # None when the profile names no source: the page says so in the reader's language (sp.source_not_stated)
            "source": str(options["price_index_source"]) if options.get("price_index_source") else None}


def catchment_shares(con, *, city: str, category: str, service_id: str, minutes: int,
                     area_kind: str) -> list[tuple[str, float]]:
    """The share of each population area inside a location's walking area (the catchment figures' inputs)."""
    reads.ensure_spatial(con)
    rows = con.execute(CATCHMENT_SHARES_SQL,
                       {"city": city, "category": category, "service_id": service_id, "minutes": str(minutes),
                        "area_kind": area_kind}).fetchall()
    return sorted((str(code), round(float(share), 6)) for code, share in rows if share and share > 0)
