"""The offence crosswalk (warehouse/offences.py): generated crimes through the real loader into a DuckDB file, then
classified: exact values, patterns, exact beating pattern, unmapped rows counted (never dropped), bad crosswalks
refused before anything is written, and the incidents_by_offence / offence_categories views."""

from __future__ import annotations

import contextlib

import pytest

from civicmash.warehouse import db, views
from civicmash.warehouse.offences import (CATEGORIES, CrosswalkError, classify_incidents, crosswalk_problems,
                                          match_value)
from tests.warehouse.helpers import CRIME_FIELDS, load
from tests.warehouse.test_normalise import crime

# primary type -> how many generated crimes carry it (spacing and case as a portal might publish them)
TYPES = {"THEFT": 7, "theft": 2, "BURGLARY": 3, "BURGLARY FROM VEHICLE": 4, "BURGLARY - ATTEMPT": 1,
         "LETTERS,  LEWD": 2, "NON-CRIMINAL": 1, "BATTERY": 5, "JAYWALKING": 3, "LOITERING": 1}
CROSSWALK = {"theft": ["Theft", "burglary from vehicle"], "burglary": ["BURGLARY*"], "assault": ["BATTERY"],
             "other": ["letters, lewd", "NON-CRIM?NAL"]}


@pytest.fixture
def warehouse(tmp_path):
    """A DuckDB file holding TYPES as crimes of two datasets (the second: 2 more JAYWALKING), plus another city."""
    path = tmp_path / "civicmash.duckdb"
    with contextlib.closing(db.connect(path)) as con:
        db.ensure_schema(con)
        records = [crime(id=f"{t}-{k}", primary_type=t) for t, n in TYPES.items() for k in range(n)]
        result = load(con, tmp_path / "a", records, table="incidents", fields=CRIME_FIELDS, dataset="crimes")
        assert result.rows_loaded == sum(TYPES.values())
        load(con, tmp_path / "b", [crime(id=f"j{k}", primary_type="JAYWALKING") for k in range(2)],
             table="incidents", fields=CRIME_FIELDS, dataset="old_crimes")
        load(con, tmp_path / "c", [crime(id="x", primary_type="THEFT")], table="incidents", fields=CRIME_FIELDS,
             dataset="crimes", city="elsewhere")
    yield path


def _offences(con, city="testcity"):
    return dict(con.execute("SELECT primary_type, any_value(offence) FROM incidents WHERE city = ? GROUP BY 1",
                            [city]).fetchall())


def test_exact_values_patterns_and_unmapped(warehouse):
    with contextlib.closing(db.connect(warehouse)) as con:
        result = classify_incidents(con, city="testcity", crosswalk=CROSSWALK)
        got = _offences(con)
        assert got == {"THEFT": "theft", "theft": "theft", "BURGLARY": "burglary",
                       "BURGLARY FROM VEHICLE": "theft",            # the exact value beats the pattern BURGLARY*
                       "BURGLARY - ATTEMPT": "burglary", "LETTERS,  LEWD": "other",   # runs of spaces read as one
                       "NON-CRIMINAL": "other", "BATTERY": "assault", "JAYWALKING": None, "LOITERING": None}
        against = dict(con.execute("SELECT offence, any_value(crime_against) FROM incidents WHERE city = 'testcity' "
                                   "GROUP BY 1").fetchall())
        assert against == {"theft": "property", "burglary": "property", "assault": "person", "other": "other",
                           None: None}
        # unmapped rows stay loaded and are counted per dataset and value: rows = mapped + unmapped
        total = con.execute("SELECT count(*) FROM incidents WHERE city = 'testcity'").fetchone()[0]
        assert total == sum(TYPES.values()) + 2 == result.rows
        assert (result.mapped_rows, result.unmapped_rows, result.unmapped_values) == (total - 6, 6, 3)
        assert sorted(con.execute("SELECT city, dataset, field, source_value, rows FROM offence_unmapped").fetchall()) == [
            ("testcity", "crimes", "primary_type", "JAYWALKING", 3), ("testcity", "crimes", "primary_type", "LOITERING", 1),
            ("testcity", "old_crimes", "primary_type", "JAYWALKING", 2)]
        assert result.by_offence == {"theft": 13, "burglary": 4, "assault": 5, "other": 3}
        assert "6 unmapped (3 source values)" in result.summary() and "'JAYWALKING' 3 (crimes)" in result.summary()
        # another city's rows are not touched
        assert _offences(con, "elsewhere") == {"THEFT": None}


def test_reclassify_after_reload_and_changed_crosswalk(warehouse, tmp_path):
    with contextlib.closing(db.connect(warehouse)) as con:
        classify_incidents(con, city="testcity", crosswalk=CROSSWALK)
        load(con, tmp_path / "again", [crime(id="n1", primary_type="JAYWALKING")], table="incidents",
             fields=CRIME_FIELDS, dataset="old_crimes")
        result = classify_incidents(con, city="testcity", crosswalk={**CROSSWALK, "other": ["JAY*", "LOITERING",
                                                                                              "letters, lewd"]})
        assert result.unmapped == [("crimes", "NON-CRIMINAL", 1)]
        assert con.execute("SELECT source_value, rows FROM offence_unmapped").fetchall() == [("NON-CRIMINAL", 1)]
        assert _offences(con)["JAYWALKING"] == "other"


def test_incidents_by_offence_view_adds_up(warehouse):
    with contextlib.closing(db.connect(warehouse)) as con:
        classify_incidents(con, city="testcity", crosswalk=CROSSWALK)
        views.create_views(con)
        rows = dict(con.execute("SELECT offence, sum(incidents) FROM incidents_by_offence WHERE city = 'testcity' "
                                "GROUP BY 1").fetchall())
        assert rows == {"theft": 13, "burglary": 4, "assault": 5, "other": 3, "unmapped": 6}
        assert con.execute("SELECT DISTINCT month FROM incidents_by_offence").fetchall() == [
            (con.execute("SELECT DATE '2018-05-01'").fetchone()[0],)]
        cats = con.execute("SELECT offence, crime_against, weight_class FROM offence_categories ORDER BY position").fetchall()
        assert [c[0] for c in cats] == list(CATEGORIES) and len(cats) == 11
        assert ("robbery", "property", "violent") in cats and ("narcotics", "society", "other") in cats


@pytest.mark.parametrize("crosswalk, words", [
    ({"burglary": ["BURGLARY*"], "theft": ["*VEHICLE"]}, ["'BURGLARY*' (burglary)", "'*VEHICLE' (theft)",
                                                          "'BURGLARYVEHICLE'"]),
    ({"theft": ["THEFT"], "other": ["theft "]}, ["'theft '", "theft and other"]),
    ({"assualt": ["BATTERY"]}, ["'assualt'", "did you mean 'assault'"]),
    ({"other": ["*"]}, ["would match every value"]),
])
def test_bad_crosswalks_are_refused_before_writing(warehouse, crosswalk, words):
    problems = "; ".join(crosswalk_problems(crosswalk))
    assert all(w in problems for w in words), problems
    with contextlib.closing(db.connect(warehouse)) as con:
        with pytest.raises(CrosswalkError) as err:
            classify_incidents(con, city="testcity", crosswalk=crosswalk)
        assert all(w in str(err.value) for w in words)
        assert con.execute("SELECT count(*) FROM incidents WHERE offence IS NOT NULL").fetchone()[0] == 0


def test_patterns_that_cannot_meet_are_fine():
    ok = {"burglary": ["BURGLARY*", "RESIDENTIAL ?URGLARY"], "theft": ["THEFT*", "GRAND THEFT ?"],
          "criminal_damage": ["VANDALISM - *"], "other": ["VIOLATION OF *", "THEFT OF IDENTITY"]}
    assert crosswalk_problems(ok) == []
    assert match_value("theft of identity", ok) == "other"        # exact beats THEFT*
    assert match_value("THEFT FROM VEHICLE", ok) == "theft" and match_value("grand theft a", ok) == "theft"
    assert match_value("RESIDENTIAL BURGLARY", ok) == "burglary"
    assert match_value("VANDALISM", ok) is None and match_value(None, ok) is None


def test_unknown_field_is_refused(warehouse):
    with contextlib.closing(db.connect(warehouse)) as con:
        with pytest.raises(ValueError, match="'block' is not a column of incidents"):
            classify_incidents(con, city="testcity", crosswalk=CROSSWALK, field="block")


def test_classify_by_another_column(warehouse):
    with contextlib.closing(db.connect(warehouse)) as con:
        result = classify_incidents(con, city="testcity", crosswalk={"other": ["11"]}, field="fbi_code")
        assert result.unmapped_rows == 0 and result.by_offence == {"other": result.rows}
