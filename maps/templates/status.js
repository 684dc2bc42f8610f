// Status page code (maps/status.py), run as function (C, data) by the page shell (shell.js).
// One table row per dataset; every value is set as text (C.el), never as markup.
var el = C.el;
function num(v, digits) {
  if (v === null || v === undefined) { return "-"; }
  return Number(v).toLocaleString(C.locale, {maximumFractionDigits: digits || 0});
}
// dates as written (ISO) in English, in the reader's locale otherwise
function when(v) { return C.i18n.isDefault ? v : C.fmtDate(v); }
var counts = data.counts;
document.getElementById("status-counts").textContent = data.datasets.length
  ? C.t("status.counts", {ok: counts.ok, degraded: counts.degraded, failed: counts.failed})
  : C.t("status.no_run");
var body = document.getElementById("status-rows");
data.datasets.forEach(function (r) {
  var tr = el("tr");
  tr.id = "status-" + r.dataset;
  var portal = r.portal_count === null ? C.t("status.na") : num(r.portal_count) + " / " + num(r.compared_rows);
  var share = r.quarantine_share === null ? "-" : C.fmtNum(100 * r.quarantine_share, 1) + " %";
  [[r.dataset], [r.last_success_at ? when(r.last_success_at) : C.t("status.never")], [num(r.rows_current), "cm-num"],
   [share, "cm-num"], [r.source_updated_at ? when(r.source_updated_at) : "-"], [num(r.lag_hours, 1), "cm-num"], [portal, "cm-num"]].forEach(function (c) {
    tr.appendChild(el("td", c[0], c[1]));
  });
  var status = el("td");
  status.appendChild(el("span", C.i18n.has("status.status_" + r.status) ? C.t("status.status_" + r.status) : r.status,
                        "cm-status-" + r.status));
  if (r.reason) { status.appendChild(el("div", r.reason, "cm-status-reason")); }
  tr.appendChild(status);
  body.appendChild(tr);
});
// the run manifest: one row per dataset, from the run that last fetched it (maps/status.py, run_manifest)
var mbody = document.getElementById("manifest-rows");
(data.manifest || []).forEach(function (m) {
  var tr = el("tr");
  tr.id = "manifest-" + m.dataset;
  [[m.dataset], [m.run_id], [m.source_url || "-"], [m.fetched_at ? when(m.fetched_at) : "-"], [num(m.rows_in), "cm-num"],
   [num(m.rows_loaded), "cm-num"], [num(m.rows_quarantined), "cm-num"], [num(m.rows_held), "cm-num"],
   [m.portal_count === null ? C.t("status.na") : num(m.portal_count), "cm-num"],
   [m.content_hash ? String(m.content_hash).slice(0, 12) : "-"]].forEach(function (c) {
    tr.appendChild(el("td", c[0], c[1]));
  });
  mbody.appendChild(tr);
});
