"""One run at a time per warehouse: a second run on the same DuckDB file waits or fails cleanly.

A run opens and closes the warehouse many times (one connection per task), so DuckDB's own file lock, which
lasts one connection, cannot keep two runs apart: between two tasks of one run another run could write, and
the first run's next task would meet a locked file half way through. :func:`run_lock` holds an exclusive
advisory lock (``fcntl.flock``) on ``<warehouse>.run.lock`` for the whole run. The lock file says who holds
it (pid, city, start time), so the second run's message names the first. The operating system releases the
lock when the holding process ends, however it ends: a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

__all__ = ["RunInProgress", "lock_path", "run_lock"]

_POLL_S = 0.25
_held: set[Path] = set()   # lock files this process holds: taking one again (the CLI, then the flow) is a no-op


class RunInProgress(RuntimeError):
    """Another run holds the warehouse; the message names it and says how to wait."""


def lock_path(warehouse: str | os.PathLike) -> Path:
    """The lock file of a warehouse: ``civicmash.duckdb`` -> ``civicmash.duckdb.run.lock``."""
    return Path(f"{warehouse}.run.lock")


@contextlib.contextmanager
def run_lock(warehouse: str | os.PathLike, *, city: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's run lock for the block. Another holder: wait up to ``wait`` seconds (0: do not
    wait), then :class:`RunInProgress` naming the holder."""
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    path = path.resolve()
    if path in _held:   # flock is per open file: a second open in this process would wait for itself
        yield
        return
    fh = open(path, "a+", encoding="utf-8")
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunInProgress(_busy_message(path, warehouse, wait)) from None
                time.sleep(_POLL_S)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "city": city,
                             "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        fh.flush()
        _held.add(path)
        try:
            yield
        finally:
            _held.discard(path)
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


def _busy_message(path: Path, warehouse, wait: float) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    who = (f"run of {holder.get('city', '?')} (pid {holder.get('pid', '?')}, started {holder.get('started', '?')})"
           if holder else "run")
    waited = f" after waiting {wait:g} s" if wait > 0 else ""
    return (f"another civicmash {who} is writing {warehouse}{waited}; let it finish, or pass --wait SECONDS "
            "to wait for it")
