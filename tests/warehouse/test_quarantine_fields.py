"""Each quarantine row names the field that failed, and a table's own checks never replace the source_id checks.

Mutation testing (docs/testing.md) found these untested: the ``field`` of geometry quarantine rows, and a
table with its own checks (spending) that also maps a source_id keeping the duplicate check.
"""

from civicmash.warehouse.load import stored_counts
from tests.warehouse.helpers import load

SQUARE = '{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}'


def _reasons(con, dataset):
    return con.execute("SELECT row_number, reason, field FROM quarantine WHERE dataset = ? ORDER BY row_number",
                       [dataset]).fetchall()


def test_geometry_quarantine_rows_name_their_field(con, tmp_path):
    recs = [{"code": "1", "_geometry": SQUARE}, {"code": "2", "_geometry": '{"type": "Polygon", "coordinates": [[[0'},
            {"code": "3", "_geometry": None}]
    load(con, tmp_path, recs, table="boundaries", dataset="b", kind="ward", fields={"code": "code"})
    assert _reasons(con, "b") == [(2, "bad_geometry", "geometry"), (3, "missing_geometry", "geometry")]
    recs = [{"wkt": "POINT (-87.6 41.8)", "n": "a"}, {"wkt": "POINT (oops", "n": "b"}]
    load(con, tmp_path, recs, table="services", dataset="s", kind="park", fields={"wkt": "wkt", "name": "n"})
    assert _reasons(con, "s") == [(2, "bad_geometry", "wkt")]


def test_spending_with_ids_keeps_the_duplicate_check(con, tmp_path):
    recs = [{"id": "a", "amt": "12.50"}, {"id": "a", "amt": "3"}, {"id": "b", "amt": "twelve"},
            {"id": None, "amt": "1"}, {"id": "c", "amt": " "}]
    r = load(con, tmp_path, recs, table="spending", dataset="sp", fields={"source_id": "id", "amount": "amt"})
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (5, 1, 4)
    assert _reasons(con, "sp") == [(2, "duplicate_source_id", "source_id"), (3, "bad_amount", "amount"),
                                   (4, "missing_source_id", "source_id"), (5, "missing_required", "amount")]
    assert stored_counts(con, city="testcity", dataset="sp", table="spending", run_id="run-1") == (1, 4)


def test_a_code_without_its_code_is_quarantined(con, tmp_path):
    recs = [{"IUCR": "0110", "PRIMARY DESCRIPTION": "HOMICIDE"}, {"IUCR": "", "PRIMARY DESCRIPTION": "THEFT"}]
    r = load(con, tmp_path, recs, table="iucr_codes", dataset="codes",
             fields={"iucr": "IUCR", "primary_description": "PRIMARY DESCRIPTION"})
    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    assert _reasons(con, "codes") == [(2, "missing_required", "iucr")]
