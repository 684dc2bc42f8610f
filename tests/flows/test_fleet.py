"""Many cities on Dask: ``civicmash run --all --workers 2`` on a real LocalCluster, one warehouse per city, the
catalogue that ``civicmash sql --all`` attaches, and a broken city failing alone (docs/operations.md)."""

from __future__ import annotations

import contextlib
import io
import json
import re

import duckdb
import pytest
from civicmash.flows.cli import main

CITIES = ("sample_01", "sample_02", "sample_03")   # sample_03's crimes export is broken on purpose
TINY_INCIDENTS = 600
# a real Dask LocalCluster (scheduler + 2 worker processes) and the Prefect test server: slow, and one run for
# the module, so every test of it goes to the same xdist worker
on_cluster = [pytest.mark.slow, pytest.mark.xdist_group("fleet")]


def _on_cluster(test):
    for mark in on_cluster:
        test = mark(test)
    return test


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def fleet(prefect_harness, tmp_path_factory):
    """Three tiny generated cities, the third with a crimes export that has none of the profile's columns,
    run by the CLI on a LocalCluster of 2 worker processes (no maps: the fleet is under test, not the pages)."""
    from civicmash.devkit.sample_city import generate_fleet

    data = tmp_path_factory.mktemp("fleet_data")
    profiles = generate_fleet(data, count=3, seed=700, size="tiny")
    (data / "replay" / "sample_03" / "crime" / "incidents.csv").write_text("not,a,crimes,export\r\n1,2,3,4\r\n")
    out = tmp_path_factory.mktemp("fleet_out")
    code, stdout, stderr = _cli("run", "--all", "--profile-dir", str(profiles[0].parent), "--replay-root",
                                str(data / "replay"), "--workers", "2", "--maps", "none", "--out", str(out))
    return {"code": code, "stdout": stdout, "stderr": stderr, "out": out, "data": data}


@_on_cluster
def test_each_city_writes_its_own_warehouse(fleet):
    for city in CITIES[:2]:
        path = fleet["out"] / "cities" / city / "civicmash.duckdb"
        assert path.is_file(), fleet["stdout"] + fleet["stderr"]
        with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
            cities = con.execute("SELECT city, count(*) FROM incidents GROUP BY city").fetchall()
        assert cities == [(city, TINY_INCIDENTS)]   # its own rows only: no other city in its file
    assert not (fleet["out"] / "civicmash.duckdb").exists()   # no shared warehouse


@_on_cluster
def test_cities_ran_on_two_dask_workers(fleet):
    workers = set(re.findall(r"tcp://127\.0\.0\.1:\d+", fleet["stdout"]))
    assert len(workers) == 2, fleet["stdout"]


@_on_cluster
def test_a_broken_city_fails_alone_and_is_named(fleet):
    assert fleet["code"] == 1
    error = [line for line in fleet["stderr"].splitlines() if line.startswith("civicmash: error:")]
    assert len(error) == 1, fleet["stderr"]
    assert "1 of 3 cities failed: sample_03:" in error[0]
    assert "sample_01" not in error[0] and "sample_02" not in error[0]
    rows = dict(re.findall(r"^  (sample_\d+)\s+(\w+)", fleet["stdout"], flags=re.MULTILINE))
    assert rows == {"sample_01": "completed", "sample_02": "completed", "sample_03": "failed"}


@_on_cluster
def test_catalogue_records_every_city(fleet):
    catalogue = json.loads((fleet["out"] / "catalogue.json").read_text())
    assert catalogue["format"] == "civicmash-catalogue/1"
    assert {c: v["status"] for c, v in catalogue["cities"].items()} == {
        "sample_01": "completed", "sample_02": "completed", "sample_03": "failed"}
    assert catalogue["cities"]["sample_01"]["warehouse"] == "cities/sample_01/civicmash.duckdb"   # relative
    assert "sample_03" in catalogue["cities"]["sample_03"]["error"]


@_on_cluster
def test_sql_all_spans_the_cities(fleet):
    code, stdout, stderr = _cli("sql", "--all", "SELECT city, count(*) AS n FROM incidents GROUP BY city ORDER BY city",
                                "--format", "json", "--out", str(fleet["out"]))
    assert code == 0, stderr
    counts = {r["city"]: r["n"] for r in json.loads(stdout)}
    assert counts == {"sample_01": TINY_INCIDENTS, "sample_02": TINY_INCIDENTS}   # sample_03 loaded nothing
    code, stdout, stderr = _cli("sql", "--catalogue", str(fleet["out"] / "catalogue.json"),
                                "SELECT count(*) AS n FROM incidents", "--format", "json")
    assert code == 0 and json.loads(stdout) == [{"n": 2 * TINY_INCIDENTS}]
    assert "several cities" in stderr   # the warning of a sum over cities still fires


@_on_cluster
def test_sql_all_stays_read_only(fleet):
    for query in ("SELECT * FROM read_csv('/etc/passwd')", "ATTACH '/tmp/x.duckdb' AS x",
                  "SELECT count(*) FROM city_sample_01.main.incidents"):
        code, stdout, stderr = _cli("sql", "--all", query, "--out", str(fleet["out"]))
        if query.startswith("SELECT count"):   # a city's own schema can be named
            assert code == 0, stderr
        else:
            assert code == 1 and stderr.startswith("civicmash: error:"), stderr


def test_run_all_options_are_checked_before_anything_runs(tmp_path):
    code, _, stderr = _cli("run", "sample", "--workers", "2", "--out", str(tmp_path))
    assert code == 1 and "--workers only go with --all" in stderr
    code, _, stderr = _cli("run", "--all", "--replay-root", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert code == 1 and "--replay-root" in stderr and "not a directory" in stderr
    code, _, stderr = _cli("run", "--all", "--cities", "sample", "--maps", "atlas", "--out", str(tmp_path))
    assert code == 1 and "--maps: no map atlas" in stderr
    code, _, stderr = _cli("sql", "--all", "SELECT 1", "--out", str(tmp_path))
    assert code == 1 and "no catalogue at" in stderr
