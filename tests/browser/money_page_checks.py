"""Checks shared by the money pages' browser tests (spending explorer, providers compared)."""

from __future__ import annotations

from pathlib import Path

from tests.browser.chromium import axe_violations

REPO = Path(__file__).resolve().parents[2]

_LAYOUT = """(sels) => {
  const W = window.innerWidth, out = { width: document.scrollingElement.scrollWidth, W, items: [], cut: [] };
  for (const s of sels) {
    const e = document.querySelector(s);
    if (!e) { out.items.push({ s, missing: true }); continue; }
    const r = e.getBoundingClientRect();
    out.items.push({ s, top: r.top + window.scrollY, left: r.left, right: r.right, height: r.height });
  }
  for (const e of document.querySelectorAll('h1, h2, h3, .sp-label, .sp-amount, th, td, label, legend, summary')) {
    const cs = getComputedStyle(e);
    if (e.offsetParent === null) continue;
    if (cs.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1) out.cut.push(e.textContent);
    else if (/\\u2026$/.test(e.textContent.trim())) out.cut.push(e.textContent);
  }
  return out;
}"""


def assert_phone_layout(page, selectors: list[str], *, scroll: bool = False) -> None:
    """The page fits the viewport's width; each selector's element is there, inside the page (nothing above
    its top or beside it) and, scrolled to, on screen; no text is cut to an ellipsis."""
    if not scroll:
        page.evaluate("window.scrollTo(0, 0)")
    got = page.evaluate(_LAYOUT, selectors)
    assert got["width"] <= got["W"], f"the page is wider than the screen: {got['width']} > {got['W']}"
    for item in got["items"]:
        assert not item.get("missing"), f"{item['s']} is not on the page"
        assert item["top"] >= 0, f"{item['s']} is above the top of the page ({item['top']:.0f} px)"
        assert item["left"] >= 0 and item["right"] <= got["W"] + 0.5, f"{item['s']} sticks out sideways: {item}"
        assert item["height"] > 0, f"{item['s']} is not drawn"
        page.locator(item["s"]).first.scroll_into_view_if_needed()
        box = page.locator(item["s"]).first.bounding_box()
        assert box and 0 <= box["y"] < page.viewport_size["height"], f"{item['s']} cannot be scrolled to: {box}"
    assert got["cut"] == [], f"text cut to an ellipsis: {got['cut'][:5]}"


_NAMES = """() => {
  const bad = [];
  const name = (e) => (e.getAttribute('aria-label') || e.textContent || '').trim() ||
    (e.id && document.querySelector('label[for="' + e.id + '"]') ? 'label' : '') || (e.closest('label') ? 'label' : '');
  for (const e of document.querySelectorAll('button, select, input, a[href], summary')) {
    if (e.offsetParent === null && e.tagName !== 'SUMMARY') continue;
    if (!name(e)) bad.push(e.outerHTML.slice(0, 80));
  }
  for (const t of document.querySelectorAll('table')) {
    if (!t.querySelector('caption')) bad.push('table without caption: ' + (t.id || ''));
    for (const th of t.querySelectorAll('thead th')) if (th.getAttribute('scope') !== 'col') bad.push('th without scope');
  }
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4')) {
    if (h.offsetParent === null) continue;
    const level = +h.tagName[1];
    if (level > last + 1) bad.push('heading level skipped: ' + h.textContent.slice(0, 40));
    last = level;
  }
  if (!document.documentElement.lang) bad.push('no lang');
  return bad;
}"""


def assert_accessible(page) -> None:
    """Every control has a name, every table a caption and column headers, headings do not skip a level; and,
    axe-core finds no violation."""
    assert page.evaluate(_NAMES) == []
    assert axe_violations(page) == []
