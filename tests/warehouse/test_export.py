"""warehouse.export: csv, parquet, geojson, geoparquet of any table or view, read-only, names checked."""

import csv
import json

import pyarrow.parquet as pq
import pytest

from civicmash.warehouse.db import connect
from civicmash.warehouse.docs import schema_text
from civicmash.warehouse.export import export
from civicmash.warehouse.views import VIEWS, create_views
from tests.warehouse.helpers import CRIME_FIELDS, load
from tests.warehouse.test_normalise import crime


@pytest.fixture
def wh(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(path)
    load(con, tmp_path, [crime(id="1", primary_type="THEFT, RETAIL"), crime(id="2", latitude="41.8", longitude="-87.6")],
         table="incidents", fields=CRIME_FIELDS, dataset="crimes", city="chicago")
    load(con, tmp_path, [crime(id="3")], table="incidents", fields=CRIME_FIELDS, dataset="crimes", city="other")
    create_views(con)
    con.close()
    return path


def test_csv(wh, tmp_path):
    out = export(wh, "incidents_current", fmt="csv", out_path=tmp_path / "o" / "i.csv", city="chicago")
    rows = list(csv.DictReader(open(out, newline="")))
    assert [r["source_id"] for r in sorted(rows, key=lambda r: r["source_id"])] == ["1", "2"]
    got = {r["source_id"]: r for r in rows}
    assert got["1"]["primary_type"] == "THEFT, RETAIL"
    assert got["2"]["geom"] == "POINT (-87.6 41.8)"


def test_parquet(wh, tmp_path):
    out = export(wh, "incidents", fmt="parquet", out_path=tmp_path / "i.parquet")
    t = pq.read_table(out)
    assert t.num_rows == 3 and b"geo" not in (t.schema.metadata or {})
    assert str(t.schema.field("geom").type) == "binary"
    # a view without geometry works too
    out = export(wh, "datasets", fmt="parquet", out_path=tmp_path / "d.parquet", city="chicago")
    assert pq.read_table(out).column("dataset").to_pylist() == ["crimes"]


def test_geojson(wh, tmp_path):
    out = export(wh, "incidents", fmt="geojson", out_path=tmp_path / "i.geojson", city="chicago")
    fc = json.loads(out.read_text())
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
    f = next(f for f in fc["features"] if f["properties"]["source_id"] == "2")
    assert f["geometry"] == {"type": "Point", "coordinates": [-87.6, 41.8]}
    assert "geom" not in f["properties"] and f["properties"]["beat"] == "0312"
    assert f["properties"]["arrest"] is False


def test_geoparquet_has_geo_metadata(wh, tmp_path):
    import shapely

    out = export(wh, "incidents", fmt="geoparquet", out_path=tmp_path / "i.parquet")
    meta = pq.read_schema(out).metadata
    assert b"geo" in meta
    geo = json.loads(meta[b"geo"])
    assert geo["primary_column"] == "geom" and geo["columns"]["geom"]["encoding"] == "WKB"
    wkb = pq.read_table(out).column("geom").to_pylist()
    assert {shapely.from_wkb(w).wkt for w in wkb} >= {"POINT (-87.6 41.8)"}


def test_names_are_checked_and_connection_is_read_only(wh, tmp_path):
    for bad in ("incidents; DROP TABLE incidents", "incidents WHERE 1=1", "nope", "read_csv('/etc/passwd')"):
        with pytest.raises(ValueError, match="not a table or view"):
            export(wh, bad, fmt="csv", out_path=tmp_path / "x.csv")
    with pytest.raises(ValueError, match="fmt"):
        export(wh, "incidents", fmt="xlsx", out_path=tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="no geometry"):
        export(wh, "datasets", fmt="geojson", out_path=tmp_path / "x.geojson")
    with pytest.raises(ValueError, match="no city column"):
        export(wh, "raw_chicago_crimes", fmt="csv", out_path=tmp_path / "x.csv", city="chicago")
    # quotes in the city filter are data, not SQL
    out = export(wh, "incidents", fmt="csv", out_path=tmp_path / "q.csv", city="x' OR '1'='1")
    assert list(csv.DictReader(open(out))) == []
    # the export holds no write lock: a writer can open the file afterwards, and the data is unchanged
    con = connect(wh)
    assert con.execute("SELECT count(*) FROM incidents").fetchone() == (3,)
    con.close()


def test_schema_text(wh):
    con = connect(wh, read_only=True)
    text = schema_text(con)
    con.close()
    for name in ("incidents", "incidents_history", "iucr_codes", "area_indicators", *VIEWS):
        assert f"### `{name}`" in text
    assert "| `watermark` | VARCHAR |" in text and "one row per victim" in text
