"""`civicmash publish --serve`: a real Datasette server on loopback, read in Chromium.

The sample city's warehouse (sample_run) is published and served by the CLI itself (a `datasette serve`
subprocess on 127.0.0.1 and a free port). In Chromium: the explorer's canned query shows the number the figure's
SQL gives on the DuckDB warehouse and the number the explorer map opens with; its CSV export link returns the
same rows; a filtered table permalink (`/sample/incidents?primary_type=...`) shows the filtered count, and its
CSV (all rows, streamed) holds exactly those records.
"""

from __future__ import annotations

import csv
import io
import os
import select
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from civicmash.warehouse.db import connect
from civicmash.warehouse.figures import run_figure
from civicmash.warehouse.publish import example_params

from tests.browser.chromium import clean_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def datasette(sample_run, tmp_path_factory):
    """`civicmash publish --serve --port 0` as a subprocess; yields the database URL printed; stopped after."""
    to = tmp_path_factory.mktemp("datasette_serve")
    with open(to / "server.log", "w") as log:
        url = yield from _serve(sample_run["warehouse"], to, log)
    host = urllib.parse.urlsplit(url)
    with pytest.raises(OSError):   # the server is gone with the CLI
        urllib.request.urlopen(f"{host.scheme}://{host.netloc}/", timeout=5)


def _serve(warehouse, to, log):
    """Start the CLI; yield the URL it prints once Datasette answers; when resumed, stop it (SIGTERM: the CLI
    stops its Datasette child) and return the URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "civicmash.flows.cli", "publish", "--db", str(warehouse),
         "--city", "sample", "--to", str(to / "site"), "--serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    try:
        url, seen, deadline = None, [], time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                line = proc.stdout.readline()
                seen.append(line)
                if line.startswith("Datasette: http://127.0.0.1:"):
                    url = line.split()[1]
        assert url, f"no Datasette URL printed: {seen!r}; log: {(to / 'server.log').read_text()[-2000:]}"
        assert url.endswith("/sample")
        yield url
        return url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)     # the CLI stops its Datasette child, then exits
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)   # the session started for this test: the CLI and its child
                proc.wait()
        proc.stdout.close()


@pytest.fixture(scope="module")
def duck(sample_run):
    con = connect(sample_run["warehouse"], read_only=True)
    yield con
    con.close()


def fetch_csv(url: str) -> list[list[str]]:
    with urllib.request.urlopen(url, timeout=60) as resp:
        assert resp.status == 200
        return list(csv.reader(io.StringIO(resp.read().decode("utf-8"))))


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert errors == []


def test_canned_query_equals_the_warehouse_figure_and_the_map(datasette, duck, page, browser, sample_run):
    ex = example_params(duck, "sample")["explorer"]
    params = {p: ex[p] for p in ("city", "from", "to")}
    want = run_figure(duck, "explorer.total", **params)[0][0]

    # the canned query opened bare, then through its description's link to this city's values
    page.goto(f"{datasette}/explorer_total")
    assert "Matching incidents" in page.inner_text("h1")
    page.click("text=Run it with")
    page.wait_for_selector("td.col-incidents")
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query)) == params
    shown = int(page.inner_text("td.col-incidents").replace(",", ""))
    assert shown == want > 0

    # the explorer map opens on the same window and shows the same number
    with clean_page(browser, sample_run["maps"]["explorer"]) as explorer:
        assert (explorer.input_value("#date-from"), explorer.input_value("#date-to")) == (ex["from"], ex["to"])
        assert int(explorer.inner_text("#count-match").replace(",", "")) == shown

    # the CSV export link of the query page returns the same rows
    href = page.get_attribute("a[href*='.csv']", "href")
    rows = fetch_csv(urllib.parse.urljoin(page.url, href))
    assert rows == [["incidents"], [str(want)]]


def test_filtered_table_permalink_and_its_csv(datasette, duck, page):
    kind = duck.execute("SELECT primary_type FROM incidents WHERE city = 'sample' GROUP BY 1 "
                        "ORDER BY count(*) DESC LIMIT 1 OFFSET 1").fetchone()[0]
    want = sorted(r[0] for r in duck.execute(
        "SELECT source_id FROM incidents WHERE city = 'sample' AND primary_type = ?", [kind]).fetchall())
    permalink = f"{datasette}/incidents?" + urllib.parse.urlencode({"primary_type": kind})
    page.goto(permalink)
    heading = page.inner_text("h3")
    assert heading.startswith(f"{len(want):,} rows where primary_type = "), heading
    assert kind in heading
    facets = page.inner_text(".facet-results")   # the metadata's facets: type, area, date
    assert "primary_type" in facets and "community_area" in facets and "occurred_at" in facets

    href = page.get_attribute("a[href*='.csv']", "href")
    csv_url = urllib.parse.urljoin(page.url, href)
    assert "primary_type=" in csv_url
    rows = fetch_csv(csv_url + "&_stream=on")   # every row, not only the first page
    header, body = rows[0], rows[1:]
    assert {"dataset", "source_id", "fetched_at", "load_run_id"} <= set(header)   # per-row provenance
    got = sorted(r[header.index("source_id")] for r in body)
    assert got == want and len(got) > 100
    assert {r[header.index("primary_type")] for r in body} == {kind}

    # two filters and a sort stay in the permalink
    area = duck.execute("SELECT community_area FROM incidents WHERE city = 'sample' AND primary_type = ? "
                        "AND community_area IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1", [kind]).fetchone()[0]
    n = duck.execute("SELECT count(*) FROM incidents WHERE city = 'sample' AND primary_type = ? AND community_area = ?",
                     [kind, area]).fetchone()[0]
    page.goto(permalink + f"&community_area={area}&_sort_desc=occurred_at")
    assert page.inner_text("h3").startswith(f"{n:,} rows where")
