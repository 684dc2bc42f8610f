"""The one registry of portal protocols: the built-in connector modules' ``PROTOCOL``\\ s, plus plugins.

A plugin outside the package registers a :class:`~civicmash.connectors.protocol.Protocol` either by calling
``civicmash.connectors.register(protocol)`` before a profile naming it is loaded, or by declaring it in the
``civicmash.connectors`` entry-point group of its distribution (``toy = "mypackage.toy:PROTOCOL"``), which is
read on the first look-up. ``flows/``, ``cities/`` and the CLI ask this registry; they never branch on a
protocol's name.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points

import civicmash.connectors.arcgis as arcgis
import civicmash.connectors.ckan as ckan
import civicmash.connectors.files as files
import civicmash.connectors.osm as osm
import civicmash.connectors.socrata as socrata
from civicmash.connectors.protocol import Protocol

ENTRY_POINT_GROUP = "civicmash.connectors"
BUILTIN = (socrata.PROTOCOL, arcgis.PROTOCOL, ckan.PROTOCOL, osm.PROTOCOL, files.PROTOCOL)

_registry: dict[str, Protocol] = {p.name: p for p in BUILTIN}
_entry_points_read = False


class UnknownProtocol(KeyError):
    """A protocol name no connector registered; the message lists the known ones and a likely match."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(protocol: Protocol, *, replace: bool = False) -> Protocol:
    """Add ``protocol`` to the registry (returned, so it can decorate a module-level assignment).

    A second protocol under a registered name is an error unless ``replace`` (a test swapping its own).
    """
    if not isinstance(protocol, Protocol):
        raise TypeError(f"register() takes a civicmash.connectors.protocol.Protocol, not {type(protocol).__name__}")
    known = _registry.get(protocol.name)
    if known is not None and known is not protocol and not replace:
        raise ValueError(f"protocol {protocol.name!r} is already registered; pass replace=True to swap it")
    _registry[protocol.name] = protocol
    return protocol


def unregister(name: str) -> None:
    """Remove a plugin protocol (built-ins stay)."""
    if any(p.name == name for p in BUILTIN):
        raise ValueError(f"protocol {name!r} is built in and cannot be removed")
    _registry.pop(name, None)


def protocols() -> dict[str, Protocol]:
    """Every registered protocol by name: the built-ins first, then plugins in registration order."""
    _read_entry_points()
    return dict(_registry)


def names() -> list[str]:
    return list(protocols())


def get(name: str) -> Protocol:
    """The protocol called ``name``; :class:`UnknownProtocol` (with a "did you mean") when none is."""
    known = protocols()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(str(name), list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownProtocol(f"no protocol {name!r} (known: {', '.join(known)}){hint}")


def _read_entry_points() -> None:
    """Register the protocols other distributions declare in the entry-point group (once per process)."""
    global _entry_points_read
    if _entry_points_read:
        return
    _entry_points_read = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin is named, not silently skipped
            raise ImportError(f"entry point {ep.name!r} = {ep.value!r} in group {ENTRY_POINT_GROUP!r} "
                              f"does not load: {exc}") from exc
        protocol = loaded() if callable(loaded) and not isinstance(loaded, Protocol) else loaded
        if not isinstance(protocol, Protocol) or protocol.name != ep.name:
            raise ValueError(f"entry point {ep.name!r} in group {ENTRY_POINT_GROUP!r} must give a Protocol "
                             f"named {ep.name!r}")
        register(protocol, replace=True)
