"""How a profile says how a dataset writes its times (issue 14, "Time"): formats, zones, separate time
columns, epoch numbers, date-only values, several time columns. The warehouse keeps the city's local wall
time (occurred_at, what every product shows) and the instant (occurred_at_utc)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.warehouse.quirk_city import FIELDS, crime, load_quirks, open_warehouse, quarantined, times

warehouse = pytest.fixture(open_warehouse)


def test_iso_with_z_or_offset_is_an_instant_shown_in_city_time(warehouse, tmp_path):
    rows = [crime("1", "2024-03-01T18:00:00Z"), crime("2", "2024-03-01T10:00:00-08:00"),
            crime("3", "2024-07-04T19:30:00.000Z"), crime("4", "2024-07-04T12:30:00")]
    r = load_quirks(warehouse, tmp_path, rows, options={"time_formats": [
        "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%g%z"]})
    assert (r.rows_in, r.rows_loaded) == (4, 3)
    assert times(warehouse, "1")[:2] == ("2024-03-01 10:00:00", "2024-03-01 18:00:00")
    assert times(warehouse, "2")[:2] == ("2024-03-01 10:00:00", "2024-03-01 18:00:00")
    assert times(warehouse, "3")[:2] == ("2024-07-04 12:30:00", "2024-07-04 19:30:00")  # PDT
    # no offset, and no offset-less format listed: not guessed
    assert quarantined(warehouse) == {"4": ("bad_timestamp", "occurred_at")}


def test_z_that_is_really_local_time(warehouse, tmp_path):
    rows = [crime("1", "2024-03-01T10:00:00.000Z"), crime("2", "2024-07-04T12:30:00+00:00")]
    r = load_quirks(warehouse, tmp_path, rows, options={"time_formats": ["%Y-%m-%dT%H:%M:%S.%g%z", "%Y-%m-%dT%H:%M:%S%z"],
                                                        "z_is_local": True})
    assert r.rows_loaded == 2
    assert times(warehouse, "1")[:2] == ("2024-03-01 10:00:00", "2024-03-01 18:00:00")
    assert times(warehouse, "2")[:2] == ("2024-07-04 12:30:00", "2024-07-04 19:30:00")


def test_slashed_date_with_short_utc_offset(warehouse, tmp_path):
    rows = [crime("1", "2024/07/04 19:30:00+00"), crime("2", "2024/01/15 06:05:00+00")]
    load_quirks(warehouse, tmp_path, rows, options={"time_formats": ["%Y/%m/%d %H:%M:%S%z"]})
    assert times(warehouse, "1")[:3] == ("2024-07-04 12:30:00", "2024-07-04 19:30:00", False)
    assert times(warehouse, "2")[:2] == ("2024-01-14 22:05:00", "2024-01-15 06:05:00")  # the day before, locally


def test_us_twelve_hour_clock_is_read_in_the_city_zone_by_default(warehouse, tmp_path):
    rows = [crime("1", "07/04/2024 12:30:00 PM"), crime("2", "01/15/2024 12:05:00 AM")]
    load_quirks(warehouse, tmp_path, rows)  # default formats, no time_zone: the city's
    assert times(warehouse, "1")[:2] == ("2024-07-04 12:30:00", "2024-07-04 19:30:00")
    assert times(warehouse, "2")[:2] == ("2024-01-15 00:05:00", "2024-01-15 08:05:00")


def test_source_zone_other_than_the_city_zone(warehouse, tmp_path):
    load_quirks(warehouse, tmp_path, [crime("1", "2024-03-01 18:00:00")], options={"time_zone": "UTC"})
    assert times(warehouse, "1")[:2] == ("2024-03-01 10:00:00", "2024-03-01 18:00:00")


def test_date_column_plus_separate_hhmm_time_column(warehouse, tmp_path):
    rows = [crime("1", "03/01/2024 12:00:00 AM", **{"TIME OCC": "2230"}),
            crime("2", "03/01/2024 12:00:00 AM", **{"TIME OCC": "0001"}),
            crime("3", "03/01/2024", **{"TIME OCC": "930"}),        # an integer column, leading zero lost
            crime("4", "03/01/2024 12:00:00 AM", **{"TIME OCC": "5"}),
            crime("5", "03/01/2024 12:00:00 AM", **{"TIME OCC": "1200.0"}),  # a float export
            crime("6", "03/01/2024 12:00:00 AM", **{"TIME OCC": None}),
            crime("7", "03/01/2024 12:00:00 AM", **{"TIME OCC": "2460"}),
            crime("8", "03/01/2024 12:00:00 AM", **{"TIME OCC": "22:30"})]
    r = load_quirks(warehouse, tmp_path, rows, fields={**FIELDS, "occurred_time": "TIME OCC"})
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (8, 7, 1)
    assert times(warehouse, "1") == ("2024-03-01 22:30:00", "2024-03-02 06:30:00", False, None)
    assert times(warehouse, "2")[0] == "2024-03-01 00:01:00"
    assert times(warehouse, "3")[0] == "2024-03-01 09:30:00"
    assert times(warehouse, "4")[0] == "2024-03-01 00:05:00"
    assert times(warehouse, "5")[0] == "2024-03-01 12:00:00"
    assert times(warehouse, "6")[::2] == ("2024-03-01 00:00:00", True)  # no time given: time unknown
    assert times(warehouse, "8")[0] == "2024-03-01 22:30:00"
    assert quarantined(warehouse) == {"7": ("bad_timestamp", "occurred_time")}
    assert r.flags == {"time_unknown": 1}


def test_arcgis_epoch_milliseconds_in_geojson(warehouse, tmp_path):
    features = [({"OBJECTID": 1, "OCC_DATE": 1709287200000}, (-118.3005, 34.0617)),
                ({"OBJECTID": 2, "OCC_DATE": 1720121400000}, (-118.3005, 34.0617)),
                ({"OBJECTID": 3, "OCC_DATE": "not a number"}, (-118.3005, 34.0617)),
                ({"OBJECTID": 4, "OCC_DATE": 1.7092872e12}, (-118.3005, 34.0617))]  # a float export
    r = load_quirks(warehouse, tmp_path, features, geojson=True, options={"time_formats": ["epoch_ms"]},
                    fields={"source_id": "OBJECTID", "occurred_at": "OCC_DATE"})
    assert (r.rows_loaded, r.rows_quarantined) == (3, 1)
    assert times(warehouse, "1")[:3] == ("2024-03-01 02:00:00", "2024-03-01 10:00:00", False)
    assert times(warehouse, "4") == times(warehouse, "1")
    assert times(warehouse, "2")[:2] == ("2024-07-04 12:30:00", "2024-07-04 19:30:00")
    assert warehouse.execute("SELECT lat, lon FROM incidents WHERE source_id = '1'").fetchone() == (34.0617, -118.3005)
    assert quarantined(warehouse) == {"3": ("bad_timestamp", "occurred_at")}


def test_date_only_is_flagged_time_unknown(warehouse, tmp_path):
    rows = [crime("1", "2024-03-01"), crime("2", "2024-03-01 14:00:00")]
    r = load_quirks(warehouse, tmp_path, rows)
    assert times(warehouse, "1") == ("2024-03-01 00:00:00", "2024-03-01 08:00:00", True, None)
    assert times(warehouse, "2")[2] is False
    assert r.flags == {"time_unknown": 1}


def test_daylight_saving_gap_and_repeat_are_kept_as_written_and_flagged(warehouse, tmp_path):
    # 2024-03-10 02:30 does not exist in Los Angeles (02:00 -> 03:00); 2024-11-03 01:30 happens twice
    rows = [crime("gap", "03/10/2024 02:30:00 AM"), crime("repeat", "11/03/2024 01:30:00 AM"),
            crime("normal", "03/10/2024 04:30:00 AM")]
    r = load_quirks(warehouse, tmp_path, rows)
    # the wall time stays as the police wrote it; the instant is the one an hour later (03:30 PDT)
    assert times(warehouse, "gap") == ("2024-03-10 02:30:00", "2024-03-10 10:30:00", False, "dst_gap")
    # the repeated hour: the instant is the standard-time (second) one
    assert times(warehouse, "repeat") == ("2024-11-03 01:30:00", "2024-11-03 09:30:00", False, "dst_ambiguous")
    assert times(warehouse, "normal")[1:] == ("2024-03-10 11:30:00", False, None)
    assert r.flags == {"dst_ambiguous": 1, "dst_gap": 1}


def test_several_time_columns_kept_and_the_profile_picks_the_incident_time(warehouse, tmp_path):
    fields = {**FIELDS, "reported_at": "Date Rptd", "occurred_end_at": "DATE END"}
    rows = [crime("1", "03/01/2024 10:00:00 PM", **{"Date Rptd": "03/02/2024 09:15:00 AM", "DATE END": "03/01/2024 11:00:00 PM"}),
            crime("2", "03/01/2024 10:00:00 PM", **{"Date Rptd": "yesterday"})]
    r = load_quirks(warehouse, tmp_path, rows, fields=fields)
    assert r.rows_loaded == 1 and quarantined(warehouse) == {"2": ("bad_timestamp", "reported_at")}
    row = warehouse.execute("SELECT occurred_at, reported_at, occurred_end_at FROM incidents").fetchone()
    assert [str(v) for v in row] == ["2024-03-01 22:00:00", "2024-03-02 09:15:00", "2024-03-01 23:00:00"]

    load_quirks(warehouse, tmp_path, rows[:1], fields=fields, options={"incident_time": "reported"})
    assert times(warehouse, "1")[:2] == ("2024-03-02 09:15:00", "2024-03-02 17:15:00")


def test_unparseable_and_missing_times_are_quarantined_naming_the_field(warehouse, tmp_path):
    rows = [crime("1", "31/12/2024 10:00"), crime("2", None), crime("3", "2024-03-01T10:00:00.000")]
    r = load_quirks(warehouse, tmp_path, rows)
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (3, 1, 2)
    assert r.reasons == {"bad_timestamp": 1, "missing_required": 1}
    assert quarantined(warehouse) == {"1": ("bad_timestamp", "occurred_at"), "2": ("missing_required", "occurred_at")}


def test_chicago_style_times_are_unchanged(warehouse, tmp_path):
    """Socrata floating timestamps in the city's own zone: occurred_at is the value as written."""
    rows = [crime("1", "2018-05-01T07:25:00.000"), crime("2", "05/01/2018 12:00:00 AM")]
    load_quirks(warehouse, tmp_path, rows, options={"city_timezone": "America/Chicago", "bbox": None})
    assert times(warehouse, "1") == ("2018-05-01 07:25:00", "2018-05-01 12:25:00", False, None)
    assert times(warehouse, "2")[:2] == ("2018-05-01 00:00:00", "2018-05-01 05:00:00")


def test_unknown_time_zone_is_a_clear_error(warehouse, tmp_path):
    from civicmash.cities.table_options import IncidentsOptions

    with pytest.raises(ValueError, match=r"quirkville/crimes: options.time_zone .*'Pacific/Nowhere'"):
        load_quirks(warehouse, tmp_path, [crime("1", "2024-03-01")], options={"time_zone": "Pacific/Nowhere"})
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        IncidentsOptions(time_zone="Pacific/Nowhere")
    assert IncidentsOptions(time_formats=["epoch_ms"], z_is_local=True).incident_time == "occurred"
