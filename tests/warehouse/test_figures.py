"""The figures registry (warehouse/figures.py): every figure the pages show as SQL that `civicmash sql` runs.

Over the sample city's real pipeline run (sample_run): each figure runs with text parameters, as the command
line binds them, and gives what an independent query or the page's own data gives; the command
:func:`cli_command` prints runs and prints the same."""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from civicmash.maps.explorer_filters import FILTERS
from civicmash.maps.figure_payload import explorer_filter_sql
from civicmash.warehouse import figures
from civicmash.warehouse.db import connect
from civicmash.warehouse.sql import check_query, run_query

CLI = Path(sys.executable).with_name("civicmash")


@pytest.fixture(scope="module")
def wh(sample_run):
    path = sample_run["warehouse"]
    with contextlib.closing(connect(path, read_only=True)) as con:
        window = con.execute("SELECT CAST(min(occurred_at) AS DATE), CAST(max(occurred_at) AS DATE) "
                             "FROM incidents_last_90_days WHERE city = 'sample'").fetchone()
        year = con.execute("SELECT max(fiscal_year) FROM spending WHERE city = 'sample'").fetchone()[0]
        yield {"path": path, "con": con, "from": window[0].isoformat(), "to": window[1].isoformat(), "year": year}


def test_the_registry_follows_the_contract():
    assert set(figures.PAGES) == {f.page for f in figures.FIGURES.values()}
    for key, fig in figures.FIGURES.items():
        assert key == fig.key and key.startswith(fig.page + ".")
        assert fig.params == figures.param_names(fig.sql) and fig.params, key   # in order of appearance
        assert fig.column and fig.title
        check_query(fig.sql)   # civicmash sql's read-only guard takes it
        assert figures.figure(key) is fig and fig in figures.figures_for(fig.page)
    with pytest.raises(KeyError, match="no figure 'explorer.nope'"):
        figures.figure("explorer.nope")
    with pytest.raises(ValueError, match="no page"):
        figures.figures_for("nope")


def test_definitions_say_where_the_figures_differ_from_the_source():
    total = figures.figure("explorer.total").definition
    assert "one row per victim" in total and "90 calendar days ending on the latest incident's day" in total
    assert "incidents_last_90_days" in total
    rate = figures.figure("explorer.rate_per_1000").definition
    assert "filled it in from the coordinates" in rate and "docs/maps.md gives a measured case" in rate
    assert "Chicago" not in rate   # a definition shown for every city names none; the measured case is in the docs
    docs = (Path(__file__).resolve().parents[2] / "docs" / "maps.md").read_text(encoding="utf-8")
    assert "98.96 here, 98.94" in docs
    assert "cannot be computed in SQL" in figures.figure("safe_route.safer_exposure").definition
    assert "SQL does not search graphs" in figures.figure("locator.nearest_minutes").definition


def test_the_explorer_filters_in_text_form_are_the_declared_ones():
    """Each declared filter's predicate, its typed parameters read from text; the registry's date defaults are the
    declared date filters (warehouse code cannot import maps, so they are written twice)."""
    text = explorer_filter_sql()
    assert set(text) == {f.key for f in FILTERS if f.sql}
    assert text["types"]["sql"] == "list_contains(from_json($types, '[\"VARCHAR\"]'), primary_type)"
    assert text["from"]["sql"] == figures._filters_for_registry()["from"]
    assert text["to"]["sql"] == figures._filters_for_registry()["to"]
    assert "CAST($tod_from AS INTEGER) < CAST($tod_to AS INTEGER)" in text["tod"]["sql"]
    assert text["near"]["params"] == ["lat0", "near_lat", "lon0", "near_lon", "r"]


def test_explorer_figures_with_every_filter_set_run_as_text(wh):
    """All filters at once, every value as text (as `--param` passes it): the count equals the same filters
    computed in Python over the rows."""
    con, text = wh["con"], explorer_filter_sql()
    rows = con.execute("SELECT primary_type, occurred_at, arrest, community_area FROM incidents_current "
                       "WHERE city = 'sample' AND occurred_at IS NOT NULL").fetchall()
    types = sorted({r[0] for r in rows})[:2]
    values = {"city": "sample", "from": wh["from"], "to": wh["to"], "types": json.dumps(types), "tod_from": "1320",
              "tod_to": "180", "dow": "[5,6,7]", "arrest": "false"}
    fig = figures.figure("explorer.total")
    sql = figures.compose(fig, [text[k]["sql"] for k in ("types", "from", "to", "tod", "dow", "arrest")])
    got = run_query(wh["path"], sql, params={n: values[n] for n in figures.param_names(sql)}, warn=False).rows[0][0]

    def keep(t, at, arrest):
        minute = at.hour * 60 + at.minute
        return (t in types and wh["from"] <= at.date().isoformat() <= wh["to"] and (minute >= 1320 or minute < 180)
                and at.isoweekday() in (5, 6, 7) and arrest is False)

    want = sum(keep(t, at, a) for t, at, a, _ in rows)
    assert got == want and want > 0


def test_each_figure_runs_and_gives_what_an_independent_query_gives(wh):
    con, city = wh["con"], "sample"
    window = {"from": wh["from"], "to": wh["to"]}
    total = figures.run_figure(con, "explorer.total", city=city, **window)[0][0]
    assert total == con.execute("SELECT count(*) FROM incidents_last_90_days WHERE city = 'sample'").fetchone()[0]
    kind, n = con.execute("SELECT primary_type, count(*) FROM incidents_last_90_days WHERE city = 'sample' "
                          "GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchone()
    assert figures.run_figure(con, "explorer.type_count", city=city, primary_type=kind, **window) == [(n,)]
    area, incidents = con.execute("SELECT CAST(community_area AS VARCHAR), count(*) FROM incidents_last_90_days "
                                  "WHERE city = 'sample' AND community_area IS NOT NULL GROUP BY 1 ORDER BY 2 DESC "
                                  "LIMIT 1").fetchone()
    assert figures.run_figure(con, "explorer.area_count", city=city, area=area, **window) == [(incidents,)]
    people = con.execute("SELECT population FROM population WHERE city = 'sample' AND area_kind = 'community_area' "
                         "AND area_code = ? ORDER BY year DESC LIMIT 1", [area]).fetchone()
    assert people, "the sample city has population figures"
    if people:
        per_1000, counted, residents, _ = figures.run_figure(con, "explorer.rate_per_1000", city=city, area=area,
                                                             area_kind="community_area", **window)[0]
        assert (counted, residents) == (incidents, people[0]) and per_1000 == round(incidents * 1000 / people[0], 2)
    year = wh["year"]
    assert year is not None, "the sample city has spending lines with a fiscal year"
    if year is not None:
        spent = con.execute("SELECT sum(amount) FROM spending WHERE city = 'sample' AND fiscal_year = ?",
                            [year]).fetchone()[0]
        assert figures.run_figure(con, "spending.total", city=city, year=year) == [(spent,)]   # int bound as text
        depts = con.execute("SELECT department, sum(amount) FROM spending WHERE city = 'sample' AND fiscal_year = ? "
                            "AND amount IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1", [year]).fetchall()
        assert figures.run_figure(con, "spending.department", city=city, year=year,
                                  department=depts[0][0]) == [(depts[0][1],)]
        rest = figures.run_figure(con, "spending.other_departments", city=city, year=year, top=1)[0]
        assert rest == (sum(d[1] for d in depts[1:]), len(depts) - 1)
    cov = con.execute("SELECT category, threshold_min, area_code, share_area_beyond FROM service_coverage "
                      "WHERE city = 'sample' AND share_area_beyond IS NOT NULL LIMIT 1").fetchone()
    assert cov, "the sample city has coverage rows"
    if cov:
        got = figures.run_figure(con, "locator.gap_share", city=city, category=cov[0], minutes=cov[1], area=cov[2])
        assert got[0][0] == round(cov[3] * 100)


def test_route_length_is_the_sum_of_the_walked_segments(wh):
    con = wh["con"]
    edges = con.execute("SELECT edge_id, CAST(length_m AS DOUBLE) FROM street_edges WHERE city = 'sample' "
                        "AND superseded_by IS NULL ORDER BY edge_id LIMIT 3").fetchall()
    ids = [e for e, _ in edges]
    length, minutes, count = figures.run_figure(con, "safe_route.shortest_m", city="sample", edge_ids=ids)[0]
    assert count == 3 and length == round(sum(m for _, m in edges), 1)
    assert minutes == round(sum(m for _, m in edges) / 1.3 / 60, 1)
    exposure = figures.run_figure(con, "safe_route.safer_exposure", edge_ids=ids, edge_exposure=[1.25, 0.5, 2])
    assert exposure == [(3.8, 3)]


def test_run_figure_names_a_missing_parameter(wh):
    with pytest.raises(ValueError, match=r"figure spending.total: missing parameter\(s\) year"):
        figures.run_figure(wh["con"], "spending.total", city="sample")


def test_the_printed_command_runs_and_gives_the_same(wh):
    """cli_command's text, split as a shell splits it, run as it is (plus the warehouse): the same number."""
    params = {"city": "sample", "from": wh["from"], "to": wh["to"], "types": None}
    cmd = figures.cli_command("explorer.total", **params)
    words = shlex.split(cmd)
    assert words[:3] == ["civicmash", "sql", figures.figure("explorer.total").sql]
    assert words[3:] == ["--param", "city=sample", "--param", f"from={wh['from']}", "--param", f"to={wh['to']}"]
    done = subprocess.run([str(CLI), *words[1:], "--db", wh["path"], "--format", "json"], check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"incidents": figures.run_figure(wh["con"], "explorer.total", **params)[0][0]}]


def test_values_travel_as_text():
    assert figures.param_text(["A", "B, C"]) == '["A", "B, C"]'
    assert figures.param_text(True) == "true" and figures.param_text(None) == "" and figures.param_text(7) == "7"
    cmd = figures.cli_command("spending.department", city="x", year=2019, department="O'HARE; rm -rf /")
    assert shlex.split(cmd)[-1] == "department=O'HARE; rm -rf /"   # quoted: one word, never run


def test_docs_table_is_the_registry():
    """docs/maps.md ("How each figure is computed") holds the table generated from FIGURES."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "maps.md").read_text(encoding="utf-8")
    assert figures.docs_table() in docs, "docs/maps.md: the figures table is stale (see figures.docs_table)"
