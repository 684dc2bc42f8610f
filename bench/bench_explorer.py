"""Crime explorer with all 151,176 Chicago incidents vs a folium MarkerCluster map: file size, first render, filter time.

Setup (not timed): one child process runs the Prefect pipeline (``civic_pipeline("chicago", maps=["explorer"])``
over the replay portal, temporary PREFECT_HOME, analytics off) into a temporary directory outside the repo.

- ours: ``maps.explorer.build`` with ``start``/``end`` covering the whole data, so every incident is in the
  selected window (151,176 dated incidents, 150,253 with coordinates), Leaflet and leaflet.heat inlined, the
  incidents in one deflated binary blob (see docs/maps.md), no network.
- peer: ``folium.Map`` (default OpenStreetMap tiles) + ``folium.plugins.MarkerCluster`` of the same located
  points (one Marker each),
  saved as folium does (Leaflet, markercluster, jQuery, Bootstrap... as CDN links). The file size compares
  that file (the smaller of the two folium files: inlining Leaflet and markercluster makes it bigger). For render
  timing a copy gets Leaflet 1.9.4 and leaflet.markercluster 1.5.3 inlined from
  node_modules (folium 0.20 links Leaflet 1.9.3 and markercluster 1.1.0 from CDNs; the npm versions are
  close enough for timing) and every other request (jQuery, Bootstrap, fonts...) is aborted (network
  blocked), so both pages are timed offline.
- Also reported, not a goal: where our bytes go (incident blob, street-line blob, boundaries, the rest =
  libraries, page code and markup) and both files gzip-compressed (level 6, as a web server would send them).

Timing in headless Chromium (Debian's /usr/bin/chromium, 1280x860): first render = ``performance.now()``
(ms since navigation start) when the page has drawn its points (ours: ``civicmapReady`` after the data is
inflated and two animation frames; folium: the first ``.marker-cluster`` element exists, then two animation
frames). Filter = one change event on a control (community area, type, time of day, beat, near a school) through
to two animation frames (the canvas repaint), median of 5 runs each, in the points view; then switching to the
heat and rates views and one filter (community area) in each of them. The filter goal takes the worst median
of all of these.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench._common import REPO_ROOT, require_chicago, run_child

BUILD = """
import os, time
from prefect.testing.utilities import prefect_test_harness
from civicmash.flows.pipeline import civic_pipeline
t = time.perf_counter()
with prefect_test_harness(server_startup_timeout=120):
    summary = civic_pipeline("chicago", out={out!r}, replay={chicago!r}, maps=["explorer"])
result = {{"warehouse": summary["warehouse"], "pipeline_seconds": round(time.perf_counter() - t, 1)}}
"""

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FOLIUM_TIMEOUT_S = 240
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"


def _build_ours(warehouse: str, out: Path) -> dict:
    from civicmash.maps import explorer
    from civicmash.maps.render import PageContext
    from civicmash.warehouse.db import connect

    con = connect(warehouse, read_only=True)
    try:
        lo, hi = con.execute("SELECT min(occurred_at)::DATE, max(occurred_at)::DATE + 1 FROM incidents_current "
                             "WHERE city = 'chicago'").fetchone()
        t0 = time.perf_counter()
        from civicmash.cities.profile import load_profile

        options = {"start": lo.isoformat(), "end": hi.isoformat(),  # type list grouped as the pipeline does
                   "type_categories": load_profile("chicago").risk.categories}
        explorer.build(PageContext(con=con, city="chicago", out_path=out, title="Incident explorer",
                                   city_title="Chicago", options=options))
        seconds = time.perf_counter() - t0
        n, located = con.execute("SELECT count(*), count(lat) FROM incidents_current WHERE city = 'chicago' "
                                 "AND occurred_at IS NOT NULL").fetchone()
        pts = con.execute("SELECT lat, lon FROM incidents_current WHERE city = 'chicago' AND occurred_at IS NOT NULL "
                          "AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY occurred_at, source_id").fetchall()
    finally:
        con.close()
    return {"incidents": n, "located": located, "build_seconds": round(seconds, 2), "points": pts}


def _breakdown(path: Path) -> dict:
    """Bytes of our page by part: the incident blob, the base map (boundaries, streets), everything else."""
    html = path.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S).group(1)
    data = json.loads(block)

    def size(obj) -> int:
        return len(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

    parts = {"incident_blob": len(data["incidents"]["z"]),
             "boundaries": size(data["base"]["boundaries"]),
             "streets": len(data["streets"]["z"]) if data.get("streets") else 0,  # their own packed blob
             "rates": size(data["rates"])}
    parts["libraries_code_markup"] = len(html.encode("utf-8")) - sum(parts.values())
    return parts


def _build_folium(points, out: Path) -> float:
    import folium
    from folium.plugins import MarkerCluster

    t0 = time.perf_counter()
    # Default OpenStreetMap tile layer (a CDN URL, blocked when timed): without a tile layer the map has no
    # maxZoom and markercluster refuses to start ("Map has no maxZoom specified").
    m = folium.Map(location=[41.8781, -87.6298], zoom_start=11)
    MarkerCluster(locations=points).add_to(m)
    m.save(str(out))
    return time.perf_counter() - t0


def _inline_folium(src: Path, dst: Path) -> None:
    """Copy of the folium page with Leaflet + markercluster inlined (other CDN tags stay: blocked when timed)."""
    nm = REPO_ROOT / "node_modules"
    html = src.read_text(encoding="utf-8")
    inline = {
        r'<script src="[^"]*/leaflet@[\d.]+/dist/leaflet\.js"></script>':
            "<script>" + (nm / "leaflet/dist/leaflet.js").read_text() + "</script>",
        r'<script src="[^"]*/leaflet\.markercluster[^"]*\.js"></script>':
            "<script>" + (nm / "leaflet.markercluster/dist/leaflet.markercluster.js").read_text() + "</script>",
        r'<link rel="stylesheet" href="[^"]*/leaflet@[\d.]+/dist/leaflet\.css"\s*/?>':
            "<style>" + (nm / "leaflet/dist/leaflet.css").read_text() + "</style>",
        r'<link rel="stylesheet" href="[^"]*MarkerCluster\.Default\.css"\s*/?>':
            "<style>" + (nm / "leaflet.markercluster/dist/MarkerCluster.Default.css").read_text() + "</style>",
        r'<link rel="stylesheet" href="[^"]*MarkerCluster\.css"\s*/?>':
            "<style>" + (nm / "leaflet.markercluster/dist/MarkerCluster.css").read_text() + "</style>",
    }
    for pattern, repl in inline.items():
        html, k = re.subn(pattern, lambda _m, r=repl: r, html)
        if not k:
            raise RuntimeError(f"folium page has no tag matching {pattern}")
    dst.write_text(html, encoding="utf-8")


def _time_pages(ours: Path, folium_inline: Path, school_value: str) -> dict:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    out: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            firsts, leaked = [], []
            for _ in range(3):
                ctx = browser.new_context(viewport={"width": 1280, "height": 860})
                page = ctx.new_page()
                page.on("request", lambda r: leaked.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
                page.goto(ours.as_uri())
                page.wait_for_function("() => window.civicmapReady === true", timeout=60_000)
                firsts.append(page.evaluate("performance.now()"))
                if len(firsts) < 3:
                    ctx.close()
            out["ours_first_render_ms"] = round(statistics.median(firsts))
            out["ours_matching_at_load"] = page.evaluate("window.civicmap.explorer.count()")
            changes = {
                "community_area": "document.getElementById('f-ca').value = '25'; el = document.getElementById('f-ca');",
                "type_none_then_theft": "document.getElementById('types-none').click(); el = document.getElementById('type-0'); el.checked = true;",
                "time_of_day_22_03": "document.getElementById('tod-from').value = '22:00'; document.getElementById('tod-to').value = '03:00'; el = document.getElementById('tod-to');",
                "beat": "document.getElementById('f-beat').value = '0421'; el = document.getElementById('f-beat');",
                "near_school": f"document.getElementById('f-near').value = {school_value!r}; el = document.getElementById('f-near');",
            }
            filt = {}
            for name, js in changes.items():
                runs = []
                for _ in range(5):
                    page.evaluate("document.getElementById('filters-reset').click()")
                    ms = page.evaluate("() => new Promise(res => { var el; const t = performance.now(); " + js +
                                       " el.dispatchEvent(new Event('change')); requestAnimationFrame(() => "
                                       "requestAnimationFrame(() => res(performance.now() - t))); })")
                    runs.append(ms)
                filt[name] = {"median_ms": round(statistics.median(runs), 1), "max_ms": round(max(runs), 1),
                              "matching": page.evaluate("window.civicmap.explorer.count()")}
            for view in ("heat", "rates"):
                runs, switch = [], []
                for _ in range(5):
                    page.evaluate("document.getElementById('view-points').click(); "
                                  "document.getElementById('filters-reset').click()")
                    switch.append(page.evaluate(
                        "() => new Promise(res => { const t = performance.now(); "
                        f"document.getElementById('view-{view}').click(); requestAnimationFrame(() => "
                        "requestAnimationFrame(() => res(performance.now() - t))); })"))
                    runs.append(page.evaluate("() => new Promise(res => { var el; const t = performance.now(); "
                                              + changes["community_area"] + " el.dispatchEvent(new Event('change')); "
                                              "requestAnimationFrame(() => requestAnimationFrame(() => "
                                              "res(performance.now() - t))); })"))
                filt[f"switch_to_{view}"] = {"median_ms": round(statistics.median(switch), 1),
                                             "max_ms": round(max(switch), 1)}
                filt[f"{view}_community_area"] = {"median_ms": round(statistics.median(runs), 1),
                                                  "max_ms": round(max(runs), 1),
                                                  "matching": page.evaluate("window.civicmap.explorer.count()")}
            out["ours_filter"] = filt
            out["ours_filter_worst_median_ms"] = max(v["median_ms"] for v in filt.values())
            out["ours_requests_off_machine"] = leaked
            ctx.close()

            ctx = browser.new_context(viewport={"width": 1280, "height": 860})
            page = ctx.new_page()
            blocked = []
            page.route(re.compile(r"^https?://"), lambda route: (blocked.append(route.request.url), route.abort()))
            t0 = time.perf_counter()
            try:
                page.goto(folium_inline.as_uri(), timeout=FOLIUM_TIMEOUT_S * 1000, wait_until="commit")
                page.wait_for_function("() => document.querySelector('.marker-cluster') !== null",
                                       timeout=FOLIUM_TIMEOUT_S * 1000, polling=200)
                out["folium_first_render_ms"] = round(page.evaluate(TWO_FRAMES))
            except PlaywrightTimeout:
                out["folium_first_render_ms"] = None
                out["folium_note"] = f"no cluster drawn within {FOLIUM_TIMEOUT_S} s: first render > {FOLIUM_TIMEOUT_S} s"
            out["folium_wall_seconds"] = round(time.perf_counter() - t0, 2)
            out["folium_blocked_requests"] = len(blocked)
            ctx.close()
        finally:
            browser.close()
    return out


def run() -> dict:
    chicago = require_chicago()
    work = Path(tempfile.mkdtemp(prefix="civicmash-bench-explorer-"))
    try:
        built = run_child(BUILD.format(out=str(work / "out"), chicago=str(chicago)),
                          env={"PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                               "PREFECT_LOGGING_LEVEL": "WARNING"})
        ours_path, folium_path, folium_inline = work / "explorer.html", work / "folium.html", work / "folium_inline.html"
        ours = _build_ours(built["warehouse"], ours_path)
        folium_seconds = _build_folium(ours.pop("points"), folium_path)
        _inline_folium(folium_path, folium_inline)
        from civicmash.warehouse.db import connect
        con = connect(built["warehouse"], read_only=True)
        sid = con.execute("SELECT source_id FROM services WHERE city = 'chicago' AND category = 'school' "
                          "ORDER BY (lat - 41.8781) ^ 2 + (lon + 87.6298) ^ 2 LIMIT 1").fetchone()[0]
        con.close()
        timing = _time_pages(ours_path, folium_inline, f"school:{sid}")
        size_ours, size_folium = ours_path.stat().st_size, folium_path.stat().st_size
        ratio = size_ours / size_folium
        gz_ours, gz_folium = (len(gzip.compress(p.read_bytes(), 6)) for p in (ours_path, folium_path))
        result = {
            **ours, "pipeline_seconds": built["pipeline_seconds"], "folium_build_seconds": round(folium_seconds, 1),
            "ours_bytes": size_ours, "ours_bytes_breakdown": _breakdown(ours_path),
            "folium_bytes": size_folium, "folium_inline_bytes": folium_inline.stat().st_size,
            "size_ratio": round(ratio, 4),
            "gzip": {"ours_bytes": gz_ours, "folium_bytes": gz_folium, "ratio": round(gz_ours / gz_folium, 4)},
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()], **timing,
            "goals": {"size_ratio_le_0.1": ratio <= 0.1, "first_render_lt_2000ms": timing["ours_first_render_ms"] < 2000,
                      "filter_lt_300ms": timing["ours_filter_worst_median_ms"] < 300},
        }
        result["summary"] = (
            f"{ours['incidents']:,} incidents ({ours['located']:,} located): ours {size_ours / 1e6:.1f} MB vs folium "
            f"MarkerCluster {size_folium / 1e6:.1f} MB (ratio {ratio:.3f}); first render ours "
            f"{timing['ours_first_render_ms']} ms vs folium "
            f"{timing['folium_first_render_ms'] if timing['folium_first_render_ms'] is not None else '>%d000' % FOLIUM_TIMEOUT_S} ms "
            f"(Leaflet/markercluster inlined, network blocked); filter worst median {timing['ours_filter_worst_median_ms']} ms "
            f"(points, heat and rates views); gzip-compressed {gz_ours / 1e6:.1f} vs {gz_folium / 1e6:.1f} MB")
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
