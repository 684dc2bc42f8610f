"""Every view column is documented (from warehouse/view_columns.py, in COMMENT ON and in `civicmash schema`);
`schema` and `export` list the same objects; incidents_last_90_days is 90 whole calendar days."""

from __future__ import annotations

from pathlib import Path

from civicmash.warehouse.db import connect
from civicmash.warehouse.docs import schema_markdown
from civicmash.warehouse.views import VIEWS, create_views
from civicmash.warehouse.view_columns import VIEW_COLUMNS, column_descriptions
from tests.warehouse.helpers import CRIME_FIELDS, load
from tests.warehouse.test_normalise import crime


def test_every_view_column_has_a_description(con):
    create_views(con)
    for view in VIEWS:
        rows = con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?", [view]).fetchall()
        assert rows, view
        missing = [c for c, text in rows if not (text or "").strip()]
        assert not missing, f"{view}: columns without a description in warehouse/view_columns.py: {missing}"
        texts = column_descriptions(view)
        assert all(text == texts[c] for c, text in rows), view  # COMMENT ON reads the one place
        stale = set(VIEW_COLUMNS.get(view, {})) - {c for c, _ in rows}
        assert not stale, f"{view}: descriptions of columns the view does not have: {stale}"
    md = schema_markdown(con)
    assert "|  |" not in md  # no empty meaning anywhere in the generated schema
    assert "| `rate_per_1000` | DOUBLE | incidents / population * 1000" in md


def test_schema_and_export_list_the_same_objects(sample_run, capsys):
    """`civicmash schema` documents exactly what `civicmash export` can write, raw_* source tables included."""
    from civicmash.flows.cli import main
    from civicmash.warehouse.export import exportable_names

    db = sample_run["warehouse"]
    assert main(["schema", "--db", db]) == 0
    text = capsys.readouterr().out
    documented = [line[len("### `"):-1] for line in text.splitlines() if line.startswith("### `")]
    with connect(db, read_only=True) as con:
        exportable = exportable_names(con)
    assert sorted(documented) == sorted(exportable)
    assert "raw_sample_incidents" in documented and "## Source rows as received (raw_*)" in text
    assert "The source rows of sample/incidents as received" in text
    # and a raw table exports like any other
    out = Path(db).parent / "exports" / "raw.csv"
    assert main(["export", "raw_sample_incidents", "--db", db, "--output", str(out)]) == 0
    assert out.read_text().count("\n") == sample_run["tables"]["incidents"] + 1


def test_last_90_days_is_90_calendar_days(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(path)
    times = {"latest": "2018-11-12T10:00:00.000", "first_minute": "2018-08-15T00:00:00.000",
             "day_91_late": "2018-08-14T23:59:00.000", "day_91_noon": "2018-08-14T12:00:00.000"}
    load(con, tmp_path, [crime(id=k, date=v) for k, v in times.items()], table="incidents", fields=CRIME_FIELDS)
    create_views(con)
    got = {r[0] for r in con.execute("SELECT source_id FROM incidents_last_90_days").fetchall()}
    assert got == {"latest", "first_minute"}
    comment = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'incidents_last_90_days'").fetchone()[0]
    assert "90 calendar days" in comment and "00:00" in comment


def test_incident_rows_are_the_sources_rows(con):
    create_views(con)
    table = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'incidents'").fetchone()[0]
    assert "rows are the source's rows" in table and "one per victim" in table and "12 case numbers" in table
    column = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'incidents' "
                         "AND column_name = 'case_number'").fetchone()[0]
    assert "a case can have several (one per victim)" in column
