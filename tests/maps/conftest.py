"""Fixtures of the map and routing tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture()
def warehouse(sample_run, tmp_path) -> Path:
    """A copy of the sample run's warehouse of this test's own (its route store and advice memory go beside it)."""
    from civicmash.analysis import route_store

    path = tmp_path / "civicmash.duckdb"
    shutil.copy(sample_run["warehouse"], path)
    route_store.forget()
    return path
