"""The replay portal: a local HTTP server that serves saved exports the way the real portals do.

The portal itself (routes, loopback server, faults, the handler registry) is :mod:`.replay_portal`; each built-in
protocol is one handler module (:mod:`.replay_socrata`, :mod:`.replay_arcgis`, :mod:`.replay_ckan`), registered
here. A plugin protocol registers its own handler with :func:`register_handler`."""

from __future__ import annotations

from .replay_arcgis import ArcgisReplay
from .replay_ckan import CkanReplay
from .replay_portal import (CONTENT_TYPES, FAULT_HELP, FAULT_KINDS, Reply, ReplayHandler, ReplayPortal, ReplayRequest, Route,
                            fault_rates, handler_for, register_handler, unregister_handler)
from .replay_socrata import SocrataReplay

__all__ = ["CONTENT_TYPES", "FAULT_HELP", "FAULT_KINDS", "BUILTIN_HANDLERS", "ArcgisReplay", "CkanReplay", "Reply",
           "ReplayHandler", "ReplayPortal", "ReplayRequest", "Route", "SocrataReplay", "fault_rates", "handler_for",
           "register_handler", "unregister_handler"]

BUILTIN_HANDLERS = tuple(register_handler(h, builtin=True).protocol for h in (SocrataReplay(), ArcgisReplay(), CkanReplay()))
