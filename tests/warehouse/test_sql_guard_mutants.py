"""The read-only SQL guard, one layer at a time: each refused keyword, and the EXPLAIN check, have a
query that nothing else stops.

``tests/warehouse/test_readonly_sql.py`` refuses writes that are also refused by the SELECT-only
statement check, so removing a keyword from ``REFUSED`` went unnoticed (issue 13, item 8): an
``EXPLAIN ANALYZE COPY (SELECT 1) TO '...'`` then passed the guard and only DuckDB's file-access
setting stopped it. Here every query is of an allowed statement type (SELECT or EXPLAIN, asserted),
so only the layer under test can refuse it.
"""

from __future__ import annotations

import duckdb
import pytest

from civicmash.flows.cli import main
from civicmash.warehouse.db import connect
from civicmash.warehouse.sql import REFUSED, ReadOnlyQueryError, check_query, run_readonly
from tests.warehouse.helpers import CRIME_FIELDS, load
from tests.warehouse.test_normalise import crime

# keyword -> a query of an allowed statement type that contains it. EXPLAIN ANALYZE runs what it explains,
# so these would write, attach or install without the keyword; ATTACH, DETACH, EXPORT and IMPORT cannot
# follow EXPLAIN, so theirs are plain SELECTs naming the word (the guard refuses the word wherever it stands).
KEYWORD_QUERIES = {
    "INSERT": "EXPLAIN ANALYZE INSERT INTO datasets (city, dataset) VALUES ('a', 'b')",
    "UPDATE": "EXPLAIN ANALYZE UPDATE incidents SET beat = '0000'",
    "DELETE": "EXPLAIN ANALYZE DELETE FROM incidents",
    "CREATE": "EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1",
    "DROP": "EXPLAIN ANALYZE DROP TABLE incidents",
    "ALTER": "EXPLAIN ANALYZE ALTER TABLE incidents ADD COLUMN extra INTEGER",
    "ATTACH": "SELECT 1 AS attach",
    "DETACH": "SELECT 1 AS detach",
    "COPY": "EXPLAIN ANALYZE COPY (SELECT 1) TO '{tmp}/leak.csv'",
    "INSTALL": "EXPLAIN ANALYZE INSTALL httpfs",
    "LOAD": "EXPLAIN ANALYZE LOAD spatial",
    "EXPORT": "SELECT 1 AS export",
    "IMPORT": "SELECT 1 AS import",
    "PRAGMA": "EXPLAIN ANALYZE PRAGMA database_list",
    "CHECKPOINT": "EXPLAIN ANALYZE CHECKPOINT",
    "VACUUM": "EXPLAIN ANALYZE VACUUM",
    "TRUNCATE": "EXPLAIN ANALYZE TRUNCATE incidents",
}
STATEMENT_ONLY = ("SET", "USE", "RESET", "CALL")  # refused as statements; ordinary words elsewhere


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "civicmash.duckdb"
    con = connect(path)
    load(con, tmp_path, [crime(id="1"), crime(id="2")], table="incidents", fields=CRIME_FIELDS)
    con.close()
    return path


def _statement_type(query: str) -> str:
    return duckdb.connect(":memory:").extract_statements(query)[0].type.name


def test_every_refused_keyword_has_a_query_here():
    assert set(KEYWORD_QUERIES) | set(STATEMENT_ONLY) == set(REFUSED)


@pytest.mark.parametrize("keyword", sorted(KEYWORD_QUERIES))
def test_each_keyword_alone_refuses_its_query(keyword, tmp_path):
    query = KEYWORD_QUERIES[keyword].format(tmp=tmp_path)
    assert _statement_type(query) in ("SELECT", "EXPLAIN")  # the statement-type check lets it through
    with pytest.raises(ReadOnlyQueryError,
                       match=rf"^only read-only SELECT queries are allowed; refused keyword\(s\): {keyword}$"):
        check_query(query)


def test_every_refused_keyword_is_named():
    with pytest.raises(ReadOnlyQueryError, match=r"refused keyword\(s\): ATTACH, DETACH$"):
        check_query("SELECT 1 AS detach, 2 AS attach")


def test_a_keyword_in_a_multi_line_comment_is_not_refused():
    check_query("SELECT 1 /* notes:\n   DROP the old table later */ AS n")


def test_explain_analyze_copy_is_refused_by_the_guard_not_by_duckdb(warehouse, tmp_path):
    target = tmp_path / "leak.csv"
    with pytest.raises(ReadOnlyQueryError, match="COPY"):
        run_readonly(warehouse, f"EXPLAIN ANALYZE COPY (SELECT * FROM incidents) TO '{target}'")
    assert not target.exists()


def test_civicmash_sql_refuses_explain_analyze_copy(warehouse, tmp_path, capsys):
    target = tmp_path / "leak.csv"
    code = main(["sql", f"EXPLAIN ANALYZE COPY (SELECT * FROM incidents) TO '{target}'", "--db", str(warehouse)])
    err = capsys.readouterr().err
    assert code == 1 and "refused keyword(s): COPY" in err, err
    assert not target.exists()
    assert main(["sql", "SELECT count(*) AS n FROM incidents", "--db", str(warehouse), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "2"]


@pytest.mark.parametrize("query, kind", [
    ("EXPLAIN ANALYZE SET threads = 1", "SET"),
    ("EXPLAIN ANALYZE RESET threads", "SET"),
    ("EXPLAIN ANALYZE CALL pragma_version()", "CALL"),
    ("/* a comment first */ EXPLAIN ANALYZE SET enable_external_access = true", "SET"),
    ("-- a comment first\nexplain analyse set threads = 1", "SET"),
])
def test_explain_of_a_statement_the_keyword_scan_lets_through_is_refused(query, kind):
    assert _statement_type(query) == "EXPLAIN"
    with pytest.raises(ReadOnlyQueryError, match=r"^only EXPLAIN \[ANALYZE\] SELECT \.\.\. is allowed; "
                                                 f"refused EXPLAIN of a statement of type {kind}$"):
        check_query(query)


@pytest.mark.parametrize("query", [
    "EXPLAIN SELECT 1",
    "EXPLAIN ANALYZE SELECT count(*) FROM incidents",
    "explain analyse select 1",
    "EXPLAIN (FORMAT json) SELECT 1",
    "-- why\nEXPLAIN ANALYZE WITH a AS (SELECT 1 AS n) SELECT n FROM a",
    "EXPLAIN (SELECT 1) UNION ALL (SELECT 2)",           # a subquery is not an option list
    "EXPLAIN SELECT '--' || 'not a comment' AS s",       # literals stay as they are
])
def test_explain_of_a_select_is_allowed_and_runs(warehouse, query):
    check_query(query)
    columns, rows = run_readonly(warehouse, query)
    assert columns and rows


@pytest.mark.parametrize("word", STATEMENT_ONLY)
def test_statement_only_words_are_ordinary_names(warehouse, word):
    """A 311 'call' or a 'set' of codes is a normal column name: only the statement is refused."""
    columns, rows = run_readonly(warehouse, f'SELECT 1 AS {word.lower()}_n, "{word.lower()}" FROM '
                                            f"(SELECT 2 AS {word.lower()})")
    assert rows == [(1, 2)]
    assert run_readonly(warehouse, f"SELECT 3 AS {word.lower()}")[1] == [(3,)]


@pytest.mark.parametrize("query", [
    "SET threads = 1", "RESET threads", "CALL pragma_version()", "USE memory",
    "SELECT 1; SELECT 2",
    "SELEC 1",
])
def test_statements_other_than_one_select_are_refused(query):
    with pytest.raises(ReadOnlyQueryError, match="^only a single statement is allowed, got 2$|"
                                                 "^only SELECT queries are allowed here \\(read-only\\); refused a "
                                                 "statement of type (SET|CALL)$|^cannot parse the query: "):
        check_query(query)


def test_keywords_inside_literals_comments_and_quoted_names_are_not_refused(warehouse):
    query = """SELECT 'DROP TABLE incidents' AS "copy", 'it''s' AS s -- DELETE FROM incidents
               /* INSERT */ FROM incidents LIMIT 1"""
    check_query(query)
    assert run_readonly(warehouse, query)[0] == ["copy", "s"]
