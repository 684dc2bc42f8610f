"""How to talk to a portal: one module per protocol, each declaring a ``PROTOCOL``, collected in one registry.

``register(protocol)`` adds a plugin protocol; ``protocol(name)`` and ``protocols()`` look them up
(see :mod:`civicmash.connectors.registry` and docs/connectors.md, "Adding a protocol").
"""

from civicmash.connectors.protocol import FetchRequest, Protocol, ProtocolOptions
from civicmash.connectors.registry import get as protocol
from civicmash.connectors.registry import protocols, register, unregister

__all__ = ["FetchRequest", "Protocol", "ProtocolOptions", "protocol", "protocols", "register", "unregister"]
