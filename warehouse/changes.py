"""What changed in a city's incidents between two runs: added, removed and reclassified incidents.

Every version of an incident is kept: the current one in ``incidents`` (``valid_from``: the download that first
brought it), the earlier ones in ``incidents_history`` (``valid_to``: the download that replaced or removed it,
or the deletion sweep that deleted it). So the incidents a city held *after* any run are the versions current at
that run's ``ingest_runs.finished_at``, and two runs compare record by record (city, dataset, source_id):

* ``added``: held after the later run, not after the earlier one (a new source_id, or one that came back);
* ``removed``: held after the earlier run, not after the later one (gone from a full reload, or deleted by the
  sweep: ``note`` says which);
* held after both with different source values (row_hash): one row per kind of change among
  ``type`` (primary_type, description, iucr, fbi_code), ``location`` (the point, block, beat, district, ward,
  community_area), ``date`` (occurred_at) and ``other`` (case_number, arrest, domestic, location_description,
  reported_at, occurred_end_at); a record whose type and location both changed is two rows. A record whose
  only difference is elsewhere (e.g. the publisher's update time) gives no row here (``incidents_changes`` has
  every superseded version).

Runs between the two, failed ones included, fold in: a record changed twice shows its first and last values.
``incident_changes_by_run`` (a view) compares every successful run with the previous successful run of its city;
:func:`changes_between` compares any two runs of a city (``civicmash changes --from RUN --to RUN``).
Format fixtures (``datasets.role = 'fixture'``) are left out, as in ``incidents_current``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CHANGE_COLUMNS",
    "CHANGE_KINDS",
    "SUCCESS",
    "VIEW_SQL",
    "RunPair",
    "change_counts",
    "changes_between",
    "resolve_runs",
    "write_csv",
]

CHANGE_KINDS = ("type", "location", "date", "other", "removed", "added")
"""The kinds of change, in the order pages and the CLI list them (reclassifications first)."""
SUCCESS = "status NOT IN ('failed', 'running')"
"""An ingest_runs row of a successful run (the flow writes 'completed' or 'failed')."""

_POINT = "point"   # lat and lon together, one field of the location kind
_KINDS: dict[str, tuple[str, ...]] = {
    "type": ("primary_type", "description", "iucr", "fbi_code"),
    "location": (_POINT, "block", "beat", "district", "ward", "community_area"),
    "date": ("occurred_at",),
    "other": ("case_number", "arrest", "domestic", "location_description", "reported_at", "occurred_end_at"),
}
_COLUMNS = ("case_number", "primary_type", "description", "iucr", "fbi_code", "lat", "lon", "block", "beat",
            "district", "ward", "community_area", "occurred_at", "arrest", "domestic", "location_description",
            "reported_at", "occurred_end_at", "row_hash", "valid_from")
CHANGE_COLUMNS = ("city", "dataset", "source_id", "case_number", "change", "changed_fields", "before", "after",
                  "note", "primary_type", "occurred_at", "block", "lat", "lon", "seen_at", "from_run_id",
                  "to_run_id")
_TIME = "'%Y-%m-%d %H:%M:%S'"


def _value(alias: str, field: str) -> str:
    """The field of version ``alias`` as text ('(none)' when NULL)."""
    if field == _POINT:
        return (f"CASE WHEN {alias}.lat IS NULL OR {alias}.lon IS NULL THEN '(none)' "
                f"ELSE printf('%.6f, %.6f', {alias}.lat, {alias}.lon) END")
    if field in ("occurred_at", "reported_at", "occurred_end_at"):
        return f"coalesce(strftime({alias}.{field}, {_TIME}), '(none)')"
    return f"coalesce(CAST({alias}.{field} AS VARCHAR), '(none)')"


def _differs(field: str) -> str:
    if field == _POINT:
        return "(b.lat IS DISTINCT FROM a.lat OR b.lon IS DISTINCT FROM a.lon)"
    return f"b.{field} IS DISTINCT FROM a.{field}"


def _kind_struct(kind: str) -> str:
    fields = _KINDS[kind]
    names = ", ".join(f"CASE WHEN {_differs(f)} THEN '{'lat,lon' if f == _POINT else f}' END" for f in fields)
    before = ", ".join(f"CASE WHEN {_differs(f)} THEN {_value('b', f)} END" for f in fields)
    after = ", ".join(f"CASE WHEN {_differs(f)} THEN {_value('a', f)} END" for f in fields)
    return (f"{{'change': '{kind}', 'fields': concat_ws(',', {names}), 'before': concat_ws(' · ', {before}), "
            f"'after': concat_ws(' · ', {after})}}")


def _summary(alias: str) -> str:
    """One incident in words, for an added or removed row: type · description · time · block."""
    return (f"concat_ws(' · ', {alias}.primary_type, {alias}.description, strftime({alias}.occurred_at, {_TIME}), "
            f"{alias}.block)")


def changes_sql(pairs: str) -> str:
    """The changes of every run pair in the relation ``pairs`` (SQL with columns city, from_run_id, to_run_id,
    from_end, to_end: TIMESTAMPTZ), one row per change, columns :data:`CHANGE_COLUMNS`."""
    cols = ", ".join(_COLUMNS)
    hist_cols = ", ".join(c for c in _COLUMNS)
    keys = "t.city, t.dataset, t.source_id, t.from_run_id, t.to_run_id, t.from_end, t.to_end"
    join = "v.city = t.city AND v.dataset = t.dataset AND v.source_id = t.source_id"

    def held(at: str) -> str:
        return (f"SELECT {keys}, v.* EXCLUDE (city, dataset, source_id) FROM touched t JOIN live v ON {join} "
                f"WHERE coalesce(v.valid_from, '-infinity'::TIMESTAMPTZ) <= t.{at} "
                f"AND (v.valid_to IS NULL OR v.valid_to > t.{at}) "
                f"QUALIFY row_number() OVER (PARTITION BY t.city, t.dataset, t.source_id, t.from_run_id, t.to_run_id "
                f"ORDER BY v.valid_from DESC NULLS LAST) = 1")

    kinds = ", ".join(_kind_struct(k) for k in _KINDS)
    pair_on = ("b.city = a.city AND b.dataset = a.dataset AND b.source_id = a.source_id "
               "AND b.from_run_id = a.from_run_id AND b.to_run_id = a.to_run_id")
    return f"""WITH pairs AS ({pairs}),
    versions AS (
        SELECT city, dataset, source_id, {cols}, CAST(NULL AS TIMESTAMPTZ) AS valid_to, CAST(NULL AS VARCHAR) AS ended
        FROM incidents
        UNION ALL
        SELECT city, dataset, source_id, {hist_cols}, valid_to, change AS ended FROM incidents_history),
    live AS (
        SELECT v.* FROM versions v
        WHERE NOT EXISTS (SELECT 1 FROM datasets d WHERE d.city = v.city AND d.dataset = v.dataset
                          AND d.role = 'fixture')),
    touched AS (
        SELECT DISTINCT v.city, v.dataset, v.source_id, p.from_run_id, p.to_run_id, p.from_end, p.to_end
        FROM live v JOIN pairs p ON v.city = p.city
        WHERE (v.valid_from > p.from_end AND v.valid_from <= p.to_end)
           OR (v.valid_to > p.from_end AND v.valid_to <= p.to_end)),
    b AS ({held('from_end')}),
    a AS ({held('to_end')}),
    ended AS (
        SELECT t.city, t.dataset, t.source_id, t.from_run_id, t.to_run_id, arg_max(v.ended, v.valid_to) AS how,
               max(v.valid_to) AS at
        FROM touched t JOIN live v ON {join}
        WHERE v.valid_to > t.from_end AND v.valid_to <= t.to_end GROUP BY ALL),
    paired AS (
        SELECT coalesce(a.city, b.city) AS city, coalesce(a.dataset, b.dataset) AS dataset,
               coalesce(a.source_id, b.source_id) AS source_id,
               coalesce(a.from_run_id, b.from_run_id) AS from_run_id, coalesce(a.to_run_id, b.to_run_id) AS to_run_id,
               CASE WHEN b.source_id IS NULL THEN 'added' WHEN a.source_id IS NULL THEN 'removed' END AS whole,
               CASE WHEN b.source_id IS NULL THEN NULL WHEN a.source_id IS NULL THEN NULL
                    ELSE list_filter([{kinds}], x -> x.fields <> '') END AS kinds,
               {_summary('b')} AS b_summary, {_summary('a')} AS a_summary,
               coalesce(a.case_number, b.case_number) AS case_number,
               coalesce(a.primary_type, b.primary_type) AS primary_type,
               coalesce(a.occurred_at, b.occurred_at) AS occurred_at, coalesce(a.block, b.block) AS block,
               CASE WHEN a.source_id IS NOT NULL THEN a.lat ELSE b.lat END AS lat,
               CASE WHEN a.source_id IS NOT NULL THEN a.lon ELSE b.lon END AS lon,
               a.valid_from AS a_from, b.row_hash AS b_hash, a.row_hash AS a_hash
        FROM b FULL OUTER JOIN a ON {pair_on})
    SELECT p.city, p.dataset, p.source_id, p.case_number, p.whole AS change, NULL AS changed_fields,
           CASE WHEN p.whole = 'removed' THEN p.b_summary END AS before,
           CASE WHEN p.whole = 'added' THEN p.a_summary END AS after,
           CASE WHEN p.whole = 'removed' THEN CASE e.how WHEN 'deleted' THEN 'deleted at the portal (deletion sweep)'
                                                         ELSE 'no longer in a full download' END
                WHEN EXISTS (SELECT 1 FROM live o WHERE o.city = p.city AND o.dataset = p.dataset
                             AND o.source_id = p.source_id AND o.valid_to IS NOT NULL AND o.valid_to <= pr.from_end)
                THEN 'published again after an earlier removal' END AS note,
           p.primary_type, p.occurred_at, p.block, p.lat, p.lon,
           CASE WHEN p.whole = 'removed' THEN e.at ELSE p.a_from END AS seen_at, p.from_run_id, p.to_run_id
    FROM paired p
    LEFT JOIN ended e USING (city, dataset, source_id, from_run_id, to_run_id)
    LEFT JOIN pairs pr ON pr.city = p.city AND pr.from_run_id = p.from_run_id AND pr.to_run_id = p.to_run_id
    WHERE p.whole IS NOT NULL
    UNION ALL
    SELECT p.city, p.dataset, p.source_id, p.case_number, k.change, k.fields, k.before, k.after, NULL,
           p.primary_type, p.occurred_at, p.block, p.lat, p.lon, p.a_from, p.from_run_id, p.to_run_id
    FROM (SELECT *, unnest(kinds) AS k FROM paired WHERE whole IS NULL AND b_hash IS DISTINCT FROM a_hash) p"""


VIEW_PAIRS = f"""SELECT city, from_run_id, to_run_id, from_end, to_end FROM (
        SELECT city, run_id AS to_run_id, finished_at AS to_end,
               lag(run_id) OVER w AS from_run_id, lag(finished_at) OVER w AS from_end
        FROM ingest_runs WHERE {SUCCESS} AND finished_at IS NOT NULL
        WINDOW w AS (PARTITION BY city ORDER BY finished_at))
    WHERE from_run_id IS NOT NULL"""

VIEW_SQL = changes_sql(VIEW_PAIRS)
"""``incident_changes_by_run``: every successful run against the previous successful run of its city."""

_ORDER = ("ORDER BY list_position(" + "[" + ", ".join(f"'{k}'" for k in CHANGE_KINDS) + "], change), "
          "dataset, source_id")


@dataclass(frozen=True)
class RunPair:
    city: str
    from_run_id: str
    to_run_id: str
    from_end: Any
    to_end: Any
    to_status: str | None = None


def _run(con, city: str, run_id: str) -> tuple:
    row = con.execute("SELECT run_id, city, finished_at, status FROM ingest_runs WHERE run_id = $r",
                      {"r": run_id}).fetchone()
    if row is None:
        known = [r[0] for r in con.execute("SELECT run_id FROM ingest_runs WHERE city = $c ORDER BY finished_at DESC "
                                           "LIMIT 3", {"c": city}).fetchall()]
        raise ValueError(f"{city}: no run {run_id!r} in ingest_runs" + (f"; the latest are {', '.join(known)}"
                                                                         if known else "; the city has no run yet"))
    if row[1] != city:
        raise ValueError(f"run {run_id!r} is a run of {row[1]!r}, not of {city!r}")
    if row[2] is None:
        raise ValueError(f"{city}: run {run_id!r} has not finished")
    return row


def resolve_runs(con, *, city: str, from_run: str | None = None, to_run: str | None = None) -> RunPair:
    """The two runs to compare: ``to_run`` (default: the city's latest finished run, whatever its status) and
    ``from_run`` (default: the latest successful run that finished before it). A clear error names the city and
    the run when a run is unknown, of another city, or not before the other."""
    if to_run is None:
        row = con.execute("SELECT run_id FROM ingest_runs WHERE city = $c AND finished_at IS NOT NULL "
                          "ORDER BY finished_at DESC LIMIT 1", {"c": city}).fetchone()
        if row is None:
            raise ValueError(f"{city}: no finished run in ingest_runs: run `civicmash run {city}` first")
        to_run = row[0]
    to = _run(con, city, to_run)
    if from_run is None:
        row = con.execute(f"SELECT run_id FROM ingest_runs WHERE city = $c AND {SUCCESS} AND finished_at < $t "
                          "ORDER BY finished_at DESC LIMIT 1", {"c": city, "t": to[2]}).fetchone()
        if row is None:
            raise ValueError(f"{city}: run {to_run!r} has no earlier successful run to compare with "
                             "(name one with --from RUN)")
        from_run = row[0]
    frm = _run(con, city, from_run)
    if frm[2] >= to[2]:
        raise ValueError(f"{city}: run {from_run!r} (--from) finished after run {to_run!r} (--to): "
                         "give the earlier run first")
    return RunPair(city=city, from_run_id=frm[0], to_run_id=to[0], from_end=frm[2], to_end=to[2], to_status=to[3])


def changes_between(con, pair: RunPair, *, limit: int | None = None) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of the changes between the two runs of ``pair``, reclassifications first
    (:data:`CHANGE_KINDS` order), then by dataset and source_id."""
    pairs = ("SELECT CAST($city AS VARCHAR) AS city, CAST($from_run AS VARCHAR) AS from_run_id, "
             "CAST($to_run AS VARCHAR) AS to_run_id, CAST($from_end AS TIMESTAMPTZ) AS from_end, "
             "CAST($to_end AS TIMESTAMPTZ) AS to_end")
    sql = f"SELECT {', '.join(CHANGE_COLUMNS)} FROM ({changes_sql(pairs)}) {_ORDER}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    cur = con.execute(sql, {"city": pair.city, "from_run": pair.from_run_id, "to_run": pair.to_run_id,
                            "from_end": pair.from_end, "to_end": pair.to_end})
    return [d[0] for d in cur.description], cur.fetchall()


def change_counts(rows: list[tuple], columns: list[str] | tuple[str, ...] = CHANGE_COLUMNS) -> dict[str, int]:
    """Rows per kind of change, every kind listed (0 when none)."""
    at = list(columns).index("change")
    counts = dict.fromkeys(CHANGE_KINDS, 0)
    for row in rows:
        counts[row[at]] = counts.get(row[at], 0) + 1
    return counts


def write_csv(path: str | Path, columns: list[str], rows: list[tuple]) -> Path:
    """The changes as CSV (UTF-8, a header line; times as ISO text)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v.isoformat(sep=" ") if hasattr(v, "isoformat") else v
                             for v in row])
    return path

