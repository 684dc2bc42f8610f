"""`civicmash export spending --format fdp` and `civicmash export outcomes --format datapackage`: the sample city's
budget lines as a Fiscal Data Package and outcomes as CSV + Table Schema, both valid for frictionless; the CSV's
amounts recount (csv module, Decimal) to the warehouse's totals; a broken file is named by file, row and field.
The real Chicago budgets (slow) recount to the published totals."""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from decimal import Decimal

import pytest

from civicmash.flows.cli import main
from civicmash.warehouse.db import connect
from civicmash.warehouse.fiscal_package import validate
from civicmash.warehouse.schema import TABLES, apply_schema


def _totals(db, city):
    con = connect(db, read_only=True)
    try:
        return {y: (a, n) for y, a, n in con.execute(
            "SELECT fiscal_year, sum(amount), count(*) FROM spending WHERE city = ? GROUP BY 1", [city]).fetchall()}
    finally:
        con.close()


def _recount(path):
    sums, lines = defaultdict(Decimal), defaultdict(int)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sums[int(row["fiscal_year"])] += Decimal(row["amount"])
            lines[int(row["fiscal_year"])] += 1
    return {y: (sums[y], lines[y]) for y in sums}


@pytest.fixture(scope="module")
def fdp(sample_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("fdp") / "pkg"
    assert main(["export", "spending", "--format", "fdp", "--city", "sample", "--fiscal-year-start", "01-01",
                 "--db", str(sample_run["warehouse"]), "--output", str(out)]) == 0
    return out


def test_budget_lines_are_a_valid_fiscal_data_package(fdp, sample_run):
    assert validate(fdp / "datapackage.json") == []
    pkg = json.loads((fdp / "datapackage.json").read_text())
    res = pkg["resources"][0]
    types = {f["name"]: f.get("columnType") for f in res["schema"]["fields"]}
    assert types["fiscal_year"] == "date:fiscal-year" and types["amount"] == "value"
    assert types["department_id"] == "administrative-classification:generic:level1:code"
    assert types["department_label"] == "administrative-classification:generic:level1:label"
    assert types["account"] == "economic-classification:generic:level1:label"
    assert res["schema"]["extraFields"] == [{"name": "currency", "type": "string", "columnType": "value-currency:code",
                                             "constant": "USD"}]
    assert pkg["model"]["measures"]["amount"] == {"source": "amount", "resource": "budget_lines", "currency": "USD",
                                                  "factor": 1, "direction": "expenditure"}
    assert pkg["model"]["dimensions"]["administrative-classification"]["attributes"]["code"]["source"] == \
        "department_id"
    years = sorted(_totals(sample_run["warehouse"], "sample"))
    assert pkg["fiscalPeriod"] == {"start": f"{years[0]}-01-01", "end": f"{years[-1]}-12-31"}
    # every column documented: the warehouse's own data dictionary
    assert all(f["description"] for f in res["schema"]["fields"])


def test_budget_csv_recounts_to_the_warehouse(fdp, sample_run):
    want = _totals(sample_run["warehouse"], "sample")
    assert want and _recount(fdp / "budget_lines.csv") == want


def test_fiscal_period_follows_the_fiscal_year_start(sample_run, tmp_path):
    out = tmp_path / "jul"
    assert main(["export", "spending", "--format", "fdp", "--fiscal-year-start", "07-01", "--city", "sample",
                 "--db", str(sample_run["warehouse"]), "--output", str(out)]) == 0
    years = sorted(_totals(sample_run["warehouse"], "sample"))
    period = json.loads((out / "datapackage.json").read_text())["fiscalPeriod"]
    assert period == {"start": f"{years[0] - 1}-07-01", "end": f"{years[-1]}-06-30"}   # FY named for its end
    out2 = tmp_path / "none"
    assert main(["export", "spending", "--format", "fdp", "--city", "sample", "--db", str(sample_run["warehouse"]),
                 "--output", str(out2)]) == 0
    assert "fiscalPeriod" not in json.loads((out2 / "datapackage.json").read_text())   # never guessed


def test_a_broken_budget_file_is_named_by_row_and_field(fdp, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(fdp, bad)
    with open(bad / "budget_lines.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[1]["amount"] = "$1,000"
    rows[2]["fiscal_year"] = ""
    rows[3]["source_id"] = rows[4]["source_id"]
    rows[3]["dataset"] = rows[4]["dataset"]
    with open(bad / "budget_lines.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    errors = validate(bad)
    assert any(e.startswith("budget_lines.csv row 3 field amount: type-error") for e in errors), errors
    assert any(e.startswith("budget_lines.csv row 4 field fiscal_year: constraint-error") for e in errors), errors
    assert any(e.startswith("budget_lines.csv row") and "primary-key" in e for e in errors), errors


def test_bad_options_are_one_line_errors(sample_run, tmp_path, capsys):
    db = str(sample_run["warehouse"])
    assert main(["export", "incidents", "--format", "fdp", "--db", db]) == 1
    assert "--format fdp exports the spending table, not 'incidents'" in capsys.readouterr().err
    assert main(["export", "spending", "--format", "fdp", "--fiscal-year-start", "13-01", "--db", db,
                 "--output", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fiscal_year_start '13-01' is not a month-day" in err


@pytest.fixture(scope="module")
def outcomes_db(sample_run, tmp_path_factory):
    """The sample warehouse, with outcomes: its own when the sample city has an outcomes dataset, else monthly rows
    loaded through the real schema."""
    db = tmp_path_factory.mktemp("outcomes") / "w.duckdb"
    shutil.copy(sample_run["warehouse"], db)
    con = connect(db)
    apply_schema(con)
    if not con.execute("SELECT count(*) FROM outcomes WHERE city = 'sample'").fetchone()[0]:
        con.executemany("""
            INSERT INTO outcomes (city, dataset, source_id, measure, unit, entity_kind, entity_name, service_category,
                                  period_start, period_end, period_grain, value)
            VALUES ('sample', 'visits_fixture', ?, 'visitors', 'visits', 'service', ?, 'library',
                    make_date(2023, ?, 1), last_day(make_date(2023, ?, 1)), 'month', ?)""",
                        [(f"r{k}", f"Branch {k}", m, m, None if m == 12 else 10 * k + m)
                         for k in range(3) for m in range(1, 13)])
    con.close()
    return db


def test_outcomes_csv_with_its_table_schema(outcomes_db, tmp_path):
    out = tmp_path / "oc"
    assert main(["export", "outcomes", "--format", "datapackage", "--city", "sample", "--db", str(outcomes_db),
                 "--output", str(out)]) == 0
    assert validate(out) == []
    pkg = json.loads((out / "datapackage.json").read_text())
    fields = {f["name"]: f for f in pkg["resources"][0]["schema"]["fields"]}
    assert list(fields) == [c[0] for c in TABLES["outcomes"][1]]   # the warehouse's table, column for column
    assert fields["value"]["type"] == "number" and fields["period_start"]["type"] == "date"
    assert fields["period_grain"]["constraints"]["enum"] == ["month", "year"]
    assert all(f["description"] for f in fields.values())
    con = connect(outcomes_db, read_only=True)
    try:
        n, total = con.execute("SELECT count(*), sum(value) FROM outcomes WHERE city = 'sample'").fetchone()
    finally:
        con.close()
    with open(out / "outcomes.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n and sum(Decimal(r["value"]) for r in rows if r["value"]) == Decimal(str(total))
    assert any(r["value"] == "" for r in rows)   # a blank month stays blank, not 0
    # a broken file: named by row and field
    rows[0]["period_grain"] = "week"
    with open(out / "outcomes.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    errors = validate(out)
    assert any(e.startswith("outcomes.csv row 2 field period_grain: constraint-error") for e in errors), errors


@pytest.mark.slow
def test_chicago_budgets_recount_to_the_published_totals(chicago_run, tmp_path):
    db = chicago_run["warehouse"]
    want = _totals(db, "chicago")
    if 2025 not in want:
        pytest.skip("the Chicago run carries no 2025 budget (the multi-year spending datasets are not in its profile)")
    out = tmp_path / "c"
    assert main(["export", "spending", "--format", "fdp", "--city", "chicago", "--fiscal-year-start", "01-01",
                 "--db", str(db), "--output", str(out)]) == 0
    assert validate(out) == []
    got = _recount(out / "budget_lines.csv")
    assert got == want
    assert got[2025] == (Decimal("18842061980.00"), 3477)   # the independent recount of the raw file
