"""The profile's ``[areas]`` table: typed and closed, Chicago's behaviour by default, clear errors naming the
table and key; what the flow hands to the warehouse, analysis and maps (flows.context)."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicmash.cities import profile as P
from civicmash.flows.context import map_options

REPO = Path(__file__).parents[2]
SAMPLE = (REPO / "cities" / "sample.toml").read_text(encoding="utf-8")


def _load(tmp_path, extra: str) -> P.CityProfile:
    path = tmp_path / "city.toml"
    path.write_text(SAMPLE + "\n" + extra, encoding="utf-8")
    return P.load_profile(path)


def _error(tmp_path, extra: str) -> str:
    with pytest.raises(P.ProfileError) as err:
        _load(tmp_path, extra)
    assert str(tmp_path / "city.toml") in str(err.value)
    return str(err.value)


def test_defaults_are_chicagos():
    for city in ("chicago", "sample"):
        areas = P.load_profile(city).areas.plain()
        assert areas["primary"] is None
        assert areas["slots"]["beat"] == {"kind": "beat", "label": "Police beat", "plural": "police beats", "pad": 4,
                                          "values": {}}
        assert {s: v["kind"] for s, v in areas["slots"].items()} == {
            "beat": "beat", "district": "district", "ward": "ward", "community_area": "community_area"}
        assert areas["slots"]["community_area"]["plural"] == "community areas"


def test_los_angeles_names_its_divisions_and_makes_them_primary():
    la = P.load_profile("los_angeles")
    slots = la.areas.slots()
    assert la.areas.primary == "district"
    assert (slots["district"]["label"], slots["district"]["plural"]) == ("LAPD division", "LAPD divisions")
    assert slots["beat"]["label"] == "Reporting district" and slots["beat"]["pad"] == 4
    # the 2012 council districts (when loaded) are a kind of their own: no slot is filled from them
    assert all(v["kind"] != "council_district_2012" for v in slots.values())
    assert map_options(la, "explorer")["areas"]["slots"]["district"]["label"] == "LAPD division"
    assert "areas" not in map_options(la, "spending")


def test_a_slot_with_its_own_kind_words_and_codes(tmp_path):
    profile = _load(tmp_path, '[areas]\nprimary = "beat"\n[areas.district]\nkind = "precinct"\n'
                              'label = "Precinct"\nvalues = { "FIRST" = "1", "Cluster 8" = "8" }\n'
                              '[areas.beat]\npad = 0\n')
    slots = profile.areas.slots()
    assert slots["district"] == {"kind": "precinct", "label": "Precinct", "plural": "precincts", "pad": None,
                                 "values": {"FIRST": "1", "Cluster 8": "8"}}
    assert slots["beat"]["pad"] is None            # pad = 0: leading zeros dropped, not padded
    assert profile.areas.slot_of("precinct") == "district" and profile.areas.slot_of("tract") is None


@pytest.mark.parametrize("extra, expected", [
    ('[areas]\nprimery = "beat"\n', "[areas] primery: unknown key; did you mean 'primary'?"),
    ('[areas.ward]\nlabl = "Council district"\n', "[areas.ward] labl: unknown key; did you mean 'label'?"),
    ('[areas.precinct]\nkind = "precinct"\n', "[areas] precinct: unknown key"),
    ('[areas]\nprimary = "wards"\n', "[areas] primary: no boundaries dataset has kind 'wards'"),
    ('[areas.district]\npad = 2\n', "[areas.district] pad: district is stored as an integer"),
    ('[areas.ward]\nvalues = { "FIRST" = "one" }\n', "[areas.ward] values.FIRST: 'one' is not a whole number"),
    ('[areas.district]\nkind = "beat"\n', "[areas.district] kind: 'beat' already fills 'beat'"),
    ('[areas.district]\nkind = "LAPD Division"\n', "must be a lower-case slug"),
    ('[areas.beat]\npad = 40\n', "[areas.beat] pad: Input should be less than or equal to 12"),
])
def test_mistakes_name_the_table_and_key(tmp_path, extra, expected):
    assert expected in _error(tmp_path, extra)
