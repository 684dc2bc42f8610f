"""Questions the flow asks a dataset's portal besides its rows: its own row count and the ids it still has.

Like :mod:`.sources` this turns a profile's dataset into a connector request through the protocol registry
(no protocol is named here): :func:`portal_count` calls the protocol's declared ``count`` (Socrata
``$select=count(*)``, ArcGIS ``returnCountOnly``, CKAN ``total``), :func:`portal_updated` its ``updated_at``
(Socrata metadata ``rowsUpdatedAt``) and :func:`portal_ids` its ``source_ids`` (the deletion sweep). A protocol that declares neither (a file: its rows are its count) answers None.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

from civicmash.cities.profile import DatasetSpec
from civicmash.connectors import FetchRequest, http


def _request(name: str, spec: DatasetSpec, *, replay_base: str | None, session: requests.Session | None):
    location = spec.connector.location(domain=spec.domain, url=spec.url, replay=spec.replay, replay_base=replay_base)
    return FetchRequest(dataset=name, format=spec.format, location=location, options=spec.protocol_options,
                        dataset_id=spec.dataset_id, session=session)


def portal_count(name: str, spec: DatasetSpec, *, replay_base: str | None = None,
                 session: requests.Session | None = None) -> tuple[int | None, str | None]:
    """``(count, note)``: the portal's own row count of the dataset, or None with a note saying why not
    (``n/a``: the protocol has no count, e.g. a file; or the error the portal answered: a count that cannot
    be had is reported, it does not fail the run)."""
    count = spec.connector.count
    if count is None:
        return None, f"n/a: protocol {spec.protocol!r} has no row count (the file's rows are its count)"
    try:
        value = count(_request(name, spec, replay_base=replay_base, session=session))
    except (http.FetchError, requests.RequestException, ValueError) as exc:
        return None, f"the portal's count could not be read: {exc}"
    return value, None if value is not None else "n/a: the portal keeps no count of this resource"


def portal_updated(name: str, spec: DatasetSpec, *, replay_base: str | None = None,
                   session: requests.Session | None = None) -> str | None:
    """When the portal's metadata says the dataset's rows last changed (ISO 8601, UTC; Socrata
    ``rowsUpdatedAt``), or None: the protocol does not say, or the metadata could not be read (never an error)."""
    updated = spec.connector.updated_at
    if updated is None:
        return None
    try:
        return updated(_request(name, spec, replay_base=replay_base, session=session))
    except (http.FetchError, requests.RequestException, ValueError):
        return None


def can_sweep(spec: DatasetSpec) -> str | None:
    """Why the deletion sweep cannot check this dataset, or None when it can: the protocol must list ids and
    the profile must map ``source_id`` to one source field (a composite or missing id cannot be compared)."""
    if spec.connector.source_ids is None:
        return f"protocol {spec.protocol!r} cannot list record ids"
    source = spec.fields.get("source_id")
    if not isinstance(source, str):
        return "source_id is not mapped to one source field"
    return None


def portal_ids(name: str, spec: DatasetSpec, *, replay_base: str | None = None,
               session: requests.Session | None = None) -> Iterator[str]:
    """Every id the portal still has for the dataset, in the source field the profile maps to ``source_id``
    (check :func:`can_sweep` first)."""
    field = spec.fields["source_id"]
    return spec.connector.source_ids(_request(name, spec, replay_base=replay_base, session=session),
                                     None if field == ":id" else field)
