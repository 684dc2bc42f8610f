// Shared by the money pages (spending.js, providers.js), run before them in the page body: number formats and a
// bar chart with one scale and one track length. Strings only ever go in with textContent (C.el).
var el = C.el, $ = function (id) { return document.getElementById(id); };
function money(v) {  // whole dollars, like maps/money_data.py format_amount (a real minus sign)
  var r = Math.round(Math.abs(v));
  return (v < 0 && r > 0 ? "\u2212" : "") + "$" + r.toLocaleString(C.locale);
}
function cents(v) { return (v < 0 ? "\u2212" : "") + "$" + Math.abs(v).toLocaleString(C.locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
function num(v) { return Math.round(v).toLocaleString(C.locale); }
function option(sel, value, text) { var o = el("option", text); o.value = String(value); sel.appendChild(o); return o; }
function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } return node; }
function list(words) { return words.length < 2 ? words.join("") : words.slice(0, -1).join(", ") + " " + C.t("sp.and") + " " + words[words.length - 1]; }

// A bar chart with one scale and one track length: rows [{label, abbr, sub, value (null = a gap), text, gapText,
// onClick}]. Returns each row's amount element (the figure controls point at them).
function chart(box, rows) {
  clear(box);
  var max = rows.reduce(function (m, r) { return r.value === null ? m : Math.max(m, Math.abs(r.value)); }, 0) || 1;
  return rows.map(function (r) {
    var row = el(r.onClick ? "button" : "div", null, "sp-row cm-bar" + (r.value === null ? " sp-gap" : ""));
    if (r.onClick) { row.type = "button"; row.addEventListener("click", r.onClick); }
    var lab = el("span", r.label, "sp-label");
    if (r.abbr) { lab.appendChild(document.createTextNode(" ")); lab.appendChild(el("span", "(" + r.abbr + ")", "sp-abbr")); }
    row.appendChild(lab);
    var track = el("span", null, "sp-track"), fill = el("span", null, "sp-fill" + (r.value < 0 ? " neg" : ""));
    fill.style.display = "block";
    fill.style.width = r.value === null ? "0" : (100 * Math.abs(r.value) / max).toFixed(2) + "%";
    track.appendChild(fill); track.setAttribute("aria-hidden", "true");
    row.appendChild(track);
    var amount = el("span", r.value === null ? r.gapText : r.text, "sp-amount");
    row.appendChild(amount);
    if (r.sub) { row.appendChild(el("span", r.sub, "sp-sub")); }
    box.appendChild(row);
    return amount;
  });
}
