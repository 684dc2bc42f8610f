"""A refresh in which only incidents changed enriches only the rows it fetched (``enrich_incidents(since=...)``),
and the warehouse ends exactly as a full run of the same portal state: every area column, the filled-from-
coordinates marks and the mismatch flags. Real Prefect runs of the sample city over HTTP to its replay portal."""

from __future__ import annotations

import contextlib
import csv

import duckdb

from .test_incremental_resume import CITY, DATASET_ID, REPO_ROOT
from .test_incremental_resume import sample_portal  # noqa: F401 - the fixture, shared

AREAS = ("SELECT source_id, beat, district, ward, community_area, filled_from_coordinates, area_mismatch "
         f"FROM incidents WHERE city = '{CITY}' ORDER BY source_id")


def _areas(path: str) -> list[tuple]:
    with contextlib.closing(duckdb.connect(path, read_only=True)) as con:
        return con.execute(AREAS).fetchall()


def test_a_refresh_enriches_only_the_rows_it_fetched_and_equals_a_full_run(prefect_harness, sample_portal,
                                                                           sample_city_dir, tmp_path):
    from civicmash.flows.pipeline import civic_pipeline

    profile = tmp_path / f"{CITY}.toml"
    text = (REPO_ROOT / "cities" / "sample.toml").read_text()
    profile.write_text(text.replace('\nname = "sample"\n', f'\nname = "{CITY}"\n', 1))
    portal = sample_portal
    run = dict(replay_url=portal.base_url, datasets=["incidents", "community_areas", "beats"], maps=[],
               profile_path=str(profile))
    out = tmp_path / "out"
    first = civic_pipeline(CITY, out=str(out), incremental=True, **run)
    assert "rows" not in first["refresh"]["products"]["enrich-and-views"]
    before = {r[0]: r for r in _areas(first["warehouse"])}

    with open(sample_city_dir / "crime" / "incidents.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    located = [r for r in rows if r["Latitude"] and r["Community Area"]][:6]
    donor = located[-1]   # its place, given to the first rows: they moved into another area
    updates = {r["ID"]: {"community_area": "", "beat": "", "latitude": donor["Latitude"],
                         "longitude": donor["Longitude"]} for r in located[:3]}
    updates[located[3]["ID"]] = {"community_area": "77"}   # a code its coordinates contradict
    portal.update_rows(DATASET_ID, updates)

    again = civic_pipeline(CITY, out=str(out), incremental=True, **run)
    enrich = again["refresh"]["products"]["enrich-and-views"]
    assert enrich["decision"].startswith("rebuilt: inputs changed: incidents")
    assert enrich["rows"].startswith("incidents fetched since")            # only the fetched rows were matched
    merged = _areas(again["warehouse"])
    moved = {r[0]: r for r in merged if r[0] in updates}
    for sid in list(updates)[:3]:                                             # filled from their new place
        assert "community_area" in (moved[sid][5] or "") and moved[sid][4] == before[donor["ID"]][4]
    assert "community_area" in (moved[located[3]["ID"]][6] or "")            # flagged: code vs coordinates
    assert {r[0]: r for r in merged if r[0] not in updates} == {k: v for k, v in before.items() if k not in updates}

    fresh = civic_pipeline(CITY, out=str(tmp_path / "fresh"), **run)         # same portal state, full run
    assert merged == _areas(fresh["warehouse"])


def test_a_product_that_reads_only_some_columns_is_kept_when_only_others_changed(prefect_harness, sample_portal,
                                                                                 sample_city_dir, tmp_path):
    """Hotspots read the incidents' places and times only (``refresh.STAGE_COLUMNS``): a refresh that changed
    descriptions keeps them (a Prefect cache hit) and rebuilds the explorer, which shows descriptions; a refresh
    that moved an incident rebuilds both."""
    from civicmash.flows.pipeline import civic_pipeline

    profile = tmp_path / f"{CITY}.toml"
    text = (REPO_ROOT / "cities" / "sample.toml").read_text()
    profile.write_text(text.replace('\nname = "sample"\n', f'\nname = "{CITY}"\n', 1))
    run = dict(replay_url=sample_portal.base_url, datasets=["incidents", "community_areas", "beats"],
               maps=["explorer"], profile_path=str(profile), out=str(tmp_path / "out"), incremental=True)
    civic_pipeline(CITY, **run)
    with open(sample_city_dir / "crime" / "incidents.csv", newline="", encoding="utf-8") as f:
        located = [r for r in csv.DictReader(f) if r["Latitude"]][:4]

    sample_portal.update_rows(DATASET_ID, {r["ID"]: {"description": "RECLASSIFIED BY THE TEST"} for r in located})
    described = civic_pipeline(CITY, **run)["refresh"]["products"]
    assert described["hotspots"]["decision"] == ("unchanged: skipped (of incidents, the columns it reads "
                                                 "(lat, lon, occurred_at) did not change)")
    assert described["map:explorer"]["decision"] == "rebuilt: inputs changed: incidents"

    sample_portal.update_rows(DATASET_ID, {located[0]["ID"]: {"latitude": located[1]["Latitude"],
                                                              "longitude": located[1]["Longitude"]}})
    moved = civic_pipeline(CITY, **run)["refresh"]["products"]
    assert moved["hotspots"]["decision"] == "rebuilt: inputs changed: incidents"
    assert moved["map:explorer"]["decision"] == "rebuilt: inputs changed: incidents"
