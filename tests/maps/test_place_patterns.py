"""Block and address forms of the place resolver: every preset family, a pattern of a city's own, interpolation in
street address ranges, and the real block strings of Chicago and Los Angeles.

Islandia (tests/maps/islands_city.py) is loaded through the real warehouse; its incidents' blocks mix the forms.
"""

from __future__ import annotations

import contextlib
import csv
import re

import pytest

from civicmash.analysis.places import ResolveError, resolve
from civicmash.analysis.routing import load_graph
from civicmash.cities.place_options import PlacesSpec
from civicmash.cities.profile import ProfileError, load_profile, parse_profile
from civicmash.warehouse import db
from civicmash.warehouse.addresses import parse_block
from tests.conftest import SHARED_DIR
from tests.maps import islands_city as I

LA_CRIMES = SHARED_DIR / "data" / "los_angeles" / "crime" / "lapd_crimes_2024-02-01_to_2024-03-31.csv"


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    with contextlib.closing(db.connect(I.build(tmp_path_factory.mktemp("places")), read_only=True)) as c:
        yield c


@pytest.fixture(scope="module")
def graph(con):
    return load_graph(con, I.CITY)


def _at(place, i, j):
    lat, lon = I.ll(i, j)
    assert place.lat == pytest.approx(lat, abs=2e-6) and place.lon == pytest.approx(lon, abs=2e-6), place


@pytest.mark.parametrize("text, kind, where", [
    ("002XX W MAIN ST", "block", (2.5, 2)),                      # hundreds_xx, as published
    ("1100 W 39TH PL", "block", (1.5, 3)),                       # LA's block, its runs of spaces aside
    ("1123 W 39th Pl", "address", (1.5, 3)),                     # rounded_number: the house number's block
    ("1400 B/O P ST NW", "block", (3.5, 4)),                     # dc_bo
    ("1400 Block of P St NW", "block", (3.5, 4)),                # block_of, read onto the DC block
    ("1432 P Street NW", "address", (3.5, 4)),
    ("100 BLK ELM ST", "block", (1.5, 5)),                       # BLK
    ("123 Elm Street", "address", (1.5, 5)),
    ("310 N Oak Avenue", "address", (1, 2.5)),                   # a house number onto a hundreds_xx block
])
def test_every_block_form_resolves_to_its_incidents(con, graph, text, kind, where):
    place = resolve(con, city=I.CITY, text=text, graph=graph)
    assert place.kind == kind
    _at(place, *where)


def test_house_numbers_are_interpolated_in_the_street_address_ranges(con, graph):
    """W MAIN ST's block 3 holds 300-398 (left) / 301-399 (right) along a segment with a shape point."""
    place = resolve(con, city=I.CITY, text="325 W Main St", graph=graph)
    assert place.kind == "address" and "interpolated in the address range" in place.detail
    _at(place, 3 + 24 / 98, 2)   # odd: the right side 301-399 (the even left side 300-398 would give 25 / 98)
    _at(resolve(con, city=I.CITY, text="350 Main St", graph=graph), 3 + 50 / 98, 2)   # no direction typed: W MAIN
    # numbers beyond every range: the incidents' block, said so
    far = resolve(con, city=I.CITY, text="250 W Main St", graph=graph)
    assert far.kind == "address"
    with pytest.raises(ResolveError):
        resolve(con, city=I.CITY, text="950 W Main St", graph=graph)


def test_a_city_pattern_of_its_own(con, graph):
    own = PlacesSpec.model_validate({"presets": [], "patterns": [
        {"regex": r"^(?P<number>\d+)\s+HUNDRED\s+(?P<street>.+)$", "block_size": 100}]}).block_patterns()
    place = resolve(con, city=I.CITY, text="300 HUNDRED N OAK AVE", graph=graph, patterns=own
                    + list(PlacesSpec().block_patterns()))
    _at(place, 1, 2.5)
    with pytest.raises(ProfileError, match="needs the named groups"):
        parse_profile({"name": "x", "title": "X", "datasets": {"d": {"protocol": "file", "format": "csv",
                       "table": "incidents", "url": "https://e.test/x.csv"}},
                       "places": {"patterns": [{"regex": r"^(?P<n>\d+) (?P<street>.+)$"}]}})
    with pytest.raises(ProfileError, match="presets"):
        parse_profile({"name": "x", "title": "X", "datasets": {"d": {"protocol": "file", "format": "csv",
                       "table": "incidents", "url": "https://e.test/x.csv"}}, "places": {"presets": ["chicago"]}})


def test_intersections_of_named_blocks_and_bare_streets(con, graph):
    place = resolve(con, city=I.CITY, text="W 39th Pl & N Oak Av", graph=graph)   # "N OAK AV": a bare street
    assert place.kind == "intersection" and place.label == "W 39TH PL & N OAK AVE"
    assert place.snap_m is not None and place.snap_m < 60


def test_presets_read_chicagos_real_blocks(chicago_dir):
    patterns = load_profile("chicago").places.block_patterns()
    with open(chicago_dir / "crime" / "chicago_crimes_2018-05-01_to_2018-11-12.csv", encoding="utf-8") as fh:
        rows = [r for _, r in zip(range(20_000), csv.DictReader(fh))]
    blocks = {r["Block"] for r in rows if r["Block"]}
    read = {b: parse_block(b, patterns=patterns) for b in blocks}
    assert all(v is not None and v.number is None for v in read.values())
    got = parse_block("012XX W MADISON ST", patterns=patterns)
    assert (got.block, got.street) == (1200, "W MADISON ST")


def test_la_profile_reads_the_lapd_locations():
    if not LA_CRIMES.exists():
        pytest.skip(f"real Los Angeles data not found at {LA_CRIMES}")
    patterns = load_profile("los_angeles").places.block_patterns()
    with open(LA_CRIMES, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    located = [r["LOCATION"] for r in rows if not r["Cross Street"].strip()]
    read = [parse_block(loc, patterns=patterns) for loc in located]
    assert sum(r is not None for r in read) / len(read) > 0.99
    got = parse_block("1100 W  39TH                         PL", patterns=patterns)
    assert (got.block, got.street) == (1100, "W 39TH PL")
    # a bare street with a cross street is no block: it counts for its street in intersections
    bare = [r["LOCATION"] for r in rows if r["Cross Street"].strip()]
    assert sum(parse_block(b, patterns=patterns) is None for b in bare) / len(bare) > 0.9
    assert parse_block(re.sub(r"\s+", " ", "3700 W  WILSHIRE                     BL"), patterns=patterns).street \
        == "W WILSHIRE BLVD"
