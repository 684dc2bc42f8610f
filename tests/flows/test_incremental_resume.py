"""Incremental runs and resume of the Prefect flow on the sample city, over real HTTP to the replay portal.

(a) full run -> the portal appends 10 rows and updates 5 -> an incremental run fetches exactly those 15
    and leaves ``incidents`` equal to a full reload into a second warehouse (plus 5 history versions);
(b) a pipeline process killed with SIGKILL mid-ingest is re-run and resumes after its last completed
    page, ending with the exact count and no duplicate ids.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from civicmash.cities.profile import load_profile
from civicmash.connectors.checkpoint import Checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASET_ID = "smpl-crm1"
# The incremental test runs the sample profile under another city name, so its runs' Prefect artifacts
# (key civicmash-<city>) never mix with the session's sample runs on the shared test server.
CITY = "sample_incremental"
SNAPSHOT = f"SELECT source_id, row_hash, primary_type FROM incidents WHERE city = '{CITY}' AND dataset = 'incidents'"


def _new_row(i: int) -> dict:
    return {"id": str(99_000_000 + i), "case_number": f"ZZ{i:06d}", "date": "2018-11-10T10:00:00.000",
            "block": "001XX N TEST ST", "iucr": "0820", "primary_type": "THEFT", "description": "$500 AND UNDER",
            "location_description": "STREET", "arrest": "false", "domestic": "false", "beat": "0111",
            "district": "1", "ward": "1", "community_area": "1", "fbi_code": "06",
            "latitude": "42.30", "longitude": "-87.25"}


def _rows(con, query: str) -> list[tuple]:
    return sorted(con.execute(query).fetchall())


@pytest.fixture
def sample_portal(sample_city_dir):
    """A replay portal of the sample city of its own (its rows are changed by the test)."""
    from civicmash.devkit.city_portal import start_replay

    portal = start_replay(load_profile("sample"), sample_city_dir)
    try:
        yield portal
    finally:
        portal.stop()


def test_incremental_run_fetches_only_changes_and_equals_a_full_reload(prefect_harness, sample_portal,
                                                                      sample_city_dir, tmp_path):
    from civicmash.flows.pipeline import civic_pipeline

    out, fresh = tmp_path / "out", tmp_path / "fresh"
    profile = tmp_path / f"{CITY}.toml"
    text = (REPO_ROOT / "cities" / "sample.toml").read_text()
    assert '\nname = "sample"\n' in text
    profile.write_text(text.replace('\nname = "sample"\n', f'\nname = "{CITY}"\n', 1))
    run = dict(replay_url=sample_portal.base_url, datasets=["incidents"], maps=[], profile_path=str(profile))
    first = civic_pipeline(CITY, out=str(out), incremental=True, **run)  # nothing loaded yet: a full fetch
    assert [(i["dataset"], i["mode"], i["fetched"]) for i in first["ingest"]] == [("incidents", "full", 6000)]
    assert first["datasets"][0]["mode"] == "replace"

    with open(sample_city_dir / "crime" / "incidents.csv", newline="", encoding="utf-8") as f:
        updated_ids = [r["ID"] for r in csv.DictReader(f)][1000:1005]
    sample_portal.append_rows(DATASET_ID, [_new_row(i) for i in range(10)])
    sample_portal.update_rows(DATASET_ID, {sid: {"primary_type": "ARSON", "description": "BY FIRE"}
                                           for sid in updated_ids})

    again = civic_pipeline(CITY, out=str(out), incremental=True, **run)
    (ingest,) = again["ingest"]
    assert (ingest["mode"], ingest["fetched"], ingest["records"]) == ("incremental", 15, 15)
    assert ingest["since"] and ingest["watermark"] > ingest["since"]
    (loaded,) = again["datasets"]
    assert (loaded["mode"], loaded["rows_in"], loaded["rows_loaded"]) == ("merge", 15, 15)
    # the increment landed in its own run directory; the full landing is untouched
    increment_dir = out / "landing" / CITY / "incidents" / "increments" / again["run_id"]
    assert len(list(increment_dir.glob("page-*.parquet"))) == 1
    assert len(list((out / "landing" / CITY / "incidents").glob("page-*.parquet"))) == 3

    reload = civic_pipeline(CITY, out=str(fresh), **run)  # same portal state, fresh warehouse
    assert reload["ingest"][0]["mode"] == "full" and reload["ingest"][0]["fetched"] == 6010
    with contextlib.closing(duckdb.connect(again["warehouse"], read_only=True)) as con, \
            contextlib.closing(duckdb.connect(reload["warehouse"], read_only=True)) as ref:
        merged = _rows(con, SNAPSHOT)
        assert len(merged) == 6010
        assert merged == _rows(ref, SNAPSHOT)
        history = _rows(con, "SELECT source_id, change, primary_type FROM incidents_history "
                             f"WHERE city = '{CITY}' AND dataset = 'incidents'")
        assert [h[0] for h in history] == sorted(updated_ids)
        assert {h[1] for h in history} == {"changed"} and "ARSON" not in {h[2] for h in history}
        assert con.execute(f"SELECT watermark FROM datasets WHERE city='{CITY}' AND dataset='incidents'"
                           ).fetchone()[0] == ingest["watermark"]

    # nothing changed since: an incremental run fetches nothing and changes nothing (the portal's count and
    # newest update equal the last load's, so the dataset is skipped: flows/refresh.py, tests/flows/test_refresh.py)
    idle = civic_pipeline(CITY, out=str(out), incremental=True, **run)
    assert (idle["ingest"][0]["mode"], idle["ingest"][0]["fetched"]) == ("unchanged", 0)
    with contextlib.closing(duckdb.connect(idle["warehouse"], read_only=True)) as con:
        assert _rows(con, SNAPSHOT) == merged


# --- SIGKILL and resume ----------------------------------------------------------------------------

_CHILD = """
import json, sys
from civicmash.cities.profile import load_profile
from civicmash.flows.pipeline import civic_pipeline
from civicmash.devkit.city_portal import start_replay

profile, replay, out, latency = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
portal = start_replay(load_profile(profile), replay, latency=latency)
try:
    summary = civic_pipeline("sample", out=out, profile_path=profile, replay_url=portal.base_url,
                             datasets=["incidents"], maps=[])
finally:
    portal.stop()
print("SUMMARY " + json.dumps({"ingest": summary["ingest"], "datasets": summary["datasets"]}))
"""


def _child(profile: Path, replay: Path, out: Path, home: Path, latency: float) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "INFO", "PYTHONPATH": str(REPO_ROOT)}
    env.pop("PREFECT_API_URL", None)  # ephemeral mode: the child runs its own temporary server
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(profile), str(replay), str(out), str(latency)],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # own process group: the kill takes its Prefect server too


def _completed_pages(landing: Path) -> list[dict]:
    try:
        return Checkpoint(landing).pages
    except ValueError:  # not there yet
        return []


def test_sigkill_mid_ingest_then_rerun_resumes_with_exact_count(sample_city_dir, tmp_path):
    text = (REPO_ROOT / "cities" / "sample.toml").read_text()
    assert "options = { page_size = 2500," in text
    profile = tmp_path / "sample.toml"
    profile.write_text(text.replace("options = { page_size = 2500,", "options = { page_size = 500,", 1))
    out, home = tmp_path / "out", tmp_path / "prefect-home"
    landing = out / "landing" / "sample" / "incidents"
    with open(sample_city_dir / "crime" / "incidents.csv", newline="", encoding="utf-8") as f:
        source_ids = [r["ID"] for r in csv.DictReader(f)]
    pages_total = -(-len(source_ids) // 500)

    started = time.monotonic()
    child = _child(profile, sample_city_dir, out, home, latency=0.25)  # ~0.25 s a page: time to kill it
    try:
        deadline = time.monotonic() + 60
        while len(_completed_pages(landing)) < 2:  # pages landed *and* recorded in the checkpoint
            assert child.poll() is None, f"the pipeline ended before it could be killed:\n{child.stdout.read()}"
            assert time.monotonic() < deadline, "no landing pages after 60 s"
            time.sleep(0.02)
        os.killpg(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    killed = Checkpoint(landing)
    assert not killed.complete and 2 <= len(killed.pages) < pages_total, killed.pages
    done = len(killed.pages)

    rerun = _child(profile, sample_city_dir, out, home, latency=0.0)
    try:
        output, _ = rerun.communicate(timeout=120)
    finally:
        if rerun.poll() is None:
            os.killpg(rerun.pid, signal.SIGKILL)
            rerun.wait()
    assert rerun.returncode == 0, output
    summary = json.loads(next(line for line in output.splitlines() if line.startswith("SUMMARY "))[8:])
    (ingest,) = summary["ingest"]
    assert f"incidents: resuming at page {done + 1} (offset {done * 500})" in output
    assert (ingest["mode"], ingest["start_page"], ingest["start_offset"]) == ("resumed", done + 1, done * 500)
    assert ingest["start_page"] > 1
    assert ingest["fetched"] == len(source_ids) - done * 500 and ingest["records"] == len(source_ids)

    finished = Checkpoint(landing)
    assert finished.complete and [p["page"] for p in finished.pages] == list(range(1, pages_total + 1))
    with contextlib.closing(duckdb.connect(str(out / "civicmash.duckdb"), read_only=True)) as con:
        count, distinct = con.execute("SELECT count(*), count(DISTINCT source_id) FROM incidents "
                                      "WHERE city = 'sample' AND dataset = 'incidents'").fetchone()
        quarantined = con.execute("SELECT count(*) FROM quarantine WHERE city = 'sample' AND dataset = 'incidents'"
                                  ).fetchone()[0]
        raw_ids = _rows(con, "SELECT id FROM raw_sample_incidents")
    assert count == distinct == len(source_ids) and quarantined == 0
    assert [r[0] for r in raw_ids] == sorted(source_ids)
    assert time.monotonic() - started < 90


def test_cli_run_has_an_incremental_flag():
    from civicmash.flows.cli import build_parser

    assert build_parser().parse_args(["run", "sample", "--incremental"]).incremental is True
    assert build_parser().parse_args(["run", "sample"]).incremental is False


def test_replay_and_replay_url_together_are_refused(prefect_harness, tmp_path):
    from civicmash.flows.pipeline import civic_pipeline

    with pytest.raises(ValueError, match="not both"):
        civic_pipeline("sample", out=str(tmp_path), replay=str(tmp_path), replay_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="no dataset"):
        civic_pipeline("sample", out=str(tmp_path), replay_url="http://127.0.0.1:1", datasets=["nope"])
