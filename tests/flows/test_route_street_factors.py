"""`civicmash route` applies the profile's optional street factors ([risk.bars] here) like the map does."""

from __future__ import annotations

import json
from pathlib import Path

from civicmash.cities.profile import CITIES_DIR
from civicmash.flows.cli import main


def _route(profile: str, out: str, at: str, capsys) -> dict:
    assert main(["route", "--city", profile, "--from", "42.303773,-87.259473", "--to", "42.305929,-87.239069",
                 "--at", at, "--format", "json", "--out", out]) == 0
    return json.loads(capsys.readouterr().out)


def test_route_applies_bar_factor_late_at_night(sample_run, tmp_path, capsys):
    out = str(Path(sample_run["warehouse"]).parent)
    profile = tmp_path / "sample_with_bars.toml"      # the sample city, plus a bar factor
    profile.write_text((CITIES_DIR / "sample.toml").read_text(encoding="utf-8")
                       + "\n[risk.bars]\nfactor = 4.0\nradius_m = 150\nhours = [22, 4]\n", encoding="utf-8")
    plain = _route("sample", out, "23:30", capsys)
    bars = _route(str(profile), out, "23:30", capsys)
    assert plain["street_factors"] == []
    assert len(bars["street_factors"]) == 1 and "of a bar x4" in bars["street_factors"][0]
    # the same shortest walk, more exposed where it passes bars at 23:30 ...
    assert bars["shortest"]["length_m"] == plain["shortest"]["length_m"]
    assert bars["shortest"]["exposure"] > plain["shortest"]["exposure"]
    # ... and unchanged at noon, outside the factor's hours
    noon_plain, noon_bars = _route("sample", out, "12:00", capsys), _route(str(profile), out, "12:00", capsys)
    assert noon_bars["street_factors"] == []
    assert noon_bars["shortest"]["exposure"] == noon_plain["shortest"]["exposure"]
