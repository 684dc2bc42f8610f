"""Fixtures for the warehouse tests (helpers live in tests/warehouse/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.warehouse.helpers import CHICAGO


@pytest.fixture
def con():
    from civicmash.warehouse.db import connect

    c = connect(":memory:")
    yield c
    c.close()


@pytest.fixture
def chicago() -> Path:
    if not (CHICAGO / "PROVENANCE.md").exists():
        pytest.skip(f"real Chicago data not found at {CHICAGO} (needs the shared data bundle)")
    return CHICAGO


