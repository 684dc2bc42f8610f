"""`make test` runs each city's costly session run once: every test needing it lands on one xdist worker.

The grouping is tests/conftest.py's `xdist_group` marks read by `--dist loadgroup`. It can stop working without any
test failing (pytest 9.2 with xdist 3.8 ignores the group: pytest-xdist#1386, and the suite then built each city's
run once per worker), so this runs a small suite through the real conftest hook and checks where the tests ran.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

_SUITE = '''
import pytest

@pytest.fixture
def sample_run():          # the session fixture's name, stood in for: the grouping reads fixture names
    return "sample"

@pytest.fixture
def chicago_run():
    return "chicago"

@pytest.mark.parametrize("i", range(6))
def test_needs_the_sample_run(sample_run, i):
    pass

@pytest.mark.parametrize("i", range(6))
def test_needs_the_chicago_run(chicago_run, i):
    pass

@pytest.mark.parametrize("i", range(6))
def test_needs_no_run(i):
    pass
'''


def test_each_city_run_group_lands_on_one_worker(tmp_path: Path):
    (tmp_path / "test_grouped.py").write_text(_SUITE, encoding="utf-8")
    times = tmp_path / "times.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider",
         "-p", "tests.conftest", "--rootdir", str(tmp_path), "-c", "/dev/null", str(tmp_path / "test_grouped.py")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "CIVICMASH_TEST_TIMES": str(times)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ran = re.findall(r"\[(gw\d+)\] \[\s*\d+%\] PASSED \S+::(test_\w+)\[\d\](@\w+)?", proc.stdout)
    assert len(ran) == 18, proc.stdout[-3000:]
    for name, group in (("test_needs_the_sample_run", "@sample"), ("test_needs_the_chicago_run", "@chicago")):
        workers = {w for w, test, g in ran if test == name}
        assert len(workers) == 1, f"{name} ran on {sorted(workers)}: --dist loadgroup did not group it"
        assert {g for w, test, g in ran if test == name} == {group}
    assert all(not g for w, test, g in ran if test == "test_needs_no_run")
    # the timeline (CIVICMASH_TEST_TIMES): each phase once, written by the worker that ran it, never by the controller
    lines = [json.loads(line) for line in times.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 18 * 3 and {line["phase"] for line in lines} == {"setup", "call", "teardown"}
    calls = sorted((line["test"].split("::")[1].split("[")[0], line["worker"]) for line in lines
                   if line["phase"] == "call")
    assert calls == sorted((test, w) for w, test, g in ran)
    assert all(line["stop"] >= line["start"] and line["outcome"] == "passed" for line in lines)
