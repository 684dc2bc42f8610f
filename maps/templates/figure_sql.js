// "How is this computed?": the SQL behind each number a page shows (warehouse/figures.py), shared by the pages.
// Run first in the page body (maps/*.py list it before the page's own script), so `Figures` is in scope there.
// The page embeds the figures' SQL templates (data.figures.figures) and, for the explorer, its filters'
// predicates (data.figures.filters); a page asks for a control next to a number or under a table, and gives a
// function that returns the rows it can explain: [{label, target (the element showing the number), key (when
// the row is another figure than the control's), values
// (parameter -> value), preds (the explorer's filter predicates that are set)}]. The control shows the SQL, the
// values it binds and the `civicmash sql` command that reproduces the number, filled in when it is opened and
// again whenever the page says its state changed (Figures.refresh()). Text only (textContent), never markup.
// A figure's title and definition are shown in the reader's language: data.figures.messages holds them in each
// language but English (maps/locales/<lang>.json, "{name}" filled from the figure's `words`); English, or a
// figure with no translation, shows the figure's own words (warehouse/figures.py, their one source).
var Figures = (function () {
  "use strict";
  var FIG = (data.figures && data.figures.figures) || {}, FILTERS = (data.figures && data.figures.filters) || {};
  var MSGS = (data.figures && data.figures.messages) || {};
  var PARAM = /\$([A-Za-z_][A-Za-z0-9_]*)/g, controls = [], nextId = 0;

  // figure k's {title, definition} in the reader's language; lang: "" when translated, else the figure's ("en")
  function said(k) {
    var f = FIG[k], held = MSGS[C.lang] || {}, vars = f.words || {}, out = { lang: "" };
    ["title", "definition"].forEach(function (part) {
      var id = "figure." + k + "." + part;
      if (Object.prototype.hasOwnProperty.call(held, id)) out[part] = window.civicmashI18n.format(held[id], vars);
      else { out[part] = f[part] || ""; if (out[part] && !C.i18n.isDefault) out.lang = "en"; }
    });
    return out;
  }
  function mark(node, lang) { if (lang) node.setAttribute("lang", lang); else node.removeAttribute("lang"); }
  function paramsOf(sql) {  // parameter names in order of first appearance
    var out = [], m, re = new RegExp(PARAM.source, "g");
    while ((m = re.exec(sql)) !== null) { if (out.indexOf(m[1]) < 0) out.push(m[1]); }
    return out;
  }
  function text(v) {  // a value as `civicmash sql --param` passes it (warehouse/figures.py param_text)
    if (v === null || v === undefined) return "";
    if (v === true || v === false) return v ? "true" : "false";
    if (Array.isArray(v)) return JSON.stringify(v);
    return String(v);
  }
  function shq(s) {  // Python's shlex.quote
    s = String(s);
    if (!s) return "''";
    return /^[A-Za-z0-9_@%+=:,.\/-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\"'\"'") + "'";
  }
  function compose(f, preds) {  // warehouse/figures.py compose(): fixed predicates, then the filters that are set
    if (!f.head) return f.sql;
    var w = f.where.slice(0, 2).concat(preds || [], f.where.slice(2));
    return f.head + "\nWHERE " + w.join("\n  AND ") + f.tail;
  }
  function query(key, values, preds) {
    var f = FIG[key], sql = compose(f, preds), names = paramsOf(sql), params = [], cmd = ["civicmash", "sql", shq(sql)];
    names.forEach(function (n) {
      var v = text(values[n]);
      params.push([n, v]);
      cmd.push("--param", shq(n + "=" + v));
    });
    var again = f.reproduce ? f.reproduce.replace(PARAM, function (_, n) { return shq(text(values[n])); }) : "";
    return { key: key, sql: sql, params: params, command: cmd.join(" "), reproduce: again };
  }
  // The predicates and values of the explorer filters that are set: `set` maps filter key -> values of its SQL's
  // parameters (the page decides what is set, as it filters).
  function filterParts(set) {
    var preds = [], values = {};
    Object.keys(set).forEach(function (k) {
      if (set[k] === false) { preds.push("FALSE"); return; }  // a filter that matches nothing (e.g. no such block)
      preds.push(FILTERS[k].sql);
      Object.keys(set[k]).forEach(function (n) { values[n] = set[k][n]; });
    });
    return { preds: preds, values: values };
  }
  function targetId(node) {
    if (!node) return "";
    if (!node.id) node.id = "cm-fig-n" + (++nextId);
    return node.id;
  }
  function copy(pre, btn) {
    var s = pre.textContent, done = function () { btn.textContent = C.t("fig.copied"); setTimeout(function () { btn.textContent = C.t("fig.copy"); }, 1500); };
    var select = function () {
      var range = document.createRange(); range.selectNodeContents(pre);
      var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
      try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: the reader copies it */ }
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(s).then(done, select);
    else select();
  }
  // A control explaining figure `key`: opts.rows() -> [{label, target, values, preds}]; opts.after: the element to
  // place it after; opts.label: words for the summary (default "How is this computed?").
  function control(key, opts) {
    var f = FIG[key];
    if (!f || !opts.after || !opts.after.parentNode) return null;
    var el = C.el, box = el("details", null, "cm-fig"), sum = el("summary", opts.label || C.t("fig.how")), w = said(key);
    box.setAttribute("data-figure", key);
    sum.setAttribute("aria-label", (opts.label || C.t("fig.how")) + " " + w.title);
    box.appendChild(sum);
    var body = el("div", null, "cm-fig-body"), pick = null, pickLab = null;
    var title = el("p", w.title, "cm-fig-title"), def = el("p", w.definition, "cm-fig-def");
    mark(title, w.lang); mark(def, w.lang);
    body.appendChild(title);
    if (opts.pick) {
      var row = el("div", null, "cm-row");
      pick = el("select", null, "cm-fig-pick"); pick.id = "cm-fig-pick" + (++nextId);
      pickLab = el("label", opts.pick); pickLab.htmlFor = pick.id;
      row.appendChild(pickLab); row.appendChild(pick); body.appendChild(row);
      pick.addEventListener("change", function () { fill(); });
    }
    body.appendChild(def);
    body.appendChild(el("div", C.t("fig.sql"), "cm-muted"));
    var pre = el("pre", null, "cm-fig-sql"); pre.tabIndex = 0; body.appendChild(pre);
    var table = el("table", null, "cm-table cm-fig-params"), tb = el("tbody");
    table.appendChild(el("caption", C.t("fig.params"))); table.appendChild(tb); body.appendChild(table);
    body.appendChild(el("div", C.t("fig.reproduce"), "cm-muted"));
    var cli = el("pre", null, "cm-fig-cli"); cli.tabIndex = 0; body.appendChild(cli);
    var btn = el("button", C.t("fig.copy"), "cm-small"); btn.type = "button"; body.appendChild(btn);
    btn.addEventListener("click", function () { copy(cli, btn); });
    var again = el("p", null, "cm-fig-again"); body.appendChild(again);
    var none = el("p", C.t("fig.nothing"), "cm-muted"); none.hidden = true; body.appendChild(none);
    box.appendChild(body);
    var rows = [];
    function fill() {
      if (!box.open) return;
      var keep = pick && pick.selectedIndex >= 0 ? pick.options[pick.selectedIndex].textContent : null;
      rows = opts.rows() || [];
      if (pick) {
        while (pick.firstChild) pick.removeChild(pick.firstChild);
        rows.forEach(function (r, k) { var o = el("option", r.label); o.value = String(k); pick.appendChild(o); });
        var at = 0;
        rows.forEach(function (r, k) { if (r.label === keep) at = k; });
        pick.selectedIndex = rows.length ? at : -1;
      }
      var r = rows[pick ? pick.selectedIndex : 0];
      none.hidden = !!r;
      [pre, table, cli, btn].forEach(function (n) { n.hidden = !r; });
      if (!r) { box.removeAttribute("data-for"); return; }
      var k = r.key || key, q = query(k, r.values || {}, r.preds || []);  // a row may explain another figure
      box.setAttribute("data-figure", k);
      var now = said(k);
      title.textContent = now.title; def.textContent = now.definition; def.hidden = !now.definition;
      mark(title, now.lang); mark(def, now.lang);
      box.setAttribute("data-for", targetId(r.target));
      pre.textContent = q.sql;
      while (tb.firstChild) tb.removeChild(tb.firstChild);
      q.params.forEach(function (p) {
        var tr = el("tr"), td = el("td"); td.appendChild(el("div", p[1], "cm-fig-val"));
        tr.appendChild(el("th", "$" + p[0])); tr.appendChild(td); tb.appendChild(tr);
      });
      cli.textContent = q.command;
      again.textContent = q.reproduce ? C.t("fig.again", {command: q.reproduce}) : "";
      again.hidden = !q.reproduce;
    }
    box.addEventListener("toggle", fill);
    opts.after.parentNode.insertBefore(box, opts.after.nextSibling);
    var handle = { box: box, fill: fill };
    controls.push(handle);
    return handle;
  }
  function refresh() {  // after the page's state changed: refill the open controls that are still on the page
    controls = controls.filter(function (c) { return document.body.contains(c.box); });
    controls.forEach(function (c) { c.fill(); });
  }
  return { control: control, refresh: refresh, query: query, filterParts: filterParts, shq: shq, text: text,
           paramsOf: paramsOf, has: function (key) { return FIG.hasOwnProperty(key); } };
})();
