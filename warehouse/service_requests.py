"""Service requests (311-style): what the loader derives from a profile's options, and the outages the safe route reads.

A ``service_requests`` dataset maps a request's id, type, status, opened and closed times, point, address and
channel (``source``). Its times are read exactly like the incidents' (``options.time_formats``, ``time_zone``,
``z_is_local``; warehouse/load.py). Two per-row judgements come from the profile and are stamped on each row, so
the views need no profile:

- ``streetlight_outage``: the request type is one of ``options.streetlight_types`` (compared trimmed, any case):
  the request reports a street light that is out.
- ``is_closed``: the request has a closed time, or its status is one of ``options.closed_statuses`` (default
  :data:`DEFAULT_CLOSED_STATUSES`; a request closed without a time is closed, but nobody knows since when).

A request is *open at* a time T when it was opened at or before T and not closed by then: closed_at after T, or
no closed_at and a status that does not say closed. :func:`open_at_sql` writes that condition; the views
``open_streetlight_outages`` and ``service_request_response`` (warehouse/views.py) use it at each city's latest
data time, :func:`open_outage_points` at any time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["DEFAULT_CLOSED_STATUSES", "load_columns", "open_at_sql", "open_outage_points", "latest_time"]

DEFAULT_CLOSED_STATUSES = ("closed", "completed", "complete", "cancelled", "canceled", "duplicate")
"""Status values (any case) that mean a request is closed even when the source gives no closed time."""


def _words(ctx, key: str, default: tuple[str, ...] = ()) -> list[str]:
    """``options.<key>``: a list of words, trimmed and lower-cased (a clear error for anything else)."""
    value = ctx.options.get(key, list(default))
    if isinstance(value, str) or not all(isinstance(v, str) for v in value or []):
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.{key} must be a list of texts, got {value!r}")
    return [v.strip().lower() for v in value or []]


def load_columns(ctx) -> list[str]:
    """The typed ``service_requests`` columns other than the times, for :func:`warehouse.load.load_dataset`
    (SQL select items over the mapped ``f_<field>`` texts; the time parts ``_w_closed_at`` are already there)."""
    p = ctx.params
    lights = _words(ctx, "streetlight_types")
    closed = _words(ctx, "closed_statuses", DEFAULT_CLOSED_STATUSES)
    return [
        "COALESCE(f_request_id, f_source_id) AS request_id",
        "f_request_type AS request_type",
        "f_status AS status",
        f"(_w_closed_at IS NOT NULL OR coalesce(list_contains({p.add(closed)}, lower(f_status)), FALSE)) AS is_closed",
        f"coalesce(list_contains({p.add(lights)}, lower(f_request_type)), FALSE) AS streetlight_outage",
        "f_address AS address",
        "f_source AS source",
    ]


def open_at_sql(alias: str, at: str) -> str:
    """SQL condition: request ``alias`` is open at the TIMESTAMP expression ``at`` (city-local wall time).
    ``alias`` and ``at`` are written by our code, never portal text."""
    r = alias
    return (f"({r}.opened_at <= {at} AND ({r}.closed_at > {at} OR ({r}.closed_at IS NULL AND NOT {r}.is_closed)))")


def latest_time(con, *, city: str) -> datetime | None:
    """The latest time the city's service requests know of (their last opened or closed time): the time
    ``open_streetlight_outages`` is taken at. None without requests."""
    return con.execute("SELECT greatest(max(opened_at), max(closed_at)) FROM service_requests WHERE city = ?",
                       [city]).fetchone()[0]


def open_outage_points(con, *, city: str, at: datetime | None = None, bbox=None) -> dict[str, Any]:
    """The located streetlight-outage requests of ``city`` open at ``at`` (city-local; default
    :func:`latest_time`): ``{"lat": [...], "lon": [...], "at": at}``. ``bbox`` = ((s, w), (n, e)) narrows the read.
    Empty lists when the warehouse has no service requests for the city."""
    from .reads import has_table

    if not has_table(con, "service_requests"):
        return {"lat": [], "lon": [], "at": None}
    at = at or latest_time(con, city=city)
    if at is None:
        return {"lat": [], "lon": [], "at": None}
    where, params = "", {"city": city, "at": at}
    if bbox is not None:
        (s, w), (n, e) = bbox
        where = " AND r.lat BETWEEN $s AND $n AND r.lon BETWEEN $w AND $e"
        params.update(s=s, n=n, w=w, e=e)
    rows = con.execute("SELECT r.lat, r.lon FROM service_requests r WHERE r.city = $city AND r.streetlight_outage "
                       f"AND r.lat IS NOT NULL AND r.lon IS NOT NULL AND {open_at_sql('r', 'CAST($at AS TIMESTAMP)')}"
                       f"{where}", params).fetchall()
    return {"lat": [r[0] for r in rows], "lon": [r[1] for r in rows], "at": at}
