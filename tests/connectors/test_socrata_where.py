"""Profile-level filters pass through to SODA: ``$where`` with ``within_circle`` and plain conditions.

On the real crimes: the rows within 500 m of State & Madison (SoQL ``within_circle``, great-circle
metres) are exactly those a haversine over the CSV's own Latitude/Longitude picks, through the connector
and through a profile's ``options.where``.
"""
from __future__ import annotations

import csv
import math

import pytest

from civicmash.cities.profile import load_profile
from civicmash.connectors import socrata
from civicmash.flows.sources import iter_dataset_pages

from .conftest import CRIMES, chicago

STATE_MADISON = (41.8819, -87.6278)
CIRCLE = f"within_circle(location, {STATE_MADISON[0]}, {STATE_MADISON[1]}, 500)"


def _metres(lat, lon, lat0, lon0) -> float:
    p, q = math.radians(lat), math.radians(lat0)
    h = math.sin((p - q) / 2) ** 2 + math.cos(p) * math.cos(q) * math.sin(math.radians(lon - lon0) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    """ID -> Primary Type of the crimes within 500 m of State & Madison (computed from the CSV)."""
    out = {}
    with open(chicago(CRIMES), encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Latitude"] and _metres(float(row["Latitude"]), float(row["Longitude"]), *STATE_MADISON) <= 500:
                out[row["ID"]] = row["Primary Type"]
    return out


def _ids(pages) -> list[str]:
    return [r["id"] for p in pages for r in p.to_records()]


def test_within_circle(chicago_portal, expected):
    ids = _ids(socrata.iter_pages(chicago_portal.base_url, "ijzp-q8t2", where=CIRCLE, page_size=2000))
    assert len(ids) == len(set(ids)) == len(expected) > 1000
    assert set(ids) == set(expected)


def test_within_circle_and_a_condition_in_a_profile(chicago_portal, expected):
    spec = load_profile("chicago").datasets["crimes"].model_copy(deep=True)
    spec.options["where"] = f"{CIRCLE} AND primary_type = 'THEFT'"
    ids = _ids(iter_dataset_pages("crimes", spec, replay_base=chicago_portal.base_url))
    assert sorted(ids) == sorted(i for i, t in expected.items() if t == "THEFT")


def test_bad_where_is_a_clear_error(chicago_portal):
    from civicmash.connectors.http import FetchError

    with pytest.raises(FetchError, match="within_circle"):
        list(socrata.iter_pages(chicago_portal.base_url, "ijzp-q8t2", where="within_box(location, 1, 2, 3, 4)"))


def test_within_circle_needs_the_point_column(chicago_portal):
    from civicmash.connectors.http import FetchError

    with pytest.raises(FetchError, match="within_circle needs a point column \\(location\\); block is not one"):
        list(socrata.iter_pages(chicago_portal.base_url, "ijzp-q8t2", where="within_circle(block, 41.88, -87.63, 500)"))
    with pytest.raises(FetchError, match="No such column: nowhere"):
        list(socrata.iter_pages(chicago_portal.base_url, "ijzp-q8t2", where="within_circle(nowhere, 41.88, -87.63, 500)"))
