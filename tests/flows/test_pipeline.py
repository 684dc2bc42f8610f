"""The Prefect flow end to end on the synthetic sample city, over HTTP to the replay portal."""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import pytest

from civicmash.cities.profile import load_profile


def test_flow_loads_every_dataset_and_reconciles(sample_run):
    profile = load_profile("sample")
    assert {r["dataset"] for r in sample_run["datasets"]} == set(profile.datasets)
    for r in sample_run["datasets"]:
        assert r["rows_in"] > 0, r
        assert r["rows_in"] == r["rows_loaded"] + r["rows_quarantined"], r


def test_flow_table_counts_match_the_warehouse(sample_run):
    with contextlib.closing(duckdb.connect(sample_run["warehouse"], read_only=True)) as con:
        for table, n in sample_run["tables"].items():
            assert con.execute(f"SELECT count(*) FROM {table} WHERE city = 'sample'").fetchone()[0] == n
        # incidents reach the warehouse in full: loaded + quarantined = rows in the generated CSV
        loaded = con.execute("SELECT count(*) FROM incidents WHERE city='sample'").fetchone()[0]
    incidents = next(r for r in sample_run["datasets"] if r["table"] == "incidents")
    assert loaded == incidents["rows_loaded"] > 1000
    for table in ("incidents", "venues", "services", "spending", "boundaries", "population",
                  "street_nodes", "street_edges"):
        assert sample_run["tables"][table] > 0, table


def test_flow_counts_match_the_source_files(sample_run, sample_city_dir):
    import csv

    with open(sample_city_dir / "crime" / "incidents.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    incidents = next(r for r in sample_run["datasets"] if r["table"] == "incidents")
    assert incidents["rows_in"] == len(rows)
    no_coords = sum(1 for r in rows if not r["Latitude"])
    assert sample_run["incidents_without_coordinates"] == {"incidents": no_coords}
    assert no_coords > 0


def test_flow_writes_five_maps_labelled_synthetic(sample_run):
    # the providers page compares the sample's library branches on their outcomes (issue 16)
    assert set(sample_run["maps"]) == {"explorer", "safe_route", "locator", "spending", "providers"}
    for kind, path in sample_run["maps"].items():
        html = Path(path).read_text(encoding="utf-8")
        assert Path(path).name == f"{kind}.html"
        assert "synthetic sample" in html.lower(), kind
        assert "unpkg.com" not in html and "cdn" not in html.lower().split("leaflet")[0], kind


def test_flow_records_run_and_catalogue(sample_run):
    with contextlib.closing(duckdb.connect(sample_run["warehouse"], read_only=True)) as con:
        status = con.execute("SELECT status FROM ingest_runs WHERE run_id = ?", [sample_run["run_id"]]).fetchone()
        catalogue = con.execute("SELECT count(*), bool_and(synthetic) FROM datasets WHERE city='sample'").fetchone()
    assert status == ("completed",)
    assert catalogue == (len(sample_run["datasets"]), True)


def test_flow_publishes_a_markdown_artifact(sample_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:  # sync: a browser test may own this thread's event loop
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["civicmash-sample"])))
    ours = [a for a in artifacts if sample_run["run_id"] in (a.data or "")]
    assert len(ours) == 1, "no civicmash-sample artifact for this run"
    text = ours[0].data
    assert "Synthetic sample data" in text and "| incidents |" in text and "explorer" in text


def test_rerun_is_idempotent(prefect_harness, sample_run, sample_city_dir):
    from civicmash.flows.pipeline import civic_pipeline

    out = str(Path(sample_run["warehouse"]).parent)
    again = civic_pipeline("sample", out=out, replay=str(sample_city_dir), maps=[])
    assert again["tables"] == {**sample_run["tables"], "quarantine": again["tables"]["quarantine"]}


def test_deployments_use_profile_schedules(prefect_harness):
    from civicmash.flows.deployments import build_deployments

    deployments = build_deployments(["sample", "chicago"])
    by_city = {d.parameters["city"]: d for d in deployments}
    for city in ("sample", "chicago"):
        profile = load_profile(city)
        assert [(s.schedule.cron, s.schedule.timezone) for s in by_city[city].schedules] == [
            (profile.schedule, profile.timezone)]   # the profile's time zone, not Prefect's default (UTC)


def test_serving_a_city_without_schedule_is_an_error(prefect_harness, tmp_path):
    from civicmash.flows.deployments import build_deployments

    text = (Path(__file__).resolve().parents[2] / "cities" / "sample.toml").read_text()
    unscheduled = tmp_path / "unscheduled.toml"
    unscheduled.write_text("\n".join(line for line in text.splitlines() if not line.startswith("schedule")))
    with pytest.raises(ValueError, match="no 'schedule'"):
        build_deployments([str(unscheduled)])
