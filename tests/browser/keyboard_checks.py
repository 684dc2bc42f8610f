"""Keyboard, focus and target-size checks for the map pages (tests/browser/test_keyboard_pages.py).

Everything is measured in the page as Chromium draws it: the tab order by pressing Tab, each stop's accessible name
from Chromium's own accessibility tree (DevTools protocol), the focus ring from computed styles, target sizes from
layout boxes, and words broken across lines from the text's client rectangles."""

from __future__ import annotations

import re

# --- colour contrast (WCAG 2.x relative luminance) --------------------------------------------------

_RGB = re.compile(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,/\s]+([\d.]+%?))?\s*\)")


def parse_colour(text: str) -> tuple[float, float, float, float]:
    """A computed CSS colour (``rgb(...)`` / ``rgba(...)``) as (r, g, b, alpha), r/g/b in 0..255."""
    m = _RGB.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a computed rgb() colour: {text!r}")
    a = m.group(4)
    alpha = 1.0 if a is None else (float(a[:-1]) / 100 if a.endswith("%") else float(a))
    return float(m.group(1)), float(m.group(2)), float(m.group(3)), alpha


def luminance(rgb) -> float:
    def chan(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb[:3]
    return 0.2126 * chan(r) + 0.7152 * chan(g) + 0.0722 * chan(b)


def contrast(a, b) -> float:
    """WCAG contrast ratio of two opaque colours (tuples or computed CSS colour strings)."""
    a = parse_colour(a) if isinstance(a, str) else a
    b = parse_colour(b) if isinstance(b, str) else b
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# --- the tab order -----------------------------------------------------------------------------------

_DESCRIBE = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  if (!e.hasAttribute('data-kb-id')) e.setAttribute('data-kb-id', String(window.__kbIds = (window.__kbIds || 0) + 1));
  const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const inView = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  let hit = inView ? document.elementFromPoint(Math.min(Math.max(cx, 0), innerWidth - 1), Math.min(Math.max(cy, 0), innerHeight - 1)) : null;
  const labelled = hit && e.labels && Array.from(e.labels).some(l => l.contains(hit));
  return { key: e.getAttribute('data-kb-id'), tag: e.tagName.toLowerCase(), id: e.id || '',
           cls: typeof e.className === 'string' ? e.className : (e.className && e.className.baseVal) || '',
           html: e.outerHTML.slice(0, 120),
           rect: [r.left, r.top, r.width, r.height], visibility: cs.visibility, opacity: +cs.opacity,
           shown: inView && cs.visibility !== 'hidden' && +cs.opacity > 0 && !!hit && (e.contains(hit) || !!labelled) };
}"""


def accessible_name(page, cdp) -> str:
    """Chromium's computed accessible name of the focused element."""
    obj = cdp.send("Runtime.evaluate", {"expression": "document.activeElement"})["result"]["objectId"]
    nodes = cdp.send("Accessibility.getPartialAXTree", {"objectId": obj, "fetchRelatives": False})["nodes"]
    for node in nodes:
        if not node.get("ignored") and node.get("name"):
            return str(node["name"].get("value") or "").strip()
    return ""


def focused(page) -> dict | None:
    return page.evaluate(_DESCRIBE)


def to_top(page) -> None:
    """Put the keyboard's starting point at the top of the page, as on opening it (the next Tab is the first stop)."""
    page.evaluate("""() => { const s = document.createElement('span'); s.tabIndex = -1;
        document.body.insertBefore(s, document.body.firstChild); s.focus(); s.remove(); window.scrollTo(0, 0); }""")


def tab_walk(page, *, limit: int = 400, cdp=None, on_stop=None) -> list[dict]:
    """Press Tab from the top of the page until the focus leaves the page or comes back to the first stop; every
    stop once (a date or time input's segments are one stop). With ``cdp``, each stop gets its accessible
    ``name``; ``on_stop(page, stop)`` runs while the stop has the focus."""
    to_top(page)
    stops, seen = [], set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        d = focused(page)
        if d is None or (stops and d["key"] == stops[0]["key"]):
            break
        if d["key"] in seen:
            continue
        seen.add(d["key"])
        if cdp is not None:
            d["name"] = accessible_name(page, cdp)
        if on_stop is not None:
            on_stop(page, d)
        stops.append(d)
    else:
        raise AssertionError(f"more than {limit} tab presses without leaving the page")
    return stops


def tab_to(page, selector: str, *, limit: int = 300, back: bool = False) -> dict:
    """Press Tab (Shift+Tab with ``back``) until the focused element matches ``selector``; fails after ``limit``."""
    for _ in range(limit):
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return focused(page)
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} is not reached with the keyboard in {limit} presses")


# --- the focus ring ----------------------------------------------------------------------------------

_RING = """() => {
  const e = document.activeElement, cs = getComputedStyle(e);
  function bgOf(n) {                       // the first ancestor-or-self with a visible background colour
    for (; n && n.nodeType === 1; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) continue;
      const parts = m[1].split(/[ ,\\/]+/).filter(Boolean);
      if (parts.length < 4 || parseFloat(parts[3]) >= 0.5) return c;
    }
    return 'rgb(255, 255, 255)';
  }
  return { style: cs.outlineStyle, width: parseFloat(cs.outlineWidth) || 0, colour: cs.outlineColor,
           offset: parseFloat(cs.outlineOffset) || 0, inside: bgOf(e), outside: bgOf(e.parentElement),
           shadow: cs.boxShadow };
}"""


def focus_ring(page) -> dict:
    """The focused element's outline and the colours beside it: with a negative offset the ring is drawn on the
    element's own background (and an inset white shadow when it has one), else on its parent's."""
    ring = page.evaluate(_RING)
    if ring["offset"] < 0:
        beside = [ring["inside"]] + (["rgb(255, 255, 255)"] if "inset" in ring["shadow"] else [])
    else:
        beside = [ring["outside"]]
    ring["beside"] = beside
    ring["contrast"] = min(contrast(ring["colour"], b) for b in beside) if ring["style"] != "none" else 0.0
    return ring


# --- target sizes, overflow and words broken across lines ------------------------------------------------

TARGETS = """() => {
  const out = [];
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
  for (const e of document.querySelectorAll(sel)) {
    if (e.disabled) continue;
    const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
    if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || e.closest('[hidden]')) continue;
    if (e.closest('.cm-skip') && document.activeElement !== e) continue;   // skip links show only when focused
    const shut = e.closest('details:not([open])');                        // a closed box shows its summary only
    if (shut && !(e.tagName === 'SUMMARY' && e.parentElement === shut)) continue;
    let box = { l: r.left, t: r.top, r: r.right, b: r.bottom };
    if ((e.type === 'checkbox' || e.type === 'radio') && e.labels) {   // the label is part of the target
      for (const l of e.labels) {
        const q = l.getBoundingClientRect();
        if (q.width && q.height && q.top < box.b && q.bottom > box.t) {
          box = { l: Math.min(box.l, q.left), t: Math.min(box.t, q.top), r: Math.max(box.r, q.right), b: Math.max(box.b, q.bottom) };
        }
      }
    }
    out.push({ html: e.outerHTML.slice(0, 100), w: box.r - box.l, h: box.b - box.t });
  }
  return out;
}"""


def small_targets(page, minimum: float = 24.0) -> list[dict]:
    """Every visible control whose target (a check box or radio with its label) is under ``minimum`` CSS px."""
    return [t for t in page.evaluate(TARGETS) if t["w"] < minimum - 0.01 or t["h"] < minimum - 0.01]


def horizontal_overflow(page) -> int:
    """How many CSS px the document is wider than the viewport (0 = none)."""
    return page.evaluate("Math.max(0, document.scrollingElement.scrollWidth - window.innerWidth)")


BROKEN_WORDS = """(scope) => {
  // a word (letters and digits between spaces, hyphens or slashes) drawn on more than one line is broken inside
  const out = [];
  for (const cell of document.querySelectorAll(scope)) {
    if (cell.closest('.cm-fig') || cell.closest('[hidden]')) continue;   // SQL parameter values are code, not words
    const r0 = cell.getBoundingClientRect(); if (!r0.width || !r0.height) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /[^\\s\\-\\u2010-\\u2015\\/]+/g; let m;
      while ((m = re.exec(node.data))) {
        if (m[0].length < 2) continue;
        const range = document.createRange(); range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).filter(q => q.width > 0).map(q => Math.round(q.top)));
        if (tops.size > 1) out.push(m[0]);
      }
    }
  }
  return out;
}"""


def broken_words(page, scope: str = "td, th") -> list[str]:
    """The words of visible table cells that the layout broke across lines."""
    return page.evaluate(BROKEN_WORDS, scope)
