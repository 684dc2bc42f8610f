"""Partial cities: a city builds every product its data allows and says on the page what is missing.

Real runs of ``civicmash run`` (the Prefect flow over the loopback replay portal, a DuckDB file, the pages on
disk) on variants of the sample city's profile: crimes only, and everything but the bars.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from civicmash.flows.cli import main
from civicmash.maps.render import page_data

from .sample_variants import variant, write_profile


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory) -> Path:
    from civicmash.devkit.sample_city import generate

    return generate(tmp_path_factory.mktemp("partial_city"), seed=2008, size="tiny")


def _run(tmp_path: Path, city_dir: Path, raw: dict, capsys) -> tuple[int, str, str]:
    profile = write_profile(tmp_path / f"{raw['name']}.toml", raw)
    code = main(["run", "--profile", str(profile), "--replay", str(city_dir), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _page_data(html: str) -> dict:
    return page_data(html)


def _missing_notice(html: str) -> list[str]:
    section = re.search(r'<section class="cm-missing" id="missing".*?</section>', html, re.S)
    return [unescape(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", section.group(0))] if section else []


def test_a_crimes_only_city_builds_its_explorer_and_skips_the_rest(prefect_harness, city_dir, tmp_path, capsys):
    raw = variant(name="crimes_only", keep=["incidents"])
    code, out, err = _run(tmp_path, city_dir, raw, capsys)
    assert code == 0, err
    explorer = tmp_path / "out" / "maps" / "crimes_only" / "explorer.html"
    assert explorer.is_file()
    html = explorer.read_text(encoding="utf-8")
    assert _missing_notice(html) == ["No area boundaries: no area filter and no areas drawn.",
                                     "No population figures: no rates per 1,000 residents."]
    assert re.search(r"^\s+incidents\s+600\s+[\d,]+\s+[\d,]+\s+ok$", out, re.M), out
    # the summary says which products were not built, and why, in one line each (not an error)
    assert "map safe_route  not built: no street network in this city's data" in out
    assert "map locator     not built: no services with coordinates, street network in this city's data" in out
    assert "map spending    not built: no spending rows in this city's data" in out
    assert "No area boundaries: no area filter and no areas drawn." in out
    assert not (explorer.parent / "safe_route.html").exists() and not (explorer.parent / "spending.html").exists()
    assert "error" not in err.lower()
    # `civicmash explore` rebuilds the page from the warehouse and says the same
    rebuilt = tmp_path / "rebuilt.html"
    assert main(["explore", "--profile", str(tmp_path / "crimes_only.toml"), "--out", str(tmp_path / "out"),
                 "--output", str(rebuilt)]) == 0
    assert _missing_notice(rebuilt.read_text(encoding="utf-8")) == _missing_notice(html)


def test_a_city_without_bars_still_gets_its_safe_route(prefect_harness, city_dir, tmp_path, capsys):
    """The profile asks for the late-night bar factor, but the city publishes no bar list: the route is
    planned without it, and the page says so."""
    raw = variant(name="no_bars", keep=["incidents", "streets", "community_areas", "population"])
    raw["risk"]["bars"] = {"radius_m": 75.0, "factor": 2.0}
    code, out, err = _run(tmp_path, city_dir, raw, capsys)
    assert code == 0, err
    page = tmp_path / "out" / "maps" / "no_bars" / "safe_route.html"
    html = page.read_text(encoding="utf-8")
    assert _missing_notice(html) == ["No bars or licensed premises with coordinates: the route does not weigh "
                                     "streets near late-night bars."]
    assert _page_data(html)["bars"] == []
    explorer = (page.parent / "explorer.html").read_text(encoding="utf-8")
    assert _missing_notice(explorer) == []          # boundaries and population are there: nothing to say
    assert "map locator     not built: no services with coordinates in this city's data" in out
