"""Opening hours: the formats of the real Chicago service files, per-day columns, unknown never guessed;
the category taxonomy and the service_hours / service_schedules tables."""

from __future__ import annotations

from datetime import datetime

import pytest

from civicmash.warehouse.hours import DAY_KEYS, parse_at, parse_day_columns, parse_hours_text, parse_range, schedule_of
from civicmash.warehouse.services import build_service_hours, canonical_category, category_label, unmapped_categories
from tests.warehouse.helpers import load, read_csv_records

MON, TUE, WED, THU, FRI, SAT, SUN = range(1, 8)


def _week(text):
    return parse_hours_text(text).days


# --- the text formats found in the real files (strings copied from them) ------------------------------------

def test_warming_centre_text_with_am_pm():
    days = _week("M, W: 10am-6pm;  Tu, Th: 12pm-8pm; F, Sa: 9am-5pm; Su: Closed")
    assert days == {MON: [(600, 1080)], WED: [(600, 1080)], TUE: [(720, 1200)], THU: [(720, 1200)],
                    FRI: [(540, 1020)], SAT: [(540, 1020)], SUN: []}
    assert _week("M-th: 9am-9pm; F, Sa: 9am-5pm; Su: 1pm-5pm")[THU] == [(540, 1260)]
    assert _week("M: Closed; Tu-th: 10am-6pm; F, Sa: 9am-5pm; Su: Closed; ")[WED] == [(600, 1080)]


def test_library_text_with_bare_hours_reads_daytime():
    days = _week("Sun., Closed; Mon. & Wed., Noon-8; Tue. & Thu., 10-6; Fri. & Sat., 9-5")
    assert days[SUN] == [] and days[MON] == [(720, 1200)] and days[TUE] == [(600, 1080)]
    assert days[SAT] == [(540, 1020)]
    regional = _week("Mon. - Thu., 9-9; Fri. & Sat., 9-5; Sun., 1-5")
    assert regional[MON] == regional[THU] == [(540, 1260)] and regional[SUN] == [(780, 1020)]
    assert _week("Sun. & Sat., Closed; Mon. & Wed., Noon-8; Tue. & Thu., 10-6; Fri. 9-5")[SAT] == []


def test_dotted_am_pm_and_segments_without_semicolons():
    days = _week("Mon - Fri 8:30 A.M. To 4:30 P.M. Sat - Sun 9:00 A.M. To 4:00 P.M")
    assert days[FRI] == [(510, 990)] and days[SAT] == days[SUN] == [(540, 960)]
    s = parse_hours_text("Mon - Fri 9:00 A.M. To 5:00 P.M.")
    assert s.status == "partial" and SAT not in s.days   # weekend not stated: unknown, not "closed"


def test_clinic_text_with_en_dash_and_and():
    days = _week("Mon, Wed, Fri: 8:00 am \u2013 4:00 pm; Tue, and Thurs: 10:00 am - 6:00pm\n")
    assert days == {MON: [(480, 960)], WED: [(480, 960)], FRI: [(480, 960)], TUE: [(600, 1080)],
                    THU: [(600, 1080)]}


def test_unreadable_text_stays_unknown_and_is_reported():
    s = parse_hours_text("Open Saturday And Sunday")
    assert s.status == "unknown" and s.days == {} and "days without times" in s.problems[0]
    typo = parse_hours_text("Sun., Closed; Mon. & Wed., Noon-8; Tue. & Thu., 10-6; Fri. & Sat., 9-5l")
    assert typo.status == "partial" and FRI not in typo.days and SAT not in typo.days   # not guessed as 9-5
    assert typo.days[MON] == [(720, 1200)] and "9-5l" in typo.problems[0]
    assert parse_hours_text(None).status == "unknown" and parse_hours_text("  ").problems == []
    assert parse_hours_text("by appointment").status == "unknown"


def test_ambiguous_bare_hours_are_not_guessed():
    assert parse_range("6", "11") is None          # 6 am or 6 pm? not read
    assert parse_range("10", "6") == (600, 1080)
    assert parse_range("9", "17") == (540, 1020)   # 24-hour clock
    assert parse_range("0", "24") == (0, 1440)
    assert parse_range("10pm", "2am") == (1320, 1560)   # past midnight


def test_sample_city_formats_and_conditions():
    s = parse_hours_text("Mon-Fri 9-17; Sat-Sun closed (Nov-Mar: Mon-Sun 0-24 below 32F)")
    assert s.status == "weekly" and s.days[SAT] == [] and s.conditions == "Nov-Mar: Mon-Sun 0-24 below 32F"
    assert _week("Mon-Sun 0-24")[SUN] == [(0, 1440)]


def test_per_day_columns_and_eleven_fifty_nine():
    s = parse_day_columns({"mon": ["10:00AM", "6:00PM"], "sat": ["12:00AM", "11:59PM"], "sun": ["CLOSED", "CLOSED"],
                           "tue": [None, None]})
    assert s.days == {MON: [(600, 1080)], SAT: [(0, 1440)], SUN: []}
    assert s.is_open(SAT, 23 * 60 + 59) is True and s.is_open(SUN, 0) is False and s.is_open(TUE, 600) is None
    bad = parse_day_columns('{"wed": ["soon", "6:00PM"]}')
    assert bad.days == {} and "Wednesday" in bad.problems[0]


def test_columns_win_over_text_and_disagreement_is_reported():
    cols = '{"mon": ["9:00AM", "5:00PM"], "sat": ["CLOSED", "CLOSED"]}'
    s = schedule_of(hours="Mon: 10am-6pm", hours_by_day=cols)
    assert s.source == "per_day_columns" and s.days[MON] == [(540, 1020)]
    assert "disagrees" in s.problems[0]
    # what the text could not read is kept among the problems, though the columns win
    s = schedule_of(hours="Mon: 10am-6pm; blah", hours_by_day=cols)
    assert any(p.startswith("hours text: cannot read 'blah'") for p in s.problems), s.problems
    # and what the columns could not read is kept when the text gives the days
    s = schedule_of(hours="Mon: 10am-6pm", hours_by_day='{"wed": ["soon", "6:00PM"]}')
    assert s.source == "hours_text" and any("Wednesday" in p for p in s.problems), s.problems


def test_is_open_across_midnight_and_parse_at():
    s = parse_hours_text("Fri 10pm-2am")
    assert s.is_open(FRI, 23 * 60) is True and s.is_open(SAT, 60) is True   # Saturday otherwise unknown
    assert s.is_open(SAT, 180) is None
    assert parse_at("Sat 10:00") == (SAT, 600) and parse_at("tuesday 6pm") == (TUE, 1080)
    assert parse_at("2024-01-06 10:00") == (SAT, 600)
    assert parse_at("now", now=datetime(2024, 1, 7, 9, 30)) == (SUN, 570)
    with pytest.raises(ValueError, match="Sat 10:00"):
        parse_at("someday")


def test_taxonomy():
    assert canonical_category("Warming Center") == canonical_category("warming_centre") == "warming_centre"
    assert canonical_category("Police station") == "police" and category_label("police") == "Police station"
    assert canonical_category("LIBRARIES") == "library" and canonical_category("FQHC") == "community_health_centre"
    assert canonical_category("Dog park") == "dog_park" and category_label("dog_park") == "Dog park"
    assert canonical_category("  ") is None


# --- the loader and the tables -----------------------------------------------------------------------------

def test_loader_maps_categories_and_packs_per_day_columns(con, tmp_path):
    recs = [{"id": "1", "type": "Warming Center", "name": "A", "host": "Library", "hours": "Open Saturday And Sunday",
             "monday_open": "CLOSED", "monday_close": "CLOSED", "saturday_open": "12:00AM", "saturday_close": "11:59PM",
             "lat": "41.88", "lon": "-87.63", "addr": "1 Main St\n(41.88, -87.63)"},
            {"id": "2", "type": "Hospital", "name": "B", "hours": "Mon-Fri 9-17", "lat": "41.89", "lon": "-87.63"},
            {"id": "3", "type": None, "name": "C", "hours": None, "lat": "41.90", "lon": "-87.63"}]
    res = load(con, tmp_path, recs, table="services", kind="clinic", dataset="svc",
               fields={"source_id": "id", "category": "type", "name": "name", "subtype": "host", "hours": "hours",
                       "lat": "lat", "lon": "lon", "address": "addr"},
               options={"hours_columns": {"mon": ["monday_open", "monday_close"],
                                          "sat": ["saturday_open", "saturday_close"]},
                        "defaults": {"organization": "City"}})
    assert res.rows_loaded == 3 and res.missing_fields == ()
    rows = con.execute("SELECT source_id, category, category_source, subtype, organization, address, hours_by_day "
                       "FROM services ORDER BY source_id").fetchall()
    assert rows[0][1:6] == ("warming_centre", "Warming Center", "Library", "City", "1 Main St")
    assert rows[1][1] == "hospital" and rows[2][1:3] == ("clinic", "clinic")   # kind when the row has none
    assert '"sat":["12:00AM","11:59PM"]' in rows[0][6].replace(" ", "") and rows[1][6] is None
    counts = build_service_hours(con, city="testcity")
    assert counts == {"partial": 2, "unknown": 1}
    sched = dict(con.execute("SELECT source_id, status || '/' || source FROM service_schedules").fetchall())
    assert sched == {"1": "partial/per_day_columns", "2": "partial/hours_text", "3": "unknown/none"}
    hours = con.execute("SELECT day_name, closed, CAST(opens AS VARCHAR), CAST(closes AS VARCHAR) FROM service_hours "
                        "WHERE source_id = '1' ORDER BY day_of_week").fetchall()
    assert hours == [("Monday", True, None, None), ("Saturday", False, "00:00:00", "24:00:00")]
    again = build_service_hours(con, city="testcity")   # idempotent
    assert again == counts and con.execute("SELECT count(*) FROM service_hours").fetchone()[0] == 2 + 5
    assert unmapped_categories(con, city="testcity") == []


def test_categories_outside_the_taxonomy_are_kept_and_listed(con, tmp_path):
    """Kept under their slug, never dropped; listed for the run summary (``services.unmapped_categories``)."""
    recs = [{"id": "1", "type": "Dog park", "name": "A", "lat": "41.88", "lon": "-87.63"},
            {"id": "2", "type": "Dog park", "name": "B", "lat": "41.89", "lon": "-87.63"}]
    res = load(con, tmp_path, recs, table="services", kind="park", dataset="svc",
               fields={"source_id": "id", "category": "type", "name": "name", "lat": "lat", "lon": "lon"})
    assert res.rows_loaded == 2
    assert unmapped_categories(con, city="testcity") == [("dog_park", "Dog park", 2)]


def test_missing_hours_column_is_reported(con, tmp_path):
    res = load(con, tmp_path, [{"id": "1", "name": "A"}], table="services", kind="library",
               fields={"source_id": "id", "name": "name"}, options={"hours_columns": {"mon": ["mo_open", "mo_close"]}})
    assert "hours_columns.mon=mo_open" in res.missing_fields


def test_real_warming_centres_text_agrees_with_their_per_day_columns(con, tmp_path, chicago):
    """Chicago publishes the warming centres' hours twice: as text and in per-day columns. Every day the text
    parser reads must equal the columns (612 days of 90 rows); the 23 police stations' "Open Saturday And
    Sunday" stays unread in the text but the columns give their week."""
    from civicmash.cities.profile import load_profile

    spec = load_profile("chicago").datasets["warming_centres"]
    recs = read_csv_records(chicago / "services" / "warming_centers.csv")
    res = load(con, tmp_path, recs, table="services", fields=dict(spec.fields), options=dict(spec.options),
               kind=spec.kind, dataset="warming_centres", city="chicago")
    assert res.rows_loaded == 113 and res.missing_fields == ()
    assert build_service_hours(con, city="chicago") == {"weekly": 113}
    # the 23 unread texts are recorded (the columns still give the week), nothing else disagrees
    problems = [r[0] for r in con.execute("SELECT problems FROM service_schedules WHERE problems IS NOT NULL").fetchall()]
    assert len(problems) == 23 and all(p.startswith("hours text: cannot read") for p in problems), problems[:3]
    cols = {k: [f"{d}_open", f"{d}_close"] for k, d in
            zip(DAY_KEYS, ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))}
    agree = unread = 0
    for r in recs:
        text = parse_hours_text(r["hours_of_operation"])
        by_day = parse_day_columns({k: [r[a], r[b]] for k, (a, b) in cols.items()})
        for d in text.days:
            assert text.days[d] == by_day.days[d], (r["site_name"], d)
            agree += 1
        unread += bool(text.problems)
    assert agree == 612 and unread == 23
    subtypes = dict(con.execute("SELECT subtype, count(*) FROM services GROUP BY 1").fetchall())
    assert subtypes == {"Library": 78, "Police Station": 23, "Community Service Center": 6,
                        "Regional Senior Center": 6}


def test_real_library_texts_match_the_warming_centre_columns_of_the_same_branch(chicago):
    """The bare-hour rule ("10-6", "Noon-8", "1-5") checked against the same branches' per-day columns in the
    other file: all but 5 of 462 days agree, and those 5 are real differences (the two exports are from
    different dates: e.g. Edgewater open on Mondays in one, closed in the other), not misread times."""
    lib = read_csv_records(chicago / "services" / "libraries.csv")
    wc = {r["site_name"].strip().upper(): r for r in read_csv_records(chicago / "services" / "warming_centers.csv")
          if r["site_type"] == "Library"}
    agree, differ = 0, set()
    for r in lib:
        w = wc.get((r["name"] or "").strip().upper())
        if not w:
            continue
        cols = parse_day_columns({k: [w[f"{d}_open"], w[f"{d}_close"]] for k, d in zip(
            DAY_KEYS, ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))})
        text = parse_hours_text(r["hours_of_operation"])
        for d in set(cols.days) & set(text.days):
            if cols.days[d] == text.days[d]:
                agree += 1
            else:
                differ.add(r["name"])
    assert agree == 457 and differ == {"Edgewater", "Galewood-Mont Clare"}
