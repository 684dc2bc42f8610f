// Unit tests of the crime explorer's filter predicates (maps/templates/explorer_filters.js), run with
// `node --test tests/js/` and by StrykerJS (`npm run mutants:js`). The radius cap and the declared filters come
// from the page data as maps/explorer_filters.py writes it (explorer_filters.page_table()).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const F = createRequire(import.meta.url)(path.join(ROOT, "maps", "templates", "explorer_filters.js"));
const HALF_MILE_M = 1609.344 / 2;

// The page data's filter table and cap: maps/explorer_filters.py loaded by path (it imports nothing of ours).
const PAGE = JSON.parse(execFileSync("python3", ["-c", [
  "import importlib.util, json, sys",
  "spec = importlib.util.spec_from_file_location('explorer_filters', sys.argv[1])",
  "m = importlib.util.module_from_spec(spec); sys.modules['explorer_filters'] = m; spec.loader.exec_module(m)",
  "print(json.dumps(m.page_table()))"].join("\n"), path.join(ROOT, "maps", "explorer_filters.py")], { encoding: "utf8" }));

const hm = (h, m) => h * 60 + m;

test("every declared filter names a predicate of explorer_filters.js", () => {
  assert.ok(PAGE.filters.length >= 15);
  for (const f of PAGE.filters) assert.equal(typeof F[f.js], "function", `${f.key}: ${f.js}`);
});

test("minuteOfDay reads HH:MM; empty is no time", () => {
  assert.equal(F.minuteOfDay("09:30"), 570);
  assert.equal(F.minuteOfDay("00:00"), 0);
  assert.equal(F.minuteOfDay("23:59"), 1439);
  assert.equal(F.minuteOfDay(""), null);
  assert.equal(F.minuteOfDay(null), null);
});

test("a same-day window 09:00-17:00 includes its start and excludes its end", () => {
  const w = F.timeWindow("09:00", "17:00");
  assert.deepEqual(w, { from: 540, to: 1020, cross: false });
  assert.equal(F.inTimeWindow(w, hm(9, 0)), true);
  assert.equal(F.inTimeWindow(w, hm(8, 59)), false);
  assert.equal(F.inTimeWindow(w, hm(16, 59)), true);
  assert.equal(F.inTimeWindow(w, hm(17, 0)), false);
  assert.equal(F.inTimeWindow(w, hm(12, 0)), true);
  assert.equal(F.inTimeWindow(w, hm(0, 0)), false);
  assert.equal(F.inTimeWindow(w, hm(23, 0)), false);
});

test("an overnight window 22:00-02:00 runs over midnight", () => {
  const w = F.timeWindow("22:00", "02:00");
  assert.deepEqual(w, { from: 1320, to: 120, cross: true });
  for (const [m, inside] of [[hm(22, 0), true], [hm(21, 59), false], [hm(23, 59), true], [0, true],
    [hm(1, 59), true], [hm(2, 0), false], [hm(12, 0), false]]) {
    assert.equal(F.inTimeWindow(w, m), inside, `minute ${m}`);
  }
});

test("an empty or zero-length window is the whole day", () => {
  assert.equal(F.timeWindow("10:00", "10:00"), null);
  assert.equal(F.timeWindow("", "02:00"), null);
  assert.equal(F.timeWindow("02:00", ""), null);
  assert.equal(F.timeWindow("00:00", "00:00"), null);
  assert.deepEqual(F.timeWindow("00:00", "00:01"), { from: 0, to: 1, cross: false });
  for (const m of [0, 600, 1439]) assert.equal(F.inTimeWindow(null, m), true);
});

test("time ranges from the hash are zero-padded; anything else is refused", () => {
  assert.deepEqual(F.parseTimeRange("9:05-17:30"), ["09:05", "17:30"]);
  assert.deepEqual(F.parseTimeRange("22:00-03:00"), ["22:00", "03:00"]);
  for (const bad of ["", null, "9:5-17:30", "09:00", "09:00-17:5x", "x09:00-17:00", "09:00-17:00x"]) {
    assert.equal(F.parseTimeRange(bad), null, String(bad));
  }
});

test("the radius is capped at half a mile, the cap taken from the page data", () => {
  const cap = PAGE.maxRadius;
  assert.equal(cap, HALF_MILE_M);
  assert.equal(F.cappedRadius(1.1 * 804.672, cap), 804.672);
  assert.equal(F.cappedRadius(String(1.1 * cap), cap), cap);
  assert.equal(F.cappedRadius(cap, cap), cap);
  assert.equal(F.cappedRadius(300, cap), 300);
  assert.equal(F.cappedRadius("600", cap), 600);
  assert.equal(F.cappedRadius(0.5, cap), 0.5);
  for (const bad of ["", "abc", 0, -5, null, undefined]) assert.equal(F.cappedRadius(bad, cap), cap, String(bad));
  const radius = PAGE.filters.find((f) => f.key === "r");
  assert.equal(radius.js, "cappedRadius");
  assert.deepEqual(radius.control.options.with, ["near", "block"]);
});

test("haversine on the page's sphere", () => {
  assert.ok(Math.abs(F.haversine(41, -87, 42, -87) - 6371008.8 * Math.PI / 180) < 1e-6);
  assert.ok(Math.abs(F.haversine(0, 0, 0, 1) - 6371008.8 * Math.PI / 180) < 1e-6);
  const along60 = 2 * 6371008.8 * Math.asin(Math.cos(Math.PI / 3) * Math.sin(Math.PI / 360));  // 1° of longitude at 60° N
  assert.ok(Math.abs(F.haversine(60, 10, 60, 11) - along60) < 1e-6);
  assert.ok(Math.abs(F.haversine(60, 11, 60, 10) - along60) < 1e-6);
  assert.equal(F.haversine(41.88, -87.63, 41.88, -87.63), 0);
});

test("withinRadius: the circle's edge is in; no target or no coordinates never match", () => {
  const target = [41.8781, -87.6298], lat = 41.8811, lon = -87.6250;
  const d = F.haversine(target[0], target[1], lat, lon);
  assert.ok(d > 400 && d < 600);
  assert.equal(F.withinRadius(target, lat, lon, d), true);
  assert.equal(F.withinRadius(target, lat, lon, d - 0.01), false);
  assert.equal(F.withinRadius(target, lat, lon, d + 0.01), true);
  assert.equal(F.withinRadius(null, lat, lon, 1e9), false);
  assert.equal(F.withinRadius(target, NaN, lon, 1e9), false);
  assert.equal(F.withinRadius(target, lat, NaN, 1e9), false);
  assert.equal(F.withinRadius(target, target[0], target[1], 0), true);
});

test("dates: the from day starts at 00:00, the to day is included up to the next 00:00", () => {
  const t0 = Date.UTC(2018, 8, 1) / 60000;  // minutes since 1970 of 2018-09-01 00:00 UTC
  assert.equal(F.dayStart("2018-09-01", t0), 0);
  assert.equal(F.dayEnd("2018-09-01", t0), 1440);
  assert.equal(F.dayStart("2018-09-30", t0), 29 * 1440);
  assert.equal(F.dayEnd("2018-09-30", t0), 30 * 1440);
  assert.equal(F.dayStart("2018-08-31", t0), -1440);
  assert.equal(F.isIsoDay("2018-09-01"), true);
  for (const bad of ["2018-9-01", "x2018-09-01", "2018-09-01x", "", null]) assert.equal(F.isIsoDay(bad), false, String(bad));
});

test("ISO weekdays of day numbers (1970-01-01 was a Thursday)", () => {
  assert.equal(F.isoWeekday(0), 4);
  assert.equal(F.isoWeekday(3), 7);
  assert.equal(F.isoWeekday(4), 1);
  assert.equal(F.isoWeekday(Date.UTC(2018, 8, 1) / 86400000), 6);  // a Saturday
  assert.equal(F.isoWeekday(-1), 3);
  assert.equal(F.weekdayIn([6, 7], 6), true);
  assert.equal(F.weekdayIn([6, 7], 5), false);
  assert.deepEqual(F.parseWeekdays("6,7,9,0,x,1"), [6, 7, 1]);
  assert.deepEqual(F.parseWeekdays(""), []);
  assert.deepEqual(F.parseWeekdays("17"), []);
});

test("coded filters: any, equal, and 'not given' never matching a yes/no", () => {
  assert.equal(F.codeIs(-1, 5), true);
  assert.equal(F.codeIs(3, 3), true);
  assert.equal(F.codeIs(3, 4), false);
  assert.equal(F.codeIs(0, 0), true);
  assert.equal(F.codeIs(0, 2), false);
  assert.equal(F.codeIs(1, 2), false);
  assert.equal(F.flagCode("true"), 1);
  assert.equal(F.flagCode("false"), 0);
  assert.equal(F.flagCode(""), -1);
  assert.equal(F.flagCode("yes"), -1);
  assert.equal(F.typeSelected([true, false], 0), true);
  assert.equal(F.typeSelected([true, false], 1), false);
  assert.equal(F.typeSelected([true], 3), false);
});

test("the hash splits into raw pairs and values decode, or are refused", () => {
  assert.deepEqual(F.hashPairs("#a=1&b&c=x%20y&d=e=f"), [["a", "1"], ["b", ""], ["c", "x%20y"], ["d", "e=f"]]);
  assert.deepEqual(F.hashPairs("a=1"), [["a", "1"]]);
  assert.deepEqual(F.hashPairs("a=x#y"), [["a", "x#y"]]);  // only a leading "#" is the hash sign
  assert.deepEqual(F.hashPairs("#=5&b=2"), [["", "5"], ["b", "2"]]);
  assert.deepEqual(F.hashPairs("#"), []);
  assert.deepEqual(F.hashPairs(""), []);
  assert.equal(F.decodeValue("x+y%20z%2C"), "x y z,");
  assert.equal(F.decodeValue("%E0%A4%A"), null);
  assert.equal(F.pad2(7), "07");
  assert.equal(F.pad2(10), "10");
  assert.equal(F.pad2(9), "09");
  assert.equal(F.pad2(12), "12");
});
