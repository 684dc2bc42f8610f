"""The sample city's money and outcomes (devkit/sample_money.py) through the session's sample pipeline run:
three budget years in three wire formats, contracts, projects by area with points kept out of the totals, and
monthly library visitors matched to the library services. Recounted from the generated files (csv, Decimal)."""

from __future__ import annotations

import contextlib
import csv
from collections import defaultdict
from decimal import Decimal

import duckdb

FILES = {2019: "budget.csv", 2023: "budget_2023.csv", 2024: "budget_2024.csv"}


def _q(run, sql):
    with contextlib.closing(duckdb.connect(str(run["warehouse"]), read_only=True)) as con:
        return con.execute(sql).fetchall()


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sample_budget_years_recount_per_department(sample_run, sample_city_dir):
    want: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for year, name in FILES.items():
        for row in _read(sample_city_dir / "spending" / name):
            amount = Decimal(list(row.values())[-1].replace("$", "").replace(",", ""))
            dept = (row.get("DEPARTMENT NUMBER") or row.get("department_number")).lstrip("0")
            want[(year, dept)] += amount
    got = {(y, d): a for y, d, a in _q(sample_run, "SELECT fiscal_year, department_id, amount "
                                                   "FROM budget_by_department_year WHERE city = 'sample'")}
    assert got == dict(want)
    labels = _q(sample_run, "SELECT count(DISTINCT department_label) FROM spending WHERE department_id = '95'")
    assert labels == [(1,)]   # renamed in 2024: one id, one label across years


def test_sample_has_every_part_of_the_spending_page(sample_run, sample_city_dir):
    lines = _read(sample_city_dir / "spending" / "area_projects.csv")
    total = sum((Decimal(r["cost"]) for r in lines), Decimal(0))
    assert _q(sample_run, "SELECT sum(amount), sum(projects) FROM place_spending_by_area_year") == [(total, len(lines))]
    assert _q(sample_run, "SELECT count(*) > 0 FROM place_spending WHERE NOT in_totals AND lat IS NOT NULL") == [(True,)]
    assert _q(sample_run, "SELECT count(*) FROM contract_revisions") == \
        [(len(_read(sample_city_dir / "spending" / "contracts.csv")),)]
    rows = _q(sample_run, "SELECT year, count(*), count(service_id), min(months), max(months) "
                          "FROM outcomes_by_entity_year GROUP BY 1 ORDER BY 1")
    assert rows == [(2023, 5, 5, 12, 12), (2024, 5, 5, 4, 4)]
    assert _q(sample_run, "SELECT count(*) FROM quarantine WHERE city = 'sample' AND dataset = 'library_visitors_2024' "
                          "AND reason = 'excluded_by_profile'") == [(2,)]
