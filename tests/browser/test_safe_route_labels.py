"""The safe-route page keeps the numbers beside the two routes it compares (permanent labels), with the legend
explaining exposure and naming the data behind it."""

from __future__ import annotations

import re

import pytest

from tests.browser.chromium import clean_page

pytestmark = pytest.mark.browser


def test_route_numbers_beside_the_routes_and_legend(browser, pages):
    with clean_page(browser, pages["safe_route"]) as page:
        labels = page.locator(".leaflet-tooltip.cm-route-label")
        assert labels.count() == 2
        texts = [labels.nth(i).inner_text() for i in range(2)]
        assert all(labels.nth(i).is_visible() for i in range(2))     # shown without hovering
        short = next(t for t in texts if t.startswith("Shortest"))
        safer = next(t for t in texts if t.startswith("Recommended"))
        for t in (short, safer):
            assert re.search(r"[\d,]+ m, \d+ min, exposure [\d.]+", t), t
            box = labels.nth(texts.index(t)).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]   # not cut off
        assert re.search(r"distance, [+\u2212]?\d+% exposure", safer), safer
        assert "Exposure" in page.inner_text("#legend-exposure")
        assert "located incidents" in page.inner_text("#legend-data")
