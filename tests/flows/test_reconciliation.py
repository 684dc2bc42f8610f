"""The flow's reconciliation (rows in = loaded + quarantined) is counted in the warehouse, not in staging.

The loader's own counts come from its staging table, so a row lost between staging and the ``quarantine``
(or canonical) table passed the flow's check unnoticed (issue 13, item 8). Here the real load task runs
against a real DuckDB file; the fault is a quarantine row that disappears after the loader wrote it, the
way a wrong filter in the quarantine INSERT or a concurrent re-load of the same dataset would lose it.
"""

from __future__ import annotations

import contextlib

import pytest

from civicmash.cities.profile import load_profile
from civicmash.flows import pipeline
from civicmash.warehouse.db import connect
from civicmash.warehouse.load import load_dataset, stored_counts
from tests.warehouse.helpers import CRIME_FIELDS, FETCHED, load, write_landing
from tests.warehouse.test_normalise import crime
from tests.warehouse.test_streets import seg

# six records: two load; missing id, bad timestamp, missing timestamp and a duplicate id are quarantined
RECORDS = [crime(id="1"), crime(id=None), crime(id="3", date="not a date"), crime(id="4", date=None),
           crime(id="1", case_number="DUP"), crime(id="6")]


def _lose_one_quarantine_row(con, *, dataset: str, reason: str) -> None:
    con.execute("DELETE FROM quarantine WHERE dataset = ? AND rowid = (SELECT min(rowid) FROM quarantine "
                "WHERE dataset = ? AND reason = ?)", [dataset, dataset, reason])


@pytest.fixture
def sample_incidents(tmp_path):
    """The sample city's incidents dataset, its landing pages as the connector writes them, an empty warehouse."""
    profile = load_profile("sample")
    files = write_landing(tmp_path / "landing", RECORDS, page_size=2)
    ingested = {"files": [str(f) for f in files], "meta": {}, "fetched_at": FETCHED.isoformat(), "mode": "full"}
    warehouse = tmp_path / "civicmash.duckdb"
    connect(warehouse).close()
    return profile, ingested, str(warehouse)


def test_load_task_reconciles_from_the_warehouse(sample_incidents):
    profile, ingested, warehouse = sample_incidents
    counts = pipeline.load_into_warehouse.fn(profile, "incidents", ingested, warehouse=warehouse, run_id="run-ok")
    assert (counts["rows_in"], counts["rows_loaded"], counts["rows_quarantined"]) == (6, 2, 4)


def test_load_task_fails_when_a_quarantine_row_is_lost(sample_incidents, monkeypatch):
    profile, ingested, warehouse = sample_incidents

    def load_then_lose_a_quarantine_row(con, **kwargs):
        result = load_dataset(con, **kwargs)  # the real loader; then the fault
        _lose_one_quarantine_row(con, dataset=kwargs["dataset"], reason="duplicate_source_id")
        return result

    monkeypatch.setattr(pipeline, "load_dataset", load_then_lose_a_quarantine_row)
    with pytest.raises(RuntimeError, match=r"sample/incidents: reconciliation failed: 6 rows in, but the warehouse "
                                           r"holds 2 loaded in incidents \+ 3 quarantined by run run-lost"):
        pipeline.load_into_warehouse.fn(profile, "incidents", ingested, warehouse=warehouse, run_id="run-lost")


def test_load_task_fails_when_a_loaded_row_is_lost(sample_incidents, monkeypatch):
    profile, ingested, warehouse = sample_incidents

    def load_then_lose_a_loaded_row(con, **kwargs):
        result = load_dataset(con, **kwargs)
        con.execute("DELETE FROM incidents WHERE source_id = '6'")
        return result

    monkeypatch.setattr(pipeline, "load_dataset", load_then_lose_a_loaded_row)
    with pytest.raises(RuntimeError, match=r"sample/incidents: .* holds 1 loaded in incidents \+ 4 quarantined"):
        pipeline.load_into_warehouse.fn(profile, "incidents", ingested, warehouse=warehouse, run_id="run-lost")


def test_stored_counts_replace_mode(tmp_path):
    with contextlib.closing(connect(tmp_path / "w.duckdb")) as con:
        result = load(con, tmp_path, RECORDS, table="incidents", fields=CRIME_FIELDS, dataset="crimes",
                      run_id="run-1", page_size=2)
        assert stored_counts(con, city="testcity", dataset="crimes", table="incidents", run_id="run-1") == (2, 4)
        assert (result.rows_loaded, result.rows_quarantined) == (2, 4)
        # quarantine rows of another run (or dataset) are not this load's
        assert stored_counts(con, city="testcity", dataset="crimes", table="incidents", run_id="run-0") == (2, 0)
        assert stored_counts(con, city="testcity", dataset="other", table="incidents", run_id="run-1") == (0, 0)
        _lose_one_quarantine_row(con, dataset="crimes", reason="bad_timestamp")
        assert stored_counts(con, city="testcity", dataset="crimes", table="incidents", run_id="run-1") == (2, 3)


def test_stored_counts_merge_mode_counts_the_increment_only(tmp_path):
    with contextlib.closing(connect(tmp_path / "w.duckdb")) as con:
        load(con, tmp_path / "full", [crime(id=str(i)) for i in range(1, 6)], table="incidents",
             fields=CRIME_FIELDS, dataset="crimes", run_id="run-1")
        increment = [crime(id="2", description="CHANGED"), crime(id="7"), crime(id="8", date="not a date"),
                     crime(id="7", case_number="DUP")]
        files = write_landing(tmp_path / "inc", increment)
        result = load_dataset(con, city="testcity", dataset="crimes", table="incidents", files=files,
                              fields=CRIME_FIELDS, options={}, run_id="run-2", fetched_at=FETCHED,
                              source_meta={"protocol": "socrata"}, mode="merge")
        assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
        key = {"city": "testcity", "dataset": "crimes", "table": "incidents", "fields": CRIME_FIELDS}
        assert stored_counts(con, **key, run_id="run-2", mode="merge") == (2, 2)
        # without a mapped source_id no staged row can be matched: nothing counts as loaded
        assert stored_counts(con, **dict(key, fields={}), run_id="run-2", mode="merge") == (0, 2)
        assert con.execute("SELECT count(*) FROM incidents").fetchone()[0] == 6  # 5 before + record 7
        _lose_one_quarantine_row(con, dataset="crimes", reason="bad_timestamp")  # record 8, never loaded
        assert stored_counts(con, **key, run_id="run-2", mode="merge") == (2, 1)
        _lose_one_quarantine_row(con, dataset="crimes", reason="duplicate_source_id")
        assert stored_counts(con, **key, run_id="run-2", mode="merge") == (2, 0)


def test_stored_counts_area_indicators_count_records_not_indicator_rows(tmp_path):
    records = [{"area": "1", "name": "Rogers Park", "income": "23,939", "poverty": "23.6"},
               {"area": "2", "name": "West Ridge", "income": "23,040", "poverty": "17.2"},
               {"area": "3", "name": "Uptown", "income": "many", "poverty": "24.0"}]
    with contextlib.closing(connect(tmp_path / "w.duckdb")) as con:
        result = load(con, tmp_path, records, table="area_indicators", dataset="census",
                      fields={"area_code": "area", "area_name": "name"})
        assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
        assert con.execute("SELECT count(*) FROM area_indicators").fetchone()[0] == 4  # 2 records x 2 indicators
        assert stored_counts(con, city="testcity", dataset="census", table="area_indicators", run_id="run-1") == (2, 1)


def test_stored_counts_streets_count_edges(tmp_path):
    records = [seg("100", "101", "-87.64", "41.88", "-87.65", "41.88"),
               seg("101", "102", "-87.65", "41.88", "-87.66", "41.88"),
               seg("102", "103", "-87.66", "41.88", "-87.67", "41.88", highway="motorway")]
    with contextlib.closing(connect(tmp_path / "w.duckdb")) as con:
        result = load(con, tmp_path, records, table="streets", dataset="osm", fields={},
                      source_meta={"protocol": "osm"})
        assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
        assert con.execute("SELECT count(*) FROM street_nodes").fetchone()[0] == 3
        assert stored_counts(con, city="testcity", dataset="osm", table="streets", run_id="run-1") == (2, 1)


def test_stored_counts_refuses_an_unknown_mode(tmp_path):
    with contextlib.closing(connect(tmp_path / "w.duckdb")) as con:
        with pytest.raises(ValueError,
                           match=r"testcity/crimes: mode must be one of \('replace', 'merge'\), got 'upsert'"):
            stored_counts(con, city="testcity", dataset="crimes", table="incidents", run_id="r", mode="upsert")
