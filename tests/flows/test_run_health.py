"""Run health: a dataset that loads 0 rows, or quarantines more than the profile allows, fails the run.

Real runs of the Prefect flow (and of ``civicmash run``) over the loopback replay portal into a DuckDB file,
on the sample city's crimes file with most timestamps broken, and on a crimes file with no rows.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import duckdb
import pytest

from civicmash.flows.cli import main
from civicmash.flows.health import RunHealthError
from civicmash.flows.pipeline import civic_pipeline, summary_markdown

from .sample_variants import profile_of, variant, write_profile

BAD_EVERY = 10   # 9 of every 10 rows get a broken timestamp: 90 % quarantined
ROWS = 600       # the tiny sample city's incidents


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory) -> Path:
    """The tiny sample city plus two crimes files: most timestamps broken, and a header without rows."""
    from civicmash.devkit.sample_city import generate

    directory = generate(tmp_path_factory.mktemp("health_city"), seed=2008, size="tiny")
    with open(directory / "crime" / "incidents.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    assert len(rows) == ROWS
    for i, row in enumerate(rows):
        if i % BAD_EVERY:
            row["Date"] = "sometime in May"   # the CSV header; the portal serves it as `date`
    for name, body in (("bad_dates.csv", rows), ("empty.csv", [])):
        with open(directory / "crime" / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(body)
    return directory


def _crimes_from(replay: str, *, name: str, **top) -> dict:
    """The sample's crimes (from ``replay``) plus its budget, which is healthy."""
    return variant(name=name, keep=["incidents", "spending"], changes={"incidents": {"replay": replay}}, **top)


def _quarantined(warehouse: str, city: str) -> dict[str, int]:
    with contextlib.closing(duckdb.connect(warehouse, read_only=True)) as con:
        return dict(con.execute("SELECT reason, count(*) FROM quarantine WHERE city = ? GROUP BY reason",
                                [city]).fetchall())


def test_a_mostly_quarantined_dataset_fails_the_flow(prefect_harness, city_dir, tmp_path):
    profile = profile_of(_crimes_from("crime/bad_dates.csv", name="bad_dates"))
    state = civic_pipeline(profile.name, out=str(tmp_path), replay=str(city_dir), profile=profile,
                           return_state=True)
    assert state.is_failed()
    # the exception itself, from a direct call (a flow called without return_state raises what failed it;
    # state.result() depends on the process's result settings and event loop, so it is not used here)
    with pytest.raises(RunHealthError) as raised:
        civic_pipeline(profile.name, out=str(tmp_path), replay=str(city_dir), profile=profile)
    message, summary = str(raised.value), raised.value.summary
    bad = ROWS - ROWS // BAD_EVERY
    assert f"incidents: {bad} of {ROWS} rows quarantined (90.0%, limit 5.0%)" in message
    assert f"bad_timestamp (occurred_at) {bad}" in message
    assert "spending" not in message                       # the healthy dataset is not named
    # the warehouse keeps what loaded and why the rest did not, and records the run as failed
    assert _quarantined(summary["warehouse"], "bad_dates") == {"bad_timestamp": bad}
    with contextlib.closing(duckdb.connect(summary["warehouse"], read_only=True)) as con:
        assert con.execute("SELECT count(*) FROM incidents WHERE city = 'bad_dates'").fetchone()[0] == ROWS - bad
        assert con.execute("SELECT status FROM ingest_runs WHERE run_id = ?",
                           [summary["run_id"]]).fetchone()[0] == "failed"
    # the products of healthy data are built; the explorer is not drawn from a tenth of the crimes
    assert set(summary["maps"]) == {"spending"} and Path(summary["maps"]["spending"]).is_file()
    assert summary["skipped_maps"]["explorer"] == ("not built: incidents (dataset incidents failed its "
                                                   "health check)")
    artifact = summary_markdown(summary)            # the Prefect artifact says it too
    assert "## Run health: failed" in artifact and f"- incidents: {bad} of {ROWS} rows quarantined" in artifact


def test_the_cli_exits_1_naming_the_dataset_and_its_reasons(prefect_harness, city_dir, tmp_path, capsys):
    profile = write_profile(tmp_path / "bad.toml", _crimes_from("crime/bad_dates.csv", name="bad_dates"))
    assert main(["run", "--profile", str(profile), "--replay", str(city_dir), "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    error = [line for line in captured.err.splitlines() if line.startswith("civicmash: error:")]
    assert len(error) == 1, captured.err
    assert "bad_dates: 1 dataset failed the run-health check" in error[0]
    assert "incidents: 540 of 600 rows quarantined" in error[0] and "bad_timestamp (occurred_at) 540" in error[0]
    # the table is still printed, the unhealthy dataset marked: never "ok"
    assert any(line.split()[:1] == ["incidents"] and line.endswith("FAILED health")
               for line in captured.out.splitlines()), captured.out
    assert any(line.split()[:1] == ["spending"] and line.endswith(" ok") for line in captured.out.splitlines())


def test_a_dataset_that_loads_no_rows_fails_the_run(prefect_harness, city_dir, tmp_path):
    profile = profile_of(_crimes_from("crime/empty.csv", name="empty_crimes"))
    with pytest.raises(RunHealthError, match=r"incidents: 0 rows loaded: the source gave no rows"):
        civic_pipeline(profile.name, out=str(tmp_path), replay=str(city_dir), profile=profile, maps=[])


def test_the_limits_are_set_per_profile_and_per_dataset(prefect_harness, city_dir, tmp_path):
    """``[health]`` raises the city's limit; ``[datasets.<name>.health]`` overrides it for one dataset."""
    lenient_city = _crimes_from("crime/bad_dates.csv", name="lenient", health={"max_quarantine_share": 0.95})
    summary = civic_pipeline("lenient", out=str(tmp_path / "city"), replay=str(city_dir),
                             profile=profile_of(lenient_city), maps=[])
    assert summary["status"] == "completed" and all(h["healthy"] for h in summary["health"])

    strict_dataset = _crimes_from("crime/bad_dates.csv", name="lenient", health={"max_quarantine_share": 0.95})
    strict_dataset["datasets"]["incidents"]["health"] = {"max_quarantine_share": 0.5}
    profile = profile_of(strict_dataset)
    assert profile.health_for("incidents").max_quarantine_share == 0.5
    assert profile.health_for("spending").max_quarantine_share == 0.95
    with pytest.raises(RunHealthError, match=r"540 of 600 rows quarantined \(90.0%, limit 50.0%\)"):
        civic_pipeline("lenient", out=str(tmp_path / "dataset"), replay=str(city_dir), profile=profile, maps=[])

    empty_allowed = _crimes_from("crime/empty.csv", name="empty_ok")
    empty_allowed["datasets"]["incidents"]["health"] = {"allow_empty": True}
    summary = civic_pipeline("empty_ok", out=str(tmp_path / "empty"), replay=str(city_dir),
                             profile=profile_of(empty_allowed), maps=[])
    assert summary["status"] == "completed"
