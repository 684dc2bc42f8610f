import json

import pytest

from civicmash.warehouse.db import connect
from civicmash.warehouse.sql import ReadOnlyQueryError, format_table, run_readonly, to_csv, to_json
from civicmash.warehouse.views import create_views
from tests.warehouse.helpers import CRIME_FIELDS, load
from tests.warehouse.test_normalise import crime


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(path)
    load(con, tmp_path, [crime(id="1"), crime(id="2", primary_type="THEFT")], table="incidents", fields=CRIME_FIELDS)
    create_views(con)
    con.close()
    return path


def test_select_works_with_params(warehouse):
    cols, rows = run_readonly(warehouse, "SELECT primary_type, count(*) AS n FROM incidents_current "
                                         "WHERE city = ? GROUP BY 1 ORDER BY 1", params=["testcity"])
    assert cols == ["primary_type", "n"] and rows == [("DECEPTIVE PRACTICE", 1), ("THEFT", 1)]
    cols, rows = run_readonly(warehouse, "WITH x AS (SELECT 1 AS a) SELECT a, 'drop table' AS s FROM x")
    assert rows == [(1, "drop table")]


@pytest.mark.parametrize("query", [
    "INSERT INTO datasets (city, dataset) VALUES ('a', 'b')",
    "DROP TABLE incidents",
    "ATTACH '/tmp/other.duckdb' AS o",
    "COPY incidents TO '/tmp/out.csv'",
    "COPY (SELECT * FROM incidents) TO '/tmp/out.csv'",
    "UPDATE incidents SET beat = '0000'",
    "DELETE FROM incidents",
    "CREATE TABLE x AS SELECT 1",
    "PRAGMA database_list",
    "SET threads = 1",
    "INSTALL httpfs",
    "LOAD spatial",
    "SELECT 1; DROP TABLE incidents",
])
def test_writes_are_refused(warehouse, query):
    with pytest.raises(ReadOnlyQueryError):
        run_readonly(warehouse, query)
    assert run_readonly(warehouse, "SELECT count(*) FROM incidents")[1] == [(2,)]


def test_no_file_access(warehouse):
    with pytest.raises(ReadOnlyQueryError, match="refused read_csv"):
        run_readonly(warehouse, "SELECT * FROM read_csv('/etc/hostname')")
    # a file named as a table (DuckDB's replacement scan) is refused by the connection itself
    with pytest.raises(ValueError, match="refused"):
        run_readonly(warehouse, "SELECT * FROM '/etc/hostname.csv'")


def test_queries_while_the_file_is_open_elsewhere_in_the_process(warehouse):
    """DuckDB shares one configuration among a process's connections to a file: the lock a first query puts on
    it outlives that query while a notebook's connection stays open. Later queries (and plain connects) still
    run, external access still off."""
    from civicmash.warehouse.sql import run_query

    held = connect(warehouse, read_only=True)   # a notebook's City keeps one open
    try:
        for _ in range(2):
            assert run_query(warehouse, "SELECT count(*) FROM incidents").rows == [(2,)]
        connect(warehouse, read_only=True).close()
        assert held.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False
    finally:
        held.close()


def test_formatting():
    cols, rows = ["name", "n", "when"], [("a|b", 10, None), ("long\nname", 2, "x")]
    text = format_table(cols, rows)
    assert text.splitlines()[0].startswith("name") and "(2 rows)" in text and "long name" in text
    assert to_csv(cols, rows).splitlines()[1] == "a|b,10,"
    assert json.loads(to_json(cols, rows))[0] == {"name": "a|b", "n": 10, "when": None}
