"""A generated "quirk city" for the time and implausible-value tests: portal exports written with the csv
module (or as GeoJSON), landed the way connectors/landing.py lands them, loaded with ``load_dataset`` into a
DuckDB file. Los Angeles' zone, a Los Angeles-sized bounding box, downloaded on 2024-12-01."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

from tests.warehouse.helpers import read_geojson_records, write_landing

CITY_ZONE = "America/Los_Angeles"
BBOX = [33.70, -118.67, 34.34, -118.15]
DOWNLOADED = datetime(2024, 12, 1, 12, 0, tzinfo=timezone.utc)
FIELDS = {"source_id": "DR_NO", "occurred_at": "DATE OCC", "primary_type": "Crm Cd Desc", "lat": "LAT", "lon": "LON"}


def open_warehouse(tmp_path):
    """A real DuckDB warehouse file (schema applied, spatial loaded), closed after the test: a test module
    makes it its fixture with ``warehouse = pytest.fixture(open_warehouse)``."""
    from civicmash.warehouse.db import connect

    con = connect(str(tmp_path / "quirkville.duckdb"))
    yield con
    con.close()


def write_csv(path: Path, rows: list[dict]) -> Path:
    """A portal CSV export of ``rows`` (header = the union of their keys, empty cells for missing values)."""
    header: list[str] = []
    for row in rows:
        header += [k for k in row if k not in header]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict]:
    """The export's records as a CSV connector lands them: every value text, empty cells missing."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def write_geojson(path: Path, features: list[tuple[dict, tuple[float, float] | None]]) -> Path:
    """An ArcGIS-style GeoJSON export: (properties, (lon, lat) or None) per feature."""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props,
         "geometry": {"type": "Point", "coordinates": list(xy)} if xy else None} for props, xy in features]}),
        encoding="utf-8")
    return path


def crime(dr_no: str, occurred: str | None, **extra) -> dict:
    """One row of the quirk city's crime export, in Koreatown unless the test says otherwise."""
    row = {"DR_NO": dr_no, "DATE OCC": occurred, "Crm Cd Desc": "BURGLARY", "LAT": "34.0617", "LON": "-118.3005"}
    row.update(extra)
    return row


def load_quirks(con, tmp_path: Path, rows: list[dict], *, options: dict | None = None, fields: dict | None = None,
                geojson: bool = False, dataset: str = "crimes"):
    """Write ``rows`` as a CSV (or GeoJSON, rows = features) export, land it and load it as incidents of the
    quirk city with the city's zone passed as flows/pipeline.py passes it."""
    from civicmash.warehouse.load import load_dataset

    if geojson:
        records = read_geojson_records(write_geojson(tmp_path / f"{dataset}.geojson", rows))
    else:
        records = read_csv(write_csv(tmp_path / f"{dataset}.csv", rows))
    files = write_landing(tmp_path / f"landing-{dataset}", records)
    return load_dataset(con, city="quirkville", dataset=dataset, table="incidents", files=files,
                        fields=fields or FIELDS, options={"city_timezone": CITY_ZONE, "bbox": BBOX, **(options or {})},
                        run_id="run-1", fetched_at=DOWNLOADED, source_meta={"protocol": "file", "licence": "test"})


def times(con, source_id: str) -> tuple:
    """(occurred_at, occurred_at_utc as naive UTC, time_unknown, time_flag) of one loaded incident, as text."""
    row = con.execute("""SELECT strftime(occurred_at, '%Y-%m-%d %H:%M:%S'),
                                strftime(timezone('UTC', occurred_at_utc), '%Y-%m-%d %H:%M:%S'), time_unknown, time_flag
                         FROM incidents WHERE source_id = $id""", {"id": source_id}).fetchone()
    assert row is not None, f"incident {source_id} was not loaded"
    return row


def quarantined(con) -> dict[str, tuple[str, str]]:
    """source_id -> (reason, field) of the quarantine rows."""
    return {sid: (reason, fld) for sid, reason, fld in
            con.execute("SELECT source_id, reason, field FROM quarantine ORDER BY source_id").fetchall()}
