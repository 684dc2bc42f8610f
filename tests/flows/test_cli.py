"""The civicmash command line: help on every command, one-line errors, exit codes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from civicmash.flows.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]

COMMANDS = [["demo"], ["run"], ["sql"], ["route"], ["locate"], ["explore"], ["export"], ["schema"], ["serve"],
            ["portal"], ["portal", "serve"], ["profile"], ["profile", "check"], ["profile", "schema"]]


def _civicmash(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicmash.flows.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: civicmash " + " ".join(command))
    assert len(out.splitlines()) > 3


def test_every_option_is_documented_in_readme():
    """Each CLI command and long option appears in README.md (Datasette's rule)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    parser = build_parser()
    missing = []
    subparsers = parser._subparsers._group_actions[0].choices
    for name, sub in subparsers.items():
        if f"civicmash {name}" not in readme:
            missing.append(f"civicmash {name}")
        for action in sub._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help" and opt not in readme:
                    missing.append(f"{name} {opt}")
    assert not missing, f"undocumented in README.md: {missing}"


def test_unknown_city_is_a_one_line_error():
    result = _civicmash("run", "atlantis")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("civicmash: error: no city profile 'atlantis'")
    assert "chicago" in result.stderr  # names the known cities
    assert "Traceback" not in result.stderr


def test_bad_usage_exits_2():
    result = _civicmash("run")
    assert result.returncode == 2
    assert "civicmash run: error: give a city: a profile name (cities/<name>.toml) or --profile FILE" in result.stderr


def test_missing_replay_dir_is_an_error(tmp_path, capsys):
    assert main(["run", "chicago", "--replay", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "--replay" in err and "not a directory" in err


def test_missing_replay_files_are_named_before_the_flow_starts(tmp_path):
    result = _civicmash("run", "sample", "--replay", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.startswith("civicmash: error: sample: replay files missing under ")
    assert "crime/incidents.csv" in result.stderr and result.stderr.count("\n") == 1   # Prefect never started


def test_an_input_error_inside_the_flow_has_no_traceback(prefect_harness, tmp_path):
    """A portal answer the connector refuses (here a GeoJSON file without a list of features, which the replay
    portal answers with HTTP 500) fails the run inside Prefect: one error line, Prefect's log lines without the
    traceback. The run uses the session's Prefect server (a temporary one per process is slow to start on a
    busy machine)."""
    from prefect.settings import PREFECT_API_URL

    from civicmash.devkit.sample_city import generate

    data = tmp_path / "city"
    generate(data, seed=1)
    (data / "boundaries" / "beats.geojson").write_text('{"type": "FeatureCollection", "features": {}}')
    profile = tmp_path / "sample.toml"
    profile.write_text((REPO / "cities" / "sample.toml").read_text() + "\n[http]\nretries = 0\n")
    result = _civicmash("run", "sample", "--profile", str(profile), "--replay", str(data), "--out", str(tmp_path / "out"),
                        env={"PREFECT_API_URL": PREFECT_API_URL.value()})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-2:]   # the error (then Prefect stopping a temporary server)
    assert any(line.startswith("civicmash: error: dataset beats: page 1 of ") and "HTTP 500" in line
               and "list of features" in line for line in last), result.stderr


def test_sql_without_warehouse_says_what_to_do(tmp_path, capsys):
    assert main(["sql", "SELECT 1", "--out", str(tmp_path)]) == 1
    assert "run `civicmash demo`" in capsys.readouterr().err


def test_invalid_profile_names_file_and_field(tmp_path, capsys):
    bad = tmp_path / "badcity.toml"
    bad.write_text('name = "badcity"\ntitle = "Bad"\n[datasets.crimes]\nprotocol = "ftp"\n'
                   'table = "incidents"\nformat = "json"\n')
    assert main(["run", "badcity", "--profile", str(bad), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "crimes" in err and "protocol" in err and "'ftp'" in err
    assert err.count("\n") == 1


def test_sql_refuses_writes_and_answers_reads(sample_run, capsys):
    out = str(Path(sample_run["warehouse"]).parent)
    for query in ("DROP TABLE incidents", "INSERT INTO incidents (city) VALUES ('x')",
                  "ATTACH 'x.duckdb'", "COPY incidents TO 'x.csv'"):
        assert main(["sql", query, "--out", out]) == 1, query
        assert capsys.readouterr().err.startswith("civicmash: error: ")
    assert main(["sql", "SELECT count(*) AS n FROM incidents WHERE city = 'sample'", "--format", "json",
                 "--out", out]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": sample_run["tables"]["incidents"]}]


def test_export_writes_exactly_the_view(sample_run, tmp_path, capsys):
    out = str(Path(sample_run["warehouse"]).parent)
    target = tmp_path / "last90.csv"
    assert main(["export", "incidents_last_90_days", "--city", "sample", "--output", str(target),
                 "--out", out]) == 0
    with open(target, newline="") as f:
        exported = sum(1 for _ in csv.DictReader(f))
    assert main(["sql", "SELECT count(*) AS n FROM incidents_last_90_days WHERE city='sample'", "--format",
                 "json", "--out", out]) == 0
    capsys.readouterr()
    import duckdb

    with duckdb.connect(sample_run["warehouse"], read_only=True) as con:
        expected = con.execute("SELECT count(*) FROM incidents_last_90_days WHERE city='sample'").fetchone()[0]
    assert exported == expected > 0
    assert main(["export", "no_such_table", "--out", out]) == 1
    assert "is not a table or view" in capsys.readouterr().err


def test_schema_prints_documented_tables(sample_run, capsys):
    out = str(Path(sample_run["warehouse"]).parent)
    assert main(["schema", "--out", out]) == 0
    text = capsys.readouterr().out
    for table in ("incidents", "quarantine", "datasets", "incidents_last_90_days"):
        assert f"`{table}`" in text, table
    assert "beat" in text.lower() and "smallest" in text.lower()


def test_route_reports_shortest_and_recommended(sample_run, tmp_path, capsys):
    out = str(Path(sample_run["warehouse"]).parent)
    html = tmp_path / "route.html"
    assert main(["route", "--city", "sample", "--from", "42.303773,-87.259473", "--to", "42.305929,-87.239069",
                 "--at", "23:30", "--format", "json", "--html", str(html), "--out", out]) == 0
    result = json.loads(capsys.readouterr().out)
    shortest, recommended = result["shortest"], result["recommended"]
    assert recommended["length_m"] <= 1.25 * shortest["length_m"] + 1e-6
    assert recommended["exposure"] <= shortest["exposure"]
    assert "distance" in result["comparison"] and "exposure" in result["comparison"]
    assert html.exists() and "Synthetic sample data" in html.read_text(encoding="utf-8")


def test_route_unknown_place_is_a_one_line_error(sample_run, capsys):
    out = str(Path(sample_run["warehouse"]).parent)
    assert main(["route", "--city", "sample", "--from", "Nowhere Tavern Of Atlantis", "--to",
                 "42.305929,-87.239069", "--out", out]) == 1
    err = capsys.readouterr().err
    assert err.startswith("civicmash: error: ") and err.count("\n") == 1
