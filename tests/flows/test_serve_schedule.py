"""Schedules proven on a real Prefect server, not on the deployment object.

A dedicated ``prefect server start`` runs as a subprocess (its own temporary ``PREFECT_HOME``, a free
loopback port, analytics off) and ``civicmash serve`` serves a small city's deployment against it through
``PREFECT_API_URL``, exactly as docs/operations.md tells a user to. Through the API client the test then
checks what the issue found broken: that the server's scheduler (which failed every loop under
SQLAlchemy 2.1) creates the future runs, at the profile's cron **in the profile's time zone** (the
deployment used to register timezone None, i.e. UTC). Finally it starts one run through the API and waits
for the serving process to run it to completion and leave its artifact. An API-started run takes the same
path as a cron-created one (a Scheduled run the serving process picks up), so the daily cron itself is
chosen never to fire during the test.

The test city is the synthetic sample city (``civicmash.devkit.sample_city``, tiny size) under a profile
copied from ``cities/sample.toml`` with its own name and cron. Every wait is bounded; both subprocesses
(and their children) are killed in a ``finally``.

Without a dedicated server (no ``PREFECT_API_URL``, or nobody answering there) ``serve`` refuses in one
line: Prefect's temporary server does not run the scheduler, so serving on it would never fire.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from civicmash.cities.profile import load_profile
from civicmash.flows.pipeline import artifact_key

REPO_ROOT = Path(__file__).resolve().parents[2]
CITY = "servetown"
TIMEZONE = "America/Chicago"


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _daily_hour(*, timezone: str) -> int:
    """06:00 local like the real profiles, or 18:00 when the test runs close to 06:00 there, so the cron
    never fires (and runs beside the API-started run) while the test is running."""
    return 18 if 5 <= datetime.now(ZoneInfo(timezone)).hour <= 6 else 6


def _write_test_profile(directory: Path, *, cron: str) -> Path:
    """``cities/sample.toml`` under another name and cron (time zone unchanged: America/Chicago)."""
    text = (REPO_ROOT / "cities" / "sample.toml").read_text(encoding="utf-8")
    for old, new in (('name = "sample"\n', f'name = "{CITY}"\n'),
                     ('schedule = "0 6 * * *"\n', f'schedule = "{cron}"\n')):
        assert text.count(old) == 1, f"cities/sample.toml no longer has exactly one line {old.strip()!r}"
        text = text.replace(old, new)
    path = directory / f"{CITY}.toml"
    path.write_text(text, encoding="utf-8")
    profile = load_profile(path)
    assert (profile.name, profile.schedule, profile.timezone) == (CITY, cron, TIMEZONE)
    return path


def _environment(*, prefect_home: Path, api_url: str | None) -> dict[str, str]:
    """The subprocesses' environment: a throwaway Prefect home, our server, no analytics, no UI, and a
    proxy that goes nowhere for anything but loopback (so a stray internet call fails instead of
    passing by luck on a connected machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",       # how often `serve` looks for runs due (default 10 s)
        "PYTHONUNBUFFERED": "1",                    # what `serve` prints reaches its log at once
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    for name in ("http_proxy", "https_proxy", "no_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(name, None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _start(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A subprocess in its own session (so it and every child can be killed together), output to ``log``."""
    with open(log, "wb") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _stop(process: subprocess.Popen | None) -> None:
    """SIGTERM to the process group we started, SIGKILL after 15 s."""
    if process is None or process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else "(no output)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_for(what: str, check, *, seconds: float, logs: list[Path], every: float = 1.0):
    """Poll ``check()`` until it returns something truthy; fail after ``seconds`` with the logs' tails."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}\n"
                        + "\n".join(f"--- {log.name} ---\n{_tail(log)}" for log in logs))
        time.sleep(every)


def _server_healthy(api_url: str, server: subprocess.Popen, log: Path) -> bool:
    if server.poll() is not None:
        pytest.fail(f"prefect server exited with {server.returncode}\n{_tail(log)}")
    try:
        return requests.get(f"{api_url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_schedule_in_an_unknown_time_zone_is_an_error_naming_the_city(tmp_path):
    from civicmash.flows.deployments import build_deployments

    profile_path = _write_test_profile(tmp_path, cron="0 6 * * *")
    profile_path.write_text(profile_path.read_text(encoding="utf-8").replace(
        f'timezone = "{TIMEZONE}"', 'timezone = "America/Springfield"'), encoding="utf-8")
    with pytest.raises(ValueError, match=f"city '{CITY}': timezone 'America/Springfield' is not an IANA time zone"):
        build_deployments(profile_files=[str(profile_path)])


@pytest.mark.parametrize("api_url, error", [
    (None, "civicmash serve needs a running Prefect server: start one with `prefect server start`"),
    ("http://127.0.0.1:{port}/api", "no Prefect server answers at PREFECT_API_URL=http://127.0.0.1:{port}/api"),
], ids=["no PREFECT_API_URL", "nobody answering there"])
def test_serve_refuses_without_a_dedicated_server(tmp_path, api_url, error):
    """No PREFECT_API_URL would mean Prefect's temporary server, whose scheduler does not run: refused in
    one line instead of serving a schedule that never fires. A URL nobody answers at is named."""
    port = _free_loopback_port()
    env = _environment(prefect_home=tmp_path / "prefect-home", api_url=api_url and api_url.format(port=port))
    result = subprocess.run([str(Path(sys.executable).with_name("civicmash")), "serve", "sample", "--out",
                             str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["deployment sample-scheduled: city=sample cron '0 6 * * *' in America/Chicago"]
    assert result.stderr.startswith("civicmash: error: " + error.format(port=port)), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.slow
def test_served_deployment_is_scheduled_in_the_profiles_time_zone_and_runs(tmp_path):
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import (ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey,
                                                DeploymentFilter, DeploymentFilterId, FlowRunFilter,
                                                FlowRunFilterState, FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound

    from civicmash.devkit.sample_city import generate

    hour = _daily_hour(timezone=TIMEZONE)
    profile_path = _write_test_profile(tmp_path, cron=f"0 {hour} * * *")
    city_dir = generate(tmp_path / "city", seed=2008, size="tiny")
    out = tmp_path / "out"
    port = _free_loopback_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = _environment(prefect_home=tmp_path / "prefect-home", api_url=api_url)
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    logs = [server_log, serve_log]
    server = serving = None
    try:
        server = _start([str(Path(sys.executable).with_name("prefect")), "server", "start",
                         "--host", "127.0.0.1", "--port", str(port)], env=env, log=server_log)
        _wait_for("the Prefect server to answer /health", lambda: _server_healthy(api_url, server, server_log),
                  seconds=90, logs=logs, every=0.5)

        serving = _start([str(Path(sys.executable).with_name("civicmash")), "serve", "--profile", str(profile_path),
                          "--replay", str(city_dir), "--out", str(out)], env=env, log=serve_log)
        with SyncPrefectClient(api_url) as client:
            def deployment():
                if serving.poll() is not None:
                    pytest.fail(f"civicmash serve exited with {serving.returncode}\n{_tail(serve_log)}")
                try:
                    return client.read_deployment_by_name(f"civic_pipeline/{CITY}-scheduled")
                except ObjectNotFound:   # until serve has registered it
                    return None

            served = _wait_for("civicmash serve to register the deployment", deployment, seconds=60, logs=logs)
            [schedule] = client.read_deployment_schedules(served.id)
            assert (schedule.schedule.cron, schedule.schedule.timezone) == (f"0 {hour} * * *", TIMEZONE)

            by_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[served.id]))
            scheduled_only = FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))

            def future_runs():
                runs = client.read_flow_runs(deployment_filter=by_deployment, flow_run_filter=scheduled_only)
                return runs if len(runs) >= 3 else None

            # The server's scheduler creates them (the "recent deployments" loop runs every 5 s).
            runs = _wait_for("the server's scheduler to create 3 scheduled runs", future_runs, seconds=60, logs=logs)
            tz = ZoneInfo(TIMEZONE)
            local_starts = sorted(run.expected_start_time.astimezone(tz) for run in runs)
            now = datetime.now(tz)
            assert all(run.auto_scheduled for run in runs)
            assert [(t.hour, t.minute) for t in local_starts] == [(hour, 0)] * len(local_starts), (
                f"runs must start at {hour:02d}:00 {TIMEZONE}, got {[t.isoformat() for t in local_starts]}")
            assert now < local_starts[0] <= now + timedelta(days=1)
            assert [b.date() - a.date() for a, b in zip(local_starts, local_starts[1:])] == (
                [timedelta(days=1)] * (len(local_starts) - 1))
            printed = serve_log.read_text(encoding="utf-8", errors="replace")
            assert f"deployment {CITY}-scheduled: city={CITY} cron '0 {hour} * * *' in {TIMEZONE}" in printed
            assert f"serving on the Prefect server at {api_url}" in printed

            started = client.create_flow_run_from_deployment(served.id)

            def finished():
                run = client.read_flow_run(started.id)
                return run if run.state and run.state.is_final() else None

            run = _wait_for("the API-started run to finish", finished, seconds=150, logs=logs, every=2.0)
            assert run.state.type == StateType.COMPLETED, f"{run.state}\n{_tail(serve_log)}"
            artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]), key=ArtifactFilterKey(any_=[artifact_key(CITY)])))
            assert len(artifacts) == 1
            assert "Synthetic sample data" in artifacts[0].data
            assert (out / "civicmash.duckdb").exists()
    finally:
        _stop(serving)
        _stop(server)
