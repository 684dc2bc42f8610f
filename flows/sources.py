"""Bridge from a city profile to the connectors: which protocol, which address, which options.

The connectors take plain parameters and know nothing of profiles; this module is the only place that
turns a :class:`~civicmash.cities.profile.DatasetSpec` into a connector call, and it does so through the
protocol registry (:mod:`civicmash.connectors`): no protocol is named here.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

from civicmash.cities.profile import DatasetSpec, HttpSpec
from civicmash.connectors import FetchRequest, http
from civicmash.connectors.pages import Page


class SourceError(RuntimeError):
    """A dataset that cannot be fetched as the profile describes it."""


def is_incremental(spec: DatasetSpec) -> bool:
    """Whether the profile asks for incremental runs of this dataset (a protocol that can, ``incremental = true``)."""
    return spec.incremental


def http_session(spec: HttpSpec | None = None, *, replay: bool = False) -> requests.Session:
    """A connector session with the profile's ``[http]`` timeout, retries, backoff and per-host politeness.

    ``replay``: the source is our own local replay portal, so the politeness interval (owed to other people's
    servers) is not applied; timeouts, retries and backoff are.
    """
    spec = spec or HttpSpec()
    return http.session(timeout=spec.timeout, retries=spec.retries, backoff=spec.backoff,
                        max_backoff=spec.max_backoff, politeness=0.0 if replay else spec.min_interval)


def iter_dataset_pages(name: str, spec: DatasetSpec, *, replay_base: str | None = None, since: str | None = None,
                       start_page: int = 1, start_offset: int = 0,
                       session: requests.Session | None = None) -> Iterator[Page]:
    """Pages of one dataset, from the real portal or (``replay_base``) the replay portal.

    ``session``: see :func:`http_session` (default: the connectors' default settings).

    ``since`` (a watermark) fetches only the rows updated after it, for a protocol declared ``incremental``;
    ``start_page``/``start_offset`` resume a full fetch after its last completed page, for a protocol declared
    ``resumable`` (:class:`SourceError` otherwise).
    """
    protocol = spec.connector
    if since is not None and not protocol.incremental:
        raise SourceError(f"dataset {name!r}: protocol {spec.protocol!r} cannot fetch incrementally")
    if (start_page != 1 or start_offset) and not protocol.resumable:
        raise SourceError(f"dataset {name!r}: protocol {spec.protocol!r} cannot resume a fetch")
    if replay_base and not spec.replay:
        raise SourceError(f"dataset {name!r} has no 'replay' path, so it cannot be served offline")
    location = protocol.location(domain=spec.domain, url=spec.url, replay=spec.replay, replay_base=replay_base)
    if location is None:
        raise SourceError(f"dataset {name!r}: no 'url' to fetch from and no replay portal running")
    return protocol.fetch(FetchRequest(dataset=name, format=spec.format, location=location,
                                       options=spec.protocol_options, dataset_id=spec.dataset_id, since=since,
                                       start_page=start_page, start_offset=start_offset, session=session))
