"""``[offences]`` in a profile: checked at load (the key named, "did you mean", conflicting values and patterns
naming both categories), and the defaults it gives the safe route's weights and the explorer's type groups when
the profile has no ``[risk.categories]``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from civicmash.analysis.risk import type_weight
from civicmash.cities import profile as P
from civicmash.maps.explorer import _type_groups

REPO = Path(__file__).parents[2]
SAMPLE = (REPO / "cities" / "sample.toml").read_text(encoding="utf-8")


def _sample(offences: dict | None, *, categories: bool = False) -> dict:
    """cities/sample.toml parsed, with ``offences`` as its [offences] table and without [risk.categories]."""
    raw = tomllib.loads(SAMPLE)
    raw.pop("offences", None)
    if not categories:
        raw.get("risk", {}).pop("categories", None)
    if offences is not None:
        raw["offences"] = offences
    return raw


def _error(offences: dict) -> str:
    with pytest.raises(P.ProfileError) as err:
        P.parse_profile(_sample(offences), source="city.toml")
    return str(err.value)


def test_shipped_profiles_have_a_crosswalk():
    for city in ("chicago", "los_angeles", "sample"):
        p = P.load_profile(city)
        assert p.offences is not None and p.offences.field == "primary_type"
        assert p.offences.crosswalk["theft"], city
    la = P.load_profile("los_angeles").offences.crosswalk
    assert "BURGLARY FROM VEHICLE" in la["theft"] and "VEHICLE - STOLEN" in la["motor_vehicle_theft"]
    chicago = P.load_profile("chicago").offences.crosswalk
    assert "SEX OFFENSE" in chicago["other"] and "SEX OFFENSE" not in chicago["sexual_assault"]


@pytest.mark.parametrize("offences, expected", [
    ({"crosswalk": {"assualt": ["BATTERY"]}},
     ["city.toml: [offences] crosswalk:", "'assualt' is not a canonical offence category", "did you mean 'assault'?"]),
    ({"crosswalk": {"theft": ["THEFT"], "burglary": ["theft"]}},
     ["[offences] crosswalk:", "'theft' is listed under both theft and burglary"]),
    ({"crosswalk": {"burglary": ["BURGLARY*"], "theft": ["BURG*VEHICLE"]}},
     ["[offences] crosswalk:", "'BURGLARY*' (burglary)", "'BURG*VEHICLE' (theft)", "both match values such as"]),
    ({"field": "primary_typ", "crosswalk": {}}, ["[offences] field:", "did you mean 'primary_type'?"]),
    ({"crosswalks": {}}, ["[offences] crosswalks: unknown key; did you mean 'crosswalk'?"]),
])
def test_mistakes_name_the_key(offences, expected):
    message = _error(offences)
    assert all(e in message for e in expected), message


def test_patterns_of_one_category_and_exact_over_pattern_are_allowed():
    p = P.parse_profile(_sample({"crosswalk": {"burglary": ["BURGLARY*", "*BURGLARY"],
                                               "theft": ["BURGLARY FROM VEHICLE"]}}))
    assert p.offences.crosswalk["theft"] == ["BURGLARY FROM VEHICLE"]


CROSSWALK = {"crosswalk": {"homicide": ["HOMICIDE"], "robbery": ["ROBBERY"], "assault": ["BATTERY", "ASSAULT"],
                           "burglary": ["BURGLARY*"], "theft": ["THEFT", "BURGLARY FROM VEHICLE"],
                           "narcotics": ["NARCOTICS"], "other": ["NON-CRIMINAL", "DECEPTIVE PRACTICE"]}}


def test_safe_route_weights_come_from_the_canonical_categories_without_risk_categories():
    p = P.parse_profile(_sample(CROSSWALK))
    weights = p.map_options("safe_route")["type_weights"]
    # person crimes (and robbery) weigh as violent, property as property, society and other as other
    assert {t: type_weight(t, weights) for t in ["HOMICIDE", "ROBBERY", "battery", "THEFT", "BURGLARY - ATTEMPT",
                                                 "BURGLARY FROM VEHICLE", "NARCOTICS", "DECEPTIVE PRACTICE",
                                                 "SOMETHING NEW", "NON-CRIMINAL"]} == {
        "HOMICIDE": 3.0, "ROBBERY": 3.0, "battery": 3.0, "THEFT": 1.0, "BURGLARY - ATTEMPT": 1.0,
        "BURGLARY FROM VEHICLE": 1.0, "NARCOTICS": 0.5, "DECEPTIVE PRACTICE": 0.5, "SOMETHING NEW": 0.5,
        "NON-CRIMINAL": 0.0}   # the risk model's own NON-CRIMINAL* = 0 is kept
    # without a crosswalk (or with [risk.categories]) nothing changes
    assert P.parse_profile(_sample(None)).map_options("safe_route")["type_weights"] == {"*": 0.5}
    with_categories = P.parse_profile(_sample(CROSSWALK, categories=True))
    assert with_categories.map_options("safe_route")["type_weights"] == with_categories.risk.type_weights()
    chicago = P.load_profile("chicago")
    assert chicago.map_options("safe_route")["type_weights"] == chicago.risk.type_weights()


def test_explorer_groups_types_by_canonical_category_without_risk_categories():
    p = P.parse_profile(_sample(CROSSWALK))
    categories = p.map_options("explorer")["type_categories"]
    assert list(categories) == ["homicide", "robbery", "assault", "burglary", "theft", "narcotics", "other"]
    types = ["THEFT", "BURGLARY", "BURGLARY FROM VEHICLE", "BATTERY", "GAMBLING", "HOMICIDE"]
    groups = {g["name"]: [types[k] for k in g["types"]] for g in _type_groups(types, categories)}
    assert groups == {"homicide": ["HOMICIDE"], "assault": ["BATTERY"], "burglary": ["BURGLARY"],
                      "theft": ["THEFT", "BURGLARY FROM VEHICLE"], "not in a category": ["GAMBLING"]}
    chicago = P.load_profile("chicago")
    assert chicago.map_options("explorer")["type_categories"] == chicago.risk.categories


def test_a_crosswalk_on_another_column_gives_no_primary_type_defaults():
    p = P.parse_profile(_sample({"field": "fbi_code", "crosswalk": {"homicide": ["01A"]}}))
    assert p.map_options("explorer")["type_categories"] == {}
    assert p.map_options("safe_route")["type_weights"] == {"*": 0.5}
