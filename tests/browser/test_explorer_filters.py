"""The crime explorer's filters against DuckDB, driven by the declared filter table
(``maps/explorer_filters.py`` FILTERS): for each case the page's matching count, its ids and its CSV download
equal the same query over the warehouse (real Chicago run), where the WHERE clause is the AND of the declared
SQL predicates of the filters in the page's own URL hash; every declared filter is exercised by a case. Also:
the filter state round-trips through the URL hash; the radius is capped at half a mile; a same-day time window
excludes its end; the window follows the latest incident or ``civicmash explore --today``; portal strings stay
text (table, CSV and the incident popup); nothing leaves the page."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from civicmash.maps.explorer_filters import FILTERS
from tests.browser.chromium import clean_page

pytestmark = pytest.mark.browser

XSS = "</script><img src=x onerror=alert(1)>"
HALF_MILE = 804.67  # what people type
HALF_MILE_M = 1609.344 / 2  # the cap, independent of the code under test
BASE = "SELECT source_id FROM incidents_current WHERE city = 'chicago' AND occurred_at IS NOT NULL"


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


def sql_ids(con, where: str, params) -> list[str]:
    """The explorer reads incidents_current (dated rows of the city); same filters in SQL."""
    return sorted(r[0] for r in con.execute(f"{BASE} AND {where}", params).fetchall())


def date_where(p: dict) -> tuple[str, list]:
    """Page dates are inclusive days: [from 00:00, to + 1 day 00:00)."""
    return ("occurred_at >= CAST(? AS DATE) AND occurred_at < CAST(? AS DATE) + INTERVAL 1 DAY",
            [p["from"], p["to"]])


def origin(page) -> tuple[float, float]:
    return tuple(page.evaluate("[window.civicmap.data.incidents.lat0, window.civicmap.data.incidents.lon0]"))


def block_point(con, block: str, lat0: float, lon0: float) -> tuple[float, float]:
    """The block's point as the page computes it: lower median of its located incidents' embedded latitudes and
    longitudes (all dates)."""
    lat, lon = (np.array(v, dtype=float) for v in zip(*con.execute(
        "SELECT lat, lon FROM incidents_current WHERE city = 'chicago' AND block = ? AND lat IS NOT NULL "
        "AND occurred_at IS NOT NULL", [block]).fetchall()))
    qlat, qlon = np.sort(np.round((lat - lat0) * 1e5)), np.sort(np.round((lon - lon0) * 1e5))
    mid = (len(qlat) - 1) // 2
    return lat0 + qlat[mid] / 1e5, lon0 + qlon[mid] / 1e5


def resolved_block(page) -> str:
    m = re.match(r"Block: (.+?)(?: \u2014 .*)? \(point = median of its incidents\)$", page.inner_text("#block-resolved"))
    assert m, page.inner_text("#block-resolved")
    return m.group(1)


def _binds(f, raw: str, *, con, page) -> dict:
    """The declared SQL predicate's parameters for the hash value ``raw``, decoded per control kind."""
    kind, value = f.control.kind, unquote(raw)
    if kind == "types":
        return {f.key: [unquote(x) for x in raw.split(",") if x]}
    if kind == "time-range":
        (h1, m1), (h2, m2) = (map(int, t.split(":")) for t in value.split("-"))
        return {"tod_from": h1 * 60 + m1, "tod_to": h2 * 60 + m2}
    if kind == "weekdays":
        return {f.key: [int(d) for d in value.split(",") if d]}
    if kind == "flag":
        return {f.key: value == "true"}
    lat0, lon0 = origin(page)
    if kind == "place":
        category, sid = value.split(":", 1)
        lat, lon = con.execute("SELECT lat, lon FROM services WHERE city = 'chicago' AND category = ? AND source_id = ?",
                               [category, sid]).fetchone()
        return {"near_lat": lat, "near_lon": lon, "lat0": lat0, "lon0": lon0}
    if kind == "address":
        lat, lon = block_point(con, resolved_block(page), lat0, lon0)
        return {"block_lat": lat, "block_lon": lon, "lat0": lat0, "lon0": lon0}
    if kind == "radius":  # capped at half a mile whatever the page says
        return {"r": min(float(value), HALF_MILE_M)}
    return {f.key: value}  # date, select


def declared_where(con, page) -> tuple[str, dict]:
    """The AND of the declared SQL predicates of the filters in the page's URL hash, with their parameters."""
    params, where, binds = hash_params(page), [], {}
    for f in FILTERS:
        if f.hash_key in params:
            binds.update(_binds(f, params[f.hash_key], con=con, page=page))
            if f.sql:
                where.append(f.sql)
    return " AND ".join(where) or "true", binds


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


def _school(con) -> tuple:
    """The school nearest the Loop (deterministic): source_id, name, lat, lon."""
    return con.execute(
        "SELECT source_id, name, lat, lon FROM services WHERE city = 'chicago' AND category = 'school' "
        "ORDER BY (lat - 41.8781) ^ 2 + (lon + 87.6298) ^ 2, source_id LIMIT 1").fetchone()


def _park(con) -> tuple:
    return con.execute(
        "SELECT source_id, lat, lon FROM services WHERE city = 'chicago' AND category = 'park' "
        "ORDER BY (lat - 41.8781) ^ 2 + (lon + 87.6298) ^ 2, source_id LIMIT 1").fetchone()


def _busiest_beat(con) -> str:
    return con.execute("SELECT beat FROM incidents_current WHERE city = 'chicago' AND beat IS NOT NULL "
                       "GROUP BY beat ORDER BY count(*) DESC, beat LIMIT 1").fetchone()[0]


def _address_block(con) -> str:
    return con.execute(
        "SELECT block FROM incidents_current WHERE city = 'chicago' AND lat IS NOT NULL AND occurred_at IS NOT NULL "
        "AND regexp_matches(block, '^[0-9]+XX [NSEW] [A-Z]+ (ST|AVE|BLVD|RD|DR)$') "
        "GROUP BY block ORDER BY count(*) DESC, block LIMIT 1").fetchone()[0]


def _spelled_out(block: str) -> str:
    """``001XX N STATE ST`` -> ``121 north state street``: an address on the block, as a person types it."""
    digits, street = block.split(" ", 1)
    words = street.split(" ")
    if len(words) >= 3:
        words[0] = {"N": "North", "S": "South", "E": "East", "W": "West"}.get(words[0], words[0])
    words[-1] = {"ST": "Street", "AVE": "Avenue", "BLVD": "Boulevard", "RD": "Road", "DR": "Drive",
                 "PL": "Place", "PKWY": "Parkway"}.get(words[-1], words[-1])
    return f"{int(digits.rstrip('X')) * 100 + 21} " + " ".join(words).lower()


# ---- what each case checks beyond the count, ids, CSV ids and URL round trip ----------------------------------

def _types_and_dates_extras(page, con, expected):
    p = hash_params(page)
    assert p["types"] == "THEFT,BATTERY" and p["from"] == "2018-09-01" and p["to"] == "2018-09-30"
    dw, dp = date_where(p)
    assert {r["primary_type"] for r in download_csv(page)} == {"THEFT", "BATTERY"}
    no_coords = con.execute("SELECT count(*) FROM incidents_current WHERE city = 'chicago' AND lat IS NULL "
                            f"AND primary_type IN ('THEFT', 'BATTERY') AND {dw}", dp).fetchone()[0]
    assert page.inner_text("#count-nomap") == f"{no_coords:,}" and no_coords > 0  # "not on the map"
    assert sum(1 for r in download_csv(page) if not r["lat"]) == no_coords
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
    assert page.locator("#inc-table tbody tr").count() == 25
    page.click("#page-next")
    assert "rows 26" in page.inner_text("#page-info")


def _hours(page) -> list[str]:
    return page.evaluate("Array.from(document.querySelectorAll('#sum-hour div')).map(d => d.title)")


def _across_midnight_extras(page, con, expected):
    p = hash_params(page)
    assert p["tod"] == "22:00-03:00" and p["ca"] == "32"
    hours = _hours(page)
    assert len(hours) == 24 and hours[12].endswith(": 0") and not hours[22].endswith(": 0")


def _same_day_window_extras(page, con, expected):
    """09:00-17:00: an incident at exactly 17:00 is out (there are some), 16:59 in."""
    hours = _hours(page)
    assert hours[16] != "16:00: 0" and hours[17] == "17:00: 0" and hours[8] == "08:00: 0"
    at_five = con.execute(f"{BASE} AND occurred_at >= DATE '2018-05-01' AND occurred_at < DATE '2018-11-13' "
                          "AND hour(occurred_at) = 17 AND minute(occurred_at) = 0").fetchall()
    assert len(at_five) > 10 and not {r[0] for r in at_five} & set(expected)


def _school_extras(page, con, expected):
    _, name, slat, slon = _school(con)
    assert page.evaluate("document.getElementById('f-near').selectedOptions[0].textContent") == name
    # DuckDB spatial's own sphere distance on the raw coordinates, as a cross-check (differs at most by
    # incidents within a few metres of the circle).
    spatial = sql_ids(con, "lat IS NOT NULL AND arrest AND ST_Distance_Sphere(ST_Point(lat, lon), "
                           f"ST_Point(?, ?)) <= {HALF_MILE} AND occurred_at >= DATE '2018-05-01' "
                           "AND occurred_at < DATE '2018-11-13'", [slat, slon])
    assert len(set(spatial) ^ set(expected)) <= max(3, len(expected) // 100)
    assert all(r["arrest"] == "true" for r in download_csv(page))
    assert page.inner_text("#count-nomap") == "0"


def _above_the_cap_extras(page, con, expected):
    """r = 1.1 x half a mile is read as half a mile: the control says so, the hash written back says so, and
    fewer incidents match than within the radius asked for."""
    assert float(page.input_value("#f-radius")) == HALF_MILE_M
    page.dispatch_event("#f-radius", "change")  # the page writes its state back: the cap
    assert float(hash_params(page)["r"]) == HALF_MILE_M
    where, binds = declared_where(con, page)
    wider = sql_ids(con, where, {**binds, "r": 1.1 * HALF_MILE_M})
    assert len(wider) > len(expected) + 10


def _beat_weekend_extras(page, con, expected):
    beat = _busiest_beat(con)
    assert hash_params(page)["beat"] == beat and hash_params(page)["dow"] == "6,7"
    # Block typed as text: resolved case-insensitively from the incidents' own block values.
    block = con.execute("SELECT block FROM incidents_current WHERE city = 'chicago' AND beat = ? "
                        "AND lat IS NOT NULL GROUP BY block ORDER BY count(*) DESC, block LIMIT 1", [beat]).fetchone()[0]
    page.fill("#f-block", block.lower())
    page.dispatch_event("#f-block", "change")
    assert block in page.inner_text("#block-resolved")
    assert 0 < count(page) <= len(expected)


def _park_extras(page, con, expected):
    p = hash_params(page)
    assert p["domestic"] == "false" and unquote(p["near"]) == f"park:{_park(con)[0]}"
    rows = download_csv(page)
    assert len({(r["ward"], r["district"], r["location_description"], r["domestic"]) for r in rows}) == 1
    assert {r["domestic"] for r in rows} == {"false"}


def _address_extras(page, con, expected):
    block = _address_block(con)
    resolved = page.inner_text("#block-resolved")
    assert f"Block: {block}" in resolved and "is on this block" in resolved
    assert hash_params(page)["r"] == "300"
    # A street name alone resolves to a block of that street; nonsense says so and matches nothing.
    street = block.split(" ", 1)[1]
    page.fill("#f-block", street.lower())
    page.dispatch_event("#f-block", "change")
    assert page.inner_text("#block-resolved").startswith("Block: ") and street in page.inner_text("#block-resolved")
    page.fill("#f-block", "99999 nowhere at all")
    page.dispatch_event("#f-block", "change")
    assert "No block matches" in page.inner_text("#block-resolved") and count(page) == 0


def _category_extras(page, con, expected):
    from civicmash.cities.profile import load_profile

    property_types = set(load_profile("chicago").risk.categories["property"])
    heads = page.evaluate("Array.from(document.querySelectorAll('.cm-group-head label strong')).map(s => s.textContent)")
    assert heads[:4] == ["violent", "property", "other", "non criminal"]
    assert {unquote(t) for t in hash_params(page)["types"].split(",")} <= property_types
    # One type of the group cleared: the group box shows "some" (indeterminate).
    first = page.evaluate("document.querySelector('#type-list .cm-group:nth-child(2) .cm-group-types input').id")
    page.uncheck(f"#{first}")
    assert page.evaluate("[document.getElementById('typegroup-1').checked, "
                         "document.getElementById('typegroup-1').indeterminate]") == [False, True]
    assert count(page) < len(expected)


# ---- the cases -------------------------------------------------------------------------------------------------

def _set_time_and_area(page, con):
    page.fill("#tod-from", "22:00")
    page.fill("#tod-to", "03:00")
    page.select_option("#f-ca", "32")
    page.dispatch_event("#tod-from", "change")


def _set_beat_and_weekend(page, con):
    page.select_option("#f-beat", _busiest_beat(con))
    for d in (1, 2, 3, 4, 5):
        page.uncheck(f"#dow-{d}")


def _set_ward_district_location_domestic(page, con):
    """The busiest ward, district and location description near the park, non-domestic: through the controls."""
    where, binds = declared_where(con, page)
    ward, district, loc = con.execute(
        "SELECT CAST(ward AS VARCHAR), CAST(district AS VARCHAR), location_description FROM incidents_current "
        f"WHERE city = 'chicago' AND occurred_at IS NOT NULL AND NOT domestic AND {where} AND ward IS NOT NULL "
        "AND district IS NOT NULL AND location_description IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC, 1, 2, 3 "
        "LIMIT 1", binds).fetchone()
    page.select_option("#f-ward", ward)
    page.select_option("#f-district", district)
    page.select_option("#f-loc", loc)
    page.select_option("#f-domestic", "false")


def _type_address_and_radius(page, con):
    page.fill("#f-block", _spelled_out(_address_block(con)))
    page.fill("#f-radius", "300")
    page.dispatch_event("#f-block", "change")


def _choose_property_by_keyboard(page, con):
    page.click("#types-none")
    assert count(page) == 0
    page.focus("#typegroup-1")  # "property", with the keyboard
    page.keyboard.press("Space")
    assert page.is_checked("#typegroup-1")


@dataclass(frozen=True)
class Case:
    name: str
    keys: tuple[str, ...]  # the hash keys of the declared filters the case sets
    minimum: int  # more matches than this (the comparison means something)
    hash_: Callable = lambda con: ""  # the URL hash opened
    act: Callable | None = None  # then (page, con): set controls
    extras: Callable | None = None  # (page, con, expected ids): what else the case shows


CASES = (
    Case("types-and-dates", ("types", "from", "to"), 1000,
         lambda con: "types=THEFT,BATTERY&from=2018-09-01&to=2018-09-30", extras=_types_and_dates_extras),
    Case("time-across-midnight-and-community-area", ("tod", "ca"), 100, act=_set_time_and_area,
         extras=_across_midnight_extras),
    Case("same-day-time-window", ("tod",), 1000, lambda con: "from=2018-05-01&to=2018-11-12&tod=09:00-17:00",
         extras=_same_day_window_extras),
    Case("half-mile-of-a-school-with-arrest", ("near", "r", "arrest"), 50,
         lambda con: f"from=2018-05-01&to=2018-11-12&near=school:{_school(con)[0]}&r={HALF_MILE}&arrest=true",
         extras=_school_extras),
    Case("radius-above-the-cap", ("near", "r"), 50,
         lambda con: f"from=2018-05-01&to=2018-11-12&near=school:{_school(con)[0]}&r={1.1 * HALF_MILE_M}",
         extras=_above_the_cap_extras),
    Case("beat-and-weekend-with-the-controls", ("beat", "dow"), 20, act=_set_beat_and_weekend,
         extras=_beat_weekend_extras),
    Case("park-600m-ward-district-location-not-domestic", ("near", "r", "ward", "district", "loc", "domestic"), 10,
         lambda con: f"from=2018-01-01&to=2018-11-12&near=park:{_park(con)[0]}&r=600",
         act=_set_ward_district_location_domestic, extras=_park_extras),
    Case("typed-address-300m", ("block", "r"), 100, lambda con: "from=2018-03-01&to=2018-10-31",
         act=_type_address_and_radius, extras=_address_extras),
    Case("a-category-by-keyboard", ("types",), 1000, act=_choose_property_by_keyboard, extras=_category_extras),
)


def test_every_declared_filter_has_a_case():
    """Adding a filter to maps/explorer_filters.py without a case here fails."""
    covered = {k for case in CASES for k in case.keys}
    assert {f.hash_key for f in FILTERS} <= covered, "declared filters without a case"
    assert covered <= {f.hash_key for f in FILTERS}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_filter_counts_equal_the_declared_sql(browser, chicago, case):
    con, path = chicago
    with explorer_page(browser, path, case.hash_(con)) as page:
        if case.act:
            case.act(page, con)
        assert set(case.keys) <= set(hash_params(page))
        where, binds = declared_where(con, page)
        expected = sql_ids(con, where, binds)
        assert count(page) == len(expected) > case.minimum
        assert page_ids(page) == expected
        rows = download_csv(page)
        assert len(rows) == len(expected) and sorted(r["id"] for r in rows) == expected
        check_roundtrip(browser, path, page, len(expected))
        if case.extras:
            case.extras(page, con, expected)


@pytest.mark.slow
def test_screenshots_labels_and_the_phone_layout(browser, chicago, screenshot_dir):
    _, path = chicago
    with explorer_page(browser, path, "types=THEFT,BATTERY&from=2018-09-01&to=2018-09-30") as page:
        page.screenshot(path=str(screenshot_dir / "chicago_explorer_desktop.png"))
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




@pytest.fixture(scope="module")
def testville_explorer(tmp_path_factory) -> Path:
    """The explorer of the tiny test city, whose incident #4 has the XSS string as its description."""
    from civicmash.maps import explorer
    from civicmash.maps.render import PageContext
    from tests.maps import maps_citydb

    tmp = tmp_path_factory.mktemp("explorer_popup")
    con = maps_citydb.make_city(tmp / "city.duckdb")
    try:
        return explorer.build(PageContext(con=con, city=maps_citydb.CITY, out_path=tmp / "explorer.html",
                                          synthetic=True))
    finally:
        con.close()


def test_incident_popup_shows_the_description_as_text(browser, testville_explorer):
    """Clicking each incident marker opens its popup; the planted description is text, not an element
    (no <img>, no alert: the page must stay clean)."""
    with explorer_page(browser, testville_explorer, "from=2018-01-01&to=2018-12-31") as page:
        assert page.evaluate("window.civicmap.explorer.mode()") == "markers"
        # Each marker's popup, read from the newest popup box (closed ones fade out after the next opens).
        texts = page.evaluate("""() => { const out = [];
            window.civicmap.map.eachLayer(l => { if (l.options && l.options.idx !== undefined && l.getLatLng) {
                l.fire('click', { latlng: l.getLatLng() }, true);
                const boxes = document.querySelectorAll('.leaflet-popup-content');
                out.push(boxes.length ? boxes[boxes.length - 1].textContent : null); } });
            return out; }""")
        assert len(texts) > 20 and all(texts)
        assert sum(XSS in t for t in texts) == 1
        assert page.evaluate("document.querySelectorAll('img[src=x], img[src=\"x\"]').length") == 0
        assert page.evaluate("document.querySelectorAll('.leaflet-popup-content img').length") == 0


def test_the_filter_selects_width_does_not_depend_on_their_options(browser, testville_explorer):
    """Each filter select's width is set by the panel, not measured from its longest option: an auto width is
    re-measured over every option whenever the choice changes (the place list's 1,285 options cost 70 ms of
    layout per change at 4x CPU throttle, the near-a-school filter's whole budget). Emptied, or given a very
    long option, every select keeps its width."""
    with explorer_page(browser, testville_explorer, viewport=(390, 844)) as page:
        widths = page.evaluate("""() => Array.from(document.querySelectorAll('#controls select')).map(s => {
            const keep = Array.from(s.options), w = [s.id, s.offsetWidth];
            s.replaceChildren(); w.push(s.offsetWidth);
            const o = document.createElement('option'); o.value = 'x'; o.textContent = 'a very long place name '.repeat(12);
            s.appendChild(o); s.value = 'x'; w.push(s.offsetWidth);
            s.replaceChildren(...keep); return w; })""")
        assert len(widths) >= 5
        assert [w for w in widths if not w[1] == w[2] == w[3]] == []


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
