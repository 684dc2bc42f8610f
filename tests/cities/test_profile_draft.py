"""`civicmash profile draft FILE_OR_URL`: a commented dataset block sniffed from an export.

Every test runs the real CLI (``civicmash.flows.cli.main``) on a file: the real LA and Chicago crime exports
from ../shared (skipped when absent), generated files for each variant the drafter must recognise (times with
``Z``/offsets, ``YYYY/MM/DD hh:mm:ss+00``, epoch milliseconds, date-only dates with a separate ``HHMM`` time,
projected x/y with and without a ``.prj``, a ``(lat, lon)`` location column, implausible dates and ``0,0``
points), and a URL served by the loopback replay portal. Each draft is wrapped in a minimal city profile and
must pass ``load_profile`` and ``civicmash profile check``; the LA draft must also load through a real
``--replay`` run with under 5 % quarantined.
"""

from __future__ import annotations

import json
import random
import tomllib
from pathlib import Path

import pytest
from civicmash.cities.profile import load_profile
from civicmash.devkit.replay import ReplayPortal
from civicmash.flows.cli import main

from tests.conftest import CHICAGO_CRIME_ROWS, CHICAGO_CRIMES, SHARED_DIR

LA_DIR = SHARED_DIR / "data" / "los_angeles"
LA_CRIMES = "crime/lapd_crimes_2024-02-01_to_2024-03-31.csv"
LA_CRIME_ROWS = 30_371
STATE_PLANE_PRJ = ('PROJCS["NAD83 / California zone 5 (ftUS)",GEOGCS["NAD83",DATUM["North_American_Datum_1983",'
                   'SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
                   'PROJECTION["Lambert_Conformal_Conic_2SP"],UNIT["US survey foot",0.3048006096012192],'
                   'AUTHORITY["EPSG","2229"]]')


# --- helpers -------------------------------------------------------------------------------------------

def _draft(source: str | Path, tmp_path: Path, *extra: str, capsys=None) -> tuple[str, dict]:
    """Run ``civicmash profile draft SOURCE --out FILE``; the TOML text and the dataset table it holds."""
    out = tmp_path / f"draft_{len(list(tmp_path.glob('draft_*')))}.toml"
    assert main(["profile", "draft", str(source), "--out", str(out), *extra]) == 0
    text = out.read_text(encoding="utf-8")
    datasets = tomllib.loads(text)["datasets"]
    assert len(datasets) == 1
    return text, next(iter(datasets.values()))


def _wrapped(text: str, tmp_path: Path, *, name: str = "drafted", timezone: str = "UTC") -> Path:
    """The draft inside a minimal city profile (what docs/new-city.md tells an author to write around it)."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\ntitle = "Drafted"\ntimezone = "{timezone}"\n\n{text}', encoding="utf-8")
    return path


def _checks(text: str, tmp_path: Path, capsys, **wrap) -> dict:
    """The wrapped draft passes load_profile and `civicmash profile check`; its one dataset, parsed."""
    path = _wrapped(text, tmp_path, **wrap)
    profile = load_profile(path)
    capsys.readouterr()
    assert main(["profile", "check", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"ok: {profile.name}, 1 dataset")
    return next(iter(profile.datasets.values()))


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> Path:
    """Generated exports, one per variant the drafter must read."""
    root = tmp_path_factory.mktemp("draft_variants")
    rnd = random.Random(11)
    rows = ["incident_id,occurred,reported,offense,district,latitude,longitude"]
    for i in range(300):
        occurred = f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00" + ("Z" if i % 2 else "-07:00")
        occurred = {7: "1900-01-01T00:00:00Z", 8: "2091-05-01T00:00:00Z"}.get(i, occurred)
        reported = f"2024/03/{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i % 60:02d}+00"
        lat, lon = ((0, 0) if i % 50 == 3 else (round(33.8 + rnd.random() * 0.4, 5), round(-118.6 + rnd.random() * 0.4, 5)))
        rows.append(f"{1000 + i},{occurred},{reported},{rnd.choice(['THEFT', 'ROBBERY', 'ASSAULT'])},{1 + i % 7},"
                    f"{lat},{lon}")
    (root / "offsets.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    features = [{"type": "Feature",
                 "properties": {"OBJECTID": i + 1, "REPORT_DATE": 1709280000000 + i * 3_600_000,
                                "OFFENSE": rnd.choice(["BURGLARY", "THEFT"]), "WARD": 1 + i % 5},
                 "geometry": {"type": "Point", "coordinates": [round(-87.7 + rnd.random() / 10, 6),
                                                               round(41.8 + rnd.random() / 10, 6)]}}
                for i in range(120)]
    (root / "epoch.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    rows = ["Case No,Date Occ,Time Occ,Crime Type,Beat,X,Y"]
    for i in range(200):
        rows.append(f"C{i:05d},2024-03-{1 + i % 28:02d},{(i * 37) % 24:02d}{(i * 7) % 60:02d},"
                    f"{rnd.choice(['THEFT', 'ROBBERY'])},{100 + i % 9:04d},{6_480_000 + rnd.random() * 50_000:.1f},"
                    f"{1_840_000 + rnd.random() * 50_000:.1f}")
    (root / "hhmm_xy.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "hhmm_xy_prj.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "hhmm_xy_prj.prj").write_text(STATE_PLANE_PRJ, encoding="utf-8")

    rows = ["Branch Name,Address,Phone,Location"]
    rows += [f'Branch {i},"{100 + i} Main St","(213) 555-{i:04d}","{100 + i} Main St\nLos Angeles, CA\n'
             f'({34.0 + i / 100:.4f}, {-118.3 + i / 100:.4f})"' for i in range(40)]
    (root / "libraries.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


# --- generated variants --------------------------------------------------------------------------------

def test_offsets_implausible_dates_and_zero_points(variants, tmp_path, capsys):
    text, ds = _draft(variants / "offsets.csv", tmp_path)
    assert ds["table"] == "incidents" and ds["protocol"] == "file" and ds["format"] == "csv"
    assert ds["options"]["time_formats"] == ["%Y-%m-%dT%H:%M:%S%z", "%Y/%m/%d %H:%M:%S%z"]
    assert ds["fields"] == {"source_id": "incident_id", "occurred_at": "occurred", "reported_at": "reported",
                            "primary_type": "offense", "district": "district", "lat": "latitude",
                            "lon": "longitude"}
    # the year-1900 value makes min_date an active option; the 2091 one a commented max_date
    assert ds["options"]["min_date"] == "2024-01-01"
    assert '# max_date = "' in text and "latest 2091-05-01" in text
    assert "6 points are 0,0" in text and "coordinate_sentinels" in text
    assert "# bbox = [33.8, -118.6, 34.2, -118.2]" in text
    assert "z_is_local" in text
    spec = _checks(text, tmp_path, capsys)
    assert spec.table_options.time_formats == ds["options"]["time_formats"]


def test_epoch_ms_geojson_with_a_report_time_only(variants, tmp_path, capsys):
    text, ds = _draft(variants / "epoch.geojson", tmp_path, "--name", "calls")
    assert "[datasets.calls]" in text and ds["format"] == "geojson"
    assert ds["options"]["time_formats"] == ["epoch_ms"]
    assert ds["fields"]["reported_at"] == "REPORT_DATE" and ds["options"]["incident_time"] == "reported"
    assert ds["fields"]["source_id"] == "OBJECTID" and ds["fields"]["ward"] == "WARD"
    assert "Coordinates: GeoJSON geometries, WGS84" in text
    _checks(text, tmp_path, capsys)


def test_date_only_with_hhmm_time_and_projected_xy(variants, tmp_path, capsys):
    text, ds = _draft(variants / "hhmm_xy.csv", tmp_path)
    assert ds["options"]["time_formats"] == ["%Y-%m-%d"]
    assert ds["fields"]["occurred_at"] == "Date Occ" and ds["fields"]["occurred_time"] == "Time Occ"
    assert ds["fields"]["source_x"] == "X" and ds["fields"]["source_y"] == "Y"
    assert "lat" not in ds["fields"] and "crs" not in ds["options"]
    assert "Coordinates: projected, EPSG unknown — set crs" in text
    assert '# crs = "EPSG:????"   # TODO' in text
    assert ds["fields"]["beat"] == "Beat"
    _checks(text, tmp_path, capsys)


def test_a_prj_beside_the_file_states_the_crs(variants, tmp_path, capsys):
    text, ds = _draft(variants / "hhmm_xy_prj.csv", tmp_path)
    assert ds["options"]["crs"] == "EPSG:2229"
    assert "EPSG unknown" not in text
    assert _checks(text, tmp_path, capsys).table_options.crs == "EPSG:2229"


def test_location_column_services_and_overrides(variants, tmp_path, capsys):
    text, ds = _draft(variants / "libraries.csv", tmp_path)
    assert ds["table"] == "services"
    assert ds["fields"]["location"] == "Location" and ds["fields"]["phone"] == "Phone"
    assert ds["fields"]["name"] == "Branch Name" and ds["fields"]["address"] == "Address"
    _checks(text, tmp_path, capsys)
    # --table, --name and --protocol override the guesses; socrata fields become the API names
    text, ds = _draft(variants / "libraries.csv", tmp_path, "--table", "venues", "--name", "branches",
                      "--protocol", "socrata")
    assert "[datasets.branches]" in text and ds["table"] == "venues" and ds["protocol"] == "socrata"
    assert ds["fields"]["name"] == "branch_name" and ds["fields"]["location"] == "location"
    assert ds["domain"].startswith("TODO") and ds["dataset_id"].startswith("TODO")
    path = _wrapped(text, tmp_path)
    capsys.readouterr()
    assert main(["profile", "check", str(path)]) == 1           # the TODO domain is not a host
    assert "domain" in capsys.readouterr().err
    fixed = text.replace(ds["domain"], "data.lacity.org").replace(ds["dataset_id"], "abcd-1234")
    assert _checks(fixed, tmp_path, capsys).domain == "data.lacity.org"


def test_bad_input_is_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert main(["profile", "draft", str(empty)]) == 1
    assert "empty CSV" in capsys.readouterr().err
    assert main(["profile", "draft", str(tmp_path / "nope.csv")]) == 1
    assert "no such file" in capsys.readouterr().err
    csv_file = tmp_path / "one.csv"
    csv_file.write_text("id,date\n1,2024-01-01\n", encoding="utf-8")
    assert main(["profile", "draft", str(csv_file), "--protocol", "gopher"]) == 1
    assert "gopher" in capsys.readouterr().err


def test_a_url_served_by_the_replay_portal(variants, tmp_path, capsys):
    local, _ = _draft(variants / "hhmm_xy.csv", tmp_path)
    with ReplayPortal(variants, []) as portal:
        url = f"{portal.base_url}/files/hhmm_xy.csv"
        text, ds = _draft(url, tmp_path)
    assert ds["url"] == url
    assert ds["fields"] == tomllib.loads(local)["datasets"]["hhmm_xy"]["fields"]
    assert ds["options"] == tomllib.loads(local)["datasets"]["hhmm_xy"]["options"]
    _checks(text, tmp_path, capsys)


def test_large_files_are_sampled_and_say_so(tmp_path, capsys):
    path = tmp_path / "many.csv"
    path.write_text("id,date,type\n" + "".join(f"{i},2024-01-{1 + i % 28:02d},THEFT\n" for i in range(1000)))
    text, _ = _draft(path, tmp_path, "--max-rows", "100")
    assert "one record in 10, 100 of 1,000" in text
    text, _ = _draft(path, tmp_path)
    assert "all 1,000 records" in text


# --- real exports --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def la_dir() -> Path:
    if not (LA_DIR / LA_CRIMES).exists():
        pytest.skip(f"real Los Angeles data not found at {LA_DIR} (clone the project beside ../shared)")
    return LA_DIR


def test_chicago_crimes(chicago_dir, tmp_path, capsys):
    text, ds = _draft(CHICAGO_CRIMES, tmp_path, "--name", "crimes")
    assert f"of {CHICAGO_CRIME_ROWS:,}" in text            # sampled, and says so
    assert ds["table"] == "incidents"
    assert ds["options"]["time_formats"] == ["%m/%d/%Y %I:%M:%S %p"]
    expected = {"source_id": "ID", "case_number": "Case Number", "occurred_at": "Date", "primary_type": "Primary Type",
                "description": "Description", "iucr": "IUCR", "fbi_code": "FBI Code", "block": "Block",
                "location_description": "Location Description", "arrest": "Arrest", "domestic": "Domestic",
                "beat": "Beat", "district": "District", "ward": "Ward", "community_area": "Community Area",
                "lat": "Latitude", "lon": "Longitude", "source_x": "X Coordinate", "source_y": "Y Coordinate",
                "source_updated_at": "Updated On"}
    assert ds["fields"] == expected
    assert "X Coordinate/Y Coordinate are projected, EPSG unknown — set crs" in text
    _checks(text, tmp_path, capsys, timezone="America/Chicago")


def test_la_crimes(la_dir, tmp_path, capsys):
    text, ds = _draft(la_dir / LA_CRIMES, tmp_path, "--name", "crimes")
    assert ds["options"]["time_formats"] == ["%m/%d/%Y %I:%M:%S %p"]
    assert {k: ds["fields"][k] for k in ("source_id", "occurred_at", "occurred_time", "reported_at", "primary_type",
                                         "district", "beat", "lat", "lon")} == {
        "source_id": "DR_NO", "occurred_at": "DATE OCC", "occurred_time": "TIME OCC", "reported_at": "Date Rptd",
        "primary_type": "Crm Cd Desc", "district": "AREA", "beat": "Rpt Dist No", "lat": "LAT", "lon": "LON"}
    assert "Coordinates: WGS84 longitude/latitude (degrees)" in text
    assert "AREA (21 codes" in text                        # an area candidate
    _checks(text, tmp_path, capsys, timezone="America/Los_Angeles")


@pytest.mark.slow
def test_la_draft_runs_over_replay(la_dir, prefect_harness, tmp_path, capsys):
    """The LA draft, wrapped and run through the replay portal, loads the crimes with under 5 % quarantined."""
    from civicmash.flows.pipeline import civic_pipeline

    text, _ = _draft(la_dir / LA_CRIMES, tmp_path, "--name", "crimes", "--replay", LA_CRIMES)
    path = _wrapped(text, tmp_path, name="la_draft", timezone="America/Los_Angeles")
    summary = civic_pipeline("la_draft", out=str(tmp_path / "out"), replay=str(la_dir), profile_path=str(path),
                             maps=[])
    crimes, = summary["datasets"]
    assert crimes["rows_in"] == LA_CRIME_ROWS
    assert crimes["rows_in"] == crimes["rows_loaded"] + crimes["rows_quarantined"] and not crimes["missing_fields"]
    assert crimes["rows_quarantined"] < 0.05 * crimes["rows_in"]
