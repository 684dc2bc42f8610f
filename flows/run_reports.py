"""What ``civicmash changes`` and ``civicmash manifest`` print (no Prefect: they only read the warehouse)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from civicmash.warehouse import changes, db
from civicmash.warehouse.manifest import manifest
from civicmash.warehouse.sql import format_table

SHOWN = 50
_SHOWN_COLUMNS = ("change", "dataset", "source_id", "changed_fields", "before", "after", "note")


def changes_report(warehouse: str | Path, *, city: str, from_run: str | None = None, to_run: str | None = None,
                   csv_path: str | Path | None = None) -> str:
    """The changes between two runs of ``city`` (:func:`civicmash.warehouse.changes.resolve_runs` picks the
    defaults) as text: a line naming the runs and the counts by kind, then, with ``csv_path``, where every change
    was written, else the first :data:`SHOWN` as a table. A bad run id is a ValueError naming it."""
    with contextlib.closing(db.connect(str(warehouse), read_only=True)) as con:
        pair = changes.resolve_runs(con, city=city, from_run=from_run, to_run=to_run)
        columns, rows = changes.changes_between(con, pair)
    counts = changes.change_counts(rows, columns)
    lines = [f"{city}: run {pair.from_run_id} -> run {pair.to_run_id}: {len(rows):,} change"
             f"{'' if len(rows) == 1 else 's'} (" + ", ".join(f"{k} {n:,}" for k, n in counts.items()) + ")"]
    if csv_path is not None:
        path = changes.write_csv(csv_path, columns, rows)
        lines.append(f"changes -> {path} ({len(rows):,} rows, CSV)")
    elif rows:
        at = [columns.index(c) for c in _SHOWN_COLUMNS]
        lines.append(format_table(list(_SHOWN_COLUMNS), [[row[i] for i in at] for row in rows[:SHOWN]]))
        if len(rows) > SHOWN:
            lines.append(f"... {len(rows) - SHOWN:,} more: write them all with --csv FILE")
    return "\n".join(lines)


def manifest_report(warehouse: str | Path, *, city: str | None = None, run_id: str | None = None,
                    fmt: str = "table") -> str:
    """The run manifest (of ``run_id``, else the latest row per dataset; of ``city`` when given) as a table or
    JSON. A run id with no manifest rows is a ValueError naming it."""
    with contextlib.closing(db.connect(str(warehouse), read_only=True)) as con:
        rows = manifest(con, city=city, run_id=run_id)
    if not rows and run_id is not None:
        raise ValueError(f"no run manifest for run {run_id!r}" + (f" of {city!r}" if city else "")
                         + ": see ingest_runs for the run ids")
    if fmt == "json":
        return json.dumps({"manifest": rows}, indent=2, default=str)
    if not rows:
        return "no run manifest yet: run `civicmash run <city>` first"
    shown = ("city", "dataset", "run_id", "fetched_at", "rows_in", "rows_loaded", "rows_quarantined", "rows_held",
             "portal_count", "content_hash", "source_url")
    return format_table(list(shown), [[r[c][:12] if c == "content_hash" and r[c] else r[c] for c in shown]
                                      for r in rows])
