"""The catalogue of many cities' warehouses: one DuckDB file per city, one query across them.

``civicmash run --all`` (:mod:`civicmash.flows.fleet`) runs every city into a warehouse of its own,
``<out>/cities/<city>/civicmash.duckdb``: DuckDB lets one process write a file, so cities that run at the same
time on different workers never share one. The parent run then records every city's warehouse in
``<out>/catalogue.json`` (:func:`write_catalogue`). ``civicmash sql --all`` opens the catalogue
(:func:`connect_catalogue`): an in-memory DuckDB that ATTACHes every listed warehouse READ_ONLY, under the
schema name ``city_<city>``, and defines in its own ``main`` one view per table or view the cities hold,
``SELECT * FROM city_a.main.incidents UNION ALL BY NAME SELECT * FROM city_b.main.incidents ...``: every row
keeps its ``city`` column, so one query spans the cities. External file access is switched off after the
attachments, as for one warehouse.

The JSON (``"format": "civicmash-catalogue/1"``) keeps, per city: the warehouse path relative to the
catalogue's directory (so the output directory can be moved or mounted elsewhere), the last run's status,
run id, finish time and error, and the last successful run. A city that failed this time keeps its entry
(and the warehouse of its last good run, if any): the catalogue is merged, never rebuilt from one run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from .db import load_spatial

__all__ = [
    "CATALOGUE_FILE",
    "CATALOGUE_FORMAT",
    "CatalogueEntry",
    "CatalogueError",
    "connect_catalogue",
    "read_catalogue",
    "schema_name",
    "write_catalogue",
]

CATALOGUE_FILE = "catalogue.json"
CATALOGUE_FORMAT = "civicmash-catalogue/1"
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueError(ValueError):
    """The catalogue is missing, unreadable, or lists no warehouse that exists (one line, names the file)."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One city of the catalogue: its slug and its warehouse file (absolute)."""

    city: str
    warehouse: Path
    status: str = "unknown"


def schema_name(city: str) -> str:
    """The name a city's warehouse is attached under: ``city_<city>`` (a city slug is already an identifier)."""
    if not _SLUG.match(city):
        raise CatalogueError(f"city {city!r} is not a slug (lower case letters, digits, underscore)")
    return f"city_{city}"


def read_catalogue(path: str | Path) -> tuple[list[CatalogueEntry], dict[str, Any]]:
    """The entries of the catalogue at ``path`` (warehouse paths resolved against its directory) and the raw JSON."""
    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"no catalogue at {path}: create it with `civicmash run --all` (many cities, one "
                             "warehouse each), or give --catalogue FILE")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"catalogue {path} is not readable JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != CATALOGUE_FORMAT or not isinstance(raw.get("cities"), dict):
        raise CatalogueError(f"catalogue {path} is not a civicmash catalogue (expected \"format\": "
                             f"\"{CATALOGUE_FORMAT}\" and a \"cities\" object)")
    entries = []
    for city, info in sorted(raw["cities"].items()):
        if not isinstance(info, dict) or not isinstance(info.get("warehouse"), str):
            raise CatalogueError(f"catalogue {path}: city {city!r} has no \"warehouse\" path")
        schema_name(city)   # a slug, or a one-line error naming it
        entries.append(CatalogueEntry(city=city, warehouse=(path.parent / info["warehouse"]).resolve(),
                                      status=str(info.get("status", "unknown"))))
    return entries, raw


def write_catalogue(path: str | Path, runs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Merge this parent run's city results into the catalogue at ``path`` (written atomically) and return it.

    Each run is ``{"city", "warehouse", "status", "run_id", "finished_at", "error", "title", "synthetic"}``; a
    city whose warehouse file does not exist (it failed before creating one) is recorded with its error too,
    so the catalogue says every city the parent ran. ``last_success`` is the finish time of the city's last
    completed run (kept from the old catalogue when this run failed)."""
    path = Path(path)
    try:
        old = read_catalogue(path)[1] if path.is_file() else {}
    except CatalogueError:
        old = {}
    cities: dict[str, Any] = dict(old.get("cities", {}))
    for run in runs:
        city = run["city"]
        schema_name(city)
        before = cities.get(city, {})
        warehouse = Path(run["warehouse"]).resolve()
        try:
            rel = os.path.relpath(warehouse, path.parent.resolve())
        except ValueError:   # another drive: keep it absolute
            rel = str(warehouse)
        entry = {"warehouse": rel, "status": run.get("status", "unknown"), "run_id": run.get("run_id"),
                 "finished_at": run.get("finished_at"), "error": run.get("error"), "title": run.get("title"),
                 "synthetic": run.get("synthetic"), "exists": warehouse.is_file(),
                 "last_success": run.get("finished_at") if run.get("status") == "completed"
                 else before.get("last_success")}
        cities[city] = entry
    payload = {"format": CATALOGUE_FORMAT, "cities": dict(sorted(cities.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return payload


def connect_catalogue(entries: Iterable[CatalogueEntry], *, source: str | Path = "the catalogue"
                      ) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """An in-memory connection with every entry's warehouse attached READ_ONLY and one ``UNION ALL BY NAME``
    view per table or view name the attached warehouses hold (each over the cities that hold it); external
    access off. Returns the connection and the cities attached. Entries whose warehouse file is missing are
    left out; none at all is a :class:`CatalogueError`."""
    present = [e for e in entries if e.warehouse.is_file()]
    if not present:
        raise CatalogueError(f"{source} lists no warehouse that exists: run `civicmash run --all` first")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        load_spatial(con)   # geometry columns of the attached warehouses
        for entry in present:
            literal = str(entry.warehouse).replace("'", "''")
            con.execute(f"ATTACH '{literal}' AS {schema_name(entry.city)} (READ_ONLY)")
        names: dict[str, list[str]] = {}
        schemas = [schema_name(e.city) for e in present]
        rows = con.execute(
            """SELECT database_name, table_name FROM duckdb_tables() WHERE schema_name = 'main'
                   AND database_name IN (SELECT unnest($dbs))
               UNION ALL SELECT database_name, view_name FROM duckdb_views() WHERE schema_name = 'main'
                   AND NOT internal AND database_name IN (SELECT unnest($dbs))
               ORDER BY 2, 1""", {"dbs": schemas}).fetchall()
        for database, name in rows:
            names.setdefault(name, []).append(database)
        for name, databases in names.items():
            quoted = '"' + name.replace('"', '""') + '"'
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {d}.main.{quoted}" for d in databases)
            con.execute(f"CREATE VIEW {quoted} AS {union}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con, [e.city for e in present]
