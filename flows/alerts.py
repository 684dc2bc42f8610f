"""Alerts: a failed, degraded or late run is POSTed as JSON to the city's webhook.

The profile names the environment variable that holds the URL (``[alerts] webhook_url_env``): the URL is a
secret, so it is read from the environment at send time and never written to the warehouse, the logs, the
run summary or any page. The POST goes through Prefect's notification block
(:class:`prefect.blocks.notifications.CustomWebhookNotificationBlock`, used in memory: nothing is saved to a
Prefect server, so it works offline and in a plain ``civicmash run``), with a few retries, 1 s, 2 s, 4 s apart.

The body (:func:`alert_body`)::

    {"city": "chicago", "run_id": "chicago-20261206T030000-1a2b3c", "status": "degraded",
     "message": "chicago: run ... degraded: crimes (portal count 151,200 vs 151,176 rows fetched ...)",
     "datasets": [{"dataset": "crimes", "status": "degraded", "reason": "portal count ..."}]}

``datasets`` lists only the datasets that are not ``ok``. A failed POST is logged (without the URL) and does
not change the run's own outcome.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping

from civicmash.cities.profile import AlertsSpec

log = logging.getLogger(__name__)


class AlertError(RuntimeError):
    """The webhook could not be reached or refused the alert after every retry (the URL is not in the text)."""


def alert_body(*, city: str, run_id: str, status: str, datasets: Iterable[Mapping], error: str | None = None) -> dict:
    """The JSON an alert sends: the city, the run, its status and the datasets that are not ok, with reasons."""
    sick = [{"dataset": d["dataset"], "status": d["status"], "reason": d.get("reason")}
            for d in datasets if d.get("status") not in ("ok", None)]
    named = ", ".join(f"{d['dataset']} ({d['reason']})" for d in sick)
    message = f"{city}: run {run_id} {status}" + (f": {named}" if named else "") + (f"; {error}" if error else "")
    return {"city": city, "run_id": run_id, "status": status, "message": message, "datasets": sick,
            **({"error": error} if error else {})}


def _post_with_block(url: str, body: dict) -> None:
    """One POST of ``body`` as JSON through Prefect's CustomWebhookNotificationBlock (not saved anywhere)."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(name="civicmash-alert", url=url, method="POST",
                                           json_data={**body, "message": "{{body}}"}, timeout=10)
    # _sync: always the blocking call; from inside an event loop (a task runner, a notebook) Prefect would otherwise
    # hand back a coroutine that nobody awaits, and the alert would silently not be sent
    block.notify(body["message"], subject=f"civicmash {body['city']}: {body['status']}", _sync=True)


def send_alert(spec: AlertsSpec, body: dict, *, environ: Mapping[str, str] | None = None,
               post: Callable[[str, dict], None] = _post_with_block, sleep: Callable[[float], None] = time.sleep) -> bool:
    """POST ``body`` to the webhook ``spec`` names; returns whether an alert was sent.

    No ``webhook_url_env``: nothing to do (False). A variable that is named but unset or empty is logged
    as a warning (False): the run's outcome is not changed by its alerting. Retries ``spec.retries`` times,
    then raises :class:`AlertError` (without the URL).
    """
    if not spec.webhook_url_env:
        return False
    url = (environ if environ is not None else os.environ).get(spec.webhook_url_env, "").strip()
    if not url:
        log.warning("alerts: $%s is not set: the %s alert for %s was not sent", spec.webhook_url_env,
                    body["status"], body["city"])
        return False
    last = None
    for attempt in range(spec.retries + 1):
        try:
            post(url, body)
            return True
        except Exception as exc:   # noqa: BLE001 - any failure of the POST is retried, then reported
            last = exc
            if attempt < spec.retries:
                sleep(2 ** attempt)
    reason = str(last).replace(url, f"${spec.webhook_url_env}")   # never say the secret URL
    raise AlertError(f"alerts: the webhook in ${spec.webhook_url_env} refused or missed the alert after "
                     f"{spec.retries + 1} tries: {type(last).__name__}: {reason}")
