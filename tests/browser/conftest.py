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

    tmp = tmp_path_factory.mktemp("browser_city")
    con = maps_citydb.make_city(tmp / "city.duckdb")
    common = dict(city=maps_citydb.CITY, synthetic=True, sources=None, city_title="Testville")
    out = {
        "explorer": explorer.build(con, out_path=tmp / "explorer.html", title="Incident explorer", **common),
        "safe_route": safe_route.build(con, out_path=tmp / "safe_route.html", title="Safer walking route",
                                       options={"from": maps_citydb.ROUTE_FROM, "to": maps_citydb.ROUTE_TO,
                                                "detour": 0.3}, **common),
        "locator": locator.build(con, out_path=tmp / "locator.html", title="Nearest services", **common),
        "spending": spending.build(con, out_path=tmp / "spending.html", title="City spending", **common),
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
