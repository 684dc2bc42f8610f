"""Variants of the sample city's profile for tests of partial cities, run health and portal addresses.

``variant(...)`` takes ``cities/sample.toml`` as parsed TOML and keeps some of its datasets (changing some
keys); ``write_profile`` writes such a dict back as a TOML file for the CLI (no TOML writer is installed:
the few value kinds a profile uses are written here).
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from civicmash.cities.profile import CITIES_DIR, CityProfile, parse_profile


def sample_raw() -> dict[str, Any]:
    """``cities/sample.toml`` as parsed TOML."""
    return tomllib.loads((CITIES_DIR / "sample.toml").read_text(encoding="utf-8"))


def variant(*, name: str, keep: Iterable[str], changes: Mapping[str, Mapping[str, Any]] | None = None,
            drop: Iterable[str] = (), **top: Any) -> dict[str, Any]:
    """The sample profile with only the datasets in ``keep``; ``changes``: dataset -> keys to set (a value of
    None removes the key); ``drop``: top-level tables to remove (``"risk"``); ``top``: top-level keys to set."""
    raw = copy.deepcopy(sample_raw())
    raw["name"] = name
    raw["datasets"] = {n: raw["datasets"][n] for n in keep}
    for dataset, keys in (changes or {}).items():
        for key, value in keys.items():
            if value is None:
                raw["datasets"][dataset].pop(key, None)
            else:
                raw["datasets"][dataset][key] = value
    for table in drop:
        raw.pop(table, None)
    raw.update(top)
    return raw


def profile_of(raw: Mapping[str, Any]) -> CityProfile:
    return parse_profile(dict(raw), source="<test variant>")


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))   # a JSON string is a valid TOML basic string


def _tables(raw: Mapping[str, Any], prefix: str) -> list[str]:
    scalars = [f"{json.dumps(k)} = {_value(v)}" for k, v in raw.items() if not isinstance(v, Mapping)]
    lines = ([f"[{prefix}]"] if prefix else []) + scalars
    for key, value in raw.items():
        if isinstance(value, Mapping):
            lines += ["", *_tables(value, f"{prefix}.{key}" if prefix else key)]
    return lines


def write_profile(path: Path, raw: Mapping[str, Any]) -> Path:
    """Write a profile dict as TOML to ``path`` (checked: it parses back to the same profile)."""
    path.write_text("\n".join(_tables(raw, "")) + "\n", encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8")) == raw
    return path
