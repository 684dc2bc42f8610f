"""SODA types per field (``X-SODA2-Types``) and the guessed ``integer_fields`` on the real crime export."""
from __future__ import annotations

import pytest

from civicmash.connectors import socrata
from civicmash.devkit.replay import ReplayPortal, Route
from civicmash.devkit.replay_socrata import _column_type

from .conftest import CRIMES, chicago


def test_column_type_rules():
    assert _column_type(["1", "0925", "-3", "", "41.87"]) == "number"        # ints, padded ints, decimals
    assert _column_type(["0110", "041A"]) == "text"                          # one non-numeral: text
    assert _column_type(["true", "false", ""]) == "checkbox"
    assert _column_type(["2018-05-01T00:00:00.000"]) == "floating_timestamp"
    assert _column_type(["", ""]) == "text"
    assert _column_type(["1e5"]) == "text" and _column_type(["1,000"]) == "text"


def test_integer_fields_guess():
    records = [{"a": "1", "b": "1.5", "c": None, "d": 3, "e": "2"}, {"a": "20", "b": "2", "e": "1E3"}]
    assert socrata.integer_fields(records, ["a", "b", "c", "d", "e"]) == ["a", "d"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_real_crime_types(chicago_portal, fmt):
    chicago(CRIMES)
    pages = socrata.iter_pages(chicago_portal.base_url, "ijzp-q8t2", fmt=fmt, page_size=2000, select=":*,*")
    page = next(pages)
    types = page.meta["types"]
    for field in ("id", "beat", "district", "ward", "community_area", "x_coordinate", "y_coordinate",
                  "latitude", "longitude"):
        assert types[field] == "number", field
    assert types["arrest"] == types["domestic"] == "checkbox"
    assert types["date"] == types["updated_on"] == "floating_timestamp"
    for field in ("case_number", "block", "iucr", "primary_type", "description", "location_description",
                  "fbi_code"):
        assert types[field] == "text", field       # iucr has 041A etc., fbi_code 08B: never number
    assert types[":id"] == types[":updated_at"] == "meta_data"
    ints = set(page.meta["integer_fields"])
    assert {"id", "beat", "district", "ward", "community_area", "x_coordinate", "y_coordinate"} <= ints
    assert "latitude" not in ints and "longitude" not in ints
    assert any("." in r["latitude"] for r in page.records if r.get("latitude"))
    assert set(ints) <= {f for f, t in types.items() if t == "number"}
    assert page.records[0]["beat"].startswith("0") or len(page.records[0]["beat"]) == 4   # values keep their text


def test_types_cover_every_value_not_a_sample(tmp_path):
    # 9,999 numerals and one code far from any sample point: the column is text
    values = [str(i) for i in range(10000)]
    values[7777] = "041A"
    (tmp_path / "t.csv").write_text("Code\n" + "\n".join(values) + "\n")
    with ReplayPortal(tmp_path, [Route("socrata", "tttt-0003", "t.csv")]) as portal:
        page = next(socrata.iter_pages(portal.base_url, "tttt-0003", page_size=10))
    assert page.meta["types"] == {"code": "text"} and page.meta["integer_fields"] == []
