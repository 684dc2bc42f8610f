"""`civicmash route` and `locate` report how far a place is from the street graph (text and --json), and a walk
between two street networks ends with "no walking path", through the real CLI on a generated two-island city."""

from __future__ import annotations

import json

import pytest

from civicmash.flows.cli import main
from tests.maps import islands_city as I


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_snap")
    warehouse = I.build(tmp / "wh")
    profile = tmp / "islandia.toml"
    profile.write_text(I.PROFILE, encoding="utf-8")
    return ["--profile", str(profile), "--db", str(warehouse)]


def _ll(i, j, island="A") -> str:
    return ",".join(f"{v:.6f}" for v in I.ll(i, j, island=island))


def test_route_json_and_text_give_the_snap_distance(city, capsys):
    lat, lon = I.ll(2, 0)
    start = f"{lat - 200 / 110_540:.6f},{lon:.6f}"             # 200 m south of the grid's corner row: off the streets
    assert main(["route", *city, "--from", start, "--to", _ll(4, 4), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["origin"]["snap_m"] == pytest.approx(200, abs=1.0)
    assert result["destination"]["snap_m"] < 1
    assert main(["route", *city, "--from", start, "--to", _ll(4, 4)]) == 0
    text = capsys.readouterr().out
    assert f"note: '{start}' is 200 m from the nearest street of the graph" in text
    assert text.count("m from the nearest street") == 1          # the destination is on the street: no note


def test_route_between_islands_says_no_walking_path(city, capsys):
    assert main(["route", *city, "--from", "325 W Main St", "--to", _ll(1, 1, "B")]) != 0
    err = capsys.readouterr().err
    assert "no walking path: '325 W MAIN ST' and " in err and "separate street networks (1" in err and " m apart)" in err


def test_locate_reports_the_snap_distance(city, capsys):
    lat, lon = I.ll(0, 2.5)
    near = f"{lat:.6f},{lon - 120 / (111_320 * 0.8283):.6f}"      # 120 m west of the grid's first column
    assert main(["locate", *city, "--near", near, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["place"]["snap_m"] == result["origin_offset_m"] == pytest.approx(120, abs=1.5)
    assert main(["locate", *city, "--near", near]) == 0
    assert f"is {result['place']['snap_m']:,.0f} m from the nearest street of the graph" in capsys.readouterr().out
    assert main(["locate", *city, "--near", _ll(1.1, 1.5)]) == 0   # inside a block, 15 m from a street: no note
    assert "m from the nearest street" not in capsys.readouterr().out
