"""Safe-route page routing any click pair in the browser: page size added, load, per-query time (issue 19, item 3).

Builds Chicago's ``safe_route.html`` (the pipeline's page, with the walk graph and exposure it carries for routing in
the browser: ``maps/safe_route.py router_blob``), opens it in headless Chromium (Debian's ``/usr/bin/chromium``) and
times, unthrottled and with the CPU slowed 4x (DevTools ``Emulation.setCPUThrottlingRate``, as bench_explorer does):
the page load (navigation to ``civicmapReady``: the page drawn and its router built), the router build alone, and one
in-browser route query (snap both ends + the 15-weighting sweep + Pareto front + recommendation) over 50 random
pairs of clicks 0.5-4 km apart. Every pair's answer is also checked against Python's ``plan_routes`` (same nodes,
same numbers). The peer of issue 19, networkx, does not run in a browser: the reference is ``civicmash route`` end to
end (``bench/results/routing.json``, ``chicago_merged.cli_route.warm``), the answer a reader without the page's
router would wait for. ``CIVICMASH_BENCH_WAREHOUSE=FILE`` uses an existing Chicago warehouse instead of running the
pipeline; ``CIVICMASH_BENCH_LA_WAREHOUSE=FILE`` adds the Los Angeles page's sizes.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench._common import CHROMIUM_ARGS, REPO_ROOT, chicago_page_run, require_chicago
from civicmash.devkit.walk_pairs import click_pairs

PAIRS = 50
LOADS = 3
QUERY_JS = """([a, b]) => { const r = window.civicmap.safeRoute.router.route(a, b);
  if (r.error) return {error: r.error};
  return {ms: r.ms, src: r.src, dst: r.dst, shortest: r.plan.shortest.nodes, safer: r.plan.safer.nodes,
          numbers: [r.plan.shortest.length_m, r.plan.shortest.exposure, r.plan.safer.length_m, r.plan.safer.exposure],
          comparison: r.plan.comparison}; }"""


def _pct(values, q) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def build_page(city: str, warehouse: str, out: Path) -> Path:
    from civicmash.cities.profile import load_profile
    from civicmash.flows.context import map_options
    from civicmash.maps import safe_route
    from civicmash.maps.render import PageContext
    from civicmash.warehouse import db

    profile = load_profile(city)
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        ctx = PageContext(con=con, city=profile.name, out_path=out, city_title=profile.title,
                          synthetic=profile.synthetic, options=map_options(profile, "safe_route"),
                          languages=tuple(profile.languages))
        return safe_route.build(ctx)


def page_sizes(path: Path, graph, options: dict) -> dict:
    """The page's size, raw and gzip -9, against the page as it was before routing in the browser: no router blob
    (the base64 string of ``data.router.z``) and the base map's street lines as their own JSON copy
    (``_payload.streets_payload``; the page now draws them from the router's graph, as the locator does)."""
    from civicmash.maps import _payload
    from civicmash.maps.render import json_for_html

    html = path.read_text(encoding="utf-8")
    m = re.search(r'"router":\{"z":"([A-Za-z0-9+/=]+)"', html)
    assert m, "the page carries no router blob"
    before = html[:m.start(1)] + html[m.end(1):]
    streets = json_for_html(_payload.streets_payload(graph, max_edges=int(options.get("max_street_edges", 150_000))))
    assert before.count('"streets":null},"plan"') == 1
    before = before.replace('"streets":null},"plan"', '"streets":' + streets + '},"plan"')
    gz = lambda s: len(gzip.compress(s.encode("utf-8"), 9))  # noqa: E731
    raw_now, raw_before, gz_now, gz_before = len(html.encode("utf-8")), len(before.encode("utf-8")), gz(html), gz(before)
    return {"page_bytes": raw_now, "page_gzip_bytes": gz_now, "before_bytes": raw_before, "before_gzip_bytes": gz_before,
            "added_bytes": raw_now - raw_before, "added_gzip_bytes": gz_now - gz_before,
            "router_blob_bytes": len(m.group(1)), "router_blob_gzip_bytes": gz(m.group(1)),
            "base_streets_json_bytes": len(streets)}


def python_reference(city: str, warehouse: str, pairs) -> list[dict]:
    """Python's answer per pair (snap_ends + plan_routes on the page's risk), for the identity check."""
    import numpy as np
    from civicmash.analysis.risk import parse_at
    from civicmash.analysis.route_planner import (
        DEFAULT_DETOUR,
        plan_routes,
        risk_model,
        snap_ends,
    )
    from civicmash.analysis.routing import load_graph
    from civicmash.cities.profile import load_profile
    from civicmash.flows.context import map_options
    from civicmash.warehouse import db

    options = map_options(load_profile(city), "safe_route")
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        graph = load_graph(con, city)
        model, _ = risk_model(con, city=city, graph=graph, options=options)
    risk = np.asarray(model.edge_risk(parse_at(options.get("at"))), dtype=float)
    walk = np.flatnonzero(graph.walk_mask)
    out = []
    for a, b in pairs:
        src, dst, _, _ = snap_ends(graph, a, b)
        p = plan_routes(graph, risk, src, dst, detour=float(options.get("detour", DEFAULT_DETOUR)),
                        margin=float(options.get("margin") or 0.0))
        out.append({"src": src, "dst": dst, "shortest": p["shortest"]["nodes"], "safer": p["safer"]["nodes"],
                    "numbers": [p["shortest"]["length_m"], p["shortest"]["exposure"], p["safer"]["length_m"],
                                p["safer"]["exposure"]], "comparison": p["comparison"]})
    return out, walk, graph


def time_page(path: Path, pairs, *, throttle: float) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {"cpu_throttling_rate": throttle}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            loads, builds, answers = [], [], []
            for k in range(LOADS):
                ctx = browser.new_context(viewport={"width": 1280, "height": 860})
                page = ctx.new_page()
                ctx.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
                page.goto(path.as_uri())
                page.wait_for_function("() => window.civicmapReady === true", timeout=int(120_000 * max(1, throttle)))
                loads.append(page.evaluate("performance.now()"))
                builds.append(page.evaluate("[window.civicmap.safeRoute.inflateMs, window.civicmap.safeRoute.loadMs, "
                                            "window.civicmap.safeRoute.streetsMs]"))
                if k == LOADS - 1:
                    page.evaluate(QUERY_JS, pairs[0])          # one warm-up query (JIT), not counted
                    answers = [page.evaluate(QUERY_JS, p) for p in pairs]
                ctx.close()
        finally:
            browser.close()
    ms = [a["ms"] for a in answers if "ms" in a]
    out.update({"page_load_ms_p50": round(statistics.median(loads)), "page_load_runs_ms": [round(x) for x in loads],
                "inflate_ms_p50": round(statistics.median(b[0] for b in builds), 1),
                "router_build_ms_p50": round(statistics.median(b[1] for b in builds), 1),
                "street_lines_ms_p50": round(statistics.median(b[2] for b in builds), 1), "queries": len(ms),
                "query_ms": {"p50": round(statistics.median(ms), 2), "p95": round(_pct(ms, 95), 2),
                             "max": round(max(ms), 2), "mean": round(statistics.fmean(ms), 2)}})
    return out, answers


def run() -> dict:
    chicago = require_chicago()
    work = Path(tempfile.mkdtemp(prefix="civicmash-bench-safe-route-page-"))
    try:
        built = chicago_page_run(work, chicago, page="safe_route")   # or CIVICMASH_BENCH_WAREHOUSE's
        t = time.perf_counter()
        page = build_page("chicago", built["warehouse"], work / "safe_route.html")
        build_s = round(time.perf_counter() - t, 2)
        from civicmash.analysis.routing import load_graph
        from civicmash.cities.profile import load_profile
        from civicmash.flows.context import map_options
        from civicmash.warehouse import db

        with contextlib.closing(db.connect(built["warehouse"], read_only=True)) as con:
            graph = load_graph(con, "chicago")
        result: dict = {"page_build_s": build_s,
                        "chicago": page_sizes(page, graph, map_options(load_profile("chicago"), "safe_route"))}
        pairs = click_pairs(graph, PAIRS, seed=2019, near_m=(500.0, 4000.0))
        reference, walk, graph = python_reference("chicago", built["warehouse"], pairs)
        result["chicago"].update({"nodes": int(graph.walk_mask.sum()),
                                  "edges": int((graph.walk_mask[graph.eu] & graph.walk_mask[graph.ev]).sum())})
        for label, rate in (("unthrottled", 1.0), ("throttle_4x", 4.0)):
            timing, answers = time_page(page, pairs, throttle=rate)
            same = sum(1 for a, r in zip(answers, reference)
                       if "error" not in a and [int(walk[i]) for i in a["shortest"]] == r["shortest"]
                       and [int(walk[i]) for i in a["safer"]] == r["safer"] and a["numbers"] == r["numbers"]
                       and a["comparison"] == r["comparison"])
            timing["same_answer_as_python"] = f"{same}/{len(pairs)}"
            result[label] = timing
        routing = json.loads((REPO_ROOT / "bench" / "results" / "routing.json").read_text())
        cli = routing["chicago_merged"]["cli_route"]["warm"]
        result["peer"] = {"name": "civicmash route end to end (warm, compiled engine)",
                          "source": "bench/results/routing.json chicago_merged.cli_route.warm",
                          "measured_at": routing.get("measured_at"), "wall_p50_ms": cli["wall_p50_ms"],
                          "wall_p95_ms": cli["wall_p95_ms"]}
        la = os.environ.get("CIVICMASH_BENCH_LA_WAREHOUSE")
        if la:
            la_page = build_page("los_angeles", la, work / "la_safe_route.html")
            with contextlib.closing(db.connect(la, read_only=True)) as con:
                lg = load_graph(con, "los_angeles")
            result["los_angeles"] = page_sizes(la_page, lg, map_options(load_profile("los_angeles"), "safe_route"))
            result["los_angeles"].update({"nodes": int(lg.walk_mask.sum()),
                                          "edges": int((lg.walk_mask[lg.eu] & lg.walk_mask[lg.ev]).sum())})
        c, u, t4 = result["chicago"], result["unthrottled"], result["throttle_4x"]
        mb = lambda b: f"{b / 1e6:.2f} MB"
        result["summary"] = (
            f"Chicago walk graph {c['nodes']:,} nodes / {c['edges']:,} edges in the page (exact float64 lengths and exposure): "
            f"page {mb(c['page_bytes'])} ({c['added_bytes'] / 1e6:+.2f} MB; the base streets now drawn from it), "
            f"{mb(c['page_gzip_bytes'])} gzip ({c['added_gzip_bytes'] / 1e6:+.2f} MB); "
            f"one in-browser route (snap + 15-weighting sweep + Pareto + recommendation) p50 {u['query_ms']['p50']} ms, "
            f"p95 {u['query_ms']['p95']} ms ({t4['query_ms']['p50']} / {t4['query_ms']['p95']} ms at 4x CPU throttle) "
            f"vs `civicmash route` end to end p50 {cli['wall_p50_ms']} ms; page load {u['page_load_ms_p50']} ms "
            f"({t4['page_load_ms_p50']} ms at 4x; router build {u['router_build_ms_p50']} ms); same answers as Python "
            f"{u['same_answer_as_python']}"
            + (f"; Los Angeles {result['los_angeles']['nodes']:,} nodes: page {result['los_angeles']['added_bytes'] / 1e6:+.2f} MB"
               f" ({result['los_angeles']['added_gzip_bytes'] / 1e6:+.2f} MB gzip)" if "los_angeles" in result else ""))
        result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
