"""The crime explorer's comparisons, hotspot layer and embedding, in Chromium, on the sample city's pipeline run
(issue 18, items 1, 2 and 7):

* a known case: THEFT in the busiest community area, the last 90 days against the previous 90: the counts equal
  DuckDB's, the interval equals scipy's exact interval, the label is the one the interval implies, and a year
  earlier says there is no data;
* the hotspot layer draws exactly the significant cells of the pipeline's hotspot_cells table, as their hexagons;
* the embed URL (the URL state plus embed=1) opens with the filter applied, without the side panel, with the
  count, the data-as-of line and a link to the full page.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser.test_explorer_filters import count, explorer_page
from tests.maps.test_explorer_insights import scipy_rate_ratio

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def sample(sample_run):
    from civicmash.warehouse.db import connect

    con = connect(sample_run["warehouse"], read_only=True)
    yield con, Path(sample_run["maps"]["explorer"])
    con.close()


def window(con) -> tuple[date, date]:
    """The sample's default window: the 90 days ending on the day of its latest incident."""
    last = con.execute("SELECT max(occurred_at) FROM incidents_current WHERE city = 'sample'").fetchone()[0].date()
    return last - timedelta(days=89), last


def _theft_count(con, area: str, start: date, end: date) -> int:
    return con.execute("SELECT count(*) FROM incidents_current WHERE city = 'sample' AND primary_type = 'THEFT' "
                       "AND CAST(community_area AS VARCHAR) = ? AND occurred_at >= ? AND occurred_at < ?",
                       [area, start, end + timedelta(days=1)]).fetchone()[0]


def test_comparison_interval_and_label_for_a_known_case(browser, sample):
    con, path = sample
    start, end = window(con)
    area = con.execute("SELECT CAST(community_area AS VARCHAR) FROM incidents_current WHERE city = 'sample' "
                       "AND primary_type = 'THEFT' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
    now = _theft_count(con, area, start, end)
    before = _theft_count(con, area, start - timedelta(days=90), start - timedelta(days=1))
    assert now > 20 and before > 20
    low, high = scipy_rate_ratio(now, 90, before, 90)
    with explorer_page(browser, path, f"types=THEFT&from={start}&to={end}&ca={area}") as page:
        assert count(page) == now
        rows = {r["key"]: r for r in page.evaluate("window.civicmap.explorer.compare()")}
        assert rows["now"]["count"] == now and rows["previous"]["count"] == before
        prev = (str(start - timedelta(days=90)), str(start - timedelta(days=1)))
        assert (rows["previous"]["fromDay"], rows["previous"]["toDay"]) == prev
        rr = rows["previous"]["rr"]
        assert math.isclose(rr["low"], low, rel_tol=1e-8) and math.isclose(rr["high"], high, rel_tol=1e-8)
        label = "no real change" if low <= 1 <= high else ("higher" if low > 1 else "lower")
        cells = page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('#cmp-table tbody tr'))
            .map(tr => [tr.dataset.period, Array.from(tr.cells).map(td => td.textContent)]))""")
        assert cells["previous"] == ["Previous 90 days", f"{prev[0]} \u2013 {prev[1]}", f"{before:,}",
                                     f"{now / before:.2f}", f"{low:.2f} \u2013 {high:.2f}", label]
        assert cells["now"][2] == f"{now:,}"
        assert rows["year"]["count"] is None and cells["year"][-1] == "no data a year earlier"
        # the weekly trend: every week of the data, summing to every matching THEFT of the area at any date
        weeks = page.evaluate("window.civicmap.explorer.weeks()")
        total = con.execute("SELECT count(*) FROM incidents_current WHERE city = 'sample' AND primary_type = 'THEFT' "
                            "AND CAST(community_area AS VARCHAR) = ? AND occurred_at IS NOT NULL", [area]).fetchone()[0]
        assert sum(w["count"] for w in weeks) == total
        assert page.locator("#trend-svg polyline").count() == 1
        assert page.locator("#trend-svg circle").count() == len(weeks)
        assert page.locator("#trend-svg text", has_text=f"{end.year}-").count() >= 1


def test_hotspot_layer_draws_exactly_the_significant_cells(browser, sample):
    con, path = sample
    table = {h: (cls, json.loads(b)) for h, cls, b in con.execute(
        "SELECT h3_cell, class, boundary FROM hotspot_cells WHERE city = 'sample' AND class <> 'none'").fetchall()}
    assert table
    with explorer_page(browser, path, "hot=1") as page:
        drawn = page.evaluate("window.civicmap.explorer.hotspots()")
        assert {c["h"]: c["c"] for c in drawn} == {h: v[0] for h, v in table.items()}
        for c in drawn:
            assert len(c["b"]) == len(table[c["h"]][1])
            assert all(math.isclose(a, b, abs_tol=1e-6) for p, q in zip(c["b"], table[c["h"]][1]) for a, b in zip(p, q))
        what = page.inner_text("#hot-what")
        assert "Getis-Ord Gi*" in what and "resolution 9" in what and "at most 0.05" in what and "km\u00b2" in what
        assert page.locator("#hot-legend").is_visible()
        page.click("#hot-layer")
        assert page.evaluate("window.civicmap.explorer.hotspots()") == []
        assert "hot=1" not in page.evaluate("location.hash")


def test_embed_url_opens_with_the_filter_applied(browser, sample):
    con, path = sample
    start, end = window(con)
    area = con.execute("SELECT CAST(community_area AS VARCHAR) FROM incidents_current WHERE city = 'sample' "
                       "AND community_area IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT 1").fetchone()[0]
    expected = _theft_count(con, area, start, end)
    state = f"types=THEFT&from={start}&to={end}&ca={area}"
    with explorer_page(browser, path, state + "&embed=1", viewport=(600, 400)) as page:
        assert page.evaluate("window.civicmap.explorer.embed()") is True
        assert page.evaluate("window.civicmap.explorer.count()") == expected
        assert not page.locator("#panel").is_visible() and page.locator("#map").is_visible()
        bar = page.locator("#embed-bar")
        assert bar.is_visible()
        text = bar.inner_text()
        assert f"{expected:,} matching incidents" in text and "Data as of" in text and "Sources:" in text
        full = page.locator("#embed-bar a").get_attribute("href")
        assert "embed=1" not in full and f"ca={area}" in full and "types=THEFT" in full
        assert page.locator(".leaflet-control-attribution").is_visible()
        assert page.locator("#synthetic-banner").is_visible()
