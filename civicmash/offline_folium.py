"""folium maps that work offline: the CDN ``<script>``/``<link>`` tags swapped for the npm files inlined.

folium (and ``GeoDataFrame.explore()``, which draws with it) writes pages that load Leaflet, jQuery, Bootstrap,
Font Awesome and Leaflet.awesome-markers from CDNs, and a base map from a tile server. :func:`offline` makes a
folium map render without any of that:

- Leaflet, Leaflet.awesome-markers and Leaflet.markercluster are inlined from ``node_modules`` (the same files
  and the same code as the civicmash pages: :mod:`civicmash.maps.assets`, images in the CSS as ``data:`` URIs);
  a plugin folium ships itself (``folium/templates/*.js``, e.g. the heat map) is inlined from the installed folium;
- jQuery, Bootstrap (CSS and JS), the Bootstrap glyphicons, Font Awesome and folium's awesome-markers rotation
  CSS are **dropped**: they are not in ``node_modules`` and nothing drawn here needs them (they style popups
  and icon markers; an awesome-marker's icon glyph is not drawn offline, its coloured pin is);
- d3 is dropped too: a branca colour-map legend (``GeoDataFrame.explore(column=..., legend=True)``) needs it and
  is **not drawn offline** (:func:`explore` draws its own legend without d3);
- tile layers served from the internet are **removed**: there is no base map offline (:func:`explore` never adds
  one); the data is drawn on a plain background;
- any other off-machine file the page names is dropped, with an :class:`OfflineMapWarning` naming it.

Attribution links (``<a href="https://...">``) stay: they are text, not requests. :func:`remote_references`
lists what in a page would still be fetched from another machine (the tests require it to be empty).

:func:`explore` draws GeoDataFrames with folium alone (``GeoDataFrame.explore()`` works too, made offline by
:func:`offline`; it needs matplotlib and mapclassify, in the ``notebook`` extra), escapes every string shown (portal strings are untrusted: folium's tooltips use ``innerHTML``),
and returns an offline map. Its legend's markup is ``maps/templates/notebook_legend.html.j2``.
"""

from __future__ import annotations

import html as html_lib
import math
import re
import types
import warnings
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import folium
    import geopandas

_REMOTE = re.compile(r"^(?:https?:)?//", re.IGNORECASE)
_SCRIPT_SRC = re.compile(r"""<script\b[^>]*?\bsrc\s*=\s*(["'])([^"']+)\1[^>]*>\s*</script\s*>""", re.IGNORECASE)
_LINK_HREF = re.compile(r"""<link\b[^>]*?\bhref\s*=\s*(["'])([^"']+)\1[^>]*?/?>""", re.IGNORECASE)
# any src/href/url() that a browser fetches by itself (an <a href> is a link the reader may follow: not a request)
_FETCHED = re.compile(r"""<(?!a\b)[a-z][\w-]*\s[^<>]*?\b(?:src|href|srcset|poster|data)\s*=\s*(["'])((?:https?:)?//[^"']+)\1""",
                      re.IGNORECASE)
_SCRIPT_BODY = re.compile(r"(<script\b[^>]*>).*?(</script\s*>)", re.IGNORECASE | re.DOTALL)
_CSS_REMOTE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)

#: (pattern on the URL, (npm package key of maps.assets.PACKAGES, file)) inlined from node_modules
_LEAFLET_JS = re.compile(r"/leaflet(?:@[\w.-]+)?/dist/leaflet\.js$")
_NPM = (
    (_LEAFLET_JS, ("leaflet", "dist/leaflet.js")),
    (re.compile(r"/leaflet(?:@[\w.-]+)?/dist/leaflet\.css$"), ("leaflet", "dist/leaflet.css")),
    (re.compile(r"leaflet\.awesome-markers(?:\.min)?\.js$", re.I),
     ("awesome-markers", "dist/leaflet.awesome-markers.min.js")),
    (re.compile(r"leaflet\.awesome-markers(?:\.min)?\.css$", re.I), ("awesome-markers", "dist/leaflet.awesome-markers.css")),
    (re.compile(r"leaflet\.markercluster(?:-src)?\.js$", re.I), ("markercluster", "dist/leaflet.markercluster.js")),
    (re.compile(r"/MarkerCluster\.css$"), ("markercluster", "dist/MarkerCluster.css")),
    (re.compile(r"/MarkerCluster\.Default\.css$"), ("markercluster", "dist/MarkerCluster.Default.css")),
)
#: files folium ships in its own package, named by their CDN copy (``.../folium/templates/leaflet_heat.min.js``)
_FOLIUM_FILE = re.compile(r"/folium(?:@[\w.-]+)?/folium/templates/([\w.-]+\.(?:js|css))$")
#: dropped on purpose: not available offline and not needed to draw (see the module's docstring)
DROPPED = {
    "jquery": re.compile(r"jquery[\w.-]*\.js$", re.I),
    "bootstrap": re.compile(r"/bootstrap(?:@[\w.-]+)?/|bootstrap[\w.-]*\.(?:js|css)$", re.I),
    "font awesome": re.compile(r"font-?awesome", re.I),
    "awesome-markers rotation CSS": re.compile(r"leaflet\.awesome\.rotate", re.I),
    "d3 (branca colour-map legends)": re.compile(r"/d3(?:@[\w.-]+)?(?:/|\.min\.js$)|/d3/", re.I),
}

#: categorical colours (10) and a sequential ramp (light to dark) for explore(column=...)
CATEGORY_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                   "#bcbd22", "#7f7f7f")
RAMP_COLORS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026", "#800026", "#4d0019")
MISSING_COLOR = "#bdbdbd"
DEFAULT_COLOR = "#3366cc"
MAX_ZOOM = 19   # the zoom limit of a map without tiles (Leaflet has none then)


class OfflineMapWarning(UserWarning):
    """Something of a folium map cannot work offline and was left out (a tile layer, an unknown remote file)."""


# --- making a folium map offline ------------------------------------------------------------------------------

def offline(m: folium.Map) -> folium.Map:
    """Make ``m`` (any folium map: from :func:`explore`, ``GeoDataFrame.explore()`` or folium itself) render
    offline, in place, and return it: its remote tile layers are removed (an :class:`OfflineMapWarning` says so),
    and its figure renders with the CDN files inlined or dropped (:func:`offline_html`), so ``m.save(path)`` and
    the notebook's display (``m`` in a cell) are offline pages. Calling it twice is harmless."""
    from branca.element import Figure

    removed_max_zoom = _drop_remote_tiles(m)
    # without a tile layer Leaflet has no zoom limit, and plugins such as MarkerCluster refuse a map without one
    options = getattr(m, "options", None)
    if isinstance(options, dict) and "max_zoom" not in options and "maxZoom" not in options:
        options["max_zoom"] = removed_max_zoom or MAX_ZOOM
    fig = m.get_root()
    if not isinstance(fig, Figure):  # a map never added to a figure: give it one (folium does it on display)
        fig = Figure()
        m.add_to(fig)
    if not getattr(fig, "_civicmash_offline", False):
        plain = fig.render

        def render(self, **kwargs) -> str:
            return offline_html(plain(**kwargs))

        fig.render = types.MethodType(render, fig)
        fig._civicmash_offline = True
    return m


def save_offline(m: folium.Map, path: str | Path) -> Path:
    """Write ``m`` as one self-contained offline HTML file (see :func:`offline`); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(offline(m).get_root().render(), encoding="utf-8")
    return path


def offline_html(page: str) -> str:
    """A rendered folium page with every CDN ``<script src>``/``<link href>`` inlined from node_modules (or from
    the installed folium), or dropped (see the module's docstring). Local and relative references are kept."""
    unknown: list[str] = []

    def script(match: re.Match) -> str:
        url = match.group(2)
        if not _REMOTE.match(url):
            return match.group(0)
        text = _asset_text(url, "script")
        if text is None:
            return _dropped(url, unknown)
        after = _after_leaflet() if _LEAFLET_JS.search(url.split("?", 1)[0]) else ""
        return f"<script>{text}</script>" + (f"<script>{after}</script>" if after else "")

    def link(match: re.Match) -> str:
        url = match.group(2)
        if not _REMOTE.match(url):
            return match.group(0)
        tag = match.group(0).lower()
        if "stylesheet" not in tag:   # a preconnect or icon link would still be fetched: drop it
            return _dropped(url, unknown, quiet=True)
        text = _asset_text(url, "style")
        if text is None:
            return _dropped(url, unknown)
        return f"<style>{text}</style>"

    page = _SCRIPT_SRC.sub(script, page)
    page = _LINK_HREF.sub(link, page)
    if unknown:
        warnings.warn("dropped from the offline map (not available offline): " + ", ".join(unknown),
                      OfflineMapWarning, stacklevel=3)
    return page


def remote_references(page: str) -> list[str]:
    """Every URL on another machine that the page's markup makes the browser fetch: ``src``/``href`` of its tags
    (links ``<a>`` aside; script bodies are code, not markup), CSS ``url(...)`` and ``@import``. Empty for an
    offline page. (What a script requests when it runs is seen in a browser: tests/browser/test_notebook_explore.py.)"""
    markup = _SCRIPT_BODY.sub(r"\1\2", page)   # code is not markup: what scripts fetch, the browser test sees
    found = [m.group(2) for m in _FETCHED.finditer(markup)]
    found += [m.group(1) for m in _CSS_REMOTE.finditer(page)]
    return found


def _dropped(url: str, unknown: list[str], *, quiet: bool = False) -> str:
    if not quiet and not any(p.search(url) for p in DROPPED.values()):
        unknown.append(url)
    return ""


def _asset_text(url: str, kind: str) -> str | None:
    """The inlined text for the CDN file ``url`` (already safe inside its element), or None when it is dropped."""
    from civicmash.maps.assets import safe_inline

    path = url.split("?", 1)[0].split("#", 1)[0]
    for pattern, (package, rel) in _NPM:
        if pattern.search(path):
            return _npm_files().get((package, rel))
    found = _FOLIUM_FILE.search(path)
    if found:
        import folium

        local = Path(folium.__file__).resolve().parent / "templates" / found.group(1)
        if local.is_file():
            text = local.read_text(encoding="utf-8")
            return safe_inline(text, "script" if kind == "script" else "style")
    return None


@lru_cache(maxsize=1)
def _npm_files() -> dict[tuple[str, str], str]:
    """(package key, file) -> inlined text of every file :mod:`civicmash.maps.assets` knows; empty when
    node_modules is missing (then the CDN tags are dropped, with maps.assets' OfflineAssetsWarning)."""
    from civicmash.maps.assets import PACKAGES, vendor_assets

    out = {}
    assets = vendor_assets([k for k in PACKAGES if k != "leaflet"])
    by_label = {a.label: a.text for a in assets if a.text is not None}
    for key, pkg in PACKAGES.items():
        for rel in pkg.css + pkg.js:
            text = by_label.get(f"{pkg.name} {rel}")
            if text is not None:
                out[(key, rel)] = text
    return out


def _forget_rendered(m, name: str) -> None:
    """Drop what an element removed from ``m`` left in the figure when the map was rendered before (folium adds
    each element's script and header parts to the figure under the element's name)."""
    from branca.element import Figure

    fig = m.get_root()
    if isinstance(fig, Figure):
        for part in (fig.header, fig.html, fig.script):
            part._children.pop(name, None)


@lru_cache(maxsize=1)
def _after_leaflet() -> str:
    """``maps/templates/notebook_offline.js.j2``: folium's two uses of jQuery without jQuery, and Leaflet's
    default marker images as data: URIs (empty without node_modules)."""
    import base64

    import jinja2

    from civicmash.maps.assets import assets_dir, safe_inline
    from civicmash.maps.render import TEMPLATES

    root = assets_dir()
    if root is None:
        return ""
    images = root / "leaflet" / "dist" / "images"
    icons = {key: "data:image/png;base64," + base64.b64encode((images / name).read_bytes()).decode("ascii")
             for key, name in (("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
                               ("shadowUrl", "marker-shadow.png")) if (images / name).is_file()}
    template = jinja2.Template((TEMPLATES / "notebook_offline.js.j2").read_text(encoding="utf-8"))
    return safe_inline(template.render(icons=icons), "script")


def _drop_remote_tiles(m) -> int | None:
    """Remove ``m``'s tile layers served from another machine; returns the largest max zoom they had."""
    from folium.raster_layers import TileLayer

    removed, zooms = [], []
    for key, child in list(m._children.items()):
        if isinstance(child, TileLayer) and _REMOTE.match(str(getattr(child, "tiles", "") or "")):
            removed.append(getattr(child, "tile_name", key))
            zoom = (getattr(child, "options", None) or {}).get("max_zoom")
            if isinstance(zoom, int):
                zooms.append(zoom)
            del m._children[key]
            _forget_rendered(m, child.get_name())
    if removed:
        warnings.warn(f"removed the base map ({', '.join(map(str, removed))}): its tiles come from a server on "
                      "the internet and are not available offline; the data is drawn on a plain background",
                      OfflineMapWarning, stacklevel=3)
    return max(zooms) if zooms else None


# --- drawing a GeoDataFrame -----------------------------------------------------------------------------------

def explore(data: geopandas.GeoDataFrame | geopandas.GeoSeries, *, column: str | None = None,
            color: str | None = None, name: str | None = None, m: folium.Map | None = None,
            tooltip: bool | list[str] = True, legend: bool = True, bins: int = 5, weight: float = 3,
            radius: float = 5, opacity: float = 0.85, fill_opacity: float = 0.35, max_fields: int = 12,
            width: str = "100%", height: str = "100%") -> folium.Map:
    """Draw ``data`` (a GeoDataFrame or GeoSeries, any CRS: drawn in EPSG:4326) on an offline folium map and
    return the map (``m`` to add a layer to an existing one). Lines and polygons as paths, points as circle
    markers; rows without a geometry are left out.

    ``column``: colour by it: text or booleans in up to 10 colours (the rest grey), numbers in ``bins``
    quantile classes light to dark, missing values grey; ``color``: one colour for everything (default blue).
    ``tooltip``: True shows the first ``max_fields`` columns on hover, a list names them, False none; strings
    are HTML-escaped (portal strings are untrusted). ``legend``: a legend of the colours (with ``column``).
    ``name``: the layer's name (a layer control appears when a map has several layers).

    There is no base map offline (no tile layer): see the module's docstring. ``save_offline(m, path)`` writes it;
    ``m`` in a notebook cell displays it, offline too."""
    import folium
    import geopandas

    if isinstance(data, geopandas.GeoSeries):
        data = data.to_frame("geometry") if data.name is None else data.to_frame()
    if data.crs is not None and not data.crs.equals("EPSG:4326"):
        data = data.to_crs("EPSG:4326")
    keep = data.geometry.notna() & ~data.geometry.is_empty
    data = data[keep]
    geo_col = data.geometry.name
    columns = [c for c in data.columns if c != geo_col]
    if column is not None and column not in columns:
        raise KeyError(f"explore: no column {column!r} (columns: {', '.join(map(str, columns))})")

    if column is None:
        colors, items, note = [color or DEFAULT_COLOR] * len(data), [], None
    else:
        colors, items, note = _colors(data[column], bins=bins)
    fields = (list(tooltip) if isinstance(tooltip, (list, tuple)) else columns[:max_fields]) if tooltip else []
    missing = [f for f in fields if f not in columns]
    if missing:
        raise KeyError(f"explore: no column {missing[0]!r} for the tooltip")
    clean = geopandas.GeoDataFrame({f"f{i}": _json_values(data[f]) for i, f in enumerate(fields)},
                                   geometry=data.geometry.values, crs=data.crs, index=range(len(data)))
    clean["_color"] = colors

    if m is None:
        m = folium.Map(tiles=None, control_scale=True, width=width, height=height, prefer_canvas=False)
        if len(clean):
            w, s, e, n = clean.total_bounds
            m.fit_bounds([[float(s), float(w)], [float(n), float(e)]])
        else:
            m.location = [0.0, 0.0]
    style = {"weight": weight, "opacity": opacity, "fillOpacity": fill_opacity}
    layer = folium.GeoJson(
        clean.to_json(drop_id=True),
        name=html_lib.escape(str(name)) if name else None,
        style_function=lambda f: {**style, "color": f["properties"]["_color"], "fillColor": f["properties"]["_color"]},
        marker=folium.CircleMarker(radius=radius, fill=True),
        tooltip=folium.GeoJsonTooltip(fields=[f"f{i}" for i in range(len(fields))],
                                      aliases=[html_lib.escape(str(f)) for f in fields]) if fields else None,
    )
    layer.add_to(m)
    if column is not None and legend and items:
        _Legend(title=str(column), items=items, note=note).add_to(m)
    # a layer control lists the layers defined before it: it goes (or moves) after the last one
    controls = [(k, c) for k, c in m._children.items() if isinstance(c, folium.LayerControl)]
    for key, control in controls:
        del m._children[key]
        _forget_rendered(m, control.get_name())
    layers = [c for c in m._children.values() if isinstance(c, folium.GeoJson)]
    if controls or len(layers) > 1:
        (controls[-1][1] if controls else folium.LayerControl()).add_to(m)
    return offline(m)


def _json_values(series) -> list:
    """Values safe in GeoJSON and in folium's tooltip (which writes them as HTML): numbers as numbers, missing as
    None, dates as ISO text, everything else as HTML-escaped text."""
    out = []
    for v in series.tolist():
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif isinstance(v, bool):
            out.append(v)
        elif isinstance(v, (int, float)):
            out.append(v)
        elif isinstance(v, Decimal):
            out.append(float(v))
        elif hasattr(v, "item") and not isinstance(v, (str, bytes)):   # numpy scalars
            try:
                item = v.item()
            except (ValueError, AttributeError):
                item = str(v)
            out.append(item if isinstance(item, (int, float, bool)) else html_lib.escape(str(item)))
        elif hasattr(v, "isoformat"):
            out.append(html_lib.escape(v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()))
        else:
            try:
                missing = v != v   # pandas.NA, NaT
                if isinstance(missing, bool) and missing or str(v) in ("<NA>", "NaT"):
                    out.append(None)
                    continue
            except TypeError:
                pass
            out.append(html_lib.escape(str(v)))
    return out


def _colors(values, *, bins: int) -> tuple[list[str], list[tuple[str, str]], str | None]:
    """Per row a colour, the legend's (colour, label) items and a note."""
    import pandas

    isna = values.isna().tolist()
    numeric = pandas.api.types.is_numeric_dtype(values) and not pandas.api.types.is_bool_dtype(values)
    if numeric and values.nunique(dropna=True) > max(bins, 1):
        edges = sorted(set(float(q) for q in values.dropna().quantile([i / bins for i in range(bins + 1)])))
        ramp = _ramp(len(edges) - 1)
        colors = []
        for v, na in zip(values.tolist(), isna):
            if na:
                colors.append(MISSING_COLOR)
                continue
            k = max(0, min(len(edges) - 2, sum(1 for e in edges[1:-1] if float(v) > e)))
            colors.append(ramp[k])
        items = [(ramp[k], f"{_num(edges[k])} to {_num(edges[k + 1])}") for k in range(len(edges) - 1)]
        note = f"{bins} quantile classes" if len(edges) - 1 == bins else "quantile classes"
    else:
        order = values.dropna().astype(str).value_counts()
        top = list(order.index[:len(CATEGORY_COLORS)])
        palette = dict(zip(top, CATEGORY_COLORS))
        colors = [MISSING_COLOR if na else palette.get(str(v), MISSING_COLOR) for v, na in zip(values.tolist(), isna)]
        items = [(palette[k], k) for k in top]
        note = f"{len(order) - len(top)} more values in grey" if len(order) > len(top) else None
    if any(isna):
        items.append((MISSING_COLOR, "no value"))
    return colors, items, note


def _ramp(k: int) -> list[str]:
    if k <= 1:
        return [RAMP_COLORS[-3]]
    return [RAMP_COLORS[round(i * (len(RAMP_COLORS) - 1) / (k - 1))] for i in range(k)]


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:,.3g}"


def _legend_template():
    from folium.template import Template

    from civicmash.maps.render import TEMPLATES

    return Template((TEMPLATES / "notebook_legend.html.j2").read_text(encoding="utf-8"))


def _Legend(*, title: str, items: list[tuple[str, str]], note: str | None):  # noqa: N802 - reads like a class
    """A folium element drawing the legend (``maps/templates/notebook_legend.html.j2``)."""
    from branca.element import MacroElement

    class Legend(MacroElement):
        _name = "CivicmashLegend"

        def __init__(self):
            super().__init__()
            self.title, self.items, self.note = title, items, note
            self._template = _legend_template()

    return Legend()
