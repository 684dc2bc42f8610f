"""civicmash: open-data reuse and civic mashups (city portals -> DuckDB warehouse -> offline HTML maps).

Installed, the project's rooms live under this one namespace:

- ``civicmash.connectors``: how to talk to a portal (one module per protocol, registered in one place);
- ``civicmash.warehouse``: what the data means (DuckDB schema, loading, quarantine, enrichment, views);
- ``civicmash.analysis``: what can be computed (walk graph, routing, risk, nearest services, coverage);
- ``civicmash.maps``: what people see (one page per product);
- ``civicmash.cities``: what a city is (typed profiles);
- ``civicmash.flows``: when and in what order (Prefect flows, deployments, the ``civicmash`` CLI);
- ``civicmash.devkit``: what imitates the world for tests, bench and the demo (replay portal, sample city).

In the repository the rooms are the top-level folders; ``pip install`` maps them under ``civicmash``.
"""

from __future__ import annotations

__version__ = "0.1.0"
