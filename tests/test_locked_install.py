"""The locked install: constraints.txt is the tested package set, and `make install` installs exactly it.

Issue 15 found the venv had resolved SQLAlchemy 2.1.9, which nothing pinned and under which Prefect's
server scheduler fails every loop. These tests keep the three places that define the install in step:
the direct pins in pyproject.toml, the full freeze in constraints.txt, and the venv the tests run in.
After a deliberate upgrade: change the pin, install, run the tests, `make lock` (docs/operations.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO_ROOT / "constraints.txt"


def _normalise(name: str) -> str:
    """PEP 503: ``SQLAlchemy``, ``sqlalchemy`` and ``pydantic_core``/``pydantic-core`` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraints() -> dict[str, str]:
    pins = {}
    for number, line in enumerate(CONSTRAINTS.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"constraints.txt line {number}: {line!r} is not an exact pin name==version"
        pins[_normalise(name)] = version
    return pins


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;]+)\s*", requirement)
        assert match, f"pyproject.toml: {requirement!r} is not pinned with =="
        pins[_normalise(match[1])] = match[2]
    return pins


def test_every_pyproject_pin_is_in_the_constraints_at_the_same_version():
    constraints = _constraints()
    pins = _pyproject_pins()
    disagree = {name: (version, constraints.get(name)) for name, version in pins.items()
                if constraints.get(name) != version}
    assert not disagree, f"pyproject.toml pin vs constraints.txt (run `make lock`): {disagree}"
    assert "civicmash" not in constraints, "constraints.txt must not pin the project itself"


def test_the_scheduler_safe_sqlalchemy_is_pinned():
    # prefect 3.8.8's server: "Can't evaluate bulk DML statement" in schedule_recent_deployments under 2.1
    assert _pyproject_pins()["sqlalchemy"].startswith("2.0.")
    assert _constraints()["sqlalchemy"] == _pyproject_pins()["sqlalchemy"]


def test_the_venv_is_the_locked_set():
    """Every constrained package is installed at its constrained version: the tests ran on the locked set,
    and a package upgraded in the venv without `make lock` shows up here."""
    installed = {_normalise(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {name: {"constraints.txt": version, "installed": installed.get(name)}
              for name, version in _constraints().items() if installed.get(name) != version}
    assert not differ, f"the venv is not the locked set (reinstall with `make install` or run `make lock`): {differ}"


def test_make_install_installs_with_the_constraints():
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    rule = re.search(r"^\$\(VENV\)/\.installed:(.*)$", makefile, flags=re.MULTILINE)
    assert rule and "constraints.txt" in rule[1].split(), "the install rule must be remade when constraints.txt changes"
    recipe = subprocess.run(["make", "-n", "-B", ".venv/.installed"], cwd=REPO_ROOT, capture_output=True, text=True,
                            check=True, timeout=30).stdout
    install = [line for line in recipe.splitlines() if "pip install" in line and "-e " in line]
    assert install and all("-c constraints.txt" in line for line in install), recipe
