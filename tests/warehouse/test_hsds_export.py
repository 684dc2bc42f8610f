"""`civicmash export services --format hsds --hsds-version 2.0.1`: the real Chicago libraries, warming centres and
police stations as an Open Referral HSDS tabular package that validates against the vendored HSDS 2.0.1 schema; the validator
names the file, row and field of what is wrong."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from civicmash.warehouse.hsds import validate_package
from tests.warehouse.helpers import load, read_csv_records

DATASETS = ("libraries", "warming_centres", "police_stations")
FILES = {"libraries": "libraries.csv", "warming_centres": "warming_centers.csv",
         "police_stations": "police_stations.csv"}


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    from tests.warehouse.helpers import CHICAGO

    if not (CHICAGO / "PROVENANCE.md").exists():
        pytest.skip(f"real Chicago data not found at {CHICAGO}")
    from civicmash.cities.profile import load_profile
    from civicmash.flows.cli import main
    from civicmash.warehouse.db import connect
    from civicmash.warehouse.services import build_service_hours

    tmp = tmp_path_factory.mktemp("hsds")
    db = tmp / "civicmash.duckdb"
    con = connect(db)
    profile = load_profile("chicago")
    for name in DATASETS:
        spec = profile.datasets[name]
        res = load(con, tmp, read_csv_records(CHICAGO / "services" / FILES[name]), table="services",
                   fields=dict(spec.fields), options=dict(spec.options), kind=spec.kind, dataset=name, city="chicago",
                   source_meta={"protocol": "socrata", "licence": spec.licence, "title": spec.title})
        assert res.rows_quarantined == 0
    build_service_hours(con, city="chicago")
    con.close()
    out = tmp / "hsds"
    assert main(["export", "services", "--format", "hsds", "--hsds-version", "2.0.1", "--city", "chicago",
                 "--db", str(db), "--output", str(out)]) == 0
    return out


def _rows(path, name):
    with open(path / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_package_validates_against_the_hsds_schema(package):
    assert validate_package(package / "datapackage.json") == []
    pkg = json.loads((package / "datapackage.json").read_text())
    assert pkg["version"] == "2.0.1" and pkg["profile"] == "tabular-data-package"
    assert {r["name"] for r in pkg["resources"]} >= {"organization", "service", "location", "service_at_location",
                                                      "schedule"}
    services = _rows(package, "services.csv")
    assert len(services) == 81 + 113 + 23
    orgs = {o["name"] for o in _rows(package, "organizations.csv")}
    assert {"Chicago Public Library", "Chicago Police Department",
            "Chicago Department of Family and Support Services"} <= orgs
    # a warming centre inside a library branch is a second service at the same location
    sal = _rows(package, "services_at_location.csv")
    locations = _rows(package, "locations.csv")
    assert len(sal) == len(services) and len(locations) < len(services)


def test_schedules_are_the_hours_as_read_and_nothing_else(package):
    services = {s["id"]: s for s in _rows(package, "services.csv")}
    sched = _rows(package, "schedules.csv")
    assert sched and all(s["freq"] == "WEEKLY" and s["byday"] in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
                         for s in sched)
    police = {sid for sid, s in services.items() if s["name"].startswith("Police station")}
    assert len(police) == 23 and not police & {s["service_id"] for s in sched}   # no hours published: none made up
    # Harold Washington Library Center (sic in the source): "Mon. - Thu., 9-9; Fri. & Sat., 9-5; Sun., 1-5"
    hw = next(sid for sid, s in services.items() if s["alternate_name"] == "Harold Washtington Library Center")
    week = sorted((s["byday"], s["opens_at"], s["closes_at"]) for s in sched if s["service_id"] == hw)
    assert ("MO", "09:00:00", "21:00:00") in week and ("SU", "13:00:00", "17:00:00") in week and len(week) == 7


def test_validator_names_file_row_and_field(package, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(package, bad)
    rows = _rows(bad, "services.csv")
    rows[2]["status"] = "open-ish"
    rows[4]["organization_id"] = "00000000-0000-0000-0000-000000000000"
    with open(bad / "services.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    sched = _rows(bad, "schedules.csv")
    sched[0]["opens_at"] = "25:99"
    with open(bad / "schedules.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(sched[0]))
        w.writeheader()
        w.writerows(sched)
    errors = validate_package(bad)
    assert any(e.startswith("services.csv row 4 field status") for e in errors), errors
    assert any(e.startswith("services.csv row 6 field organization_id") and "not an id of organization" in e
               for e in errors), errors
    assert any(e.startswith("schedules.csv row 2 field opens_at") for e in errors), errors
    (bad / "phones.csv").unlink()
    assert "phones.csv: missing (resource phone)" in validate_package(bad)
