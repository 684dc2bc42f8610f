"""Implausible values by rules the profile sets (issue 14, "Implausible values"): date bounds, coordinate
sentinels, points outside the city's box (with a tolerance), swapped or misplaced-decimal coordinates, and
lat/lon that disagree with the state-plane x/y. Each is quarantined or flagged with a reason and counted;
nothing is moved and nothing is dropped (rows in = loaded + quarantined)."""

from __future__ import annotations

import pytest

from tests.warehouse.quirk_city import FIELDS, crime, load_quirks, open_warehouse, quarantined, times

warehouse = pytest.fixture(open_warehouse)


def flags(con) -> dict[str, tuple]:
    """source_id -> (location_flag, lat, lon) of the loaded incidents."""
    return {sid: (flag, lat, lon) for sid, flag, lat, lon in
            con.execute("SELECT source_id, location_flag, lat, lon FROM incidents ORDER BY source_id").fetchall()}


def test_dates_outside_the_default_bounds_are_quarantined(warehouse, tmp_path):
    # downloaded 2024-12-01: the default bounds are 1900-01-01 .. 2024-12-02
    rows = [crime("1", "03/01/1025 12:00:00 AM"), crime("2", "12/31/1899 11:59:00 PM"), crime("3", "01/01/1900 12:00:00 AM"),
            crime("4", "12/02/2024 11:00:00 PM"), crime("5", "12/03/2024 12:00:00 AM"), crime("6", "05/01/2030 12:00:00 AM")]
    r = load_quirks(warehouse, tmp_path, rows)
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (6, 2, 4)
    assert r.reasons == {"implausible_date": 4}
    assert quarantined(warehouse) == {s: ("implausible_date", "occurred_at") for s in ("1", "2", "5", "6")}


def test_profile_bounds_and_flagging_instead_of_quarantine(warehouse, tmp_path):
    fields = {**FIELDS, "reported_at": "Date Rptd"}
    rows = [crime("1", "03/01/1999 12:00:00 AM"), crime("2", "03/01/2024 12:00:00 AM", **{"Date Rptd": "01/01/2026"}),
            crime("3", "03/01/2024 12:00:00 AM", **{"Date Rptd": "03/02/2024"})]
    r = load_quirks(warehouse, tmp_path, rows, fields=fields,
                    options={"min_date": "2000-01-01", "max_date": "2025-12-31"})
    # the incident time out of bounds: quarantined; another time out of bounds: the row is kept and flagged
    assert quarantined(warehouse) == {"1": ("implausible_date", "occurred_at")}
    assert (r.rows_loaded, r.flags) == (2, {"implausible_reported_at": 1})
    assert times(warehouse, "2")[3] == "implausible_reported_at" and times(warehouse, "3")[3] is None

    r = load_quirks(warehouse, tmp_path, rows[:1], options={"min_date": "2000-01-01", "implausible_dates": "flag"})
    assert (r.rows_loaded, r.rows_quarantined) == (1, 0)
    assert times(warehouse, "1")[3] == "implausible_occurred_at" and r.flags == {"implausible_occurred_at": 1}


def test_a_year_1025_start_date_when_the_report_time_is_the_incident_time(warehouse, tmp_path):
    """A DC-style export: report time in UTC with a short offset, start and end dates beside it."""
    fields = {"source_id": "CCN", "reported_at": "REPORT_DAT", "occurred_at": "START_DATE",
              "occurred_end_at": "END_DATE", "lat": "LAT", "lon": "LON"}
    rows = [{"CCN": "1", "REPORT_DAT": "2024/03/02 05:15:00+00", "START_DATE": "1025/03/01 22:00:00+00",
             "END_DATE": "2024/03/01 23:00:00+00", "LAT": "34.0617", "LON": "-118.3005"},
            {"CCN": "2", "REPORT_DAT": "1899/03/02 05:15:00+00", "START_DATE": "2024/03/01 22:00:00+00",
             "END_DATE": None, "LAT": "34.0617", "LON": "-118.3005"}]
    r = load_quirks(warehouse, tmp_path, rows, fields=fields,
                    options={"incident_time": "reported", "time_formats": ["%Y/%m/%d %H:%M:%S%z"]})
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (2, 1, 1)
    assert quarantined(warehouse) == {"2": ("implausible_date", "reported_at")}
    row = warehouse.execute("""SELECT strftime(occurred_at, '%Y-%m-%d %H:%M'), strftime(occurred_start_at, '%Y-%m-%d'),
                                      strftime(occurred_end_at, '%Y-%m-%d %H:%M'), time_flag FROM incidents""").fetchone()
    assert row == ("2024-03-01 21:15", "1025-03-01", "2024-03-01 15:00", "implausible_occurred_at")


def test_sentinel_coordinates_are_missing_locations_flagged_and_kept(warehouse, tmp_path):
    rows = [crime("1", "2024-03-01", LAT="-1", LON="-1"), crime("2", "2024-03-01", LAT="0", LON="-118.3"),
            crime("3", "2024-03-01", LAT="0", LON="0"), crime("4", "2024-03-01", LAT=None, LON=None),
            crime("5", "2024-03-01")]
    r = load_quirks(warehouse, tmp_path, rows)
    assert (r.rows_in, r.rows_loaded) == (5, 5)
    assert flags(warehouse) == {"1": ("sentinel_coordinates", None, None), "2": ("sentinel_coordinates", None, None),
                                "3": ("invalid_coordinates", None, None), "4": ("missing_coordinates", None, None),
                                "5": (None, 34.0617, -118.3005)}
    assert r.flags == {"invalid_coordinates": 1, "missing_coordinates": 1, "sentinel_coordinates": 2, "time_unknown": 5}
    assert warehouse.execute("SELECT count(*) FROM incidents WHERE geom IS NOT NULL").fetchone()[0] == 1

    load_quirks(warehouse, tmp_path, rows[:1], options={"coordinate_sentinels": []})  # -1,-1 is then just far away
    assert flags(warehouse) == {"1": ("outside_city", -1.0, -1.0)}


def test_points_outside_the_box_by_more_than_the_tolerance(warehouse, tmp_path):
    # the box's north edge is 34.34; 0.003 deg of latitude is about 330 m, 0.03 about 3.3 km; Phoenix is in Arizona
    rows = [crime("near", "2024-03-01", LAT="34.343", LON="-118.3"), crime("far", "2024-03-01", LAT="34.37", LON="-118.3"),
            crime("phoenix", "2024-03-01", LAT="33.4484", LON="-112.0740")]
    r = load_quirks(warehouse, tmp_path, rows, options={"bbox_tolerance_m": 500})
    assert flags(warehouse) == {"near": (None, 34.343, -118.3), "far": ("outside_city", 34.37, -118.3),
                                "phoenix": ("outside_city", 33.4484, -112.074)}
    assert r.flags["outside_city"] == 2

    load_quirks(warehouse, tmp_path, rows[:1])  # no tolerance: the edge is the edge
    assert flags(warehouse)["near"][0] == "outside_city"


def test_swapped_and_misplaced_decimal_coordinates_are_flagged_not_moved(warehouse, tmp_path):
    rows = [crime("swapped", "2024-03-01", LAT="-118.3005", LON="34.0617"),
            crime("lost_point", "2024-03-01", LAT="34.0617", LON="-1183005"),
            crime("lost_digit", "2024-03-01", LAT="3.40617", LON="-118.3005"),
            crime("far_globe", "2024-03-01", LAT="95", LON="-118.3")]
    r = load_quirks(warehouse, tmp_path, rows)
    assert flags(warehouse) == {"swapped": ("swapped_coordinates", None, None),
                                "lost_point": ("misplaced_decimal", None, None),
                                "lost_digit": ("misplaced_decimal", None, None),
                                "far_globe": ("invalid_coordinates", None, None)}
    assert r.rows_loaded == 4 and r.rows_quarantined == 0
    assert {k: r.flags[k] for k in ("swapped_coordinates", "misplaced_decimal")} == {
        "swapped_coordinates": 1, "misplaced_decimal": 2}
    # the published values are kept with the row
    assert warehouse.execute("SELECT source_id FROM incidents WHERE row_hash IS NOT NULL AND geom IS NULL "
                             "ORDER BY ALL").fetchall() == [("far_globe",), ("lost_digit",), ("lost_point",), ("swapped",)]


def test_latlon_and_state_plane_that_disagree_are_flagged(warehouse, tmp_path):
    # LAPD Olympic station area; California zone 5 (US feet, EPSG:2229) of 34.0617, -118.3005
    fields = {**FIELDS, "source_x": "X", "source_y": "Y"}
    x, y = warehouse.execute("""SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Point(-118.3005, 34.0617),
                                'EPSG:4326', 'EPSG:2229', always_xy := true) AS p)""").fetchone()
    rows = [crime("agree", "2024-03-01", X=f"{x + 30:.1f}", Y=f"{y:.1f}"),       # 30 ft apart
            crime("disagree", "2024-03-01", X=f"{x + 5000:.1f}", Y=f"{y:.1f}"),  # about 1.5 km apart
            crime("xy_only", "2024-03-01", LAT=None, LON=None, X=f"{x:.1f}", Y=f"{y:.1f}")]
    options = {"crs": "EPSG:2229", "xy_tolerance_m": 250}
    r = load_quirks(warehouse, tmp_path, rows, fields=fields, options=options)
    got = flags(warehouse)
    assert got["agree"] == (None, 34.0617, -118.3005)
    assert got["disagree"] == ("coordinates_disagree", 34.0617, -118.3005)  # lat/lon kept, flagged
    assert got["xy_only"][0] is None and abs(got["xy_only"][1] - 34.0617) < 1e-5
    assert r.flags["coordinates_disagree"] == 1

    load_quirks(warehouse, tmp_path, rows, fields=fields, options={"crs": "EPSG:2229"})  # not checked by default
    assert flags(warehouse)["disagree"][0] is None


def test_quirk_city_reconciles_every_row(warehouse, tmp_path):
    """One export with every implausible kind at once: rows in = loaded + quarantined, each reason counted,
    and the quarantine table holds exactly the counted rows."""
    rows = [crime("ok", "03/01/2024 10:00:00 PM"), crime("old", "03/01/1025 12:00:00 AM"),
            crime("bad", "31/31/2024"), crime("none", None), crime("sentinel", "03/01/2024", LAT="-1", LON="-1"),
            crime("swapped", "03/01/2024", LAT="-118.3005", LON="34.0617"),
            crime("outside", "03/01/2024", LAT="33.4484", LON="-112.0740"), crime("ok", "03/02/2024")]
    r = load_quirks(warehouse, tmp_path, rows, options={"bbox_tolerance_m": 100})
    assert r.rows_in == r.rows_loaded + r.rows_quarantined == 8
    assert r.reasons == {"bad_timestamp": 1, "duplicate_source_id": 1, "implausible_date": 1, "missing_required": 1}
    assert warehouse.execute("SELECT count(*) FROM quarantine").fetchone()[0] == r.rows_quarantined == 4
    assert {k: v for k, v in r.flags.items() if k != "time_unknown"} == {
        "outside_city": 1, "sentinel_coordinates": 1, "swapped_coordinates": 1}
    stored = dict(warehouse.execute("SELECT location_flag, count(*) FROM incidents WHERE location_flag IS NOT NULL "
                                    "GROUP BY ALL").fetchall())
    assert stored == {"outside_city": 1, "sentinel_coordinates": 1, "swapped_coordinates": 1}
