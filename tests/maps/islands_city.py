"""Islandia, a generated test city of two street networks, loaded through the real warehouse.

Street centre lines (``lines-geojson``, two shape points per block segment, house-number ranges on W MAIN ST)
and incidents (a CSV whose ``block`` column mixes every block form of the place resolver) go through the file
connector, the landing pages and :func:`warehouse.load.load_dataset` into a DuckDB warehouse, as a run would.

- island A: a 6 x 6 grid of 150 m blocks; rows are W MAIN ST (j = 2), W 39TH PL (j = 3), P ST NW (j = 4), ELM ST
  (j = 5) and ROW <j> ST; columns N OAK AVE (i = 1) and COL <i> AVE. W MAIN ST's block i (between columns i and
  i + 1) has house numbers 100 i .. 100 i + 98 on the left, 100 i + 1 .. 100 i + 99 on the right.
- island B: the same grid 12 km east (a second street network).
- a fragment: one 80 m street 3 km south (left out: shorter than routing.MIN_COMPONENT_M).
- an overpass: a 4 x 4 grid inside island A's extent, offset 0.3 block and joined to nothing (a piece of A the
  data fails to connect: left out, its points snap to A).
"""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timezone
from pathlib import Path

from civicmash.connectors import files
from civicmash.connectors.landing import write_page
from civicmash.warehouse import db
from civicmash.warehouse.load import load_dataset

CITY = "islandia"
LAT0, LON0 = 34.0600, -118.3000
STEP_M = 150.0
GRID = 6
DLAT = STEP_M / 110_540.0
DLON = STEP_M / (111_320.0 * math.cos(math.radians(LAT0)))
B_SHIFT_LON = 12_000 / (111_320.0 * math.cos(math.radians(LAT0)))   # island B, 12 km east
FETCHED = datetime(2024, 4, 1, tzinfo=timezone.utc)
ROWS = {2: "W MAIN ST", 3: "W 39TH PL", 4: "P ST NW", 5: "ELM ST"}
ADDRESS_FIELDS = {"from_left": "ADLF", "to_left": "ADLT", "from_right": "ADRF", "to_right": "ADRT"}

# incident blocks in every form: (block as published, i, j) -- the point is the middle of block i of row j
BLOCKS = [
    ("002XX W MAIN ST", 2.5, 2),                              # hundreds_xx (W MAIN ST has address ranges too)
    ("1100 W  39TH                         PL", 1.5, 3),     # rounded_number, LA's padding
    ("1400 B/O P ST NW", 3.5, 4),                             # dc_bo
    ("100 BLOCK OF ELM ST", 1.5, 5),                          # block_of
    ("003XX N OAK AVE", 1, 2.5),                              # hundreds_xx on a column without ranges
    ("N OAK AV", 1, 3),                                       # a bare street (LA's LOCATION with a Cross Street)
]


def ll(i: float, j: float, *, island: str = "A") -> tuple[float, float]:
    """(lat, lon) of grid position (i, j) of an island."""
    return LAT0 + j * DLAT, LON0 + i * DLON + (B_SHIFT_LON if island == "B" else 0.0)


def _line(a, b, props: dict) -> dict:
    (la0, lo0), (la1, lo1) = a, b
    mid = [(lo0 + lo1) / 2, (la0 + la1) / 2]                   # a shape point: two segments per feature
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "LineString", "coordinates": [[lo0, la0], mid, [lo1, la1]]}}


def street_features() -> list[dict]:
    feats = []
    for island in ("A", "B"):
        for j in range(GRID):
            for i in range(GRID - 1):
                props = {"NAME": ROWS.get(j, f"ROW {j} ST") if island == "A" else f"B ROW {j} ST"}
                if island == "A" and j == 2:
                    props.update(ADLF=100 * i, ADLT=100 * i + 98, ADRF=100 * i + 1, ADRT=100 * i + 99)
                feats.append(_line(ll(i, j, island=island), ll(i + 1, j, island=island), props))
        for i in range(GRID):
            for j in range(GRID - 1):
                name = ("N OAK AVE" if i == 1 else f"COL {i} AVE") if island == "A" else f"B COL {i} AVE"
                feats.append(_line(ll(i, j, island=island), ll(i, j + 1, island=island), {"NAME": name}))
    feats.append(_line(ll(0, -20), ll(0.53, -20), {"NAME": "LONELY LN"}))             # the fragment
    for j in range(4):                                                                 # the overpass piece
        for i in range(3):
            feats.append(_line(ll(i + 0.3, j + 0.3), ll(i + 1.3, j + 0.3), {"NAME": f"DECK {j} ST"}))
    for i in range(4):
        for j in range(3):
            feats.append(_line(ll(i + 0.3, j + 0.3), ll(i + 0.3, j + 1.3), {"NAME": f"DECK {i} AVE"}))
    return feats


def incident_rows() -> list[dict]:
    rows, k = [], 0
    for block, i, j in BLOCKS:
        for n in range(3):
            lat, lon = ll(i + (n - 1) * 0.05 if j == int(j) else i, j + ((n - 1) * 0.05 if j != int(j) else 0))
            rows.append({"id": f"c{k}", "date": f"2024-03-{10 + n:02d}T23:{10 + k % 40:02d}:00", "type": "THEFT",
                         "block": block, "lat": f"{lat:.6f}", "lon": f"{lon:.6f}"})
            k += 1
    for n in range(12):   # incidents along island B's row 2, and along A's row 1
        for island, j in (("B", 2), ("A", 1)):
            lat, lon = ll(0.4 * n, j, island=island)
            rows.append({"id": f"x{k}", "date": f"2024-03-{1 + n:02d}T22:00:00", "type": "ROBBERY",
                         "block": None, "lat": f"{lat:.6f}", "lon": f"{lon:.6f}"})
            k += 1
    return rows


def _land(tmp: Path, name: str, source: Path, fmt: str, options: dict) -> list[Path]:
    return [write_page(p, directory=tmp / "landing" / name)
            for p in files.iter_pages(source, fmt=fmt, options=options, dataset_name=name)]


def build(tmp: Path) -> Path:
    """Write the source files under ``tmp``, load them into ``tmp/civicmash.duckdb``; returns the warehouse."""
    tmp.mkdir(parents=True, exist_ok=True)
    streets = tmp / "streets.geojson"
    streets.write_text(json.dumps({"type": "FeatureCollection", "features": street_features()}), encoding="utf-8")
    crimes = tmp / "crimes.csv"
    with open(crimes, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "date", "type", "block", "lat", "lon"])
        w.writeheader()
        w.writerows(incident_rows())
    path = tmp / "civicmash.duckdb"
    con = db.connect(path)
    try:
        street_opts = {"name_fields": ["NAME"], "address_fields": ADDRESS_FIELDS}
        load_dataset(con, city=CITY, dataset="streets", table="streets",
                     files=_land(tmp, "streets", streets, "lines-geojson", street_opts), fields={},
                     options=street_opts, run_id="r1", fetched_at=FETCHED,
                     source_meta={"protocol": "file", "licence": "test", "crs": "EPSG:4326"})
        load_dataset(con, city=CITY, dataset="crimes", table="incidents",
                     files=_land(tmp, "crimes", crimes, "csv", {}),
                     fields={"source_id": "id", "occurred_at": "date", "primary_type": "type", "block": "block",
                             "lat": "lat", "lon": "lon"},
                     options={}, run_id="r1", fetched_at=FETCHED, source_meta={"protocol": "file", "licence": "test"})
    finally:
        con.close()
    return path


PROFILE = f"""name = "{CITY}"
title = "Islandia (generated test city)"
synthetic = true
timezone = "America/Los_Angeles"

[datasets.crimes]
protocol = "file"
format = "csv"
table = "incidents"
url = "https://example.test/crimes.csv"
fields = {{ source_id = "id", occurred_at = "date", primary_type = "type", block = "block", lat = "lat", lon = "lon" }}

[datasets.streets]
protocol = "file"
format = "lines-geojson"
table = "streets"
url = "https://example.test/streets.geojson"
options = {{ name_fields = ["NAME"], address_fields = {{ from_left = "ADLF", to_left = "ADLT", from_right = "ADRF", to_right = "ADRT" }} }}

[maps.safe_route]
days = 60
"""
