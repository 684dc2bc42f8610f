"""One run context: a command parses its profile once, `--profile FILE` wherever `--city` is taken, the
read-only commands start without Prefect, and `civicmash profile check|schema`.

What a command did is observed from outside: each command runs in a fresh interpreter (``_drive``) that counts
the times the profile file is opened (a Python audit hook: every parse reads the file) and lists the Prefect
modules imported by the end. Nothing of ours is mocked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from civicmash.cities.profile import CITIES_DIR, load_profile
from civicmash.flows.cli import build_parser, main

_DRIVER = """
import json, os, sys

profile, result_file, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
reads = []

def count_profile_reads(event, args):
    if event == "open" and isinstance(args[0], (str, os.PathLike)) and os.path.abspath(args[0]) == profile:
        reads.append(event)

sys.addaudithook(count_profile_reads)
from civicmash.flows.cli import main

code = main(argv)
prefect = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
with open(result_file, "w") as f:
    json.dump({"code": code, "profile_reads": len(reads), "prefect": prefect[:5]}, f)
"""


def _drive(argv: list[str], *, profile: Path, tmp_path: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``civicmash <argv>`` in a new interpreter: its exit code, how often it opened ``profile`` and the
    Prefect modules it imported."""
    result_file = tmp_path / "driven.json"
    done = subprocess.run([sys.executable, "-c", _DRIVER, str(profile.resolve()), str(result_file), *argv],
                          capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})
    assert result_file.exists(), done.stderr[-3000:]
    return {**json.loads(result_file.read_text()), "stdout": done.stdout, "stderr": done.stderr}


@pytest.fixture
def profile_file(tmp_path) -> Path:
    """The sample city's profile outside cities/, changed so that each command shows it read this file: its
    title, a bar factor on the safe route's risk, and a locator that reaches no service from the street
    graph (max_access_m 1 m)."""
    text = (CITIES_DIR / "sample.toml").read_text(encoding="utf-8")
    assert 'title = "Sampleton (synthetic sample)"' in text and "[maps.locator]\n" in text
    text = text.replace('title = "Sampleton (synthetic sample)"', 'title = "Profile File Town"', 1)
    text = text.replace("[maps.locator]\n", "[maps.locator]\nmax_access_m = 1.0\n", 1)
    text += "\n[risk.bars]\nfactor = 4.0\nradius_m = 150\nhours = [22, 4]\n"
    path = tmp_path / "elsewhere" / "my_sample.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


def _out(sample_run) -> str:
    return str(Path(sample_run["warehouse"]).parent)


def _route(profile_args: list[str], out: str) -> list[str]:
    return ["route", *profile_args, "--from", "42.303773,-87.259473", "--to", "42.305929,-87.239069",
            "--at", "23:30", "--format", "json", "--out", out]


# --- --profile FILE wherever --city is taken ----------------------------------------------------------------

def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    """(command words, its option strings and positional names), for every command and subcommand."""
    yield words, ({o for a in parser._actions for o in a.option_strings}
                  | {a.dest for a in parser._actions if not a.option_strings})
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*words, name))


def test_every_command_taking_city_takes_profile():
    commands = dict(_commands(build_parser()))
    taking_city = [words for words, options in commands.items() if {"--city", "city"} & options]
    assert {("route",), ("locate",), ("explore",), ("run",), ("serve",), ("portal", "serve")} <= set(taking_city)
    assert [words for words in taking_city if "--profile" not in commands[words]] == []


def test_route_reads_the_profile_file_once_without_prefect(sample_run, profile_file, tmp_path):
    driven = _drive(_route(["--profile", str(profile_file)], _out(sample_run)), profile=profile_file,
                    tmp_path=tmp_path)
    assert driven["code"] == 0, driven["stderr"]
    assert driven["profile_reads"] == 1
    assert driven["prefect"] == [], "civicmash route imported Prefect"
    result = json.loads(driven["stdout"])   # the file's [risk.bars], which cities/sample.toml does not set
    assert result["city"] == "sample" and any("of a bar x4" in f for f in result["street_factors"])


def test_explore_reads_the_profile_file_once_without_prefect(sample_run, profile_file, tmp_path):
    page = tmp_path / "explorer.html"
    driven = _drive(["explore", "--profile", str(profile_file), "--output", str(page), "--out", _out(sample_run)],
                    profile=profile_file, tmp_path=tmp_path)
    assert driven["code"] == 0, driven["stderr"]
    assert driven["profile_reads"] == 1
    assert driven["prefect"] == [], "civicmash explore imported Prefect"
    assert "Profile File Town" in page.read_text(encoding="utf-8")


def test_locate_reads_the_profile_file_once_without_prefect(sample_run, profile_file, tmp_path):
    driven = _drive(["locate", "--profile", str(profile_file), "--near", "42.303773,-87.259473", "--category",
                     "library", "--format", "json", "--out", _out(sample_run)], profile=profile_file, tmp_path=tmp_path)
    assert driven["code"] == 0, driven["stderr"]
    assert driven["profile_reads"] == 1
    assert driven["prefect"] == [], "civicmash locate imported Prefect"
    library = json.loads(driven["stdout"])["categories"][0]   # the file's max_access_m = 1: none reachable
    assert library["category"] == "library" and library["off_network"] == library["located"] > 0


def test_run_parses_the_profile_once(prefect_harness, sample_city_dir, profile_file, tmp_path):
    """The CLI loads the profile to check it before Prefect starts and hands it to the flow, which used to
    load it again by name."""
    from prefect.settings import PREFECT_API_URL

    out = tmp_path / "out"
    driven = _drive(["run", "--profile", str(profile_file), "--replay", str(sample_city_dir), "--out", str(out)],
                    profile=profile_file, tmp_path=tmp_path, env={"PREFECT_API_URL": PREFECT_API_URL.value()})
    assert driven["code"] == 0, driven["stderr"][-3000:]
    assert driven["profile_reads"] == 1
    assert "Profile File Town: run sample-" in driven["stdout"]
    assert (out / "maps" / "sample" / "explorer.html").exists()


def test_serve_takes_a_profile_file(prefect_harness, tmp_path, capsys):
    from civicmash.flows.deployments import build_deployments

    text = (CITIES_DIR / "sample.toml").read_text(encoding="utf-8")
    assert 'schedule = "0 6 * * *"' in text
    scheduled = tmp_path / "sample_at_half_five.toml"
    scheduled.write_text(text.replace('schedule = "0 6 * * *"', 'schedule = "30 5 * * *"', 1), encoding="utf-8")
    assert main(["serve", "--profile", str(scheduled), "--list", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "city=sample" in printed and "'30 5 * * *'" in printed and printed.count("deployment ") == 1
    [deployment] = build_deployments(profile_files=[str(scheduled)], out=str(tmp_path))
    assert deployment.parameters["profile_path"] == str(scheduled)   # the scheduled run reads the same file


def test_portal_serve_takes_a_profile_file(sample_city_dir, profile_file, capsys):
    assert main(["portal", "serve", str(sample_city_dir), "--profile", str(profile_file), "--seconds", "0.1"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("replay portal for Profile File Town serving ")


def test_export_takes_a_profile_file(sample_run, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere.toml"     # a city with no rows in this warehouse
    elsewhere.write_text((CITIES_DIR / "sample.toml").read_text(encoding="utf-8")
                         .replace('name = "sample"', 'name = "elsewhere"', 1), encoding="utf-8")
    target = tmp_path / "incidents.csv"
    for profile, rows in ((CITIES_DIR / "sample.toml", sample_run["tables"]["incidents"]), (elsewhere, 0)):
        assert main(["export", "incidents", "--profile", str(profile), "--output", str(target),
                     "--out", _out(sample_run)]) == 0
        assert len(target.read_text(encoding="utf-8").splitlines()) == 1 + rows
    capsys.readouterr()


def test_city_and_profile_that_disagree_is_a_one_line_error(profile_file, tmp_path, capsys):
    for argv in (["route", "--city", "chicago", "--profile", str(profile_file), "--from", "1,1", "--to", "2,2"],
                 ["run", "chicago", "--profile", str(profile_file)]):
        assert main([*argv, "--out", str(tmp_path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("civicmash: error: ") and err.count("\n") == 1, err
        assert str(profile_file) in err and "'sample'" in err and "'chicago'" in err


def test_a_missing_profile_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["explore", "--profile", str(tmp_path / "nope.toml"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == f"civicmash: error: profile file {str(tmp_path / 'nope.toml')!r} does not exist\n"


@pytest.mark.parametrize("argv", [["route", "--from", "1,1", "--to", "2,2"], ["locate", "--near", "1,1"],
                                  ["explore"], ["run"]], ids=lambda a: a[0])
def test_a_command_without_a_city_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "give a city: a profile name (cities/<name>.toml) or --profile FILE" in capsys.readouterr().err


# --- civicmash profile check FILE | schema ------------------------------------------------------------------

def test_profile_check_says_ok_without_fetching_or_prefect(profile_file, tmp_path):
    driven = _drive(["profile", "check", str(profile_file)], profile=profile_file, tmp_path=tmp_path)
    assert driven["code"] == 0, driven["stderr"]
    assert driven["stdout"] == f"ok: sample, {len(load_profile('sample').datasets)} datasets\n"
    assert driven["profile_reads"] == 1 and driven["prefect"] == []


def test_profile_check_of_the_shipped_profiles(capsys):
    for city in ("chicago", "sample"):
        assert main(["profile", "check", str(CITIES_DIR / f"{city}.toml")]) == 0
        assert capsys.readouterr().out == f"ok: {city}, {len(load_profile(city).datasets)} datasets\n"


def test_profile_check_names_a_misspelt_option(tmp_path, capsys):
    bad = tmp_path / "typo.toml"
    bad.write_text('name = "typo"\ntitle = "Typo"\n[datasets.crimes]\nprotocol = "socrata"\ntable = "incidents"\n'
                   'format = "json"\ndomain = "data.example.org"\ndataset_id = "abcd-1234"\n'
                   "options = { page_sise = 1000 }\n", encoding="utf-8")
    assert main(["profile", "check", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    err = captured.err
    assert err.startswith(f"civicmash: error: {bad}: ") and "crimes" in err and "page_sise" in err
    assert "did you mean 'page_size'" in err


def test_profile_check_of_no_file_and_of_bad_toml(tmp_path, capsys):
    assert main(["profile", "check", str(tmp_path / "nope.toml")]) == 1
    assert capsys.readouterr().err.startswith("civicmash: error: no city profile ")
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken\n', encoding="utf-8")
    assert main(["profile", "check", str(broken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"civicmash: error: {broken}: not valid TOML") and err.count("\n") == 1


def test_profile_schema_is_json_schema_of_a_closed_profile(capsys):
    assert main(["profile", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"name", "title", "datasets", "maps"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False   # an unknown top-level key is an error in editors too
    assert schema["$defs"]["DatasetSpec"]["additionalProperties"] is False


def test_profile_without_subcommand_is_a_one_line_error(capsys):
    assert main(["profile"]) == 1
    assert capsys.readouterr().err == "civicmash: error: profile needs a subcommand: check FILE, or schema\n"
