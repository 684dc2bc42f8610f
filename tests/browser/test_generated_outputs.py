"""The four HTML files the pipeline writes open offline in Chromium: layers drawn, no console errors,
no request off the machine — for the synthetic sample city and for the real Chicago run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.chromium import assert_clean, drawn_layers, open_page

pytestmark = pytest.mark.browser

MAPS = ["explorer", "safe_route", "locator", "spending"]


def _check(browser, path: Path, kind: str, screenshot: Path) -> dict:
    ctx, page, log = open_page(browser, path)
    try:
        layers = drawn_layers(page)
        page.screenshot(path=str(screenshot))
        assert_clean(page, log)
        return {"layers": layers, "banner": page.locator("#synthetic-banner").count()}
    finally:
        ctx.close()


@pytest.mark.parametrize("kind", MAPS)
def test_sample_city_map_renders_offline(browser, sample_run, screenshot_dir, kind):
    result = _check(browser, Path(sample_run["maps"][kind]), kind, screenshot_dir / f"sample_{kind}.png")
    assert result["banner"] == 1  # "Synthetic sample data" is visible on every sample page
    if kind != "spending":  # the budget has no locations: charts only, no map
        assert result["layers"]["layers"] >= 3 and result["layers"]["canvases"] >= 1, result


@pytest.mark.slow
@pytest.mark.parametrize("kind", MAPS)
def test_chicago_map_renders_offline(browser, chicago_run, screenshot_dir, kind):
    result = _check(browser, Path(chicago_run["maps"][kind]), kind, screenshot_dir / f"chicago_{kind}.png")
    assert result["banner"] == 0  # real data carries no synthetic banner
    if kind != "spending":
        assert result["layers"]["layers"] >= 3 and result["layers"]["canvases"] >= 1, result
