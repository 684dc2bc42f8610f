"""Dataset health you can see: one ``dataset_health`` row per run and dataset, and the latest of them.

After a run's loads the flow calls :func:`record_health` with what it knows of each dataset (the portal's own
row count, the rows fetched, loaded and quarantined, the run-health verdict, the deletion sweep, or the error
that stopped it). Each row says when the dataset was last fetched successfully, how many rows it has, the
share quarantined, the source's newest update and the lag behind it, the portal's count against the rows
fetched (after an incremental run: against the rows held), and a status:

* ``failed``: the fetch or load raised, or the run-health check failed the dataset (``flows.health``);
* ``degraded``: the portal's count is farther from the rows than ``[health] max_count_gap`` (default 1 %),
  or the last successful fetch is older than ``[health] max_age_hours`` (late);
* ``ok`` otherwise.

:func:`latest_status` reads the newest row per dataset back (``civicmash status``, ``status.html``) and
re-judges lateness at read time, so a city whose schedule stopped firing turns late in the status too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from civicmash.cities.profile import CityProfile

STATUS_ORDER = ("ok", "degraded", "failed")
COLUMNS = ("run_id", "city", "dataset", "table_name", "protocol", "checked_at", "last_success_at", "load_mode",
           "rows_fetched", "rows_loaded", "rows_quarantined", "rows_current", "rows_deleted", "quarantine_share",
           "source_updated_at", "portal_updated_at", "lag_hours", "portal_count", "compared_rows", "count_gap", "count_mismatch",
           "status", "reason")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def worst(statuses: Iterable[str]) -> str:
    """The worst of some statuses (``ok`` < ``degraded`` < ``failed``); ``ok`` for none."""
    return max(statuses, key=STATUS_ORDER.index, default="ok")


def _has_column(con, table: str, column: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ? "
                            "AND database_name = current_database()", [table, column]).fetchone()[0])


def _current(con, *, city: str, dataset: str, table: str | None) -> tuple[int | None, datetime | None, int]:
    """(rows in the table, newest source_updated_at, quarantine rows) of one dataset as the warehouse holds it."""
    quarantined = con.execute("SELECT count(*) FROM quarantine WHERE city = ? AND dataset = ?",
                              [city, dataset]).fetchone()[0]
    if not table or not _has_column(con, table, "dataset"):
        return None, None, quarantined
    newest = "max(source_updated_at)" if _has_column(con, table, "source_updated_at") else "NULL"
    rows, updated = con.execute(f"SELECT count(*), {newest} FROM {table} WHERE city = ? AND dataset = ?",
                                [city, dataset]).fetchone()
    return rows, updated, quarantined


def _previous_success(con, *, city: str, dataset: str) -> datetime | None:
    row = con.execute("SELECT max(last_success_at) FROM dataset_health WHERE city = ? AND dataset = ?",
                      [city, dataset]).fetchone()
    return row[0] if row else None


def _as_utc(value: datetime | None, zone: str) -> datetime | None:
    """A naive city-local time (source_updated_at) or an aware one, as an aware UTC time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(timezone.utc)


def _late(last_success: datetime | None, max_age_hours: float | None, now: datetime) -> str | None:
    if max_age_hours is None:
        return None
    if last_success is None:
        return f"late: never fetched successfully (limit {max_age_hours:g} h)"
    age = (now - _as_utc(last_success, "UTC")) / timedelta(hours=1)
    if age > max_age_hours:
        return f"late: last successful fetch {age:.1f} h ago (limit {max_age_hours:g} h)"
    return None


def health_row(con, profile: CityProfile, name: str, *, run_id: str, now: datetime, load: Mapping | None,
               ingest: Mapping | None, verdict_problem: str | None, error: str | None,
               deleted: int | None) -> dict:
    """The ``dataset_health`` row of one dataset after this run (see the module docstring for the status)."""
    spec = profile.datasets[name]
    limits = profile.health_for(name)
    rows_current, newest, quarantined_now = _current(con, city=profile.name, dataset=name, table=spec.table)
    ok_load = load is not None and error is None
    fetched_at = datetime.fromisoformat(ingest["fetched_at"]).replace(tzinfo=timezone.utc) if ingest else None
    last_success = fetched_at if ok_load else _previous_success(con, city=profile.name, dataset=name)
    portal_count = ingest.get("portal_count") if ingest else None
    mode = load.get("mode") if load else None
    fetched = load.get("rows_in") if load else None
    compared = (fetched if mode == "replace" else
                (rows_current or 0) + quarantined_now if mode == "merge" else None)
    gap = (abs(portal_count - compared) / max(portal_count, 1)
           if portal_count is not None and compared is not None else None)
    portal_updated = datetime.fromisoformat(ingest["portal_updated_at"]) if ingest and ingest.get(
        "portal_updated_at") else None
    if newest is None and portal_updated is not None:     # the rows say nothing: the portal's metadata does
        newest = portal_updated.astimezone(ZoneInfo(profile.timezone)).replace(tzinfo=None)
    newest_utc = _as_utc(newest, profile.timezone)
    if portal_updated is not None and newest_utc is not None:   # behind the portal's own newest update
        lag = max(0.0, (portal_updated - newest_utc) / timedelta(hours=1))
    else:                                                          # else the data's age at the fetch
        lag = ((fetched_at or now) - newest_utc) / timedelta(hours=1) if newest_utc else None
    reasons, status = [], "ok"
    if error or verdict_problem:
        status, reasons = "failed", [error or verdict_problem]
    if gap is not None and gap > limits.max_count_gap:
        status = worst([status, "degraded"])
        reasons.append(f"portal count {portal_count:,} vs {compared:,} rows "
                       f"{'fetched' if mode == 'replace' else 'held'} ({gap:.1%} apart, limit {limits.max_count_gap:.1%})")
    late = _late(last_success, limits.max_age_hours, now)
    if late:
        status = worst([status, "degraded"])
        reasons.append(late)
    return {"run_id": run_id, "city": profile.name, "dataset": name, "table_name": spec.table,
            "protocol": spec.protocol, "checked_at": now, "last_success_at": last_success, "load_mode": mode,
            "rows_fetched": fetched, "rows_loaded": load.get("rows_loaded") if load else None,
            "rows_quarantined": load.get("rows_quarantined") if load else None, "rows_current": rows_current,
            "rows_deleted": deleted, "quarantine_share": (load["rows_quarantined"] / fetched) if fetched else None,
            "source_updated_at": newest, "portal_updated_at": portal_updated, "lag_hours": lag, "portal_count": portal_count, "compared_rows": compared,
            "count_gap": gap, "count_mismatch": (portal_count != compared) if gap is not None else None,
            "status": status, "reason": "; ".join(r for r in reasons if r) or None,
            "count_note": ingest.get("count_note") if ingest else None}


def record_health(con, profile: CityProfile, names: Iterable[str], *, run_id: str, loads: Mapping[str, Mapping],
                  ingests: Mapping[str, Mapping], problems: Mapping[str, str], errors: Mapping[str, str],
                  deleted: Mapping[str, int], now: datetime | None = None) -> list[dict]:
    """Write (and return) one ``dataset_health`` row per dataset of ``names`` for run ``run_id``.

    ``loads``/``ingests``: the load and ingest results by dataset; ``problems``: run-health problems by
    dataset; ``errors``: the error that stopped a dataset's fetch or load; ``deleted``: rows the sweep removed.
    """
    now = now or _utcnow()
    rows = [health_row(con, profile, name, run_id=run_id, now=now, load=loads.get(name), ingest=ingests.get(name),
                       verdict_problem=problems.get(name), error=errors.get(name), deleted=deleted.get(name))
            for name in names]
    placeholders = ", ".join("?" * len(COLUMNS))
    con.executemany(f"INSERT INTO dataset_health ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                    [[row[c] for c in COLUMNS] for row in rows])
    return rows


def latest_status(con, profile: CityProfile, *, now: datetime | None = None) -> list[dict]:
    """The newest ``dataset_health`` row of every dataset of the city that has one, lateness re-judged now
    (a dataset of the profile never checked is listed with status ``unknown``)."""
    now = now or _utcnow()
    cursor = con.execute(f"""SELECT {', '.join(COLUMNS)} FROM dataset_health WHERE city = ?
                             QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY checked_at DESC) = 1
                             ORDER BY dataset""", [profile.name])
    found = {row[2]: dict(zip(COLUMNS, row)) for row in cursor.fetchall()}
    out = []
    for name in profile.datasets:
        row = found.get(name)
        if row is None:
            out.append({"city": profile.name, "dataset": name, "status": "unknown",
                        "reason": "no run has checked this dataset yet"})
            continue
        if name in profile.datasets:
            late = _late(row["last_success_at"], profile.health_for(name).max_age_hours, now)
            if late and (late not in (row["reason"] or "")):
                row["status"] = worst([row["status"], "degraded"])
                row["reason"] = "; ".join(r for r in (row["reason"], late) if r)
        out.append(row)
    return out


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def status_table(rows: list[dict]) -> str:
    """The rows as an aligned text table (``civicmash status``), reasons on the lines below."""
    head = ("dataset", "last fetch (UTC)", "rows", "quarantined", "newest update", "lag h", "portal/loaded", "status")
    body = []
    for r in rows:
        share = r.get("quarantine_share")
        portal = (f"{_cell(r.get('portal_count'))}/{_cell(r.get('compared_rows'))}"
                  if r.get("portal_count") is not None else f"n/a/{_cell(r.get('rows_current'))}")
        body.append((r["dataset"], _cell(r.get("last_success_at")), _cell(r.get("rows_current")),
                     "-" if share is None else f"{share:.1%}", _cell(r.get("source_updated_at")),
                     _cell(r.get("lag_hours")), portal, r["status"]))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in (head, *body)]
    lines += [f"  {r['dataset']}: {r['reason']}" for r in rows if r.get("reason")]
    return "\n".join(lines)


def jsonable(rows: list[dict]) -> list[dict]:
    """The rows with times as ISO text (``civicmash status --format json``, status.html)."""
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]
