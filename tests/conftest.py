"""The one fixtures module: network guard, real-data location, Prefect harness, sample city, pipeline runs.

Network other than loopback is blocked for the whole test session: a test that tries to reach the
internet fails loudly instead of passing by luck on a connected machine.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path

import pytest

# Prefect state lives in a throwaway home and never phones home. Set before anything imports prefect.
_PREFECT_HOME = tempfile.mkdtemp(prefix="civicmash-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
CHICAGO_DIR = SHARED_DIR / "data" / "chicago"
CHICAGO_CRIMES = CHICAGO_DIR / "crime" / "chicago_crimes_2018-05-01_to_2018-11-12.csv"
CHICAGO_CRIME_ROWS = 151_176


# --- network guard ---------------------------------------------------------------------------------

class NetworkBlocked(RuntimeError):
    pass


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: would need DNS, which is the internet


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self, address):
    if not _is_loopback(address):
        raise NetworkBlocked(f"tests may only use loopback; blocked connection to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_loopback(address):
        raise NetworkBlocked(f"tests may only use loopback; blocked connection to {address!r}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


# --- real data ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chicago_dir() -> Path:
    """``../shared/data/chicago``: the real Chicago bundle (never copied into the repo)."""
    if not CHICAGO_CRIMES.exists():
        pytest.skip(f"real Chicago data not found at {CHICAGO_DIR} (clone the project beside ../shared)")
    return CHICAGO_DIR


# --- Prefect ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the session, heartbeats off (they add ~1 s per flow)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


# --- sample city and pipeline runs -----------------------------------------------------------------

@pytest.fixture(scope="session")
def sample_city_dir(tmp_path_factory) -> Path:
    """The generated synthetic city, in the portals' wire formats."""
    from civicmash.devkit.sample_city import generate

    return generate(tmp_path_factory.mktemp("sample_city"), seed=2008)


@pytest.fixture(scope="session")
def sample_run(prefect_harness, sample_city_dir, tmp_path_factory) -> dict:
    """The full Prefect pipeline on the sample city, over HTTP to the replay portal. Returns the summary."""
    from civicmash.flows.pipeline import civic_pipeline

    out = tmp_path_factory.mktemp("sample_out")
    return civic_pipeline("sample", out=str(out), replay=str(sample_city_dir))


@pytest.fixture(scope="session")
def chicago_run(prefect_harness, chicago_dir, tmp_path_factory) -> dict:
    """The full Prefect pipeline on the real Chicago bundle through the replay portal (slow: ~1 min)."""
    from civicmash.flows.pipeline import civic_pipeline

    out = tmp_path_factory.mktemp("chicago_out")
    return civic_pipeline("chicago", out=str(out), replay=str(chicago_dir))


# --- Los Angeles: one real run for the session ------------------------------------------------------

LA_DIR = SHARED_DIR / "data" / "los_angeles"
LA_CRIMES = LA_DIR / "crime" / "lapd_crimes_2024-02-01_to_2024-03-31.csv"


@pytest.fixture(scope="session")
def la_dir() -> Path:
    """``../shared/data/los_angeles``: the real Los Angeles bundle (never copied into the repo)."""
    if not LA_CRIMES.exists():
        pytest.skip(f"real Los Angeles data not found at {LA_DIR} (clone the project beside ../shared)")
    return LA_DIR


def run_pipeline(city: str, **kwargs) -> dict:
    """The pipeline's summary; a run that fails its health check still returns it (on the error), so what a
    test checks (reconciliation, pages) is tested whatever the verdict, and the verdict has tests of its own."""
    from civicmash.flows.health import RunHealthError
    from civicmash.flows.pipeline import civic_pipeline

    try:
        return civic_pipeline(city, **kwargs)
    except RunHealthError as exc:
        return exc.summary


@pytest.fixture(scope="session")
def la_run(prefect_harness, la_dir, tmp_path_factory) -> dict:
    """The full Prefect pipeline on the real Los Angeles bundle through the replay portal, all four maps, once
    per session (a few minutes): the summary plus ``out``, the output directory (``--out`` of the CLI)."""
    out = tmp_path_factory.mktemp("los_angeles_out")
    return {**run_pipeline("los_angeles", out=str(out), replay=str(la_dir)), "out": out}


# --- parallel runs (pytest-xdist, `make test`: -n 2 --dist loadgroup) -------------------------------------------

# The session's costly city runs: every test that needs one goes to the same worker, so each city is run once.
_RUN_GROUPS = {"chicago_run": "chicago", "la_run": "los_angeles", "sample_run": "sample"}


# tryfirst: xdist's own hook (remote.py) turns the marks into `nodeid@group` when it runs, so the marks must be
# there before it; without this every city's run was built once per worker.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = next((g for name, g in _RUN_GROUPS.items() if name in getattr(item, "fixturenames", ())), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


# --- where the suite's time goes ---------------------------------------------------------------------------------

_TIMES_ENV = "CIVICMASH_TEST_TIMES"  # a file: one JSON line per test phase (worker, test, phase, start, stop)


def pytest_runtest_logreport(report):
    """With ``CIVICMASH_TEST_TIMES=FILE``, record each phase's wall-clock span on its xdist worker, so a run's
    timeline per worker (which group waited for which, what ran twice) can be read afterwards (docs/testing.md)."""
    path = os.environ.get(_TIMES_ENV)
    if not path or hasattr(report, "node"):
        return  # the xdist controller (its reports carry the worker node) sees them again: the workers write theirs
    import json

    line = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": report.nodeid, "phase": report.when,
            "start": round(report.start, 3), "stop": round(report.stop, 3), "outcome": report.outcome}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
