"""Alerts: a failed run (a 100 %-quarantined dataset) and a degraded one (the portal's count far from the rows
fetched) POST a JSON alert to the webhook whose URL the profile's ``[alerts] webhook_url_env`` names; an ok run
sends none; the URL (a secret) is never written to the warehouse or the pages.

Real runs of the Prefect flow on the tiny sample city over HTTP to the loopback replay portal, and a real
loopback webhook receiver (``http.server``)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import pytest

from civicmash.cities.profile import AlertsSpec
from civicmash.devkit.city_portal import start_replay
from civicmash.flows.alerts import AlertError, alert_body, send_alert
from civicmash.flows.health import RunHealthError
from civicmash.flows.pipeline import civic_pipeline

from .health_city import ROWS, tiny_city, webhook_receiver, write_crimes
from .sample_variants import profile_of, variant

ENV = "CIVICMASH_TEST_WEBHOOK"
SKEW = 12      # the replay portal reports 12 rows more than it serves: 2 % apart, over the 1 % default


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory) -> Path:
    directory = tiny_city(tmp_path_factory.mktemp("alert_city"))

    def all_bad(rows):
        for row in rows:
            row["Date"] = "sometime in May"
        return rows
    write_crimes(directory, "all_bad.csv", all_bad)
    return directory


def _profile(name: str, **changes):
    return profile_of(variant(name=name, keep=["incidents"], changes={"incidents": changes} if changes else None,
                              alerts={"webhook_url_env": ENV, "retries": 1}))


def _secret_nowhere(warehouse: str, out: Path, url: str) -> None:
    with contextlib.closing(duckdb.connect(warehouse, read_only=True)) as con:
        for table in ("dataset_health", "ingest_runs", "datasets"):
            text = str(con.execute(f"SELECT * FROM {table}").fetchall())
            assert url not in text and "secret-token" not in text, table
    for page in out.rglob("*.html"):
        assert "secret-token" not in page.read_text(encoding="utf-8"), page


def test_a_failed_run_alerts_with_the_dataset_and_reason(prefect_harness, city_dir, tmp_path, monkeypatch):
    profile = _profile("alert_failed", replay="crime/all_bad.csv")
    with webhook_receiver() as (url, bodies):
        monkeypatch.setenv(ENV, url)
        with pytest.raises(RunHealthError) as raised:
            civic_pipeline(profile.name, out=str(tmp_path), replay=str(city_dir), profile=profile, maps=[])
    assert len(bodies) == 1, bodies
    body = bodies[0]
    summary = raised.value.summary
    assert body["city"] == "alert_failed" and body["run_id"] == summary["run_id"] and body["status"] == "failed"
    (crimes,) = body["datasets"]
    assert crimes["dataset"] == "incidents" and crimes["status"] == "failed"
    assert f"{ROWS} of {ROWS} rows quarantined (100.0%" in crimes["reason"]
    assert "incidents" in body["message"] and summary["dataset_health"]["alerted"] is True
    _secret_nowhere(summary["warehouse"], tmp_path, url)


def test_a_count_mismatch_degrades_the_run_and_alerts(prefect_harness, city_dir, tmp_path, monkeypatch):
    profile = _profile("alert_gap")
    portal = start_replay(profile, city_dir, count_skew={profile.datasets["incidents"].dataset_id: SKEW})
    try:
        with webhook_receiver() as (url, bodies):
            monkeypatch.setenv(ENV, url)
            summary = civic_pipeline(profile.name, out=str(tmp_path), replay_url=portal.base_url, profile=profile,
                                     maps=[])
    finally:
        portal.stop()
    assert summary["status"] == "completed"          # the data loaded; the run is degraded, not failed
    assert summary["dataset_health"]["status"] == "degraded"
    assert len(bodies) == 1 and bodies[0]["status"] == "degraded"
    (crimes,) = bodies[0]["datasets"]
    assert crimes["status"] == "degraded"
    assert crimes["reason"] == (f"portal count {ROWS + SKEW:,} vs {ROWS:,} rows fetched "
                                f"({SKEW / (ROWS + SKEW):.1%} apart, limit 1.0%)")
    with contextlib.closing(duckdb.connect(summary["warehouse"], read_only=True)) as con:
        row = con.execute("SELECT portal_count, rows_fetched, count_mismatch, status FROM dataset_health "
                          "WHERE run_id = ?", [summary["run_id"]]).fetchone()
    assert row == (ROWS + SKEW, ROWS, True, "degraded")
    _secret_nowhere(summary["warehouse"], tmp_path, url)


def test_a_small_gap_within_max_count_gap_is_flagged_but_ok(prefect_harness, city_dir, tmp_path, monkeypatch):
    raw = variant(name="alert_small_gap", keep=["incidents"], alerts={"webhook_url_env": ENV},
                  health={"max_count_gap": 0.05})
    profile = profile_of(raw)
    portal = start_replay(profile, city_dir, count_skew={profile.datasets["incidents"].dataset_id: SKEW})
    try:
        with webhook_receiver() as (url, bodies):
            monkeypatch.setenv(ENV, url)
            summary = civic_pipeline(profile.name, out=str(tmp_path), replay_url=portal.base_url, profile=profile,
                                     maps=[])
    finally:
        portal.stop()
    assert bodies == [] and summary["dataset_health"]["status"] == "ok"
    (crimes,) = summary["dataset_health"]["datasets"]
    assert crimes["count_mismatch"] is True and crimes["status"] == "ok"


def test_send_alert_retries_then_fails_without_saying_the_url(monkeypatch):
    body = alert_body(city="c", run_id="r", status="failed", datasets=[{"dataset": "d", "status": "failed",
                                                                         "reason": "boom"}])
    with webhook_receiver(status=500) as (url, bodies):
        with pytest.raises(AlertError) as raised:
            send_alert(AlertsSpec(webhook_url_env=ENV, retries=2), body, environ={ENV: url}, sleep=lambda s: None)
    assert len(bodies) == 3 and bodies[0]["datasets"] == [{"dataset": "d", "status": "failed", "reason": "boom"}]
    assert "secret-token" not in str(raised.value) and f"${ENV}" in str(raised.value)
    # no variable named, or named but unset: nothing sent, nothing raised
    assert send_alert(AlertsSpec(), body) is False
    assert send_alert(AlertsSpec(webhook_url_env=ENV), body, environ={}) is False


def test_a_fetch_that_raises_is_recorded_failed_and_alerted(prefect_harness, city_dir, tmp_path, monkeypatch):
    """The portal does not have the dataset (HTTP 404): the run fails as before, and first records the dataset
    as failed in dataset_health and alerts, naming the error."""
    from civicmash.devkit.replay import ReplayPortal

    profile = _profile("alert_raised")
    with ReplayPortal(city_dir, []) as empty_portal, webhook_receiver() as (url, bodies):
        monkeypatch.setenv(ENV, url)
        with pytest.raises(Exception, match="smpl-crm1|404"):
            civic_pipeline(profile.name, out=str(tmp_path), replay_url=empty_portal.base_url, profile=profile,
                           maps=[])
    assert len(bodies) == 1 and bodies[0]["status"] == "failed" and "incidents" in bodies[0]["error"]
    assert bodies[0]["datasets"][0]["dataset"] == "incidents" and bodies[0]["datasets"][0]["status"] == "failed"
    with contextlib.closing(duckdb.connect(str(tmp_path / "civicmash.duckdb"), read_only=True)) as con:
        status, reason, last = con.execute("SELECT status, reason, last_success_at FROM dataset_health "
                                           "WHERE city = 'alert_raised'").fetchone()
    assert status == "failed" and "FetchError" in reason and last is None
