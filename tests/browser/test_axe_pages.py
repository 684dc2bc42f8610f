"""axe-core (npm, run inside headless Chromium) finds no WCAG violation on the map pages of the test city, on a
desktop and on a 390 px phone, nor on the status and changes pages the pipeline writes beside them."""

from __future__ import annotations

import pytest

from tests.browser.chromium import axe_violations, clean_page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [(1280, 860), (390, 844)], ids=["desktop", "phone"])
@pytest.mark.parametrize("name", ["explorer", "safe_route", "locator", "spending"])
def test_the_map_pages_have_no_axe_violation(browser, pages, name, viewport):
    with clean_page(browser, pages[name], viewport=viewport) as page:
        assert axe_violations(page) == []


@pytest.mark.parametrize("name", ["status", "changes"])
def test_the_run_pages_have_no_axe_violation(browser, sample_run, name):
    from pathlib import Path

    page_path = Path(sample_run["maps"]["explorer"]).parent / f"{name}.html"
    with clean_page(browser, page_path) as page:
        assert axe_violations(page) == []
