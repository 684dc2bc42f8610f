"""City spending: totals by department and by fund, as plain HTML/CSS bar charts.

Spending rows rarely carry locations; only when the table has ``lat``/``lon``
values is a map drawn (same page template either way).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from civicmash.analysis.routing import load_graph
from civicmash.warehouse import reads

from . import _payload, figure_payload
from .render import Page, PageContext, publish

_TABLES = ("spending",)
PAGE = Page(title="Spending explorer", scripts=("figure_sql.js", "spending.js"), controls="spending_controls.html")


def format_amount(value) -> str:
    """``1234567.8`` -> ``$1,234,568``; negatives get a real minus sign."""
    amount = Decimal(str(value or 0))
    sign = "\u2212" if amount < 0 else ""
    return f"{sign}${abs(amount):,.0f}"


def _totals(con, *, city: str, year, column: str, missing: str) -> list[dict]:
    # ``column`` is one of our own identifiers, never data.
    year_sql, params = ("AND fiscal_year = ?", [city, year]) if year is not None else ("", [city])
    rows = con.execute(
        f"SELECT coalesce(nullif(trim({column}), ''), ?) AS label, sum(amount) AS total FROM spending "
        f"WHERE city = ? AND amount IS NOT NULL {year_sql} GROUP BY 1 ORDER BY total DESC, label",
        [missing, *params],
    ).fetchall()
    return [{"label": label, "amount": float(total), "text": format_amount(total)} for label, total in rows]


def _located(con, *, city: str, year) -> list[list]:
    if not {"lat", "lon"} <= reads.columns(con, "spending"):
        return []
    year_sql, params = ("AND fiscal_year = ?", (year,)) if year is not None else ("", ())
    rows = reads.point_rows(con, table="spending", city=city, cols=("department", "amount"),
                            where=f"AND amount IS NOT NULL {year_sql}", params=params, limit=20000)
    return [[dept or "", float(amt), format_amount(amt), lat, lon] for dept, amt, lat, lon in rows]


def build(ctx: PageContext) -> Path:
    """Write the spending page.  Options: ``fiscal_year`` (default: the latest),
    ``top`` (departments shown, default 25; the rest are summed as "Other")."""
    con, city, options = ctx.con, ctx.city, dict(ctx.options)
    years = [r[0] for r in con.execute(
        "SELECT DISTINCT fiscal_year FROM spending WHERE city = ? AND fiscal_year IS NOT NULL ORDER BY 1", [city]
    ).fetchall()]
    year = options.get("fiscal_year", years[-1] if years else None)
    depts = _totals(con, city=city, year=year, column="department", missing="(department not given)")
    top = int(options.get("top", 25))
    if len(depts) > top:
        rest = sum(d["amount"] for d in depts[top:])
        depts = depts[:top] + [{"label": f"Other ({len(depts) - top} departments)", "amount": rest,
                                "text": format_amount(rest), "other": True}]
    funds = _totals(con, city=city, year=year, column="fund", missing="(fund not given)")
    located = _located(con, city=city, year=year)
    total = sum(f["amount"] for f in funds)
    graph = load_graph(con, city) if located else None
    data = {
        "year": year,
        "years": years,
        "total": format_amount(total),
        "departments": depts,
        "funds": funds,
        "located": located,
        "top": top,
        "city": city,
        "figures": figure_payload.page("spending"),
    }
    if located:
        data["base"] = _payload.base_layer(con, city=city, graph=graph, options=options)
    return publish(ctx, PAGE, data=data, sources=reads.sources_for(con, city, ctx.sources, _TABLES),
                   with_map=bool(located))
