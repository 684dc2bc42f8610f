// "What changed" page code (maps/changes.py), run as function (C, data) by the page shell (shell.js).
// Counts by kind of change, then one table row per change; every value is set as text (C.el), never as markup.
var el = C.el;
var LABELS = {type: C.t("changes.kind_type"), location: C.t("changes.kind_location"), date: C.t("changes.kind_date"),
              other: C.t("changes.kind_other"), removed: C.t("changes.kind_removed"), added: C.t("changes.kind_added")};
function num(v) { return C.fmtNum(Number(v || 0)); }
if (data.synthetic) { document.getElementById("changes-synthetic").hidden = false; }
var runs = document.getElementById("changes-runs");
if (!data.pair) {
  runs.textContent = data.reason_key ? C.t(data.reason_key) : (data.reason || C.t("changes.nothing"));
} else {
  runs.textContent = C.t(data.total === 1 ? "changes.runs_one" : "changes.runs_many", {
    from: data.pair.from_run_id, from_end: C.i18n.isDefault ? data.pair.from_end : C.fmtDate(data.pair.from_end),
    to: data.pair.to_run_id, to_end: C.i18n.isDefault ? data.pair.to_end : C.fmtDate(data.pair.to_end),
    status: data.pair.to_status && data.pair.to_status !== "completed" ? ", " + data.pair.to_status : "",
    n: num(data.total)});
}
var counts = document.getElementById("changes-counts");
data.kinds.forEach(function (k) {
  if (!data.pair) { return; }
  var li = el("li");
  li.id = "count-" + k;
  li.appendChild(el("span", LABELS[k] || k, "cm-change-kind cm-change-" + k));
  li.appendChild(el("span", " " + num(data.counts[k])));
  counts.appendChild(li);
});
if (data.pair && data.rows.length < data.total) {
  document.getElementById("changes-shown").textContent = C.t("changes.shown", {n: num(data.rows.length),
    total: num(data.total)});
}
function day(t) { return t ? String(t).slice(0, 10) : null; }
// the explorer's URL state (maps/explorer_filters.py hash keys): that day, that type, within 100 m of the block
function explorerLink(r) {
  if (!data.explorer || r.change === "removed" || !r.occurred_at) { return null; }
  var d = day(r.occurred_at), parts = ["from=" + d, "to=" + d];
  if (r.primary_type) { parts.push("types=" + encodeURIComponent(r.primary_type)); }
  if (r.block) { parts.push("block=" + encodeURIComponent(String(r.block).trim().toUpperCase()), "r=100"); }
  return data.explorer + "#" + parts.join("&");
}
var body = document.getElementById("changes-rows");
data.rows.forEach(function (r, i) {
  var tr = el("tr");
  tr.id = "change-" + i;
  tr.className = "cm-row-" + r.change;
  tr.appendChild(el("td", LABELS[r.change] || r.change, "cm-change-kind cm-change-" + r.change));
  var rec = el("td");
  rec.appendChild(el("div", r.source_id + (r.case_number ? " · " + C.t("changes.case", {n: r.case_number}) : "")));
  rec.appendChild(el("div", r.dataset, "cm-change-note"));
  tr.appendChild(rec);
  tr.appendChild(el("td", r.changed_fields || ""));
  tr.appendChild(el("td", r.before || ""));
  var after = el("td", r.after || "");
  if (r.note) { after.appendChild(el("div", r.note, "cm-change-note")); }
  tr.appendChild(after);
  tr.appendChild(el("td", r.seen_at || ""));
  var link = el("td"), href = explorerLink(r);
  if (href) {
    var a = el("a", C.t("changes.th_explorer"));
    a.href = href;   // built from our own page name and URI-encoded values: never a portal URL
    link.appendChild(a);
  }
  tr.appendChild(link);
  body.appendChild(tr);
});
