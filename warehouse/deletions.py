"""Deleted source rows: the rows of a dataset whose id the portal no longer has, moved out of the current table.

An incremental (``merge``) load only sees new and changed records, so a record the publisher deleted would
stay in the warehouse as a ghost. The deletion sweep (``civicmash run --sweep``, :mod:`civicmash.flows.pipeline`)
asks the portal for every id it still has and hands them to :func:`delete_missing`, which copies each row
whose ``source_id`` is not among them to the table's history table (``change = 'deleted'``, when the table
keeps history: incidents) and removes it from the current table. Nothing else is touched: a sweep never
inserts or changes a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import duckdb
import pyarrow as pa

from civicmash.warehouse.schema import HISTORY_TABLES, SOURCE_TABLES, column_names

_STAGE = "_sweep_present_ids"


def delete_missing(con: duckdb.DuckDBPyConnection, *, city: str, dataset: str, table: str,
                   present_ids: Iterable[str], run_id: str, swept_at: datetime, max_share: float = 0.5) -> int:
    """Remove the rows of ``city``/``dataset`` in ``table`` whose ``source_id`` is not in ``present_ids``
    (every id the portal still has); returns how many. With a history table each removed row is first kept
    there with ``valid_to = swept_at``, ``change = 'deleted'`` and ``change_run_id = run_id``.

    An empty ``present_ids`` is refused (a portal answering no ids at all is far likelier broken than
    emptied; a full fetch of 0 rows fails the run-health check instead), and so is a sweep that would delete
    more than ``max_share`` of the dataset's rows (ids written differently by the portal and the warehouse,
    e.g. ``0925`` and ``925``, would otherwise empty the table): the error names the dataset, the counts and
    an id of each side, and nothing is deleted.
    """
    if table not in SOURCE_TABLES:
        raise ValueError(f"{city}/{dataset}: table {table!r} is not a source table")
    ids = pa.table({"source_id": pa.array(sorted({str(i) for i in present_ids}), pa.string())})
    if not ids.num_rows:
        raise ValueError(f"{city}/{dataset}: the portal listed no ids at all; refusing to delete every row")
    key = {"city": city, "dataset": dataset}
    con.register(_STAGE, ids)
    try:
        gone = (f"{table}.city = $city AND {table}.dataset = $dataset AND NOT EXISTS "
                f"(SELECT 1 FROM {_STAGE} p WHERE p.source_id = {table}.source_id)")
        held, missing, example = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {_STAGE} p "
            f"WHERE p.source_id = {table}.source_id)), min(source_id) FROM {table} "
            f"WHERE city = $city AND dataset = $dataset", key).fetchone()
        if held and missing / held > max_share:
            raise ValueError(
                f"{city}/{dataset}: the deletion sweep would delete {missing:,} of {held:,} rows "
                f"({missing / held:.0%}, limit {max_share:.0%}): the portal's ids (e.g. {ids.column(0)[0].as_py()!r}) "
                f"and the warehouse's source_id (e.g. {example!r}) may be written differently; nothing was deleted")
        con.execute("BEGIN TRANSACTION")
        try:
            history = HISTORY_TABLES.get(table)
            if history:
                cols = ", ".join(column_names(table))
                con.execute(f"""INSERT INTO {history} ({cols}, valid_to, change, change_run_id, next_row_hash)
                                SELECT {cols}, CAST($swept AS TIMESTAMPTZ), 'deleted', $run_id, NULL
                                FROM {table} WHERE {gone}""", {**key, "swept": swept_at, "run_id": run_id})
            deleted = con.execute(f"DELETE FROM {table} WHERE {gone}", key).fetchone()[0]
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(_STAGE)
    return int(deleted)
