"""The crime explorer's three map views: the rates per 1,000 residents by community area equal a DuckDB query
over the warehouse for the same filters; the heat layer shows exactly the located matches and is redrawn
after a filter; the view is chosen with the keyboard and round-trips through the URL; areas without a
population figure show as "no data", not zero; area names stay text."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from tests.browser.test_explorer_filters import count, date_where, explorer_page, hash_params
from tests.maps.maps_citydb import XSS

pytestmark = pytest.mark.browser

TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
NO_DATA_FILL = "#c9cdd2"


@pytest.fixture(scope="module")
def chicago(chicago_run):
    from civicmash.warehouse.db import connect

    con = connect(chicago_run["warehouse"], read_only=True)
    yield con, Path(chicago_run["maps"]["explorer"])
    con.close()


def sql_rates(con, city: str, where: str, params: list) -> dict[str, dict]:
    """Per community area: matching incidents (by the incident's community_area, with or without
    coordinates), residents of the latest population year, and count / residents * 1000."""
    rows = con.execute(
        f"""WITH pop AS (
               SELECT area_code, population, year FROM (
                   SELECT *, row_number() OVER (PARTITION BY area_code ORDER BY year DESC) AS r
                   FROM population WHERE city = ? AND area_kind = 'community_area') WHERE r = 1),
           cnt AS (
               SELECT CAST(community_area AS VARCHAR) AS code, count(*) AS n FROM incidents_current
               WHERE city = ? AND occurred_at IS NOT NULL AND community_area IS NOT NULL AND {where} GROUP BY 1)
           SELECT coalesce(p.area_code, c.code), coalesce(c.n, 0), p.population, p.year,
                  coalesce(c.n, 0) * 1000.0 / p.population
           FROM pop p FULL JOIN cnt c ON c.code = p.area_code""",
        [city, city, *params]).fetchall()
    return {code: {"count": n, "population": pop, "year": year, "rate": rate} for code, n, pop, year, rate in rows}


def page_rates(page) -> dict[str, dict]:
    return {r["code"]: r for r in page.evaluate("window.civicmap.explorer.rates()")}


def table_rates(page) -> dict[str, tuple[str, str, str]]:
    """The rates table as shown: code -> (incidents, residents, per 1,000) cell texts."""
    return page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('#rates-table tbody tr'))
        .map(tr => [tr.dataset.code, Array.from(tr.cells).slice(2).map(td => td.textContent)]))""")


def assert_rates_equal(page, expected: dict[str, dict]):
    got = page_rates(page)
    assert set(got) == set(expected)
    shown = table_rates(page)
    for code, exp in expected.items():
        g = got[code]
        assert g["count"] == exp["count"], code
        assert g["population"] == exp["population"] and g["year"] == exp["year"], code
        assert math.isclose(g["rate"], exp["rate"], rel_tol=1e-12), code
        assert shown[code] == [f"{exp['count']:,}", f"{exp['population']:,}", f"{exp['rate']:,.2f}"], code


@pytest.mark.slow
def test_rates_per_1000_residents_equal_duckdb(browser, chicago, screenshot_dir):
    con, path = chicago
    hash_ = "types=BATTERY,ASSAULT&from=2018-07-01&to=2018-09-30&tod=20:00-04:00&view=rates"
    with explorer_page(browser, path, hash_) as page:
        assert page.evaluate("window.civicmap.explorer.mode()") == "rates"
        assert page.locator("#rates-legend").is_visible() and page.locator("#rates-table").is_visible()
        p = hash_params(page)
        dw, dp = date_where(p)
        base = (f"primary_type IN ('BATTERY', 'ASSAULT') AND {dw} AND (hour(occurred_at) * 60 + minute(occurred_at) "
                ">= 1200 OR hour(occurred_at) * 60 + minute(occurred_at) < 240)")
        expected = sql_rates(con, "chicago", base, dp)
        assert len(expected) == 77 and sum(e["count"] for e in expected.values()) > 5000
        assert_rates_equal(page, expected)
        # Every matching incident with a community area is counted, with or without coordinates.
        assert sum(r["count"] for r in page_rates(page).values()) == count(page) - con.execute(
            f"SELECT count(*) FROM incidents_current WHERE city = 'chicago' AND community_area IS NULL AND {base}",
            dp).fetchone()[0]
        legend = page.inner_text("#rates-legend")
        title, year = con.execute("SELECT d.title, p.year FROM population p JOIN datasets d USING (city, dataset) "
                                  "WHERE p.city = 'chicago' ORDER BY p.year DESC LIMIT 1").fetchone()
        assert title in legend and str(year) in legend and "per 1,000 residents" in legend
        no_coords = con.execute(f"SELECT count(*) FROM incidents_current WHERE city = 'chicago' AND lat IS NULL "
                                f"AND community_area IS NOT NULL AND {base}", dp).fetchone()[0]
        assert f"{no_coords:,} of the counted incidents have no coordinates" in legend
        # The population dataset used is credited in the sources footer; the older census, not used, is not.
        footer = page.inner_text("#sources")
        credited = {line.split(" — ")[0].strip() for line in footer.splitlines()}
        assert "population_2010" in credited and "population_2000" not in credited  # both read the same file
        # Each area polygon is filled by its class; the darkest class holds the highest rate.
        top = max(expected, key=lambda c: expected[c]["rate"])
        fills = page.evaluate("""() => { const out = {}; window.civicmap.map.eachLayer(l => {
            if (l.feature && l.options && l.options.fillColor && l._path) out[l.feature.properties.code] = l.options.fillColor; });
            return out; }""")
        assert len(fills) == 77 and fills[top] == "#b30000"
        page.screenshot(path=str(screenshot_dir / "chicago_explorer_rates.png"))
        # A second combination through the controls: domestic incidents only, weekends.
        page.select_option("#f-domestic", "true")
        page.uncheck("#dow-1")
        expected = sql_rates(con, "chicago", f"{base} AND domestic AND isodow(occurred_at) <> 1", dp)
        assert_rates_equal(page, expected)
        # Clicking an area offers to show only that area (the community-area filter).
        code = page.evaluate("""() => { let hit = null; window.civicmap.map.eachLayer(l => {
            if (!hit && l.feature && l._path && l.feature.properties.code === '25') hit = l; });
            hit.fire('click', { latlng: hit.getBounds().getCenter() }); return hit.feature.properties.code; }""")
        page.click(".leaflet-popup-content button")
        assert page.input_value("#f-ca") == code and hash_params(page)["ca"] == code
        assert page_rates(page)[code]["count"] == expected[code]["count"]


@pytest.mark.slow
def test_heat_layer_shows_the_located_matches_and_redraws(browser, chicago, screenshot_dir):
    con, path = chicago
    with explorer_page(browser, path, "from=2018-09-01&to=2018-09-30&view=heat") as page:
        heat = page.evaluate("window.civicmap.explorer.heat()")
        located = count(page) - int(page.inner_text("#count-nomap").replace(",", ""))
        assert heat["onMap"] and heat["points"] == located > 10_000
        assert page.locator("#heat-legend").is_visible()
        page.screenshot(path=str(screenshot_dir / "chicago_explorer_heat.png"))
        alpha = "() => { const c = document.querySelector('canvas.leaflet-heatmap-layer'); " \
                "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0; " \
                "for (let i = 3; i < d.length; i += 4) s += d[i]; return s; }"
        before = page.evaluate(alpha)
        assert before > 0
        page.select_option("#f-ca", "25")
        page.evaluate(TWO_FRAMES)
        after = page.evaluate("window.civicmap.explorer.heat()")
        expected = con.execute("SELECT count(*) FROM incidents_current WHERE city = 'chicago' AND community_area = 25 "
                               "AND lat IS NOT NULL AND occurred_at >= DATE '2018-09-01' "
                               "AND occurred_at < DATE '2018-10-01'").fetchone()[0]
        assert after["points"] == expected > 100 and after["draws"] > heat["draws"]
        assert page.evaluate(alpha) != before


@pytest.mark.slow
def test_view_is_keyboard_operable_and_round_trips_through_the_url(browser, chicago):
    _, path = chicago
    with explorer_page(browser, path, "types=THEFT") as page:
        assert page.evaluate("window.civicmap.explorer.view()") == "points" and "view" not in hash_params(page)
        page.focus("#view-points")
        page.keyboard.press("ArrowRight")
        assert page.evaluate("window.civicmap.explorer.mode()") == "heat" and hash_params(page)["view"] == "heat"
        page.keyboard.press("ArrowRight")
        assert page.evaluate("window.civicmap.explorer.mode()") == "rates" and hash_params(page)["view"] == "rates"
        assert page.locator("#view-rates").is_checked()
        page.click("#filters-reset")  # resets the filters, keeps the view
        assert page.evaluate("window.civicmap.explorer.view()") == "rates" and "types" not in hash_params(page)
        page.click("#types-none")
        page.check("#type-0")
        url_hash = page.evaluate("location.hash").lstrip("#")
        n = count(page)
    with explorer_page(browser, path, url_hash) as page:
        assert page.evaluate("window.civicmap.explorer.mode()") == "rates" and page.locator("#view-rates").is_checked()
        assert count(page) == n and page.evaluate("location.hash").lstrip("#") == url_hash
        page.evaluate("location.hash = 'view=heat'")  # a pasted link
        page.wait_for_function("() => window.civicmap.explorer.mode() === 'heat'")
        assert page.locator("#view-heat").is_checked()


def test_area_without_population_is_no_data_not_zero(browser, sample_run, tmp_path):
    """Sample city with one area's population removed: that area is "no data" (grey, dashed), the others
    have rates; area names are text (the tiny test city names an area with the XSS string)."""
    from civicmash.maps import explorer
    from civicmash.maps.render import PageContext
    from civicmash.warehouse.db import connect

    db = tmp_path / "sample.duckdb"
    shutil.copy(sample_run["warehouse"], db)
    con = connect(str(db))
    try:
        city = con.execute("SELECT city FROM population LIMIT 1").fetchone()[0]
        gone, busiest = con.execute(
            "SELECT CAST(community_area AS VARCHAR), count(*) FROM incidents_current WHERE city = ? "
            "AND community_area IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1", [city]).fetchone()
        con.execute("DELETE FROM population WHERE city = ? AND area_code = ?", [city, gone])
        path = explorer.build(PageContext(con=con, city=city, out_path=tmp_path / "explorer.html", synthetic=True,
                                          options={"start": "1970-01-01", "end": "2100-01-01"}))
        with explorer_page(browser, path, "view=rates") as page:
            rates = page_rates(page)
            assert rates[gone]["count"] == busiest > 0
            assert rates[gone]["population"] is None and rates[gone]["rate"] is None
            assert table_rates(page)[gone] == [f"{busiest:,}", "no data", "no data"]
            others = [r for c, r in rates.items() if c != gone]
            assert others and all(r["rate"] is not None for r in others)
            style = page.evaluate("""(code) => { let s = null; window.civicmap.map.eachLayer(l => {
                if (l.feature && l._path && String(l.feature.properties.code) === code) s = [l.options.fillColor, l.options.dashArray]; });
                return s; }""", gone)
            assert style == [NO_DATA_FILL, "3 3"]
            assert "no data" in page.inner_text("#rates-legend")
    finally:
        con.close()


def test_area_names_are_text_in_the_rates_view(browser, pages):
    with explorer_page(browser, pages["explorer"], "view=rates") as page:
        assert XSS in page.inner_text("#rates-table")
        page.evaluate("""() => window.civicmap.map.eachLayer(l => {
            if (l.feature && l._path && l.feature.properties.code === '1') l.fire('click', { latlng: l.getBounds().getCenter() }); })""")
        assert XSS in page.inner_text(".leaflet-popup-content")
        assert page.evaluate("document.querySelectorAll('img[src=x], img[src=\"x\"]').length") == 0
        # No population loaded for this city: every area is "no data", none is a zero rate.
        assert all(r["rate"] is None for r in page_rates(page).values())


def test_the_opening_view_is_on_screen_before_the_rows_are_read_and_is_what_they_give(browser, sample_run, tmp_path,
                                                                                     monkeypatch):
    """Issue 18 item 4: a plain URL draws the opening view's dots and count from the blob's first part (the place
    table's p_open), then the rows arrive in the late block's parts (here many: small parts forced) and the page's
    own filter pass replaces the preview: same count, same dot and colour per place (previewAgrees), painted before
    the rows were decoded. A URL with a state skips the preview."""
    from civicmash.maps import explorer, render
    from civicmash.maps.render import PageContext
    from civicmash.warehouse.db import connect

    monkeypatch.setattr(render, "LATE_PART", 4096)
    con = connect(str(sample_run["warehouse"]), read_only=True)
    try:
        city = con.execute("SELECT city FROM incidents_current LIMIT 1").fetchone()[0]
        path = explorer.build(PageContext(con=con, city=city, out_path=tmp_path / "explorer.html", synthetic=True,
                                          options={"start": "1970-01-01", "end": "2100-01-01"}))
        total, located = con.execute("SELECT count(*), count(lat) FROM incidents_current WHERE city = ? "
                                     "AND occurred_at IS NOT NULL", [city]).fetchone()
    finally:
        con.close()
    html = path.read_text(encoding="utf-8")
    assert located > 2000 and html.count('id="late-incidents-') > 5
    with explorer_page(browser, path) as page:
        st = page.evaluate("window.civicmap.explorer.stages")
        assert "preview" in st and st["previewAgrees"] is True, st
        assert st["preview"] < st["painted"] < st["unpacked"], st
        assert count(page) == total and page.evaluate("window.civicmap.explorer.mode()") == "dots"
        # "None" in the type list visits no row: the list's counts (every filter but the types) stand; a filter
        # changed while no type is on recounts them; every type back on matches their sum
        per_type = "() => [...document.querySelectorAll('input[id^=type-]')].map(b => b.parentNode.lastChild.textContent)"
        before = page.evaluate(per_type)
        page.click("#types-none")
        assert count(page) == 0 and page.evaluate(per_type) == before
        page.fill("#tod-from", "22:00")
        page.fill("#tod-to", "03:00")
        page.dispatch_event("#tod-to", "change")
        night = [int(x.replace(",", "")) for x in page.evaluate(per_type)]
        assert count(page) == 0 and 0 < sum(night) < total
        page.click("#types-all")
        assert count(page) == sum(night)
    with explorer_page(browser, path, "view=heat") as page:
        st = page.evaluate("window.civicmap.explorer.stages")
        assert "preview" not in st and st["painted"] == st["live"], st
