"""Source row filters (options.keep / options.drop): rows a profile excludes are quarantined with reason
excluded_by_profile naming the rule, never dropped; rows in = loaded + quarantined; run health does not hold
them against the dataset. Inputs are tiny CSV files read by the real file connector into landing pages, then
loaded by the real loader into a DuckDB file."""
from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from civicmash.cities.profile import HealthSpec, ProfileError, parse_profile
from civicmash.connectors import files
from civicmash.connectors.landing import write_page
from civicmash.warehouse import db
from civicmash.warehouse.load import load_dataset

FETCHED = datetime(2024, 4, 1, tzinfo=timezone.utc)
BUDGET = ("\ufeffDept Code,Dept Name,Status,Amount\r\n"
          "02,Aging,ACTIVE,100\r\n"
          "04,Animal Services,PENDING,200\r\n"
          "OTHERSPF,Other Special,CLOSED,300\r\n"
          "06,Building,ACTIVE,\r\n"
          ",,,600\r\n"          # the grand total: key columns empty
          ",,,")                # an entirely empty last row, no final newline


def _load(tmp_path: Path, text: str, *, options: dict, fields: dict, table: str = "spending", name: str = "budget"):
    source = tmp_path / f"{name}.csv"
    source.write_bytes(text.encode("utf-8"))
    landing = tmp_path / f"landing-{name}"
    paths = [write_page(p, directory=landing) for p in files.iter_pages(source, fmt="csv", dataset_name=name)]
    with contextlib.closing(db.connect(tmp_path / "wh.duckdb")) as con:
        result = load_dataset(con, city="testcity", dataset=name, table=table, files=paths, fields=fields,
                              options=options, run_id="r1", fetched_at=FETCHED,
                              source_meta={"protocol": "file", "licence": "test"})
        quarantine = con.execute("SELECT row_number, reason, field FROM quarantine WHERE dataset = ? "
                                 "ORDER BY row_number", [name]).fetchall()
        loaded = con.execute(f"SELECT department_code FROM {table} WHERE dataset = ? ORDER BY 1", [name]).fetchall()
    return result, quarantine, [c for (c,) in loaded]


FIELDS = {"department_code": "Dept Code", "department": "Dept Name", "amount": "Amount"}


def test_keep_not_empty_quarantines_the_total_rows_naming_the_rule(tmp_path):
    result, quarantine, loaded = _load(tmp_path, BUDGET, options={"keep": {"Dept Code": "not_empty"}}, fields=FIELDS)
    assert result.rows_in == 6 == result.rows_loaded + result.rows_quarantined
    assert loaded == ["02", "04", "OTHERSPF"]
    assert quarantine == [(4, "missing_required", "amount"),
                          (5, "excluded_by_profile", "keep Dept Code: not_empty"),
                          (6, "excluded_by_profile", "keep Dept Code: not_empty")]
    assert result.reasons == {"excluded_by_profile": 2, "missing_required": 1}


def test_without_a_rule_the_total_row_loads(tmp_path):
    """The feature's reason to exist: with no filter the grand total is a line without a department."""
    result, quarantine, loaded = _load(tmp_path, BUDGET, options={}, fields=FIELDS)
    assert loaded.count(None) == 1 and result.rows_loaded == 4


def test_keep_a_list_of_values_and_drop_a_pattern(tmp_path):
    options = {"keep": {"Status": ["ACTIVE", "PENDING"]}, "drop": {"Dept Name": {"pattern": "(?i)^animal.*"}}}
    result, quarantine, loaded = _load(tmp_path, BUDGET, options=options, fields=FIELDS)
    assert loaded == ["02"]
    assert [(n, f) for n, r, f in quarantine if r == "excluded_by_profile"] == [
        (2, "drop Dept Name: matches (?i)^animal.*"), (3, "keep Status: one of ACTIVE, PENDING"),
        (5, "keep Status: one of ACTIVE, PENDING"), (6, "keep Status: one of ACTIVE, PENDING")]
    assert result.rows_in == result.rows_loaded + result.rows_quarantined


def test_drop_empty_and_a_keep_on_an_id_never_makes_duplicates(tmp_path):
    """An excluded row does not count as the first of a source id: the data row after it is not a duplicate."""
    text = "id,amount\r\n7,1\r\n7,2\r\n8,3\r\n"
    fields = {"source_id": "id", "amount": "amount"}
    result, quarantine, _ = _load(tmp_path, text, options={"drop": {"amount": ["1"]}}, fields=fields)
    assert result.rows_loaded == 2 and quarantine == [(1, "excluded_by_profile", "drop amount: one of 1")]


def test_a_rule_on_a_missing_field_is_an_error_naming_it(tmp_path):
    with pytest.raises(ValueError, match=r"testcity/budget: options.keep: the data has no field 'Dept Kode'"):
        _load(tmp_path, BUDGET, options={"keep": {"Dept Kode": "not_empty"}}, fields=FIELDS)


def _profile(options: dict) -> dict:
    return {"name": "t", "title": "T", "datasets": {"budget": {
        "protocol": "file", "format": "csv", "table": "spending", "url": "https://example.test/b.csv",
        "options": options, "fields": {"amount": "Amount"}}}}


@pytest.mark.parametrize("rule, message", [("not empty", "is not a rule"), ([], "one or more values"),
                                           ({"regex": "x"}, "pattern"), ({"pattern": "("}, "not a regular")])
def test_the_profile_refuses_a_rule_outside_the_vocabulary(rule, message):
    with pytest.raises(ProfileError, match=message):
        parse_profile(_profile({"keep": {"Dept Code": rule}}))


def test_the_profile_accepts_the_vocabulary():
    profile = parse_profile(_profile({"keep": {"A": "not_empty", "B": ["X", 2]}, "drop": {"C": {"pattern": "^T"}}}))
    assert profile.datasets["budget"].options["keep"]["A"] == "not_empty"


def test_excluded_rows_are_an_expected_reason_for_run_health():
    assert "excluded_by_profile" in HealthSpec().expected_reasons


def test_run_health_does_not_hold_excluded_rows_against_the_dataset(tmp_path):
    """Two of three rows excluded by the profile: healthy under the default 5 % limit (the rule is by design)."""
    from civicmash.flows.health import check_health

    text = "Dept Code,Amount\r\n02,100\r\n,600\r\n,\r\n"
    result, _, _ = _load(tmp_path, text, options={"keep": {"Dept Code": "not_empty"}}, fields=FIELDS)
    with contextlib.closing(db.connect(tmp_path / "wh.duckdb", read_only=True)) as con:
        load = {"dataset": "budget", "table": "spending", "rows_in": result.rows_in, "mode": "replace"}
        verdict = check_health(con, city="testcity", run_id="r1", load=load, max_quarantine_share=0.05,
                               allow_empty=False, expected_reasons=HealthSpec().expected_reasons)
        strict = check_health(con, city="testcity", run_id="r1", load=load, max_quarantine_share=0.05,
                              allow_empty=False, expected_reasons=())
    assert verdict.healthy and not strict.healthy
