"""The city's status page (``status.html`` beside the maps): per dataset, the health the last run recorded.

Read from the warehouse's ``dataset_health`` table (the newest row per dataset; written by
:mod:`civicmash.flows.status` each run): last successful fetch, rows, quarantine share, the source's newest
update and the lag behind it, the portal's own row count against the rows fetched or held, the status
(ok / degraded / failed) and its reason. Every value goes into the page's JSON block and is written into the
page by ``status.js`` as text (never as markup), so a portal string cannot inject HTML.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from civicmash.warehouse import reads
from civicmash.warehouse.manifest import manifest as manifest_rows

from .render import Page, PageContext, publish

PAGE = Page(title="Data status", scripts=("status.js",), controls="status_controls.html", style="status.css")
_FIELDS = ("dataset", "table_name", "protocol", "last_success_at", "rows_current", "quarantine_share",
           "source_updated_at", "lag_hours", "portal_count", "compared_rows", "count_mismatch", "rows_deleted",
           "status", "reason", "run_id")


_MANIFEST = ("dataset", "run_id", "source_url", "fetched_at", "rows_in", "rows_loaded", "rows_quarantined", "rows_held",
             "portal_count", "content_hash")


def _text(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value


def latest_rows(con, *, city: str) -> list[dict]:
    """The newest ``dataset_health`` row of each dataset of ``city`` (empty before the first run)."""
    if not reads.has_table(con, "dataset_health"):
        return []
    rows = con.execute(f"""SELECT {', '.join(_FIELDS)} FROM dataset_health WHERE city = ?
                           QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY checked_at DESC) = 1
                           ORDER BY dataset""", [city]).fetchall()
    return [{k: _text(v) for k, v in zip(_FIELDS, row)} for row in rows]


def build(ctx: PageContext) -> Path:
    """Write ``status.html`` for ``ctx.city`` (no map)."""
    rows = latest_rows(ctx.con, city=ctx.city)
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("ok", "degraded", "failed")}
    manifest = [{k: _text(r[k]) for k in _MANIFEST} for r in manifest_rows(ctx.con, city=ctx.city)]
    data = {"datasets": rows, "counts": counts, "manifest": manifest}
    tables = tuple(sorted({r["table_name"] for r in rows if r["table_name"]}))
    return publish(ctx, PAGE, data=data, sources=reads.sources_for(ctx.con, ctx.city, ctx.sources, tables),
                   with_map=False)
