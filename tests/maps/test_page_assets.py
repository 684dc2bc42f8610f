"""Pages are Python for the data plus real asset files, rendered by one shared renderer.

* No module of ``maps/`` holds JavaScript, CSS or HTML in a string literal (docstrings aside): page code,
  style and markup live under ``maps/templates/`` where they can be read and linted.
* Every asset file a page names exists, is inlined into the page it builds (with the shared shell, its CSS
  and the Leaflet files in load order, each script under the page's nonce) and parses as the shell runs it.
* Every builder takes one :class:`~civicmash.maps.render.PageContext`.
"""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from civicmash.maps import explorer, locator, render, safe_route, spending
from civicmash.maps.assets import safe_inline, vendor_assets
from civicmash.maps.render import Page, PageContext
from tests.maps import maps_citydb as citydb

MAPS_DIR = Path(render.__file__).resolve().parent
BUILT = {"explorer": explorer, "locator": locator, "safe_route": safe_route, "spending": spending}

# Markers of each language, chosen so that Python code, SQL, regular expressions and error messages do not
# match them (each is checked against the real page assets below, so a marker that stops matching is noticed).
_HTML = re.compile(r"<\s*/?\s*(?:html|head|body|div|span|p|h[1-6]|table|thead|tbody|tr|td|th|ul|ol|li|a|b|"
                   r"strong|em|select|option|input|label|button|script|style|link|meta|header|footer|details|"
                   r"summary|br|img|svg)\b[^<]*>", re.IGNORECASE)
_JS = re.compile(r"\bfunction\s*\w*\s*\(|=>|\bdocument\.|\bwindow\.\w|addEventListener|\bvar\s+\w+\s*=|"
                 r"\bL\.[a-zA-Z]+\(|\.textContent\b")
_CSS = re.compile(r"[\w\])*-]\s*\{\s*[a-z-]+\s*:[^;{}]+;")
MARKERS = {"HTML": _HTML, "JavaScript": _JS, "CSS": _CSS}


def _modules(*, pattern: str) -> list[str]:
    return sorted(p.relative_to(MAPS_DIR).as_posix() for p in MAPS_DIR.glob(pattern))


def _docstring_ids(tree: ast.AST) -> set[int]:
    """ids of string constants that are documentation: any string standing alone as a statement."""
    return {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def embedded_code(source: str) -> list[tuple[int, str, str]]:
    """(line, language, excerpt) for every string literal of ``source`` that looks like page code or markup."""
    tree = ast.parse(source)
    docs = _docstring_ids(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            for language, marker in MARKERS.items():
                hit = marker.search(node.value)
                if hit:
                    found.append((node.lineno, language, node.value[max(0, hit.start() - 20):hit.end() + 20]))
    return found


@pytest.mark.parametrize("module", _modules(pattern="**/*.py"))
def test_no_javascript_css_or_html_in_python_strings(module):
    found = embedded_code((MAPS_DIR / module).read_text(encoding="utf-8"))
    assert not found, f"maps/{module} keeps page code in Python strings (move it to maps/templates/): " + "; ".join(
        f"line {line}: {language} {excerpt!r}" for line, language, excerpt in found)


def test_the_markers_see_the_assets_they_guard():
    """Each language's marker finds the real asset files, and the check sees a planted string."""
    templates = render.TEMPLATES
    assert _JS.search((templates / "locator.js").read_text()) and _JS.search((templates / "spending.js").read_text())
    assert _HTML.search((templates / "safe_route_controls.html").read_text())
    assert _CSS.search((templates / "page.css").read_text())
    planted = 'X = """\n<h2>Legend</h2>\n"""\nY = "el.addEventListener(\'click\', f)"\nZ = "body { margin: 0; }"\n'
    assert [language for _, language, _ in embedded_code(planted)] == ["HTML", "JavaScript", "CSS"]
    assert embedded_code('"""A docstring may say <div> or function (C, data)."""\nSQL = "SELECT 1 WHERE a > ?"\n') == []


def test_every_page_declares_its_assets_and_takes_one_context():
    for name, module in BUILT.items():
        assert isinstance(module.PAGE, Page), name
        assert module.PAGE.scripts[-1] == f"{name}.js"
        assert all((render.TEMPLATES / f).is_file() for f in module.PAGE.asset_files()), name
        assert list(inspect.signature(module.build).parameters) == ["ctx"], name


def test_a_page_naming_a_missing_asset_fails_when_declared():
    with pytest.raises(FileNotFoundError, match=r"'Atlas'.*atlas_controls\.html"):
        Page(title="Atlas", scripts=("spending.js",), controls="atlas_controls.html")
    with pytest.raises(TypeError, match="tuple"):
        Page(title="Atlas", scripts="spending.js")


def test_page_context_is_checked_and_read_only(tmp_path):
    with pytest.raises(ValueError, match="city"):
        PageContext(con=None, city="", out_path=tmp_path / "x.html")
    with pytest.raises(ValueError, match="out_path"):
        PageContext(con=None, city="testville", out_path=None)
    options = {"n": 2}
    ctx = PageContext(con=None, city="testville", out_path=str(tmp_path / "x.html"), options=options)
    assert ctx.out_path == tmp_path / "x.html" and ctx.display_city == "testville"
    options["n"] = 5  # the caller's dict is copied ...
    assert ctx.options["n"] == 2
    with pytest.raises(TypeError):  # ... and no builder can change the options for the next one
        ctx.options["n"] = 3
    with pytest.raises(AttributeError):
        ctx.city = "elsewhere"


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("page_assets")
    con = citydb.make_city(tmp / "city.duckdb")
    options = {"safe_route": {"from": citydb.ROUTE_FROM, "to": citydb.ROUTE_TO, "detour": 0.3}}
    try:
        html = {}
        for name, module in BUILT.items():
            ctx = PageContext(con=con, city=citydb.CITY, out_path=tmp / f"{name}.html", city_title="Testville",
                              synthetic=True, options=options.get(name, {}),
                              title="Nearest services" if name == "locator" else None)
            path = module.build(ctx)
            assert path == ctx.out_path
            html[name] = path.read_text(encoding="utf-8")
        return html
    finally:
        con.close()


def _nonce(html: str) -> str:
    return re.search(r"script-src \S*nonce-([A-Za-z0-9_-]+)", html).group(1)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_named_asset_is_inlined_into_the_page(pages, name):
    html, page = pages[name], BUILT[name].PAGE
    for asset in ["page.css", "shell.js", *page.asset_files()]:
        if asset.endswith(".j2"):  # a template drawn from the page's own variables: checked by its page's tests
            continue
        text = (render.TEMPLATES / asset).read_text(encoding="utf-8").strip()
        tag = "script" if asset.endswith(".js") else "style"
        assert safe_inline(text, tag) in html, f"{asset} is not inlined into {name}.html"
    # the shell under the page's nonce, then the page's own script inside the shell's wrapper
    nonce = _nonce(html)
    shell, script = (safe_inline((render.TEMPLATES / f).read_text(encoding="utf-8").strip(), "script")
                     for f in ("shell.js", page.scripts[0]))
    shell_at = html.find(f'<script nonce="{nonce}">\n{shell}')
    script_at = html.find('civicmapRun(function (C, data) {\n"use strict";\n' + script)
    assert 0 < shell_at < script_at, (shell_at, script_at)
    # Leaflet and the plugins the page names, in load order, every script with the nonce
    with_map = name != "spending"  # the test city's spending has no locations: no map, no Leaflet
    labels = [a.label for a in vendor_assets(page.plugins)] if with_map else []
    positions = [html.find(f"/* {label} */") for label in labels]
    assert all(p > 0 for p in positions) and positions == sorted(positions), (name, labels, positions)
    assert ("leaflet dist/leaflet.js" in html) is with_map
    # every script has the nonce; data blocks (JSON, late base64 parts) are not scripts
    assert len(re.findall(r"<script(?![^>]*application/(?:json|octet-stream))", html)) == html.count(f'<script nonce="{nonce}"')
    # the context's titles, and the untrusted test string never as markup
    title = {"explorer": "Crime explorer", "locator": "Nearest services", "safe_route": "Safe route home",
             "spending": "Spending explorer"}[name]
    assert f"<title>{title} — Testville</title>" in html
    assert citydb.XSS not in html


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed to parse the page scripts")
@pytest.mark.parametrize("name", sorted(BUILT))
def test_page_scripts_parse_as_the_shell_runs_them(name, tmp_path):
    script = "\n".join((render.TEMPLATES / f).read_text(encoding="utf-8") for f in BUILT[name].PAGE.scripts)
    wrapped = tmp_path / f"{name}.js"
    wrapped.write_text('civicmapRun(function (C, data) {\n"use strict";\n' + script + "\n});\n", encoding="utf-8")
    result = subprocess.run(["node", "--check", str(wrapped)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", _modules(pattern="*.py"))
def test_only_the_renderer_reads_page_assets(module):
    """Pages name their assets in a Page; only maps/render.py (and maps/assets.py, for npm files; maps/i18n.py, for
    the message catalogues under maps/locales/) opens files. maps/feeds.py reads no asset: only the digests of the
    feeds it wrote last run (``.written.json``, so an unchanged feed is not rewritten)."""
    if module in ("render.py", "assets.py", "i18n.py"):
        return
    if module == "feeds.py":
        source = (MAPS_DIR / module).read_text(encoding="utf-8")
        assert source.count("read_text(") == 1 and "marks_file.read_text(" in source and "open(" not in source
        return
    source = (MAPS_DIR / module).read_text(encoding="utf-8")
    assert "read_text(" not in source and "open(" not in source, \
        f"maps/{module} reads a file itself: name it in its Page instead"


def test_a_late_block_is_base64_in_parts_after_the_scripts_and_page_data_puts_it_back(tmp_path, monkeypatch):
    """``publish(late=)``: the text goes after the page's scripts in parts of ``LATE_PART`` characters,
    ``page_data`` appends it back to the object that names it, and anything but base64 is refused (nothing in a
    late block can close its element)."""
    import base64
    import os

    from civicmash.maps.render import _page_html, page_data
    from civicmash.maps.status import PAGE

    monkeypatch.setattr(render, "LATE_PART", 1024)
    ctx = PageContext(con=None, city="x", out_path=tmp_path / "x.html", city_title="Xville", synthetic=True)
    data = {"datasets": [], "counts": {}, "manifest": [], "blob": {"z": "AAAA", "late": "rows"}}
    text = base64.b64encode(os.urandom(3000)).decode()
    html = _page_html(ctx, PAGE, data=data, sources=None, with_map=False, fragment_vars={}, late={"rows": text})
    assert html.count('id="late-rows-') == 4 and html.index('id="late-rows-0"') > html.rindex("civicmapRun(")
    assert page_data(html)["blob"] == {"z": "AAAA" + text}
    with pytest.raises(ValueError, match="late block"):
        _page_html(ctx, PAGE, data=data, sources=None, with_map=False, fragment_vars={},
                   late={"rows": "</script><img src=x onerror=alert(1)>"})
