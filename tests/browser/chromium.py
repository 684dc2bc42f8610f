"""Driving headless Chromium (Debian's /usr/bin/chromium through Playwright) for the map pages."""

from __future__ import annotations

import contextlib
from pathlib import Path

LOCAL = ("file:", "data:", "blob:", "about:")


def assert_no_leaks(log: dict) -> None:
    """Every request the page made stayed on this machine (file://, data:, blob:, about:)."""
    leaks = [u for u in log["requests"] if not u.startswith(LOCAL)]
    assert leaks == [], f"requests left the machine: {leaks}"


def open_page(browser, path, *, hash_: str = "", viewport=(1280, 860), timeout_ms: int = 30_000):
    """Open a file:// page (with an optional URL ``hash_`` the page reads on load), record console
    errors, page errors, requests and dialogs, and wait until the page says its layers are drawn
    (``window.civicmapReady``). Downloads are accepted. Returns (context, page, log)."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
    page = ctx.new_page()
    log = {"console": [], "errors": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("request", lambda r: log["requests"].append(r.url))

    def on_dialog(d):
        log["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.add_init_script("window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };")
    page.goto(Path(path).resolve().as_uri() + (("#" + hash_) if hash_ else ""))
    page.wait_for_function("() => window.civicmapReady === true", timeout=timeout_ms)
    return ctx, page, log


def assert_clean(page, log: dict) -> None:
    """No page error, no console error, no dialog or alert, no request off the machine."""
    assert log["errors"] == [], log["errors"]
    assert log["console"] == [], log["console"]
    assert log["dialogs"] == [], log["dialogs"]
    assert page.evaluate("window.__alerts") == []
    assert_no_leaks(log)


@contextlib.contextmanager
def clean_page(browser, path, **options):
    """:func:`open_page` as a context: yields the page; on leaving normally the page must be clean
    (:func:`assert_clean`), and its browser context is always closed."""
    ctx, page, log = open_page(browser, path, **options)
    try:
        yield page
        assert_clean(page, log)
    finally:
        ctx.close()


def drawn_layers(page) -> dict:
    """How much the Leaflet map drew: canvases, SVG paths and layers."""
    return page.evaluate("""() => {
        const m = document.getElementById('map');
        if (!m) return null;
        let layers = 0;
        window.civicmap.map.eachLayer(() => { layers++; });
        return { canvases: m.querySelectorAll('canvas').length, paths: m.querySelectorAll('path').length, layers };
    }""")




AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list:
    """axe-core's WCAG violations on the page as it is now: ``[id, impact, nodes, first node's html]`` each.
    axe-core comes from npm (package.json; `make install` runs npm ci): missing, the test fails, not skips."""
    assert AXE.is_file(), f"{AXE} is missing: run `make install` (npm ci installs axe-core)"
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("async () => { const r = await axe.run(document, { resultTypes: ['violations'] }); "
                         "return r.violations.map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].html]); }")
