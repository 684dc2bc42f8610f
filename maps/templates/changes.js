// "What changed" page code (maps/changes.py), run as function (C, data) by the page shell (shell.js).
// Counts by kind of change, then one table row per change; every value is set as text (C.el), never as markup.
var el = C.el;
var LABELS = {type: "type changed", location: "moved", date: "date changed", other: "other field changed",
              removed: "removed", added: "added"};
function num(v) { return Number(v || 0).toLocaleString("en-US"); }
if (data.synthetic) { document.getElementById("changes-synthetic").hidden = false; }
var runs = document.getElementById("changes-runs");
if (!data.pair) {
  runs.textContent = data.reason || "Nothing to compare yet.";
} else {
  runs.textContent = "From run " + data.pair.from_run_id + " (finished " + data.pair.from_end + " UTC) to run " +
    data.pair.to_run_id + " (finished " + data.pair.to_end + " UTC" +
    (data.pair.to_status && data.pair.to_status !== "completed" ? ", " + data.pair.to_status : "") + "): " +
    num(data.total) + " change" + (data.total === 1 ? "" : "s") + ".";
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
  document.getElementById("changes-shown").textContent = "The first " + num(data.rows.length) + " of " +
    num(data.total) + " changes are listed below (reclassifications first).";
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
  rec.appendChild(el("div", r.source_id + (r.case_number ? " · case " + r.case_number : "")));
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
    var a = el("a", "in the explorer");
    a.href = href;   // built from our own page name and URI-encoded values: never a portal URL
    link.appendChild(a);
  }
  tr.appendChild(link);
  body.appendChild(tr);
});
