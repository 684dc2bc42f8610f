"""``python -m bench [name ...]``: run benchmarks (default: all) and write bench/results/*.json."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from bench._common import Skip, write_result


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
