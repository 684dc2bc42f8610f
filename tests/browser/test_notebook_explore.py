"""The notebook API's maps in Chromium: a route and a walking area of the sample city drawn by
``civicmash.explore`` (and a plain folium map made offline) make no request off this machine, and Leaflet draws.

Every request the page makes goes through Playwright's interception: anything but ``file:``/``data:``/``blob:``/
``about:`` or loopback is recorded and aborted, and the test fails on it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import civicmash

pytestmark = pytest.mark.browser

FROM, TO = "42.303773,-87.259473", "42.305929,-87.239069"   # two places of Sampleton
EVIL = "<img src=x onerror=alert(1)>"


def _local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "blob", "about"):
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _open(browser, path: Path):
    """Open ``path`` with every request intercepted; returns (context, page, log)."""
    ctx = browser.new_context(viewport={"width": 1000, "height": 700})
    log = {"requests": [], "blocked": [], "errors": [], "console": [], "dialogs": []}

    def intercept(route):
        url = route.request.url
        log["requests"].append(url)
        if _local(url):
            route.continue_()
        else:
            log["blocked"].append(url)
            route.abort()

    ctx.route("**/*", intercept)
    page = ctx.new_page()
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (log["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => document.querySelectorAll('.leaflet-container .leaflet-interactive').length > 0",
                           timeout=30_000)
    return ctx, page, log


def _assert_clean(log: dict) -> None:
    assert log["blocked"] == [], f"requests left the machine: {log['blocked']}"
    assert log["requests"] and all(_local(u) for u in log["requests"])
    assert log["errors"] == [] and log["console"] == [] and log["dialogs"] == [], log


def test_route_and_isochrone_explore_offline_in_chromium(browser, sample_run, tmp_path):
    import geopandas
    from shapely.geometry import Point

    with civicmash.open("sample", out=Path(sample_run["warehouse"]).parent) as city:
        route = city.route(from_=FROM, to=TO, at="23:00")
        walk = city.isochrones(category="library", minutes=10, kind="category")
    assert route.geom_type.tolist() == ["LineString", "LineString"]
    assert walk.geom_type.isin(["Polygon", "MultiPolygon"]).all() and len(walk) == 1
    x, y = route.geometry.iloc[0].coords[0]
    evil = geopandas.GeoDataFrame({"label": [EVIL]}, geometry=[Point(x, y)], crs=4326)   # a hostile portal string

    m = civicmash.explore(walk, name="10 minutes' walk", color="#2ca02c")
    civicmash.explore(route, column="route", name="walks", m=m)
    civicmash.explore(evil, name="place", m=m)
    path = civicmash.save_offline(m, tmp_path / "route.html")

    ctx, page, log = _open(browser, path)
    try:
        drawn = page.evaluate("""() => ({
            containers: document.querySelectorAll('.leaflet-container').length,
            paths: document.querySelectorAll('.leaflet-container path.leaflet-interactive').length,
            legend: Array.from(document.querySelectorAll('.civicmash-legend div')).map(d => d.textContent.trim()),
            tiles: document.querySelectorAll('.leaflet-tile').length,
        })""")
        assert drawn["containers"] == 1
        assert drawn["paths"] >= 4   # the walking area, two routes, the point
        assert drawn["legend"] == ["shortest", "recommended"] and drawn["tiles"] == 0
        page.locator("path.leaflet-interactive").last.hover(force=True)   # the hostile label: shown as text
        tip = page.locator(".leaflet-tooltip")
        tip.wait_for(timeout=5_000)
        assert EVIL in tip.inner_text() and tip.locator("img").count() == 0
        _assert_clean(log)
    finally:
        ctx.close()


def test_a_folium_map_with_tiles_popups_and_clusters_made_offline(browser, tmp_path):
    import folium
    from folium.plugins import MarkerCluster

    from civicmash.offline_folium import OfflineMapWarning

    m = folium.Map(location=[42.30, -87.25], zoom_start=14)   # OpenStreetMap tiles; CDN Leaflet, jQuery, Bootstrap
    folium.Marker([42.30, -87.25], popup="<b>a popup</b>", icon=folium.Icon(color="red")).add_to(m)
    cluster = MarkerCluster().add_to(m)
    for k in range(4):
        folium.CircleMarker([42.295 + k * 0.0005, -87.262], radius=6).add_to(cluster)
    with pytest.warns(OfflineMapWarning, match="base map"):
        path = civicmash.save_offline(m, tmp_path / "plain.html")

    ctx, page, log = _open(browser, path)
    try:
        page.wait_for_selector(".marker-cluster", timeout=10_000)   # Leaflet.markercluster, inlined
        pin = page.locator(".awesome-marker-icon-red")                # Leaflet.awesome-markers' pin, inlined
        assert pin.count() == 1
        pin.click()
        assert page.locator(".leaflet-popup-content b").inner_text() == "a popup"   # folium's $(html) stand-in
        _assert_clean(log)
    finally:
        ctx.close()


def test_geopandas_own_explore_made_offline(browser, sample_run, tmp_path):
    """``GeoDataFrame.explore()`` itself (geopandas + folium, CDN assets and OSM tiles) made offline by
    ``civicmash.save_offline``: the route and the walking area draw with no request off the machine."""
    from civicmash.offline_folium import OfflineMapWarning

    with civicmash.open("sample", out=Path(sample_run["warehouse"]).parent) as city:
        route = city.route(from_=FROM, to=TO, at="23:00")
        walk = city.isochrones(category="library", minutes=10, kind="category")
    m = walk.explore(color="#2ca02c", name="walking area")
    route.explore(m=m, column="route", categorical=True, name="routes")
    with pytest.warns(OfflineMapWarning, match="base map"):
        path = civicmash.save_offline(m, tmp_path / "gdf_explore.html")

    ctx, page, log = _open(browser, path)
    try:
        paths = page.evaluate("() => document.querySelectorAll('.leaflet-container path.leaflet-interactive').length")
        assert paths >= 3   # the walking area and both routes
        _assert_clean(log)
    finally:
        ctx.close()
