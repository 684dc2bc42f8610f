"""The one renderer shared by every civicmash map: page assets from files, data as escaped JSON, one CSP.

A page is Python that computes its data plus asset files under ``maps/templates/``: its script (run as
``function (C, data)`` by the shell, ``shell.js``), its controls and legend (HTML fragments, jinja2 with
autoescaping) and optionally its own CSS. A builder declares them once as a :class:`Page` and writes the
page with :func:`publish`; it takes everything else from one :class:`PageContext`. No JavaScript, CSS or
HTML lives in Python strings (``tests/maps/test_page_assets.py``).

Escaping rules (see docs/maps.md):

* Every portal string reaches the page either through jinja2 autoescaping
  (title, sources footer) or inside the JSON data block, where ``<``, ``>``,
  ``&``, U+2028 and U+2029 are written as ``\\uXXXX`` escapes so the block can
  never be closed early.
* Page JS reads the block with ``JSON.parse`` and inserts strings with
  ``textContent`` (helper ``C.el``), never ``innerHTML``.
* A Content-Security-Policy forbids any network fetch and any script
  without this page's nonce, so even a missed escape could not load or run
  anything.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from .assets import CDN_ORIGIN, assets_dir, safe_inline, vendor_assets
from .i18n import DEFAULT_LANGUAGES, check_languages, key_for, page_block

TEMPLATES = Path(__file__).with_name("templates")
MAX_ZOOM = 19  # street level; the base map has no tiles to run out of
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined)
_ENV.globals["i18n_key"] = lambda text: key_for(text) or ""   # a Python-built label's catalogue key (maps/i18n.py)
# ` data-i18n="key"` for an element whose text is a Python-built label held in the catalogue, else nothing
_ENV.globals["i18n_attr"] = lambda text: Markup(' data-i18n="{}"').format(key_for(text)) if key_for(text) else ""


@dataclass(frozen=True, kw_only=True)
class PageContext:
    """Everything a page builder takes, in one object: ``build(ctx) -> Path``.

    ``con``: a DuckDB connection to the warehouse (read-only is enough). ``title``: None for the page's own
    product name (:attr:`Page.title`). ``city_title``: the city as shown (None: ``city``). ``synthetic``:
    show the "synthetic sample data" banner. ``sources``: the datasets credited in the footer (None: the
    page credits the catalogue rows behind the tables it draws). ``options``: the page's options (the
    profile's ``[maps.<kind>]`` plus what the caller adds), held read-only so no builder changes them for
    another. ``missing``: sentences saying what this city's data lacks and what the page therefore cannot
    show ("No population figures: no rates per 1,000."); shown in a notice above the controls.
    ``languages``: the profile's ``languages`` (BCP 47 tags, the first the default; :mod:`.i18n`): the message
    catalogues inlined into the page and the locale of its numbers and dates (docs/maps.md, "Languages").
    """

    con: Any
    city: str
    out_path: Path
    title: str | None = None
    city_title: str | None = None
    synthetic: bool = False
    sources: list[dict] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    languages: tuple[str, ...] = DEFAULT_LANGUAGES

    def __post_init__(self):
        if not isinstance(self.city, str) or not self.city:
            raise ValueError(f"PageContext: city must be a non-empty string, not {self.city!r}")
        if self.out_path is None:
            raise ValueError(f"PageContext for city {self.city!r}: out_path is required")
        object.__setattr__(self, "out_path", Path(self.out_path))
        object.__setattr__(self, "options", MappingProxyType(dict(self.options or {})))
        if isinstance(self.missing, str):
            raise TypeError(f"PageContext for city {self.city!r}: missing is a sequence of sentences, not one string")
        object.__setattr__(self, "missing", tuple(str(line) for line in self.missing))
        object.__setattr__(self, "languages", check_languages(
            (self.languages,) if isinstance(self.languages, str) else self.languages, city=self.city))

    @property
    def display_city(self) -> str:
        return self.city_title or self.city


@dataclass(frozen=True, kw_only=True)
class Page:
    """One page's asset files under ``maps/templates/`` (names relative to it), checked when declared.

    ``scripts``: the page's JavaScript files, joined in order into one body run as ``function (C, data)``
    after the base map is drawn (``C.map`` is the Leaflet map or null), so helpers in an earlier file are in
    scope for the later ones. ``controls`` / ``legend``: HTML fragments for the panel (jinja2, autoescaped;
    trusted markup: data goes in the JSON block, never into them). ``style``: the page's own CSS, after the
    shared ``page.css``. ``plugins``: Leaflet plugins to inline (:data:`maps.assets.PACKAGES`).
    """

    title: str
    scripts: tuple[str, ...]
    controls: str | None = None
    legend: str | None = None
    style: str | None = None
    plugins: tuple[str, ...] = ()

    def __post_init__(self):
        if isinstance(self.scripts, str) or not self.scripts:
            raise TypeError(f"page {self.title!r}: scripts must be a non-empty tuple of file names, "
                            f"not {self.scripts!r}")
        missing = [name for name in self.asset_files() if not (TEMPLATES / name).is_file()]
        if missing:
            raise FileNotFoundError(f"page {self.title!r} names asset file(s) missing from {TEMPLATES}: "
                                    + ", ".join(missing))

    def asset_files(self) -> list[str]:
        """The asset files this page names, in the order the renderer inlines them."""
        return [n for n in (self.style, self.controls, self.legend, *self.scripts) if n]


@cache
def _asset_text(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _fragment(name: str | None, variables: Mapping[str, Any]) -> str:
    return _ENV.get_template(name).render(**variables) if name else ""


_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def _jsonable(obj):
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return obj


def json_for_html(data) -> str:
    """JSON text safe inside ``<script type="application/json">``."""
    text = json.dumps(_jsonable(data), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return _JSON_ESCAPE_RE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def _portal_href(url) -> str | None:
    """Only http(s) portal URLs become links (no javascript:/data: URLs)."""
    if isinstance(url, str) and re.match(r"^https?://[^\s]+$", url.strip(), flags=re.IGNORECASE):
        return url.strip()
    return None


def _fmt_fetched(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _source_rows(sources) -> list[dict]:
    rows = []   # a value not recorded is "": the template words it (in the reader's language)
    for src in sources or []:
        rows.append({
            "dataset": str(src.get("dataset") or ""),
            "portal": str(src.get("portal_url") or ""),
            "href": _portal_href(src.get("portal_url")),
            "licence": str(src.get("licence") or ""),
            "fetched": "" if src.get("fetched_at") is None else _fmt_fetched(src.get("fetched_at")),
        })
    return rows


def _data_as_of(sources) -> str | None:
    """The newest fetch among the page's sources ("data as of" on every page), or None when none says."""
    times = [src.get("fetched_at") for src in sources or [] if src.get("fetched_at") is not None]
    if not times:
        return None
    try:
        return _fmt_fetched(max(times))
    except TypeError:   # a caller's sources mixing times and text
        return _fmt_fetched(max(times, key=str))


def _snapshot(ctx: PageContext, sources) -> dict | None:
    """The run manifest's snapshot of the page's datasets (run id + short content hash, for citing a figure;
    :func:`civicmash.warehouse.manifest.snapshot`), or None when the warehouse has no manifest for them."""
    from civicmash.warehouse.manifest import snapshot

    names = [str(s["dataset"]) for s in sources or [] if s.get("dataset")]
    return snapshot(ctx.con, city=ctx.city, datasets=names) if names else None


def publish(ctx: PageContext, page: Page, *, data: dict, sources: list[dict] | None, with_map: bool = True,
            fragment_vars: Mapping[str, Any] | None = None, late: Mapping[str, str] | None = None,
            messages: Iterable[str] = ()) -> Path:
    """Render ``page`` for ``ctx`` and write it to ``ctx.out_path``; returns the path.

    ``data``: what the page's scripts read (the JSON block). ``sources``: the rows for the footer (the
    builder resolves ``ctx.sources``). ``with_map``: False for a page without a map (no Leaflet inlined, the
    panel full width). ``fragment_vars``: variables for the controls and legend templates (builder values,
    not portal strings, though autoescaping applies). ``late``: named base64 texts (packed blobs) written
    after the page's scripts, so the scripts run (and can draw) before the browser has parsed them, in elements of
    :data:`LATE_PART` characters (``late-<name>-<k>``); the page reads one with ``C.lateTexts(name)`` (its parts),
    and ``data`` points at it as ``{"late": name, ...}`` (:func:`page_data` puts it back, appended to the object's
    ``"z"``: a blob's first part can travel early). ``messages``: catalogue keys held back from every page that
    this one shows (the service categories' words: ``i18n.category_keys``), added to its ``#i18n`` block.
    """
    html = _page_html(ctx, page, data=data, sources=sources, with_map=with_map, fragment_vars=fragment_vars or {},
                      late=late or {}, messages=messages)
    ctx.out_path.parent.mkdir(parents=True, exist_ok=True)
    ctx.out_path.write_text(html, encoding="utf-8")
    return ctx.out_path


def _page_html(ctx: PageContext, page: Page, *, data: dict, sources: list[dict] | None, with_map: bool,
               fragment_vars: Mapping[str, Any], late: Mapping[str, str] = MappingProxyType({}),
               messages: Iterable[str] = ()) -> str:
    """One self-contained HTML page: ``page.html.j2`` filled with the page's asset files and the data.

    Scripts and styles are trusted files; only ``data`` (JSON block), the titles and ``sources`` (autoescaped)
    carry portal strings.
    """
    nonce = secrets.token_urlsafe(16)
    config = {"maxZoom": MAX_ZOOM, "withMap": bool(with_map)}
    for name, text in late.items():   # base64 only: nothing in it can close the element around it
        if not _LATE_NAME.fullmatch(name) or not _BASE64.fullmatch(text):
            raise ValueError(f"late block {name!r}: a name of letters, digits or '_' and base64 text only")
    body_js = "\n".join(_asset_text(name) for name in page.scripts)
    title = ctx.title or page.title
    return _ENV.get_template("page.html.j2").render(
        title=title,
        title_key=key_for(title) or "",
        i18n_json=Markup(json_for_html(page_block(ctx.languages, messages))),
        city_title=ctx.display_city,
        synthetic=bool(ctx.synthetic),
        missing=list(ctx.missing),
        sources=_source_rows(sources),
        data_as_of=_data_as_of(sources),
        snapshot=_snapshot(ctx, sources),
        legend_html=Markup(_fragment(page.legend, fragment_vars)),
        controls_html=Markup(_fragment(page.controls, fragment_vars)),
        vendor=_vendor_markup(page.plugins) if with_map else [],
        page_css=Markup(safe_inline(_asset_text("page.css"), "style")),
        page_style=Markup(safe_inline(_asset_text(page.style), "style") if page.style else ""),
        a11y_css=Markup(safe_inline(_asset_text("a11y.css"), "style")),   # skip links, focus, targets
        a11y_js=Markup(safe_inline(_asset_text("a11y.js"), "script")),
        csp=_csp(nonce, cdn=with_map and assets_dir() is None),
        data_json=Markup(json_for_html(data)),
        config_json=Markup(json_for_html(config)),
        i18n_js=Markup(safe_inline(_asset_text("i18n.js"), "script")),
        shell_js=Markup(safe_inline(_asset_text("shell.js"), "script")),
        body_js=Markup(safe_inline(body_js, "script")),
        nonce=nonce,
        with_map=with_map,
        late=[(f"{name}-{k}", Markup(text[at:at + LATE_PART])) for name, text in late.items()
              for k, at in enumerate(range(0, max(len(text), 1), LATE_PART))],
    )


LATE_PART = 1 << 18   # characters per element of a late block: the browser's parser can let a frame through between
                      # elements, not inside one (a multiple of 4: each part is whole base64)
_LATE_NAME = re.compile(r"[A-Za-z0-9_]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_LATE_PART_ID = re.compile(r"late-([A-Za-z0-9_]+)-([0-9]+)")


class _ScriptBlocks(HTMLParser):
    """The text of every script element with an id, by id (what :func:`page_data` reads)."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.blocks: dict[str, str] = {}
        self._id: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._id, self._text = dict(attrs).get("id"), []

    def handle_data(self, data):
        if self._id is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._id is not None:
            self.blocks[self._id] = "".join(self._text)
            self._id = None


def page_data(html: str) -> dict:
    """A published page's ``data`` back from its HTML: the JSON block, with each late block (``publish(late=)``)
    put back where the data points at it, appended to ``"z"`` (what :func:`civicmash.maps._packed.unpack` reads)."""
    reader = _ScriptBlocks()
    reader.feed(html)
    data = json.loads(reader.blocks["data"])
    parts = sorted((m.group(1), int(m.group(2)), text) for key, text in reader.blocks.items()
                   if (m := _LATE_PART_ID.fullmatch(key)))
    late: dict[str, str] = {}
    for name, _, text in parts:
        late[name] = late.get(name, "") + text

    def fill(node):
        if isinstance(node, dict):
            if isinstance(node.get("late"), str) and node["late"] in late:
                node["z"] = node.get("z", "") + late[node.pop("late")]
            for value in node.values():
                fill(value)
        elif isinstance(node, list):
            for value in node:
                fill(value)
    fill(data)
    return data


def _vendor_markup(plugins) -> list[dict]:
    """The npm assets for the page head, their inlined text marked safe (``safe_inline`` already applied)."""
    return [{"kind": a.kind, "label": a.label, "href": a.href, "text": Markup(a.text) if a.text is not None else None}
            for a in vendor_assets(plugins)]


def _csp(nonce: str, *, cdn: bool) -> str:
    """No fetches at all; scripts only with this page's nonce (CDN only in fallback)."""
    extra = f" {CDN_ORIGIN}" if cdn else ""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'{extra}; style-src 'unsafe-inline'{extra}; "
        f"img-src data: blob:{extra}; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
