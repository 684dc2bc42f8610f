"""Run health: a dataset that loaded nothing, or quarantined too much, fails the run, by name and by reason.

A load that reconciles (rows in = loaded + quarantined) can still be useless: every row of a crimes file
quarantined as ``bad_timestamp`` reconciles perfectly. After the loads the flow asks :func:`check_health`
of every dataset, with the limits of the profile's ``[health]`` (per dataset: ``[datasets.<name>.health]``):

* a full load of 0 rows is unhealthy (unless ``allow_empty``); an incremental run that found no new rows is
  not (nothing changed is a healthy answer);
* a quarantined share above ``max_quarantine_share`` (default 5 %) is unhealthy; rows quarantined for an
  ``expected_reasons`` reason (by default ``not_walkable``: street segments set aside by design) are counted
  in the quarantine table but not held against the share.

The warehouse keeps what loaded and the quarantine rows (``quarantine`` says why, row by row), and the
products that do not depend on an unhealthy dataset are still built; then the flow raises
:class:`RunHealthError`, so the Prefect run ends Failed and ``civicmash run`` exits 1 with one message naming
each unhealthy dataset and its top reasons with their counts.
"""

from __future__ import annotations

from dataclasses import dataclass

TOP_REASONS = 3   # reasons named per unhealthy dataset in the message (all of them are in the quarantine table)


@dataclass(frozen=True)
class DatasetHealth:
    """The health verdict of one dataset's load in one run. ``problem``: None when healthy, else what is wrong;
    ``reasons``: the run's quarantine reasons of the dataset, most frequent first, as (reason, field, count),
    and ``rows_quarantined`` their total: both without the expected reasons, which are not held against it."""

    dataset: str
    table: str
    rows_in: int
    rows_quarantined: int
    limit: float
    problem: str | None
    reasons: tuple[tuple[str, str | None, int], ...] = ()

    @property
    def healthy(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "table": self.table, "healthy": self.healthy, "problem": self.problem,
                "max_quarantine_share": self.limit, "sentence": self.sentence(),
                "reasons": [{"reason": r, "field": f, "rows": n} for r, f, n in self.reasons]}

    def sentence(self) -> str:
        """``crimes: 98 of 100 rows quarantined (98.0 %, limit 5.0 %): bad_timestamp (occurred_at) 95, ...``."""
        top = ", ".join(f"{reason}{f' ({field})' if field else ''} {n:,}"
                        for reason, field, n in self.reasons[:TOP_REASONS])
        more = len(self.reasons) - TOP_REASONS
        tail = f"; top reasons: {top}" + (f" and {more} more" if more > 0 else "") if top else ""
        return f"{self.dataset}: {self.problem}{tail}"


class RunHealthError(RuntimeError):
    """The run loaded what it could but at least one dataset is unhealthy (:class:`DatasetHealth`).

    ``summary``: the run summary (as the flow returns it on success), so a caller can still show it.
    """

    def __init__(self, message: str, summary: dict | None = None):
        super().__init__(message)
        self.summary = summary

    def __reduce__(self):  # Prefect may persist and re-raise the exception: keep the summary with it
        return (type(self), (str(self), self.summary))


def check_health(con, *, city: str, run_id: str, load: dict, max_quarantine_share: float,
                 allow_empty: bool, expected_reasons: tuple[str, ...] = ()) -> DatasetHealth:
    """The verdict on one dataset's load (``load``: the load task's reconciliation dict)."""
    rows_in = load["rows_in"]
    reasons = tuple(con.execute(
        "SELECT reason, field, count(*) AS n FROM quarantine WHERE city = ? AND dataset = ? AND run_id = ? "
        "AND NOT list_contains(?, reason) GROUP BY reason, field ORDER BY n DESC, reason, field",
        [city, load["dataset"], run_id, list(expected_reasons)]).fetchall())
    quarantined = sum(n for _, _, n in reasons)
    problem = None
    if rows_in == 0:
        if load.get("mode") != "merge" and not allow_empty:
            problem = "0 rows loaded: the source gave no rows"
    elif rows_in and quarantined / rows_in > max_quarantine_share:
        problem = (f"{quarantined:,} of {rows_in:,} rows quarantined ({quarantined / rows_in:.1%}, "
                   f"limit {max_quarantine_share:.1%})")
    return DatasetHealth(dataset=load["dataset"], table=load["table"], rows_in=rows_in,
                         rows_quarantined=quarantined, limit=max_quarantine_share, problem=problem,
                         reasons=reasons)


def health_message(city: str, verdicts: list[DatasetHealth]) -> str:
    """One message for the unhealthy datasets of a run, a line each (the CLI joins them with ``; ``)."""
    sick = [v for v in verdicts if not v.healthy]
    lines = [f"{city}: {len(sick)} dataset{'s' if len(sick) != 1 else ''} failed the run-health check "
             f"(the warehouse keeps what loaded; the quarantine table says why, row by row)"]
    return "\n".join(lines + [v.sentence() for v in sick])
