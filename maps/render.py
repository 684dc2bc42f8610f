"""The one page template shared by every civicmash map.

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
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import jinja2
import numpy as np

from .assets import CDN_ORIGIN, asset_tags, assets_dir

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


def _js_block(js: str) -> str:
    return re.sub(r"</(?=script)", r"<\\/", js, flags=re.IGNORECASE)


def _portal_href(url) -> str | None:
    """Only http(s) portal URLs become links (no javascript:/data: URLs)."""
    if isinstance(url, str) and re.match(r"^https?://[^\s]+$", url.strip(), flags=re.IGNORECASE):
        return url.strip()
    return None


def _fmt_fetched(value) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _source_rows(sources) -> list[dict]:
    rows = []
    for src in sources or []:
        rows.append({
            "dataset": str(src.get("dataset") or "unnamed dataset"),
            "portal": str(src.get("portal_url") or ""),
            "href": _portal_href(src.get("portal_url")),
            "licence": str(src.get("licence") or "licence not stated"),
            "fetched": _fmt_fetched(src.get("fetched_at")),
        })
    return rows


_PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    (Path(__file__).with_name("templates") / "page.html.j2").read_text(encoding="utf-8")
)
_SHELL_JS = (Path(__file__).with_name("templates") / "shell.js").read_text(encoding="utf-8")


def render_page(
    *,
    title: str,
    city_title: str,
    body_js: str,
    data: dict,
    synthetic: bool,
    sources: list[dict] | None,
    legend_html: str = "",
    plugins: tuple[str, ...] | list[str] = (),
    controls_html: str = "",
    with_map: bool = True,
    max_zoom: int = 19,
) -> str:
    """Assemble one self-contained HTML page.

    ``body_js`` is trusted builder code run as ``function(C, data)`` after the
    base map is drawn (``C.map`` is the Leaflet map or null).  ``legend_html``
    and ``controls_html`` are trusted builder markup: never put data in them.
    """
    nonce = secrets.token_urlsafe(16)
    config = {"maxZoom": int(max_zoom), "withMap": bool(with_map)}
    return _PAGE.render(
        title=title,
        city_title=city_title,
        synthetic=bool(synthetic),
        sources=_source_rows(sources),
        legend_html=_markup(legend_html),
        controls_html=_markup(controls_html),
        assets=_markup(asset_tags(plugins, nonce=nonce) if with_map else ""),
        csp=_csp(nonce, cdn=with_map and assets_dir() is None),
        data_json=_markup(json_for_html(data)),
        config_json=_markup(json_for_html(config)),
        shell_js=_markup(_js_block(_SHELL_JS)),
        body_js=_markup(_js_block(body_js)),
        nonce=nonce,
        with_map=with_map,
    )


def _csp(nonce: str, *, cdn: bool) -> str:
    """No fetches at all; scripts only with this page's nonce (CDN only in fallback)."""
    extra = f" {CDN_ORIGIN}" if cdn else ""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'{extra}; style-src 'unsafe-inline'{extra}; "
        f"img-src data: blob:{extra}; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _markup(text: str):
    from markupsafe import Markup

    return Markup(text)


def write_page(out_path, html: str) -> Path:
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
