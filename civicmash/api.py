"""The notebook API: one city's warehouse as GeoDataFrames (``civicmash.open(...)`` returns a :class:`City`).

Everything here reads the warehouse read-only and computes with the same functions as the CLI and the maps
(``analysis.route_planner.plan`` for ``civicmash route``, the pipeline's ``isochrones`` and ``service_coverage``
tables for the locator): a notebook and the command line give the same numbers. Tables with places come back as
``geopandas.GeoDataFrame`` in EPSG:4326 (longitude/latitude, WGS84); tables without a geometry as
``pandas.DataFrame``. geopandas, shapely and pandas are the ``notebook`` extra (``pip install civicmash[notebook]``)
and are imported only when a method needs them, so ``import civicmash`` and the CLI stay light.

A :class:`City` keeps one read-only DuckDB connection, opened on first use, until ``city.close()`` (or the end of
a ``with civicmash.open(...) as city:`` block): DuckDB lets several processes read one warehouse file but a run
writes it alone, so a pipeline run waits for (``CIVICMASH_LOCK_WAIT``), or fails naming, a notebook that holds
it open. :meth:`City.sql` goes through the guard of ``civicmash sql``, on a connection of its own. See
docs/notebook.md.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `import civicmash` loads none of these
    import duckdb
    import geopandas
    import pandas

    from civicmash.cities.profile import CityProfile

CRS = "EPSG:4326"

#: columns of :meth:`City.incidents`, in this order, when the warehouse has them
INCIDENT_COLUMNS = ("city", "dataset", "source_id", "case_number", "occurred_at", "primary_type", "description",
                    "offence", "crime_against", "location_description", "block", "arrest", "domestic", "beat",
                    "district", "ward", "community_area", "lat", "lon")
ISOCHRONE_COLUMNS = ("city", "kind", "category", "dataset", "source_id", "label", "origin_lat", "origin_lon",
                     "minutes", "walk_m", "buffer_m", "street_m", "area_m2")
COVERAGE_COLUMNS = ("city", "area_kind", "area_code", "area_name", "category", "threshold_min", "network_status",
                    "sample_points", "share_on_network", "share_area_beyond", "population", "population_year",
                    "residents_beyond", "median_min")
ROUTE_COLUMNS = ("route", "length_m", "minutes", "exposure", "vs_shortest")
HOTSPOT_COLUMNS = ("city", "area_kind", "area_code", "area_name", "incidents", "share", "population",
                   "population_year", "rate_per_1000", "rank")
SPENDING_COLUMNS = ("city", "fiscal_year", "department", "amount", "lines", "funds", "share")
#: the incidents' area columns: a boundaries kind named like one of them (or mapped to one in area_slots)
#: is matched on that column
_SLOT_COLUMNS = ("beat", "district", "ward", "community_area")


class CivicmashSQLWarning(UserWarning):
    """A warning of :meth:`City.sql` (the result spans several cities, or reads quarantined or fixture rows)."""


def open_city(city: str | Path, *, out: str | Path = "out", db: str | Path | None = None) -> City:
    """The :class:`City` ``city`` (a profile name of ``cities/``, e.g. ``"chicago"``, or a profile ``.toml`` file)
    in the warehouse ``db``, else ``<out>/civicmash.duckdb`` (the CLI's ``--db`` / ``--out``).

    Raises ``FileNotFoundError`` naming the path when there is no warehouse there, ``ProfileError`` for an unknown
    profile, and ``ValueError`` when the warehouse holds no data of that city (naming the cities it holds)."""
    from civicmash.flows.context import resolve_profile, warehouse_file

    path = warehouse_file(out=out, db=db)
    if not path.is_file():
        raise FileNotFoundError(
            f"no warehouse at {path}: create it with `civicmash run {city}` (or `civicmash demo` for the sample "
            "city: civicmash.open('sample', out='out/sample')), or pass db=PATH")
    profile, _ = resolve_profile(city=str(city), profile_file=None)
    obj = City(profile=profile, warehouse=path)
    held = _cities_held(obj.con)
    if profile.name not in held:
        obj.close()
        raise ValueError(f"the warehouse {path} holds no data of city {profile.name!r} "
                         f"(it holds: {', '.join(held) or 'nothing yet'})")
    return obj


def _cities_held(con) -> list[str]:
    from civicmash.warehouse import reads

    for table in ("datasets", "incidents"):
        if reads.has_table(con, table):
            rows = con.execute(f"SELECT DISTINCT city FROM {table} ORDER BY 1").fetchall()
            if rows:
                return [r[0] for r in rows]
    return []


class City:
    """One city of one warehouse. Every option is a keyword argument; every method returns a new (Geo)DataFrame."""

    def __init__(self, *, profile: CityProfile, warehouse: Path):
        self.profile = profile
        self.warehouse = Path(warehouse)
        self._con = None

    def __enter__(self) -> City:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the read-only connection (the next method opens it again). While it is open, a pipeline run
        cannot write the warehouse (DuckDB: one writer, or readers): ``city.close()``, or ``with civicmash.open(...)
        as city:``, lets it."""
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def name(self) -> str:
        return self.profile.name

    def __repr__(self) -> str:
        return f"<civicmash.City {self.name!r} ({self.profile.title}) warehouse={str(self.warehouse)!r}>"

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The city's read-only DuckDB connection to the warehouse (spatial loaded), opened on first use and kept
        until :meth:`close` (opening one costs the spatial extension's load)."""
        if self._con is None:
            from civicmash.warehouse import db

            self._con = db.connect(self.warehouse, read_only=True)
        return self._con

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The read-only connection (:attr:`con`) for a block of work; a failed query leaves it usable."""
        yield self.con

    # --- incidents ---------------------------------------------------------------------------------------------

    def incidents(self, *, start: str | date | datetime | None = None, end: str | date | datetime | None = None,
                  days: int | None = None, types: str | Iterable[str] | None = None) -> geopandas.GeoDataFrame:
        """Incidents of the city (current versions: the ``incidents_current`` view), one row per source row.

        Window ``[start, end)`` (local wall-clock time, as ``occurred_at``): with ``days`` the last ``days`` days
        ending at ``end``, else at the end of the day of the latest incident (as the explorer and ``route``
        choose their window); with ``start`` alone, from ``start`` to that same end; with nothing, every incident.
        ``types``: keep these ``primary_type`` values (one or several).

        Columns: city, dataset, source_id, case_number, occurred_at, primary_type, description, offence,
        crime_against, location_description, block, arrest, domestic, beat, district, ward, community_area, lat, lon
        (those the warehouse has; meanings in ``civicmash schema``) and ``geometry``, a Point, or None for an
        incident published without a location (kept: it still counts). ``attrs["window"]`` = (start, end)."""
        from civicmash.warehouse import reads

        with self.connect() as con:
            rel = reads.incidents_relation(con)
            have = reads.columns(con, rel)
            cols = [c for c in INCIDENT_COLUMNS if c in have]
            where, params, window = self._incident_filters(con, "", start=start, end=end, days=days, types=types)
            df = con.execute(f"SELECT {', '.join(cols)} FROM {rel} WHERE {' AND '.join(where)} "
                             "ORDER BY occurred_at, source_id", params).df()
        gdf = _points(df)
        gdf.attrs["window"] = window
        return gdf

    # --- the safe route ----------------------------------------------------------------------------------------

    def route(self, *, from_: Any, to: Any, at: str | float | None = None, detour: float = 0.25,
              safest: bool = False) -> geopandas.GeoDataFrame:
        """The shortest walk and the recommended (safer) walk between two places, as ``civicmash route`` plans
        them (:func:`civicmash.analysis.route_planner.plan` with the profile's ``[maps.safe_route]`` options):
        the same lengths and exposures as ``civicmash route --format json``.

        ``from_`` / ``to``: a ``(lat, lon)`` pair, ``"lat,lon"``, a bar or service name, an address, a block or an
        intersection (see docs/safe-route.md). ``at``: the hour of the walk (``"23:00"``; default the profile's
        ``at``, else all hours alike). ``detour``: the extra length the recommended route may take (0.25 = +25%).
        ``safest=True`` adds the least exposed route as a third row.

        Rows ``shortest``, ``recommended`` (and ``safest``); columns route, length_m, minutes, exposure (weighted
        incidents along the walk, see ``attrs["units"]``), vs_shortest (the trade-off in words) and ``geometry``, a
        LineString. ``attrs``: origin, destination (resolved places), at, detour, comparison, window, units.
        Raises ``civicmash.analysis.places.ResolveError`` for a place it cannot find."""
        import geopandas
        from shapely.geometry import LineString

        from civicmash.analysis.route_planner import plan

        options = self._options("safe_route")
        at = at if at is not None else options.get("at")
        with self.connect() as con:
            result = plan(con, city=self.name, origin=from_, destination=to, at=at, detour=detour,
                          options=options, patterns=self.profile.places.block_patterns())
        names = ("shortest", "recommended") + (("safest",) if safest else ())
        rows, lines = [], []
        for name in names:
            r = result[name]
            rows.append({"route": name, "length_m": r["length_m"], "minutes": r["minutes"],
                         "exposure": r["exposure"], "vs_shortest": r.get("vs_shortest")})
            coords = [(lon, lat) for lat, lon in r["coords"]]
            lines.append(LineString(coords if len(coords) > 1 else coords * 2))   # a walk of one node: a dot
        gdf = geopandas.GeoDataFrame(rows, columns=list(ROUTE_COLUMNS), geometry=lines, crs=CRS)
        gdf.attrs.update({k: result[k] for k in ("origin", "destination", "at", "detour", "comparison", "window",
                                                 "units")})
        return gdf

    # --- the locator's tables ----------------------------------------------------------------------------------

    def isochrones(self, *, category: str | Iterable[str] | None = None, minutes: int | Iterable[int] | None = None,
                   kind: str | None = None) -> geopandas.GeoDataFrame:
        """Walking areas stored by the pipeline (the ``isochrones`` table): the land within ``minutes`` minutes'
        walk of every service of a ``category`` together (kind ``category``), of one service (``service``) or of a
        point (``point``). Filters: ``category`` (one or several), ``minutes`` (one or several), ``kind``.

        Columns: city, kind, category, dataset, source_id, label, origin_lat, origin_lon, minutes, walk_m,
        buffer_m, street_m, area_m2 and ``geometry``, a (Multi)Polygon."""
        where, params = [], []
        for col, value in (("category", _as_list(category)), ("minutes", _as_list(minutes, int)),
                           ("kind", _as_list(kind))):
            if value is not None:
                where.append(f"{col} IN ({', '.join('?' for _ in value)})" if value else "FALSE")
                params += value
        return self._polygons("isochrones", ISOCHRONE_COLUMNS, where, params,
                              order="kind, category, label, minutes")

    def coverage_gaps(self, *, category: str | Iterable[str] | None = None, minutes: int | None = None,
                      min_share: float | None = None) -> geopandas.GeoDataFrame:
        """Coverage gaps stored by the pipeline (the ``service_coverage`` table): per area, service category and
        walking time, the share of the area (and the residents it is estimated to hold) farther than that many
        minutes' walk from the nearest service of the category. Filters: ``category`` (one or several),
        ``minutes`` (the threshold, e.g. 10), ``min_share`` (keep areas whose share beyond is at least this).

        Columns: city, area_kind, area_code, area_name, category, threshold_min, network_status, sample_points,
        share_on_network, share_area_beyond, population, population_year, residents_beyond, median_min, and
        ``geometry``: the area's outline (latest boundary map of its kind, parts merged), None without one."""
        where, params = [], []
        cats = _as_list(category)
        if cats is not None:
            where.append(f"c.category IN ({', '.join('?' for _ in cats)})" if cats else "FALSE")
            params += cats
        if minutes is not None:
            where.append("c.threshold_min = ?")
            params.append(int(minutes))
        if min_share is not None:
            where.append("c.share_area_beyond >= ?")
            params.append(float(min_share))
        with self.connect() as con:
            if not _has(con, "service_coverage"):
                return _empty(COVERAGE_COLUMNS)
            outlines = self._outlines_sql(con)
            cols = ", ".join(f"c.{c}" for c in COVERAGE_COLUMNS)
            df = con.execute(
                f"WITH outlines AS ({outlines}) SELECT {cols}, o.wkb FROM service_coverage c "
                "LEFT JOIN outlines o ON o.kind = c.area_kind AND o.code = c.area_code "
                f"WHERE c.city = ? {''.join(' AND ' + w for w in where)} "
                "ORDER BY c.category, c.threshold_min, c.share_area_beyond DESC NULLS LAST, c.area_code",
                [self.name, self.name, *params]).df()
        return _with_wkb(df)

    # --- incidents per area ------------------------------------------------------------------------------------

    def hotspots(self, *, start: str | date | datetime | None = None, end: str | date | datetime | None = None,
                 days: int | None = 90, types: str | Iterable[str] | None = None,
                 kind: str | None = None) -> geopandas.GeoDataFrame:
        """Incidents per area in a window, with the rate per 1,000 residents: a plain count, not a statistical
        hotspot test (the warehouse has no hotspot table, and this computes no significance, kernel or
        Getis-Ord statistic). Areas are of ``kind`` (a boundaries kind), by default the city's primary area kind
        (the profile's ``[areas] primary``, else community areas first, as the explorer's rates). An incident
        counts for the area its own area column names (``beat``, ``district``, ``ward``, ``community_area``, the
        column ``area_slots`` maps the kind to), as the ``incidents_by_area_month`` view; a kind that fills no
        column counts the incidents whose point lies in the area's polygon.

        Window as :meth:`incidents` (default: the last 90 days of data; ``days=None`` with no start/end: all).
        ``types``: keep these ``primary_type`` values.

        Columns: city, area_kind, area_code, area_name, incidents, share (of the window's incidents placed in an
        area), population (latest year loaded; None when unknown), population_year, rate_per_1000 (incidents per
        1,000 residents over the window; None without a population), rank (1 = most incidents), ``geometry`` (the
        area's outline, latest map). Every area of the kind is a row, those without incidents with 0.
        ``attrs``: window, kind, unplaced (incidents of the window in no area of the kind)."""
        import pandas

        from civicmash.warehouse import reads

        with self.connect() as con:
            kinds = reads.boundary_kinds(con, city=self.name)
            kind = kind or self._primary_kind(con, kinds)
            if kind not in kinds:
                raise ValueError(f"{self.name}: no boundaries of kind {kind!r} in {self.warehouse} "
                                 f"(kinds: {', '.join(kinds) or 'none'})")
            rel = reads.incidents_relation(con)
            where, params, window = self._incident_filters(con, "i.", start=start, end=end, days=days, types=types)
            slot = self._slot_of(con, kind)
            outlines = self._outlines_sql(con)
            if slot:
                placed = (f"SELECT CAST(i.{slot} AS VARCHAR) AS code, count(*) AS n FROM {rel} i "
                          f"WHERE {' AND '.join(where)} AND i.{slot} IS NOT NULL GROUP BY 1")
                placed_params = params
            else:
                placed = (f"SELECT o.code, count(*) AS n FROM {rel} i JOIN outlines o ON o.kind = ? "
                          f"AND ST_Contains(o.geom, ST_Point(i.lon, i.lat)) WHERE {' AND '.join(where)} "
                          "AND i.lat IS NOT NULL AND i.lon IS NOT NULL GROUP BY 1")
                placed_params = [kind, *params]
            pop = ("SELECT area_code, arg_max(population, year) AS population, max(year) AS population_year "
                   "FROM population WHERE city = ? AND area_kind = ? GROUP BY 1") if _has(con, "population") else \
                "SELECT NULL::VARCHAR AS area_code, NULL::BIGINT AS population, NULL::INTEGER AS population_year " \
                "WHERE FALSE AND ? IS NULL AND ? IS NULL"
            df = con.execute(
                f"WITH outlines AS ({outlines}), placed AS ({placed}), pop AS ({pop}) "
                "SELECT ? AS city, o.kind AS area_kind, o.code AS area_code, o.name AS area_name, "
                "coalesce(p.n, 0) AS incidents, pp.population, pp.population_year, o.wkb FROM outlines o "
                "LEFT JOIN placed p ON p.code = o.code LEFT JOIN pop pp ON pp.area_code = o.code "
                "WHERE o.kind = ? ORDER BY incidents DESC, o.code",
                [self.name, *placed_params, self.name, kind, self.name, kind]).df()
            total = con.execute(f"SELECT count(*) FROM {rel} i WHERE {' AND '.join(where)}", params).fetchone()[0]
        placed_total = int(df["incidents"].sum())
        df["share"] = (df["incidents"] / placed_total) if placed_total else 0.0
        df["rate_per_1000"] = [round(int(n) * 1000.0 / float(p), 3) if pandas.notna(p) and p else None
                               for n, p in zip(df["incidents"], df["population"])]
        df["rank"] = df["incidents"].rank(method="min", ascending=False).astype(int)
        gdf = _with_wkb(df[[*HOTSPOT_COLUMNS, "wkb"]])
        gdf.attrs.update({"window": window, "kind": kind, "unplaced": int(total) - placed_total})
        return gdf

    # --- spending ----------------------------------------------------------------------------------------------

    def spending_by_area(self, *, year: int | None = None) -> pandas.DataFrame:
        """Spending per department (the ``spending_by_department`` view): a plain DataFrame, since the budget
        has no geography in the warehouse (its "areas" are departments and funds, not places).

        ``year``: one fiscal year (default all). Columns: city, fiscal_year, department, amount (US dollars, all
        funds together), lines (budget lines), funds (distinct funds), share (of the fiscal year's total)."""
        import pandas

        with self.connect() as con:
            if not _has(con, "spending_by_department"):
                return pandas.DataFrame(columns=list(SPENDING_COLUMNS))
            where, params = "city = ?", [self.name]
            if year is not None:
                where += " AND fiscal_year = ?"
                params.append(int(year))
            df = con.execute(
                "SELECT *, amount / nullif(sum(amount) OVER (PARTITION BY fiscal_year), 0) AS share FROM ("
                "SELECT city, fiscal_year, department, CAST(sum(amount) AS DOUBLE) AS amount, "
                "CAST(sum(lines) AS BIGINT) AS lines, CAST(max(funds) AS BIGINT) AS funds "
                f"FROM spending_by_department WHERE {where} GROUP BY ALL) ORDER BY fiscal_year, amount DESC",
                params).df()
        return df[list(SPENDING_COLUMNS)]

    # --- SQL -----------------------------------------------------------------------------------------------

    def sql(self, query: str, **params: Any) -> pandas.DataFrame:
        """One read-only query (``SELECT``/``WITH``/``EXPLAIN``) through the guard of ``civicmash sql``
        (:func:`civicmash.warehouse.sql.run_query`: writes, ATTACH, COPY and file-reading functions are refused,
        external access is off). ``params`` bind ``$name`` placeholders: ``city.sql("SELECT count(*) n FROM
        incidents WHERE city = $city", city="sample")``. The guard's warnings (several cities, quarantined or
        fixture rows) are issued as :class:`CivicmashSQLWarning`. Raises ``ReadOnlyQueryError`` or ``QueryError``
        with a one-line message."""
        import pandas

        from civicmash.warehouse import sql

        # run_query opens the file with external access off and its configuration locked: DuckDB shares one
        # database per file within a process, so this city's own connection is closed first (reopened on next use)
        self.close()
        result = sql.run_query(self.warehouse, query, params=params or None)
        for warning in result.warnings:
            warnings.warn(warning, CivicmashSQLWarning, stacklevel=2)
        return pandas.DataFrame(result.rows, columns=result.columns)

    # --- helpers -----------------------------------------------------------------------------------------------

    def _incident_filters(self, con, prefix: str, *, start, end, days, types) -> tuple[list[str], list, tuple | None]:
        """``(where, params, window)`` for this city's incidents (columns prefixed ``prefix``): the window of
        ``start``/``end``/``days`` as the explorer resolves it (:func:`reads.incident_window`) and the ``types``."""
        from civicmash.warehouse import reads

        where, params, window = [f"{prefix}city = ?"], [self.name], None
        if start is not None or end is not None or days is not None:
            if days is not None and int(days) < 1:
                raise ValueError(f"{self.name}: days must be at least 1, not {days!r}")
            options = {k: v for k, v in (("start", start), ("end", end), ("days", days)) if v is not None}
            window = reads.incident_window(con, city=self.name, options=options)
            where.append(f"{prefix}occurred_at >= ? AND {prefix}occurred_at < ?")
            params += list(window)
        kinds = _as_list(types)
        if kinds is not None:
            where.append(f"{prefix}primary_type IN ({', '.join('?' for _ in kinds)})" if kinds else "FALSE")
            params += kinds
        return where, params, window

    def _options(self, kind: str) -> dict:
        from civicmash.flows.context import map_options

        return map_options(self.profile, kind)

    def _primary_kind(self, con, kinds: list[str]) -> str | None:
        from civicmash.warehouse import reads

        primary = self.profile.areas.plain().get("primary")
        if not primary and _has(con, "area_slots"):
            row = con.execute("SELECT any_value(kind) FROM area_slots WHERE city = ? AND is_primary",
                              [self.name]).fetchone()
            primary = row[0] if row else None
        return reads.preferred_kind(kinds, primary=primary)

    def _slot_of(self, con, kind: str) -> str | None:
        """The incidents column holding areas of ``kind``: area_slots' slot, else a column named like the kind."""
        if _has(con, "area_slots"):
            row = con.execute("SELECT any_value(slot) FROM area_slots WHERE city = ? AND kind = ? AND slot IS NOT NULL",
                              [self.name, kind]).fetchone()
            if row and row[0] in _SLOT_COLUMNS:
                return row[0]
        return kind if kind in _SLOT_COLUMNS else None

    def _outlines_sql(self, con) -> str:
        """SQL of the city's area outlines (one row per kind and code: parts merged, latest map of each kind,
        format fixtures left out): kind, code, name, geom, wkb. Its one parameter is the city."""
        from civicmash.warehouse import reads

        if not _has(con, "boundaries"):
            return ("SELECT NULL::VARCHAR AS kind, NULL::VARCHAR AS code, NULL::VARCHAR AS name, NULL::GEOMETRY AS geom, "
                    "NULL::BLOB AS wkb WHERE ? IS NULL AND FALSE")
        extra = reads.fixture_filter(con, "b") + reads.vintage_filter(con, "b")
        return ("SELECT kind, code, min(name) AS name, ST_Union_Agg(geom) AS geom, ST_AsWKB(ST_Union_Agg(geom)) AS wkb "
                f"FROM boundaries b WHERE city = ? AND geom IS NOT NULL {extra}GROUP BY kind, code")

    def _polygons(self, table: str, columns: tuple[str, ...], where: list[str], params: list, *, order: str):
        with self.connect() as con:
            if not _has(con, table):
                return _empty(columns)
            df = con.execute(
                f"SELECT {', '.join(columns)}, ST_AsWKB(geom) AS wkb FROM {table} WHERE city = ? "
                f"{''.join(' AND ' + w for w in where)} ORDER BY {order}", [self.name, *params]).df()
        return _with_wkb(df)


# --- frames ------------------------------------------------------------------------------------------------------

def _has(con, table: str) -> bool:
    from civicmash.warehouse import reads

    return reads.has_table(con, table)


def _as_list(value, cast=str) -> list | None:
    """None -> None (no filter); one value or an iterable of values -> a list."""
    if value is None:
        return None
    if isinstance(value, (str, int, float)):
        return [cast(value)]
    return [cast(v) for v in value]


def _points(df: pandas.DataFrame) -> geopandas.GeoDataFrame:
    import geopandas
    from shapely.geometry import Point

    import pandas

    geometry = [Point(float(lon), float(lat)) if pandas.notna(lat) and pandas.notna(lon) else None
                for lat, lon in zip(df["lat"], df["lon"])]
    return geopandas.GeoDataFrame(df, geometry=geopandas.GeoSeries(geometry, index=df.index, crs=CRS), crs=CRS)


def _with_wkb(df: pandas.DataFrame) -> geopandas.GeoDataFrame:
    """``df`` with its ``wkb`` column (bytes or NULL) turned into the ``geometry`` column."""
    import geopandas
    import shapely

    wkb = [bytes(b) if isinstance(b, (bytes, bytearray, memoryview)) else None for b in df["wkb"]]
    geometry = shapely.from_wkb(wkb) if wkb else []
    return geopandas.GeoDataFrame(df.drop(columns=["wkb"]),
                                  geometry=geopandas.GeoSeries(geometry, index=df.index, crs=CRS), crs=CRS)


def _empty(columns: tuple[str, ...]) -> geopandas.GeoDataFrame:
    import geopandas

    return geopandas.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=CRS)
