"""The run manifest (issue 17, item 3): every run writes one ``run_manifest`` row per dataset (source URL
without secrets, fetch time, rows in = loaded + quarantined, content hash, the portal's count); a dataset's hash
stays the same when its file does (fetched and landed again) and changes when the file does; ``latest_manifest`` holds the newest row per dataset;
status.html lists the manifest and its footer (every page's) cites the snapshot: run id and short hash.

Real runs of the Prefect flow on the tiny sample city over HTTP to the loopback replay portal (no maps).
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from pathlib import Path

import duckdb
import pytest
from civicmash.flows.cli import main
from civicmash.maps.render import page_data
from civicmash.warehouse.manifest import public_source_url

from tests.flows.health_city import ROWS, tiny_city, write_crimes
from tests.flows.sample_variants import profile_of, variant

CITY = "manifest_city"
DATASETS = ["incidents", "venues"]


def test_source_urls_lose_their_secrets():
    assert public_source_url("https://data.example.org/resource/abcd-1234.json") == \
        "https://data.example.org/resource/abcd-1234.json"
    assert public_source_url("https://user:pw@files.example.org/x.csv?format=csv&api_key=SECRET&$$app_token=T"
                             "&X-Amz-Signature=S&access_token=A") == "https://files.example.org/x.csv?format=csv"
    assert public_source_url("replay:crime/incidents.csv") == "replay:crime/incidents.csv"
    assert public_source_url(None) is None


@pytest.fixture(scope="module")
def runs(prefect_harness, tmp_path_factory) -> dict:
    """Two runs into one warehouse: the files, then the same venues file beside an edited crimes file (one type
    changed, one date unreadable: quarantined)."""
    from tests.conftest import run_pipeline

    directory = tiny_city(tmp_path_factory.mktemp("manifest_city"))

    def edit(rows):
        rows = [dict(r) for r in rows]
        rows[3]["Primary Type"] = "ARSON" if rows[3]["Primary Type"] != "ARSON" else "THEFT"
        rows[7]["Date"] = "not a date"
        return rows

    edited = write_crimes(directory, "edited.csv", edit)
    out = tmp_path_factory.mktemp("manifest_out")
    same = profile_of(variant(name=CITY, keep=DATASETS))
    changed = profile_of(variant(name=CITY, keep=DATASETS, changes={"incidents": {"replay": edited}}))
    summaries = [run_pipeline(CITY, out=str(out), replay=str(directory), profile=p, maps=[])
                 for p in (same, changed)]
    return {"out": out, "summaries": summaries, "warehouse": summaries[0]["warehouse"], "profile": changed}


def _manifest(warehouse: str, run_id: str) -> dict[str, dict]:
    with contextlib.closing(duckdb.connect(warehouse, read_only=True)) as con:
        cur = con.execute("SELECT * FROM run_manifest WHERE run_id = ? ORDER BY dataset", [run_id])
        cols = [d[0] for d in cur.description]
        return {r[cols.index("dataset")]: dict(zip(cols, r)) for r in cur.fetchall()}


def test_one_row_per_dataset_with_reconciled_counts(runs):
    profile = runs["profile"]
    for summary in runs["summaries"]:
        rows = _manifest(runs["warehouse"], summary["run_id"])
        assert sorted(rows) == DATASETS
        for name, row in rows.items():
            assert row["city"] == CITY and row["fetched_at"] is not None and row["load_mode"] == "replace"
            assert row["rows_in"] == row["rows_loaded"] + row["rows_quarantined"] > 0
            assert row["rows_held"] == row["rows_loaded"]
            assert row["source_url"] == profile.datasets[name].portal_url and row["protocol"] == "socrata"
            assert re.fullmatch(r"[0-9a-f]{64}", row["content_hash"])
        with contextlib.closing(duckdb.connect(runs["warehouse"], read_only=True)) as con:
            counts = dict(con.execute("SELECT dataset, portal_count FROM dataset_health WHERE run_id = ?",
                                      [summary["run_id"]]).fetchall())
        assert {n: r["portal_count"] for n, r in rows.items()} == counts
        assert {r["dataset"]: r["content_hash"] for r in summary["manifest"]} == \
            {n: r["content_hash"] for n, r in rows.items()}
    last = _manifest(runs["warehouse"], runs["summaries"][-1]["run_id"])["incidents"]
    assert (last["rows_in"], last["rows_loaded"], last["rows_quarantined"]) == (ROWS, ROWS - 1, 1)


def test_the_hash_changes_with_the_file_and_only_then(runs):
    first, edited = (_manifest(runs["warehouse"], s["run_id"]) for s in runs["summaries"])
    # venues: the same file fetched and landed again (new pages, new fetch time): the same hash
    assert edited["venues"]["content_hash"] == first["venues"]["content_hash"]
    assert edited["venues"]["fetched_at"] > first["venues"]["fetched_at"]
    assert edited["incidents"]["content_hash"] != first["incidents"]["content_hash"]
    with contextlib.closing(duckdb.connect(runs["warehouse"], read_only=True)) as con:
        latest = con.execute("SELECT dataset, run_id FROM latest_manifest WHERE city = ? ORDER BY dataset",
                             [CITY]).fetchall()
    assert latest == [(n, runs["summaries"][-1]["run_id"]) for n in DATASETS]


def _data_block(page: str) -> dict:
    return page_data(page)


def test_status_page_lists_the_manifest_and_its_footer_cites_the_snapshot(runs):
    last = runs["summaries"][-1]
    page = Path(last["status_page"]).read_text(encoding="utf-8")
    listed = {r["dataset"]: r for r in _data_block(page)["manifest"]}
    assert sorted(listed) == DATASETS and all(r["run_id"] == last["run_id"] for r in listed.values())
    assert listed["incidents"]["content_hash"] == _manifest(runs["warehouse"], last["run_id"])["incidents"]["content_hash"]
    line = re.search(r'<p class="cm-data-as-of" id="data-as-of">(.*?)</p>', page, flags=re.DOTALL).group(1)
    text = html.unescape(re.sub(r"<[^>]+>", "", line))
    match = re.fullmatch(r"Data as of .+ \(newest fetch\) · snapshot (\S+) · ([0-9a-f]{12})", text)
    assert match and match.group(1) == last["run_id"]
    # the short hash is of the page's datasets' content hashes: another snapshot than the first run's
    first = Path(runs["summaries"][0]["status_page"])   # the same file, rewritten each run: compare the hashes
    assert first == Path(last["status_page"])
    assert match.group(2) == _short_hash_of(runs["warehouse"], last["run_id"])
    assert match.group(2) != _short_hash_of(runs["warehouse"], runs["summaries"][0]["run_id"])


def _short_hash_of(warehouse: str, run_id: str) -> str:
    import hashlib

    rows = sorted(_manifest(warehouse, run_id).items())
    return hashlib.sha256("".join(f"{d}:{r['content_hash']}\n" for d, r in rows).encode()).hexdigest()[:12]


def test_the_cli_prints_the_manifest(runs, capsys):
    db = runs["warehouse"]
    assert main(["manifest", "--db", db, "--city", CITY, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["manifest"]
    assert [(r["dataset"], r["run_id"]) for r in rows] == [(n, runs["summaries"][-1]["run_id"]) for n in DATASETS]
    first = runs["summaries"][0]["run_id"]
    assert main(["manifest", "--db", db, "--run", first]) == 0
    assert first in capsys.readouterr().out
    assert main(["manifest", "--db", db, "--run", "nope"]) == 1
    assert "no run manifest for run 'nope'" in capsys.readouterr().err
