"""Reading the "How is this computed?" controls of a page in Chromium and running what they show.

For every control on the page (``details.cm-fig``, ``maps/templates/figure_sql.js``): open it as a reader does
(click its summary), pick each row it explains (up to ``max_rows``), read the SQL, the parameter table and the
command it shows and the number the page shows beside it (the element named by ``data-for``), run the SQL with
those parameters through ``civicmash sql``'s own function (read-only guard, text parameters) on the warehouse,
and compare with the number as shown, to the precision shown."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from civicmash.warehouse import figures
from civicmash.warehouse.sql import run_query

_READ = """(box) => {
  const pre = box.querySelector('pre.cm-fig-sql'), cli = box.querySelector('pre.cm-fig-cli');
  const target = box.dataset.for ? document.getElementById(box.dataset.for) : null;
  return { key: box.dataset.figure, sql: pre.hidden ? null : pre.textContent, cli: cli.textContent,
           params: Array.from(box.querySelectorAll('table.cm-fig-params tbody tr'))
             .map(tr => [tr.cells[0].textContent, tr.cells[1].textContent]),
           shown: target ? target.textContent : null,
           definition: box.querySelector('.cm-fig-def').textContent,
           again: box.querySelector('.cm-fig-again').textContent,
           label: box.querySelector('.cm-fig-pick') ? box.querySelector('.cm-fig-pick').selectedOptions[0]?.textContent : null };
}"""


def shown_number(text: str) -> tuple[float, int]:
    """The number in a figure's text as the page shows it ("1,234", "$1,234", "−$5", "98.96", "1,234 m", "37%")
    and how many decimals it shows."""
    t = text.replace("\u2212", "-").replace(",", "").replace("$", "").strip()
    m = re.search(r"-?\d+(?:\.(\d+))?", t)
    assert m, f"no number in {text!r}"
    return float(m.group(0)), len(m.group(1) or "")


def read_controls(page, *, max_rows: int = 6) -> list[dict]:
    """Open each visible control and read every row it explains (up to ``max_rows`` per control)."""
    out = []
    boxes = page.locator("details.cm-fig")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        if not box.is_visible():
            continue
        if not box.evaluate("b => b.open"):
            box.locator("summary").click()
            page.wait_for_function("b => b.open", arg=box.element_handle())
        page.wait_for_function("b => b.dataset.for !== undefined || !b.querySelector('.cm-fig-body > p.cm-muted').hidden",
                               arg=box.element_handle())
        pick = box.locator("select.cm-fig-pick")
        n = pick.locator("option").count() if pick.count() else 1
        for k in range(min(n, max_rows)):
            if pick.count():
                pick.select_option(index=k)
            out.append(box.evaluate(_READ))
    return out


def check(read: dict, warehouse: Path) -> dict:
    """Run one read control's SQL with its parameters; assert it gives the number shown. Returns the read
    dict with ``value`` (the SQL's figure) and ``expected`` (the number as shown)."""
    assert read["sql"] and read["shown"] is not None, read
    params = {name.lstrip("$"): value for name, value in read["params"]}
    words = shlex.split(read["cli"])   # the command says the same SQL and values
    assert words[:3] == ["civicmash", "sql", read["sql"]], read["cli"]
    assert words[3:] == [w for name, value in params.items() for w in ("--param", f"{name}={value}")], read["cli"]
    assert list(params) == list(figures.param_names(read["sql"])), read
    result = run_query(warehouse, read["sql"], params=params, warn=False)
    column = figures.figure(read["key"]).column
    assert result.rows, f"{read['key']} ({read['label']}): the SQL returned no row\n{read['sql']}\n{params}"
    value = result.rows[0][result.columns.index(column)]
    expected, decimals = shown_number(read["shown"])
    assert value is not None, f"{read['key']} ({read['label']}): the SQL gave NULL, the page shows {read['shown']!r}"
    assert abs(float(value) - expected) <= 0.5 * 10 ** -decimals + 1e-9, (
        f"{read['key']} ({read['label']}): the page shows {read['shown']!r}, its SQL gives {value}\n"
        f"{read['sql']}\n{params}")
    return {**read, "value": value, "expected": expected}


def check_page(page, warehouse: Path, *, max_rows: int = 6) -> list[dict]:
    reads = read_controls(page, max_rows=max_rows)
    return [check(r, warehouse) for r in reads]
