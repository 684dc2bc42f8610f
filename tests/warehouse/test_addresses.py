"""One normal form for street addresses: a typed address matches a record, two records of one site match."""

import pytest

from civicmash.warehouse.addresses import normalise_address


@pytest.mark.parametrize("text, city, want", [
    ("1150 N. North Branch St., Chicago, IL 60642", "chicago", "1150 N NORTH BRANCH ST"),
    ("2111 W. Lexington St.\nChicago, IL 60612", "chicago", "2111 W LEXINGTON ST"),     # multi-line address cell
    ("1150 N North Branch Street Chicago", "chicago", "1150 N NORTH BRANCH ST"),
    ("20 W 34th Street New York NY 10001", "new_york", "20 W 34TH ST"),
    ("100 Main Street, Springfield, IL 62701", "chicago", "100 MAIN ST SPRINGFIELD"),   # not our city: kept
    ("1 N State St", "chicago", "1 N STATE ST"),                                       # ST is not a state code
    ("1 Court Place #3", "chicago", "1 CT PL 3"),
    (None, "chicago", ""),
])
def test_normal_form(text, city, want):
    assert normalise_address(text, city=city) == want


@pytest.mark.parametrize("text", ["3401 W. Chicago Ave", "3401 W Chicago Avenue", "3401 W. Chicago Ave., Chicago, IL 60651"])
def test_a_street_named_after_the_city_keeps_its_name(text):
    # the rule this replaced cut every address at the word CHICAGO: "3401 W Chicago Ave" became "3401 W"
    assert normalise_address(text, city="chicago") == "3401 W CHICAGO AVE"
