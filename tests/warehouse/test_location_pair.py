"""Which "(lat, lon)" of a location cell is the point (options.location_pair): a cell may hold a geocode embedded
mid-address and the facility's own point last (LA's parks export, "Location 1"). ``first`` (default) keeps
today's reading; ``last`` takes the final pair. Generated CSVs and the real LA parks file (skipped when the
bundle is absent) go through the real file connector and loader into a DuckDB file."""
from __future__ import annotations

import contextlib
import csv
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from civicmash.cities.profile import ProfileError, parse_profile
from civicmash.connectors import files
from civicmash.connectors.landing import write_page
from civicmash.warehouse import db
from civicmash.warehouse.load import load_dataset
from tests.conftest import SHARED_DIR

FETCHED = datetime(2024, 4, 1, tzinfo=timezone.utc)
PARKS = SHARED_DIR / "data" / "los_angeles" / "services" / "rap_facilities_and_parks.csv"
PAIR = re.compile(r"\(\s*([-+]?[0-9]+(?:\.[0-9]+)?)\s*,\s*([-+]?[0-9]+(?:\.[0-9]+)?)\s*\)")
CELLS = ('name,Location 1\n'
         'Cabrillo,"3720 Stephen M. White\nSan Pedro, CA 90731 (33.7327, -118.2922), CA 90731\n(33.711229, -118.283406)"\n'
         'One pair,"100 Main St\n(34.05, -118.25)"\n'
         'No pair,"somewhere"\n')


def _load(tmp_path: Path, source: Path, *, fields: dict, options: dict) -> list[tuple]:
    paths = [write_page(p, directory=tmp_path / "landing") for p in files.iter_pages(source, fmt="csv")]
    with contextlib.closing(db.connect(tmp_path / "wh.duckdb")) as con:
        result = load_dataset(con, city="testcity", dataset="parks", table="services", files=paths, fields=fields,
                              options=options, kind="park", run_id="r1", fetched_at=FETCHED,
                              source_meta={"protocol": "file", "licence": "t"})
        assert result.rows_in == result.rows_loaded + result.rows_quarantined
        return con.execute("SELECT name, lat, lon, location_flag FROM services ORDER BY source_id").fetchall()


@pytest.fixture
def cells(tmp_path) -> Path:
    path = tmp_path / "cells.csv"
    path.write_text(CELLS, encoding="utf-8")
    return path


def test_last_takes_the_final_pair(tmp_path, cells):
    rows = _load(tmp_path, cells, fields={"name": "name", "location": "Location 1"}, options={"location_pair": "last"})
    assert rows == [("Cabrillo", 33.711229, -118.283406, None), ("One pair", 34.05, -118.25, None),
                    ("No pair", None, None, "missing_coordinates")]


def test_first_is_the_default(tmp_path, cells):
    rows = _load(tmp_path, cells, fields={"name": "name", "location": "Location 1"}, options={})
    assert rows[0][1:3] == (33.7327, -118.2922) and rows[1][1:3] == (34.05, -118.25)


def test_the_profile_refuses_another_word():
    raw = {"name": "t", "title": "T", "datasets": {"parks": {
        "protocol": "file", "format": "csv", "table": "services", "url": "https://example.test/p.csv",
        "fields": {"location": "Location 1"}, "options": {"location_pair": "second"}}}}
    with pytest.raises(ProfileError, match="location_pair"):
        parse_profile(raw)


def test_the_la_parks_land_on_their_own_point(tmp_path):
    """Every RAP row's point is its cell's last pair, whose latitude is the published GeoLat (PROVENANCE.md)."""
    if not PARKS.exists():
        pytest.skip(f"real Los Angeles data not found at {PARKS}")
    with open(PARKS, newline="", encoding="utf-8-sig") as fh:
        raw = list(csv.DictReader(fh))
    rows = _load(tmp_path, PARKS, fields={"name": "Location Name", "location": "Location 1"},
                 options={"location_pair": "last"})
    assert len(rows) == len(raw) == 915
    last = [tuple(float(v) for v in PAIR.findall(r["Location 1"])[-1]) for r in raw]
    got = {(name, lat, lon) for name, lat, lon, flag in rows if flag is None}
    assert got == {(r["Location Name"].strip(), lat, lon) for r, (lat, lon) in zip(raw, last) if (lat, lon) != (0, 0)}
    assert all(abs(lat - float(r["GeoLat"])) < 1e-9 for r, (lat, _) in zip(raw, last) if r["GeoLat"])
