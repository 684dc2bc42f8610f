"""Generate the warehouse data dictionary (markdown) from the database's own comments."""

from __future__ import annotations

import duckdb


def _md(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def schema_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """Markdown sections for every canonical table and view of the main schema, from COMMENT ON."""
    out: list[str] = []
    tables = con.execute("""SELECT table_name, comment FROM duckdb_tables()
                            WHERE schema_name = 'main' AND NOT temporary AND table_name NOT LIKE 'raw\\_%' ESCAPE '\\'
                            ORDER BY table_name""").fetchall()
    views = con.execute("""SELECT view_name, comment FROM duckdb_views()
                           WHERE schema_name = 'main' AND NOT internal ORDER BY view_name""").fetchall()
    for heading, items in (("Tables", tables), ("Views", views)):
        out.append(f"## {heading}\n")
        for name, comment in items:
            out.append(f"### `{name}`\n\n{_md(comment)}\n")
            out.append("| column | type | meaning |\n|---|---|---|")
            for col, typ, ccomment in con.execute(
                    """SELECT column_name, data_type, comment FROM duckdb_columns()
                       WHERE schema_name = 'main' AND table_name = $t ORDER BY column_index""", {"t": name}).fetchall():
                out.append(f"| `{col}` | {typ} | {_md(ccomment)} |")
            out.append("")
    return "\n".join(out)


def schema_text(con: duckdb.DuckDBPyConnection) -> str:
    """The documented schema as text (markdown) for ``civicmash schema``: every table and view of the
    warehouse with its comment and its columns (type and meaning), from the database's own COMMENT ON.
    Works on a read-only connection."""
    return ("# civicmash warehouse schema\n\n"
            "Every table and view, with what its rows and columns mean (from the warehouse's own comments).\n\n"
            + schema_markdown(con))
