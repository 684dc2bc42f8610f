"""Providers compared (issue 16, item 4) as the sample city's pipeline builds it, in real Chromium.

The table sorts from its header buttons (mouse and keyboard) and says how it is sorted; every number is its SQL on
the warehouse; the walking-catchment residents equal an independent spatial recount from the DuckDB file; the
locator page links to it; it reads at 390 px and passes the accessibility checks."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from civicmash.warehouse.db import connect

from tests.browser.chromium import clean_page
from tests.browser.figure_checks import check_page
from tests.browser.money_page_checks import assert_accessible, assert_phone_layout

pytestmark = pytest.mark.browser
PHONE = (390, 844)

_COLUMN = "(j) => Array.from(document.querySelectorAll('#pv-body tr')).map(tr => tr.children[j].textContent)"


@pytest.fixture(scope="module")
def sample(sample_run):
    assert "providers" in sample_run["maps"], sample_run.get("skipped_maps")
    with contextlib.closing(connect(sample_run["warehouse"], read_only=True)) as con:
        yield {"page": Path(sample_run["maps"]["providers"]), "warehouse": Path(sample_run["warehouse"]),
               "con": con, "locator": Path(sample_run["maps"]["locator"])}


def _number(text: str) -> float | None:
    t = text.split(" (")[0].replace(",", "").replace("\u2212", "-").replace("+", "").split("%")[0].split(" ")[0]
    return None if t in ("—", "not", "no") else float(t)


def test_the_table_sorts_from_its_header_buttons(browser, sample):
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        names = page.evaluate(_COLUMN, 0)
        assert names == sorted(names, key=str.lower) and len(names) >= 2
        visits = page.locator("#pv-head th").nth(1)
        visits.locator("button").click()
        values = [_number(t) for t in page.evaluate(_COLUMN, 1)]
        known = [v for v in values if v is not None]
        assert known == sorted(known, reverse=True) and values[:len(known)] == known   # blanks last
        assert visits.get_attribute("aria-sort") == "descending"
        assert page.locator("#pv-head th").first.get_attribute("aria-sort") is None
        visits.locator("button").focus()
        page.keyboard.press("Enter")                                      # the keyboard sorts too
        values = [_number(t) for t in page.evaluate(_COLUMN, 1)]
        assert [v for v in values if v is not None] == sorted(known)
        assert visits.get_attribute("aria-sort") == "ascending"
        assert "ascending" in page.inner_text("#pv-sorted")
        # the recount: the indicator year's visits per location, from the view
        year = page.evaluate("window.civicmap.data.year")
        measure = page.evaluate("window.civicmap.data.measures[0].id")
        want = sorted(v for (v,) in sample["con"].execute(
            "SELECT sum(value) FROM outcomes_by_entity_year WHERE city = 'sample' AND service_id IS NOT NULL "
            "AND measure = ? AND year = ? GROUP BY service_id", [measure, year]).fetchall())
        assert sorted(known) == want


def test_a_location_shows_its_trend_with_gaps(browser, sample):
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        page.locator("#pv-body th button").first.click()
        assert page.locator("#pv-detail").is_visible()
        years = page.evaluate("window.civicmap.data.years")
        rows = page.eval_on_selector_all("#pv-trend .sp-chart:first-of-type .sp-row .sp-label",
                                         "els => els.map(e => e.textContent)")
        assert rows == [str(y) for y in range(years[0], years[-1] + 1)]


def test_every_number_is_its_sql_on_the_warehouse(browser, sample):
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        checked = check_page(page, sample["warehouse"], max_rows=3)
        assert_phone_layout(page, ["h1", "#pv-table-box .sp-scroll"])   # the open controls fit the phone too
    keys = {c["key"] for c in checked}
    assert {"providers.measure_year", "providers.catchment_residents", "providers.visits_per_resident"} <= keys


def test_catchment_residents_equal_a_spatial_recount(browser, sample):
    """Independent of the page's shares: the walking area over every population area, recomputed here."""
    con = sample["con"]
    con.execute("LOAD spatial")
    with clean_page(browser, sample["page"]) as page:
        data = page.evaluate("() => { const d = window.civicmap.data; return { c: d.catchment, s: d.services }; }")
    c = data["c"]
    assert c["why"] is None and c["rows"], c.get("why")
    for k, row in c["rows"].items():
        sid = data["s"][int(k)]["id"]
        want = con.execute(
            "WITH pop AS (SELECT area_code, population FROM population WHERE city = 'sample' AND area_kind = ? "
            "QUALIFY row_number() OVER (PARTITION BY area_code ORDER BY year DESC) = 1) "
            "SELECT sum(p.population * ST_Area(ST_Intersection(b.geom, i.geom)) / ST_Area(b.geom)) "
            "FROM isochrones i, boundaries b, pop p WHERE i.city = 'sample' AND i.kind = 'service' "
            "AND i.source_id = ? AND i.minutes = ? AND b.city = 'sample' AND b.kind = ? AND b.code = p.area_code "
            "AND ST_Intersects(b.geom, i.geom)", [c["areaKind"], sid, c["minutes"], c["areaKind"]]).fetchone()[0]
        assert abs(row["residents"] - want) <= 1, (sid, row["residents"], want)


def test_the_locator_links_to_it_and_it_reads_on_a_phone(browser, sample):
    with clean_page(browser, sample["locator"]) as page:
        link = page.locator("#loc-providers a")
        assert link.is_visible() and link.get_attribute("href") == "providers.html"
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        assert_phone_layout(page, ["h1", "#pv-table-box .sp-scroll", "#pv-body th", "#pv-defs"])
        assert "walking area" in page.inner_text("#pv-defs")
        assert_accessible(page)
