"""warehouse.publish / `civicmash publish`: the warehouse as SQLite + metadata.json for Datasette.

Over the sample city's real pipeline run (sample_run): the published tables hold the warehouse's rows, every
column of incidents is described, every figure of the maps is a canned query that gives the same number in
SQLite as the figure's own SQL in DuckDB. A tiny warehouse of hostile strings checks that portal text stays data.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC
from decimal import Decimal

import pytest
from civicmash.warehouse.db import connect
from civicmash.warehouse.figures import FIGURES, run_figure
from civicmash.warehouse.publish import (
    PUBLISHED_TABLES,
    example_params,
    publish,
    query_name,
)
from civicmash.warehouse.views import VIEWS


@pytest.fixture(scope="module")
def published(sample_run, tmp_path_factory):
    to = tmp_path_factory.mktemp("datasette")
    result = publish(sample_run["warehouse"], to, city="sample")
    meta = json.loads(result.metadata.read_text(encoding="utf-8"))
    return {"result": result, "meta": meta, "db": meta["databases"]["sample"], "wh": sample_run["warehouse"]}


@pytest.fixture
def duck(published):
    con = connect(published["wh"], read_only=True)
    yield con
    con.close()


@pytest.fixture
def lite(published):
    con = sqlite3.connect(published["result"].database)
    yield con
    con.close()


def test_tables_hold_the_warehouse_rows_with_their_provenance(published, duck, lite):
    result = published["result"]
    assert result.database.name == "sample.db"
    for table in [*PUBLISHED_TABLES, *VIEWS]:
        has_city = duck.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = 'city'",
                                [table]).fetchone()[0]
        n = duck.execute(f"SELECT count(*) FROM {table}" + (" WHERE city = 'sample'" if has_city else "")).fetchone()[0]
        assert lite.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n == result.tables[table], table
    assert set(result.tables) == set(PUBLISHED_TABLES) | set(VIEWS)
    assert result.tables["incidents"] == 6000 and result.tables["incidents_last_90_days"] > 0

    # per-row provenance: dataset, the record's source id, when it was fetched and the run that loaded it
    row = lite.execute("SELECT dataset, source_id, fetched_at, load_run_id, geom, occurred_at, date(occurred_at), "
                       "arrest FROM incidents WHERE lat IS NOT NULL ORDER BY source_id LIMIT 1").fetchone()
    want = duck.execute("SELECT i.dataset, i.source_id, d.run_id, i.occurred_at, i.lon FROM incidents i "
                        "JOIN datasets d USING (city, dataset) WHERE i.lat IS NOT NULL ORDER BY i.source_id LIMIT 1"
                        ).fetchone()
    assert (row[0], row[1], row[3]) == (want[0], want[1], want[2])
    assert row[2].endswith("+00:00") and row[4].startswith("POINT (") and str(want[4])[:8] in row[4]
    assert row[5] == str(want[3]) and row[6] == str(want[3].date()) and row[7] in (0, 1)
    runs = {r[0] for r in lite.execute("SELECT DISTINCT load_run_id FROM incidents_last_90_days")}
    assert runs <= {r[0] for r in lite.execute("SELECT run_id FROM ingest_runs")} and runs
    # the street graph's nodes and the raw source tables are not published
    names = {r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "street_nodes" not in names and not any(n.startswith("raw_") for n in names)


def test_metadata_describes_every_column_and_cites_the_source(published, duck, lite):
    db = published["db"]
    assert "SYNTHETIC" in published["meta"]["description"]   # the sample city says it is not real
    inc = db["tables"]["incidents"]
    columns = [r[1] for r in lite.execute("PRAGMA table_info(incidents)")]
    assert set(inc["columns"]) == set(columns) and all(inc["columns"][c].strip() for c in columns)
    comment = duck.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'incidents' "
                           "AND column_name = 'primary_type'").fetchone()[0]
    assert inc["columns"]["primary_type"] == comment and "WKT" in inc["columns"]["geom"]
    url, licence, fetched = duck.execute("SELECT portal_url, licence, fetched_at FROM datasets "
                                         "WHERE city = 'sample' AND dataset = 'incidents'").fetchone()
    assert inc["source_url"] == url and inc["license"] == licence
    assert inc["fetched_at"] == fetched.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert url in inc["description"]
    assert inc["facets"] == ["primary_type", "offence", "community_area", {"date": "occurred_at"}]
    assert "occurred_at" in inc["sortable_columns"] and "geom" not in inc["sortable_columns"]
    for table, meta in db["tables"].items():   # every published table and view is described, column by column
        cols = [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]
        assert meta["description"].strip() and set(meta["columns"]) == set(cols), table
        assert all(meta["columns"][c] for c in cols), (table, [c for c in cols if not meta["columns"][c]])
        assert set(meta["sortable_columns"]) <= set(cols)
        for facet in meta.get("facets", []):
            assert (facet if isinstance(facet, str) else next(iter(facet.values()))) in cols, table


def _as_float(rows):
    return [tuple(float(v) if isinstance(v, (float, Decimal)) else v for v in row) for row in rows]


def test_every_figure_is_a_canned_query_giving_the_warehouse_number(published, duck, lite):
    queries = published["db"]["queries"]
    examples = example_params(duck, "sample")
    assert set(queries) == {query_name(k) for k in FIGURES} and not published["result"].missing_figures
    for key, fig in FIGURES.items():
        q = queries[query_name(key)]
        definition = re.sub(r"\$(\w+)", r":\1", fig.definition.strip())   # parameters as SQLite names them
        assert q["title"] == fig.title and definition[:80] in q["description"]
        assert "civicmash sql" in q["description_html"]   # and the command giving it on the DuckDB warehouse
        values = examples[fig.page]
        assert set(q.get("params", [])) <= set(values), (key, q.get("params"), values)
        assert "?" in q["description_html"]    # a link that runs it with this city's values
        got = lite.execute(q["sql"], {p: values[p] for p in q.get("params", [])}).fetchall()
        want = run_figure(duck, key, **{p: values.get(p) for p in fig.params})
        assert _as_float(got) == _as_float(want), key
        assert want and want[0][0] not in (None, 0), (key, want)   # the example gives a real number
    # the explorer's total is the count of the window the map opens on
    ex = examples["explorer"]
    total = lite.execute(queries["explorer_total"]["sql"], {p: ex[p] for p in ("city", "from", "to")}).fetchone()[0]
    assert total == duck.execute("SELECT count(*) FROM incidents_last_90_days WHERE city = 'sample'").fetchone()[0]


def test_portal_text_stays_data_and_no_secret_is_published(tmp_path, monkeypatch):
    from civicmash.warehouse.views import create_views

    from tests.warehouse.helpers import CRIME_FIELDS, load
    from tests.warehouse.test_normalise import crime

    secret = "s3cr3t-app-token-value"
    monkeypatch.setenv("SOCRATA_APP_TOKEN", secret)
    hostile = "THEFT'); DROP TABLE incidents; -- <script>alert(1)</script> \" :city"
    wh = tmp_path / "w.duckdb"
    con = connect(wh)
    load(con, tmp_path, [crime(id="1", primary_type=hostile), crime(id="2")], table="incidents",
         fields=CRIME_FIELDS, dataset="crimes", city="chicago")
    load(con, tmp_path, [crime(id="9")], table="incidents", fields=CRIME_FIELDS, dataset="crimes", city="other")
    create_views(con)
    con.close()
    other = publish(wh, tmp_path / "pub", city="other")
    result = publish(wh, tmp_path / "pub", city="chicago")
    # one metadata.json describes both databases of the directory (datasette serve DIR/*.db --metadata ...)
    meta = json.loads(result.metadata.read_text(encoding="utf-8"))
    assert set(meta["databases"]) == {"chicago", "other"} and other.database.is_file()
    assert sqlite3.connect(other.database).execute("SELECT count(*) FROM incidents").fetchone()[0] == 1
    lite = sqlite3.connect(result.database)
    assert lite.execute("SELECT count(*) FROM incidents").fetchone()[0] == 2
    assert lite.execute("SELECT count(*) FROM incidents WHERE primary_type = ?", [hostile]).fetchone()[0] == 1
    lite.close()
    for path in (result.database, result.metadata):
        assert secret.encode() not in path.read_bytes()
    json.loads(result.metadata.read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="no dataset of city 'nowhere'.*chicago"):
        publish(wh, tmp_path / "pub", city="nowhere")


def test_cli_publish(published, tmp_path, capsys):
    from civicmash.flows.cli import main

    wh = published["wh"]
    assert main(["publish", "--db", str(wh), "--city", "sample", "--to", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"database: {tmp_path / 'sample.db'}" in out and f"{len(FIGURES)} canned queries" in out
    assert (tmp_path / "metadata.json").is_file()
    assert main(["publish", "--db", str(wh), "--city", "nowhere", "--to", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("civicmash: error: the warehouse")


def test_publish_has_help(capsys):
    from civicmash.flows.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["publish", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and out.startswith("usage: civicmash publish")
    assert all(opt in out for opt in ("--city", "--profile", "--to", "--serve", "--port", "--db", "--out"))
