"""locator.html in headless Chromium: click-to-locate gives the numbers Python gives, category toggles, the open-at
selector, walking areas, the coverage-gap choropleth with an area the street data does not reach marked as not
measured, portal strings shown as text, and no request off the machine.

The test city (tests/maps/maps_citydb.py, an 8 x 8 grid of 150 m blocks) gets a clinic with published hours and a
fifth community area 11 km north of its streets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.chromium import clean_page
from tests.maps import maps_citydb as citydb

pytestmark = pytest.mark.browser

CLINIC = "Weekday clinic"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    from civicmash.analysis import service_access
    from civicmash.maps import locator
    from civicmash.maps.render import PageContext

    tmp = tmp_path_factory.mktemp("locator_page")
    con = citydb.make_city(tmp / "city.duckdb")
    lat, lon = citydb.node_ll(6, 2)
    con.execute("INSERT INTO services (city, dataset, source_id, name, category, address, hours, lat, lon) VALUES "
                "(?, 'svc', 'c1', ?, 'Clinic', '9 Service Rd', 'Mon-Fri 9-17; Sat-Sun closed', ?, ?)",
                [citydb.CITY, CLINIC, lat, lon + 0.0002])
    (a, b), (c, d) = (citydb.LAT0 + 0.10, citydb.LON0), (citydb.LAT0 + 0.11, citydb.LON0 + 0.01)
    con.execute("INSERT INTO boundaries (city, dataset, source_id, kind, code, name, geom) VALUES "
                "(?, 'ca', '5', 'community_area', '5', 'Far Fields', ST_GeomFromText(?))",
                [citydb.CITY, f"POLYGON(({b} {a}, {d} {a}, {d} {c}, {b} {c}, {b} {a}))"])
    path = locator.build(PageContext(con=con, city=citydb.CITY, out_path=tmp / "locator.html", title="Nearest services",
                                     synthetic=True, city_title="Testville", options={"near": citydb.node_ll(3, 3)}))
    net = service_access.network(con, city=citydb.CITY)
    yield {"path": path, "net": net, "con": con}
    con.close()


def _click(page, lat, lon):
    """Click the map at (lat, lon); returns the point the page located from."""
    xy = page.evaluate("([a, b]) => { const p = window.civicmap.map.latLngToContainerPoint([a, b]); "
                       "const r = document.getElementById('map').getBoundingClientRect(); "
                       "return [r.left + p.x, r.top + p.y]; }", [lat, lon])
    page.mouse.click(*xy)
    return page.evaluate("window.locatorState.point")


def _iso_shapes(page) -> int:
    return page.evaluate("document.querySelectorAll('.leaflet-iso-pane path').length")


def test_click_to_locate_gives_the_python_numbers(browser, city):
    net = city["net"]
    with clean_page(browser, city["path"]) as page:
        assert " min walk" in page.inner_text("#nearest-list")
        page.evaluate("window.civicmap.map.setView([%f, %f], 16)" % citydb.node_ll(3.5, 3.5))
        lat, lon = _click(page, *citydb.node_ll(5.3, 1.6))
        listed = page.evaluate("window.locatorState.results && window.locatorLocate(%r, %r)" % (lat, lon))
        expected = {e["category"]: e["results"] for e in net.nearest(lat, lon, n=3)}
        assert {e["category"] for e in listed} == set(expected)
        for e in listed:
            want = expected[e["category"]]
            assert [r["index"] for r in e["results"]] == [r["index"] for r in want], e["category"]
            for got, ref in zip(e["results"], want):
                assert got["dist_m"] == pytest.approx(ref["dist_m"], abs=0.11)
                assert got["minutes"] == pytest.approx(ref["minutes"], abs=0.051)
        assert page.evaluate("document.getElementById('loc-where').textContent").startswith("From the black marker")
        # the first of each category is drawn as a route
        assert page.evaluate("document.querySelectorAll('.leaflet-overlay-pane path').length") >= len(listed)


def test_category_toggles_and_open_at(browser, city):
    with clean_page(browser, city["path"]) as page:
        cats = page.evaluate("Array.from(document.querySelectorAll('#loc-cats label')).map(l => l.textContent)")
        assert "Clinic" in cats and "Library" in cats
        j = cats.index("Library")
        markers = "() => { let n = 0; window.civicmap.map.eachLayer(l => { if (l instanceof L.CircleMarker) n++; }); return n; }"
        before = page.evaluate(markers)
        page.uncheck(f"#cat-{j}")
        text = page.inner_text("#nearest-list")
        assert "Library" not in text and "Clinic" in text
        assert page.evaluate(markers) == before - 2          # the two libraries leave the map
        page.check(f"#cat-{j}")
        assert "Library" in page.inner_text("#nearest-list")
        # open at: Saturday -> the clinic is closed, the rest have no published hours
        page.select_option("#loc-day", "6")
        page.fill("#loc-time", "10:00")
        page.dispatch_event("#loc-time", "change")
        clinic = next(line for line in page.inner_text("#nearest-list").splitlines() if CLINIC in line)
        assert "closed" in clinic
        assert "hours unknown" in page.inner_text("#nearest-list")
        page.select_option("#loc-day", "2")                   # Tuesday 10:00: open
        assert "open" in next(line for line in page.inner_text("#nearest-list").splitlines() if CLINIC in line)
        page.select_option("#loc-day", "6")
        page.check("#loc-open-only")                          # only services known to be open: none on Saturday
        assert CLINIC not in page.inner_text("#nearest-list")
        assert "none open then within reach" in page.inner_text("#nearest-list")


def test_walking_areas_point_category_and_clicked(browser, city):
    with clean_page(browser, city["path"]) as page:
        assert page.input_value("#iso-mode") == "point" and _iso_shapes(page) == 3   # 5, 10, 15 minutes
        options = page.evaluate("Array.from(document.querySelectorAll('#iso-mode option')).map(o => o.value)")
        assert "cat:library" in options and "cat:police" in options
        page.select_option("#iso-mode", "cat:police")
        assert _iso_shapes(page) == 3 and "any of them" in page.inner_text("#iso-note")
        page.select_option("#iso-mode", "none")
        assert _iso_shapes(page) == 0
        page.select_option("#iso-mode", "point")
        page.evaluate("window.civicmap.map.setView([%f, %f], 16)" % citydb.node_ll(3.5, 3.5))
        _click(page, *citydb.node_ll(1, 5))                   # elsewhere: the streets reached, computed in the page
        assert _iso_shapes(page) == 3 and "Streets within 5" in page.inner_text("#iso-note")


def test_gap_choropleth_marks_the_area_without_streets(browser, city):
    with clean_page(browser, city["path"]) as page:
        assert page.input_value("#gap-cat") == "library" and page.input_value("#gap-min") == "10"
        rows = page.evaluate("Array.from(document.querySelectorAll('#gap-table tbody tr')).map(r => "
                             "Array.from(r.cells).map(c => c.textContent))")
        by = {r[0]: r[1:] for r in rows}
        assert by["Far Fields"] == ["\u2014", "none"]         # not measured, said so
        assert by["North East"][1] == "covered" and by["North East"][0].endswith("%")
        assert citydb.XSS in by                               # the crafted area name is text in the table
        tips = page.evaluate("""() => { const out = {}; window.civicmap.map.eachLayer(l => {
            if (l.feature && l.getTooltip && l.getTooltip()) out[l.feature.properties.name] = l.getTooltip().getContent().textContent; });
            return out; }""")
        assert "No street data covers this area: not measured." in tips["Far Fields"]
        assert "of the area beyond 10 min" in tips["North East"]
        assert "not measured" in page.inner_text("#gap-legend")
        page.select_option("#gap-cat", "police")
        page.select_option("#gap-min", "5")
        first = page.evaluate("document.querySelector('#gap-table tbody tr').cells[0].textContent")
        assert first in ("North East", "South East", "North West")   # sorted: the largest share beyond first
        page.select_option("#gap-cat", "")
        assert page.evaluate("document.querySelectorAll('.leaflet-gaps-pane path').length") == 0
        assert page.evaluate("document.querySelectorAll('img[src=x], img[src=\"x\"]').length") == 0


@pytest.mark.slow
def test_chicago_locator_page(browser, chicago_run, screenshot_dir):
    path = Path(chicago_run["maps"]["locator"])
    with clean_page(browser, path, timeout_ms=120_000) as page:
        listed = page.evaluate("window.locatorLocate(41.884432, -87.654124)")   # beside the West Loop library
        lib = next(e for e in listed if e["category"] == "library")["results"]
        first = page.inner_text("#nearest-list").split("Library", 1)[1]
        assert first.lstrip().startswith("1. West Loop") and lib[0]["dist_m"] < 300
        rows = page.evaluate("Array.from(document.querySelectorAll('#gap-table tbody tr')).map(r => "
                             "Array.from(r.cells).map(c => c.textContent))")
        assert len(rows) == 77
        status = {r[0]: r[2] for r in rows}
        assert status["OHARE"] == "partial" and status["NEAR WEST SIDE"] == "full"
        assert {"major streets", "mixed"} <= set(status.values())
        page.screenshot(path=str(screenshot_dir / "chicago_locator_gaps.png"))
