"""Money and outcomes (issue 16): independent recounts from the raw files (csv module + Decimal) equal the
warehouse views, and one test per quirk of the real files (../shared/data/*/PROVENANCE.md, third pass).

One Prefect pipeline run per city over the money datasets only (through the loopback replay portal, no maps),
shared by the module's tests. Real data: slow.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_pipeline

pytestmark = pytest.mark.slow

BUDGETS = {2019: "budget_2019_appropriations.csv", 2023: "budget_2023_appropriations_api.csv",
           2024: "budget_2024_appropriations.csv", 2025: "budget_2025_appropriations.csv",
           2026: "budget_2026_appropriations_api.csv"}
# PROVENANCE.md: lines and totals per year (2019 from the file's own sum, stated there as $11.40B)
EXPECTED = {2023: (3447, Decimal("17974994000")), 2024: (3584, Decimal("18341105000.00")),
            2025: (3477, Decimal("18842061980.00")), 2026: (3268, Decimal("18668568460"))}
MEASURES = ("visitors", "circulation", "computer_sessions")
MONTHS = ("JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER",
          "NOVEMBER", "DECEMBER")


def _money_datasets() -> list[str]:
    names = ["libraries", "contracts", "menu_money", "menu_money_points"]
    names += [f"budget_{y}" for y in BUDGETS]
    names += [f"library_{m}_{y}" for m in MEASURES for y in range(2017, 2024)]
    return names


@pytest.fixture(scope="module")
def chicago_money(prefect_harness, chicago_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("chicago_money")
    run_pipeline("chicago", out=str(out), replay=str(chicago_dir), datasets=_money_datasets(), maps=[])
    return out / "civicmash.duckdb"


@pytest.fixture(scope="module")
def la_money(prefect_harness, la_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("la_money")
    run_pipeline("los_angeles", out=str(out), replay=str(la_dir), maps=[],
                 datasets=["neighbourhood_councils", "budget_2021_22", "general_fund_2014",
                           "neighbourhood_council_spending"])
    return out / "civicmash.duckdb"


def _q(db: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        return con.execute(sql, params or {}).fetchall()


def _dollars(text: str) -> Decimal:
    """Independent reading of the three formats: 7028929.00, "$-74,000,000.00", 309."""
    return Decimal(text.replace("$", "").replace(",", "").strip())


def _budget_rows(chicago_dir: Path, year: int) -> list[dict]:
    with open(chicago_dir / "spending" / BUDGETS[year], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:  # the three header spellings: the amount is always the last column
        r["_amount"] = _dollars(list(r.values())[-1])
        r["_dept"] = (r.get("DEPARTMENT NUMBER") or r.get("department_number")).lstrip("0")
    return rows


# ------------------------------------------------------------------------------------------ recounts

@pytest.mark.parametrize("year", sorted(BUDGETS))
def test_budget_year_total_and_lines_equal_the_raw_file(chicago_money, chicago_dir, year):
    rows = _budget_rows(chicago_dir, year)
    total = sum((r["_amount"] for r in rows), Decimal(0))
    if year in EXPECTED:
        assert (len(rows), total) == EXPECTED[year]
    (lines, amount), = _q(chicago_money, "SELECT sum(lines), sum(amount) FROM budget_by_department_year "
                                         "WHERE city = 'chicago' AND fiscal_year = $y", {"y": year})
    assert (lines, amount) == (len(rows), total)


def test_2025_is_18_842_061_980_over_3477_lines(chicago_money):
    assert _q(chicago_money, "SELECT count(*), sum(amount) FROM spending WHERE fiscal_year = 2025") == \
        [(3477, Decimal("18842061980.00"))]


@pytest.mark.parametrize("year", sorted(BUDGETS))
def test_budget_per_department_per_year_equals_the_raw_file(chicago_money, chicago_dir, year):
    want: dict[str, Decimal] = defaultdict(Decimal)
    for r in _budget_rows(chicago_dir, year):
        dep = "38-ais" if (r["_dept"], year) == ("38", 2023) else r["_dept"]   # the profile's crosswalk
        want[dep] += r["_amount"]
    got = dict(_q(chicago_money, "SELECT department_id, amount FROM budget_by_department_year "
                                 "WHERE city = 'chicago' AND fiscal_year = $y", {"y": year}))
    assert got == dict(want)


def test_library_budget_per_year_matches_provenance(chicago_money):
    got = dict(_q(chicago_money, "SELECT fiscal_year, amount FROM budget_by_department_year "
                                 "WHERE department_id = '91'"))
    assert got == {2019: Decimal("71420108"), 2023: Decimal("113371472"), 2024: Decimal("116976333"),
                   2025: Decimal("122105043"), 2026: Decimal("116016346")}


def test_menu_money_per_ward_year_equals_the_raw_file_and_points_do_not_count_twice(chicago_money, chicago_dir):
    want: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    with open(chicago_dir / "spending" / "menu_money_line_items_2012_2023.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        want[(r["ward"], int(r["year"]))] += Decimal(r["cost"])
    got = dict(((w, y), a) for w, y, a in _q(chicago_money, """SELECT area_code, fiscal_year, sum(amount)
        FROM place_spending_by_area_year WHERE city = 'chicago' AND area_kind = 'ward' GROUP BY ALL"""))
    assert len(rows) == 28108 and got == dict(want)
    # the geocoded 2019-2022 projects are there for their points, out of the sums
    (points, located), = _q(chicago_money, "SELECT count(*), count(lat) FROM place_spending "
                                           "WHERE dataset = 'menu_money_points' AND NOT in_totals")
    assert points == 9939 and 8000 < located < 9939


def _outcome_file(chicago_dir: Path, measure: str, year: int) -> list[dict]:
    with open(chicago_dir / "outcomes" / f"library_{measure}_{year}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _is_branch(row: dict, measure: str, year: int) -> bool:
    name = (row.get("BRANCH") if year >= 2020 else row.get("LOCATION")) or ""
    if not name.strip():
        return False  # the 2023 grand-total row
    if measure == "circulation":
        if year >= 2019:
            return bool((row.get("ADDRESS") or "").strip())
        return name.strip() not in ("Downloadable Media", "Online Renewals", "Itivia Renewal")
    return True


@pytest.mark.parametrize("year", range(2017, 2024))
def test_library_visitors_per_branch_year_equal_the_raw_file(chicago_money, chicago_dir, year):
    want = {}
    for r in _outcome_file(chicago_dir, "visitors", year):
        name = re.sub(r"\s+", " ", (r.get("BRANCH") if year >= 2020 else r["LOCATION"]).strip())
        want[name] = sum(int(r[m]) for m in MONTHS if r[m].strip())
    got = dict(_q(chicago_money, """SELECT entity_name, value FROM outcomes_by_entity_year
                                   WHERE measure = 'visitors' AND year = $y""", {"y": year}))
    assert got == want


def test_library_outcome_totals_without_non_branch_and_grand_total_rows(chicago_money, chicago_dir):
    for measure in MEASURES:
        for year in range(2017, 2024):
            rows = _outcome_file(chicago_dir, measure, year)
            want = sum(int(r[m]) for r in rows if _is_branch(r, measure, year) for m in MONTHS if r[m].strip())
            got = _q(chicago_money, "SELECT sum(value) FROM outcomes_by_entity_year WHERE measure = $m AND year = $y",
                     {"m": measure, "y": year})[0][0]
            assert got == want, (measure, year)


def test_every_dataset_rows_in_equal_loaded_plus_quarantined(chicago_money):
    rows = _q(chicago_money, "SELECT dataset, rows_in, rows_loaded, rows_quarantined FROM datasets")
    assert len(rows) == len(_money_datasets())
    assert all(i == l + q for _, i, l, q in rows)


# ------------------------------------------------------------------------------------------ quirks

def test_three_header_spellings_load_every_field(chicago_money):
    """Portal export, SODA names and the sodapy dump (amount column without a year) all map every field."""
    rows = _q(chicago_money, """SELECT fiscal_year, count(*) FILTER (WHERE department_code IS NULL OR fund_code IS NULL
                                    OR account_code IS NULL OR amount IS NULL OR fund_label IS NULL), count(*)
                                FROM spending GROUP BY ALL ORDER BY 1""")
    assert [r[0] for r in rows] == sorted(BUDGETS) and all(r[1] == 0 for r in rows)


def test_three_amount_formats_and_negatives(chicago_money):
    got = _q(chicago_money, "SELECT fiscal_year, count(*) FROM spending WHERE amount < 0 GROUP BY ALL ORDER BY 1")
    assert dict(got)[2019] == 3 and dict(got)[2025] == 10 and dict(got)[2026] == 2
    assert _q(chicago_money, "SELECT count(*) FROM spending WHERE fiscal_year = 2025 AND amount = -74000000")[0][0] >= 1
    assert _q(chicago_money, "SELECT count(*) FROM quarantine WHERE dataset LIKE 'budget_%'") == [(0,)]


def test_account_codes_padded_across_years(chicago_money):
    rows = dict(_q(chicago_money, """SELECT fiscal_year, count(*) FILTER (WHERE account_code = '0005')
                                     FROM spending GROUP BY ALL"""))
    assert all(rows[y] > 0 for y in BUDGETS)
    assert _q(chicago_money, "SELECT count(*) FROM spending WHERE fiscal_year = 2019 AND "
                             "regexp_full_match(account_code, '[0-9]{1,3}')") == [(0,)]


def test_department_names_short_in_2019_spelled_out_everywhere(chicago_money):
    rows = _q(chicago_money, """SELECT DISTINCT department, department_label, department_abbrev FROM spending
                                WHERE fiscal_year = 2019 AND department_id = '57'""")
    assert rows == [("CPD", "Chicago Police Department", "CPD")]
    labels = [r[0] for r in _q(chicago_money, "SELECT DISTINCT department_label FROM spending")]
    assert all(" " in label or label.istitle() for label in labels)   # no bare acronym as a label
    assert _q(chicago_money, "SELECT count(DISTINCT department_label) FROM spending WHERE department_id = '91'") == [(1,)]


def test_department_38_changes_meaning(chicago_money):
    rows = _q(chicago_money, """SELECT fiscal_year, department_id, any_value(department_label), any_value(department)
                                FROM spending WHERE department_code = '38' GROUP BY ALL ORDER BY 1""")
    ids = {y: i for y, i, _, _ in rows}
    assert ids == {2019: "38", 2023: "38-ais", 2024: "38", 2025: "38", 2026: "38"}
    assert rows[1][2] == "Department of Assets, Information and Services"
    assert rows[1][3] == "Department of Assets  Information  and Services"   # as published, double spaces kept


def test_grant_funds_recoded_before_2025(chicago_money):
    rows = dict(_q(chicago_money, """SELECT fiscal_year, count(DISTINCT fund_id) FILTER (WHERE fund_id = 'GRANTS')
                                     FROM spending GROUP BY ALL"""))
    assert rows == {2019: 1, 2023: 1, 2024: 1, 2025: 0, 2026: 0}
    assert _q(chicago_money, "SELECT count(DISTINCT fund_code) FROM spending WHERE fiscal_year = 2024 "
                             "AND fund_id = 'GRANTS'")[0][0] > 400   # the published per-grant codes are kept
    assert _q(chicago_money, "SELECT count(*) FROM spending WHERE fund_id = '0075'")[0][0] > 0
    assert _q(chicago_money, "SELECT count(*) FROM spending WHERE fiscal_year = 2025 AND fund_id = '925F'")[0][0] > 0
    # one label per fund and year, whitespace collapsed
    assert _q(chicago_money, """SELECT count(*) FROM (SELECT city, fund_id, fiscal_year FROM spending
                                GROUP BY ALL HAVING count(DISTINCT fund_label) > 1)""") == [(0,)]
    assert _q(chicago_money, "SELECT count(*) FROM spending WHERE fund_label LIKE '%  %'") == [(0,)]


def test_non_branch_and_grand_total_rows_are_quarantined_with_a_reason(chicago_money, chicago_dir):
    rows = _q(chicago_money, """SELECT dataset, field, count(*) FROM quarantine WHERE reason = 'excluded_by_profile'
                                GROUP BY ALL""")
    got = {(d, f): n for d, f, n in rows}
    assert got[("library_circulation_2019", "keep ADDRESS: not_empty")] == 3
    assert got[("library_circulation_2023", "keep ADDRESS: not_empty")] == 6   # 5 non-branch + the grand total
    assert got[("library_computer_sessions_2023", "keep BRANCH: not_empty")] == 1
    assert sum(n for (d, _), n in got.items() if d.startswith("library_circulation_201")) == 9   # 2017-2019


def test_branches_matched_to_library_services(chicago_money):
    """Normalised names + the profile's aliases: every physical branch but Roosevelt and YOUmedia (to 2018)."""
    unmatched = {r[0] for r in _q(chicago_money, """SELECT DISTINCT entity_name FROM outcomes
                                                   WHERE service_id IS NULL""")}
    assert {re.sub(r"[^a-z]", "", n.lower()) for n in unmatched} <= {"roosevelt", "youmedia"}
    rate = _q(chicago_money, "SELECT count(service_id) / count(*) FROM outcomes")[0][0]
    assert rate > 0.97


def test_contracts_quirks(chicago_money):
    assert _q(chicago_money, "SELECT count(*) FROM contract_revisions") == [(20000,)]
    assert _q(chicago_money, "SELECT count(*) FROM contract_revisions WHERE description LIKE '%' || chr(10) || '%'")[0][0] >= 1
    assert _q(chicago_money, "SELECT count(*) FROM contract_revisions WHERE vendor_zip IS NOT NULL "
                             "AND length(vendor_zip) <> 5") == [(0,)]
    assert _q(chicago_money, "SELECT approval_date FROM contract_revisions WHERE contract_number = '302701'") == \
        [(__import__("datetime").date(2025, 3, 13),)]
    assert _q(chicago_money, "SELECT count(*) FROM contract_revisions WHERE contract_number = 'E011442'")[0][0] >= 1
    assert _q(chicago_money, "SELECT count(*) FROM contract_revisions WHERE amount < 0") == [(2877,)]
    (contracts,), = _q(chicago_money, "SELECT sum(contracts) FROM contracts_by_vendor")
    assert contracts >= 13258 - 5   # distinct numbers, per vendor


# ------------------------------------------------------------------------------------------ Los Angeles

def test_la_adopted_budget_grand_total_row_is_not_summed(la_money):
    assert _q(la_money, "SELECT sum(amount) FROM budget_by_department_year WHERE dataset = 'budget_2021_22'") == \
        [(Decimal("11480288113.00"),)]
    assert _q(la_money, "SELECT count(*) FROM quarantine WHERE dataset = 'budget_2021_22' "
                        "AND reason = 'excluded_by_profile'") == [(2,)]


def test_la_neighbourhood_council_spending_by_council(la_money):
    (rows, placed), = _q(la_money, "SELECT count(*), count(area_code) FROM place_spending "
                                   "WHERE dataset = 'neighbourhood_council_spending'")
    assert rows == 463 and placed > 300
    assert _q(la_money, """SELECT count(*) FROM place_spending p LEFT JOIN boundaries b ON b.city = p.city
                           AND b.kind = p.area_kind AND b.code = p.area_code
                           WHERE p.area_code IS NOT NULL AND b.code IS NULL""") == [(0,)]


def test_la_years_join_on_department_id_across_names_and_codes(la_money):
    """2012-2014 publish names only: the same name as a coded 2021-22 line, or the profile's names, give its id."""
    rows = dict(((d, y), n) for d, y, n in _q(la_money, """SELECT department_id, fiscal_year, count(*) FROM spending
        WHERE department_id IN ('70', '82', '2') GROUP BY ALL"""))
    assert {(d, y) for d, y in rows} >= {("70", 2014), ("70", 2022), ("82", 2012), ("82", 2022), ("2", 2012),
                                         ("2", 2022)}
    labels = _q(la_money, "SELECT DISTINCT department_label FROM spending WHERE department_id = '82'")
    assert labels == [("Bureau of Sanitation",)]   # the latest year's name, for every year
    names_only = _q(la_money, """SELECT count(DISTINCT department_id) FROM spending WHERE dataset = 'general_fund_2014'
                                 AND department_id = upper(department)""")[0][0]
    assert names_only <= 3   # Los Angeles Convention Center, Non-departmental - General, Treasurer
