"""The run manifest: per run and dataset, where the data came from, when, how many rows, and a content hash.

Written once per run after the loads (:func:`write_manifest`, called by the flow), into ``run_manifest``
(documented in :mod:`.schema`); ``latest_manifest`` (a view) is the newest row per dataset. A published figure
cites a snapshot: the run id and the short hash every page's footer shows (:func:`snapshot`), which a reader
finds again in ``run_manifest``.

``content_hash`` is the SHA-256 of the dataset's records *as the warehouse holds them after the run*: each
loaded record's ``source_id`` and ``row_hash`` (the MD5 of its raw source values), in order, then each
quarantined record's raw values. The landed Parquet pages carry the fetch time, so their bytes differ on
every run; the records do not, so the same source data gives the same hash, and one changed value anywhere
a different one (an incremental run hashes the merged dataset, not the increment).

``source_url`` is the dataset's public address with any secret taken out (:func:`public_source_url`): no
user:password, no token/key/signature query parameter. App tokens travel in headers and never reach here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import duckdb

__all__ = [
    "LATEST_VIEW_SQL",
    "MANIFEST_COLUMNS",
    "content_hash",
    "manifest",
    "manifest_rows",
    "public_source_url",
    "snapshot",
    "write_manifest",
]

# query parameters whose value is a credential (case-insensitive, '-'/'_' ignored)
_SECRET_PARAM = re.compile(r"(token|key|secret|passw|pwd|signature|^sig$|auth|credential|session|^code$)",
                           re.IGNORECASE)
# tables whose rows a dataset of table T fills (``streets`` is two)
_TARGETS = {"streets": ("street_edges", "street_nodes")}
SHORT_HASH = 12
MANIFEST_COLUMNS = ("run_id", "city", "dataset", "table_name", "protocol", "source_url", "fetched_at", "load_mode",
                    "rows_in", "rows_loaded", "rows_quarantined", "rows_held", "portal_count", "content_hash",
                    "recorded_at")

LATEST_VIEW_SQL = """SELECT * FROM run_manifest
    QUALIFY row_number() OVER (PARTITION BY city, dataset ORDER BY recorded_at DESC, fetched_at DESC) = 1"""


def public_source_url(url: str | None) -> str | None:
    """``url`` without anything secret: user info dropped, and every query parameter whose name says token,
    key, secret, password, signature, auth, credential, session or code. ``replay:<path>`` stays as it is."""
    if url is None:
        return None
    text = str(url).strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return text
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _SECRET_PARAM.search(k.replace("-", "").replace("_", ""))])
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def content_hash(con: duckdb.DuckDBPyConnection, *, city: str, dataset: str, table: str) -> str:
    """SHA-256 (hex) of ``city``/``dataset``'s records as held: every (source_id, row_hash) of its rows in
    ``table`` (both street tables for ``streets``), sorted, then the MD5 of every quarantined record's raw
    values, sorted. Streamed, so a large dataset is never one string in memory."""
    key = {"city": city, "dataset": dataset}
    parts = []
    for target in _TARGETS.get(table, (table,)):
        parts.append(f"SELECT DISTINCT '{target}' AS t, source_id AS k, coalesce(row_hash, '') AS h "
                     f"FROM {target} WHERE city = $city AND dataset = $dataset")
    parts.append("SELECT 'quarantine' AS t, coalesce(source_id, '') AS k, md5(CAST(raw AS VARCHAR)) AS h "
                 "FROM quarantine WHERE city = $city AND dataset = $dataset")
    cur = con.execute(f"SELECT t, k, h FROM ({' UNION ALL '.join(parts)}) ORDER BY t, k, h", key)
    digest = hashlib.sha256()
    while batch := cur.fetchmany(50_000):
        digest.update("".join(f"{t}\t{k}\t{h}\n" for t, k, h in batch).encode("utf-8"))
    return digest.hexdigest()


def _held(con: duckdb.DuckDBPyConnection, *, city: str, dataset: str, table: str) -> int:
    target = _TARGETS.get(table, (table,))[0]
    rows = "count(DISTINCT source_id)" if table == "area_indicators" else "count(*)"
    return con.execute(f"SELECT {rows} FROM {target} WHERE city = $city AND dataset = $dataset",
                       {"city": city, "dataset": dataset}).fetchone()[0]


def manifest_rows(con: duckdb.DuckDBPyConnection, *, run_id: str, city: str, loads: Iterable[Mapping[str, Any]],
                  fetches: Mapping[str, Mapping[str, Any]], sources: Mapping[str, Mapping[str, Any]]) -> list[dict]:
    """The manifest rows of a run: one per loaded dataset. ``loads``: the flow's load results (dataset, table,
    mode, rows_in, rows_loaded, rows_quarantined); ``fetches``: dataset -> the ingest result (fetched_at,
    portal_count); ``sources``: dataset -> {"url", "protocol"} from the profile."""
    now = datetime.now(UTC)
    out = []
    for load in loads:
        name, table = load["dataset"], load["table"]
        fetch, source = fetches.get(name) or {}, sources.get(name) or {}
        fetched = fetch.get("fetched_at")
        if isinstance(fetched, str):
            fetched = datetime.fromisoformat(fetched)
        if load["rows_in"] != load["rows_loaded"] + load["rows_quarantined"]:
            raise ValueError(f"{city}/{name}: manifest of run {run_id}: rows_in {load['rows_in']} != loaded "
                             f"{load['rows_loaded']} + quarantined {load['rows_quarantined']}")
        out.append({"run_id": run_id, "city": city, "dataset": name, "table_name": table,
                    "protocol": source.get("protocol"), "source_url": public_source_url(source.get("url")),
                    "fetched_at": fetched, "load_mode": load.get("mode"), "rows_in": load["rows_in"],
                    "rows_loaded": load["rows_loaded"], "rows_quarantined": load["rows_quarantined"],
                    "rows_held": _held(con, city=city, dataset=name, table=table),
                    "portal_count": fetch.get("portal_count"),
                    "content_hash": content_hash(con, city=city, dataset=name, table=table), "recorded_at": now})
    return out


def write_manifest(con: duckdb.DuckDBPyConnection, *, run_id: str, city: str, loads: Iterable[Mapping[str, Any]],
                   fetches: Mapping[str, Mapping[str, Any]], sources: Mapping[str, Mapping[str, Any]]) -> list[dict]:
    """Compute (:func:`manifest_rows`) and write the run's ``run_manifest`` rows (replacing any of the same
    run); returns them."""
    rows = manifest_rows(con, run_id=run_id, city=city, loads=loads, fetches=fetches, sources=sources)
    cols = ", ".join(MANIFEST_COLUMNS)
    marks = ", ".join(f"${c}" for c in MANIFEST_COLUMNS)
    con.begin()
    try:
        con.execute("DELETE FROM run_manifest WHERE run_id = $run_id AND city = $city", {"run_id": run_id, "city": city})
        for row in rows:
            con.execute(f"INSERT INTO run_manifest ({cols}) VALUES ({marks})", row)
        con.commit()
    except Exception:
        con.rollback()
        raise
    return rows


def _has_manifest(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'run_manifest' "
                            "AND database_name = current_database()").fetchone()[0])


def snapshot(con, *, city: str, datasets: Iterable[str] | None = None) -> dict | None:
    """What a page cites: over the newest manifest row of each of ``datasets`` (None: every dataset of the
    city), the newest run (``run_id``), its ``fetched_at``, and ``hash``: the first 12 hex digits of the SHA-256
    of their ``dataset:content_hash`` lines (``full_hash``: all 64). None when the warehouse has no manifest
    for them (a warehouse from before the manifest, or a page drawing no loaded dataset)."""
    if con is None or not _has_manifest(con):
        return None
    rows = con.execute(f"SELECT dataset, content_hash, run_id, fetched_at, recorded_at FROM ({LATEST_VIEW_SQL}) "
                       "WHERE city = $city ORDER BY dataset", {"city": city}).fetchall()
    if datasets is not None:
        wanted = set(datasets)
        rows = [r for r in rows if r[0] in wanted]
    if not rows:
        return None
    full = hashlib.sha256("".join(f"{d}:{h}\n" for d, h, *_ in rows).encode("utf-8")).hexdigest()
    newest = max(rows, key=lambda r: r[4])
    return {"run_id": newest[2], "fetched_at": newest[3], "hash": full[:SHORT_HASH], "full_hash": full,
            "datasets": [r[0] for r in rows]}


def manifest(con, *, city: str | None = None, run_id: str | None = None) -> list[dict]:
    """Rows of ``run_manifest``: of ``run_id``, else the latest per dataset (``latest_manifest``); of ``city``
    when given. Ordered by city and dataset."""
    if not _has_manifest(con):
        return []
    where, params = [], {}
    if city is not None:
        where.append("city = $city")
        params["city"] = city
    if run_id is not None:
        where.append("run_id = $run_id")
        params["run_id"] = run_id
    source = "run_manifest" if run_id is not None else f"({LATEST_VIEW_SQL})"
    sql = (f"SELECT {', '.join(MANIFEST_COLUMNS)} FROM {source} "
           + (f"WHERE {' AND '.join(where)} " if where else "") + "ORDER BY city, dataset")
    cur = con.execute(sql, params)
    return [dict(zip(MANIFEST_COLUMNS, r)) for r in cur.fetchall()]
