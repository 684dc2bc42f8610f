"""Shared benchmark plumbing: where the real data is, timing, peak memory of a child process, results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
CHICAGO_DIR = REPO_ROOT.parent / "shared" / "data" / "chicago"


class Skip(Exception):
    """A benchmark that cannot run here (e.g. ../shared missing); the reason is printed."""


def require_chicago() -> Path:
    if not (CHICAGO_DIR / "crime").is_dir():
        raise Skip(f"real Chicago data not found at {CHICAGO_DIR}")
    return CHICAGO_DIR


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count()}


def timed(func, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


_CHILD_EPILOGUE = """
import json as _json, resource as _resource
result["peak_rss_mb"] = round(_resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(_json.dumps(result))
"""


def run_child(code: str, *, env: dict | None = None, timeout: float = 1800) -> dict:
    """Run ``code`` in a fresh Python process; the code leaves its measurements in a dict ``result``.

    The child's own peak resident set size is added as ``peak_rss_mb``, so two implementations are
    measured with the same yardstick and neither inherits the other's memory.
    """
    proc = subprocess.run([sys.executable, "-c", code + _CHILD_EPILOGUE], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_result(name: str, result: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "machine": machine(), **result}
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


# Headless Chromium as the browser tests run it (Debian's /usr/bin/chromium: Playwright's own download fails here)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

_CHICAGO_BUILD = """
import os, time
from prefect.testing.utilities import prefect_test_harness
from civicmash.flows.pipeline import civic_pipeline
t = time.perf_counter()
with prefect_test_harness(server_startup_timeout=120):
    summary = civic_pipeline("chicago", out={out!r}, replay={chicago!r}, maps=[{page!r}])
result = {{"warehouse": summary["warehouse"], "pipeline_seconds": round(time.perf_counter() - t, 1)}}
"""


def chicago_page_run(work: Path, chicago: Path, *, page: str, timeout: float = 1800) -> dict:
    """The real Chicago pipeline through the replay portal building one map page, in a fresh process with its own
    Prefect home under ``work`` (output in ``work/out``): ``{"warehouse": ..., "pipeline_seconds": ..., "peak_rss_mb":
    ...}``. ``CIVICMASH_BENCH_WAREHOUSE=FILE``: that existing Chicago warehouse instead (no pipeline run).
    """
    given = os.environ.get("CIVICMASH_BENCH_WAREHOUSE")
    if given:
        return {"warehouse": given, "pipeline_seconds": None}
    return run_child(_CHICAGO_BUILD.format(out=str(work / "out"), chicago=str(chicago), page=page), timeout=timeout,
                     env={"PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                          "PREFECT_LOGGING_LEVEL": "WARNING"})
