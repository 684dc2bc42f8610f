"""File datasets in another text encoding (options.encoding, default UTF-8 with a BOM tolerated): csv, json and
geojson read in the profile's codec; a file that is not valid in it fails naming the dataset, the byte offset,
the line and the option to set (not a bare UnicodeDecodeError). Files are generated here; one CSV also goes over
real HTTP through the replay portal, and the real Mapping L.A. population file (Latin-1) is read when the shared
bundle is there (test use only: its licence forbids publishing)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicmash.cities.profile import ProfileError, parse_profile
from civicmash.connectors import files
from civicmash.connectors.files import FileEncodingError
from civicmash.devkit.replay import ReplayPortal
from tests.conftest import SHARED_DIR

POPULATION = SHARED_DIR / "data" / "los_angeles" / "demographics" / "mappingla_neighborhood_population.csv"
LATIN1_CSV = "name,population\r\nAgoura Hills,20537\r\nLa Cañada Flintridge,20246\r\nVernon,94\r\n"


def _records(source, **kwargs) -> list[dict]:
    return [r for page in files.iter_pages(source, **kwargs) for r in page.to_records()]


@pytest.fixture
def latin1(tmp_path) -> Path:
    path = tmp_path / "population.csv"
    path.write_bytes(LATIN1_CSV.encode("latin-1"))
    return path


def test_a_latin1_csv_reads_with_its_encoding(latin1):
    rows = _records(latin1, fmt="csv", options={"encoding": "latin-1"}, dataset_name="population")
    assert [r["name"] for r in rows] == ["Agoura Hills", "La Cañada Flintridge", "Vernon"]


def test_read_as_utf8_it_fails_naming_dataset_offset_line_and_option(latin1):
    offset = LATIN1_CSV.encode("latin-1").index(b"\xf1")
    with pytest.raises(FileEncodingError) as caught:
        _records(latin1, fmt="csv", dataset_name="population")
    message = str(caught.value)
    assert "dataset population" in message and "population.csv" in message
    assert f"byte {offset}" in message and "line 3" in message
    assert "options.encoding" in message and "latin-1" in message


def test_utf8_with_a_bom_is_the_default(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffname\r\nLa Cañada\r\n".encode("utf-8"))
    assert _records(path, fmt="csv") == [{"name": "La Cañada"}]
    assert _records(path, fmt="csv", options={"encoding": "UTF-8"}) == [{"name": "La Cañada"}]


def test_json_and_geojson_take_the_encoding_too(tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Café – Nord"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}
    geo = tmp_path / "areas.geojson"
    geo.write_bytes(json.dumps(doc, ensure_ascii=False).encode("cp1252"))
    assert _records(geo, fmt="geojson", options={"encoding": "cp1252"})[0]["name"] == "Café – Nord"
    with pytest.raises(FileEncodingError, match="dataset areas: areas.geojson is not valid utf-8 text at byte"):
        _records(geo, fmt="geojson", dataset_name="areas")
    plain = tmp_path / "rows.json"
    plain.write_bytes(json.dumps([{"name": "Señor"}], ensure_ascii=False).encode("latin-1"))
    assert _records(plain, fmt="json", options={"encoding": "latin-1"}) == [{"name": "Señor"}]


def test_over_http_the_error_names_the_file(latin1):
    with ReplayPortal(latin1.parent, []) as portal:
        url = f"{portal.base_url}/files/{latin1.name}"
        assert len(_records(url, fmt="csv", options={"encoding": "latin-1"})) == 3
        with pytest.raises(FileEncodingError, match=r"dataset pop: population.csv .* set options.encoding"):
            _records(url, fmt="csv", dataset_name="pop")


def _profile(options: dict) -> dict:
    return {"name": "t", "title": "T", "datasets": {"population": {
        "protocol": "file", "format": "csv", "table": "population", "url": "https://example.test/p.csv",
        "kind": "neighbourhood", "options": options, "fields": {"area_code": "name", "population": "population"}}}}


def test_the_profile_checks_the_codec_name():
    assert parse_profile(_profile({"encoding": "cp1252"})).datasets["population"].protocol_options.encoding == "cp1252"
    with pytest.raises(ProfileError, match="unknown text encoding 'latin-9x'"):
        parse_profile(_profile({"encoding": "latin-9x"}))


def test_the_mapping_la_population_file_is_latin1():
    if not POPULATION.exists():
        pytest.skip(f"real Los Angeles data not found at {POPULATION}")
    with pytest.raises(FileEncodingError, match="line"):
        _records(POPULATION, fmt="csv", dataset_name="population")
    rows = _records(POPULATION, fmt="csv", options={"encoding": "latin-1"}, dataset_name="population")
    assert len(rows) == 265 and "La Cañada Flintridge" in {r["name"] for r in rows}   # PROVENANCE.md
    assert sum(int(r["population"]) for r in rows) == 9_503_261
