"""`civicmash run chicago --replay ../shared/data/chicago`: the real crimes through the whole pipeline."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import duckdb
import pytest

from tests.conftest import CHICAGO_CRIME_ROWS, CHICAGO_CRIMES

pytestmark = pytest.mark.slow


def test_every_real_crime_row_is_accounted_for(chicago_run):
    crimes = next(r for r in chicago_run["datasets"] if r["dataset"] == "crimes")
    assert crimes["rows_in"] == CHICAGO_CRIME_ROWS
    assert crimes["rows_loaded"] + crimes["rows_quarantined"] == CHICAGO_CRIME_ROWS
    assert crimes["rows_quarantined"] == 0, "the real crimes file has no unloadable row"


def test_rows_without_coordinates_are_counted_not_lost(chicago_run):
    with open(CHICAGO_CRIMES, newline="", encoding="utf-8") as f:
        no_coords = sum(1 for row in csv.DictReader(f) if not row["Latitude"])
    assert no_coords == 923  # PROVENANCE.md
    with contextlib.closing(duckdb.connect(chicago_run["warehouse"], read_only=True)) as con:
        in_db = con.execute("SELECT count(*) FROM incidents WHERE city='chicago' AND dataset='crimes' "
                            "AND lat IS NULL").fetchone()[0]
    assert in_db == no_coords
    assert chicago_run["incidents_without_coordinates"]["crimes"] == no_coords


def test_every_dataset_reconciles(chicago_run):
    for r in chicago_run["datasets"]:
        assert r["rows_in"] == r["rows_loaded"] + r["rows_quarantined"], r


def test_five_maps_are_written(chicago_run):
    # the providers page compares the library branches on their outcomes (issue 16)
    assert set(chicago_run["maps"]) == {"explorer", "safe_route", "locator", "spending", "providers"}
    for path in chicago_run["maps"].values():
        assert Path(path).stat().st_size > 10_000
        assert 'id="synthetic-banner"' not in Path(path).read_text(encoding="utf-8")   # (words: in the catalogue)


def test_each_map_credits_the_datasets_it_draws(chicago_run):
    html = {kind: Path(path).read_text(encoding="utf-8") for kind, path in chicago_run["maps"].items()}
    assert "ijzp-q8t2" in html["explorer"]           # the crimes it shows
    assert "budget_2019" not in html["explorer"]     # not the budget it does not show
    assert "budget_2019" in html["spending"]


def test_each_real_dataset_is_in_the_warehouse_once(chicago_run):
    """No format fixture rides along (they live in tests/profiles/chicago_formats.toml): every incident is a
    current one of the real crimes, the 77 community areas are there once, and joining incidents to their
    community area counts each incident once."""
    with contextlib.closing(duckdb.connect(chicago_run["warehouse"], read_only=True)) as con:
        one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
        assert one("SELECT count(*) FROM incidents WHERE city = 'chicago'")[0] == CHICAGO_CRIME_ROWS
        assert one("SELECT count(*) FROM incidents_current WHERE city = 'chicago'")[0] == CHICAGO_CRIME_ROWS
        assert one("SELECT count(*), count(DISTINCT code) FROM boundaries "
                   "WHERE city = 'chicago' AND kind = 'community_area'") == (77, 77)
        with_area = one("SELECT count(*) FROM incidents WHERE city = 'chicago' AND community_area IS NOT NULL")[0]
        joined = one("SELECT count(*) FROM incidents i JOIN boundaries b ON b.city = i.city "
                     "AND b.kind = 'community_area' AND b.code = i.community_area WHERE i.city = 'chicago'")[0]
        assert joined == with_area > 0.99 * CHICAGO_CRIME_ROWS
