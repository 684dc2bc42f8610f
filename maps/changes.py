"""The city's "what changed" page (``changes.html`` beside the maps): its incidents added, removed and
reclassified between two runs.

Read from the warehouse (:mod:`civicmash.warehouse.changes`): by default the run given in the options
(``to_run``; else the city's latest run) against the previous successful run of the city. Counts by kind of
change, then a table of the changes (reclassifications first, at most ``options.max_rows``; the full list is
``civicmash changes --csv FILE``), each row linking into the crime explorer's URL state (the day, the type and
the block) when ``explorer.html`` sits beside the page and the record is still held. Every value goes into the
page's JSON block and is written by ``changes.js`` as text (never as markup), so a portal string cannot inject
HTML.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from civicmash.warehouse import changes, reads

from .i18n import t
from .render import Page, PageContext, publish

PAGE = Page(title="What changed", scripts=("changes.js",), controls="changes_controls.html", style="changes.css")
MAX_ROWS = 2000


def _text(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def page_data(con, *, city: str, to_run: str | None = None, from_run: str | None = None,
              max_rows: int = MAX_ROWS, explorer: str | None = None) -> dict:
    """The page's data: the two runs, counts by kind, the first ``max_rows`` changes; ``pair`` None with a
    ``reason`` when there is nothing to compare (no run yet, or no earlier successful run)."""
    if not reads.has_table(con, "ingest_runs"):
        return {"pair": None, "reason": t("changes.no_run"), "reason_key": "changes.no_run", "counts": {}, "rows": [],
                "total": 0, "explorer": explorer, "kinds": list(changes.CHANGE_KINDS)}
    try:
        pair = changes.resolve_runs(con, city=city, from_run=from_run, to_run=to_run)
    except ValueError as exc:
        return {"pair": None, "reason": str(exc), "counts": {}, "rows": [], "total": 0, "explorer": explorer,
                "kinds": list(changes.CHANGE_KINDS)}
    columns, rows = changes.changes_between(con, pair)
    counts = changes.change_counts(rows, columns)
    shown = [{k: _text(v) for k, v in zip(columns, row)} for row in rows[:max_rows]]
    return {"pair": {"from_run_id": pair.from_run_id, "to_run_id": pair.to_run_id,
                     "from_end": _text(pair.from_end), "to_end": _text(pair.to_end), "to_status": pair.to_status},
            "reason": None, "counts": counts, "rows": shown, "total": len(rows), "explorer": explorer,
            "kinds": list(changes.CHANGE_KINDS)}


def build(ctx: PageContext) -> Path:
    """Write ``changes.html`` for ``ctx.city`` (no map). Options: ``to_run``, ``from_run``, ``max_rows``."""
    explorer = ctx.out_path.with_name("explorer.html")
    data = page_data(ctx.con, city=ctx.city, to_run=ctx.options.get("to_run"), from_run=ctx.options.get("from_run"),
                     max_rows=int(ctx.options.get("max_rows") or MAX_ROWS),
                     explorer=explorer.name if explorer.is_file() else None)
    data["synthetic"] = bool(ctx.synthetic)
    return publish(ctx, PAGE, data=data, sources=reads.sources_for(ctx.con, ctx.city, ctx.sources, ("incidents",)),
                   with_map=False)
