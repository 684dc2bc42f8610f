"""Refresh does only the changed work (``civicmash run --incremental``; :mod:`civicmash.flows.refresh`).

Real Prefect runs of the sample city over HTTP to the loopback replay portal, one after the other on one
warehouse: a full run; an unchanged refresh (every dataset and every product stage skipped, Prefect's task runs
``Cached``, the warehouse and the maps untouched); a refresh after the spending file changed (only spending is
reloaded and only the spending map rebuilt; the warehouse equals a full run of the same files); a refresh after
a profile edit of one dataset's block (only that dataset reloaded) with an unchanged map's file deleted
(rebuilt).
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from civicmash.flows.pipeline import civic_pipeline, table_counts

from .sample_variants import profile_of, variant

CITY = "sample_refresh"
DATASETS = ["incidents", "venues", "services", "community_areas", "beats", "streets", "spending", "population"]
STAGES = ["classify-offences", "enrich-and-views", "link-streets", "service-access", "hotspots", "map:explorer",
          "map:safe_route", "map:locator", "map:spending"]


def _profile(**changes):
    return profile_of(variant(name=CITY, keep=DATASETS, changes=changes))


def _counts(warehouse: str) -> dict[str, int]:
    with contextlib.closing(duckdb.connect(warehouse, read_only=True)) as con:
        return table_counts(con, CITY)


def _task_states(flow_run_id: str) -> dict[str, list[str]]:
    """Task name -> the state names of the flow run's task runs of that name (from the Prefect API)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    seen, deadline = None, time.monotonic() + 20
    while True:   # the server records task runs from their events, a moment after the flow returns
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        states: dict[str, list[str]] = {}
        for run in runs:
            states.setdefault(run.name.rsplit("-", 1)[0], []).append(run.state.name if run.state else None)
        if (seen == states and all(s in ("Cached", "Completed") for names in states.values() for s in names)
                or time.monotonic() > deadline):
            return states
        seen = states
        time.sleep(1)


@pytest.fixture(scope="module")
def refresh_runs(prefect_harness, sample_city_dir, tmp_path_factory) -> dict:
    """The four runs (and a full load of the changed file into a fresh warehouse), in order."""
    replay = tmp_path_factory.mktemp("refresh_city") / "city"
    shutil.copytree(sample_city_dir, replay)
    out = tmp_path_factory.mktemp("refresh_out")
    runs = {"full": civic_pipeline(CITY, out=str(out), replay=str(replay), profile=_profile())}
    pages = Path(out) / "maps" / CITY
    runs["mtimes"] = {p.name: p.stat().st_mtime_ns for p in pages.glob("*.html")}
    runs["counts_full"] = _counts(runs["full"]["warehouse"])
    runs["unchanged"] = civic_pipeline(CITY, out=str(out), replay=str(replay), profile=_profile(), incremental=True)
    runs["mtimes_after"] = {p.name: p.stat().st_mtime_ns for p in pages.glob("*.html")}
    runs["counts_unchanged"] = _counts(runs["unchanged"]["warehouse"])

    budget = replay / "spending" / "budget.csv"   # the publisher revises the budget: drop 3 lines, change one
    with open(budget, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    amount = "2019 ORDINANCE (AMOUNT $)"
    rows = rows[:-3]
    rows[0][amount] = "123456789"
    with open(budget, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    runs["budget_rows"] = len(rows)
    runs["changed"] = civic_pipeline(CITY, out=str(out), replay=str(replay), profile=_profile(), incremental=True)
    runs["counts_changed"] = _counts(runs["changed"]["warehouse"])
    runs["fresh"] = civic_pipeline(CITY, out=str(tmp_path_factory.mktemp("refresh_fresh")), replay=str(replay),
                                   profile=_profile(), maps=[], datasets=["spending"])   # a full load of it
    runs["counts_fresh"] = _counts(runs["fresh"]["warehouse"])

    (pages / "spending.html").unlink()   # a map whose inputs do not change, deleted
    runs["edited"] = civic_pipeline(CITY, out=str(out), replay=str(replay), incremental=True,
                                    profile=_profile(population={"title": "Population, 2010 (revised title)"}))
    runs["spending_back"] = (pages / "spending.html").is_file()
    return runs


def test_an_unchanged_refresh_skips_every_dataset_and_every_product(refresh_runs):
    full, idle = refresh_runs["full"], refresh_runs["unchanged"]
    assert set(full["refresh"]["datasets"]) == set(DATASETS)
    assert all(r["decision"] == "full run: fetched and loaded" for r in full["refresh"]["datasets"].values())

    records = idle["refresh"]["datasets"]
    assert set(idle["skipped_datasets"]) == set(DATASETS)
    for name, record in records.items():
        assert record["loaded"] is False and record["decision"].startswith("unchanged"), (name, record)
    fetched = {n for n, r in records.items() if r["fetched"]}
    assert fetched == {"services", "community_areas"}    # ArcGIS: no update time, so fetched and compared
    assert all("not reloaded" in records[n]["decision"] for n in fetched)
    assert all(i["mode"] == "unchanged" and i["fetched"] == 0 for i in idle["ingest"] if i["dataset"] not in fetched)
    assert set(idle["skipped_stages"]) == set(STAGES)

    # Prefect's own record: the loads and product stages (and the ingests that were not needed) were cache hits
    states = _task_states(idle["flow_run_id"])
    for name in ("load", "classify-offences", "enrich-and-views", "link-streets", "service-access", "build-map"):
        assert states[name] and set(states[name]) == {"Cached"}, (name, states[name])
    assert states["ingest"].count("Cached") == len(DATASETS) - len(fetched)
    assert states["ingest"].count("Completed") == len(fetched)
    full_states = _task_states(full["flow_run_id"])
    assert "Cached" not in {s for names in full_states.values() for s in names}

    # nothing moved: the same rows, the same map files (not rewritten), the summary's counts as before
    assert refresh_runs["counts_unchanged"] == refresh_runs["counts_full"]
    mtimes, after = refresh_runs["mtimes"], refresh_runs["mtimes_after"]
    for page in ("explorer.html", "safe_route.html", "locator.html", "spending.html"):
        assert after[page] == mtimes[page], page
    assert idle["maps"] == full["maps"]
    assert [(d["dataset"], d["rows_in"], d["rows_loaded"], d["rows_quarantined"]) for d in idle["datasets"]] == \
        [(d["dataset"], d["rows_in"], d["rows_loaded"], d["rows_quarantined"]) for d in full["datasets"]]
    # the run is still checked and recorded: a dataset_health row per dataset, ok, checked by this run
    with contextlib.closing(duckdb.connect(idle["warehouse"], read_only=True)) as con:
        health = dict(con.execute("SELECT dataset, status FROM dataset_health WHERE run_id = ?",
                                  [idle["run_id"]]).fetchall())
        recorded = con.execute("SELECT summary->>'$.skipped_datasets.spending' FROM ingest_runs WHERE run_id = ?",
                               [idle["run_id"]]).fetchone()[0]
    assert health == {name: "ok" for name in DATASETS}
    assert recorded.startswith('unchanged: skipped (file ETag "')   # one HEAD: the file's version headers
    assert Path(idle["status_page"]).is_file()


def test_a_changed_file_reloads_only_its_dataset_and_rebuilds_only_its_products(refresh_runs):
    changed = refresh_runs["changed"]
    records = changed["refresh"]["datasets"]
    assert [n for n, r in records.items() if r["loaded"]] == ["spending"]
    assert records["spending"]["decision"].startswith('changed: fetched and loaded (etag "')
    assert "; length 19" in records["spending"]["decision"]
    assert records["spending"]["load_run_id"] == changed["run_id"]
    assert records["incidents"]["load_run_id"] == refresh_runs["full"]["run_id"]
    products = changed["refresh"]["products"]
    assert products["map:spending"]["decision"] == "rebuilt: inputs changed: spending"
    assert set(changed["skipped_stages"]) == set(STAGES) - {"map:spending"}
    states = _task_states(changed["flow_run_id"])
    assert sorted(states["build-map"]) == ["Cached", "Cached", "Cached", "Completed"]
    assert states["load"].count("Completed") == 1

    # correctness: the warehouse equals a full run of the same files (rows in = loaded + quarantined holds)
    (spending,) = [d for d in changed["datasets"] if d["dataset"] == "spending"]
    assert spending["rows_in"] == refresh_runs["budget_rows"] == spending["rows_loaded"] + spending["rows_quarantined"]
    assert refresh_runs["counts_changed"]["spending"] == refresh_runs["counts_fresh"]["spending"] \
        == refresh_runs["counts_full"]["spending"] - 3
    assert {t: n for t, n in refresh_runs["counts_changed"].items() if t != "spending"} == \
        {t: n for t, n in refresh_runs["counts_full"].items() if t != "spending"}
    with contextlib.closing(duckdb.connect(changed["warehouse"], read_only=True)) as con, \
            contextlib.closing(duckdb.connect(refresh_runs["fresh"]["warehouse"], read_only=True)) as ref:
        sql = f"SELECT source_id, row_hash, amount FROM spending WHERE city = '{CITY}' ORDER BY ALL"
        assert con.execute(sql).fetchall() == ref.execute(sql).fetchall()
        assert con.execute(f"SELECT count(*) FROM spending WHERE city = '{CITY}' AND amount = 123456789"
                           ).fetchone()[0] == 1


def test_a_profile_edit_invalidates_only_that_dataset_and_a_missing_map_is_rebuilt(refresh_runs):
    edited = refresh_runs["edited"]
    records = edited["refresh"]["datasets"]
    assert [n for n, r in records.items() if r["loaded"]] == ["population"]
    assert records["population"]["decision"] == "changed: fetched and loaded (its profile block changed)"
    products = edited["refresh"]["products"]
    rebuilt = {s for s, r in products.items() if not r["decision"].startswith("unchanged")}
    # population feeds service access and the explorer and locator maps; safe route does not read it, and the
    # spending map's inputs did not change but its file was deleted
    assert rebuilt == {"service-access", "map:explorer", "map:locator", "map:spending"}
    assert products["map:locator"]["decision"] == "rebuilt: inputs changed: population"
    assert products["map:spending"]["decision"] == "rebuilt: spending.html was missing"
    assert refresh_runs["spending_back"]
    assert edited["tables"] == refresh_runs["counts_changed"]

