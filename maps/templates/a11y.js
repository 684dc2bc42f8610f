/* civicmash accessibility shared by every page (inlined by maps/render.py before the page's script; see
   docs/maps.md#accessibility). window.civicA11y:
   - skip links (page.html.j2) land the focus where they say without touching the URL (the explorer keeps its
     state in the URL hash);
   - map shapes that are not controls (Leaflet paths and markers a tooltip or popup made focusable) leave the tab
     order: the same facts are in the panel's tables and lists;
   - a table wider than its column scrolls sideways in its own box, which is a named tab stop only while it
     scrolls (cells never break inside a word: a11y.css);
   - mapPicker(map, opts): the focused map takes arrow keys (Leaflet pans), + / - (zoom) and Enter or Space to
     pick the point under the centre crosshair;
   - placeSearch(input, listbox, opts): a combobox whose results are chosen with the arrow keys and Enter. */
(function () {
  "use strict";
  var SHAPES = ".leaflet-interactive:not([tabindex='-1']):not([data-cm-keep]), " +
               ".leaflet-marker-icon:not([tabindex='-1']):not([data-cm-keep])";

  function demoteShapes(root) {
    var found = (root || document).querySelectorAll(SHAPES);
    for (var i = 0; i < found.length; i++) {
      found[i].setAttribute("tabindex", "-1");
      found[i].setAttribute("aria-hidden", "true");
    }
  }

  function labelOf(table) {
    var cap = table.querySelector("caption");
    if (table.getAttribute("aria-label")) { return table.getAttribute("aria-label"); }
    if (cap && cap.textContent.trim()) { return cap.textContent.trim().slice(0, 80); }
    var prev = table.parentNode && table.parentNode.previousElementSibling;
    var head = table.previousElementSibling;
    while (head && !/^H[1-6]$/.test(head.tagName)) { head = head.previousElementSibling; }
    if (!head && prev && /^H[1-6]$/.test(prev.tagName)) { head = prev; }
    return head ? head.textContent.trim() : say("a11y.table");
  }

  function say(key, vars) {   // a message in the reader's language (i18n.js, loaded before this file)
    return window.civicmashI18n.init().t(key, vars);
  }

  function wrapTables() {
    var tables = document.querySelectorAll("#panel table, #legend table");
    for (var i = 0; i < tables.length; i++) {
      var t = tables[i], p = t.parentNode;
      if (!p || p.classList.contains("cm-table-scroll") || p.classList.contains("sp-scroll") || t.closest(".cm-fig")) {
        continue;
      }
      var box = document.createElement("div");
      box.className = "cm-table-scroll";
      p.insertBefore(box, t);
      box.appendChild(t);
    }
  }

  function syncScrollers() {
    var boxes = document.querySelectorAll(".cm-table-scroll");
    for (var i = 0; i < boxes.length; i++) {
      var b = boxes[i], t = b.querySelector("table"), wide = b.scrollWidth > b.clientWidth + 1;
      if (wide) {
        if (b.getAttribute("tabindex") !== "0") {
          b.setAttribute("tabindex", "0");
          b.setAttribute("role", "region");
          b.setAttribute("aria-label", say("a11y.scrolls_sideways", { label: t ? labelOf(t) : say("a11y.table") }));
        }
      } else if (b.hasAttribute("tabindex")) {
        b.removeAttribute("tabindex"); b.removeAttribute("role"); b.removeAttribute("aria-label");
      }
    }
  }

  var pending = false;
  function schedule() {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; wrapTables(); syncScrollers(); });
  }

  function visible(e) {
    if (!e) { return false; }
    if (e.closest("[hidden]")) { return false; }
    return true;
  }

  function skipTarget(link) {
    var kind = link.getAttribute("data-cm-skip");
    if (kind === "results") { return document.querySelector("[data-cm-results]"); }
    return document.getElementById(kind);
  }

  function land(target) {
    var panel = document.getElementById("panel");
    if (panel && panel.contains(target) && document.body.classList.contains("cm-collapsed")) {
      var t = document.getElementById("panel-toggle");
      if (t) { t.click(); }
    }
    if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
      target.setAttribute("data-cm-skip-target", "");
    }
    if (!target.getClientRects().length) { return; }   // not drawn (the embedded explorer has no panel)
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "start" });
  }

  function wireSkipLinks() {
    var links = document.querySelectorAll(".cm-skip a[data-cm-skip]");
    for (var i = 0; i < links.length; i++) {
      (function (link) {
        if (!visible(skipTarget(link))) { link.parentNode.removeChild(link); return; }
        link.addEventListener("click", function (ev) {
          var target = skipTarget(link);
          ev.preventDefault();
          if (target && visible(target)) { land(target); }
        });
      })(links[i]);
    }
  }

  function init() {
    wireSkipLinks();
    demoteShapes();
    wrapTables();
    syncScrollers();
    var map = document.getElementById("map");
    if (map) {
      new MutationObserver(function () { demoteShapes(map); }).observe(map, { childList: true, subtree: true });
    }
    new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
    window.addEventListener("resize", schedule);
    document.addEventListener("focusin", revealInScroller);
  }

  // Chromium leaves a focused control mostly hidden when a sliver of it shows in a sideways-scrolling table box:
  // scroll the box so the whole control is in view.
  function revealInScroller(ev) {
    var e = ev.target, box = e && e.closest ? e.closest(".cm-table-scroll, .sp-scroll") : null;
    if (!box || box === e) { return; }
    var r = e.getBoundingClientRect(), q = box.getBoundingClientRect();
    if (r.right > q.right) { box.scrollLeft += Math.min(r.right - q.right, r.left - q.left); }
    else if (r.left < q.left) { box.scrollLeft -= q.left - r.left; }
  }

  function mapPicker(map, opts) {
    var box = map.getContainer();
    box.classList.add("cm-pickable");
    if (opts.label) { box.setAttribute("aria-label", opts.label); }
    box.addEventListener("keydown", function (ev) {
      if (ev.target !== box || ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        opts.onPick(map.getCenter());
      }
    });
  }

  var comboIds = 0;
  function placeSearch(input, listbox, opts) {
    var items = [], active = -1, max = opts.max || 8, base = "cm-opt-" + (++comboIds) + "-";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);
    listbox.setAttribute("role", "listbox");
    listbox.hidden = true;

    function close() {
      listbox.hidden = true; input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant"); active = -1;
    }
    function mark() {
      var kids = listbox.children;
      for (var j = 0; j < kids.length; j++) { kids[j].setAttribute("aria-selected", j === active ? "true" : "false"); }
      if (active >= 0) {
        input.setAttribute("aria-activedescendant", base + active);
        kids[active].scrollIntoView({ block: "nearest" });
      } else { input.removeAttribute("aria-activedescendant"); }
    }
    function pick(j) {
      var it = items[j];
      if (!it) { return; }
      input.value = it.label;
      close();
      opts.onPick(it);
    }
    function search() {
      var q = input.value.trim();
      items = q ? opts.search(q).slice(0, max) : [];
      listbox.textContent = ""; active = -1;
      items.forEach(function (it, j) {
        var li = document.createElement("li");
        li.id = base + j; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
        li.appendChild(document.createTextNode(it.label));
        if (it.detail) { var d = document.createElement("span"); d.className = "cm-muted"; d.textContent = it.detail; li.appendChild(d); }
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
        li.addEventListener("click", function () { pick(j); });
        listbox.appendChild(li);
      });
      listbox.hidden = !items.length;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
      input.removeAttribute("aria-activedescendant");
      if (opts.onCount) { opts.onCount(items.length, q); }
    }
    input.addEventListener("input", search);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (listbox.hidden) { search(); }
        if (!items.length) { return; }
        active = ev.key === "ArrowDown" ? (active + 1) % items.length : (active <= 0 ? items.length - 1 : active - 1);
        mark();
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        if (listbox.hidden) { search(); }
        pick(active >= 0 ? active : 0);
      } else if (ev.key === "Escape") {
        if (!listbox.hidden) { ev.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 150); });
    return { search: search, close: close };
  }

  window.civicA11y = { mapPicker: mapPicker, placeSearch: placeSearch, demoteShapes: demoteShapes,
                       syncScrollers: syncScrollers };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
