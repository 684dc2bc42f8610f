"""Versions and incremental loads: changed/removed incidents go to incidents_history, merge upserts by
source_id, the dataset watermark is kept for the next incremental fetch."""

import pytest

from civicmash.warehouse.load import dataset_watermark, load_dataset
from civicmash.warehouse.views import create_views
from tests.warehouse.helpers import CRIME_FIELDS, FETCHED, load, write_landing
from tests.warehouse.test_normalise import crime


def source(n, *, changed=(), extra=0):
    """n crimes (ids 1..n), the ones in ``changed`` re-classified as THEFT with a later update time,
    plus ``extra`` new ones (ids n+1..n+extra)."""
    out = []
    for i in range(1, n + extra + 1):
        rec = crime(id=str(i), case_number=f"JB{i}", primary_type="ROBBERY", description="ARMED: HANDGUN",
                    iucr="031A", beat=str(300 + i % 50), updated_on=f"2018-11-{1 + i % 20:02d}T10:00:00.000")
        if i in changed:
            rec.update(primary_type="THEFT", description="$500 AND UNDER", iucr="0820",
                       updated_on="2018-11-25T09:30:00.000")
        out.append(rec)
    return out


def current(con, dataset="crimes"):
    return con.execute("""SELECT * EXCLUDE (fetched_at, valid_from) FROM incidents WHERE dataset = ?
                          ORDER BY source_id""", [dataset]).fetchall()


def test_changed_row_keeps_previous_version_in_history(con, tmp_path):
    load(con, tmp_path / "a", source(10), table="incidents", fields=CRIME_FIELDS, dataset="crimes", run_id="r1")
    load(con, tmp_path / "b", source(10, changed={3}), table="incidents", fields=CRIME_FIELDS, dataset="crimes",
         run_id="r2")
    assert con.execute("SELECT primary_type FROM incidents WHERE source_id = '3'").fetchone() == ("THEFT",)
    assert con.execute("SELECT count(*) FROM incidents").fetchone() == (10,)
    hist = con.execute("""SELECT source_id, primary_type, change, change_run_id, valid_to IS NOT NULL,
                                 valid_from IS NOT NULL FROM incidents_history""").fetchall()
    assert hist == [("3", "ROBBERY", "changed", "r2", True, True)]
    create_views(con)
    assert con.execute("SELECT primary_type FROM incidents_current WHERE source_id = '3'").fetchone() == ("THEFT",)
    ch = con.execute("""SELECT source_id, change, old_primary_type, new_primary_type, changed_fields, change_run_id
                        FROM incidents_changes""").fetchall()
    assert ch == [("3", "changed", "ROBBERY", "THEFT",
                   ["primary_type", "description", "iucr", "source_updated_at"], "r2")]
    # re-loading the same pages changes nothing and adds no history
    load(con, tmp_path / "c", source(10, changed={3}), table="incidents", fields=CRIME_FIELDS, dataset="crimes",
         run_id="r3")
    assert con.execute("SELECT count(*) FROM incidents_history").fetchone() == (1,)


def test_rows_missing_from_a_full_reload_are_moved_to_history(con, tmp_path):
    load(con, tmp_path / "a", source(10), table="incidents", fields=CRIME_FIELDS, dataset="crimes", run_id="r1")
    load(con, tmp_path / "b", source(8), table="incidents", fields=CRIME_FIELDS, dataset="crimes", run_id="r2")
    assert con.execute("SELECT count(*) FROM incidents").fetchone() == (8,)
    assert con.execute("""SELECT source_id, change, next_row_hash, valid_to IS NOT NULL FROM incidents_history
                          ORDER BY source_id""").fetchall() == [("10", "removed", None, True),
                                                                ("9", "removed", None, True)]
    create_views(con)
    assert con.execute("SELECT count(*) FROM incidents_changes WHERE change = 'removed' AND new_primary_type IS NULL "
                       "AND changed_fields IS NULL").fetchone() == (2,)


def test_unchanged_rows_keep_valid_from(con, tmp_path):
    load(con, tmp_path / "a", source(5), table="incidents", fields=CRIME_FIELDS, dataset="crimes")
    con.execute("UPDATE incidents SET valid_from = TIMESTAMPTZ '2018-01-01 00:00:00+00'")
    load(con, tmp_path / "b", source(5, changed={2}), table="incidents", fields=CRIME_FIELDS, dataset="crimes")
    got = dict(con.execute("SELECT source_id, year(valid_from) FROM incidents").fetchall())
    assert got == {"1": 2018, "2": 2018, "3": 2018, "4": 2018, "5": 2018}
    assert con.execute("SELECT count(*) FROM incidents WHERE valid_from = TIMESTAMPTZ '2018-01-01 00:00:00+00'"
                       ).fetchone() == (4,)
    assert con.execute("SELECT year(valid_from) FROM incidents_history").fetchone() == (2018,)


def test_merge_increment_equals_full_replace(con, tmp_path):
    from civicmash.warehouse.db import connect

    n = 200
    changed = {5, 17, 42, 99, 150}
    load(con, tmp_path / "full", source(n), table="incidents", fields=CRIME_FIELDS, dataset="crimes", run_id="r1")
    assert dataset_watermark(con, city="testcity", dataset="crimes") == "2018-11-20T10:00:00.000"
    # the increment: 10 new records, 5 changed ones, and one bad new record (no date) that must be quarantined
    updated = source(n, changed=changed, extra=10)
    increment = [r for r in updated if int(r["id"]) in changed or int(r["id"]) > n]
    increment.append(crime(id="9999", date=None))
    files = write_landing(tmp_path / "inc-landing", increment)
    r = load_dataset(con, city="testcity", dataset="crimes", table="incidents", files=files, fields=CRIME_FIELDS,
                     options={}, run_id="r2", fetched_at=FETCHED, source_meta={"protocol": "socrata"}, mode="merge")
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (16, 15, 1)
    assert r.rows_in == r.rows_loaded + r.rows_quarantined
    assert con.execute("""SELECT rows_in, rows_loaded, rows_quarantined, load_mode FROM datasets
                          WHERE dataset = 'crimes'""").fetchone() == (16, 15, 1, "merge")
    assert con.execute("SELECT count(*) FROM quarantine WHERE run_id = 'r2'").fetchone() == (1,)
    assert dataset_watermark(con, city="testcity", dataset="crimes") == "2018-11-25T09:30:00.000"
    assert con.execute("SELECT count(*), count(DISTINCT change_run_id) FROM incidents_history "
                       "WHERE change = 'changed'").fetchone() == (len(changed), 1)

    ref = connect(":memory:")
    try:
        load(ref, tmp_path / "ref", updated, table="incidents", fields=CRIME_FIELDS, dataset="crimes")
        assert ref.execute("SELECT count(*) FROM incidents").fetchone() == (n + 10,)
        assert current(con) == current(ref)
    finally:
        ref.close()
    # a merge never removes: an increment with one record leaves the others alone
    files = write_landing(tmp_path / "inc2", [updated[0]])
    load_dataset(con, city="testcity", dataset="crimes", table="incidents", files=files, fields=CRIME_FIELDS,
                 options={}, run_id="r3", fetched_at=FETCHED, source_meta={"watermark": "2018-12-01T00:00:00.000"},
                 mode="merge")
    assert con.execute("SELECT count(*) FROM incidents").fetchone() == (n + 10,)
    assert dataset_watermark(con, city="testcity", dataset="crimes") == "2018-12-01T00:00:00.000"
    # the earlier quarantine row (record 9999) was not in this increment: it stays
    assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (1,)


def test_merge_needs_a_source_id(con, tmp_path):
    files = write_landing(tmp_path / "x", [crime()])
    fields = {k: v for k, v in CRIME_FIELDS.items() if k != "source_id"}
    with pytest.raises(ValueError, match="source_id"):
        load_dataset(con, city="c", dataset="d", table="incidents", files=files, fields=fields, options={},
                     run_id="r", fetched_at=FETCHED, source_meta={}, mode="merge")
    with pytest.raises(ValueError, match="mode"):
        load_dataset(con, city="c", dataset="d", table="incidents", files=files, fields=CRIME_FIELDS, options={},
                     run_id="r", fetched_at=FETCHED, source_meta={}, mode="upsert")
    assert dataset_watermark(con, city="c", dataset="d") is None


def test_old_warehouse_gets_new_columns(tmp_path):
    import duckdb

    from civicmash.warehouse.db import connect

    path = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(path))
    raw.execute("CREATE TABLE datasets (city VARCHAR NOT NULL, dataset VARCHAR NOT NULL)")
    raw.execute("INSERT INTO datasets VALUES ('c', 'd')")
    raw.close()
    con = connect(path)
    cols = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'datasets'").fetchall()}
    assert {"watermark", "load_mode", "rows_in"} <= cols
    assert dataset_watermark(con, city="c", dataset="d") is None
    con.close()
