"""A tiny canonical warehouse for map tests (a few dozen rows, one crafted XSS string).

Shared by tests/maps and tests/browser.  Tables follow docs/architecture.md.
"""

from __future__ import annotations

import glob
import math
import os
from datetime import datetime, timedelta

import duckdb

CITY = "testville"
XSS = "</script><img src=x onerror=alert(1)>"
LAT0, LON0 = 41.8800, -87.6300
STEP_M = 150.0
GRID = 8
DLAT = STEP_M / 110_540.0
DLON = STEP_M / (111_320.0 * math.cos(math.radians(LAT0)))
LATEST = datetime(2018, 11, 12, 22, 30)


def connect(path) -> duckdb.DuckDBPyConnection:
    """DuckDB connection with spatial loaded (warehouse.db.connect when it exists)."""
    try:
        from civicmash.warehouse.db import connect as wh_connect  # type: ignore

        return wh_connect(path)
    except Exception:  # warehouse room not there yet
        con = duckdb.connect(str(path))
        import duckdb_extension_spatial as wheel

        ext = glob.glob(os.path.join(os.path.dirname(wheel.__file__), "extensions", "*", "spatial.duckdb_extension"))
        con.execute(f"LOAD '{ext[0]}'")
        return con


def node_ll(i: int, j: int) -> tuple[float, float]:
    return LAT0 + j * DLAT, LON0 + i * DLON


ROUTE_FROM = node_ll(0, 3)
ROUTE_TO = node_ll(GRID - 1, 3)


def make_city(path) -> duckdb.DuckDBPyConnection:
    con = connect(path)
    con.execute("""
        CREATE TABLE IF NOT EXISTS street_nodes (city VARCHAR, node_id BIGINT, lat DOUBLE, lon DOUBLE, geom GEOMETRY);
        CREATE TABLE IF NOT EXISTS street_edges (city VARCHAR, edge_id BIGINT, u BIGINT, v BIGINT, length_m DOUBLE,
                                   highway VARCHAR, name VARCHAR, lit VARCHAR, geom GEOMETRY);
        CREATE TABLE IF NOT EXISTS incidents (city VARCHAR, dataset VARCHAR, source_id VARCHAR, case_number VARCHAR,
            occurred_at TIMESTAMP, time_is_midnight BOOLEAN, primary_type VARCHAR, description VARCHAR,
            block VARCHAR, arrest BOOLEAN, domestic BOOLEAN, lat DOUBLE, lon DOUBLE, geom GEOMETRY);
        CREATE TABLE IF NOT EXISTS venues (city VARCHAR, dataset VARCHAR, source_id VARCHAR, name VARCHAR, venue_type VARCHAR,
            licence_type VARCHAR, address VARCHAR, lat DOUBLE, lon DOUBLE, geom GEOMETRY);
        CREATE TABLE IF NOT EXISTS services (city VARCHAR, dataset VARCHAR, source_id VARCHAR, name VARCHAR, category VARCHAR,
            address VARCHAR, phone VARCHAR, hours VARCHAR, lat DOUBLE, lon DOUBLE, geom GEOMETRY);
        CREATE TABLE IF NOT EXISTS spending (city VARCHAR, dataset VARCHAR, source_id VARCHAR, fiscal_year INTEGER,
            department VARCHAR, department_code VARCHAR, fund VARCHAR, fund_code VARCHAR, account VARCHAR,
            description VARCHAR, amount DECIMAL(18,2));
        CREATE TABLE IF NOT EXISTS boundaries (city VARCHAR, dataset VARCHAR, source_id VARCHAR, kind VARCHAR, code VARCHAR,
            name VARCHAR, geom GEOMETRY);
        CREATE TABLE IF NOT EXISTS datasets (city VARCHAR, dataset VARCHAR, protocol VARCHAR, portal_url VARCHAR,
            dataset_id VARCHAR, table_name VARCHAR, licence VARCHAR, fetched_at TIMESTAMP, rows_in BIGINT,
            rows_loaded BIGINT, rows_quarantined BIGINT, synthetic BOOLEAN);
    """)
    # Street grid GRID x GRID, plus a detached 2-node component far away.
    nid = lambda i, j: 1000 + j * GRID + i  # noqa: E731
    nodes = [(CITY, nid(i, j), *node_ll(i, j)) for i in range(GRID) for j in range(GRID)]
    nodes += [(CITY, 9001, LAT0 - 0.05, LON0 - 0.05), (CITY, 9002, LAT0 - 0.05, LON0 - 0.049)]
    nodes += [("othertown", 1, 10.0, 10.0)]
    con.executemany("INSERT INTO street_nodes (city, dataset, source_id, node_id, lat, lon, geom) "
                    "VALUES (?1, 'streets', CAST(?2 AS VARCHAR), ?2, ?3, ?4, ST_Point(?4, ?3))", nodes)
    edges, eid = [], 1
    for j in range(GRID):
        for i in range(GRID):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < GRID and j + dj < GRID:
                    hw = "primary" if j == 0 else "residential"
                    edges.append((CITY, eid, nid(i, j), nid(i + di, j + dj), STEP_M, hw, f"Street {j}"))
                    eid += 1
    edges.append((CITY, eid, 9001, 9002, 80.0, "residential", "Lonely Lane"))
    edges.append((CITY, eid + 1, 1000, 1000, 5.0, "residential", "loop"))  # self-loop, dropped
    con.executemany("INSERT INTO street_edges (city, dataset, source_id, edge_id, u, v, length_m, highway, name) "
                    "VALUES (?1, 'streets', CAST(?2 AS VARCHAR), ?2, ?3, ?4, ?5, ?6, ?7)", edges)

    # Incidents: two thirds on the edges of row j=3 (ROUTE_FROM -> ROUTE_TO runs along it),
    # the rest spread over the grid; dates spread over 120 days.
    types = ["THEFT", "BATTERY", "ASSAULT", "NON-CRIMINAL"]
    inc = []
    for k in range(48):
        if k % 3:
            lat, lon = node_ll(k % (GRID - 1) + 0.5, 3)
        else:
            lat, lon = node_ll((k // 3) % GRID, (k // 3 + 5) % GRID + 0.5 if (k // 3 + 5) % GRID < GRID - 1 else 0)
        when = LATEST - timedelta(days=(k * 5) % 120, hours=k % 7)
        desc = XSS if k == 4 else f"desc {k % 5}"
        inc.append((CITY, "crimes", str(k), f"JA{k:05d}", when, types[k % 4], desc, lat, lon))
    for k in range(48, 54):  # no coordinates
        inc.append((CITY, "crimes", str(k), f"JA{k:05d}", LATEST - timedelta(days=k % 10), "THEFT", "no loc",
                    None, None))
    inc.append((CITY, "crimes", "999", "JA00999", LATEST, "THEFT", "other city", None, None))
    con.executemany(
        "INSERT INTO incidents (city, dataset, source_id, case_number, occurred_at, primary_type, description, lat, lon)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", inc)
    con.execute("UPDATE incidents SET city = 'othertown' WHERE source_id = '999'")

    venues = [(CITY, "bars", str(k), XSS if k == 0 else f"Bar {k}", "bar", "Tavern", f"{k} Main St",
               *node_ll(3 + (k % 3) * 0.3, 3 + k * 0.4)) for k in range(6)]
    con.executemany("INSERT INTO venues (city, dataset, source_id, name, venue_type, licence_type, address, lat, lon,"
                    " geom) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ST_Point(?9, ?8))", venues)

    services = []
    for k, (cat, pos) in enumerate([("Library", (1, 6)), ("Library", (6, 6)), ("Police station", (0, 0)),
                                    ("Hospital", (7, 1)), ("Hospital", (2, 2)), ("Park", (5, 4))]):
        name = XSS if k == 3 else f"{cat} {k}"
        services.append((CITY, "svc", str(k), name, cat, f"{k} Service Rd", *node_ll(pos[0] + 0.1, pos[1] + 0.1)))
    con.executemany("INSERT INTO services (city, dataset, source_id, name, category, address, lat, lon)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", services)

    spend = []
    for k, (dept, fund, amt) in enumerate([("Police", "General", 1_200_000.50), ("Police", "Grants", 300_000),
                                           ("Libraries", "General", 450_000), (XSS, "General", 12_345.67),
                                           ("Streets", "Motor fuel", 880_000), ("Streets", "General", -5_000),
                                           ("Police", "General", 999_999)]):
        spend.append((CITY, "budget", str(k), 2018 if k < 6 else 2017, dept, fund, amt))
    con.executemany("INSERT INTO spending (city, dataset, source_id, fiscal_year, department, fund, amount)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", spend)

    def square(i0, j0, i1, j1):
        (a, b), (c, d) = node_ll(i0, j0), node_ll(i1, j1)
        return f"POLYGON(({b} {a}, {d} {a}, {d} {c}, {b} {c}, {b} {a}))"

    h = (GRID - 1) / 2
    bounds = [(CITY, "ca", "1", "community_area", "1", XSS, square(0, 0, h, h)),
              (CITY, "ca", "2", "community_area", "2", "North West", square(0, h, h, GRID - 1)),
              (CITY, "ca", "3", "community_area", "3", "South East", square(h, 0, GRID - 1, h)),
              (CITY, "ca", "4", "community_area", "4", "North East", square(h, h, GRID - 1, GRID - 1)),
              (CITY, "wards", "1", "ward", "1", "Ward 1", square(0, 0, GRID - 1, GRID - 1))]
    con.executemany("INSERT INTO boundaries (city, dataset, source_id, kind, code, name, geom)"
                    " VALUES (?, ?, ?, ?, ?, ?, ST_GeomFromText(CAST(? AS VARCHAR)))", bounds)

    fetched = datetime(2018, 11, 13, 6, 0)
    con.executemany("INSERT INTO datasets (city, dataset, protocol, portal_url, table_name, licence, fetched_at,"
                    " synthetic) VALUES (?, ?, ?, ?, ?, ?, ?, true)", [
                        (CITY, "crimes", "socrata", "https://data.example.org/resource/x", "incidents",
                         XSS, fetched),
                        (CITY, "budget", "ckan", "javascript:alert(1)", "spending", "CC-BY 4.0", fetched),
                    ])
    return con
