"""Generate the warehouse data dictionary (markdown) from the database's own comments."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

GENERATED_MARKER = "# Schema (generated)\n"


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


def fresh_schema_markdown() -> str:
    """:func:`schema_markdown` of an empty warehouse (every canonical table and view, no data)."""
    from .db import connect
    from .views import create_views

    con = connect(":memory:")
    try:
        create_views(con)
        return schema_markdown(con)
    finally:
        con.close()


def rewrite_doc(path: str | Path) -> bool:
    """Replace what follows ``# Schema (generated)`` (and its one explanatory paragraph) in ``path`` with
    :func:`fresh_schema_markdown`; True when the file changed. ``python -m warehouse.docs docs/warehouse.md``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    head, marker, tail = text.partition(GENERATED_MARKER)
    if not marker:
        raise ValueError(f"{path}: no {GENERATED_MARKER.strip()!r} heading to regenerate below")
    intro = tail.split("\n\n", 1)[0]  # a blank line, then the paragraph that says how it is generated
    new = head + marker + intro + "\n\n" + fresh_schema_markdown().rstrip("\n") + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {'rewritten' if rewrite_doc(arg) else 'already current'}")
