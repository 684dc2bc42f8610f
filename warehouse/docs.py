"""Generate the warehouse data dictionary (markdown) from the database's own comments."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

GENERATED_MARKER = "# Schema (generated)\n"


def _md(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


RAW_TABLES_NOTE = (
    "The source rows as received: one table `raw_<city>_<dataset>` per loaded dataset (the last load's landing "
    "pages), every source field as text under its published name, plus `_row_number` (position in the download, "
    "1 = first), `_page`, `_fetched_at` and `_url`. Quarantined records are here too (the canonical tables hold "
    "only the loaded ones): use them to trace a figure back to what the portal published, not for figures.")

_RAW_COLUMNS = {
    "_row_number": "Position of the record in the download (1 = first); quarantine.row_number refers to it.",
    "_page": "The landing page (one fetched page of the download) the record came in.",
    "_fetched_at": "When civicmash downloaded that page.",
    "_url": "The URL the page was fetched from.",
}


def schema_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """Markdown sections for every table and view of the main schema, from COMMENT ON: the same objects
    ``civicmash export`` can write (:func:`warehouse.export.exportable_names`). Canonical tables and views first;
    the ``raw_*`` staging tables (the source rows as received) last, described by :data:`RAW_TABLES_NOTE`.
    A view column without a comment (a warehouse built before its description existed) shows its description
    from :mod:`warehouse.view_columns`."""
    from .export import exportable_names
    from .view_columns import column_descriptions

    names = exportable_names(con)
    comments = dict(con.execute("""SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'
                                   UNION ALL SELECT view_name, comment FROM duckdb_views()
                                   WHERE schema_name = 'main' AND NOT internal""").fetchall())
    views = {r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal").fetchall()}
    raw = [n for n in names if n.startswith("raw_") and n not in views]
    sections = (("Tables", [n for n in names if n not in views and n not in raw], False),
                ("Views", [n for n in names if n in views], False),
                ("Source rows as received (raw_*)", raw, True))
    out: list[str] = []
    for heading, items, is_raw in sections:
        if is_raw and not items:
            continue
        out.append(f"## {heading}\n")
        if is_raw:
            out.append(f"{RAW_TABLES_NOTE}\n")
        for name in items:
            fallback = column_descriptions(name) if name in views else (_RAW_COLUMNS if is_raw else {})
            text = (_raw_comment(con, name) if is_raw else "") or comments.get(name) or ""
            out.append(f"### `{name}`\n\n{_md(text)}\n")
            out.append("| column | type | meaning |\n|---|---|---|")
            for col, typ, ccomment in con.execute(
                    """SELECT column_name, data_type, comment FROM duckdb_columns()
                       WHERE schema_name = 'main' AND table_name = $t ORDER BY column_index""", {"t": name}).fetchall():
                meaning = ccomment or fallback.get(col) or (
                    f"The source field {col!r} as published (text)." if is_raw else "")
                out.append(f"| `{col}` | {typ} | {_md(meaning)} |")
            out.append("")
    return "\n".join(out)


def _raw_comment(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """What ``raw_<city>_<dataset>`` holds, naming its dataset and counts from the ``datasets`` catalogue."""
    from .load import raw_table_name

    for city, dataset, rows_in, loaded, quarantined in con.execute(
            "SELECT city, dataset, rows_in, rows_loaded, rows_quarantined FROM datasets ORDER BY 1, 2").fetchall():
        if raw_table_name(city, dataset) == name:
            return (f"The source rows of {city}/{dataset} as received at its last load: {rows_in or 0:,} rows, of "
                    f"which {loaded or 0:,} were loaded and {quarantined or 0:,} quarantined (see quarantine).")
    return ""


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
