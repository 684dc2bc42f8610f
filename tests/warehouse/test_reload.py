"""Re-loading a dataset replaces its rows (and its quarantine), leaving other datasets alone."""

from datetime import datetime, timezone

from civicmash.warehouse.load import record_run
from tests.warehouse.helpers import CRIME_FIELDS, load
from tests.warehouse.test_normalise import crime


def snapshot(con):
    return con.execute("SELECT dataset, source_id, row_hash, occurred_at, beat FROM incidents ORDER BY ALL").fetchall()


def test_reload_is_idempotent(con, tmp_path):
    recs = [crime(id=str(i), beat=str(900 + i)) for i in range(50)] + [crime(id=None)]
    load(con, tmp_path / "other", [crime(id="x")], table="incidents", fields=CRIME_FIELDS, dataset="other")
    first = load(con, tmp_path / "a", recs, table="incidents", fields=CRIME_FIELDS, dataset="crimes", run_id="r1")
    before = snapshot(con)
    second = load(con, tmp_path / "b", recs, table="incidents", fields=CRIME_FIELDS, dataset="crimes", run_id="r2")
    assert first == second and snapshot(con) == before
    assert con.execute("SELECT count(*), min(run_id) FROM quarantine").fetchone() == (1, "r2")
    assert con.execute("SELECT count(*) FROM datasets").fetchone()[0] == 2
    # a smaller re-fetch replaces, never appends
    load(con, tmp_path / "c", recs[:10], table="incidents", fields=CRIME_FIELDS, dataset="crimes", run_id="r3")
    assert con.execute("SELECT dataset, count(*) FROM incidents GROUP BY 1 ORDER BY 1").fetchall() == [
        ("crimes", 10), ("other", 1)]
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_record_run(con):
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    record_run(con, run_id="r1", city="c", started_at=t0, finished_at=None, status="running", summary={})
    record_run(con, run_id="r1", city="c", started_at=t0, finished_at=t0, status="ok", summary={"crimes": 5})
    assert con.execute("SELECT status, summary->>'$.crimes' FROM ingest_runs").fetchall() == [("ok", "5")]
