"""Fixtures for connector tests: the real Chicago bundle (skipped when absent) and replay portals."""
from __future__ import annotations

from pathlib import Path

import pytest

from civicmash.connectors import http
from civicmash.devkit.replay import ReplayPortal, Route
from tests.conftest import CHICAGO_DIR as CHICAGO

CRIMES = "crime/chicago_crimes_2018-05-01_to_2018-11-12.csv"

SMALL_CSV = (
    "\ufeffID,Case Number,Date,Primary Type,Arrest,Ward,Updated On,Latitude,Longitude,Notes\r\n"
    + "".join(
        f"{100 + i},JB{i:04d},05/{1 + i % 28:02d}/2018 {1 + i % 12:02d}:15:00 {'AM' if i % 2 else 'PM'},"
        f"{'THEFT' if i % 3 else 'BATTERY'},{'true' if i % 4 == 0 else 'false'},{i % 50 or ''},"
        f"11/{10 + i % 10:02d}/2018 04:22:02 PM,{41.8 + i / 1000:.6f},{-87.6 - i / 1000:.6f},"
        + ('"line one\r\nline, two"' if i % 7 == 0 else "")
        + "\r\n"
        for i in range(23))
)


def chicago(rel: str = "") -> Path:
    """A path inside the real-data bundle; skips the test when the bundle is not there."""
    path = CHICAGO / rel
    if not path.exists():
        pytest.skip(f"real-data bundle not found: {path} (expected at <repo>/../shared/data/chicago)")
    return path


@pytest.fixture
def fast_session():
    """A session with short backoff so fault-injection tests stay quick."""
    return http.session(retries=8, backoff=0.01, max_backoff=0.05, timeout=10)


@pytest.fixture
def small_root(tmp_path: Path) -> Path:
    (tmp_path / "small.csv").write_bytes(SMALL_CSV.encode("utf-8"))
    return tmp_path


@pytest.fixture
def small_portal(small_root: Path):
    with ReplayPortal(small_root, [Route("socrata", "smal-l001", "small.csv", "csv")]) as portal:
        yield portal


@pytest.fixture(scope="module")
def chicago_portal():
    root = chicago()
    routes = [Route("socrata", "ijzp-q8t2", CRIMES, "csv"),
              Route("socrata", "c7ck-438e", "crime/iucr_codes.csv", "csv"),
              Route("socrata", "cauq-8yn6", "boundaries/community_areas.geojson", "geojson"),
              Route("arcgis", "PoliceBeats", "boundaries/police_beats.geojson", "geojson", max_records=50)]
    with ReplayPortal(root, routes) as portal:
        yield portal
