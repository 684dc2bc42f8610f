"""Stable advice: the route ``civicmash route`` recommended for a pair is kept when the model changes (a new run, a
new month of incidents) unless the new choice is clearly less exposed.

Without it a third of the recommendations change from one month to the next (the rolling evaluation,
docs/safe-route.md "Stable advice"): most of those are one detour replaced by another of nearly the same exposure.
The rule the evaluation measured (``hysteresis_chain``, margin chosen on the selection months): **last advice is kept
unless the new least exposed route within the detour is more than ``hold`` less exposed than it, both priced with
the new model**; the kept route must still be a walk of the current graph within the detour budget. With 20 % it
brought month-to-month changes from 34.5 % to 8.3 % of pairs at the same held-out exposure.

The memory is one small JSON file per city beside the stored route model (``<warehouse>.routes/<city>.advice.json``):
per pair of street nodes (their warehouse ids), the hour band and the detour, the warehouse ids of the recommended
route's street segments and the model it was chosen under. Only the standard library is imported here (the
compiled fast path of ``civicmash route`` reads it too).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

DEFAULT_HOLD = 0.2   # [maps.safe_route] hold: chosen on the selection months of the rolling evaluation
MAX_PAIRS = 20_000   # the memory keeps the pairs asked most recently


def hold_of(options: dict | None) -> float:
    """``[maps.safe_route] hold`` (0 turns the memory off)."""
    value = (options or {}).get("hold")
    return DEFAULT_HOLD if value is None else float(value)


def memory_file(store_root: Path, city_slug: str) -> Path:
    return Path(store_root) / f"{city_slug}.advice.json"   # not "<city>-*": the stored models are named so


def pair_key(src_id, dst_id, hour: float | None, detour: float, margin: float) -> str:
    """The memory's key of a walk: its two street nodes (warehouse ids), its hour (``all``), its detour and margin
    (advice asked under another rule is another advice)."""
    band = "all" if hour is None else f"{float(hour):.4g}"
    return f"{int(src_id)}>{int(dst_id)}|{band}|{float(detour):g}|{float(margin):g}"


def recall(path: Path, key: str) -> dict | None:
    try:
        entry = json.loads(Path(path).read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("edges"), list) or not entry.get("model"):
        return None
    return entry


def remember(path: Path, key: str, *, model: str, edges: list[int], held: bool = False) -> None:
    """Store the pair's advice: the route's segments, the model it was given under and whether it was the last advice
    kept (``held``: asked again under the same model, the same route is the answer). Atomic; a memory that cannot
    be written is skipped: the answer stands."""
    path = Path(path)
    try:
        memory = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(memory, dict):
            memory = {}
    except (OSError, ValueError):
        memory = {}
    memory.pop(key, None)
    memory[key] = {"model": model, "edges": [int(e) for e in edges], "held": bool(held), "at": round(time.time())}
    if len(memory) > MAX_PAIRS:   # dicts keep insertion order: the oldest asked go first
        for old in list(memory)[: len(memory) - MAX_PAIRS]:
            del memory[old]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".advice-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(memory, f, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        return


def keeps(new: dict, held: dict, *, hold: float) -> bool:
    """Whether the held route stays recommended: the new choice is not more than ``hold`` less exposed."""
    return new["exposure"] >= (1.0 - hold) * held["exposure"]


def held_words(new: dict, held: dict, hold: float) -> str:
    """What the answer says when it kept the last advice."""
    if held["exposure"] > 0:
        gain = (held["exposure"] - new["exposure"]) / held["exposure"] * 100
        return (f"last advice kept: the new data's least exposed route within the detour is only {gain:.0f}% less "
                f"exposed (a change needs more than {hold:.0%})")
    return f"last advice kept (a change needs a route more than {hold:.0%} less exposed)"
