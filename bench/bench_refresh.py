"""Refresh on the Chicago replay: full run vs unchanged refresh vs 1 % of crimes changed, and Prefect's server cost.

In one run, on a copy of ``../shared/data/chicago`` in a temporary directory (never the repo), each run as the
user runs it, a ``civicmash`` subprocess measured wall-clock from process start to exit. The portal is one
replay portal that keeps running through every run (``civicmash portal serve``, each run ``--replay-url``), as a
city's real portal does: the portal's own cost of reading its files is not the refresh's. It is warmed before
the first run (every dataset's count and newest update asked once), so the full run sees the same portal as the
refreshes; the per-run portal of ``--replay DIR`` is measured too (``unchanged_own_portal``), for comparison.

1. ``full``: ``civicmash run chicago --replay-url URL --out OUT`` (every dataset fetched and loaded, every
   product built; the peer every refresh is compared with);
2. ``unchanged``: the same with ``--incremental``, nothing changed;
3. ``unchanged_own_portal``: the unchanged refresh with ``--replay DIR`` (a portal started inside the run, which
   reads every file it is asked about: the offline demo's situation);
4. ``changed_1pct``: 1 % of the crime rows (every 100th) get a newer ``Updated On`` and a new ``Description`` in
   the replay file, so the portal serves them as updated; then the ``--incremental`` run;
5. ``unchanged_server``: the unchanged refresh again with ``PREFECT_API_URL`` pointing at a Prefect server that
   is already running (``prefect server start``, started by the benchmark, its start timed separately), i.e.
   without the temporary server Prefect otherwise starts and stops inside every ``civicmash`` process.

Reported per run: ``wall_s`` (process start to exit), ``flow_s`` (the run inside the flow: ``ingest_runs``
started_at to finished_at), the datasets loaded and the product stages built; ratios to ``full``. Prefect's
temporary server is measured on its own: a trivial flow in a fresh process with and without a running server.
Correctness: after ``changed_1pct`` the warehouse holds the same row counts per table as after ``full``, and
exactly the changed rows carry the new description.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench._common import REPO_ROOT, require_chicago

CRIMES = "crime/chicago_crimes_2018-05-01_to_2018-11-12.csv"
_ENTRY = Path(sys.executable).parent / "civicmash"   # the installed command, as the user runs it
CLI = [str(_ENTRY)] if _ENTRY.exists() else [sys.executable, "-m", "civicmash.flows.cli"]
GOALS = {"unchanged": 0.10, "changed_1pct": 0.20}
NEW_DESCRIPTION = "REFRESH BENCHMARK EDIT"

TRIVIAL_FLOW = """
import time
t0 = time.perf_counter()
from prefect import flow, task
@task
def one():
    return 1
@flow
def trivial():
    return one()
trivial()
print(time.perf_counter() - t0)
"""


def _civicmash(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(CLI + args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"civicmash {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-4000:]}")
    return wall


def _last_run(warehouse: Path) -> dict:
    import duckdb

    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        run_id, started, finished, summary = con.execute(
            "SELECT run_id, started_at, finished_at, summary FROM ingest_runs WHERE city = 'chicago' "
            "ORDER BY finished_at DESC LIMIT 1").fetchone()
        counts = dict(con.execute(
            "SELECT 'incidents', count(*) FROM incidents WHERE city = 'chicago' UNION ALL "
            "SELECT 'venues', count(*) FROM venues WHERE city = 'chicago' UNION ALL "
            "SELECT 'services', count(*) FROM services WHERE city = 'chicago' UNION ALL "
            "SELECT 'spending', count(*) FROM spending WHERE city = 'chicago' UNION ALL "
            "SELECT 'boundaries', count(*) FROM boundaries WHERE city = 'chicago' UNION ALL "
            "SELECT 'population', count(*) FROM population WHERE city = 'chicago' UNION ALL "
            "SELECT 'street_edges', count(*) FROM street_edges WHERE city = 'chicago' UNION ALL "
            "SELECT 'quarantine', count(*) FROM quarantine WHERE city = 'chicago'").fetchall())
        edited = con.execute("SELECT count(*) FROM incidents WHERE city = 'chicago' AND description = ?",
                             [NEW_DESCRIPTION]).fetchone()[0]
    summary = json.loads(summary)
    refresh = summary.get("refresh") or {}
    return {"run_id": run_id, "flow_s": round((finished - started).total_seconds(), 2),
            "datasets_loaded": sorted(n for n, r in (refresh.get("datasets") or {}).items() if r.get("loaded")
                                      and n in {d["dataset"] for d in summary["datasets"]}),
            "datasets_skipped": len(summary.get("skipped_datasets") or {}),
            "stages_built": {s: r["decision"] for s, r in sorted((refresh.get("products") or {}).items())
                             if not r["decision"].startswith("unchanged")},
            "stages_skipped": sorted(summary.get("skipped_stages") or {}), "counts": counts, "edited_rows": edited}


def _edit_crimes(path: Path) -> int:
    """Every 100th crime row: a newer Updated On and a new Description (the portal serves them as updated)."""
    tmp = path.with_suffix(".tmp")
    edited = 0
    with open(path, newline="", encoding="utf-8") as src, open(tmp, "w", newline="", encoding="utf-8") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        header = next(reader)
        writer.writerow(header)
        upd, desc = header.index("Updated On"), header.index("Description")
        for i, row in enumerate(reader):
            if i % 100 == 0:
                row[upd], row[desc] = "12/01/2018 09:00:00 AM", NEW_DESCRIPTION
                edited += 1
            writer.writerow(row)
    os.replace(tmp, path)
    return edited


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trivial_flow(env: dict) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", TRIVIAL_FLOW], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"trivial flow failed:\n{proc.stderr[-3000:]}")
    return {"wall_s": round(time.perf_counter() - start, 2),
            "flow_call_s": round(float(proc.stdout.strip().splitlines()[-1]), 2)}


def _start_portal(replay: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """``civicmash portal serve`` on the replay copy, kept running; its base URL (from its first line)."""
    proc = subprocess.Popen(CLI + ["portal", "serve", str(replay), "--city", "chicago"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    line = proc.stdout.readline()
    if " at http" not in line:
        raise RuntimeError(f"the replay portal did not start: {line!r}")
    return proc, line.split(" at ", 1)[1].split()[0]


def _warm_portal(url: str) -> float:
    """Ask the portal once for every dataset's fingerprint (count, newest update, file version), so it has read its
    files before the full run as it has before every refresh."""
    from civicmash.cities.profile import load_profile
    from civicmash.connectors import http
    from civicmash.flows import refresh

    started = time.perf_counter()
    profile = load_profile("chicago")
    session = http.session()
    for name, spec in profile.datasets.items():
        refresh.source_fingerprint(name, spec, replay_base=url, session=session)
    return round(time.perf_counter() - started, 2)


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run() -> dict:
    chicago = require_chicago()
    load_before = [round(x, 2) for x in os.getloadavg()]   # the machine is shared: say how busy it was
    work = Path(tempfile.mkdtemp(prefix="civicmash-bench-refresh-"))
    server = portal = None
    try:
        replay, out, home = work / "chicago", work / "out", work / "prefect-home"
        shutil.copytree(chicago, replay, copy_function=shutil.copyfile)   # writable copy, outside the repo
        env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", "PYTHONPATH": str(REPO_ROOT)}
        env.pop("PREFECT_API_URL", None)
        _trivial_flow(env)   # warm-up: creates the Prefect database of this PREFECT_HOME (migrations)
        ephemeral = _trivial_flow(env)
        portal, url = _start_portal(replay, env)
        portal_warm_s = _warm_portal(url)
        args = ["run", "chicago", "--replay-url", url, "--out", str(out)]
        runs = {}
        runs["full"] = {"wall_s": round(_civicmash(args, env), 2), **_last_run(out / "civicmash.duckdb")}
        runs["unchanged"] = {"wall_s": round(_civicmash(args + ["--incremental"], env), 2),
                             **_last_run(out / "civicmash.duckdb")}
        own = ["run", "chicago", "--replay", str(replay), "--out", str(out), "--incremental"]
        runs["unchanged_own_portal"] = {"wall_s": round(_civicmash(own, env), 2),
                                        **_last_run(out / "civicmash.duckdb")}
        edited = _edit_crimes(replay / CRIMES)
        runs["changed_1pct"] = {"wall_s": round(_civicmash(args + ["--incremental"], env), 2),
                                **_last_run(out / "civicmash.duckdb")}

        port = _free_port()   # a Prefect server that keeps running: the temporary one is not started per run
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                   "--port", str(port)], cwd=REPO_ROOT, env={**env, "PREFECT_UI_ENABLED": "false"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        api = f"http://127.0.0.1:{port}/api"
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{api}/health", timeout=2).ok:
                    break
            if server.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError("the Prefect server did not start")
            time.sleep(0.25)
        server_start = round(time.perf_counter() - started, 2)
        served_env = {**env, "PREFECT_API_URL": api}
        with_server = _trivial_flow(served_env)
        runs["unchanged_server"] = {"wall_s": round(_civicmash(args + ["--incremental"], served_env), 2),
                                    **_last_run(out / "civicmash.duckdb")}
    finally:
        _stop(server)
        _stop(portal)
        shutil.rmtree(work, ignore_errors=True)

    full = runs["full"]
    ratios = {name: {"wall": round(r["wall_s"] / full["wall_s"], 3), "flow": round(r["flow_s"] / full["flow_s"], 3)}
              for name, r in runs.items() if name != "full"}
    correct = (runs["changed_1pct"]["counts"] == full["counts"] == runs["unchanged"]["counts"]
               and runs["changed_1pct"]["edited_rows"] == edited and full["edited_rows"] == 0)
    met = {name: ratios[name]["flow"] <= goal for name, goal in GOALS.items()}
    prefect = {"portal_warm_s": portal_warm_s, "ephemeral_trivial_flow": ephemeral, "running_server_trivial_flow": with_server,
               "server_start_s": server_start,
               "temporary_server_cost_s": round(ephemeral["wall_s"] - with_server["wall_s"], 2)}
    for r in runs.values():
        r.pop("run_id", None)
    summary = (f"full {full['wall_s']:.0f} s wall / {full['flow_s']:.0f} s flow; unchanged refresh "
               f"{runs['unchanged']['wall_s']:.1f} s / {runs['unchanged']['flow_s']:.1f} s "
               f"({ratios['unchanged']['wall']:.0%} / {ratios['unchanged']['flow']:.0%} of full, goal <= 10 %); "
               f"1 % of crimes changed {runs['changed_1pct']['wall_s']:.1f} s / {runs['changed_1pct']['flow_s']:.1f} s "
               f"({ratios['changed_1pct']['wall']:.0%} / {ratios['changed_1pct']['flow']:.0%}, goal <= 20 %); "
               f"unchanged with the portal started inside the run {runs['unchanged_own_portal']['wall_s']:.1f} s "
               f"wall ({ratios['unchanged_own_portal']['wall']:.0%}); "
               f"unchanged with a running Prefect server {runs['unchanged_server']['wall_s']:.1f} s wall "
               f"({ratios['unchanged_server']['wall']:.0%}); Prefect's temporary server costs "
               f"{prefect['temporary_server_cost_s']:.1f} s a process; warehouse equal: {correct}")
    return {"summary": summary, "load_average_1_5_15": {"before": load_before,
                                                        "after": [round(x, 2) for x in os.getloadavg()]},
            "runs": runs, "ratios": ratios, "goals_flow_ratio": GOALS, "goals_met": met,
            "edited_crime_rows": edited, "correct": correct, "prefect_server": prefect}
