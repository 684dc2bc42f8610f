"""Composite source ids (fields.source_id = [f1, f2] joined with "|") and what an incidents row counts
(options.row_unit -> datasets.row_unit). A victim-level file repeats its case number once per victim (like
Chicago's homicide rows, PROVENANCE.md): keyed on the case alone the second victim would be quarantined as a
duplicate; keyed on case + victim every victim loads, and the catalogue says the counts are victims."""
from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from civicmash.cities.profile import ProfileError, parse_profile
from civicmash.connectors import files
from civicmash.connectors.landing import write_page
from civicmash.warehouse import db
from civicmash.warehouse.load import load_dataset

FETCHED = datetime(2024, 4, 1, tzinfo=timezone.utc)
VICTIMS = ("case_number,victim_seq,date,type\n"
           "JB100,1,2024-03-01 22:10:00,HOMICIDE\n"
           "JB100,2,2024-03-01 22:10:00,HOMICIDE\n"
           "JB101,1,2024-03-02 01:00:00,HOMICIDE\n"
           "JB102,,2024-03-03 02:00:00,HOMICIDE\n"
           ",,2024-03-04 03:00:00,HOMICIDE\n")


def _load(tmp_path: Path, *, source_id, options: dict | None = None):
    source = tmp_path / "victims.csv"
    source.write_text(VICTIMS, encoding="utf-8")
    paths = [write_page(p, directory=tmp_path / "landing") for p in files.iter_pages(source, fmt="csv")]
    fields = {"source_id": source_id, "case_number": "case_number", "occurred_at": "date", "primary_type": "type"}
    with contextlib.closing(db.connect(tmp_path / "wh.duckdb")) as con:
        result = load_dataset(con, city="testcity", dataset="homicides", table="incidents", files=paths,
                              fields=fields, options={"time_formats": ["%Y-%m-%d %H:%M:%S"], **(options or {})},
                              run_id="r1", fetched_at=FETCHED, source_meta={"protocol": "file", "licence": "t"})
        ids = [i for (i,) in con.execute("SELECT source_id FROM incidents ORDER BY 1").fetchall()]
        reasons = con.execute("SELECT row_number, reason FROM quarantine ORDER BY 1").fetchall()
        unit = con.execute("SELECT row_unit FROM datasets WHERE dataset = 'homicides'").fetchone()[0]
    return result, ids, reasons, unit


def test_a_list_of_fields_is_one_id_joined_with_a_bar(tmp_path):
    result, ids, reasons, _ = _load(tmp_path, source_id=["case_number", "victim_seq"], options={"row_unit": "victim"})
    assert ids == ["JB100|1", "JB100|2", "JB101|1", "JB102|"]
    assert reasons == [(5, "missing_source_id")]    # every part empty: no id at all
    assert result.rows_in == result.rows_loaded + result.rows_quarantined == 5


def test_the_case_alone_makes_the_second_victim_a_duplicate(tmp_path):
    _, ids, reasons, _ = _load(tmp_path, source_id="case_number")
    assert ids == ["JB100", "JB101", "JB102"]
    assert (2, "duplicate_source_id") in reasons


def test_the_catalogue_says_what_a_row_counts(tmp_path):
    assert _load(tmp_path, source_id=["case_number", "victim_seq"], options={"row_unit": "victim"})[3] == "victim"


def test_a_case_is_the_default_row_unit(tmp_path):
    assert _load(tmp_path, source_id="case_number")[3] == "case"


def test_a_missing_part_of_a_composite_id_is_reported(tmp_path):
    result, ids, reasons, _ = _load(tmp_path, source_id=["case_number", "victim_no"])
    assert "source_id=victim_no" in result.missing_fields
    assert ids == [] and {r for _, r in reasons} == {"missing_source_id"}


def _profile(fields: dict, options: dict | None = None) -> dict:
    return {"name": "t", "title": "T", "datasets": {"homicides": {
        "protocol": "file", "format": "csv", "table": "incidents", "url": "https://example.test/h.csv",
        "fields": fields, "options": options or {}}}}


def test_the_profile_takes_a_list_for_source_id_only():
    spec = parse_profile(_profile({"source_id": ["case_number", "victim_seq"]}, {"row_unit": "victim"}))
    assert spec.datasets["homicides"].fields["source_id"] == ["case_number", "victim_seq"]
    with pytest.raises(ProfileError, match="only source_id may list several"):
        parse_profile(_profile({"occurred_at": ["date", "time"]}))
    with pytest.raises(ProfileError, match="row_unit"):
        parse_profile(_profile({"source_id": "id"}, {"row_unit": "victims"}))
