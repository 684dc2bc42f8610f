"""``python -m bench [name ...]``: run benchmarks (default: all) and write bench/results/*.json.

``python -m bench --summary`` rewrites docs/benchmarks.md from the results files (no benchmark runs).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from bench._common import REPO_ROOT, RESULTS_DIR, Skip, write_result

SUMMARY_DOC = REPO_ROOT / "docs" / "benchmarks.md"


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if m.name.startswith("bench_"))


def write_summary() -> Path:
    """docs/benchmarks.md: one row per results file, the benchmark's own summary line verbatim."""
    import json

    rows = []
    for path in sorted(RESULTS_DIR.glob("*.json")):
        result = json.loads(path.read_text())
        module = importlib.import_module(f"bench.bench_{path.stem}") if (Path(__file__).parent /
                                                                        f"bench_{path.stem}.py").exists() else None
        what = module.__doc__.strip().splitlines()[0] if module and module.__doc__ else path.stem
        rows.append(f"| `{path.stem}` | {what} | {result.get('summary', '').replace('|', '/')} | "
                    f"{result.get('measured_at', '?')} |")
    SUMMARY_DOC.write_text(
        "# Benchmarks\n\n"
        "Each benchmark measures our implementation against a named peer **in the same run** on this\n"
        "machine (2 cores, 24 GiB) and writes `bench/results/<name>.json`. Run them with `make bench`\n"
        "(or `.venv/bin/python -m bench <name>`); regenerate this page with `.venv/bin/python -m bench --summary`.\n"
        "Timings on a shared 2-core machine vary by about ±25% between runs; see each JSON for the raw figures.\n\n"
        "| benchmark | what | result | measured |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return SUMMARY_DOC


def main(argv: list[str]) -> int:
    if argv == ["--summary"]:
        print(f"wrote {write_summary()}")
        return 0
    names = [n if n.startswith("bench_") else f"bench_{n}" for n in argv] or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available()}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}: {module.__doc__.strip().splitlines()[0]}", flush=True)
        try:
            result = module.run()
        except Skip as skip:
            print(f"   skipped: {skip}")
            continue
        except Exception:  # one broken benchmark must not hide the others' results
            traceback.print_exc()
            failed += 1
            continue
        path = write_result(name.removeprefix("bench_"), result)
        print(f"   {result.get('summary', '')}\n   -> {path}")
    write_summary()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
