"""Los Angeles in Chromium, like Chicago: the pages of the one real LA run of the session (``la_run``, the Prefect
pipeline over the real bundle through the replay portal, tests/conftest.py) opened offline in headless Chromium.

- Each of the four maps opens with no request off the machine, draws, carries no synthetic banner (real data) and
  says what LA's data lacks or covers only in part: no publishable population (no rates), the walk graph covering
  a few of the 21 LAPD divisions.
- The explorer's counts equal SQL over the LA warehouse for the default window, a type filter, an LAPD division
  filter (through the control the profile's ``[areas]`` labels "LAPD division") and a time-of-day filter across
  midnight; its area filters are LA's (LAPD division, reporting district), never Chicago's.
- In Koreatown the safe-route page's preset walk has the figures of ``civicmash route`` and a click on the locator
  page lists what ``civicmash locate`` lists, both run as real CLI subprocesses on the LA warehouse.
- ``civicmash explore`` rebuilds the LA explorer for another window, and the page counts what SQL counts.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from civicmash.cities.profile import load_profile
from tests.browser.chromium import clean_page, drawn_layers
from tests.browser.test_explorer_filters import (
    count,
    declared_where,
    hash_params,
    page_ids,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CITY = "los_angeles"
MAPS = ("explorer", "safe_route", "locator", "spending")
BASE = "SELECT source_id FROM incidents_current WHERE city = 'los_angeles' AND occurred_at IS NOT NULL"
CHICAGO_AREA_WORDS = ("Community area", "Police beat", "Police district", "Ward")
KOREATOWN_CLICK = (34.0618, -118.3009)    # Wilshire Blvd & S Normandie Ave, the locator's opening point
TIMEOUT_MS = 120_000                      # the locator computes its coverage lattice on opening


@pytest.fixture(scope="module")
def la(la_run):
    """(read-only warehouse connection, the map paths, the output directory) of the session's LA run."""
    from civicmash.warehouse.db import connect

    assert set(la_run["maps"]) == set(MAPS), la_run.get("skipped_maps")
    with contextlib.closing(connect(la_run["warehouse"], read_only=True)) as con:
        yield con, {k: Path(v) for k, v in la_run["maps"].items()}, Path(la_run["out"])


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The installed ``civicmash`` command, as a reader runs it."""
    done = subprocess.run([str(Path(sys.executable).parent / "civicmash"), *args], capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def _sql_ids(con, where: str, params) -> list[str]:
    return sorted(r[0] for r in con.execute(f"{BASE} AND {where}", params).fetchall())


def _missing(page) -> str:
    return page.evaluate("document.getElementById('missing') ? document.getElementById('missing').innerText : ''")


# --- every page: offline, drawn, honest ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", MAPS)
def test_la_map_opens_offline_draws_and_says_what_is_missing(browser, la, screenshot_dir, kind):
    _, paths, _ = la
    with clean_page(browser, paths[kind], timeout_ms=TIMEOUT_MS) as page:   # clean: no request off the machine
        assert page.locator("#synthetic-banner").count() == 0              # real data: no synthetic banner
        text = page.inner_text("body")
        assert "Los Angeles" in text
        if kind != "spending":
            drawn = drawn_layers(page)
            assert drawn["layers"] >= 3 and drawn["canvases"] >= 1, drawn
        if kind in ("explorer", "locator"):                                 # no publishable population file
            assert "No population figures" in _missing(page)
        if kind == "safe_route":                                            # streets for a few divisions only
            assert re.search(r"Walk graph covers: .*of 21 LAPD divisions.*no streets in \d+", text), text[:2000]
        if kind == "spending":   # the budget as bars; the neighbourhood councils' spending on a map (issue 16)
            assert page.locator("#dept-bars .cm-bar").count() > 0
            assert page.locator("#sp-place #map").count() == 1 and drawn_layers(page)["paths"] > 0
        page.screenshot(path=str(screenshot_dir / f"los_angeles_{kind}.png"))


# --- the explorer: counts equal SQL, LA's area labels ---------------------------------------------------------------

def _window(page) -> dict:
    return {"from": page.input_value("#date-from"), "to": page.input_value("#date-to")}


def _check_counts(page, con, *, minimum: int, ids: bool = False) -> int:
    """The page's matching count equals the declared SQL of the filters in its URL hash (plus the window it shows);
    ``ids``: the matching incident ids too."""
    where, binds = declared_where(con, page)
    window = _window(page)
    where += " AND occurred_at >= CAST($from AS DATE) AND occurred_at < CAST($to AS DATE) + INTERVAL 1 DAY"
    expected = _sql_ids(con, where, {**binds, **window})
    assert count(page) == len(expected) > minimum
    if ids:
        assert page_ids(page) == expected
    return len(expected)


def test_explorer_default_window_equals_sql(browser, la):
    con, paths, _ = la
    latest = con.execute("SELECT max(occurred_at)::DATE FROM incidents_current WHERE city = ?", [CITY]).fetchone()[0]
    with clean_page(browser, paths["explorer"]) as page:
        assert _window(page) == {"from": (latest - timedelta(days=89)).isoformat(), "to": latest.isoformat()}
        n = _check_counts(page, con, minimum=20_000)
        assert n == con.execute("SELECT count(*) FROM incidents WHERE city = ?", [CITY]).fetchone()[0]   # 2 months
        assert page.inner_text("#count-nomap") == "0"                 # every LA crime has coordinates


def test_explorer_type_filter_equals_sql(browser, la):
    con, paths, _ = la
    with clean_page(browser, paths["explorer"], hash_="types=ROBBERY,BURGLARY%20FROM%20VEHICLE") as page:
        assert set(hash_params(page)) >= {"types"}
        _check_counts(page, con, minimum=2_000, ids=True)


def test_explorer_lapd_division_filter_is_labelled_as_the_profile_says(browser, la):
    con, paths, _ = la
    label = load_profile(CITY).areas.slots()["district"]["label"]
    assert label == "LAPD division"
    olympic = con.execute("SELECT code FROM boundaries WHERE city = ? AND kind = 'district' AND upper(name) = 'OLYMPIC'",
                          [CITY]).fetchone()[0]
    with clean_page(browser, paths["explorer"]) as page:
        assert page.evaluate("document.getElementById('f-district').labels[0].textContent.trim()") == label
        page.select_option("#f-district", olympic)                   # Koreatown's division, through the control
        assert hash_params(page)["district"] == olympic
        _check_counts(page, con, minimum=1_000, ids=True)


def test_explorer_time_of_day_across_midnight_equals_sql(browser, la):
    con, paths, _ = la
    with clean_page(browser, paths["explorer"]) as page:
        page.fill("#tod-from", "22:00")
        page.fill("#tod-to", "03:00")
        page.dispatch_event("#tod-from", "change")
        assert hash_params(page)["tod"] == "22:00-03:00"
        _check_counts(page, con, minimum=3_000)
        hours = page.evaluate("Array.from(document.querySelectorAll('#sum-hour div')).map(d => d.title)")
        assert hours[12].endswith(": 0") and not hours[23].endswith(": 0")


def test_explorer_area_filters_are_la_s_never_chicago_s(browser, la):
    _, paths, _ = la
    profile = load_profile(CITY)
    with clean_page(browser, paths["explorer"]) as page:
        labels = page.evaluate("Array.from(document.querySelectorAll('#controls select')).map(s => [s.id, "
                               "s.labels.length ? s.labels[0].textContent.trim() : ''])")
        areas = {sid: text for sid, text in labels if sid in ("f-beat", "f-district", "f-ward", "f-ca")}
        assert areas == {"f-beat": profile.areas.slots()["beat"]["label"], "f-district": profile.areas.slots()["district"]["label"]}
        assert areas == {"f-beat": "Reporting district", "f-district": "LAPD division"}
        panel = page.inner_text("#panel")
        assert not [w for w in CHICAGO_AREA_WORDS if re.search(rf"\b{w}s?\b", panel, re.IGNORECASE)], panel[:500]
        divisions = page.evaluate("Array.from(document.getElementById('f-district').options).map(o => o.value)")
        assert sorted(int(v) for v in divisions if v) == list(range(1, 22))


# --- Koreatown: the pages give the CLI's figures ---------------------------------------------------------------------

def _route_table(page) -> dict[str, tuple[int, int, float]]:
    """Route name -> (metres, minutes, exposure) as the safe-route page's table shows them."""
    rows = page.evaluate("Array.from(document.querySelectorAll('#route-table tbody tr')).map(r => "
                         "Array.from(r.cells).map(c => c.textContent))")
    return {r[0].split(" ")[0]: (int(r[1].replace(",", "").split()[0]), int(r[2].split()[0]), float(r[3]))
            for r in rows}


def test_safe_route_preset_walk_equals_civicmash_route(browser, la):
    _, paths, out = la
    spec = load_profile(CITY).maps.safe_route
    frm, to = (f"{p[0]},{p[1]}" for p in (spec.from_, spec.to))
    cli = json.loads(_cli("route", "--city", CITY, "--from", frm, "--to", to, "--at", spec.at, "--format", "json",
                          "--out", str(out)).stdout)
    with clean_page(browser, paths["safe_route"]) as page:
        table = _route_table(page)
        labels = page.evaluate("Array.from(document.querySelectorAll('.leaflet-tooltip.cm-route-label'))"
                               ".map(e => e.textContent)")
        comparison = page.inner_text("#comparison")
    for name, key in (("Shortest", "shortest"), ("Recommended", "recommended")):
        metres, minutes, exposure = table[name]
        assert metres == round(cli[key]["length_m"]) and minutes == round(cli[key]["minutes"]), (name, cli[key])
        assert exposure == pytest.approx(cli[key]["exposure"], abs=0.051)
    assert cli["comparison"] in comparison and any(cli["comparison"] in t for t in labels)
    assert cli["recommended"]["exposure"] < cli["shortest"]["exposure"]   # the safer walk is safer in Koreatown


def _click(page, lat: float, lon: float) -> tuple[float, float]:
    page.evaluate("([a, b]) => { window.civicmap.map.setView([a, b], 16); }", [lat, lon])
    xy = page.evaluate("([a, b]) => { const p = window.civicmap.map.latLngToContainerPoint([a, b]); "
                       "const r = document.getElementById('map').getBoundingClientRect(); "
                       "return [r.left + p.x, r.top + p.y]; }", [lat, lon])
    page.mouse.click(*xy)
    return tuple(page.evaluate("window.locatorState.point"))


def test_locator_click_in_koreatown_equals_civicmash_locate(browser, la):
    _, paths, out = la
    with clean_page(browser, paths["locator"], timeout_ms=TIMEOUT_MS) as page:
        lat, lon = _click(page, *KOREATOWN_CLICK)
        assert abs(lat - KOREATOWN_CLICK[0]) < 0.0005 and abs(lon - KOREATOWN_CLICK[1]) < 0.0005
        listed = page.evaluate("([a, b]) => window.locatorLocate(a, b).map(e => ({category: e.category, results: "
                               "e.results.map(r => ({index: r.index, dist_m: r.dist_m, minutes: r.minutes}))}))",
                               [lat, lon])
        shown = page.inner_text("#nearest-list")
    cli = json.loads(_cli("locate", "--city", CITY, "--near", f"{lat},{lon}", "--format", "json",
                          "--out", str(out)).stdout)
    want = {c["category"]: c["results"] for c in cli["categories"] if c["results"]}
    got = {e["category"]: e["results"] for e in listed if e["results"]}
    assert set(got) == set(want) and {"library", "police"} <= set(got)
    for category, results in want.items():
        assert [r["index"] for r in got[category]] == [r["index"] for r in results], category
        for g, w in zip(got[category], results):
            # within half a metre: the page walks its packed copy of the graph, the CLI prints 0.1 m
            assert g["dist_m"] == pytest.approx(w["dist_m"], abs=0.5), (category, w["name"])
            assert g["minutes"] == pytest.approx(w["minutes"], abs=0.06), (category, w["name"])
    library = want["library"][0]
    assert library["name"] in shown and library["dist_m"] < 1_500           # Pio Pico - Koreatown, a walk away


# --- civicmash explore on LA ----------------------------------------------------------------------------------------

def test_civicmash_explore_rebuilds_the_la_explorer(browser, la, tmp_path):
    con, _, out = la
    today, days = date(2024, 3, 15), 30
    page_path = tmp_path / "la_explorer.html"
    _cli("explore", "--city", CITY, "--out", str(out), "--today", today.isoformat(), "--days", str(days),
         "--output", str(page_path))
    first = today - timedelta(days=days - 1)
    expected = con.execute("SELECT count(*) FROM incidents_current WHERE city = ? AND occurred_at >= ? "
                           "AND occurred_at < CAST(? AS DATE) + INTERVAL 1 DAY", [CITY, first, today]).fetchone()[0]
    with clean_page(browser, page_path) as page:
        assert _window(page) == {"from": first.isoformat(), "to": today.isoformat()}
        assert count(page) == expected > 10_000
        assert page.evaluate("document.getElementById('f-district').labels[0].textContent.trim()") == "LAPD division"
