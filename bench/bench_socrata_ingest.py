"""Socrata ingest over loopback HTTP: our connector -> landing Parquet -> DuckDB vs sodapy -> pandas -> DuckDB.

Setup: the replay portal runs in its **own process** (``python -c``, fixed free port) serving the real
151,176-row Chicago crime export, and a 5x file (the real rows repeated 5 times with new unique IDs,
written to a temporary directory outside the repo). Before timing, each side's exact request sequence
is replayed once with plain ``requests`` so the portal's answer cache holds every serialised page
(ours: CSV, 50,000 rows; sodapy: JSON, 1,000 rows): during the timed runs the portal only copies
bytes, so a slow server cannot hide client differences. A second, timed pass of each sequence is
reported as ``portal_pass_seconds`` (request + transfer only, no parsing): the floor either side could
reach on this portal.

- ours: ``connectors.socrata.iter_pages(fmt="csv", columnar=True, page_size=50000)`` (the CSV endpoint
  parsed by ``pyarrow.csv`` into an all-string Arrow table, no per-row Python objects) ->
  ``connectors.landing.write_page`` per page -> one DuckDB ``CREATE TABLE AS SELECT * FROM read_parquet(...)``.
  Both sides load into a DuckDB *file* in a temporary directory (as the warehouse does), so an
  in-memory table does not count against either side's RSS. ``fetch_peak_rss_mb`` is the peak before
  the DuckDB step, ``peak_rss_mb`` the whole child's. Both sides' DuckDB connections get
  ``memory_limit = MEMORY_LIMIT`` (what ``CIVICMASH_DUCKDB_MEMORY_LIMIT`` sets for the pipeline): without it
  DuckDB keeps the loaded blocks cached up to 80 % of RAM and any loader's peak grows with the table.
- peer: ``sodapy.Socrata(domain, None)`` -> ``client.get_all(dataset_id)`` (its default 1,000-row pages)
  -> ``pandas.DataFrame`` -> DuckDB ``CREATE TABLE AS SELECT * FROM df``. sodapy always builds
  ``https://`` URLs; its own ``session_adapter={"prefix": "http://", "adapter": HTTPAdapter()}`` argument
  sets ``uri_prefix`` to ``http://`` (and mounts a plain adapter), so it talks plain HTTP to
  ``127.0.0.1:<port>`` unmodified - no patching.

Each side runs in a fresh child process (``run_child``), so each peak RSS is its own; the sides
alternate ``REPEATS`` times per size and the median run (by seconds) of each side is reported.

Two portal scenarios, each a fresh portal process: ``loopback`` (no added latency: the floor, where only
client CPU counts) and ``latency_50ms`` (the portal's latency mode adds 50 ms before every answer, a
stand-in for a real portal's per-request time: network round trip plus query planning; a real Socrata
page is usually slower than that, which favours the side making fewer requests even more). The issue's
goal (>= 5x sodapy's rows/s) is judged on ``latency_50ms``; ``loopback`` is reported beside it.
"""
from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench._common import REPO_ROOT, require_chicago, run_child

CRIMES = "crime/chicago_crimes_2018-05-01_to_2018-11-12.csv"
DATASET, DATASET_X5 = "ijzp-q8t2", "ijzp-x5x5"
PAGE_SIZE = 50000
PEER_PAGE = 1000          # sodapy's default $limit (it sends none; the portal's default is also 1000)
REPEATS = 3
FLAT = 1.25               # "flat": streaming (fetch + land) at 5x the rows peaks at most 25 % above 1x
MEMORY_LIMIT = "256MB"    # DuckDB memory_limit on both sides: what CIVICMASH_DUCKDB_MEMORY_LIMIT sets in the pipeline
SCENARIOS = {"loopback": 0.0, "latency_50ms": 0.05}   # seconds the portal waits before each answer

PORTAL = """
import sys, time
from civicmash.devkit.replay import ReplayPortal, Route
root, port, latency = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
routes = [Route("socrata", "{d1}", "crimes.csv", "csv"), Route("socrata", "{d5}", "crimes_x5.csv", "csv")]
portal = ReplayPortal(root, routes, port=port, latency=latency, cache_bytes=3 << 30).start()
print(portal.base_url, flush=True)
while True:
    time.sleep(3600)
""".format(d1=DATASET, d5=DATASET_X5)

OURS = """
import os, resource, shutil, tempfile, time
import duckdb
import pandas  # noqa: F401  (pyarrow imports it on the first tz-aware timestamp array, ~0.2 s once per
               # process; sodapy's side imports it before the clock too, and the pipeline has it loaded)
from civicmash.connectors import landing, socrata
base, dataset, page_size = {base!r}, {dataset!r}, {page_size}
out = tempfile.mkdtemp(prefix="civicmash-bench-ours-")
t0 = time.perf_counter()
records = pages = 0
for page in socrata.iter_pages(base, dataset, fmt="csv", columnar=True, page_size=page_size):
    landing.write_page(page, directory=out)
    records += page.row_count
    pages += 1
t1 = time.perf_counter()
fetch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
con = duckdb.connect(os.path.join(out, "bench.duckdb"), config={{"memory_limit": {memory_limit!r}}})
con.execute("CREATE TABLE incidents_raw AS SELECT * FROM read_parquet(?)", [os.path.join(out, "page-*.parquet")])
rows = con.execute("SELECT count(*) FROM incidents_raw").fetchone()[0]
con.close()
t2 = time.perf_counter()
shutil.rmtree(out)
result = {{"rows": rows, "records": records, "requests": pages, "seconds": round(t2 - t0, 3),
           "fetch_land_seconds": round(t1 - t0, 3), "duckdb_seconds": round(t2 - t1, 3),
           "fetch_peak_rss_mb": round(fetch_rss, 1)}}
"""

PEER = """
import logging, os, resource, shutil, tempfile, time
import duckdb, pandas, requests
from sodapy import Socrata
logging.getLogger().setLevel(logging.ERROR)          # sodapy warns about the missing app token
domain, dataset = {domain!r}, {dataset!r}
t0 = time.perf_counter()
client = Socrata(domain, None, timeout=120,
                 session_adapter={{"prefix": "http://", "adapter": requests.adapters.HTTPAdapter()}})
df = pandas.DataFrame.from_records(client.get_all(dataset))
t1 = time.perf_counter()
fetch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = tempfile.mkdtemp(prefix="civicmash-bench-sodapy-")
con = duckdb.connect(os.path.join(out, "bench.duckdb"), config={{"memory_limit": {memory_limit!r}}})
con.execute("CREATE TABLE incidents_raw AS SELECT * FROM df")
rows = con.execute("SELECT count(*) FROM incidents_raw").fetchone()[0]
con.close()
t2 = time.perf_counter()
shutil.rmtree(out)
result = {{"rows": rows, "requests": -(-rows // 1000), "seconds": round(t2 - t0, 3),
           "fetch_land_seconds": round(t1 - t0, 3), "duckdb_seconds": round(t2 - t1, 3),
           "fetch_peak_rss_mb": round(fetch_rss, 1)}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_x5(src: Path, dest: Path, times: int = 5) -> int:
    """The real rows ``times`` times; copy k gets ID + k * 100,000,000 (real IDs are < 13 million)."""
    n = 0
    with open(src, newline="") as fin, open(dest, "w", newline="") as fout:
        reader, writer = csv.reader(fin), csv.writer(fout, lineterminator="\r\n")
        header = next(reader)
        rows = list(reader)
        writer.writerow(header)
        for k in range(times):
            for row in rows:
                writer.writerow([str(int(row[0]) + k * 100_000_000)] + row[1:])
                n += 1
    return n


def _wait(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"replay portal exited: {proc.stderr.read()[-2000:]}")
        try:
            requests.get(base + "/", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError("replay portal did not come up")


def _pass(base: str, dataset: str, fmt: str, limit: int) -> float:
    """One side's request sequence with plain ``requests`` (body read, not parsed); seconds."""
    t = time.perf_counter()
    offset = 0
    with requests.Session() as s:
        while True:
            params = ({"$order": ":id", "$limit": limit, "$offset": offset} if fmt == "csv"
                      else {"$offset": offset})                    # exactly what sodapy sends
            r = s.get(f"{base}/resource/{dataset}.{fmt}", params=params, timeout=600)
            r.raise_for_status()
            n = len(r.json()) if fmt == "json" else r.content.count(b"\n") - 1   # no multi-line cells here
            offset += n
            if n < limit:
                return round(time.perf_counter() - t, 3)


def _warm(base: str, dataset: str) -> dict:
    """Fill the portal's answer cache with both sides' pages (cold pass), then time a cached pass."""
    cold = {"ours_csv": _pass(base, dataset, "csv", PAGE_SIZE), "sodapy_json": _pass(base, dataset, "json", PEER_PAGE)}
    cached = {"ours_csv": _pass(base, dataset, "csv", PAGE_SIZE), "sodapy_json": _pass(base, dataset, "json", PEER_PAGE)}
    return {"cold_pass_seconds": cold, "portal_pass_seconds": cached}


def _side(code: str) -> dict:
    r = run_child(code, timeout=900)
    r["rows_per_s"] = round(r["rows"] / r["seconds"]) if r["seconds"] else None
    return r


def _median(runs: list[dict]) -> dict:
    best = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {**best, "all_seconds": [r["seconds"] for r in runs]}


def _compare(base: str, port: int, dataset: str) -> dict:
    ours_runs, peer_runs = [], []
    for _ in range(REPEATS):
        ours_runs.append(_side(OURS.format(base=base, dataset=dataset, page_size=PAGE_SIZE, memory_limit=MEMORY_LIMIT)))
        peer_runs.append(_side(PEER.format(domain=f"127.0.0.1:{port}", dataset=dataset, memory_limit=MEMORY_LIMIT)))
    ours, peer = _median(ours_runs), _median(peer_runs)
    return {"ours": ours, "sodapy": peer,
            "ratio_rows_per_s": round(ours["rows_per_s"] / peer["rows_per_s"], 2),
            "ratio_fetch_land_rows_per_s": round(peer["fetch_land_seconds"] / ours["fetch_land_seconds"], 2),
            "ratio_peak_rss": round(ours["peak_rss_mb"] / peer["peak_rss_mb"], 2)}


def _scenario(scratch: Path, latency: float) -> dict:
    """Both sizes against one portal process that adds ``latency`` seconds to every answer."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", PORTAL, str(scratch), str(port), str(latency)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base, proc)
        warm = {"1x": _warm(base, DATASET)}
        x1 = _compare(base, port, DATASET)
        warm["5x"] = _warm(base, DATASET_X5)
        x5 = _compare(base, port, DATASET_X5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    flat = round(x5["ours"]["peak_rss_mb"] / x1["ours"]["peak_rss_mb"], 2)
    flat_fetch = round(x5["ours"]["fetch_peak_rss_mb"] / x1["ours"]["fetch_peak_rss_mb"], 2)
    return {"latency_seconds": latency, "portal": warm, "x1": x1, "x5": x5,
            "ours_peak_rss_5x_over_1x": flat, "ours_fetch_peak_rss_5x_over_1x": flat_fetch}


def _line(name: str, sc: dict) -> str:
    x1, x5 = sc["x1"], sc["x5"]
    return (f"{name}: 1x ({x1['ours']['rows']:,} rows) ours {x1['ours']['rows_per_s']:,} vs sodapy "
            f"{x1['sodapy']['rows_per_s']:,} rows/s = {x1['ratio_rows_per_s']}x (fetch+land alone "
            f"{x1['ratio_fetch_land_rows_per_s']}x), peak RSS {x1['ours']['peak_rss_mb']} vs "
            f"{x1['sodapy']['peak_rss_mb']} MB; 5x ({x5['ours']['rows']:,} rows) {x5['ratio_rows_per_s']}x "
            f"(fetch+land {x5['ratio_fetch_land_rows_per_s']}x), peak RSS {x5['ours']['peak_rss_mb']} vs "
            f"{x5['sodapy']['peak_rss_mb']} MB (ours 5x/1x = {sc['ours_peak_rss_5x_over_1x']}; fetch+land phase "
            f"{sc['ours_fetch_peak_rss_5x_over_1x']})")


def run() -> dict:
    chicago = require_chicago()
    scratch = Path(tempfile.mkdtemp(prefix="civicmash-bench-socrata-"))
    try:
        os.symlink(chicago / CRIMES, scratch / "crimes.csv")
        rows_x5 = _write_x5(chicago / CRIMES, scratch / "crimes_x5.csv")
        scenarios = {name: _scenario(scratch, latency) for name, latency in SCENARIOS.items()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = ("; ".join(_line(name, sc) for name, sc in scenarios.items())
               + f"; DuckDB memory_limit {MEMORY_LIMIT} on both sides; portal answers pre-serialised (cached), "
                 f"median of {REPEATS}")
    goal = scenarios["latency_50ms"]
    flat = max(sc["ours_fetch_peak_rss_5x_over_1x"] for sc in scenarios.values())
    overall = max(sc["ours_peak_rss_5x_over_1x"] for sc in scenarios.values())
    return {"summary": summary, "page_size": PAGE_SIZE, "repeats": REPEATS, "rows_written_5x": rows_x5,
            "memory_limit": MEMORY_LIMIT,
            "goal": {"target_ratio": 5.0, "judged_on": "latency_50ms",
                     "ratio_1x": goal["x1"]["ratio_rows_per_s"], "ratio_5x": goal["x5"]["ratio_rows_per_s"],
                     "met": min(goal["x1"]["ratio_rows_per_s"], goal["x5"]["ratio_rows_per_s"]) >= 5.0,
                     "fetch_land_peak_rss_5x_over_1x_max": flat, "fetch_land_peak_rss_flat": flat <= FLAT,
                     "overall_peak_rss_5x_over_1x_max": overall,
                     "overall_note": f"the DuckDB step adds at most its memory_limit ({MEMORY_LIMIT}) of cached blocks: "
                                     "it grows with the table until the cap, then stays"},
            "scenarios": scenarios}
