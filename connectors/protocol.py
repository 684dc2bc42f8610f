"""What a portal protocol declares, in one place: name, formats, addressing, typed options, fetch, resume.

Each connector module ends with one ``PROTOCOL = Protocol(...)``; :mod:`civicmash.connectors.registry`
collects them (and plugins: ``civicmash.connectors.register(protocol)`` or the ``civicmash.connectors``
entry-point group). Everything outside ``connectors/`` asks a :class:`Protocol` instead of branching on
its name, so a new protocol is one connector module (plus, for offline runs, one replay handler in devkit).

This module imports nothing of ours: the connector modules import it, the registry imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

#: how a protocol finds a dataset: on a portal (``domain`` + ``dataset_id``) or as one file (``url``/``replay``)
Addressing = Literal["portal", "file"]


class ProtocolOptions(BaseModel):
    """Base of every protocol's options model: closed (an unknown key is an error) and immutable.

    Give every field a ``description`` (its meaning) and ``examples``: docs/profile.md is generated from them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


def domain_problem(domain: str) -> str | None:
    """Why ``domain`` cannot name a portal, or None.

    A bare host (``data.cityofchicago.org``, ``host:8443``) or a base URL with an ``http``/``https`` scheme
    (``http://127.0.0.1:5000``, ``http://intranet/ckan``) can; anything else (``ftp://...``, ``http//host``,
    a query or fragment) cannot, and is said before any request is sent.
    """
    if "://" not in domain:
        host, _, port = domain.partition(":")
        if "/" in domain or not host or (port and not port.isdigit()):
            return (f"domain {domain!r} is neither a bare host (data.example.org) nor a base URL "
                    f"(http://host:port)")
        return None
    parts = urlsplit(domain)
    if parts.scheme not in ("http", "https"):
        return f"domain {domain!r}: the scheme must be http or https, not {parts.scheme!r}"
    if not parts.hostname:
        return f"domain {domain!r}: no host after {parts.scheme}://"
    if parts.query or parts.fragment:
        return f"domain {domain!r}: a portal's base URL takes no query or fragment"
    return None


def portal_base(domain: str) -> str:
    """The base URL of the portal a profile's ``domain`` names: a bare host is reached over https
    (``https://<host>``); a domain that carries its own ``http://`` or ``https://`` scheme (a local CKAN,
    an intranet portal, an emulator) is used as written, without a trailing slash."""
    if "://" in domain:
        return domain.rstrip("/")
    return f"https://{domain}"


@dataclass(frozen=True)
class FetchRequest:
    """One fetch of one dataset, in the connector's own terms (no profile, no flow).

    ``location``: where to fetch from, already resolved: a portal's base URL (:func:`portal_base` of the
    profile's ``domain``, or the replay portal's) for a ``portal`` protocol, a file URL or path for a ``file`` protocol.
    ``since``: fetch only rows updated after this watermark (incremental protocols);
    ``start_page``/``start_offset``: resume a full fetch after its last completed page (resumable ones).
    """

    dataset: str
    format: str
    location: str
    options: ProtocolOptions
    dataset_id: str | None = None
    since: str | None = None
    start_page: int = 1
    start_offset: int = 0
    session: Any = None


@dataclass(frozen=True)
class Protocol:
    """A portal protocol as the rest of civicmash sees it.

    ``addressing``: ``"portal"`` needs ``domain`` and ``dataset_id``; ``"file"`` needs ``url`` (or a
    ``replay`` path for offline runs). ``options``: the typed options every dataset of this protocol may
    set; ``format_options``: extra options for one format (e.g. the ``vertices`` of an edge list).
    ``fetch(request)`` yields the dataset's :class:`~civicmash.connectors.pages.Page`\\ s.
    ``dataset_path``: the dataset's path on its portal for citation, with ``{dataset_id}``.
    ``resumable``: ``fetch`` honours ``start_page``/``start_offset``; ``incremental``: it honours ``since``
    for datasets whose options set ``incremental = true``. ``conform(page, keep=...)``: applied to every
    page of an incremental dataset before landing, so full and incremental landings hash alike.
    ``count(request)``: the portal's own row count of the dataset (same filter as ``fetch``), or None when
    the portal cannot say (a CKAN file resource); None for protocols without one (a file: its rows are the
    count, "n/a"). The flow reconciles it with the rows fetched on every run (docs/operations.md).
    ``source_ids(request, field)``: every record id the portal still has (``field``: the source field the
    profile maps to ``source_id``, None for the portal's own row id), for the deletion sweep; None when the
    protocol cannot list ids. ``updated_at(request)``: when the portal's metadata says the dataset's rows
    last changed (ISO 8601, UTC), or None; None for protocols whose portals do not say.
    """

    name: str
    summary: str
    formats: tuple[str, ...]
    addressing: Addressing
    options: type[ProtocolOptions]
    fetch: Callable[[FetchRequest], Iterator[Any]]
    format_options: Mapping[str, type[ProtocolOptions]] = field(default_factory=dict)
    dataset_path: str = ""
    resumable: bool = False
    incremental: bool = False
    conform: Callable[..., Any] | None = None
    count: Callable[[FetchRequest], int | None] | None = None
    source_ids: Callable[[FetchRequest, str | None], Iterator[str]] | None = None
    updated_at: Callable[[FetchRequest], str | None] | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.format_options) - set(self.formats))
        if unknown:
            raise ValueError(f"protocol {self.name!r}: format_options for formats it does not serve: {unknown}")
        if self.addressing not in ("portal", "file"):
            raise ValueError(f"protocol {self.name!r}: addressing must be 'portal' or 'file', not {self.addressing!r}")

    @property
    def required(self) -> str:
        """What a dataset of this protocol must say, in words (for messages and docs)."""
        return "'domain' and 'dataset_id'" if self.addressing == "portal" else "'url' or 'replay'"

    def options_model(self, fmt: str) -> type[ProtocolOptions]:
        """The options model for datasets in format ``fmt``: the protocol's, plus that format's extras."""
        return self.format_options.get(fmt, self.options)

    def all_option_models(self) -> list[type[ProtocolOptions]]:
        """The protocol's options model and every per-format model, without repeats (for docs and schemas)."""
        return list(dict.fromkeys([self.options, *self.format_options.values()]))

    def address_problem(self, *, domain: str | None, dataset_id: str | None, url: str | None,
                        replay: str | None) -> str | None:
        """Why these address fields cannot locate a dataset of this protocol, or None."""
        if self.addressing == "portal" and not (domain and dataset_id):
            return f"protocol {self.name!r} needs both 'domain' and 'dataset_id'"
        if self.addressing == "portal" and domain_problem(domain):
            return domain_problem(domain)
        if self.addressing == "file" and not (url or replay):
            return f"protocol {self.name!r} needs 'url' or 'replay'"
        return None

    def public_url(self, *, domain: str | None, dataset_id: str | None, url: str | None,
                   replay: str | None) -> str:
        """The public address of a dataset (what a journalist would cite)."""
        if self.addressing == "portal":
            return f"{portal_base(domain)}{self.dataset_path.format(dataset_id=dataset_id)}"
        return url or f"replay:{replay}"

    def location(self, *, domain: str | None, url: str | None, replay: str | None,
                 replay_base: str | None) -> str | None:
        """Where to fetch from: the replay portal (``replay_base``) or the real source; None when neither
        can serve it (a file dataset without ``url`` and no replay portal running)."""
        if self.addressing == "portal":
            return replay_base or portal_base(domain)
        if replay_base and replay:
            return f"{replay_base}/files/{replay}"
        return url
