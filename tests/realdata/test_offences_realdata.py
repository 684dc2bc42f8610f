"""The offence crosswalks of the real cities: the session's pipeline runs over the real Chicago and Los Angeles bundles
(through the loopback replay portal, into temporary warehouses); every source type has a canonical
category (nothing in offence_unmapped), the categories add up to the incidents loaded, and the count per category
equals the raw CSV's types (read with the csv module) put through the profile's crosswalk."""

from __future__ import annotations

import contextlib
import csv
from collections import Counter
from pathlib import Path

import pytest

from civicmash.cities.profile import load_profile
from civicmash.warehouse import db
from civicmash.warehouse.offences import match_value
from tests.conftest import CHICAGO_CRIME_ROWS, CHICAGO_CRIMES, SHARED_DIR

pytestmark = pytest.mark.slow

LA_CRIMES = SHARED_DIR / "data" / "los_angeles" / "crime" / "lapd_crimes_2024-02-01_to_2024-03-31.csv"
CHICAGO_2024 = CHICAGO_CRIMES.parent / "crimes_2024_sample_fullschema.csv"
CITIES = {  # city -> (crimes file, its type column, rows, distinct types)
    "chicago": (CHICAGO_CRIMES, "Primary Type", CHICAGO_CRIME_ROWS, 32),
    "los_angeles": (LA_CRIMES, "Crm Cd Desc", 30_371, 113),
}


def _raw_types(path: Path, column: str) -> Counter:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return Counter(row[column] for row in csv.DictReader(fh))


def test_every_chicago_type_has_a_category_and_the_counts_add_up(chicago_run):
    _check_categories("chicago", chicago_run)


def test_every_los_angeles_type_has_a_category_and_the_counts_add_up(la_run):
    _check_categories("los_angeles", la_run)


def _check_categories(city: str, summary: dict) -> None:
    """``summary``: the session's full run of the city (tests/conftest.py); crimes are its only incidents dataset."""
    path, column, rows, distinct = CITIES[city]
    raw = _raw_types(path, column)
    assert sum(raw.values()) == rows and len(raw) == distinct
    assert summary["offences"]["rows"] == rows
    assert (summary["offences"]["unmapped_rows"], summary["offences"]["unmapped_values"]) == (0, 0)
    crosswalk = load_profile(city).offences.as_dict()
    expected = Counter()
    for value, n in raw.items():
        expected[match_value(value.strip(), crosswalk)] += n
    assert None not in expected
    with contextlib.closing(db.connect(summary["warehouse"], read_only=True)) as con:
        assert con.execute("SELECT count(*) FROM offence_unmapped WHERE city = ?", [city]).fetchone()[0] == 0
        stored = dict(con.execute("SELECT offence, count(*) FROM incidents WHERE city = ? GROUP BY 1",
                                  [city]).fetchall())
        by_view = dict(con.execute("SELECT offence, sum(incidents) FROM incidents_by_offence WHERE city = ? "
                                   "GROUP BY 1", [city]).fetchall())
        against = con.execute("SELECT count(*) FROM incidents WHERE city = ? AND crime_against IS NULL",
                              [city]).fetchone()[0]
    assert stored == dict(expected) == by_view == summary["offences"]["by_offence"]
    assert sum(stored.values()) == rows and against == 0


def test_chicago_2024_types_are_mapped_too():
    if not CHICAGO_2024.exists():
        pytest.skip(f"real Chicago data not found at {CHICAGO_2024}")
    crosswalk = load_profile("chicago").offences.as_dict()
    types = _raw_types(CHICAGO_2024, "Primary Type")
    assert {t for t in types if match_value(t, crosswalk) is None} == set()
    assert match_value("CRIMINAL SEXUAL ASSAULT", crosswalk) == "sexual_assault"
