"""Many cities on Dask: 8 generated cities of 150,000 incidents each, `civicmash run --all` on a LocalCluster of 1 and 2 workers vs one after another in one process.

Setup: ``devkit.sample_city.generate_fleet`` writes 8 distinct synthetic cities (``sample_01`` .. ``sample_08``,
seeds 2027 .. 2034, size ``large`` = 150,000 incidents each, the rest of Sampleton fixed) into a directory
outside the repository (``$TMPDIR/civicmash-bench-fleet-<seed>-<size>/``), generated once and reused by the next
run (the generator's README stamp says seed and size).

Each scenario is the command a user types, timed end to end from process start (Python start-up, the
temporary Prefect server, the Dask cluster, every city's full pipeline: fetch over loopback HTTP from the city's
own replay portal, load, health, enrich, streets, service access, all four maps, then the catalogue):

- ``sequential`` (the peer): ``civicmash run --all --workers 0``: the same parent flow, no Dask, the cities one
  after another in the CLI's own process;
- ``dask_1``: ``civicmash run --all --workers 1``: a LocalCluster of one single-threaded worker process;
- ``dask_2``: ``civicmash run --all --workers 2``: two worker processes (this machine has 2 cores).

Each scenario gets a fresh output directory and a fresh ``PREFECT_HOME`` (its own temporary server database).
Memory: the peak RSS of each worker process (``ru_maxrss`` at the end of each city task; the CLI's own
process in ``sequential``), and the peak of the whole process tree (CLI + Prefect server + Dask scheduler,
nannies and workers), sampled every 0.5 s with psutil. The load average before and after each scenario is
recorded: on a shared machine other work competes for the 2 cores.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._common import REPO_ROOT, write_result

COUNT = int(os.environ.get("FLEET_BENCH_COUNT", 8))
SIZE = os.environ.get("FLEET_BENCH_SIZE", "large")
SEED = 2026
SCENARIOS = {"sequential": 0, "dask_2": 2, "dask_1": 1}   # name -> --workers (the peer first)
TIMEOUT_S = float(os.environ.get("FLEET_BENCH_TIMEOUT", 1500))   # per scenario
DEADLINE = float(os.environ.get("FLEET_BENCH_DEADLINE", 0))   # epoch seconds: no scenario runs past it (0: none)
CLI = Path(sys.executable).with_name("civicmash")
_ROW = re.compile(r"^  (\S+)\s+(completed|failed)\s+([\d,]+|-)\s+([\d.]+|-)\s+([\d.]+|-)\s+(\S+)\s*$", re.MULTILINE)


def fleet_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"civicmash-bench-fleet-{SEED}-{SIZE}"


def prepare() -> tuple[Path, Path, float]:
    """The generated cities (cached); returns (profile dir, replay root, seconds spent generating)."""
    from civicmash.devkit.sample_city import generate_fleet

    start = time.perf_counter()
    profiles = generate_fleet(fleet_dir(), count=COUNT, seed=SEED, size=SIZE)
    return profiles[0].parent, fleet_dir() / "replay", round(time.perf_counter() - start, 1)


class TreePeak:
    """Peak summed RSS of a process and all its descendants, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.5):
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        self.peak_mb = 0.0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self._root] + self._root.children(recursive=True)
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                if total / 2**20 > self.peak_mb:
                    self.peak_mb, self.peak_processes = total / 2**20, len(procs)
            except psutil.Error:
                pass
            self._stop.wait(self._interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_mb, 1)


def scenario(name: str, workers: int, profile_dir: Path, replay_root: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"civicmash-bench-fleet-{name}-"))
    home = Path(tempfile.mkdtemp(prefix="civicmash-bench-prefect-"))
    cmd = [str(CLI), "run", "--all", "--profile-dir", str(profile_dir), "--replay-root", str(replay_root),
           "--workers", str(workers), "--out", str(out)]
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env,
                            start_new_session=True)
    tree = TreePeak(proc.pid)
    timeout = min(TIMEOUT_S, DEADLINE - time.time()) if DEADLINE else TIMEOUT_S
    try:
        stdout, stderr = proc.communicate(timeout=max(timeout, 1.0))
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        stdout, stderr = proc.communicate()
        timed_out = True
    seconds = round(time.perf_counter() - start, 1)
    tree_peak = tree.stop()
    load_after = os.getloadavg()
    cities = [{"city": c, "status": s, "incidents": None if n == "-" else int(n.replace(",", "")),
               "seconds": None if t == "-" else float(t), "peak_rss_mb": None if m == "-" else float(m),
               "worker": w} for c, s, n, t, m, w in _ROW.findall(stdout)]
    per_worker: dict[str, float] = {}
    for c in cities:
        if c["worker"] != "-" and c["peak_rss_mb"] is not None:
            per_worker[c["worker"]] = max(per_worker.get(c["worker"], 0.0), c["peak_rss_mb"])
    result = {"command": " ".join(["civicmash", *cmd[1:]]), "workers": workers, "returncode": proc.returncode,
              "timed_out": timed_out, "seconds": seconds, "cities": cities,
              "completed": sum(c["status"] == "completed" for c in cities),
              "incidents": sum(c["incidents"] or 0 for c in cities),
              "peak_rss_mb_per_worker": per_worker, "peak_rss_mb_tree": tree_peak,
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in load_after]}
    if proc.returncode != 0:
        result["stderr_tail"] = stderr[-2000:]
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    return result


def run() -> dict:
    profile_dir, replay_root, generate_s = prepare()
    results: dict[str, dict] = {}
    partial = {"cities": COUNT, "size": SIZE, "incidents_per_city": None, "generate_seconds": generate_s,
               "fleet_dir": str(fleet_dir()), "maps": "all four (full pipeline)", "scenarios": results}
    for name, workers in SCENARIOS.items():
        if DEADLINE and time.time() > DEADLINE - 60:
            print(f"   {name}: not run (past FLEET_BENCH_DEADLINE)", flush=True)
            continue
        print(f"   {name}: civicmash run --all --workers {workers} ...", flush=True)
        results[name] = scenario(name, workers, profile_dir, replay_root)
        r = results[name]
        print(f"   {name}: {r['seconds']} s, {r['completed']}/{COUNT} completed, rc {r['returncode']}, "
              f"workers peak {r['peak_rss_mb_per_worker']} MB, tree peak {r['peak_rss_mb_tree']} MB", flush=True)
        write_result("fleet", {**partial, "summary": "partial: " + _summary(results)})   # survives a later timeout
    from civicmash.devkit.sample_city import SIZES

    partial["incidents_per_city"] = SIZES[SIZE]
    sequential = results.get("sequential", {})
    base = sequential["seconds"] if sequential.get("completed") == COUNT else None
    for r in results.values():
        r["speedup_vs_sequential"] = (round(base / r["seconds"], 2) if base and r["seconds"] and r["completed"] == COUNT
                                      else None)
    return {**partial, "summary": _summary(results)}


def _load_spread(results: dict[str, dict]) -> float:
    """How far apart the 1-minute load averages were when the scenarios started (max - min)."""
    loads = [r["load_average_before"][0] for r in results.values()]
    return max(loads) - min(loads) if loads else 0.0


def _summary(results: dict[str, dict]) -> str:
    parts = []
    for name, r in results.items():
        speed = f", {r['speedup_vs_sequential']}x" if r.get("speedup_vs_sequential") else ""
        workers = "/".join(f"{v:.0f}" for v in r["peak_rss_mb_per_worker"].values()) or "-"
        ok = "" if r["completed"] == COUNT else f" ({r['completed']}/{COUNT} completed{', timed out' if r['timed_out'] else ''})"
        parts.append(f"{name} {r['seconds']:.0f} s{speed}{ok}, peak RSS per worker {workers} MB, tree "
                     f"{r['peak_rss_mb_tree']:.0f} MB, load {r['load_average_before'][0]:.0f}")
    one, two = results.get("dask_1", {}), results.get("dask_2", {})
    if one.get("completed") == COUNT and two.get("completed") == COUNT:   # same cluster code, 1 vs 2 workers
        parts.append(f"2 workers vs 1: {one['seconds'] / two['seconds']:.2f}x")
    caveat = ""
    if _load_spread(results) > 4:   # 2 cores: other work on the machine moves the figures more than Dask does
        caveat = (f" (CAUTION: other work on this shared 2-core machine, load {min(r['load_average_before'][0] for r in results.values()):.0f}"
                  f" to {max(r['load_average_before'][0] for r in results.values()):.0f} at the starts, confounds the speed-ups)")
    return (f"{COUNT} synthetic cities x {_size_rows()} incidents, full pipeline, end to end from the CLI{caveat}: "
            + "; ".join(parts))


def _size_rows() -> str:
    from civicmash.devkit.sample_city import SIZES

    return f"{SIZES[SIZE]:,}"


if __name__ == "__main__":
    result = run()
    print(result["summary"])
    print(write_result("fleet", result))
