"""The profile is a typed, closed schema: a misspelt key anywhere fails at load naming the file, the table
(so the dataset), the key and the closest known key; docs/profile.md is generated from the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicmash.cities import profile as P
from civicmash.cities.schema_docs import profile_markdown

REPO = Path(__file__).parents[2]
SAMPLE = (REPO / "cities" / "sample.toml").read_text(encoding="utf-8")


def _load_with(tmp_path, old: str, new: str) -> str:
    assert old in SAMPLE, old
    path = tmp_path / "city.toml"
    path.write_text(SAMPLE.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(P.ProfileError) as err:
        P.load_profile(path)
    assert str(path) in str(err.value)
    return str(err.value)


@pytest.mark.parametrize("old, new, expected", [
    # a protocol option (the issue's own example), a table option, a per-format option
    ("options = { page_size = 2500,", "options = { page_sise = 2500,",
     "[datasets.incidents] options.page_sise: unknown key; did you mean 'page_size'?"),
    ("options = { page_size = 50, bbox", "options = { page_size = 50, bbx",
     "[datasets.venues] options.bbx: unknown key; did you mean 'bbox'?"),
    ("options = { page_size = 20 }", "options = { page_size = 20, replay_max_record = 5 }",
     "[datasets.services] options.replay_max_record: unknown key; did you mean 'replay_max_records'?"),
    ('timezone = "America/Chicago"', 'timezon = "America/Chicago"',
     "(top level) timezon: unknown key; did you mean 'timezone'?"),
    ('dataset_id = "smpl-crm1"', 'dataset_id = "smpl-crm1"\nlicense = "x"',
     "[datasets.incidents] license: unknown key; did you mean 'licence'?"),
    ('code = "AREA_NUM"', 'cod = "AREA_NUM"',
     "[datasets.community_areas] fields.cod: not a column of table 'boundaries'; did you mean 'code'?"),
    ("[maps.locator]\n", "[maps.locator]\nnera = [42.3, -87.2]\n",
     "[maps.locator] nera: unknown key; did you mean 'near'?"),
    ("[risk.categories]", "[risk.lit]\nunlt = 1.5\n\n[risk.categories]",
     "[risk.lit] unlt: unknown key; did you mean 'unlit'?"),
    ('synthetic = true', 'synthetic = true\n[http]\ntimout = 5',
     "[http] timout: unknown key; did you mean 'timeout'?"),
    ('protocol = "arcgis"', 'protocol = "arcgsi"',
     "[datasets.services] protocol: no protocol 'arcgsi'"),
    ('format = "osm-xml"', 'format = "osm-xlm"',
     "[datasets.streets] format: 'osm-xlm' is not served by protocol 'osm'"),
    ("options = { defaults = { fiscal_year = 2019 } }", "options = { defaults = { fiscal_yr = 2019 } }",
     "[datasets.spending] options.defaults.fiscal_yr: not a column of table 'spending'; did you mean 'fiscal_year'?"),
])
def test_a_misspelt_key_names_file_table_key_and_the_likely_one(tmp_path, old, new, expected):
    assert expected in _load_with(tmp_path, old, new)


def test_options_are_typed_per_protocol_and_table(tmp_path):
    message = _load_with(tmp_path, "options = { page_size = 2500,", 'options = { page_size = "many",')
    assert "[datasets.incidents] options.page_size:" in message and "protocol 'socrata'" in message
    message = _load_with(tmp_path, "bbox = [42.2784405, -87.2791489, 42.3215595, -87.2208511], incremental",
                         "bbox = [42.2, -87.2], incremental")
    assert "options.bbox" in message and "table 'incidents'" in message
    # an option of one format is not an option of another: an edge list's vertices on a CSV file
    path = tmp_path / "csv.toml"
    path.write_text(SAMPLE.replace("options = { defaults = { fiscal_year = 2019 } }",
                                   'options = { vertices = "v.txt", defaults = { fiscal_year = 2019 } }'), "utf-8")
    with pytest.raises(P.ProfileError, match=r"\[datasets.spending\] options.vertices: unknown key"):
        P.load_profile(path)


def test_typed_views_of_a_dataset():
    sample = P.load_profile("sample")
    incidents = sample.datasets["incidents"]
    assert incidents.protocol_options.page_size == 2500 and incidents.protocol_options.app_token_env == \
        "SOCRATA_APP_TOKEN"
    assert incidents.table_options.crs == "EPSG:3435" and incidents.incremental
    assert sample.datasets["services"].protocol_options.layer == 0
    assert not sample.datasets["venues"].incremental
    # the options the warehouse gets are what the profile says (no defaults filled in: output unchanged)
    assert sample.datasets["population"].options == {"area_kind": "community_area", "defaults": {"year": 2010}}


def test_shipped_and_test_profiles_load():
    for path in [*sorted((REPO / "cities").glob("*.toml")), *sorted((REPO / "tests").rglob("*.toml"))]:
        assert P.check_profile(path).datasets, path


def test_map_options_are_typed_on_the_profile():
    chicago = P.load_profile("chicago")
    route = chicago.map_options("safe_route")
    assert route["from"] == [41.8841, -87.6488] and route["days"] == 90 and route["type_weights"]["HOMICIDE"] == 3.0
    assert chicago.map_options("locator")["center"] == [41.8781, -87.6298]
    spending = chicago.map_options("spending")   # no [maps.spending]: the centre, and [money]'s price index
    assert chicago.maps.get("spending") is None and spending.pop("center") == [41.8781, -87.6298]
    assert spending["price_index"]["2024"] == 313.689 and spending["price_index_base_year"] == 2024
    assert set(spending) == {"price_index", "price_index_source", "price_index_base_year"}
    assert "CPI-U" in spending["price_index_source"]


def test_json_schema_lists_protocols_and_every_option():
    schema = P.profile_json_schema()
    json.dumps(schema)
    dataset = schema["$defs"]["DatasetSpec"]
    assert set(dataset["properties"]["protocol"]["enum"]) >= {"socrata", "arcgis", "ckan", "file", "osm"}
    options = dataset["properties"]["options"]
    assert options["additionalProperties"] is False
    assert {"page_size", "where", "layer", "resource", "vertices", "bbox", "venue_rule", "merge_priority"} <= \
        set(options["properties"])
    assert schema["additionalProperties"] is False


def test_profile_md_is_generated_from_the_schema():
    doc = (REPO / "docs" / "profile.md").read_text(encoding="utf-8")
    assert doc == profile_markdown(), "docs/profile.md is stale: python -m civicmash.cities.schema_docs docs/profile.md"
    for option in ("page_size", "app_token_env", "replay_max_records", "resource", "highway_map", "venue_rule",
                   "hours_columns", "merge_priority", "near", "fiscal_year", "min_interval"):
        assert f"| `{option}` |" in doc, option
