"""`civicmash sql` as a journalist meets it, through the real command line (one subprocess per call):

- every failure is exactly one line on stderr, a non-zero exit code and no traceback;
- ``--param name=value`` binds ``$name`` (values are text; DuckDB converts them where the SQL compares them);
- warnings (one line each, the result still printed) when a result spans several cities or reads quarantined or
  format-fixture rows.

The warehouse is built by the real loader (``warehouse.load.load_dataset``) into a DuckDB file: two cities, a
quarantined record and a format-fixture dataset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.warehouse.helpers import CRIME_FIELDS, load
from tests.warehouse.test_normalise import crime


def _civicmash(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicmash.flows.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ})


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """chicago: 3 crimes loaded + 1 quarantined (no id) and a 1-row format fixture; other: 1 crime."""
    from civicmash.warehouse.db import connect
    from civicmash.warehouse.views import create_views

    tmp = tmp_path_factory.mktemp("sqlcli")
    path = tmp / "civicmash.duckdb"
    con = connect(path)
    load(con, tmp, [crime(id="1", community_area="42"), crime(id="2", primary_type="THEFT", beat="0312"),
                    crime(id="3", primary_type="THEFT", date="2018-05-03T10:00:00.000", beat="1111"),
                    crime(id="")], table="incidents", fields=CRIME_FIELDS, dataset="crimes", city="chicago")
    load(con, tmp, [crime(id="9")], table="incidents", fields=CRIME_FIELDS, dataset="crimes_fixture",
         city="chicago", options={"role": "fixture"})
    load(con, tmp, [crime(id="1")], table="incidents", fields=CRIME_FIELDS, dataset="crimes", city="other")
    create_views(con)
    con.close()
    return path


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("civicmash: error: "), result.stderr
    assert result.stdout == ""
    return result.stderr.strip()


@pytest.mark.parametrize("query, expected", [
    ("SELECT * FROM incidentz", ["unknown table or view incidentz", "did you mean incidents?"]),
    ("SELECT primary_typ FROM incidents_current", ["unknown column primary_typ", "did you mean primary_type?"]),
    ("SELECT i.primary_typ FROM incidents i", ["no column primary_typ", "did you mean primary_type?"]),
    ("SELECT CAST(primary_type AS INTEGER) FROM incidents", ["bad value", "Could not convert string", "INT32"]),
    ("SELECT * FROM incidents WHERE occurred_at > 'yesterday'", ["bad value", "yesterday"]),
    ("DROP TABLE incidents", ["refused a statement of type DROP"]),
    ("COPY incidents TO 'x.csv'", ["refused", "COPY"]),
    ("SELECT * FROM read_csv('/etc/passwd')", ["refused read_csv()", "tables and views"]),
    ("SELECT * FROM read_parquet('/tmp/x.parquet')", ["refused read_parquet()"]),
    ("SELECT * FROM glob('/etc/*')", ["refused glob()"]),
    ("SELECT * FROM read_text('/etc/hostname')", ["refused read_text()"]),
    ("SELECT * FROM '/etc/passwd'", ["refused", "/etc/passwd", "not a table"]),
    ("SELECT * FROM 'x.csv'", ["refused", "read a file"]),
    ("SELEC count(*) FROM incidents", ["syntax error", "SELEC"]),
    ("SELECT count(*) FROM incidents GROUP BY", ["syntax error"]),
    ("SELECT nosuchfunction(1)", ["unknown function nosuchfunction"]),
])
def test_every_failure_is_one_line(warehouse, query, expected):
    line = _one_line_error(_civicmash("sql", query, "--db", str(warehouse)))
    for words in expected:
        assert words in line, line


def test_missing_warehouse_names_the_path_and_how_to_create_it(tmp_path):
    line = _one_line_error(_civicmash("sql", "SELECT 1", "--out", str(tmp_path / "nowhere")))
    assert str(tmp_path / "nowhere" / "civicmash.duckdb") in line
    assert "civicmash run <city>" in line and "civicmash demo" in line and "out/sample/civicmash.duckdb" in line


def test_a_file_that_is_not_a_warehouse_is_one_line(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("not a database\n" * 100)
    line = _one_line_error(_civicmash("sql", "SELECT 1", "--db", str(bogus)))
    assert "cannot open the warehouse" in line and str(bogus) in line


def _json(result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_params_are_bound_as_text_and_typed_by_the_sql(warehouse):
    query = ("SELECT count(*) AS n FROM incidents_current WHERE city = $city AND community_area = $ca "
             "AND occurred_at >= $from")
    got = _civicmash("sql", query, "--db", str(warehouse), "--format", "json",
                     "--param", "city=chicago", "--param", "ca=42", "--param", "from=2018-05-01")
    assert _json(got) == [{"n": 3}] and got.stderr == ""
    # leading zeros are kept: beats are text
    got = _civicmash("sql", "SELECT count(*) AS n FROM incidents_current WHERE city = $c AND beat = $b",
                     "--db", str(warehouse), "--format", "json", "--param", "c=chicago", "--param", "b=0312")
    assert _json(got) == [{"n": 2}]
    # a value is text unless the SQL casts it
    got = _civicmash("sql", "SELECT CAST($n AS INTEGER) + 1 AS m, $n AS t", "--db", str(warehouse), "--format",
                     "json", "--param", "n=41")
    assert _json(got) == [{"m": 42, "t": "41"}]
    # a value with '=' in it keeps everything after the first '='
    got = _civicmash("sql", "SELECT $q AS q", "--db", str(warehouse), "--format", "json", "--param", "q=a=b")
    assert _json(got) == [{"q": "a=b"}]


@pytest.mark.parametrize("args, expected", [
    (["SELECT count(*) FROM incidents WHERE city = $city"], ["missing --param city"]),
    (["SELECT count(*) FROM incidents WHERE city = $city", "--param", "city=chicago", "--param", "ca=42"],
     ["unknown --param ca"]),
    (["SELECT 1", "--param", "x=1"], ["unknown --param x"]),
    (["SELECT $x", "--param", "x"], ["--param 'x'", "name=value"]),
    (["SELECT $x", "--param", "x=1", "--param", "x=2"], ["--param x given twice"]),
    (["SELECT $n + 1", "--param", "n=1"], ["add explicit type casts"]),
])
def test_param_errors_are_one_line(warehouse, args, expected):
    line = _one_line_error(_civicmash("sql", *args, "--db", str(warehouse)))
    for words in expected:
        assert words in line, line


def _warnings(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith("civicmash: warning: ") for line in lines), result.stderr
    return lines


def test_warning_when_the_result_spans_several_cities(warehouse):
    got = _civicmash("sql", "SELECT city, count(*) AS n FROM incidents_current GROUP BY city ORDER BY city",
                     "--db", str(warehouse), "--format", "json")
    [warning] = _warnings(got)
    assert "spans 2 cities (chicago, other)" in warning
    assert json.loads(got.stdout) == [{"city": "chicago", "n": 3}, {"city": "other", "n": 1}]


def test_warning_when_a_multi_city_table_is_read_without_naming_city(warehouse):
    got = _civicmash("sql", "SELECT count(*) AS n FROM incidents_current", "--db", str(warehouse), "--format",
                     "json")
    [warning] = _warnings(got)
    assert "incidents_current" in warning and "several cities (chicago, other)" in warning
    assert "never names city" in warning
    assert json.loads(got.stdout) == [{"n": 4}]
    # naming city (filter, join or grouping) is trusted; one city in the result is not a mix
    for query in ("SELECT count(*) AS n FROM incidents_current WHERE city = 'chicago'",
                  "SELECT count(*) AS n FROM incidents_current i WHERE i.city = 'other'",
                  "SELECT city, count(*) AS n FROM incidents_current WHERE city = 'other' GROUP BY city",
                  "SELECT count(*) AS n FROM offence_categories"):
        assert _warnings(_civicmash("sql", query, "--db", str(warehouse))) == [], query


def test_warning_when_reading_quarantined_rows(warehouse):
    got = _civicmash("sql", "SELECT reason, count(*) AS n FROM quarantine WHERE city = 'chicago' GROUP BY reason",
                     "--db", str(warehouse), "--format", "json")
    [warning] = _warnings(got)
    assert "quarantine" in warning and "NOT loaded" in warning
    assert json.loads(got.stdout) == [{"reason": "missing_source_id", "n": 1}]
    got = _civicmash("sql", "SELECT count(*) AS n FROM raw_chicago_crimes", "--db", str(warehouse))
    [warning] = _warnings(got)
    assert "raw_chicago_crimes" in warning and "1 of them were quarantined" in warning
    assert _warnings(_civicmash("sql", "SELECT count(*) FROM raw_other_crimes", "--db", str(warehouse))) == []


def test_warning_when_reading_fixture_rows(warehouse):
    got = _civicmash("sql", "SELECT count(*) AS n FROM incidents WHERE city = 'chicago'", "--db", str(warehouse),
                     "--format", "json")
    [warning] = _warnings(got)
    assert "format-fixture" in warning and "chicago/crimes_fixture" in warning and "1 rows" in warning
    assert json.loads(got.stdout) == [{"n": 4}]
    # the analysis views leave fixtures out: no warning
    assert _warnings(_civicmash("sql", "SELECT count(*) FROM incidents_by_offence WHERE city = 'chicago'",
                                "--db", str(warehouse))) == []
    [warning] = _warnings(_civicmash("sql", "SELECT count(*) FROM raw_chicago_crimes_fixture",
                                     "--db", str(warehouse)))
    assert "format-fixture dataset (chicago/crimes_fixture)" in warning
