"""Service requests (311-style) through the real profile parser and loader into a DuckDB file: every row is loaded
or quarantined with a reason, times are read with the profile's formats in the city's zone, the streetlight types
and closed statuses come from the profile, and the two views answer from them."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timezone

import pytest

from civicmash.cities.profile import ProfileError, parse_profile
from civicmash.warehouse import views
from civicmash.warehouse.db import connect, ensure_schema
from civicmash.warehouse.load import load_dataset, stored_counts
from civicmash.warehouse.service_requests import latest_time, open_outage_points
from tests.warehouse.helpers import FETCHED, write_landing

PROFILE = """
name = "lightville"
title = "Lightville"
timezone = "America/Chicago"
[datasets.requests]
protocol = "file"
format = "csv"
table = "service_requests"
url = "https://example.org/311.csv"
[datasets.requests.fields]
source_id = "SR_NUMBER"
request_type = "SR_TYPE"
status = "STATUS"
opened_at = "CREATED_DATE"
closed_at = "CLOSED_DATE"
address = "STREET_ADDRESS"
source = "ORIGIN"
lat = "LATITUDE"
lon = "LONGITUDE"
[datasets.requests.options]
time_formats = ["%m/%d/%Y %I:%M:%S %p"]
streetlight_types = ["Street Lights - All/Out", "Street Light Out"]
max_date = "2030-12-31"
"""

LAT, LON = "41.8800", "-87.6300"
ROWS = [  # SR_NUMBER, SR_TYPE, STATUS, CREATED_DATE, CLOSED_DATE
    ("SL1", "Street Light Out", "Open", "03/01/2024 08:00:00 PM", ""),                        # open outage
    ("SL2", " street lights - all/out ", "Completed", "02/20/2024 07:00:00 AM", "02/22/2024 07:00:00 AM"),
    ("SL3", "Street Light Out", "COMPLETED", "02/25/2024 09:00:00 AM", ""),                   # closed, no time
    ("SL4", "Street Light Out", "Completed", "03/01/2024 10:00:00 AM", "03/10/2024 10:00:00 AM"),  # the latest time
    ("SL5", "Street Light Out", "Completed", "03/05/2024 10:00:00 AM", "03/04/2024 10:00:00 AM"),  # closed first
    ("PH1", "Pothole in Street", "Open", "02/25/2024 11:15:00 AM", ""),
    ("PH2", "Pothole in Street", "Completed", "02/10/2024 08:00:00 AM", "02/14/2024 08:00:00 AM"),
    ("BAD1", "Pothole in Street", "Open", "yesterday", ""),                                  # bad_timestamp
    ("BAD2", "Pothole in Street", "Open", "", ""),                                           # missing_required
    ("BAD3", "Street Light Out", "Completed", "02/01/2024 08:00:00 AM", "soon"),             # bad closed time
    ("BAD4", "Street Light Out", "Open", "02/01/1025 08:00:00 AM", ""),                      # implausible
]


def _profile(text: str = PROFILE):
    return parse_profile(tomllib.loads(text), source="lightville.toml")


@pytest.fixture
def db(tmp_path):
    con = connect(tmp_path / "lightville.duckdb")
    ensure_schema(con)
    profile = _profile()
    spec = profile.datasets["requests"]
    recs = [{"SR_NUMBER": n, "SR_TYPE": t, "STATUS": s, "CREATED_DATE": o, "CLOSED_DATE": c,
             "STREET_ADDRESS": f"{k} N State St", "ORIGIN": "Mobile Device", "LATITUDE": LAT, "LONGITUDE": LON}
            for k, (n, t, s, o, c) in enumerate(ROWS)]
    files = write_landing(tmp_path / "landing", recs)
    options = {**spec.options, "city_timezone": profile.timezone}   # as flows/pipeline.py hands them on
    result = load_dataset(con, city=profile.name, dataset="requests", table=spec.table, files=files,
                          fields=spec.fields, options=options, kind=None, run_id="run-1", fetched_at=FETCHED,
                          source_meta={"protocol": "file", "licence": "test"})
    views.create_views(con)
    yield con, result
    con.close()


def test_rows_in_equal_rows_loaded_plus_quarantined_with_reasons(db):
    con, result = db
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (11, 7, 4)
    assert result.reasons == {"bad_timestamp": 2, "missing_required": 1, "implausible_date": 1}
    assert stored_counts(con, city="lightville", dataset="requests", table="service_requests",
                         run_id="run-1") == (7, 4)
    assert con.execute("SELECT source_id, field, reason FROM quarantine ORDER BY source_id").fetchall() == [
        ("BAD1", "opened_at", "bad_timestamp"), ("BAD2", "opened_at", "missing_required"),
        ("BAD3", "closed_at", "bad_timestamp"), ("BAD4", "opened_at", "implausible_date")]


def test_times_are_parsed_in_the_city_zone_and_kept_as_instants(db):
    con, _ = db
    row = con.execute("SELECT opened_at, opened_at_utc, closed_at, request_id, address, source, lat "
                      "FROM service_requests WHERE source_id = 'SL2'").fetchone()
    assert row[0] == datetime(2024, 2, 20, 7, 0)                                 # 07:00 AM, city-local
    assert row[1] == datetime(2024, 2, 20, 13, 0, tzinfo=timezone.utc)           # CST = UTC-6
    assert row[2] == datetime(2024, 2, 22, 7, 0)
    assert row[3:] == ("SL2", "1 N State St", "Mobile Device", 41.88)
    assert con.execute("SELECT opened_at FROM service_requests WHERE source_id = 'SL1'").fetchone()[0] \
        == datetime(2024, 3, 1, 20, 0)                                           # 08:00 PM
    assert con.execute("SELECT time_flag FROM service_requests WHERE source_id = 'SL5'").fetchone()[0] \
        == "closed_before_opened"


def test_streetlight_types_and_closed_statuses_come_from_the_profile(db):
    con, _ = db
    flags = dict(con.execute("SELECT source_id, (streetlight_outage, is_closed) FROM service_requests").fetchall())
    assert {k: tuple(v) for k, v in flags.items()} == {
        "SL1": (True, False), "SL2": (True, True), "SL3": (True, True), "SL4": (True, True), "SL5": (True, True),
        "PH1": (False, False), "PH2": (False, True)}


def test_open_streetlight_outages_at_the_latest_data_time(db):
    con, _ = db
    assert latest_time(con, city="lightville") == datetime(2024, 3, 10, 10, 0)   # SL4's closing
    rows = con.execute("SELECT source_id, as_of, days_open FROM open_streetlight_outages").fetchall()
    assert rows == [("SL1", datetime(2024, 3, 10, 10, 0), 8.58)]               # 8 days 14 hours
    # at another time: SL2 was open on 2024-02-21 (opened the 20th, closed the 22nd)
    at = open_outage_points(con, city="lightville", at=datetime(2024, 2, 21, 12, 0))
    assert at["lat"] == [41.88] and at["at"] == datetime(2024, 2, 21, 12, 0)
    assert len(open_outage_points(con, city="lightville")["lat"]) == 1
    assert open_outage_points(con, city="nowhere") == {"lat": [], "lon": [], "at": None}


def test_service_request_response_gives_median_days_and_open_counts(db):
    con, _ = db
    rows = con.execute("SELECT request_type, month, requests, closed, median_days_to_close, open_count "
                       "FROM service_request_response ORDER BY request_type, month").fetchall()
    assert rows == [
        ("Pothole in Street", date(2024, 2, 1), 2, 1, 4.0, 1),
        ("Street Light Out", date(2024, 2, 1), 1, 0, None, 0),
        ("Street Light Out", date(2024, 3, 1), 3, 1, 9.0, 1),   # SL5 closed before it opened: not counted
        ("street lights - all/out", date(2024, 2, 1), 1, 1, 2.0, 0),   # as published, trimmed
    ]


def test_profile_options_are_checked(db):
    with pytest.raises(ProfileError, match=r"options.streetlight_type: unknown key; did you mean 'streetlight_types'"):
        _profile(PROFILE.replace("streetlight_types =", "streetlight_type ="))
    with pytest.raises(ProfileError, match=r"fields.opened: not a column of table 'service_requests'"):
        _profile(PROFILE.replace('opened_at = "CREATED_DATE"', 'opened = "CREATED_DATE"'))
    lit = PROFILE + "\n[risk.lit]\nunlit = 2.0\noutages = true\n"
    assert _profile(lit).risk.street_factors()["lit"] == {"lit": 1.0, "unlit": 2.0, "hours": (0.0, 24.0),
                                                          "outages": True, "outage_radius_m": 40.0}
    with pytest.raises(ProfileError, match=r"\[risk.lit\] outages: no service_requests dataset sets "
                                           r"options.streetlight_types"):
        _profile(lit.replace('streetlight_types = ["Street Lights - All/Out", "Street Light Out"]', ""))
