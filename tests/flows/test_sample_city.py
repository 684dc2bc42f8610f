"""The synthetic sample city: deterministic, in the real wire formats, consistent with its profile."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from civicmash.devkit import sample_city as sample
from civicmash.cities.profile import load_profile

REPO = Path(__file__).resolve().parents[2]


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    return sample.generate(tmp_path_factory.mktemp("sampleton"))


@pytest.fixture(scope="module")
def incidents(city) -> list[dict]:
    with open(city / "crime" / "incidents.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _geojson(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --- determinism -----------------------------------------------------------------------------------

def test_same_seed_is_byte_identical_even_in_another_process(city, tmp_path):
    again = _files(sample.generate(tmp_path / "again"))
    assert again == _files(city)
    # a fresh interpreter with another hash seed: no dict/set-order or state leaks into the output
    other = tmp_path / "other"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-m", "civicmash.devkit.sample_city", str(other), "--seed", "2008"],
                   cwd=REPO, env=env, check=True, capture_output=True)
    assert _files(other) == _files(city)


def test_another_seed_differs(city, tmp_path):
    other = _files(sample.generate(tmp_path / "s7", seed=7))
    mine = _files(city)
    assert other.keys() == mine.keys()
    for name in ("crime/incidents.csv", "licenses/bars.csv", "services/services.geojson",
                 "streets/sampleton.osm", "spending/budget.csv", "demographics/population.csv"):
        assert other[name] != mine[name], name
    # the layout is fixed: the boundaries (and so the profile's coordinates) do not depend on the seed
    assert other["boundaries/community_areas.geojson"] == mine["boundaries/community_areas.geojson"]


def test_generation_is_fast_and_sizes_scale(tmp_path):
    import time
    t0 = time.perf_counter()
    sample.generate(tmp_path / "small")
    assert time.perf_counter() - t0 < 2.0
    tiny = sample.generate(tmp_path / "tiny", size="tiny")
    with open(tiny / "crime" / "incidents.csv", newline="", encoding="utf-8") as f:
        assert sum(1 for _ in f) - 1 == sample.SIZES["tiny"]
    with pytest.raises(ValueError, match="size"):
        sample.generate(tmp_path / "huge", size="huge")


# --- the profile -----------------------------------------------------------------------------------

def test_profile_validates_and_every_replay_path_exists(city):
    profile = load_profile("sample")
    assert profile.name == "sample" and profile.synthetic
    assert "synthetic sample" in profile.title.lower()
    assert {spec.protocol for spec in profile.datasets.values()} >= {"socrata", "arcgis", "osm", "file"}
    assert {spec.table for spec in profile.datasets.values()} == {
        "incidents", "venues", "services", "boundaries", "streets", "spending", "population",
        "contract_revisions", "place_spending", "outcomes"}
    for name, spec in profile.datasets.items():
        assert spec.replay, name
        assert (city / spec.replay).is_file(), f"{name}: {spec.replay}"


def _api_name(header: str) -> str:
    """The replay portal's SODA field name for a CSV header (docs/architecture.md)."""
    import re
    return re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")


def test_socrata_field_mappings_name_real_api_fields(city):
    profile = load_profile("sample")
    for name, spec in profile.datasets.items():
        path = city / spec.replay
        if spec.protocol == "socrata" and path.suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                available = {_api_name(h) for h in next(csv.reader(f))}
        elif path.suffix == ".geojson":
            props = _geojson(path)["features"][0]["properties"]
            available = {_api_name(k) if spec.protocol == "socrata" else k for k in props} | {"_geometry"}
        elif spec.protocol == "file" and path.suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                available = set(next(csv.reader(f)))
        else:
            continue
        missing = {canon: src for canon, src in spec.fields.items() if src not in available}
        assert not missing, f"{name}: {missing}"


def test_profile_points_are_in_the_city_and_straddle_the_bar_strip():
    profile = load_profile("sample")
    x0, y0, x1, y1 = sample.EXTENT

    def grid(latlon):
        gx, gy = sample.latlon_to_grid(*latlon)
        assert x0 <= gx <= x1 and y0 <= gy <= y1, latlon
        return float(gx), float(gy)

    grid(profile.center)
    grid(profile.maps["locator"]["near"])
    (fx, _), (tx, _) = grid(profile.maps["safe_route"]["from"]), grid(profile.maps["safe_route"]["to"])
    assert fx < sample.BAR_STRIP["x0"] and tx > sample.BAR_STRIP["x1"]


# --- streets ---------------------------------------------------------------------------------------

def test_osm_parses_and_has_three_dangling_refs(city):
    path = city / "streets" / "sampleton.osm"
    assert "SYNTHETIC SAMPLE" in path.read_text(encoding="utf-8")[:400]
    root = ET.parse(path).getroot()
    assert root.tag == "osm" and root.get("version") == "0.6"
    assert root.get("generator") == "civicmash synthetic sample"
    assert root.find("bounds") is not None
    node_ids = {int(n.get("id")) for n in root.iter("node")}
    assert all(i > 0 for i in node_ids)
    refs = [int(nd.get("ref")) for w in root.iter("way") for nd in w.iter("nd")]
    dangling = [r for r in refs if r not in node_ids]
    assert len(dangling) == 3
    tags = [{t.get("k"): t.get("v") for t in w.iter("tag")} for w in root.iter("way")]
    highways = [t["highway"] for t in tags if "highway" in t]
    assert {"residential", "secondary", "primary", "footway"} <= set(highways)
    assert highways.count("motorway") == 1
    assert sum(t.get("oneway") == "yes" for t in tags) >= 2
    assert any(t.get("lit") == "yes" for t in tags) and sum(t.get("bridge") == "yes" for t in tags) == 2
    assert 1400 <= len(node_ids) <= 2000


def test_incident_blocks_name_streets_of_the_map(city, incidents):
    root = ET.parse(city / "streets" / "sampleton.osm").getroot()
    names = {t.get("v").upper() for t in root.iter("tag") if t.get("k") == "name"}
    for row in incidents:
        hundreds, street = row["Block"].split(" ", 1)
        assert len(hundreds) == 5 and hundreds.endswith("XX"), row["Block"]
        assert street in names, row["Block"]


# --- incidents -------------------------------------------------------------------------------------

def test_incidents_csv_is_in_the_chicago_export_layout(city, incidents):
    raw = (city / "crime" / "incidents.csv").read_bytes()
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"" and b"\n" not in raw.replace(b"\r\n", b"")        # CRLF throughout
    assert lines[0].decode() == ",".join(sample.INCIDENT_HEADER)
    assert 5500 <= len(incidents) <= 6500
    assert sum(r["Description"] == "</script><img src=x onerror=alert(1)>" for r in incidents) == 1
    import re
    stamp = re.compile(r"^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d [AP]M$")
    for r in incidents:
        assert stamp.match(r["Date"]) and stamp.match(r["Updated On"])
        assert r["Arrest"] in ("true", "false") and r["Domestic"] in ("true", "false")
        assert re.fullmatch(r"\d{4}", r["Beat"]) and re.fullmatch(r"\d{3}", r["District"])
    assert len({r["ID"] for r in incidents}) == len(incidents)
    assert {r["Primary Type"] for r in incidents} == set(sample.OFFENCES)
    assert 0 < sum(r["Primary Type"] == "HOMICIDE" for r in incidents) < 0.005 * len(incidents)
    midnight = sum(r["Date"].endswith("12:00:00 AM") for r in incidents)
    assert 3 <= midnight <= 40
    no_coords = [r for r in incidents if not r["Latitude"]]
    assert 0.002 * len(incidents) <= len(no_coords) <= 0.01 * len(incidents)
    assert all(not r["Longitude"] and not r["X Coordinate"] for r in no_coords)


def test_violent_crime_peaks_at_night_and_clusters_on_the_strip(incidents):
    def hour(d: str) -> int:
        return int(d[11:13]) % 12 + (12 if d.endswith("PM") else 0)
    violent = [hour(r["Date"]) for r in incidents if r["Primary Type"] in ("BATTERY", "ASSAULT", "ROBBERY")]
    night = sum(h >= 21 or h <= 2 for h in violent)
    morning = sum(5 <= h <= 10 for h in violent)
    assert night > 3 * morning
    strip = sum(r["Block"].endswith("DIVISION ST") for r in incidents)
    assert strip > 0.08 * len(incidents)        # one street of 80: far above its share


def _inside(px: np.ndarray, py: np.ndarray, ring: list) -> np.ndarray:
    """Even-odd ray casting, vectorised over points."""
    xs, ys = np.array([p[0] for p in ring]), np.array([p[1] for p in ring])
    inside = np.zeros(px.shape, dtype=bool)
    for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:]):
        crosses = (y0 > py) != (y1 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            xcross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (px < xcross)
    return inside


def _containing(polys: dict[str, list], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    found = np.full(lon.shape, "", dtype=object)
    hits = np.zeros(lon.shape, dtype=int)
    for code, ring in polys.items():
        m = _inside(lon, lat, ring)
        found[m] = code
        hits += m
    assert (hits <= 1).all(), "polygons overlap"
    return found


def test_incidents_lie_in_the_boundaries_and_state_their_polygons(city, incidents):
    located = [r for r in incidents if r["Latitude"]]
    lat = np.array([float(r["Latitude"]) for r in located])
    lon = np.array([float(r["Longitude"]) for r in located])
    areas = {f["properties"]["AREA_NUM"]: f["geometry"]["coordinates"][0]
             for f in _geojson(city / "boundaries" / "community_areas.geojson")["features"]}
    assert 8 <= len(areas) <= 12
    ring_lons = np.array([p[0] for ring in areas.values() for p in ring])
    ring_lats = np.array([p[1] for ring in areas.values() for p in ring])
    assert ring_lons.min() <= lon.min() and lon.max() <= ring_lons.max()
    assert ring_lats.min() <= lat.min() and lat.max() <= ring_lats.max()

    area = _containing(areas, lon, lat)
    assert (area != "").all(), "an incident outside every community area"
    stated = np.array([r["Community Area"] for r in located], dtype=object)
    assert int((area != stated).sum()) == 2          # the two deliberate mismatches

    beats = {f["properties"]["BEAT_NUM"]: f["geometry"]["coordinates"][0]
             for f in _geojson(city / "boundaries" / "beats.geojson")["features"]}
    assert len(beats) > len(areas)
    beat = _containing(beats, lon, lat)
    assert (beat == np.array([r["Beat"] for r in located], dtype=object)).all()
    assert all(r["District"] == "0" + r["Beat"][:2] for r in incidents)


# --- the other files -------------------------------------------------------------------------------

def test_venues_services_spending_population(city):
    with open(city / "licenses" / "bars.csv", newline="", encoding="utf-8") as f:
        bars = list(csv.DictReader(f))
    assert list(bars[0]) == sample.BAR_HEADER
    premises = {(r["DOING BUSINESS AS NAME"], r["ADDRESS"]) for r in bars}
    assert 50 <= len(premises) <= 70
    kinds = {r["LICENSE DESCRIPTION"] for r in bars}
    assert {"Tavern", "Consumption on Premises - Incidental Activity", "Late Hour",
            "Retail Food Establishment"} <= kinds
    assert sum("DIVISION ST" in r["ADDRESS"] for r in bars) > len(bars) / 2

    services = _geojson(city / "services" / "services.geojson")
    assert "SYNTHETIC SAMPLE" in services["note"]
    cats = {f["properties"]["CATEGORY"] for f in services["features"]}
    assert {"Library", "Clinic", "School", "Park", "Police", "Fire", "Warming Center"} == cats
    for f in services["features"]:
        assert f["geometry"]["type"] == "Point"
        assert set(f["properties"]) >= {"NAME", "CATEGORY", "ADDRESS", "PHONE", "HOURS"}

    with open(city / "spending" / "budget.csv", newline="", encoding="utf-8") as f:
        budget = list(csv.DictReader(f))
    assert list(budget[0]) == sample.BUDGET_HEADER
    assert 120 <= len(budget) <= 180
    assert len({r["DEPARTMENT DESCRIPTION"] for r in budget}) == 12
    assert all(int(r["2019 ORDINANCE (AMOUNT $)"]) > 0 for r in budget)

    with open(city / "demographics" / "population.csv", newline="", encoding="utf-8") as f:
        population = list(csv.DictReader(f))
    areas = {f["properties"]["AREA_NUM"] for f in
             _geojson(city / "boundaries" / "community_areas.geojson")["features"]}
    assert {r["NID"] for r in population} == areas
    assert all(int(r["POP2010"]) > 0 and int(r["POP2000"]) > 0 for r in population)

    readme = (city / "README.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC SAMPLE" in readme and "seed=2008" in readme
