// Spending page code (maps/spending.py), run as function (C, data) by the page shell (shell.js).
// Bar charts by department and by fund; circles on the map only when spending rows carry locations.
var el = C.el;
document.getElementById("spend-heading").textContent =
  data.year === null ? "Spending (all years)" : "Spending, fiscal year " + data.year;
document.getElementById("spend-total").textContent = data.total;
if (data.years.length > 1) {
  document.getElementById("spend-years").textContent = "Years in the data: " + data.years.join(", ") + ". Showing " + data.year + ".";
}
function bars(target, rows) {  // returns the amount element of each row
  var box = document.getElementById(target), amounts = [];
  var max = rows.reduce(function (m, r) { return Math.max(m, Math.abs(r.amount)); }, 0) || 1;
  rows.forEach(function (r) {
    var row = el("div", null, "cm-bar"), track = el("div", null, "cm-bar-track"), fill = el("div", null, "cm-bar-fill");
    var label = el("div", r.label, "cm-bar-label");
    label.title = r.label;
    fill.style.width = (100 * Math.abs(r.amount) / max).toFixed(2) + "%";
    if (r.amount < 0) { fill.style.background = "#b5452f"; }
    track.appendChild(fill);
    var amount = el("div", r.text, "cm-bar-amount");
    row.appendChild(label); row.appendChild(track); row.appendChild(amount);
    box.appendChild(row); amounts.push(amount);
  });
  if (!rows.length) { box.appendChild(el("p", "No spending rows.", "cm-muted")); }
  return amounts;
}
var deptAmounts = bars("dept-bars", data.departments), fundAmounts = bars("fund-bars", data.funds);
// "How is this computed?" (figure_sql.js): each total as a sum over the spending lines of the year.
var year = data.year === null ? "all" : String(data.year);
Figures.control("spending.total", { after: document.getElementById("spend-total").parentNode,
  rows: function () { return [{ label: "total", target: document.getElementById("spend-total"), values: { city: data.city, year: year } }]; } });
Figures.control("spending.department", { after: document.getElementById("dept-bars"), pick: "Department",
  label: "How are these totals computed?", rows: function () {
    return data.departments.map(function (r, k) {
      return r.other ? { label: r.label, target: deptAmounts[k], key: "spending.other_departments",
                         values: { city: data.city, year: year, top: data.top } }
        : { label: r.label, target: deptAmounts[k], values: { city: data.city, year: year, department: r.label } };
    });
  } });
Figures.control("spending.fund", { after: document.getElementById("fund-bars"), pick: "Fund",
  label: "How are these totals computed?", rows: function () {
    return data.funds.map(function (r, k) { return { label: r.label, target: fundAmounts[k], values: { city: data.city, year: year, fund: r.label } }; });
  } });
if (C.map && data.located.length) {
  var max = data.located.reduce(function (m, r) { return Math.max(m, Math.abs(r[1])); }, 0) || 1;
  data.located.forEach(function (r) {
    var pop = el("div"); pop.appendChild(el("strong", r[0])); pop.appendChild(el("div", r[2]));
    L.circleMarker([r[3], r[4]], { renderer: C.canvas, radius: 3 + 12 * Math.sqrt(Math.abs(r[1]) / max),
      color: "#2f6db5", weight: 1, fillOpacity: 0.5 }).bindPopup(pop).addTo(C.map);
  });
}
