"""Money and outcomes loading (issue 16), on small landing pages through the real loader: strict amounts with a
quarantine row naming dataset, row and field; the profile's department crosswalk, fund recodes and code widths;
labels across years whatever the load order; contract vendors and dates; place spending in/out of totals; wide
outcome files, excluded rows and matching to services. The real files' recounts: test_money_recounts.py."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tests.warehouse.helpers import load

MONEY = {"fund_code_width": 4, "account_code_width": 4,
         "departments": {"38": {"label": "Department of Fleet and Facility Management", "abbrev": "2FM"},
                         "38-ais": {"label": "Department of Assets, Information and Services", "codes": ["38"],
                                    "from_year": 2023, "to_year": 2023},
                         "57": {"abbrev": "CPD"}},
         "fund_recodes": [{"to": "GRANTS", "label": "Grant funds", "fund_types": ["GRANTS"], "to_year": 2024,
                           "except_codes": ["0075"]}],
         "service_aliases": {"Legler Regional": "Legler"}}
SPEND_FIELDS = {"fiscal_year": "year", "department_code": "dept", "department": "dept_name", "fund_code": "fund",
                "fund": "fund_name", "fund_type": "fund_type", "account_code": "acct", "amount": "amount"}


def _line(year, dept, name, amount, *, fund="0100", fund_name="Corporate Fund", fund_type="LOCAL", acct="5"):
    return {"year": str(year), "dept": dept, "dept_name": name, "fund": fund, "fund_name": fund_name,
            "fund_type": fund_type, "acct": acct, "amount": amount}


def test_bad_amount_is_quarantined_naming_dataset_row_and_field(con, tmp_path):
    rows = [_line(2019, "57", "CPD", "7028929.00"), _line(2019, "57", "CPD", '$-74,000,000.00'),
            _line(2019, "57", "CPD", "309"), _line(2019, "57", "CPD", "12.345"), _line(2019, "57", "CPD", "n/a"),
            _line(2019, "57", "CPD", "(1,000.50)")]
    result = load(con, tmp_path, rows, table="spending", fields=SPEND_FIELDS, dataset="budget_2019",
                  options={"money": MONEY})
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (6, 4, 2)
    assert con.execute("SELECT dataset, row_number, field, reason FROM quarantine ORDER BY row_number").fetchall() == \
        [("budget_2019", 4, "amount", "bad_amount"), ("budget_2019", 5, "amount", "bad_amount")]
    assert sorted(r[0] for r in con.execute("SELECT amount FROM spending").fetchall()) == \
        [Decimal("-74000000.00"), Decimal("-1000.50"), Decimal("309.00"), Decimal("7028929.00")]


def test_department_crosswalk_labels_and_codes_across_years_in_any_order(con, tmp_path):
    later = [_line(2025, "057", "Chicago Police Department", "10"), _line(2025, "38", "Department of Fleet", "1"),
             _line(2023, "38", "Department of Assets  Information  and Services", "2", acct="0005"),
             _line(2025, "091", "Chicago Public Library", "3")]
    early = [_line(2019, "57", "CPD", "5"), _line(2019, "91", "CPL", "4"), _line(2019, "15", "CITY COUNCIL", "1")]
    load(con, tmp_path, later, table="spending", fields=SPEND_FIELDS, dataset="b2025", options={"money": MONEY})
    load(con, tmp_path, early, table="spending", fields=SPEND_FIELDS, dataset="b2019", options={"money": MONEY})
    rows = con.execute("""SELECT fiscal_year, department_id, department_label, department_abbrev, account_code
                          FROM spending ORDER BY fiscal_year, department_id""").fetchall()
    assert rows == [
        (2019, "15", "City Council", None, "0005"),       # the only year: the 2019 capitals in title case
        (2019, "57", "Chicago Police Department", "CPD", "0005"),   # the latest year's name, the profile's acronym
        (2019, "91", "Chicago Public Library", None, "0005"),
        (2023, "38-ais", "Department of Assets, Information and Services", None, "0005"),
        (2025, "38", "Department of Fleet and Facility Management", "2FM", "0005"),
        (2025, "57", "Chicago Police Department", "CPD", "0005"),
        (2025, "91", "Chicago Public Library", None, "0005")]
    view = con.execute("SELECT count(*) FROM budget_by_department_year").fetchone()[0] if _views(con) else None
    assert view == 7


def _views(con) -> bool:
    from civicmash.warehouse.views import create_views

    create_views(con)
    return True


def test_fund_recode_padding_and_one_label_per_fund_year(con, tmp_path):
    rows = [_line(2024, "50", "DFSS", "1", fund="GA00", fund_name="Coronavirus  Fund", fund_type="GRANTS"),
            _line(2024, "5", "OBM", "1", fund="75", fund_name="Grants Management Fund", fund_type="GRANTS"),
            _line(2024, "1", "Mayor", "1", fund="100", fund_name="Corporate  Fund"),
            _line(2024, "1", "Mayor", "1", fund="0100", fund_name="Corporate Fund"),
            _line(2025, "50", "DFSS", "1", fund="925F", fund_name="Federal Grant Fund", fund_type="GRANTS")]
    load(con, tmp_path, rows, table="spending", fields=SPEND_FIELDS, options={"money": MONEY})
    got = con.execute("SELECT fiscal_year, fund_code, fund_id, fund_label FROM spending ORDER BY ALL").fetchall()
    assert got == [(2024, "0100", "0100", "Corporate Fund"), (2024, "100", "0100", "Corporate Fund"),
                   (2024, "75", "0075", "Grants Management Fund"), (2024, "GA00", "GRANTS", "Grant funds"),
                   (2025, "925F", "925F", "Federal Grant Fund")]
    assert con.execute("SELECT DISTINCT fund_type FROM spending ORDER BY 1").fetchall() == [("GRANTS",), ("LOCAL",)]


def test_line_kind_from_options(con, tmp_path):
    load(con, tmp_path, [_line(2015, "02", "AGING", "$62114.00")], table="spending", fields=SPEND_FIELDS,
         options={"line_kind": "payment"})
    assert con.execute("SELECT line_kind, department_id, department_label FROM spending").fetchall() == \
        [("payment", "2", "Aging")]
    with pytest.raises(ValueError, match="line_kind"):
        load(con, tmp_path, [_line(2015, "02", "AGING", "1")], table="spending", fields=SPEND_FIELDS,
             dataset="other", options={"line_kind": "budget"})


def test_contract_revisions_vendor_key_dates_and_bad_date(con, tmp_path):
    fields = {"contract_number": "num", "revision": "rev", "vendor": "vendor", "vendor_zip": "zip",
              "amount": "amount", "approval_date": "approved", "description": "desc"}
    rows = [{"num": "e011442", "rev": "0", "vendor": "Acme Co., Inc.", "zip": "60608-1234", "amount": "25222.00",
             "approved": "03/13/2025", "desc": "line one\nline two"},
            {"num": "E011442", "rev": "1", "vendor": "ACME CO", "zip": "60608", "amount": "-500.00",
             "approved": "04/01/2025"},
            {"num": "D1", "rev": "D404171", "vendor": "Zed LLC", "zip": "6060", "amount": "1", "approved": ""},
            {"num": "X2", "rev": "0", "vendor": "Zed LLC", "amount": "1", "approved": "13/45/2025"}]
    result = load(con, tmp_path, rows, table="contract_revisions", fields=fields, dataset="contracts")
    assert (result.rows_loaded, result.rows_quarantined) == (3, 1)
    assert con.execute("SELECT row_number, field, reason FROM quarantine").fetchall() == \
        [(4, "approval_date", "bad_timestamp")]
    got = con.execute("""SELECT contract_number, revision, revision_code, vendor_key, vendor_zip, amount, approval_date,
                                description FROM contract_revisions ORDER BY ALL""").fetchall()
    assert got == [("D1", None, "D404171", "ZED", None, Decimal("1.00"), None, None),
                   ("E011442", 0, "0", "ACME", "60608", Decimal("25222.00"), date(2025, 3, 13), "line one\nline two"),
                   ("E011442", 1, "1", "ACME", "60608", Decimal("-500.00"), date(2025, 4, 1), None)]
    _views(con)
    assert con.execute("SELECT vendor_key, contracts, revisions, amount_awarded FROM contracts_by_vendor "
                       "ORDER BY 1").fetchall() == [("ACME", 1, 2, Decimal("24722.00")), ("ZED", 1, 1, Decimal("1.00"))]


def test_place_spending_points_dataset_stays_out_of_totals(con, tmp_path):
    fields = {"fiscal_year": "year", "area_code": "ward", "amount": "cost", "category": "category",
              "project": "program", "location_text": "description"}
    lines = [{"year": "2019", "ward": "01", "cost": "100.50", "category": "Streets", "program": "Alley"},
             {"year": "2019", "ward": "1", "cost": "-0.50", "category": "Streets", "program": "Adjustment"}]
    points = [{"year": "2019", "ward": "1", "cost": "100.50", "category": "Alleys", "program": "Alley (1-1)",
               "_geometry": json.dumps({"type": "LineString", "coordinates": [[-87.70, 41.90], [-87.69, 41.90]]})}]
    load(con, tmp_path, lines, table="place_spending", fields=fields, dataset="menu", kind="ward")
    load(con, tmp_path, points, table="place_spending", fields=fields, dataset="points", kind="ward",
         options={"in_totals": False})
    _views(con)
    assert con.execute("SELECT area_kind, area_code, fiscal_year, amount, projects FROM place_spending_by_area_year"
                       ).fetchall() == [("ward", "1", 2019, Decimal("100.00"), 2)]
    lat, lon = con.execute("SELECT lat, lon FROM place_spending WHERE dataset = 'points'").fetchone()
    assert 41.89 < lat < 41.91 and -87.71 < lon < -87.68


MONTHS = ["JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER",
          "NOVEMBER", "DECEMBER"]


def _month_row(name, address, values):
    row = {"BRANCH": name, "ADDRESS": address}
    row.update({m: (str(v) if v is not None else "") for m, v in zip(MONTHS, values)})
    return row


def test_wide_outcomes_months_excluded_rows_and_service_match(con, tmp_path):
    services = [{"name": "Legler", "lat": "41.88", "lon": "-87.72"},
                {"name": "Albany Park", "lat": "41.97", "lon": "-87.71"}]
    load(con, tmp_path, services, table="services", fields={"name": "name", "lat": "lat", "lon": "lon"},
         dataset="libraries", kind="library")
    partial = [1, 2, 3, 4] + [None] * 8
    rows = [_month_row("Legler Regional", "115 S. Pulaski Rd.", partial),
            _month_row("Albany Park  *", "3401 W. Foster Ave.", [10] * 12),
            _month_row("Downloadable Media", "", [100] * 12),
            _month_row("", "", [111] * 12)]
    result = load(con, tmp_path, rows, table="outcomes", fields={"entity_name": "BRANCH"}, dataset="visits_2023",
                  kind="library", options={"measure": "visitors", "unit": "visits", "department_id": "91",
                                           "year": 2023, "month_columns": MONTHS, "money": MONEY,
                                           "keep": {"ADDRESS": "not_empty", "BRANCH": "not_empty"}})
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
    assert con.execute("SELECT row_number, reason, field FROM quarantine ORDER BY 1").fetchall() == \
        [(3, "excluded_by_profile", "keep ADDRESS: not_empty"), (4, "excluded_by_profile", "keep ADDRESS: not_empty")]
    assert con.execute("SELECT count(*), count(value) FROM outcomes").fetchone() == (24, 16)
    assert con.execute("SELECT min(period_start), max(period_end) FROM outcomes").fetchone() == \
        (date(2023, 1, 1), date(2023, 12, 31))
    _views(con)
    got = con.execute("""SELECT entity_name, s.name, value, months FROM outcomes_by_entity_year o
                         JOIN services s ON s.source_id = o.service_id ORDER BY 1""").fetchall()
    assert got == [("Albany Park *", "Albany Park", 120.0, 12), ("Legler Regional", "Legler", 10.0, 4)]


def test_outcomes_link_when_services_load_after_them(con, tmp_path):
    load(con, tmp_path, [_month_row("Edgewater", "1210 W. Elmdale", [5] * 12)], table="outcomes",
         fields={"entity_name": "BRANCH"}, dataset="v", kind="library",
         options={"measure": "visitors", "year": 2019, "month_columns": MONTHS})
    assert con.execute("SELECT count(service_id) FROM outcomes").fetchone() == (0,)
    load(con, tmp_path, [{"name": "EDGEWATER", "lat": "41.99", "lon": "-87.66"}], table="services",
         fields={"name": "name", "lat": "lat", "lon": "lon"}, dataset="libraries", kind="library")
    assert con.execute("SELECT count(service_id) FROM outcomes").fetchone() == (12,)
