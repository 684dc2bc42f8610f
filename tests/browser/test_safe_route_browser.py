"""safe_route.html routes any pair in the browser (issue 19, item 3; docs/safe-route.md "Routing in the browser"):
the page's snapped nodes, shortest and recommended routes (node sequences, length, minutes, exposure), Pareto front and
words equal Python's ``plan_routes`` on the same warehouse, risk and snapped nodes; a pair set by clicks, by dragging,
by the keyboard (the "lat, lon" boxes and the map's crosshair) is drawn, tabled and put in the URL, and the URL reopens
it; a click far from the streets is refused clearly and changes nothing.

The sample city's page (the session's ``sample_run``) is checked on every run; the real Chicago page (``chicago_run``)
is marked slow."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import pytest

from civicmash.devkit.walk_pairs import click_pairs
from tests.browser.chromium import clean_page

pytestmark = pytest.mark.browser

# what the page answers for a pair, in plain JSON (the page's node indices)
_ROUTE_JS = """([a, b]) => {
  const R = window.civicmap.safeRoute.router, r = R.route(a, b);
  if (r.error) return r;
  const pick = (x) => ({nodes: x.nodes, length_m: x.length_m, minutes: x.minutes, exposure: x.exposure,
                        lambda: x.lambda, vs_shortest: x.vs_shortest, within_detour: x.within_detour,
                        length_raw: x.length_raw, exposure_raw: x.exposure_raw});
  return {src: r.src, dst: r.dst, snap_from: r.snap_from, snap_to: r.snap_to, ms: r.ms,
          shortest: pick(r.plan.shortest), safer: pick(r.plan.safer), safest: pick(r.plan.safest),
          pareto: r.plan.pareto.map(pick), comparison: r.plan.comparison, alpha: r.plan.alpha};
}"""


def python_model(warehouse, city: str):
    """What maps/safe_route.py routes on, from the warehouse with its own functions: (graph, risk, detour, margin)."""
    from civicmash.analysis.risk import parse_at
    from civicmash.analysis.route_planner import DEFAULT_DETOUR, risk_model
    from civicmash.analysis.routing import load_graph
    from civicmash.cities.profile import load_profile
    from civicmash.flows.context import map_options
    from civicmash.warehouse import db

    options = map_options(load_profile(city), "safe_route")
    with contextlib.closing(db.connect(str(warehouse), read_only=True)) as con:
        graph = load_graph(con, city)
        model, _ = risk_model(con, city=city, graph=graph, options=options)
    risk = np.asarray(model.edge_risk(parse_at(options.get("at"))), dtype=float)
    return graph, risk, float(options.get("detour", DEFAULT_DETOUR)), float(options.get("margin") or 0.0)


def check_same_answers(page, graph, risk, detour: float, margin: float, pairs) -> dict:
    """Every pair through the page's router and through Python (snap_ends + plan_routes): the same nodes and
    numbers. Returns counts and the page's query times."""
    from civicmash.analysis.route_planner import plan_routes, snap_ends

    walk = np.flatnonzero(graph.walk_mask)
    times, routes = [], 0
    for a, b in pairs:
        js = page.evaluate(_ROUTE_JS, [list(a), list(b)])
        assert "error" not in js, (a, b, js)
        src, dst, end_a, end_b = snap_ends(graph, a, b)
        assert (int(walk[js["src"]]), int(walk[js["dst"]])) == (src, dst), (a, b)
        # node coordinates travel as integers of 1e-7 degrees: a snap distance within 1 cm of Python's
        assert abs(js["snap_from"] - end_a["snap_m"]) <= 0.06 and abs(js["snap_to"] - end_b["snap_m"]) <= 0.06
        py = plan_routes(graph, risk, src, dst, detour=detour, margin=margin)
        for k in ("shortest", "safer", "safest"):
            mine, want = js[k], py[k]
            assert [int(walk[i]) for i in mine["nodes"]] == want["nodes"], (a, b, k)
            for f in ("length_m", "minutes", "exposure", "vs_shortest", "within_detour"):
                assert mine[f] == want[f], (a, b, k, f, mine[f], want[f])
            # the sums themselves are numpy's, bit for bit; Python's round of them is the page's
            assert round(mine["length_raw"], 1) == want["length_m"] and round(mine["exposure_raw"], 3) == want["exposure"]
        assert [(r["length_m"], r["exposure"], r["lambda"]) for r in js["pareto"]] == \
            [(r["length_m"], r["exposure"], r["lambda"]) for r in py["pareto"]], (a, b)
        assert js["comparison"] == py["comparison"] and js["alpha"] == py["alpha"]
        times.append(js["ms"])
        routes += 1
    return {"pairs": routes, "ms": times}


def _point_xy(page, lat: float, lon: float) -> tuple[float, float]:
    return tuple(page.evaluate("([a, b]) => { const p = window.civicmap.map.latLngToContainerPoint([a, b]); "
                               "const r = document.getElementById('map').getBoundingClientRect(); "
                               "return [r.left + p.x, r.top + p.y]; }", [lat, lon]))


def _table(page) -> list[list[str]]:
    return page.evaluate("Array.from(document.querySelectorAll('#route-table tbody tr')).map(r => "
                         "Array.from(r.cells).map(c => c.textContent))")


def _search(page) -> dict:
    from urllib.parse import parse_qs, urlparse

    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


@pytest.fixture(scope="module")
def sample_page(sample_run):
    path = Path(sample_run["maps"]["safe_route"])
    graph, risk, detour, margin = python_model(sample_run["warehouse"], "sample")
    return {"path": path, "graph": graph, "risk": risk, "detour": detour, "margin": margin}


def test_any_pair_routed_in_the_page_equals_python(browser, sample_page):
    g = sample_page
    pairs = click_pairs(g["graph"], 12, seed=19)
    with clean_page(browser, g["path"]) as page:
        assert page.evaluate("!!window.civicmap.safeRoute.router")   # the page carries its router
        got = check_same_answers(page, g["graph"], g["risk"], g["detour"], g["margin"], pairs)
    assert got["pairs"] == 12


def test_clicks_draw_the_pair_the_url_reopens_it(browser, sample_page):
    from civicmash.analysis.route_planner import plan_routes, snap_ends

    g = sample_page
    (a, b), = click_pairs(g["graph"], 1, seed=7, near_m=(600.0, 1500.0))
    with clean_page(browser, g["path"]) as page:
        before = _table(page)
        page.evaluate("([a, b]) => { window.civicmap.map.fitBounds([a, b], {padding: [80, 80], animate: false}); }",
                      [list(a), list(b)])
        page.mouse.click(*_point_xy(page, *a))              # first click: the start
        assert page.is_checked("#sr-next-to")
        page.mouse.click(*_point_xy(page, *b))              # second: the destination
        assert page.is_checked("#sr-next-from")
        ends = page.evaluate("[window.civicmap.safeRoute.ends.from, window.civicmap.safeRoute.ends.to]")
        src, dst, _, _ = snap_ends(g["graph"], ends[0], ends[1])
        want = plan_routes(g["graph"], g["risk"], src, dst, detour=g["detour"], margin=g["margin"])
        rows = _table(page)
        assert rows != before or want["shortest"]["length_m"] == float(before[0][1][:-2].replace(",", ""))
        assert rows[0][1] == f"{round(want['shortest']['length_m']):,} m"
        assert rows[1][1] == f"{round(want['safer']['length_m']):,} m"
        assert page.inner_text("#comparison") == want["comparison"]
        # the new pair's two labels (the old ones fade out in 200 ms)
        page.wait_for_function("() => document.querySelectorAll('.leaflet-tooltip.cm-route-label').length === 2")
        assert "Routed in this page" in page.inner_text("#sr-status")
        q = _search(page)
        assert q["from"] == f"{ends[0][0]:.6f},{ends[0][1]:.6f}" and q["to"] == f"{ends[1][0]:.6f},{ends[1][1]:.6f}"
        url = page.url
        # the figures explain the new routes: their segments' ids and exposures
        plan = page.evaluate("(() => { const P = window.civicmap.safeRoute.plan(); "
                             "return [P.shortest.edge_ids.length, P.shortest.edge_exposure.length]; })()")
        assert plan[0] == plan[1] == len(want["shortest"]["nodes"]) - 1
        # dragging the destination's marker moves it and routes again
        box = page.locator(".sr-end-to").bounding_box()
        x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x0 + 30, y0 + 25, steps=5)
        page.mouse.up()
        moved = page.evaluate("window.civicmap.safeRoute.ends.to")
        assert moved != ends[1] and _search(page)["to"] == f"{moved[0]:.6f},{moved[1]:.6f}"
        src, dst, _, _ = snap_ends(g["graph"], ends[0], moved)
        again = plan_routes(g["graph"], g["risk"], src, dst, detour=g["detour"], margin=g["margin"])
        assert page.inner_text("#comparison") == again["comparison"]
        assert page.is_checked("#sr-next-from")                      # a drag does not change the next click
        page.evaluate("([a, b]) => { window.civicmap.safeRoute.route(a, b); }", [ends[0], ends[1]])
        assert page.url == url
    # the link reopens the same pair, the same routes
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_function("() => window.civicmapReady === true", timeout=30_000)
        assert _table(page) == rows
        assert page.evaluate("window.civicmap.safeRoute.ends.from") == [round(ends[0][0], 6), round(ends[0][1], 6)]
        assert page.inner_text("#comparison") == want["comparison"]
    finally:
        ctx.close()


def test_far_click_and_bad_link_are_refused_clearly(browser, sample_page):
    g = sample_page
    graph = g["graph"]
    n = float(graph.lat.max())
    far = (n + 0.05, float(graph.lon.mean()))       # ~5 km north of every street
    with clean_page(browser, g["path"]) as page:
        before = (_table(page), page.url)
        page.evaluate("([a, b]) => { window.civicmap.map.setView([a, b], 15, {animate: false}); }", list(far))
        page.mouse.click(*_point_xy(page, *far))
        err = page.inner_text("#sr-error")
        assert page.is_visible("#sr-error") and page.get_attribute("#sr-error", "role") == "alert"
        assert err.startswith("Cannot route: the start (") and "km from the nearest street" in err
        assert "at most 1,000 m" in err
        assert (_table(page), page.url) == before                   # nothing changed
        assert page.is_checked("#sr-next-from")                      # the click set nothing
        # typed: one end far away, the other not a place
        page.fill("#sr-from", f"{far[0]}, {far[1]}")
        page.press("#sr-from", "Enter")
        assert "Cannot route: the start" in page.inner_text("#sr-error")
        page.fill("#sr-from", "the station")
        page.press("#sr-from", "Enter")
        assert 'is not "lat, lon"' in page.inner_text("#sr-error")
    ctx = browser.new_context()
    try:                                                             # a link whose start is not a place
        page = ctx.new_page()
        page.goto(g["path"].resolve().as_uri() + "?from=41.9,nowhere&to=1,2")
        page.wait_for_function("() => window.civicmapReady === true", timeout=30_000)
        assert 'Cannot route: the start is not "lat, lon"' in page.inner_text("#sr-error")
    finally:
        ctx.close()


def test_a_pair_set_by_keyboard_alone(browser, sample_page):
    from civicmash.analysis.route_planner import plan_routes, snap_ends

    from tests.browser.keyboard_checks import tab_to

    g = sample_page
    (a, b), = click_pairs(g["graph"], 1, seed=11, near_m=(500.0, 2000.0))
    with clean_page(browser, g["path"]) as page:
        # the "lat, lon" boxes: Tab to each, type, Enter
        tab_to(page, "#sr-from")
        page.keyboard.press("Control+A")
        page.keyboard.type(f"{a[0]}, {a[1]}")
        tab_to(page, "#sr-to")
        page.keyboard.press("Control+A")
        page.keyboard.type(f"{b[0]}, {b[1]}")
        page.keyboard.press("Enter")
        src, dst, _, _ = snap_ends(g["graph"], a, b)
        want = plan_routes(g["graph"], g["risk"], src, dst, detour=g["detour"], margin=g["margin"])
        assert page.inner_text("#comparison") == want["comparison"]
        assert _table(page)[0][1] == f"{round(want['shortest']['length_m']):,} m"
        assert _search(page)["to"] == f"{b[0]:.6f},{b[1]:.6f}"
        # the map's crosshair: choose the destination with the radio buttons, Tab to the map, Enter
        tab_to(page, "input[name=sr-next]")                  # one tab stop for the group, arrows choose
        if not page.is_checked("#sr-next-to"):
            page.keyboard.press("ArrowRight")
        assert page.is_checked("#sr-next-to")
        tab_to(page, "#map")
        centre = page.evaluate("(() => { const c = window.civicmap.map.getCenter(); return [c.lat, c.lng]; })()")
        page.keyboard.press("Enter")
        assert page.evaluate("window.civicmap.safeRoute.ends.to") == centre
        src, dst, _, _ = snap_ends(g["graph"], a, centre)
        want = plan_routes(g["graph"], g["risk"], src, dst, detour=g["detour"], margin=g["margin"])
        assert page.inner_text("#comparison") == want["comparison"]


@pytest.mark.slow
def test_chicago_pairs_in_the_page_equal_python(browser, chicago_run):
    path = Path(chicago_run["maps"]["safe_route"])
    graph, risk, detour, margin = python_model(chicago_run["warehouse"], "chicago")
    pairs = click_pairs(graph, 25, seed=2018, near_m=(500.0, 4000.0))
    with clean_page(browser, path, timeout_ms=60_000) as page:
        got = check_same_answers(page, graph, risk, detour, margin, pairs)
    assert got["pairs"] == 25
    assert math.isfinite(max(got["ms"]))


def test_two_street_networks_each_routed_and_a_pair_across_refused(browser, tmp_path):
    """Islandia (tests/maps/islands_city.py): two grids 12 km apart. A pair on the second network is routed there,
    as Python routes it; a pair across the two is refused with the distance, as `civicmash route` refuses it."""
    from civicmash.analysis.route_planner import DEFAULT_DETOUR, plan_routes, risk_model, snap_ends
    from civicmash.analysis.routing import load_graph
    from civicmash.maps import safe_route
    from civicmash.maps.render import PageContext
    from civicmash.warehouse import db
    from tests.maps import islands_city as I

    warehouse = I.build(tmp_path)
    options = {"from": list(I.ll(1, 1)), "to": list(I.ll(4, 4))}
    with contextlib.closing(db.connect(str(warehouse), read_only=True)) as con:
        path = safe_route.build(PageContext(con=con, city=I.CITY, out_path=tmp_path / "safe_route.html",
                                            title="Safe route home", synthetic=True, options=options))
        graph = load_graph(con, I.CITY)
        model, _ = risk_model(con, city=I.CITY, graph=graph, options=options)
    risk = np.asarray(model.edge_risk(None), dtype=float)
    on_b = (I.ll(0.6, 1.2, island="B"), I.ll(4.3, 3.8, island="B"))
    with clean_page(browser, path) as page:
        assert page.evaluate("window.civicmap.safeRoute.router.networks") == len(graph.networks) == 2
        check_same_answers(page, graph, risk, DEFAULT_DETOUR, 0.0, [on_b])
        src, dst, _, _ = snap_ends(graph, *on_b)
        want = plan_routes(graph, risk, src, dst)
        page.evaluate("([a, b]) => { window.civicmap.safeRoute.route(a, b); }", [list(on_b[0]), list(on_b[1])])
        assert page.inner_text("#comparison") == want["comparison"]
        before = _table(page)
        across = (I.ll(1, 1), I.ll(4, 4, island="B"))
        page.evaluate("([a, b]) => { window.civicmap.safeRoute.route(a, b); }", [list(across[0]), list(across[1])])
        err = page.inner_text("#sr-error")
        assert err.startswith("No walking path: the start and the destination are in separate street networks (")
        assert "m apart)" in err and _table(page) == before
