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

# The notebook API (docs/notebook.md). Everything below is imported on first use, so `import civicmash` (and the
# CLI, which imports this package first) loads neither DuckDB nor geopandas.
__all__ = ["City", "explore", "offline", "open", "save_offline"]


def open(city, *, out="out", db=None):  # noqa: A001 - civicmash.open(...) reads like the builtin on purpose
    """Open ``city`` (a profile name such as ``"chicago"``, or a profile ``.toml`` file) in the warehouse
    ``<out>/civicmash.duckdb`` (or ``db=PATH``), read-only: a :class:`civicmash.api.City` whose methods return
    GeoDataFrames (``incidents``, ``route``, ``isochrones``, ``coverage_gaps``, ``hotspots``) and DataFrames
    (``spending_by_area``, ``sql``). The sample city: ``civicmash.open("sample", out="out/sample")``.
    Raises FileNotFoundError naming the path when there is no warehouse there."""
    from civicmash.api import open_city

    return open_city(city, out=out, db=db)


def __getattr__(name):
    if name == "City":
        from civicmash.api import City

        return City
    if name in ("explore", "offline", "save_offline"):
        from civicmash import offline_folium

        return getattr(offline_folium, name)
    raise AttributeError(f"module 'civicmash' has no attribute {name!r}")
