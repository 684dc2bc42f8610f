"""Every figure on the four map pages shows its SQL, and that SQL gives the figure (issue 17, item 1).

On each page, every "How is this computed?" control (``maps/templates/figure_sql.js``) is opened as a reader
opens it, each row it explains is picked, and the SQL, parameters and command it shows are run through
``civicmash sql``'s own function (read-only guard, text parameters) against the run's warehouse; the result
must be the number the page shows beside it, to the precision shown (``tests/browser/figure_checks.py``). The
explorer is checked with filters set through its own controls (a type and an area) and through its URL (time of
day, days of the week, arrest, a school's radius), so the SQL carries "the filters of the moment"."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.chromium import clean_page
from tests.browser.figure_checks import check_page, read_controls

pytestmark = pytest.mark.browser
CLI = Path(sys.executable).with_name("civicmash")

PAGE_KEYS = {
    "explorer": {"explorer.total", "explorer.type_count", "explorer.area_count", "explorer.rate_per_1000",
                 "explorer.type_available", "explorer.no_coordinates", "explorer.at_midnight",
                 "explorer.description_count"},
    "safe_route": {"safe_route.shortest_m", "safe_route.safer_m", "safe_route.shortest_exposure",
                   "safe_route.safer_exposure"},
    "locator": {"locator.nearest_minutes", "locator.gap_share", "locator.gap_areas", "locator.residents_beyond"},
    # the spending explorer of issue 16: the year's total, a department's lines, a place, a service's outcomes
    "spending": {"spending.year_total", "spending.department_year", "spending.place_area", "spending.outcome_year"},
    "providers": {"providers.measure_year", "providers.catchment_residents", "providers.visits_per_resident"},
}


def _check_type_and_area(page, type_name: str, area: str) -> None:
    """Select one crime type and one area through the page's own controls, and the rates view."""
    page.click("#types-none")
    k = page.evaluate("(t) => window.civicmap.data.incidents.types.indexOf(t)", type_name)
    assert k >= 0, type_name
    page.check(f"#type-{k}")
    page.select_option("#f-ca", area)
    page.check("#view-rates")


def _cli(read: dict, warehouse: Path) -> list[dict]:
    """Run the command the control shows, as shown (only the program's path and the warehouse added)."""
    words = shlex.split(read["cli"])
    assert words[0] == "civicmash"
    done = subprocess.run([str(CLI), *words[1:], "--db", str(warehouse), "--format", "json"], check=False, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["spending", "safe_route", "locator"])
def test_chicago_page_figures_are_their_sql(browser, chicago_run, name):
    warehouse = Path(chicago_run["warehouse"])
    with clean_page(browser, Path(chicago_run["maps"][name]), timeout_ms=120_000) as page:
        checked = check_page(page, warehouse, max_rows=4)
    assert PAGE_KEYS[name] <= {c["key"] for c in checked}, (name, {c["key"] for c in checked})
    if name == "safe_route":   # said where it is: exposure is Python's, the SQL sums its per-segment inputs
        exposure = next(c for c in checked if c["key"].endswith("_exposure"))
        assert "cannot be computed in SQL" in exposure["definition"] and "civicmash route" in exposure["again"]
        assert all(c["value"] > 0 for c in checked if c["key"].endswith("_m"))
    if name == "locator":
        minutes = next(c for c in checked if c["key"] == "locator.nearest_minutes")
        assert "civicmash locate" in minutes["again"] and "SQL does not search graphs" in minutes["definition"]
    if name == "spending":
        assert any(c["key"] == "spending.department_year" and c["value"] > 0 for c in checked)


@pytest.mark.slow
def test_chicago_explorer_figures_with_a_type_and_an_area_chosen(browser, chicago_run):
    """A type and an area chosen in the explorer's own controls: the SQL carries both, and the window."""
    warehouse = Path(chicago_run["warehouse"])
    with clean_page(browser, Path(chicago_run["maps"]["explorer"]), timeout_ms=120_000) as page:
        _check_type_and_area(page, "THEFT", "28")
        checked = check_page(page, warehouse, max_rows=3)
    assert PAGE_KEYS["explorer"] <= {c["key"] for c in checked}
    total = next(c for c in checked if c["key"] == "explorer.total")
    params = dict(total["params"])
    assert params["$types"] == '["THEFT"]' and params["$community_area"] == "28"
    assert params["$from"] and params["$to"] and total["value"] > 0
    assert "one row per victim" in total["definition"] and "90 calendar days ending on the latest" in total["definition"]
    rate = next(c for c in checked if c["key"] == "explorer.rate_per_1000")
    assert "filled it in from the coordinates" in rate["definition"]   # the measured case: docs/maps.md
    assert _cli(total, warehouse) == [{"incidents": total["value"]}]   # the command as shown, run


@pytest.mark.slow
def test_chicago_explorer_figures_with_filters_from_a_link(browser, chicago_run):
    """Time of day over midnight, weekend days, no arrest, the rates view; then a school's radius and a start date."""
    warehouse, path = Path(chicago_run["warehouse"]), Path(chicago_run["maps"]["explorer"])
    hash_ = "types=BATTERY,ASSAULT&tod=22:00-03:00&dow=6,7&arrest=false&view=rates"
    with clean_page(browser, path, hash_=hash_, timeout_ms=120_000) as page:
        checked = check_page(page, warehouse, max_rows=3)
        school = page.evaluate("window.civicmap.data.incidents.places.find(p => p.cat === 'school')")
    assert PAGE_KEYS["explorer"] <= {c["key"] for c in checked}
    params = dict(next(c for c in checked if c["key"] == "explorer.total")["params"])
    assert params["$tod_from"] == "1320" and params["$tod_to"] == "180" and params["$dow"] == "[6,7]"
    assert params["$arrest"] == "false"
    with clean_page(browser, path, hash_=f"near=school:{school['id']}&r=600&from=2018-06-01",
                    timeout_ms=120_000) as page:
        checked = check_page(page, warehouse, max_rows=2)
    params = dict(next(c for c in checked if c["key"] == "explorer.total")["params"])
    assert float(params["$near_lat"]) == school["lat"] and params["$r"] == "600" and params["$from"] == "2018-06-01"


def test_sample_pages_figures_are_their_sql(browser, sample_run):
    """The cheaper variant: the synthetic sample city's four pages, as built by its pipeline run."""
    warehouse = Path(sample_run["warehouse"])
    for name, path in sorted(sample_run["maps"].items()):
        if name not in PAGE_KEYS:
            continue
        with clean_page(browser, Path(path), hash_="view=rates" if name == "explorer" else "",
                        timeout_ms=60_000) as page:
            checked = check_page(page, warehouse, max_rows=2)
        assert checked, name
        assert {c["key"].split(".")[0] for c in checked} == {name}


def test_the_control_is_keyboard_usable_and_shows_text_only(browser, sample_run):
    """Tab to the first control, open it with the keyboard; the SQL and the command are text in the page."""
    with clean_page(browser, Path(sample_run["maps"]["spending"])) as page:
        summary = page.locator("details.cm-fig summary").first
        summary.focus()
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('details.cm-fig').open")
        reads = read_controls(page, max_rows=1)
        assert reads[0]["sql"].startswith("SELECT sum(amount) AS total")
        assert reads[0]["cli"].startswith("civicmash sql 'SELECT")
        assert page.locator("details.cm-fig pre.cm-fig-sql").first.evaluate("p => p.children.length") == 0
        assert "How is this computed?" in summary.get_attribute("aria-label")
