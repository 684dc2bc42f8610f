"""Every ```sql block of docs/maps.md and docs/warehouse.md runs against a real warehouse (the sample city's,
built by the full pipeline): as written (Chicago's filters: no rows, but every name, type and grouping is
checked) and with the sample city's name, so the rows are computed too. Docs SQL that does not run fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from civicmash.warehouse.sql import run_readonly

DOCS = Path(__file__).resolve().parents[2] / "docs"
FILES = ("maps.md", "warehouse.md")


def _blocks(name: str) -> list[str]:
    return re.findall(r"^```sql\n(.*?)^```", (DOCS / name).read_text(encoding="utf-8"), flags=re.S | re.M)


BLOCKS = [(name, i, sql) for name in FILES for i, sql in enumerate(_blocks(name), 1)]


def test_the_docs_have_sql_blocks():
    for name in FILES:
        assert _blocks(name), f"docs/{name} has no ```sql block"


@pytest.mark.parametrize("name, index, sql", BLOCKS, ids=[f"{n}#{i}" for n, i, _ in BLOCKS])
def test_docs_sql_runs(sample_run, name, index, sql):
    db = sample_run["warehouse"]
    try:
        run_readonly(db, sql)
        columns, rows = run_readonly(db, sql.replace("'chicago'", "'sample'"))
    except Exception as exc:  # noqa: BLE001 - the message names the block
        pytest.fail(f"docs/{name}, sql block {index} does not run: {exc}\n{sql}")
    assert columns
