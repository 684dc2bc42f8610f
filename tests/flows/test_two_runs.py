"""Two runs, one warehouse: the second waits or fails cleanly, never interleaves (real processes).

A run opens the warehouse once per task, so DuckDB's per-connection file lock cannot keep two runs apart; the
run lock (flows/run_lock.py) does, for the whole run. Readers meet DuckDB's own lock and get one line.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from civicmash.flows.run_lock import lock_path
from civicmash.warehouse import db


def _cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "civicmash.flows.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def _wait_for_lock(path: Path, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(encoding="utf-8").strip():
            return
        if proc.poll() is not None:
            pytest.fail(f"the first run ended before taking the lock: {proc.communicate()}")
        time.sleep(0.1)
    pytest.fail("the first run never took the run lock")


@pytest.mark.slow
def test_a_second_run_fails_cleanly_and_a_waiting_one_runs_after(prefect_harness, tmp_path):
    from prefect.settings import PREFECT_API_URL

    from tests.flows.health_city import tiny_city

    city_dir = tiny_city(tmp_path / "city")
    api = {"PREFECT_API_URL": PREFECT_API_URL.value()}   # the session's test server, not one per process
    out = tmp_path / "out"
    warehouse = out / "civicmash.duckdb"
    run = ("run", "sample", "--replay", str(city_dir), "--out", str(out))
    first = _cli(*run, env=api)
    _wait_for_lock(lock_path(warehouse), first)

    second = _cli(*run, env=api)   # no --wait: refused at once, naming the first run
    _, err = second.communicate(timeout=120)
    waiting = _cli(*run, "--wait", "600", env=api)
    first_out, first_err = first.communicate(timeout=600)
    waiting_out, waiting_err = waiting.communicate(timeout=600)

    assert second.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"another civicmash run of sample (pid {first.pid}" in lines[0] and "--wait" in lines[0]
    assert first.returncode == 0, first_err
    assert waiting.returncode == 0, waiting_err
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        runs = con.execute("SELECT count(*) FROM ingest_runs WHERE city = 'sample'").fetchone()[0]
        dupes = con.execute("SELECT count(*) FROM (SELECT dataset, source_id FROM incidents WHERE city = 'sample' "
                            "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
        total = con.execute("SELECT count(*) FROM incidents WHERE city = 'sample'").fetchone()[0]
    assert runs == 2 and dupes == 0   # two whole runs, one after the other; the refused one left no trace
    loaded = [line for line in first_out.splitlines() if line.strip().startswith("incidents")]
    assert loaded and f"{total:,}" in loaded[0]


def test_a_reader_meets_a_writer_with_one_line(tmp_path):
    warehouse = tmp_path / "civicmash.duckdb"
    with contextlib.closing(db.connect(warehouse)):
        pass
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from civicmash.warehouse import db; con = db.connect(sys.argv[1]); "
        "print('held', flush=True); time.sleep(60)"), str(warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        reader = _cli("sql", "SELECT 1", "--db", str(warehouse), env={db.LOCK_WAIT_ENV: "1"})
        _, err = reader.communicate(timeout=120)
        assert reader.returncode == 1
        assert err.strip().count("\n") == 0, err
        assert f"in use by process {holder.pid}" in err and db.LOCK_WAIT_ENV in err
        assert time.monotonic() - started >= 1.0   # it waited before giving up
    finally:
        holder.kill()
        holder.wait()
