"""City spending: totals by department and by fund, as plain HTML/CSS bar charts.

Spending rows rarely carry locations; only when the table has ``lat``/``lon``
values is a map drawn (same page template either way).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from civicmash.analysis.routing import load_graph
from civicmash.warehouse import reads

from . import _payload
from .render import render_page, write_page

_TABLES = ("spending",)


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


def build(con, *, city: str, out_path, title: str = "Spending explorer", synthetic: bool = False,
          sources: list[dict] | None = None, options: dict | None = None, city_title: str | None = None) -> Path:
    """Write the spending page.  Options: ``fiscal_year`` (default: the latest),
    ``top`` (departments shown, default 25; the rest are summed as "Other")."""
    options = dict(options or {})
    years = [r[0] for r in con.execute(
        "SELECT DISTINCT fiscal_year FROM spending WHERE city = ? AND fiscal_year IS NOT NULL ORDER BY 1", [city]
    ).fetchall()]
    year = options.get("fiscal_year", years[-1] if years else None)
    depts = _totals(con, city=city, year=year, column="department", missing="(department not given)")
    top = int(options.get("top", 25))
    if len(depts) > top:
        rest = sum(d["amount"] for d in depts[top:])
        depts = depts[:top] + [{"label": f"Other ({len(depts) - top} departments)", "amount": rest,
                                "text": format_amount(rest)}]
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
    }
    if located:
        data["base"] = _payload.base_layer(con, city=city, graph=graph, options=options)
    html = render_page(
        title=title, city_title=city_title or city, body_js=_JS, data=data, synthetic=synthetic,
        sources=reads.sources_for(con, city, sources, _TABLES), legend_html="", controls_html=_CONTROLS,
        with_map=bool(located),
    )
    return write_page(out_path, html)


_CONTROLS = """
<h2 id="spend-heading">Spending</h2>
<p class="cm-count">Total: <span id="spend-total"></span></p>
<p class="cm-muted" id="spend-years"></p>
<h2>By department</h2>
<div id="dept-bars"></div>
<h2>By fund</h2>
<div id="fund-bars"></div>
"""

_JS = r"""
var el = C.el;
document.getElementById("spend-heading").textContent =
  data.year === null ? "Spending (all years)" : "Spending, fiscal year " + data.year;
document.getElementById("spend-total").textContent = data.total;
if (data.years.length > 1) {
  document.getElementById("spend-years").textContent = "Years in the data: " + data.years.join(", ") + ". Showing " + data.year + ".";
}
function bars(target, rows) {
  var box = document.getElementById(target);
  var max = rows.reduce(function (m, r) { return Math.max(m, Math.abs(r.amount)); }, 0) || 1;
  rows.forEach(function (r) {
    var row = el("div", null, "cm-bar"), track = el("div", null, "cm-bar-track"), fill = el("div", null, "cm-bar-fill");
    var label = el("div", r.label, "cm-bar-label");
    label.title = r.label;
    fill.style.width = (100 * Math.abs(r.amount) / max).toFixed(2) + "%";
    if (r.amount < 0) { fill.style.background = "#b5452f"; }
    track.appendChild(fill);
    row.appendChild(label); row.appendChild(track); row.appendChild(el("div", r.text, "cm-bar-amount"));
    box.appendChild(row);
  });
  if (!rows.length) { box.appendChild(el("p", "No spending rows.", "cm-muted")); }
}
bars("dept-bars", data.departments);
bars("fund-bars", data.funds);
if (C.map && data.located.length) {
  var max = data.located.reduce(function (m, r) { return Math.max(m, Math.abs(r[1])); }, 0) || 1;
  data.located.forEach(function (r) {
    var pop = el("div"); pop.appendChild(el("strong", r[0])); pop.appendChild(el("div", r[2]));
    L.circleMarker([r[3], r[4]], { renderer: C.canvas, radius: 3 + 12 * Math.sqrt(Math.abs(r[1]) / max),
      color: "#2f6db5", weight: 1, fillOpacity: 0.5 }).bindPopup(pop).addTo(C.map);
  });
}
"""
