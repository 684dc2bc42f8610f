"""Rows that cannot be loaded go to quarantine with a reason; rows_in == loaded + quarantined, always."""

import json

from tests.warehouse.helpers import CRIME_FIELDS, load
from tests.warehouse.test_normalise import crime


def test_quarantine_reasons_and_reconciliation(con, tmp_path):
    recs = [crime(id="1"), crime(id=None), crime(id="3", date="not a date"), crime(id="4", date=None),
            crime(id="1", case_number="DUP"), crime(id="6")]
    r = load(con, tmp_path, recs, table="incidents", fields=CRIME_FIELDS, page_size=2)
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (6, 2, 4)
    assert r.reasons == {"missing_source_id": 1, "bad_timestamp": 1, "missing_required": 1, "duplicate_source_id": 1}
    q = con.execute("SELECT row_number, source_id, field, reason, raw FROM quarantine ORDER BY row_number").fetchall()
    assert [(n, s, f, why) for n, s, f, why, _ in q] == [
        (2, None, "source_id", "missing_source_id"), (3, "3", "occurred_at", "bad_timestamp"),
        (4, "4", "occurred_at", "missing_required"), (5, "1", "source_id", "duplicate_source_id")]
    raw = json.loads(q[1][4])
    assert raw["date"] == "not a date" and raw["id"] == "3" and "_page" not in raw
    # the first occurrence of a duplicated id is the one loaded
    assert con.execute("SELECT case_number FROM incidents WHERE source_id = '1'").fetchall() == [("JB1",)]
    cat = con.execute("SELECT rows_in, rows_loaded, rows_quarantined, licence, protocol FROM datasets").fetchone()
    assert cat == (6, 2, 4, "test", "socrata")


def test_bad_geometry_and_amount(con, tmp_path):
    recs = [{"code": "1", "_geometry": '{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}'},
            {"code": "2", "_geometry": '{"type": "Polygon", "coordinates": [[[0,0],[1'},
            {"code": "3", "_geometry": None}]
    r = load(con, tmp_path, recs, table="boundaries", dataset="b", kind="ward", fields={"code": "code"})
    assert (r.rows_loaded, r.reasons) == (1, {"bad_geometry": 1, "missing_geometry": 1})
    recs = [{"wkt": "POINT (-87.6 41.8)", "n": "a"}, {"wkt": "POINT (oops", "n": "b"}]
    r = load(con, tmp_path, recs, table="services", dataset="s", kind="park", fields={"wkt": "wkt", "name": "n"})
    assert (r.rows_loaded, r.reasons) == (1, {"bad_geometry": 1})
    assert con.execute("SELECT name, lat, lon FROM services").fetchall() == [("a", 41.8, -87.6)]
    recs = [{"a": "12.5"}, {"a": "twelve"}, {"a": ""}]
    r = load(con, tmp_path, recs, table="spending", dataset="sp", fields={"amount": "a"})
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (3, 1, 2)
    assert r.reasons == {"bad_amount": 1, "missing_required": 1}
    totals = con.execute("""SELECT d.dataset, d.rows_in, d.rows_loaded + d.rows_quarantined,
                                   (SELECT count(*) FROM quarantine q WHERE q.dataset = d.dataset)
                            FROM datasets d ORDER BY 1""").fetchall()
    for name, rows_in, total, quarantined in totals:
        assert rows_in == total, name
    assert [t[3] for t in totals] == [2, 1, 2]  # b, s, sp


def test_missing_mapped_field_is_reported(con, tmp_path):
    r = load(con, tmp_path, [crime()], table="incidents", fields=dict(CRIME_FIELDS, ward="no_such_column"))
    assert "ward=no_such_column" in r.missing_fields and r.rows_loaded == 1


def test_empty_load(con, tmp_path):
    r = load(con, tmp_path, [], table="incidents", fields=CRIME_FIELDS)
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (0, 0, 0)
