"""The crime explorer's filters against DuckDB: the page's matching count, its ids and its CSV download equal
the same query over the warehouse (real Chicago run), including radii around a school, a park and a typed
address, and types chosen by category; the filter state round-trips through the URL hash; the window follows
the latest incident or ``civicmash explore --today``; portal strings stay text; nothing leaves the page."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.browser.chromium import clean_page

pytestmark = pytest.mark.browser

XSS = "</script><img src=x onerror=alert(1)>"
R_EARTH = 6371008.8  # the page's haversine radius
HALF_MILE = 804.67


@contextlib.contextmanager
def explorer_page(browser, path: Path, hash_: str = "", *, viewport=(1280, 860)):
    """The explorer opened at ``hash_``; on leaving, the page must be clean (no errors, dialogs or
    requests off the machine) and its browser context is closed."""
    with clean_page(browser, path, hash_=hash_, viewport=viewport) as page:
        yield page


def count(page) -> int:
    return int(page.inner_text("#count-match").replace(",", ""))


def page_ids(page) -> list[str]:
    return sorted(page.evaluate("window.civicmap.explorer.ids()"))


def hash_params(page) -> dict:
    h = page.evaluate("location.hash").lstrip("#")
    return dict(kv.split("=", 1) for kv in h.split("&") if kv)


def download_csv(page) -> list[dict]:
    with page.expect_download() as info:
        page.click("#csv-download")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def sql_ids(con, where: str, params: list) -> list[str]:
    """The explorer reads incidents_current (dated rows of the city); same filters in SQL."""
    rows = con.execute(
        "SELECT source_id FROM incidents_current WHERE city = 'chicago' AND occurred_at IS NOT NULL "
        f"AND {where}", params).fetchall()
    return sorted(r[0] for r in rows)


def date_where(p: dict) -> tuple[str, list]:
    """Page dates are inclusive days: [from 00:00, to + 1 day 00:00)."""
    return ("occurred_at >= CAST(? AS DATE) AND occurred_at < CAST(? AS DATE) + INTERVAL 1 DAY",
            [p["from"], p["to"]])


def dist_sql(lat0: float, lon0: float, plat: float, plon: float) -> tuple[str, list]:
    """The page's distance in SQL: from the incident's embedded coordinates (1e-5-degree grid from lat0/lon0) to
    (plat, plon), haversine on a 6,371,008.8 m sphere."""
    qlat = "(? + round((lat - ?) * 100000) / 100000)"
    qlon = "(? + round((lon - ?) * 100000) / 100000)"
    sql = (f"2 * {R_EARTH} * asin(sqrt(pow(sin(({qlat} - ?) * pi() / 180 / 2), 2) + "
           f"cos(? * pi() / 180) * cos({qlat} * pi() / 180) * pow(sin(({qlon} - ?) * pi() / 180 / 2), 2)))")
    return sql, [lat0, lat0, plat, plat, lat0, lat0, lon0, lon0, plon]


def origin(page) -> tuple[float, float]:
    return tuple(page.evaluate("[window.civicmap.data.incidents.lat0, window.civicmap.data.incidents.lon0]"))


def check_roundtrip(browser, path, page, expected: int):
    url_hash = page.evaluate("location.hash").lstrip("#")
    with explorer_page(browser, path, url_hash) as page2:
        assert count(page2) == expected
        assert page2.evaluate("location.hash").lstrip("#") == url_hash


@pytest.fixture(scope="module")
def chicago(chicago_run):
    from civicmash.warehouse.db import connect

    con = connect(chicago_run["warehouse"], read_only=True)
    yield con, Path(chicago_run["maps"]["explorer"])
    con.close()


@pytest.mark.slow
def test_types_and_date_range(browser, chicago, screenshot_dir):
    con, path = chicago
    with explorer_page(browser, path, "types=THEFT,BATTERY&from=2018-09-01&to=2018-09-30") as page:
        p = hash_params(page)
        assert p["types"] == "THEFT,BATTERY" and p["from"] == "2018-09-01" and p["to"] == "2018-09-30"
        dw, dp = date_where(p)
        expected = sql_ids(con, f"primary_type IN ('THEFT', 'BATTERY') AND {dw}", dp)
        assert count(page) == len(expected) > 1000
        assert page_ids(page) == expected
        rows = download_csv(page)
        assert len(rows) == len(expected)
        assert sorted(r["id"] for r in rows) == expected
        assert {r["primary_type"] for r in rows} == {"THEFT", "BATTERY"}
        no_coords = con.execute("SELECT count(*) FROM incidents_current WHERE city = 'chicago' AND lat IS NULL "
                                f"AND primary_type IN ('THEFT', 'BATTERY') AND {dw}", dp).fetchone()[0]
        assert page.inner_text("#count-nomap") == f"{no_coords:,}" and no_coords > 0  # "not on the map"
        assert sum(1 for r in rows if not r["lat"]) == no_coords
        # By week (Monday weeks), as DuckDB counts them.
        weeks = dict(con.execute(
            "SELECT 'Week of ' || strftime(date_trunc('week', occurred_at), '%Y-%m-%d'), count(*) FROM incidents_current "
            f"WHERE city = 'chicago' AND primary_type IN ('THEFT', 'BATTERY') AND {dw} GROUP BY 1", dp).fetchall())
        shown = dict(t.rsplit(": ", 1) for t in page.evaluate(
            "Array.from(document.querySelectorAll('#sum-week div')).map(d => d.title)"))
        assert {k: int(v.replace(",", "")) for k, v in shown.items() if v != "0"} == weeks
        # The data source, its terms and fetch date are named in the footer.
        footer = page.inner_text("#sources")
        for dataset, licence, fetched in con.execute(
                "SELECT dataset, licence, fetched_at FROM datasets WHERE city = 'chicago' AND table_name = 'incidents' "
                "AND coalesce(role, 'data') <> 'fixture'").fetchall():
            line = next(ln for ln in footer.splitlines() if ln.startswith(dataset + " "))
            assert f"licence: {licence}" in line and f"fetched {fetched:%Y-%m-%d %H:%M}" in line
        page.screenshot(path=str(screenshot_dir / "chicago_explorer_desktop.png"))
        assert page.locator("#inc-table tbody tr").count() == 25
        page.click("#page-next")
        assert "rows 26" in page.inner_text("#page-info")
        check_roundtrip(browser, path, page, len(expected))


@pytest.mark.slow
def test_time_of_day_across_midnight_and_community_area(browser, chicago):
    con, path = chicago
    with explorer_page(browser, path) as page:
        page.fill("#tod-from", "22:00")
        page.fill("#tod-to", "03:00")
        page.select_option("#f-ca", "32")
        page.dispatch_event("#tod-from", "change")
        p = hash_params(page)
        assert p["tod"] == "22:00-03:00" and p["ca"] == "32"
        dw, dp = date_where(p)
        # 22:00 included, 03:00 excluded (minute of day; seconds do not matter: the page keeps minutes).
        expected = sql_ids(con, "(hour(occurred_at) * 60 + minute(occurred_at) >= 1320 "
                                "OR hour(occurred_at) * 60 + minute(occurred_at) < 180) "
                                f"AND community_area = 32 AND {dw}", dp)
        assert count(page) == len(expected) > 100
        assert page_ids(page) == expected
        hours = page.evaluate("Array.from(document.querySelectorAll('#sum-hour div')).map(d => d.title)")
        assert len(hours) == 24 and hours[12].endswith(": 0") and not hours[22].endswith(": 0")
        check_roundtrip(browser, path, page, len(expected))


@pytest.mark.slow
def test_within_half_mile_of_a_school_with_arrest(browser, chicago):
    con, path = chicago
    # The school nearest the Loop (deterministic), by its services id.
    sid, name, slat, slon = con.execute(
        "SELECT source_id, name, lat, lon FROM services WHERE city = 'chicago' AND category = 'school' "
        "ORDER BY (lat - 41.8781) ^ 2 + (lon + 87.6298) ^ 2, source_id LIMIT 1").fetchone()
    with explorer_page(
        browser, path, f"from=2018-05-01&to=2018-11-12&near=school:{sid}&r={HALF_MILE}&arrest=true") as page:
        assert page.evaluate("document.getElementById('f-near').selectedOptions[0].textContent") == name
        # The page measures from its embedded incident coordinates to the school's exact coordinates, inclusive.
        dist, params = dist_sql(*origin(page), slat, slon)
        expected = sql_ids(con, f"lat IS NOT NULL AND lon IS NOT NULL AND arrest AND {dist} <= {HALF_MILE} "
                                "AND occurred_at >= DATE '2018-05-01' AND occurred_at < DATE '2018-11-13'", params)
        assert count(page) == len(expected) > 50
        assert page_ids(page) == expected
        # The same set with DuckDB spatial's own sphere distance on the raw coordinates, as a cross-check
        # (differs at most by incidents within a few metres of the circle).
        spatial = sql_ids(con, "lat IS NOT NULL AND arrest AND ST_Distance_Sphere(ST_Point(lat, lon), "
                               f"ST_Point(?, ?)) <= {HALF_MILE} AND occurred_at >= DATE '2018-05-01' "
                               "AND occurred_at < DATE '2018-11-13'", [slat, slon])
        assert len(set(spatial) ^ set(expected)) <= max(3, len(expected) // 100)
        rows = download_csv(page)
        assert sorted(r["id"] for r in rows) == expected
        assert all(r["arrest"] == "true" for r in rows)
        assert page.inner_text("#count-nomap") == "0"
        check_roundtrip(browser, path, page, len(expected))


@pytest.mark.slow
def test_beat_and_day_of_week_with_the_controls(browser, chicago, screenshot_dir):
    con, path = chicago
    beat = con.execute("SELECT beat FROM incidents_current WHERE city = 'chicago' AND beat IS NOT NULL "
                       "GROUP BY beat ORDER BY count(*) DESC, beat LIMIT 1").fetchone()[0]
    with explorer_page(browser, path) as page:
        page.select_option("#f-beat", beat)
        for d in (1, 2, 3, 4, 5):
            page.uncheck(f"#dow-{d}")
        p = hash_params(page)
        assert p["beat"] == beat and p["dow"] == "6,7"
        dw, dp = date_where(p)
        expected = sql_ids(con, f"beat = ? AND isodow(occurred_at) IN (6, 7) AND {dw}", [beat, *dp])
        assert count(page) == len(expected) > 20
        assert page_ids(page) == expected
        rows = download_csv(page)
        assert len(rows) == len(expected) and sorted(r["id"] for r in rows) == expected
        check_roundtrip(browser, path, page, len(expected))
        # Block typed as text: resolved case-insensitively from the incidents' own block values.
        block = con.execute("SELECT block FROM incidents_current WHERE city = 'chicago' AND beat = ? "
                            "AND lat IS NOT NULL GROUP BY block ORDER BY count(*) DESC, block LIMIT 1",
                            [beat]).fetchone()[0]
        page.fill("#f-block", block.lower())
        page.dispatch_event("#f-block", "change")
        assert block in page.inner_text("#block-resolved")
        assert 0 < count(page) <= len(expected)
    with explorer_page(browser, path, viewport=(390, 844)) as page:
        assert page.locator("#panel").is_visible()
        page.click("#panel-toggle")
        assert not page.locator("#panel").is_visible()
        page.click("#panel-toggle")
        # Every filter control has a label.
        unlabeled = page.evaluate("""() => Array.from(document.querySelectorAll('#controls input, #controls select'))
            .filter(e => !(e.labels && e.labels.length)).map(e => e.id)""")
        assert unlabeled == []
        page.screenshot(path=str(screenshot_dir / "chicago_explorer_phone.png"))


def test_sample_city_xss_description_is_text(browser, sample_run):
    path = Path(sample_run["maps"]["explorer"])
    with explorer_page(browser, path) as page:
        where = page.evaluate("""(x) => { const D = window.civicmap.data.incidents; const k = D.descs.indexOf(x);
            return k < 0 ? null : k; }""", XSS)
        assert where is not None, "the sample city plants the XSS string in a description"
        # Widen the date range through the hash (hashchange), then page through the table to the planted row.
        page.evaluate("location.hash = 'from=1970-01-01&to=2100-01-01'")
        page.wait_for_function("() => document.getElementById('date-from').value === '1970-01-01'")
        pages = 0
        while XSS not in page.inner_text("#inc-table") and pages < 400 and page.is_enabled("#page-next"):
            page.click("#page-next")
            pages += 1
        assert XSS in page.inner_text("#inc-table")
        assert page.evaluate("document.querySelectorAll('img[src=x], img[src=\"x\"]').length") == 0
        rows = download_csv(page)
        assert len(rows) == count(page) and any(r["description"] == XSS for r in rows)


@pytest.mark.slow
def test_park_radius_with_ward_district_location_and_domestic(browser, chicago):
    con, path = chicago
    pid, plat, plon = con.execute(
        "SELECT source_id, lat, lon FROM services WHERE city = 'chicago' AND category = 'park' "
        "ORDER BY (lat - 41.8781) ^ 2 + (lon + 87.6298) ^ 2, source_id LIMIT 1").fetchone()
    r = 600
    when = "occurred_at >= DATE '2018-01-01' AND occurred_at < DATE '2018-11-13'"
    with explorer_page(browser, path, f"from=2018-01-01&to=2018-11-12&near=park:{pid}&r={r}") as page:
        dist, dp = dist_sql(*origin(page), plat, plon)
        near = f"lat IS NOT NULL AND {dist} <= {r} AND {when}"
        assert count(page) == len(sql_ids(con, near, dp)) > 200
        # The busiest ward, district and location description near the park, non-domestic: all through the controls.
        ward, district, loc = con.execute(
            f"SELECT CAST(ward AS VARCHAR), CAST(district AS VARCHAR), location_description FROM incidents_current "
            f"WHERE city = 'chicago' AND NOT domestic AND {near} AND ward IS NOT NULL AND district IS NOT NULL "
            "AND location_description IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC, 1, 2, 3 LIMIT 1", dp).fetchone()
        page.select_option("#f-ward", ward)
        page.select_option("#f-district", district)
        page.select_option("#f-loc", loc)
        page.select_option("#f-domestic", "false")
        p = hash_params(page)
        assert (p["ward"], p["district"], p["domestic"], unquote(p["near"])) == (ward, district, "false", f"park:{pid}")
        assert unquote(p["loc"]) == loc
        expected = sql_ids(con, f"{near} AND NOT domestic AND CAST(ward AS VARCHAR) = ? AND CAST(district AS VARCHAR) = ? "
                                "AND location_description = ?", [*dp, ward, district, loc])
        assert count(page) == len(expected) > 10
        assert page_ids(page) == expected
        rows = download_csv(page)
        assert sorted(r["id"] for r in rows) == expected
        assert {(r["ward"], r["district"], r["location_description"], r["domestic"]) for r in rows} == \
            {(ward, district, loc, "false")}
        check_roundtrip(browser, path, page, len(expected))


def _spelled_out(block: str) -> str:
    """``001XX N STATE ST`` -> ``121 north state street``: an address on the block, as a person types it."""
    digits, street = block.split(" ", 1)
    words = street.split(" ")
    if len(words) >= 3:
        words[0] = {"N": "North", "S": "South", "E": "East", "W": "West"}.get(words[0], words[0])
    words[-1] = {"ST": "Street", "AVE": "Avenue", "BLVD": "Boulevard", "RD": "Road", "DR": "Drive",
                 "PL": "Place", "PKWY": "Parkway"}.get(words[-1], words[-1])
    return f"{int(digits.rstrip('X')) * 100 + 21} " + " ".join(words).lower()


@pytest.mark.slow
def test_typed_address_resolves_to_its_block_and_radius_matches_duckdb(browser, chicago):
    import numpy as np

    con, path = chicago
    block = con.execute(
        "SELECT block FROM incidents_current WHERE city = 'chicago' AND lat IS NOT NULL AND occurred_at IS NOT NULL "
        "AND regexp_matches(block, '^[0-9]+XX [NSEW] [A-Z]+ (ST|AVE|BLVD|RD|DR)$') "
        "GROUP BY block ORDER BY count(*) DESC, block LIMIT 1").fetchone()[0]
    address = _spelled_out(block)
    r = 300
    with explorer_page(browser, path, "from=2018-03-01&to=2018-10-31") as page:
        page.fill("#f-block", address)
        page.fill("#f-radius", str(r))
        page.dispatch_event("#f-block", "change")
        resolved = page.inner_text("#block-resolved")
        assert f"Block: {block}" in resolved and "is on this block" in resolved
        assert hash_params(page)["r"] == str(r)
        # The block's point: lower median of its located incidents' embedded latitudes and longitudes (all dates).
        lat0, lon0 = origin(page)
        lat, lon = (np.array(v, dtype=float) for v in zip(*con.execute(
            "SELECT lat, lon FROM incidents_current WHERE city = 'chicago' AND block = ? AND lat IS NOT NULL "
            "AND occurred_at IS NOT NULL", [block]).fetchall()))
        qlat, qlon = np.sort(np.round((lat - lat0) * 1e5)), np.sort(np.round((lon - lon0) * 1e5))
        mid = (len(qlat) - 1) // 2
        blat, blon = lat0 + qlat[mid] / 1e5, lon0 + qlon[mid] / 1e5
        dist, dp = dist_sql(lat0, lon0, blat, blon)
        expected = sql_ids(con, f"lat IS NOT NULL AND {dist} <= {r} AND occurred_at >= DATE '2018-03-01' "
                                "AND occurred_at < DATE '2018-11-01'", dp)
        assert count(page) == len(expected) > 100
        assert page_ids(page) == expected
        check_roundtrip(browser, path, page, len(expected))
        # A street name alone resolves to a block of that street; nonsense says so and matches nothing.
        street = block.split(" ", 1)[1]
        page.fill("#f-block", street.lower())
        page.dispatch_event("#f-block", "change")
        assert page.inner_text("#block-resolved").startswith("Block: ") and street in page.inner_text("#block-resolved")
        page.fill("#f-block", "99999 nowhere at all")
        page.dispatch_event("#f-block", "change")
        assert "No block matches" in page.inner_text("#block-resolved") and count(page) == 0


@pytest.mark.slow
def test_types_grouped_by_the_profiles_categories(browser, chicago):
    from civicmash.cities.profile import load_profile

    con, path = chicago
    property_types = load_profile("chicago").risk.categories["property"]
    with explorer_page(browser, path) as page:
        heads = page.evaluate("Array.from(document.querySelectorAll('.cm-group-head label strong')).map(s => s.textContent)")
        assert heads[:4] == ["violent", "property", "other", "non criminal"]
        page.click("#types-none")
        assert count(page) == 0
        page.focus("#typegroup-1")  # "property", with the keyboard
        page.keyboard.press("Space")
        assert page.is_checked("#typegroup-1")
        p = hash_params(page)
        dw, dp = date_where(p)
        marks = ", ".join("?" for _ in property_types)
        expected = sql_ids(con, f"primary_type IN ({marks}) AND {dw}", [*property_types, *dp])
        assert count(page) == len(expected) > 1000
        assert page_ids(page) == expected
        # One type of the group cleared: the group box shows "some" (indeterminate).
        first = page.evaluate("document.querySelector('#type-list .cm-group:nth-child(2) .cm-group-types input').id")
        page.uncheck(f"#{first}")
        assert page.evaluate("[document.getElementById('typegroup-1').checked, "
                             "document.getElementById('typegroup-1').indeterminate]") == [False, True]
        assert count(page) < len(expected)


def test_window_ends_on_the_latest_incident_or_the_date_given_on_the_command_line(browser, sample_run, tmp_path):
    from datetime import timedelta

    from civicmash.flows.cli import main
    from civicmash.warehouse.db import connect

    wh = sample_run["warehouse"]
    con = connect(wh, read_only=True)
    try:
        latest = con.execute("SELECT max(occurred_at)::DATE FROM incidents_current WHERE city = 'sample'").fetchone()[0]
        today = latest - timedelta(days=20)
        cases = []
        for args, last, days in (([], latest, 90), (["--today", today.isoformat(), "--days", "30"], today, 30)):
            first = last - timedelta(days=days - 1)
            expected = con.execute(
                "SELECT count(*) FROM incidents_current WHERE city = 'sample' AND occurred_at >= ? "
                "AND occurred_at < CAST(? AS DATE) + INTERVAL 1 DAY", [first, last]).fetchone()[0]
            cases.append((args, first, last, expected))
    finally:
        con.close()
    for args, first, last, expected in cases:
        out = tmp_path / f"explorer{len(args)}.html"
        assert main(["explore", "--city", "sample", "--db", wh, "--output", str(out), *args]) == 0
        with explorer_page(browser, out) as page:
            assert (page.input_value("#date-from"), page.input_value("#date-to")) == (first.isoformat(), last.isoformat())
            assert count(page) == expected > 0
    assert main(["explore", "--city", "sample", "--db", wh, "--today", "yesterday", "--output",
                 str(tmp_path / "x.html")]) == 1
