"""Offline Leaflet assets: find the npm packages and read them for inlining into the page.

The files come from ``node_modules/`` at the repo root (installed by ``npm ci``)
or from the directory named by ``$CIVICMASH_ASSETS`` (a directory laid out like
``node_modules``).  CSS ``url(...)`` references to images are replaced by
``data:`` URIs so that a page never fetches anything.  Only when the files are
missing do we fall back to CDN links, with a warning: such a page does not work
offline.  The page template (``templates/page.html.j2``) writes the elements.
"""

from __future__ import annotations

import base64
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CDN_ORIGIN = "https://unpkg.com"


@dataclass(frozen=True)
class _Package:
    name: str
    version: str
    css: tuple[str, ...]
    js: tuple[str, ...]


# Keep the versions in step with package.json (pinned exactly there).
PACKAGES: dict[str, _Package] = {
    "leaflet": _Package("leaflet", "1.9.4", ("dist/leaflet.css",), ("dist/leaflet.js",)),
    "markercluster": _Package(
        "leaflet.markercluster",
        "1.5.3",
        ("dist/MarkerCluster.css", "dist/MarkerCluster.Default.css"),
        ("dist/leaflet.markercluster.js",),
    ),
    "heat": _Package("leaflet.heat", "0.2.0", (), ("dist/leaflet-heat.js",)),
    # not a Leaflet plugin: inflate at once in JS (the explorer draws its opening view before the browser parses on)
    "fflate": _Package("fflate", "0.8.3", (), ("umd/index.js",)),
    "awesome-markers": _Package(
        "leaflet.awesome-markers",
        "2.0.5",
        ("dist/leaflet.awesome-markers.css",),
        ("dist/leaflet.awesome-markers.min.js",),
    ),
}

_CSS_URL = re.compile(r"""url\(\s*(['"]?)(?!data:|#)([^'")]+)\1\s*\)""")
_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}


class OfflineAssetsWarning(UserWarning):
    """Raised (as a warning) when pages fall back to CDN assets."""


def assets_dir() -> Path | None:
    """Directory holding the npm packages, or None when they are not installed."""
    candidates = []
    env = os.environ.get("CIVICMASH_ASSETS")
    if env:
        candidates.append(Path(env))
    candidates.append(REPO_ROOT / "node_modules")
    for cand in candidates:
        if (cand / "leaflet" / "dist" / "leaflet.js").is_file():
            return cand
    return None


def _inline_css_urls(css: str, base: Path) -> str:
    def repl(match: re.Match) -> str:
        target = (base / match.group(2)).resolve()
        mime = _MIME.get(target.suffix.lower())
        if mime is None or not target.is_file():
            return "none"  # never leave a relative URL that would be fetched
        data = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{data}")'

    return _CSS_URL.sub(repl, css)


def safe_inline(text: str, tag: str) -> str:
    """``text`` made safe to inline inside ``<tag>...</tag>``: a closing tag in it would end the element early."""
    return re.sub(rf"</(?={tag})", r"<\\/", text, flags=re.IGNORECASE)


@dataclass(frozen=True)
class VendorAsset:
    """One npm file for the page head: ``kind`` is ``"style"`` or ``"script"``; either its inlined ``text``
    (already safe inside its element) or, in the CDN fallback, its ``href``. ``label`` names the file."""

    kind: str
    label: str
    text: str | None = None
    href: str | None = None


def _cdn_assets(pkg: _Package) -> list[VendorAsset]:
    root = f"{CDN_ORIGIN}/{pkg.name}@{pkg.version}/"
    return ([VendorAsset("style", f"{pkg.name} {rel}", href=root + rel) for rel in pkg.css]
            + [VendorAsset("script", f"{pkg.name} {rel}", href=root + rel) for rel in pkg.js])


def _inlined_assets(pkg: _Package, pkg_dir: Path) -> list[VendorAsset]:
    out = []
    for rel in pkg.css:
        path = pkg_dir / rel
        css = _inline_css_urls(path.read_text(encoding="utf-8"), path.parent)
        out.append(VendorAsset("style", f"{pkg.name} {rel}", text=safe_inline(css, "style")))
    for rel in pkg.js:
        js = re.sub(r"//# sourceMappingURL=\S+", "", (pkg_dir / rel).read_text(encoding="utf-8"))
        out.append(VendorAsset("script", f"{pkg.name} {rel}", text=safe_inline(js, "script")))
    return out


def vendor_assets(plugins: list[str] | tuple[str, ...] = ()) -> list[VendorAsset]:
    """Leaflet plus the named plugins, in load order (each package's CSS, then its JS).

    ``plugins`` take names from :data:`PACKAGES` (``markercluster``, ``heat``, ``awesome-markers``, ``fflate``).
    Leaflet itself is always first. The page template (``templates/page.html.j2``) writes them as
    ``<style>``/``<script>`` elements with the page's nonce, or as CDN tags when ``node_modules`` is missing.
    """
    names = ["leaflet"] + [p for p in plugins if p != "leaflet"]
    unknown = [n for n in names if n not in PACKAGES]
    if unknown:
        raise ValueError(f"unknown map plugin(s): {', '.join(unknown)}")
    root = assets_dir()
    if root is None:
        warnings.warn(
            "Leaflet assets not found (run `npm ci` at the repo root or set "
            "CIVICMASH_ASSETS): falling back to CDN links, the HTML will NOT work offline",
            OfflineAssetsWarning,
            stacklevel=2,
        )
        return [a for n in names for a in _cdn_assets(PACKAGES[n])]
    return [a for n in names for a in _inlined_assets(PACKAGES[n], root / PACKAGES[n].name)]
