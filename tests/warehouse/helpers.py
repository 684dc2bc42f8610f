"""Helpers for the warehouse tests: landing Parquet writers, real-file readers, common mappings.

Landing files are written the way connectors/landing.py writes them (every field a string, plus
``_page``, ``_fetched_at``, ``_url``). Real files are read from ``<repo>/../shared/data/chicago`` and the
tests that need them skip when it is absent.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import CHICAGO_DIR as CHICAGO  # the one place the bundle's path is set

FETCHED = datetime(2018, 11, 21, 12, 0, tzinfo=timezone.utc)

csv.field_size_limit(sys.maxsize)  # parks_cpd.csv has WKT cells over 131,072 characters


def soda_name(header: str) -> str:
    """Socrata API field name of a CSV header: lower case, non-alphanumeric runs -> '_'."""
    return re.sub(r"[^a-z0-9]+", "_", header.replace("\ufeff", "").strip().lower()).strip("_")


_US_DATE = re.compile(r"^(\d\d)/(\d\d)/(\d{4}) (\d\d):(\d\d):(\d\d) (AM|PM)$")


def soda_value(value: str | None) -> str | None:
    """What Socrata JSON delivers: '' -> missing, US timestamps -> ISO floating timestamps."""
    if value is None or value == "":
        return None
    m = _US_DATE.match(value)
    if m:
        mo, d, y, h, mi, s, ampm = m.groups()
        h = int(h) % 12 + (12 if ampm == "PM" else 0)
        return f"{y}-{mo}-{d}T{h:02d}:{mi}:{s}.000"
    return value


def read_csv_records(path: Path, *, soda: bool = True, newline: str = "") -> list[dict]:
    with open(path, encoding="utf-8", newline=newline) as fh:
        reader = csv.reader(fh)
        header = next(reader)
        names = [soda_name(h) for h in header] if soda else header
        out = []
        for row in reader:
            if not row:
                continue
            rec: dict = {}
            for n, v in zip(names, row):
                if n in rec and rec[n] is not None:  # duplicate header: keep the first, as SODA would suffix
                    n = n + "_1"
                rec[n] = soda_value(v) if soda else (v if v != "" else None)
            out.append(rec)
        return out


def read_geojson_records(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for feat in data["features"]:
        rec = {k: (None if v is None else v if isinstance(v, str) else json.dumps(v))
               for k, v in (feat.get("properties") or {}).items()}
        rec["_geometry"] = json.dumps(feat["geometry"]) if feat.get("geometry") else None
        out.append(rec)
    return out


def write_landing(directory: Path, records: list[dict], *, page_size: int = 50_000,
                  url: str = "https://example.test/resource/x.json") -> list[Path]:
    """Write records as landing pages (string columns + _page, _fetched_at, _url); returns the files."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    pages = [records[i:i + page_size] for i in range(0, len(records), page_size)] or [[]]
    for number, page in enumerate(pages, start=1):
        keys: list[str] = []
        for rec in page:
            keys += [k for k in rec if k not in keys]
        cols = {k: pa.array([None if r.get(k) is None else str(r.get(k)) for r in page], type=pa.string())
                for k in keys}
        cols["_page"] = pa.array([str(number)] * len(page), type=pa.string())
        cols["_fetched_at"] = pa.array([FETCHED.isoformat()] * len(page), type=pa.string())
        cols["_url"] = pa.array([url] * len(page), type=pa.string())
        path = directory / f"page-{number:05d}.parquet"
        pq.write_table(pa.table(cols), path)
        files.append(path)
    return files


CRIME_FIELDS = {
    "source_id": "id", "case_number": "case_number", "occurred_at": "date", "block": "block", "iucr": "iucr",
    "primary_type": "primary_type", "description": "description", "location_description": "location_description",
    "arrest": "arrest", "domestic": "domestic", "beat": "beat", "district": "district", "ward": "ward",
    "community_area": "community_area", "fbi_code": "fbi_code", "source_x": "x_coordinate",
    "source_y": "y_coordinate", "source_updated_at": "updated_on", "lat": "latitude", "lon": "longitude",
    "location": "location",
}
CRIME_OPTIONS = {"crs": "EPSG:3435", "bbox": [41.60, -87.95, 42.03, -87.52]}


def load(con, tmp_path: Path, records: list[dict], *, table: str, fields: dict, dataset: str = "ds",
         options: dict | None = None, kind: str | None = None, city: str = "testcity", run_id: str = "run-1",
         page_size: int = 50_000, source_meta: dict | None = None):
    from civicmash.warehouse.load import load_dataset

    files = write_landing(tmp_path / f"landing-{dataset}", records, page_size=page_size)
    return load_dataset(con, city=city, dataset=dataset, table=table, files=files, fields=fields,
                        options=options or {}, kind=kind, run_id=run_id, fetched_at=FETCHED,
                        source_meta=source_meta or {"protocol": "socrata", "licence": "test"})
