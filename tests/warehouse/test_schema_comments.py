from civicmash.warehouse.db import connect, ensure_schema
from civicmash.warehouse.docs import schema_markdown
from civicmash.warehouse.schema import TABLES
from civicmash.warehouse.views import VIEWS, create_views


def test_every_table_and_column_has_a_comment(con):
    ensure_schema(con)  # idempotent
    for table in TABLES:
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()[0]
        assert comment and len(comment) > 20, table
        rows = con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()
        assert rows, table
        missing = [c for c, text in rows if not text]
        assert not missing, f"{table}: columns without comment {missing}"


def test_source_tables_carry_provenance_and_location_columns(con):
    for table in ("incidents", "venues", "services", "spending", "boundaries", "population", "street_nodes",
                  "street_edges"):
        cols = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
        assert {"city", "dataset", "source_id", "fetched_at", "source_updated_at", "row_hash"} <= cols, table
    for table in ("incidents", "venues", "services"):
        cols = {r[0]: r[1] for r in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
        assert {"lat", "lon", "geom", "source_x", "source_y", "source_crs", "location_flag"} <= set(cols), table
        assert cols["geom"] == "GEOMETRY"


def test_reporter_words_in_comments(con):
    text = " ".join(r[0] for r in con.execute(
        "SELECT comment FROM duckdb_columns() WHERE table_name IN ('incidents', 'spending', 'street_edges')").fetchall())
    assert "patrol" in text and "Illinois Uniform Crime Reporting" in text and "unknown" in text
    assert "US dollars" in text and "metres" in text
    incidents = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'incidents'").fetchone()[0]
    assert "one row per victim" in incidents


def test_views_are_commented_and_documented(con):
    create_views(con)
    for view in VIEWS:
        comment = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = ?", [view]).fetchone()[0]
        assert comment, view
    md = schema_markdown(con)
    for name in list(TABLES) + list(VIEWS):
        assert f"### `{name}`" in md
    assert "| `time_is_midnight` | BOOLEAN |" in md


def test_connect_file_read_only(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    ro = connect(path, read_only=True)
    assert ro.execute("SELECT ST_AsText(ST_Point(1, 2))").fetchone()[0] == "POINT (1 2)"
    ro.close()


def test_docs_warehouse_md_is_the_current_generated_schema():
    """docs/warehouse.md ends with the schema generated from the code's comments: regenerate it with
    ``python -m warehouse.docs docs/warehouse.md`` after changing warehouse/schema.py or views.py."""
    from pathlib import Path

    from civicmash.warehouse.docs import GENERATED_MARKER, fresh_schema_markdown

    doc = (Path(__file__).parents[2] / "docs" / "warehouse.md").read_text(encoding="utf-8")
    generated = doc.partition(GENERATED_MARKER)[2]
    assert generated.rstrip("\n").endswith(fresh_schema_markdown().rstrip("\n")), \
        "docs/warehouse.md is stale: run .venv/bin/python -m warehouse.docs docs/warehouse.md"
