"""The spending explorer (issue 16, item 2) as the sample city's pipeline builds it, in real Chromium.

At 390 px wide the title, the total and the first departments are on screen (nothing above the viewport, no
label cut to "…"); department -> fund -> account drill-down; a year a department has no lines shows as a gap,
not a zero; every number's SQL gives the number shown and the totals equal an independent recount from the
DuckDB file; the contract search lists every revision of a vendor whatever spelling is typed; the page passes
axe-core when it is installed. Chicago (slow): the 2025 total and the library department's years on the page.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from pathlib import Path

import pytest
from civicmash.maps.money_data import format_amount
from civicmash.warehouse.db import connect

from tests.browser.chromium import clean_page
from tests.browser.figure_checks import check_page
from tests.browser.money_page_checks import assert_accessible, assert_phone_layout

pytestmark = pytest.mark.browser
PHONE = (390, 844)


@pytest.fixture(scope="module")
def sample(sample_run):
    path = Path(sample_run["maps"]["spending"])
    with contextlib.closing(connect(sample_run["warehouse"], read_only=True)) as con:
        yield {"page": path, "warehouse": Path(sample_run["warehouse"]), "con": con}


def _departments(con, year: int) -> list[tuple[str, Decimal]]:
    return con.execute("SELECT department_id, sum(amount) FROM spending WHERE city = 'sample' AND fiscal_year = ? "
                       "AND line_kind = 'appropriation' AND amount IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1",
                       [year]).fetchall()


def test_at_390_px_the_title_total_and_first_departments_are_on_screen(browser, sample):
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        assert_phone_layout(page, ["h1", "#spend-total", "#dept-bars .sp-row:nth-child(1)",
                                   "#dept-bars .sp-row:nth-child(2)", "#dept-bars .sp-row:nth-child(3)"])
        labels = page.eval_on_selector_all(".sp-label", "els => els.map(e => e.textContent)")
        assert labels and not [t for t in labels if t.endswith("…")]
        # the year's total as an independent recount of the file
        year = int(page.input_value("#sp-year"))
        total = sum(amount for _, amount in _departments(sample["con"], year))
        assert page.inner_text("#spend-total") == format_amount(total)
        # the whole page scrolls as a document: the sources at the bottom are reachable too
        page.locator("#sources").scroll_into_view_if_needed()
        assert page.locator("#sources").is_visible()


def test_department_fund_account_drill_down_equals_the_warehouse(browser, sample):
    con = sample["con"]
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        year = int(page.input_value("#sp-year"))
        dept_id, dept_total = _departments(con, year)[0]
        page.locator("#dept-bars button.sp-row").first.click()
        assert page.locator("#sp-crumbs button").first.inner_text() == "All departments"
        assert page.inner_text("#spend-total") == format_amount(dept_total)
        funds = con.execute("SELECT fund_id, sum(amount) FROM spending WHERE city = 'sample' AND fiscal_year = ? "
                            "AND line_kind = 'appropriation' AND department_id = ? AND amount IS NOT NULL "
                            "GROUP BY 1 ORDER BY 2 DESC, 1", [year, dept_id]).fetchall()
        shown = page.eval_on_selector_all("#dept-bars .sp-amount", "els => els.map(e => e.textContent)")
        assert shown == [format_amount(a) for _, a in funds]
        page.locator("#dept-bars button.sp-row").first.click()          # the largest fund -> its accounts
        accounts = con.execute(
            "SELECT sum(amount) FROM spending WHERE city = 'sample' AND fiscal_year = ? AND line_kind = "
            "'appropriation' AND department_id = ? AND fund_id = ? AND amount IS NOT NULL GROUP BY "
            "coalesce(nullif(trim(account_code), ''), nullif(trim(account), ''), '(account not given)') "
            "ORDER BY 1 DESC", [year, dept_id, funds[0][0]]).fetchall()
        shown = page.eval_on_selector_all("#dept-bars .sp-amount", "els => els.map(e => e.textContent)")
        assert shown == [format_amount(a) for (a,) in accounts]
        assert page.inner_text("#spend-total") == format_amount(funds[0][1])
        assert page.locator("#dept-bars button.sp-row").count() == 0        # accounts are the last level
        page.locator("#sp-crumbs button", has_text="All departments").click()
        assert page.locator("#sp-crumbs button").count() == 0


def test_a_year_without_lines_is_a_gap_not_a_zero(browser, sample):
    con = sample["con"]
    years = [y for (y,) in con.execute("SELECT DISTINCT fiscal_year FROM spending WHERE city = 'sample' "
                                       "AND line_kind = 'appropriation' ORDER BY 1").fetchall()]
    gap = con.execute(
        "SELECT d.department_id, y.fiscal_year FROM (SELECT DISTINCT department_id FROM spending WHERE city = 'sample' "
        "AND line_kind = 'appropriation') d, (SELECT DISTINCT fiscal_year FROM spending WHERE city = 'sample' AND "
        "line_kind = 'appropriation') y WHERE NOT EXISTS (SELECT 1 FROM budget_by_department_year b WHERE b.city = "
        "'sample' AND b.line_kind = 'appropriation' AND b.department_id = d.department_id AND b.fiscal_year = "
        "y.fiscal_year) ORDER BY 1, 2 LIMIT 1").fetchone()
    assert len(years) >= 2, "the sample city's budget spans several years"
    missing_years = [y for y in range(years[0], years[-1] + 1) if y not in years]
    assert gap or missing_years, "the sample city's budget has a department-year gap or a year not held"
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        if gap:
            page.select_option("#sp-yoy-dept", str(page.evaluate(
                "id => window.civicmap.data.budget.depts.findIndex(d => d.id === id)", gap[0])))
        rows = page.eval_on_selector_all("#yoy-bars .sp-row", """els => els.map(e => ({
            year: e.querySelector('.sp-label').textContent, amount: e.querySelector('.sp-amount').textContent,
            gap: e.classList.contains('sp-gap'), width: e.querySelector('.sp-fill').style.width}))""")
        assert [r["year"] for r in rows] == [str(y) for y in range(years[0], years[-1] + 1)]
        gaps = {r["year"]: r for r in rows if r["gap"]}
        if gap:
            assert gaps[str(gap[1])]["amount"] == "no lines this year" and gaps[str(gap[1])]["width"] == "0px"
        for y in missing_years:
            assert gaps[str(y)]["amount"] == "year not in the data"
        assert not [r for r in rows if r["amount"] in ("$0", "\u2212$0")]
        # per resident and constant dollars, where the data allows, say what they divide by
        if page.is_enabled("#sp-mode-resident"):
            page.check("#sp-mode-resident")
            assert "residents, the population table's" in page.inner_text("#sp-yoy-about")
        if page.is_enabled("#sp-mode-constant"):
            page.check("#sp-mode-constant")
            assert "Constant" in page.inner_text("#sp-yoy-about")


def test_every_number_is_its_sql_on_the_warehouse(browser, sample):
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        checked = check_page(page, sample["warehouse"], max_rows=3)
        page.locator("#dept-bars button.sp-row").first.click()           # a department's funds
        checked += check_page(page, sample["warehouse"], max_rows=2)
        assert_phone_layout(page, ["h1", "#spend-total"])                # the open controls fit the phone too
    keys = {c["key"] for c in checked}
    assert {"spending.year_total", "spending.department_year", "spending.department_fund"} <= keys, keys


def test_contract_search_lists_every_revision_of_a_vendor(browser, sample):
    con = sample["con"]
    key, spellings, n = con.execute(
        "SELECT vendor_key, list(DISTINCT vendor ORDER BY vendor), count(*) FROM contract_revisions "
        "WHERE city = 'sample' AND vendor_key IS NOT NULL GROUP BY 1 ORDER BY count(DISTINCT vendor) DESC, "
        "count(*) DESC, 1 LIMIT 1").fetchone()
    assert n >= 2, "the sample city has a vendor with several revisions"
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        for typed in {spellings[0].lower(), spellings[-1]}:
            page.fill("#sp-vendor", typed)
            page.click("#sp-search-form button[type=submit]")
            card = page.locator(".sp-vendor", has=page.locator("h3")).filter(
                has_text=f"Vendor key: {key}.")
            assert card.count() == 1, typed
            assert card.locator("tbody tr").count() == n
            assert "revision amounts, not spending" in card.inner_text().lower()
        assert_phone_layout(page, ["#sp-vendor-results .sp-vendor h3"], scroll=True)


def test_the_page_is_accessible(browser, sample):
    with clean_page(browser, sample["page"], viewport=PHONE) as page:
        page.locator("#dept-bars button.sp-row").first.click()
        assert_accessible(page)


@pytest.mark.slow
def test_chicago_2025_total_and_library_years(browser, chicago_run):
    with contextlib.closing(connect(chicago_run["warehouse"], read_only=True)) as con:
        library = dict(con.execute(
            "SELECT fiscal_year, sum(amount) FROM budget_by_department_year WHERE city = 'chicago' AND "
            "department_id = '91' AND line_kind = 'appropriation' GROUP BY 1").fetchall())
    assert len(library) >= 4
    with clean_page(browser, Path(chicago_run["maps"]["spending"]), viewport=PHONE, timeout_ms=120_000) as page:
        page.select_option("#sp-year", "2025")
        assert page.inner_text("#spend-total") == "$18,842,061,980"
        page.select_option("#sp-yoy-dept", str(page.evaluate(
            "() => window.civicmap.data.budget.depts.findIndex(d => d.id === '91')")))
        rows = dict(page.eval_on_selector_all("#yoy-bars .sp-row", """els => els.map(e => [
            e.querySelector('.sp-label').textContent, e.querySelector('.sp-amount').textContent])"""))
        assert {int(y): rows[str(y)] for y in library} == {y: format_amount(a) for y, a in library.items()}
        assert rows["2020"] == "year not in the data"
        # constant 2024 dollars by the profile's CPI-U; 2025 and 2026 have no annual average: nominal, and said so
        page.check("#sp-mode-constant")
        about = page.inner_text("#sp-yoy-about")
        assert "Constant 2024 dollars" in about and "CPI-U" in about
        assert "No index for 2025 and 2026: shown in nominal dollars." in about
        rows = {r[0]: r[1:] for r in page.eval_on_selector_all("#yoy-bars .sp-row", """els => els.map(e => [
            e.querySelector('.sp-label').textContent, e.querySelector('.sp-amount').textContent,
            (e.querySelector('.sp-sub') || {}).textContent || ''])""")}
        assert rows["2019"][0] == format_amount(round(float(library[2019]) * 313.689 / 255.657))
        assert rows["2025"][0] == format_amount(library[2025]) and "nominal dollars: no price index" in rows["2025"][1]
        assert_phone_layout(page, ["#yoy-bars"], scroll=True)
        assert "Public Library" in page.locator("#yoy-bars").evaluate("e => e.closest('section').textContent")
        assert_phone_layout(page, ["h1", "#spend-total", "#dept-bars .sp-row:nth-child(1)"])
