"""Browser fixtures: the four map pages of the test city, and headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.maps import maps_citydb

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pages(tmp_path_factory) -> dict[str, Path]:
    from civicmash.maps import explorer, locator, safe_route, spending
    from civicmash.maps.render import PageContext

    tmp = tmp_path_factory.mktemp("browser_city")
    con = maps_citydb.make_city(tmp / "city.duckdb")

    def ctx(kind: str, title: str, **options) -> PageContext:
        return PageContext(con=con, city=maps_citydb.CITY, out_path=tmp / f"{kind}.html", title=title,
                           city_title="Testville", synthetic=True, options=options)

    out = {
        "explorer": explorer.build(ctx("explorer", "Incident explorer")),
        "safe_route": safe_route.build(ctx("safe_route", "Safer walking route", detour=0.3,
                                           **{"from": maps_citydb.ROUTE_FROM, "to": maps_citydb.ROUTE_TO})),
        "locator": locator.build(ctx("locator", "Nearest services")),
        "spending": spending.build(ctx("spending", "City spending")),
    }
    con.close()
    return out


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = REPO / "out" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
