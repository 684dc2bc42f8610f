// The crime explorer's honest comparisons: exact Poisson confidence intervals for the ratio of two incident rates
// (the conditional binomial method), the periods compared, and the weekly trend chart. The math is pure (no DOM)
// and is loaded by tests/maps/test_explorer_compare.py through node to check it against scipy.stats; the page
// inlines this file before explorer.js (maps/explorer.py), which calls ExplorerCompare.draw after each filter.
//
// Method: n1 incidents in t1 days, n2 in t2 days, each a Poisson count. Given n = n1 + n2, n1 is
// Binomial(n, p) with p = r t1 / (r t1 + t2), r = the rate ratio (n1/t1) / (n2/t2). A Clopper-Pearson 95 %
// interval [pL, pU] for p (beta quantiles) gives the interval for r: p / (1 - p) * t2 / t1 at both ends.
var ExplorerCompare = (function () {
  "use strict";
  var LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

  function lgamma(x) {  // log Gamma(x), x > 0 (Lanczos, g = 7)
    if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x);
    x -= 1;
    var a = LANCZOS[0], t = x + 7.5;
    for (var i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
    return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
  }
  function betacf(a, b, x) {  // continued fraction of the incomplete beta (modified Lentz)
    var TINY = 1e-300, qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap, m, m2, aa, del, h;
    if (Math.abs(d) < TINY) d = TINY;
    d = 1 / d; h = d;
    for (m = 1; m <= 100000; m++) {
      m2 = 2 * m;
      aa = m * (b - m) * x / ((qam + m2) * (a + m2));
      d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
      c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
      d = 1 / d; h *= d * c;
      aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
      d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
      c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
      d = 1 / d; del = d * c; h *= del;
      if (Math.abs(del - 1) < 1e-15) break;
    }
    return h;
  }
  function ibeta(x, a, b) {  // regularized incomplete beta I_x(a, b)
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    var bt = Math.exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log(1 - x));
    return x < (a + 1) / (a + b + 2) ? bt * betacf(a, b, x) / a : 1 - bt * betacf(b, a, 1 - x) / b;
  }
  function betaQuantile(q, a, b) {  // x with I_x(a, b) = q, by bisection (I is increasing in x)
    var lo = 0, hi = 1, mid;
    for (var k = 0; k < 200; k++) {
      mid = (lo + hi) / 2;
      if (mid === lo || mid === hi) break;
      if (ibeta(mid, a, b) < q) lo = mid; else hi = mid;
    }
    return (lo + hi) / 2;
  }
  function clopperPearson(x, n, conf) {  // exact interval for a binomial proportion
    var alpha = 1 - (conf || 0.95);
    return [x === 0 ? 0 : betaQuantile(alpha / 2, x, n - x + 1), x === n ? 1 : betaQuantile(1 - alpha / 2, x + 1, n - x)];
  }
  // {ratio, low, high, label}: rate ratio of n1 in t1 days against n2 in t2 days with its exact interval; label
  // "no real change" when the interval holds 1, "higher" / "lower" when it lies above / below 1. n1 + n2 = 0: null.
  function rateRatio(n1, t1, n2, t2, conf) {
    if (!(n1 + n2 > 0) || !(t1 > 0) || !(t2 > 0)) return null;
    var pi = clopperPearson(n1, n1 + n2, conf), k = t2 / t1;
    var low = pi[0] >= 1 ? Infinity : pi[0] / (1 - pi[0]) * k, high = pi[1] >= 1 ? Infinity : pi[1] / (1 - pi[1]) * k;
    var ratio = n2 === 0 ? Infinity : (n1 / t1) / (n2 / t2);
    var label = low <= 1 && 1 <= high ? "no real change" : (low > 1 ? "higher" : "lower");
    return { ratio: ratio, low: low, high: high, label: label };
  }

  // ---- periods: days are integers (days since 1970-01-01), inclusive ranges -------------------------------
  function isoToDay(s) { var p = s.split("-"); return Math.round(Date.UTC(+p[0], +p[1] - 1, +p[2]) / 86400000); }
  function dayToIso(d) { return new Date(d * 86400000).toISOString().slice(0, 10); }
  function yearBefore(day) {  // the same calendar day a year earlier (29 February -> 28 February)
    var dt = new Date(day * 86400000), y = dt.getUTCFullYear() - 1, m = dt.getUTCMonth(), dd = dt.getUTCDate();
    var last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    return Math.round(Date.UTC(y, m, Math.min(dd, last)) / 86400000);
  }
  // The selected period [from, to] and the two it is compared with; ``held`` = the data covers the period.
  function periods(from, to, first, last) {
    var len = to - from + 1, out = [{ key: "now", name: "This period", from: from, to: to }];
    out.push({ key: "previous", name: "Previous " + len + (len === 1 ? " day" : " days"), from: from - len, to: from - 1 });
    out.push({ key: "year", name: "A year earlier", from: yearBefore(from), to: yearBefore(to) });
    out.forEach(function (p) { p.days = p.to - p.from + 1; p.held = p.from >= first && p.to <= last; });
    return out;
  }

  // ---- drawing (the page only) ---------------------------------------------------------------------------
  // The page's words in the reader's language (C.t, maps/templates/i18n.js); under node (tests) the English.
  function say(key, english, vars) {
    if (typeof C !== "undefined" && C && typeof C.t === "function") return C.t(key, vars);
    return english.replace(/\{(\w+)\}/g, function (all, k) { return vars && k in vars ? String(vars[k]) : all; });
  }
  function showDay(d) {
    var iso = dayToIso(d);
    return typeof C !== "undefined" && C && C.i18n && !C.i18n.isDefault ? C.fmtDate(iso) : iso;
  }
  var NAMES = { now: ["cmp.now", "This period"], year: ["cmp.year", "A year earlier"] };
  var VERDICTS = { "no real change": ["cmp.no_change", "no real change"], higher: ["cmp.higher", "higher"],
                   lower: ["cmp.lower", "lower"] };
  function periodName(p) {
    if (p.key === "previous") return say(p.days === 1 ? "cmp.previous_one" : "cmp.previous_many",
                                         p.days === 1 ? "Previous {n} day" : "Previous {n} days", { n: p.days });
    return NAMES[p.key] ? say(NAMES[p.key][0], NAMES[p.key][1]) : p.name;
  }
  function fmtRatio(x) {
    if (x === Infinity) return "\u221e";
    return typeof C !== "undefined" && C && C.fmtNum ? C.fmtNum(x, 2) : x.toFixed(2);
  }
  function drawTable(tbody, el, fmtInt, rows) {  // rows: periods with .count (null = not held)
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    var now = rows[0];
    rows.forEach(function (p) {
      var tr = el("tr"); tr.setAttribute("data-period", p.key);
      tr.appendChild(el("td", periodName(p)));
      tr.appendChild(el("td", showDay(p.from) + " \u2013 " + showDay(p.to)));
      tr.appendChild(el("td", p.count === null ? "\u2014" : fmtInt(p.count), "num"));
      var rr = p.key === "now" || p.count === null ? null : rateRatio(now.count, now.days, p.count, p.days);
      p.rr = rr;
      var verdict = p.key === "now" ? "" : (p.count === null ? (p.key === "year" ? say("cmp.no_data_year", "no data a year earlier")
        : say("cmp.no_data_previous", "no data for the previous period"))
        : (rr ? (VERDICTS[rr.label] ? say(VERDICTS[rr.label][0], VERDICTS[rr.label][1]) : rr.label)
          : say("cmp.no_incidents", "no incidents in either period")));
      tr.appendChild(el("td", rr ? fmtRatio(rr.ratio) : "", "num cm-cmp-ratio"));
      tr.appendChild(el("td", rr ? fmtRatio(rr.low) + " \u2013 " + fmtRatio(rr.high) : "", "num cm-cmp-ci"));
      tr.appendChild(el("td", verdict, "cm-cmp-label"));
      tbody.appendChild(tr);
    });
  }
  var SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // The weekly trend: one point per Monday-starting week of the data (weeks: [{start: day, count}]), the
  // selected period shaded; axes labelled with the first and last week and the largest count. Redrawn after every
  // filter: the points already drawn are moved, not made again (a few years of data: two hundred weeks).
  function drawTrend(svg, weeks, sel) {
    var W = 360, H = 150, L = 40, R = 8, T = 12, B = 30;
    var kept = svg._cmTrend, k;
    if (!kept || kept.n !== weeks.length || kept.x0 !== (weeks.length ? weeks[0].start : null)) {
      // from scratch, but its <title> stays: it names the chart (role="img", aria-labelledby)
      var kids = Array.prototype.slice.call(svg.childNodes);
      kids.forEach(function (c) { if (c.nodeName.toLowerCase() !== "title") svg.removeChild(c); });
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      svg._cmTrend = null;
      if (!weeks.length) { svg.appendChild(svgEl("text", { x: L, y: H / 2 }, say("cmp.no_incidents_short", "no incidents"))); return; }
      kept = { n: weeks.length, x0: weeks[0].start, dots: [], tips: [] };
      kept.sel = svg.appendChild(svgEl("rect", { y: T, height: H - T - B, "class": "cm-trend-sel" }));
      svg.appendChild(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, "class": "cm-trend-axis" }));
      svg.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, "class": "cm-trend-axis" }));
      kept.max = svg.appendChild(svgEl("text", { x: L - 4, y: T + 4, "text-anchor": "end", "class": "cm-trend-label" }, ""));
      svg.appendChild(svgEl("text", { x: L - 4, y: H - B, "text-anchor": "end", "class": "cm-trend-label" }, "0"));
      svg.appendChild(svgEl("text", { x: L, y: H - B + 14, "class": "cm-trend-label" }, showDay(weeks[0].start)));
      svg.appendChild(svgEl("text", { x: W - R, y: H - B + 14, "text-anchor": "end", "class": "cm-trend-label" },
                            showDay(weeks[weeks.length - 1].start)));
      svg.appendChild(svgEl("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", "class": "cm-trend-label" },
                            say("cmp.trend_axis", "week (Monday start); shaded: the selected dates")));
      kept.line = svg.appendChild(svgEl("polyline", { "class": "cm-trend-line" }));
      weeks.forEach(function (w) {
        var c = svgEl("circle", { r: 1.8, "class": "cm-trend-dot" }), tip = svgEl("title", {}, "");
        c.appendChild(tip); svg.appendChild(c); kept.dots.push(c); kept.tips.push(tip);
      });
      svg._cmTrend = kept;
    }
    var max = Math.max(1, Math.max.apply(null, weeks.map(function (w) { return w.count; })));
    var x0 = weeks[0].start, x1 = weeks[weeks.length - 1].start, span = Math.max(7, x1 - x0);
    function X(d) { return L + (d - x0) / span * (W - L - R); }
    function Y(v) { return T + (1 - v / max) * (H - T - B); }
    var a = sel ? Math.max(x0, sel[0]) : 0, b = sel ? Math.min(x1 + 6, sel[1]) : -1;
    if (sel && b >= a) {
      kept.sel.setAttribute("x", X(a)); kept.sel.setAttribute("width", Math.max(1, X(b) - X(a)));
      kept.sel.removeAttribute("display");
    } else kept.sel.setAttribute("display", "none");
    kept.max.textContent = String(max);
    var pts = [];
    for (k = 0; k < weeks.length; k++) {
      var w = weeks[k], cx = X(w.start).toFixed(1), cy = Y(w.count).toFixed(1), dot = kept.dots[k];
      pts.push(cx + "," + cy);
      if (dot.getAttribute("cx") !== cx) dot.setAttribute("cx", cx);
      if (dot.getAttribute("cy") !== cy) dot.setAttribute("cy", cy);
      var tip = say("ex.week_of", "Week of {day}", { day: showDay(w.start) }) + ": " + w.count;
      if (kept.tips[k].textContent !== tip) kept.tips[k].textContent = tip;
    }
    kept.line.setAttribute("points", pts.join(" "));
  }

  return { lgamma: lgamma, ibeta: ibeta, betaQuantile: betaQuantile, clopperPearson: clopperPearson,
           rateRatio: rateRatio, isoToDay: isoToDay, dayToIso: dayToIso, yearBefore: yearBefore, periods: periods,
           drawTable: drawTable, drawTrend: drawTrend };
})();
if (typeof module !== "undefined" && module.exports) module.exports = ExplorerCompare;
