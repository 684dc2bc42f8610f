"""Health you can see: every run writes a ``dataset_health`` row per dataset (portal count reconciled with the
rows fetched, rows, quarantine share, newest source update, lag, status), ``civicmash status`` prints them
(table and JSON), ``status.html`` is written beside the maps, and each map's footer says "data as of".

Real runs of the Prefect flow on the tiny sample city (crimes over Socrata, budget from a file) over HTTP to
the loopback replay portal, into a DuckDB file."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import duckdb
import pytest
from civicmash.flows.cli import main
from civicmash.flows.pipeline import civic_pipeline
from civicmash.maps.render import page_data

from .health_city import ROWS, tiny_city, write_crimes
from .sample_variants import profile_of, variant, write_profile

EVIL = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory) -> Path:
    directory = tiny_city(tmp_path_factory.mktemp("status_city"))

    def evil_block(rows):    # a portal string that must not become markup on the status page
        rows[0]["Block"] = EVIL
        return rows
    write_crimes(directory, "evil.csv", evil_block)
    return directory


@pytest.fixture(scope="module")
def run(prefect_harness, city_dir, tmp_path_factory) -> dict:
    raw = variant(name="status_city", keep=["incidents", "spending"],
                  changes={"incidents": {"replay": "crime/evil.csv", "licence": EVIL}})
    out = tmp_path_factory.mktemp("status_out")
    profile_file = write_profile(out / "status_city.toml", raw)
    summary = civic_pipeline("status_city", out=str(out), replay=str(city_dir), profile=profile_of(raw),
                             maps=["spending"])
    return {"summary": summary, "out": out, "profile": profile_file}


def _health(warehouse: str) -> dict[str, dict]:
    with contextlib.closing(duckdb.connect(warehouse, read_only=True)) as con:
        cursor = con.execute("SELECT * FROM dataset_health")
        names = [d[0] for d in cursor.description]
        return {row[names.index("dataset")]: dict(zip(names, row)) for row in cursor.fetchall()}


def test_every_run_records_each_datasets_health(run):
    summary = run["summary"]
    health = _health(summary["warehouse"])
    assert set(health) == {"incidents", "spending"}
    crimes = health["incidents"]
    assert crimes["run_id"] == summary["run_id"] and crimes["status"] == "ok" and crimes["reason"] is None
    # the portal's own count ($select=count(*)) reconciled with the rows fetched
    assert crimes["portal_count"] == ROWS == crimes["rows_fetched"] == crimes["compared_rows"]
    assert crimes["count_mismatch"] is False and crimes["count_gap"] == 0
    assert crimes["rows_loaded"] + crimes["rows_quarantined"] == ROWS
    assert crimes["rows_current"] == crimes["rows_loaded"]
    assert crimes["quarantine_share"] == pytest.approx(crimes["rows_quarantined"] / ROWS)
    assert crimes["last_success_at"] is not None and crimes["load_mode"] == "replace"
    # the newest update the rows carry, and the portal metadata's own (rowsUpdatedAt): the data is not behind it
    assert crimes["source_updated_at"] is not None and crimes["portal_updated_at"] is not None
    assert crimes["lag_hours"] == 0
    # a file has no portal count: n/a, never a mismatch
    budget = health["spending"]
    assert budget["portal_count"] is None and budget["count_mismatch"] is None and budget["status"] == "ok"
    assert summary["dataset_health"]["status"] == "ok" and not summary["dataset_health"]["alerted"]
    counts = {d["dataset"]: d for d in summary["dataset_health"]["datasets"]}
    assert counts["spending"]["count_note"].startswith("n/a")


def test_status_cli_prints_a_table_and_json(run, capsys):
    args = ["--profile", str(run["profile"]), "--out", str(run["out"])]
    assert main(["status", *args]) == 0
    text = capsys.readouterr().out
    line = next(line for line in text.splitlines() if line.startswith("incidents "))
    assert line.split()[-1] == "ok" and f"{ROWS}/{ROWS}" in line, text
    assert "n/a" in next(line for line in text.splitlines() if line.startswith("spending "))
    assert main(["status", *args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {d["dataset"]: d for d in data["datasets"]}
    assert data["city"] == "status_city" and by_name["incidents"]["portal_count"] == ROWS
    assert by_name["incidents"]["status"] == "ok" and by_name["incidents"]["last_success_at"]


def test_status_is_late_when_the_last_success_is_too_old(run, capsys, tmp_path):
    """``[health] max_age_hours``: lateness is judged when status is asked, so a stopped schedule shows."""
    raw = variant(name="status_city", keep=["incidents", "spending"],
                  changes={"incidents": {"replay": "crime/evil.csv"}}, health={"max_age_hours": 1})
    with contextlib.closing(duckdb.connect(run["summary"]["warehouse"])) as con:   # pretend it ran 3 h ago
        con.execute("UPDATE dataset_health SET last_success_at = last_success_at - INTERVAL 3 HOUR "
                    "WHERE dataset = 'incidents'")
    try:
        profile = write_profile(tmp_path / "status_city.toml", raw)
        assert main(["status", "--profile", str(profile), "--out", str(run["out"]), "--format", "json"]) == 0
        crimes = {d["dataset"]: d for d in json.loads(capsys.readouterr().out)["datasets"]}["incidents"]
        assert crimes["status"] == "degraded" and re.search(r"late: last successful fetch 3\.\d h ago", crimes["reason"])
    finally:
        with contextlib.closing(duckdb.connect(run["summary"]["warehouse"])) as con:
            con.execute("UPDATE dataset_health SET last_success_at = last_success_at + INTERVAL 3 HOUR "
                        "WHERE dataset = 'incidents'")


def test_status_page_beside_the_maps_escapes_portal_strings(run):
    summary = run["summary"]
    page = Path(summary["status_page"])
    assert page == Path(summary["maps"]["spending"]).with_name("status.html") and page.is_file()
    html = page.read_text(encoding="utf-8")
    data = page_data(html)
    rows = {r["dataset"]: r for r in data["datasets"]}
    assert rows["incidents"]["portal_count"] == ROWS and rows["incidents"]["status"] == "ok"
    assert data["counts"] == {"ok": 2, "degraded": 0, "failed": 0}
    assert "<script>alert" not in html       # no portal string reaches the page as markup
    assert "&lt;script&gt;alert" in html      # the dataset's licence, credited in the footer as text


def test_each_map_says_data_as_of_its_newest_fetch(run):
    summary = run["summary"]
    html = Path(summary["maps"]["spending"]).read_text(encoding="utf-8")
    with contextlib.closing(duckdb.connect(summary["warehouse"], read_only=True)) as con:
        newest = con.execute("SELECT max(fetched_at) FROM datasets WHERE city = 'status_city' "
                             "AND table_name = 'spending'").fetchone()[0]
    shown = re.search(r'id="data-as-of">(.*?)</p>', html, re.S).group(1)   # the sentence, with its message key
    assert re.sub(r"<[^>]+>", "", shown).startswith(f"Data as of {newest:%Y-%m-%d %H:%M}")
