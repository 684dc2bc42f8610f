"""Every page by keyboard alone, in real Chromium (issue 18 item 6; docs/maps.md#accessibility).

Per page: the skip links are the first tab stops and move the focus where they say; every tab stop has an accessible
name (Chromium's own accessibility tree), is visible when focused and shows a focus ring of at least 3:1 against the
colours beside it; no map shape that is not a control is a tab stop. At 390 px wide: every visible control is at
least 24 x 24 CSS px (a check box or radio with its label), nothing overflows sideways and no table cell breaks a
word across lines. And each page's task done with Tab / Shift+Tab / Enter / Space / arrow keys only: the locator's
start point from the place search and from the map's crosshair, then its nearest services; the explorer's filters,
time of day, address search, view switch and an incident's details; the safe route's two routes and their figures;
the spending drill-down, year, line kind and vendor search; the providers table's sort."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.chromium import clean_page
from tests.browser.keyboard_checks import (
    broken_words,
    contrast,
    focus_ring,
    focused,
    horizontal_overflow,
    small_targets,
    tab_to,
    tab_walk,
    to_top,
)

pytestmark = pytest.mark.browser
PHONE = (390, 844)
TEST_CITY = ("explorer", "locator", "safe_route", "spending")
SAMPLE = ("spending_sample", "providers", "status", "changes")


@pytest.fixture
def page_path(request, pages):
    def get(name: str) -> Path:
        if name in TEST_CITY:
            return pages[name]
        run = request.getfixturevalue("sample_run")
        if name in ("status", "changes"):                                   # written beside the maps every run
            return Path(run["maps"]["explorer"]).parent / f"{name}.html"
        kind = {"spending_sample": "spending"}.get(name, name)
        assert kind in run["maps"], run.get("skipped_maps")
        return Path(run["maps"][kind])
    return get


def _open_panel(page):
    if page.evaluate("!!document.getElementById('panel-toggle') && document.body.classList.contains('cm-collapsed')"):
        page.click("#panel-toggle")


def _press(page, key: str, times: int = 1):
    for _ in range(times):
        page.keyboard.press(key)


# --- the contrast helper itself -----------------------------------------------------------------------

def test_contrast_helper_matches_wcag_examples():
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert contrast("rgb(255, 191, 71)", "rgb(255, 255, 255)") == pytest.approx(1.64, abs=0.01)  # the old ring
    assert contrast("rgb(11, 61, 145)", "rgb(255, 255, 255)") > 9.5
    assert contrast("rgba(118, 118, 118, 1)", "rgb(255, 255, 255)") == pytest.approx(4.54, abs=0.01)


# --- every page: skip links, names, visibility, focus ring ------------------------------------------------

@pytest.mark.parametrize("name", TEST_CITY + SAMPLE)
def test_skip_links_come_first_and_land_where_they_say(browser, page_path, name):
    with clean_page(browser, page_path(name)) as page:
        page.keyboard.press("Tab")
        first = focused(page)
        assert first["tag"] == "a" and page.evaluate("!!document.activeElement.closest('.cm-skip')")
        links = page.evaluate("Array.from(document.querySelectorAll('.cm-skip a')).map(a => [a.textContent, a.dataset.cmSkip])")
        assert links and page.evaluate("document.activeElement.textContent") == links[0][0]
        if page.evaluate("!!document.getElementById('map')"):
            assert links[0] == ["Skip to map", "map"]
        assert ["Skip to the controls", "controls"] in links
        shown = page.evaluate("(() => { const r = document.activeElement.getBoundingClientRect(); "
                              "return r.width >= 24 && r.height >= 24 && r.top >= 0 && r.left >= 0; })()")
        assert shown, "the skip link is not visible when focused"
        for k, (text, kind) in enumerate(links):
            to_top(page)
            _press(page, "Tab", k + 1)
            assert page.evaluate("document.activeElement.textContent") == text
            hash_before = page.evaluate("location.hash")
            page.keyboard.press("Enter")
            target = ("#map" if kind == "map" else "#controls" if kind == "controls" else "[data-cm-results]")
            assert page.evaluate("(s) => document.activeElement === document.querySelector(s)", target), text
            assert page.evaluate("location.hash") == hash_before          # the page's URL state is untouched
            ring = focus_ring(page)
            assert ring["contrast"] >= 3, (text, ring)
            page.keyboard.press("Tab")                                      # and the walk goes on from there
            inside = page.evaluate("(s) => document.querySelector(s).contains(document.activeElement) || "
                                   "(document.querySelector(s).compareDocumentPosition(document.activeElement) & 4) > 0",
                                   target)
            assert inside, f"Tab after {text!r} did not continue from its target"


@pytest.mark.parametrize("name", TEST_CITY + SAMPLE)
def test_every_tab_stop_is_named_visible_and_ringed(browser, page_path, name):
    problems = []

    def check(page, stop):
        if not stop["name"]:
            problems.append(("no accessible name", stop["html"]))
        if not stop["shown"]:
            problems.append(("not visible when focused", stop["html"], stop["rect"]))
        ring = focus_ring(page)
        if ring["style"] == "none" or ring["width"] < 2 or ring["contrast"] < 3:
            problems.append(("focus ring", stop["html"], ring["colour"], ring["beside"], round(ring["contrast"], 2)))

    with clean_page(browser, page_path(name)) as page:
        cdp = page.context.new_cdp_session(page)
        stops = tab_walk(page, cdp=cdp, on_stop=check)
        assert len(stops) >= 3
        shapes = [s["html"] for s in stops if s["tag"] in ("path", "g", "svg") or "leaflet-marker-icon" in s["cls"]
                  or "leaflet-interactive" in s["cls"]]
        assert shapes == [], f"map shapes are tab stops: {shapes[:5]}"
        assert problems == [], problems[:8]


@pytest.mark.parametrize("name", TEST_CITY + SAMPLE)
def test_phone_targets_overflow_and_table_words(browser, page_path, name):
    with clean_page(browser, page_path(name), viewport=PHONE) as page:
        _open_panel(page)
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        page.wait_for_timeout(100)
        assert small_targets(page) == []
        assert horizontal_overflow(page) == 0
        assert page.evaluate("document.querySelectorAll('#panel td, #panel th').length") > 0
        assert broken_words(page) == []


def test_the_word_check_sees_a_broken_word(browser, page_path):
    """The table-word check is not vacuous: with the old ``overflow-wrap: anywhere`` back on a narrow cell it fails."""
    with clean_page(browser, page_path("explorer"), viewport=PHONE) as page:
        _open_panel(page)
        page.evaluate("""() => { const td = document.querySelector('#inc-table tbody td:nth-child(3)');
            td.textContent = 'EXTRAORDINARILY-LONG DESCRIPTIONWITHOUTANYSPACES'; td.style.overflowWrap = 'anywhere';
            td.style.maxWidth = '4rem'; }""")
        assert broken_words(page)
        page.evaluate("document.querySelector('#inc-table tbody td:nth-child(3)').style.overflowWrap = ''")
        page.wait_for_timeout(50)
        assert broken_words(page) == []


# --- each page's task, keyboard only --------------------------------------------------------------------------

def test_locator_start_point_by_place_search_then_by_the_map_crosshair(browser, page_path):
    with clean_page(browser, page_path("locator")) as page:
        first = page.evaluate("window.locatorState.point.slice()")
        # 1. the place search: type a service's name, choose it with the arrow keys and Enter
        svc = page.evaluate("""(() => { const S = window.civicmap.data.services;
            for (let j = 0; j < S.name.length; j++) if (S.cat[j] >= 0) return { name: S.name[j], lat: S.lat[j], lon: S.lon[j],
              cat: window.civicmap.data.cats[S.cat[j]].label }; })()""")
        page.keyboard.press("Tab"); page.keyboard.press("Tab")             # "Skip to the controls"
        assert page.evaluate("document.activeElement.dataset.cmSkip") == "controls"
        page.keyboard.press("Enter")
        tab_to(page, "#loc-search")
        page.keyboard.type(svc["name"])
        assert page.get_attribute("#loc-search", "aria-expanded") == "true"
        options = page.evaluate("Array.from(document.querySelectorAll('#loc-search-list [role=option]')).map(o => o.textContent)")
        assert options and options[0].startswith(svc["name"])
        page.keyboard.press("ArrowDown")
        active = page.get_attribute("#loc-search", "aria-activedescendant")
        assert active and page.get_attribute(f"#{active}", "aria-selected") == "true"
        page.keyboard.press("Enter")
        assert page.evaluate("window.locatorState.point") == pytest.approx([svc["lat"], svc["lon"]])
        assert page.get_attribute("#loc-search", "aria-expanded") == "false"
        text = page.inner_text("#nearest-list")
        block = text.split(svc["cat"], 1)[1]
        assert block.lstrip().startswith("1. " + svc["name"]), text     # the service itself is the nearest of its kind
        assert page.evaluate("document.getElementById('loc-where').textContent").startswith("From the black marker")
        # 2. the map: Shift+Tab back to the page top, "Skip to map", arrow keys move the view, Enter starts there
        to_top(page)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.cmSkip") == "map"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "map"
        page.wait_for_timeout(400)                                          # the search's pan has ended
        assert "Enter" in page.get_attribute("#map", "aria-label")
        crosshair = page.evaluate("getComputedStyle(document.getElementById('map'), '::after').content")
        assert crosshair == '""', "no crosshair on the focused map"
        zoom0 = page.evaluate("window.civicmap.map.getZoom()")
        for _ in range(2):                                                  # "+" zooms in (Leaflet's keyboard)
            page.keyboard.press("Equal")
            page.wait_for_function("() => !window.civicmap.map._animatingZoom")
        page.wait_for_timeout(300)
        assert page.evaluate("window.civicmap.map.getZoom()") > zoom0
        centre0 = page.evaluate("(() => { const c = window.civicmap.map.getCenter(); return [c.lat, c.lng]; })()")
        for key in ("ArrowRight", "ArrowRight", "ArrowUp"):                # Leaflet ignores keys while a pan animates
            page.keyboard.press(key)
            page.wait_for_timeout(50)
            page.wait_for_function("() => { const a = window.civicmap.map._panAnim; return !a || !a._inProgress; }")
        centre = page.evaluate("(() => { const c = window.civicmap.map.getCenter(); return [c.lat, c.lng]; })()")
        assert centre[1] > centre0[1] and centre[0] > centre0[0]
        page.keyboard.press("Enter")
        point = page.evaluate("window.locatorState.point")
        assert point == pytest.approx(centre, abs=1e-9) and point != pytest.approx(first)
        listed = page.evaluate("window.locatorState.listed")
        assert listed and all("results" in e for e in listed)
        assert " min walk" in page.inner_text("#nearest-list")
        where = page.evaluate("document.getElementById('loc-where').textContent")
        assert f"{point[0]:.5f}" in where or "from the street data" in where


def test_explorer_filters_time_address_view_and_details_by_keyboard(browser, page_path):
    with clean_page(browser, page_path("explorer")) as page:
        count = lambda: page.evaluate("window.civicmap.explorer.count()")
        total = count()
        assert total > 0
        page.keyboard.press("Tab"); page.keyboard.press("Tab"); page.keyboard.press("Enter")   # skip to the controls
        # a day of the week off and on with Space
        tab_to(page, "#dow-1")
        page.keyboard.press("Space")
        assert not page.is_checked("#dow-1") and count() < total
        page.keyboard.press("Space")
        assert count() == total
        # the view switch: a radio group moved with the arrow keys
        tab_to(page, "#view-switch input[type=radio]:checked", back=True)
        page.keyboard.press("ArrowRight")
        assert page.evaluate("window.civicmap.explorer.mode()") == "heat"
        page.keyboard.press("ArrowLeft")
        assert page.evaluate("window.civicmap.explorer.mode()") != "heat"
        # time of day, typed into the two time inputs
        tab_to(page, "#tod-from")
        page.keyboard.type("1000P")
        tab_to(page, "#tod-to")
        page.keyboard.type("1130P")
        assert page.input_value("#tod-from") == "22:00" and page.input_value("#tod-to") == "23:30"
        late = count()
        assert 0 < late < total
        hours = page.evaluate("Array.from(document.querySelectorAll('#inc-table tbody tr td:first-child')).map(td => td.textContent.slice(11))")
        assert hours and all("22:00" <= h <= "23:30" for h in hours), hours
        # the address search: a block typed, Enter
        block = page.evaluate("document.querySelector('#inc-table tbody tr td:nth-child(4)').textContent")
        tab_to(page, "#f-block")
        page.keyboard.type(block)
        page.keyboard.press("Enter")
        near = count()
        assert 0 < near <= late
        assert page.evaluate("location.hash").count("=") >= 2
        # an incident's details from the table: Tab to its date, Enter
        tab_to(page, "#inc-table tbody button.cm-linkbtn")
        label = page.evaluate("document.activeElement.getAttribute('aria-label')")
        page.keyboard.press("Enter")
        info = page.inner_text("#focus-info")
        assert page.is_visible("#focus-info") and info.startswith("Incident ")
        assert page.evaluate("window.civicmap.explorer.focused()") in info
        assert label.split(",")[1].split(":")[0].strip() in info             # the row's type
        # comparisons and the weekly trend follow the keyboard-set filters
        rows = page.evaluate("window.civicmap.explorer.compare()")
        assert rows and rows[0]["count"] == near
        # hotspots: a check box, when the page has them
        if page.is_visible("#hot-layer") and page.is_enabled("#hot-layer"):
            tab_to(page, "#hot-layer", back=True)
            page.keyboard.press("Space")
            assert page.evaluate("window.civicmap.explorer.hotspots().length") > 0


def test_safe_route_routes_and_figures_by_keyboard(browser, page_path):
    with clean_page(browser, page_path("safe_route")) as page:
        tab_to(page, ".cm-skip a[data-cm-skip=results]")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.textContent") == "Route comparison"
        rows = page.evaluate("Array.from(document.querySelectorAll('#route-table tbody tr')).map(r => "
                             "Array.from(r.cells).map(c => c.textContent))")
        assert [r[0] for r in rows] == ["Shortest route", "Recommended (safer) route"]
        assert all(r[1].endswith(" m") and r[2].endswith(" min") for r in rows)
        tab_to(page, "details.cm-fig > summary")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.parentElement.open")
        assert "Shortest route" in page.evaluate("document.activeElement.parentElement.textContent")


def test_spending_drill_year_kind_and_vendor_by_keyboard(browser, page_path):
    with clean_page(browser, page_path("spending_sample")) as page:
        tab_to(page, "#sp-year")
        years = page.evaluate("Array.from(document.querySelectorAll('#sp-year option')).map(o => o.value)")
        heading = page.inner_text("#spend-heading")
        if len(years) > 1:
            page.keyboard.press("ArrowDown")
            assert page.input_value("#sp-year") == years[1] and page.inner_text("#spend-heading") != heading
        if page.is_visible("#sp-kind"):
            kinds = page.evaluate("Array.from(document.querySelectorAll('#sp-kind option')).map(o => o.value)")
            tab_to(page, "#sp-kind")
            page.keyboard.press("ArrowDown")
            assert page.input_value("#sp-kind") == kinds[1]
        # department -> fund -> account
        for level in (1, 2):
            tab_to(page, "#dept-bars button.sp-row")
            page.keyboard.press("Enter")
            assert len(page.query_selector_all("#sp-crumbs button")) == level
        assert page.query_selector_all("#dept-bars .sp-row") and not page.query_selector_all("#dept-bars button.sp-row")
        # vendor search, when the city publishes contracts
        if page.is_visible("#sp-vendor"):
            name = page.evaluate("window.civicmap.data.contracts.vendors[0][1]")   # [key, name as published, ...]
            tab_to(page, "#sp-vendor")
            page.keyboard.type(name[:6])
            page.keyboard.press("Enter")
            assert "match" in page.inner_text("#sp-vendor-count") and "No vendor" not in page.inner_text("#sp-vendor-count")
            assert page.query_selector_all("#sp-vendor-results article.sp-vendor")


def test_providers_sort_by_keyboard(browser, page_path):
    with clean_page(browser, page_path("providers")) as page:
        tab_to(page, "#pv-head th:nth-child(2) button")
        page.keyboard.press("Enter")
        assert page.get_attribute("#pv-head th:nth-child(2)", "aria-sort") in ("ascending", "descending")
        first = page.get_attribute("#pv-head th:nth-child(2)", "aria-sort")
        page.keyboard.press("Space")
        assert page.get_attribute("#pv-head th:nth-child(2)", "aria-sort") not in (None, first)
