// The crime explorer's filter predicates and the time, date and hash helpers they use: pure functions, no DOM.
// Inlined into the page in front of explorer.js (maps/explorer.py), and loaded by node for the unit tests
// (tests/js/explorer_filters.test.mjs) and StrykerJS (stryker.config.json). Each filter declared in
// maps/explorer_filters.py names its predicate here (field `js`).
var ExplorerFilters = (function () {
  "use strict";
  var MINUTE_MS = 60000, DAY_MINUTES = 1440, R_EARTH = 6371008.8, RAD = Math.PI / 180;

  function pad2(x) { return (x < 10 ? "0" : "") + x; }
  // "HH:MM" -> minute of the day (0..1439); empty -> null.
  function minuteOfDay(hhmm) {
    if (!hhmm) return null;
    var p = String(hhmm).split(":");
    return (+p[0]) * 60 + (+p[1]);
  }
  // The time-of-day window from two "HH:MM" values: null (the whole day: one empty, or both equal), else
  // {from, to, cross}: `from` included, `to` excluded; cross = the window runs over midnight (22:00-02:00).
  function timeWindow(fromHhmm, toHhmm) {
    var a = minuteOfDay(fromHhmm), b = minuteOfDay(toHhmm);
    if (a === null || b === null || a === b) return null;
    return { from: a, to: b, cross: a > b };
  }
  // Whether minute of day `m` is inside the window (null = every minute).
  function inTimeWindow(w, m) {
    if (!w) return true;
    return w.cross ? (m >= w.from || m < w.to) : (m >= w.from && m < w.to);
  }
  // "22:00-03:00" (hash) -> ["22:00", "03:00"], hours zero-padded; anything else -> null.
  function parseTimeRange(v) {
    var m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(String(v));
    return m ? [pad2(+m[1]) + ":" + m[2], pad2(+m[3]) + ":" + m[4]] : null;
  }
  // Minutes since `t0` (minutes since 1970-01-01 UTC) at 00:00 of ISO day "YYYY-MM-DD" (dayStart) or of the
  // next day (dayEnd: the day is included, its end excluded).
  function dayMinutes(isoDay, t0) {
    var p = String(isoDay).split("-");
    return Date.UTC(+p[0], +p[1] - 1, +p[2]) / MINUTE_MS - t0;
  }
  function dayStart(isoDay, t0) { return dayMinutes(isoDay, t0); }
  function dayEnd(isoDay, t0) { return dayMinutes(isoDay, t0) + DAY_MINUTES; }
  function isIsoDay(v) { return /^\d{4}-\d{2}-\d{2}$/.test(String(v)); }
  // ISO weekday (1 = Monday .. 7 = Sunday) of a day number (days since 1970-01-01, a Thursday).
  function isoWeekday(day) { return ((day % 7) + 10) % 7 + 1; }
  function weekdayIn(days, dow) { return days.indexOf(dow) >= 0; }
  // "6,7" (hash) -> [6, 7]: ISO days only.
  function parseWeekdays(v) {
    return String(v).split(",").map(Number).filter(function (d) { return d >= 1 && d <= 7; });
  }
  function typeSelected(selected, type) { return selected[type] === true; }
  // A coded column against the wanted code: want < 0 = any value.
  function codeIs(want, code) { return want < 0 || code === want; }
  // "true" / "false" -> 1 / 0 (the page's flag codes; 2 = not given never matches); anything else -> -1 (any).
  function flagCode(v) { return v === "true" ? 1 : (v === "false" ? 0 : -1); }
  // The radius of the "near" filters: a positive number of metres, at most maxRadius; else maxRadius.
  function cappedRadius(value, maxRadius) {
    var r = parseFloat(value);
    return r > 0 ? Math.min(r, maxRadius) : maxRadius;
  }
  function haversine(lat1, lon1, lat2, lon2) {
    var sa = Math.sin((lat2 - lat1) * RAD / 2), so = Math.sin((lon2 - lon1) * RAD / 2);
    var a = sa * sa + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * so * so;
    return 2 * R_EARTH * Math.asin(Math.sqrt(a));
  }
  // Whether (lat, lon) is within r metres of target [lat, lon]; no target (nothing resolved) never matches,
  // nor do missing coordinates (NaN: the distance is NaN, and NaN <= r is false).
  function withinRadius(target, lat, lon, r) {
    return target ? haversine(target[0], target[1], lat, lon) <= r : false;
  }
  // location.hash -> [[key, raw value]] (raw: not URI-decoded; a key without "=" has the value "").
  function hashPairs(hash) {
    var h = String(hash || "").replace(/^#/, "");
    if (!h) return [];
    return h.split("&").map(function (kv) {
      var j = kv.indexOf("=");
      return j < 0 ? [kv, ""] : [kv.slice(0, j), kv.slice(j + 1)];
    });
  }
  // URI-decoded hash value ("+" is a space); null when it does not decode.
  function decodeValue(raw) {
    try { return decodeURIComponent(String(raw).replace(/\+/g, " ")); } catch (e) { return null; }
  }

  return {
    minuteOfDay: minuteOfDay, timeWindow: timeWindow, inTimeWindow: inTimeWindow, parseTimeRange: parseTimeRange,
    dayStart: dayStart, dayEnd: dayEnd, isIsoDay: isIsoDay, isoWeekday: isoWeekday, weekdayIn: weekdayIn,
    parseWeekdays: parseWeekdays, typeSelected: typeSelected, codeIs: codeIs, flagCode: flagCode,
    cappedRadius: cappedRadius, haversine: haversine, withinRadius: withinRadius, hashPairs: hashPairs,
    decodeValue: decodeValue, pad2: pad2
  };
})();
// Stryker disable next-line all: node always has module.exports; only the page (no module) can tell
if (typeof module !== "undefined" && module.exports) module.exports = ExplorerFilters;
