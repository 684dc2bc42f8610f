"""`civicmash export services --format hsds` (HSDS 3.1, the default): the sample city's services as fully nested
HSDS 3.1 service objects, valid against the specification's own JSON schema (vendored, checked with jsonschema),
with the services' yearly outcomes attached as attributes; the validator names the service and the JSON path of
what is wrong. The real Chicago run (slow) is checked the same way."""

from __future__ import annotations

import copy
import json
import shutil
import uuid

import pytest

from civicmash.flows.cli import main
from civicmash.warehouse.db import connect
from civicmash.warehouse.hsds31 import SCHEMA_PATH, validate_file, validate_services
from civicmash.warehouse.schema import apply_schema


def _services_rows(db, city):
    con = connect(db, read_only=True)
    try:
        return con.execute("SELECT count(*) FROM services WHERE city = ?", [city]).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def with_outcomes(sample_run, tmp_path_factory):
    """A copy of the sample warehouse with monthly outcomes of two services, loaded through the real schema (the
    sample city's generated files have no outcomes dataset yet)."""
    tmp = tmp_path_factory.mktemp("hsds31")
    db = tmp / "w.duckdb"
    shutil.copy(sample_run["warehouse"], db)
    con = connect(db)
    apply_schema(con)
    services = con.execute("SELECT source_id, category FROM services WHERE city = 'sample' "
                           "ORDER BY dataset, source_id LIMIT 2").fetchall()
    rows = []
    for k, (sid, cat) in enumerate(services):
        for m in range(1, 13):
            value = None if (k, m) == (0, 12) else 100 * (k + 1) + m   # December of the first: not reported
            rows.append(("sample", "outcome_fixture", f"r{k}", "fixture_visits", "visits", "service", f"Site {k}", sid,
                         cat, f"2023-{m:02d}-01", "month", value))
    rows.append(("sample", "outcome_fixture", "dept", "fixture_visits", "visits", "department", "All", None, None,
                 "2023-01-01", "year", 5.0))
    con.executemany("""
        INSERT INTO outcomes (city, dataset, source_id, measure, unit, entity_kind, entity_name, service_id,
                              service_category, period_start, period_end, period_grain, value)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS DATE),
                CAST(? AS DATE) + INTERVAL 1 MONTH - INTERVAL 1 DAY, ?, ?)""",
                    [r[:10] + (r[9],) + r[10:] for r in rows])
    con.close()
    return {"db": db, "services": services, "tmp": tmp}


def test_sample_services_are_valid_hsds_31(sample_run, tmp_path):
    out = tmp_path / "hsds31"
    assert main(["export", "services", "--format", "hsds", "--city", "sample", "--db", str(sample_run["warehouse"]),
                 "--output", str(out)]) == 0
    services = json.loads((out / "services.json").read_text())
    assert validate_services(services) == [] and validate_file(out) == []
    assert len(services) == _services_rows(sample_run["warehouse"], "sample") > 0
    about = json.loads((out / "about.json").read_text())
    assert about["version"] == "3.1"
    # 3.x: every id a UUID, the category an attribute with a taxonomy term, locations nested and physical
    for s in services:
        uuid.UUID(s["id"])
        assert s["organization"]["id"] == s["organization_id"]
        assert s["service_at_locations"] and all(sal["location"]["location_type"] == "physical"
                                                 for sal in s["service_at_locations"])
        cats = [a for a in s["attributes"] if a["taxonomy_term"]["taxonomy"] == "civicmash service categories"]
        assert len(cats) == 1 and cats[0]["link_id"] == s["id"] and cats[0]["link_entity"] == "service"
    # the schema used is the specification's 3.1 compiled schema (3.1 added capacities, additional_urls, url)
    spec = json.loads(SCHEMA_PATH.read_text())
    assert {"capacities", "additional_urls"} <= set(spec["properties"]) and "url" in spec["definitions"]


def test_outcomes_are_yearly_attributes_of_their_service(with_outcomes, tmp_path):
    out = tmp_path / "o"
    assert main(["export", "services", "--format", "hsds", "--city", "sample", "--db", str(with_outcomes["db"]),
                 "--output", str(out)]) == 0
    services = json.loads((out / "services.json").read_text())
    assert validate_services(services) == []
    got = {}
    for s in services:
        for a in s["attributes"]:
            if a["taxonomy_term"]["code"] == "outcome:fixture_visits":
                got[s["alternate_name"] or s["name"]] = a
    assert len(got) == 2   # the department-level row is no service: not attached
    values = sorted(int(a["value"]) for a in got.values())
    # first site: Jan-Nov reported (101..111), December blank; second: 201..212
    assert values == [sum(range(101, 112)), sum(range(201, 213))]
    first = next(a for a in got.values() if int(a["value"]) == sum(range(101, 112)))
    assert "2023" in first["label"] and "11 months" in first["label"] and "outcome_fixture" in first["label"]
    assert json.loads((out / "about.json").read_text())["outcome_attributes"] >= 2


def test_validator_names_service_and_path(sample_run, tmp_path):
    out = tmp_path / "v"
    assert main(["export", "services", "--format", "hsds", "--city", "sample", "--db", str(sample_run["warehouse"]),
                 "--output", str(out)]) == 0
    services = json.loads((out / "services.json").read_text())
    bad = copy.deepcopy(services)
    bad[0]["status"] = "open-ish"
    bad[1]["id"] = "not-a-uuid"
    del bad[2]["service_at_locations"][0]["location"]["location_type"]
    bad[3]["organization"]["website"] = "not a url"
    bad[4]["id"] = bad[5]["id"]
    errors = validate_services(bad)
    name0 = bad[0]["name"]
    assert any(e.startswith(f"service #0 ({name0!r}") and "at status: 'open-ish' is not one of" in e
               for e in errors), errors
    assert any(e.startswith("service #1") and "at id: 'not-a-uuid' is not a 'uuid'" in e for e in errors), errors
    assert any(e.startswith("service #2") and "service_at_locations/0/location" in e
               and "'location_type' is a required property" in e for e in errors), errors
    assert any(e.startswith("service #3") and "organization/website" in e for e in errors), errors
    assert any(e.startswith("service #5") and "repeats" in e for e in errors), errors
    (out / "services.json").write_text("{not json")
    assert validate_file(out)[0].startswith("services.json: cannot be read as JSON")


def test_hsds_export_of_another_table_is_a_one_line_error(sample_run, capsys):
    assert main(["export", "incidents", "--format", "hsds", "--db", str(sample_run["warehouse"])]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--format hsds exports the services table, not 'incidents'" in err


@pytest.mark.slow
def test_chicago_services_are_valid_hsds_31(chicago_run, tmp_path):
    db = chicago_run["warehouse"]
    out = tmp_path / "c"
    assert main(["export", "services", "--format", "hsds", "--city", "chicago", "--db", str(db),
                 "--output", str(out)]) == 0
    services = json.loads((out / "services.json").read_text())
    assert validate_services(services) == []
    assert len(services) == _services_rows(db, "chicago")
    con = connect(db, read_only=True)
    try:
        want = dict(con.execute(
            "SELECT measure, sum(value) FROM outcomes WHERE city = 'chicago' AND service_id IS NOT NULL "
            "AND value IS NOT NULL GROUP BY 1").fetchall())
        matched = con.execute("SELECT count(DISTINCT (service_id, measure, year(period_start))) FROM outcomes "
                              "WHERE city = 'chicago' AND service_id IS NOT NULL AND value IS NOT NULL").fetchone()[0]
    finally:
        con.close()
    if not matched:
        pytest.skip("the Chicago run carries no outcomes matched to services")
    got: dict[str, float] = {}
    attached = 0
    for s in services:
        for a in s["attributes"]:
            code = a["taxonomy_term"]["code"]
            if code.startswith("outcome:"):
                attached += 1
                got[code.removeprefix("outcome:")] = got.get(code.removeprefix("outcome:"), 0) + float(a["value"])
    assert attached == matched   # one attribute per service, measure and year with data
    assert got == pytest.approx(want)   # the library visitors, circulation, sessions: every matched month counted
