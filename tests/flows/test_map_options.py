"""The ``[maps.<kind>]`` options of a profile: declared once (``MAP_OPTIONS``), checked when a profile loads,
read by the builders and documented in docs/maps.md."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from civicmash.cities.profile import MAP_OPTIONS, ProfileError, load_profile

REPO = Path(__file__).parents[2]
BASE = ("center", "boundary_kind", "max_street_edges")


def test_a_misspelt_map_option_names_the_file_map_and_option(tmp_path):
    text = (REPO / "cities" / "sample.toml").read_text(encoding="utf-8")
    assert "[maps.locator]\n" in text
    bad = tmp_path / "sample.toml"
    bad.write_text(text.replace("[maps.locator]\n", "[maps.locator]\nnera = [42.3, -87.2]\n", 1) +
                   "\n[maps.heatmap]\ndays = 7\n", encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(bad)
    message = str(err.value)
    assert str(bad) in message and "[maps.locator] nera: unknown key; did you mean 'near'?" in message
    assert "[maps] heatmap: unknown key" in message and "safe_route" in message


def test_every_option_a_builder_reads_is_declared():
    def options_read(*paths: str) -> set[str]:
        return {name for path in paths for name in re.findall(r"options(?:\.get\(|\[)\"([a-z_]+)\"",
                                                              (REPO / path).read_text(encoding="utf-8"))}

    # a page's options are read by its page module and by the engine it draws (analysis/)
    engines = {"safe_route": ["analysis/route_planner.py"], "locator": ["analysis/service_access.py"]}
    read = {kind: options_read(f"maps/{kind}.py", *engines.get(kind, [])) for kind in MAP_OPTIONS}
    shared = options_read("maps/_payload.py", "warehouse/reads.py")
    assert read["locator"] and read["safe_route"] and read["spending"] and read["explorer"]
    for kind, names in read.items():
        assert names <= set(MAP_OPTIONS[kind]), (kind, names - set(MAP_OPTIONS[kind]))
    assert shared <= set(BASE) | {"days", "start", "end"}


def test_every_option_is_documented_in_maps_md():
    doc = (REPO / "docs" / "maps.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_]+)\.html` \|.*$", doc, flags=re.M)}
    assert set(rows) == set(MAP_OPTIONS)
    intro = doc.split("| file |", 1)[0]
    for kind, names in MAP_OPTIONS.items():
        for name in names:
            where = intro if name in BASE else rows[kind]
            assert f"`{name}`" in where, f"[maps.{kind}] option {name!r} is not documented in docs/maps.md"


def test_the_shipped_profiles_load():
    for city in ("chicago", "sample"):
        assert set(load_profile(city).maps.kinds()) <= set(MAP_OPTIONS)
