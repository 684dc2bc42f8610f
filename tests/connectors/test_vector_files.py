"""files connector: zipped shapefiles, GeoPackages and (Geo)Parquet, local and over HTTP, into the warehouse.

The files are made here from the real community-area boundaries (GeoJSON) with DuckDB/GDAL, in the
forms cities publish them: a shapefile zip in Illinois State Plane feet (with and without its .prj), a
GeoPackage holding two layers, a GeoParquet file.
"""
from __future__ import annotations

import contextlib
import json
import zipfile
from pathlib import Path

import duckdb
import pytest

from civicmash.connectors import files
from civicmash.connectors._vector import VectorFileError
from civicmash.devkit.replay import ReplayPortal
from civicmash.warehouse.db import load_spatial

from .conftest import chicago

AREAS = "boundaries/community_areas.geojson"
BEATS = "boundaries/police_beats.geojson"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """The real community areas (and beats) re-published as shapefile zips, a GeoPackage and GeoParquet."""
    areas, beats = chicago(AREAS), chicago(BEATS)
    out = tmp_path_factory.mktemp("vector")
    con = duckdb.connect()
    load_spatial(con)
    con.execute(f"CREATE TABLE a AS SELECT * EXCLUDE (OGC_FID) FROM ST_Read('{areas}')")
    con.execute(f"CREATE TABLE b AS SELECT * EXCLUDE (OGC_FID) FROM ST_Read('{beats}')")
    shp = out / "shp"
    shp.mkdir()
    con.execute(f"""COPY (SELECT * EXCLUDE (geom), ST_Transform(geom, 'EPSG:4326', 'EPSG:3435', always_xy := true)
                          AS geom FROM a) TO '{shp}/CommAreas.shp'
                    WITH (FORMAT GDAL, DRIVER 'ESRI Shapefile', SRS 'EPSG:3435')""")
    with zipfile.ZipFile(out / "CommAreas.zip", "w") as z:
        for part in sorted(shp.iterdir()):
            z.write(part, f"Boundaries - Community Areas/{part.name}")
        z.writestr("__MACOSX/Boundaries - Community Areas/._CommAreas.shp", b"\x00\x05\x16\x07")
    with zipfile.ZipFile(out / "NoPrj.zip", "w") as z:       # like libpysal's Chicago77: no .prj
        for part in sorted(shp.iterdir()):
            if part.suffix != ".prj":
                z.write(part, part.name)
    con.execute(f"COPY a TO '{out}/boundaries.gpkg' WITH (FORMAT GDAL, DRIVER 'GPKG', LAYER_NAME 'community_areas')")
    con.execute(f"COPY b TO '{out}/beats_only.gpkg' WITH (FORMAT GDAL, DRIVER 'GPKG', LAYER_NAME 'beats')")
    con.execute(f"COPY (SELECT *, geom AS geometry FROM a) TO '{out}/areas.parquet' (FORMAT parquet)")
    con.close()
    return out


@pytest.fixture(scope="module")
def truth() -> dict[str, tuple[float, float]]:
    """Area number -> centroid (lon, lat) of the source GeoJSON."""
    con = duckdb.connect()
    load_spatial(con)
    rows = con.execute(f"SELECT area_numbe, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
                       f"FROM ST_Read('{chicago(AREAS)}')").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _records(pages) -> list[dict]:
    return [r for p in pages for r in p.to_records()]


def _centroids(records) -> dict[str, tuple[float, float]]:
    con = duckdb.connect()
    load_spatial(con)
    out = {}
    for r in records:
        x, y = con.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_GeomFromGeoJSON(?)) c)",
                           [r["_geometry"]]).fetchone()
        out[r["area_numbe"]] = (x, y)
    return out


def _assert_same_places(records, truth, tol_deg=2e-6):   # 2e-6 deg ~ 0.2 m
    got = _centroids(records)
    assert set(got) == set(truth) and len(records) == 77
    worst = max(max(abs(got[k][0] - truth[k][0]), abs(got[k][1] - truth[k][1])) for k in truth)
    assert worst < tol_deg


def test_zipped_shapefile_in_state_plane_feet(published, truth):
    pages = list(files.iter_pages(published / "CommAreas.zip", fmt="shapefile", page_size=10))
    assert len(pages) == 8 and all(p.table is not None for p in pages)   # streamed, 10 rows a page
    assert pages[0].meta["source_crs"] == "EPSG:3435" and pages[0].meta["layer"] == "CommAreas"
    records = _records(pages)
    assert {r["community"] for r in records} >= {"LOOP", "AUSTIN", "HYDE PARK"}
    _assert_same_places(records, truth)


def test_shapefile_without_prj_needs_the_profile_crs(published, truth):
    with pytest.raises(VectorFileError, match=r"dataset areas: NoPrj.zip does not state its coordinate system"
                                               r".*options.crs"):
        list(files.iter_pages(published / "NoPrj.zip", fmt="shapefile", dataset_name="areas"))
    pages = files.iter_pages(published / "NoPrj.zip", fmt="shapefile", options={"crs": "EPSG:3435"})
    _assert_same_places(_records(pages), truth)
    with pytest.raises(VectorFileError, match="says its CRS is EPSG:3435, the profile says EPSG:26916"):
        list(files.iter_pages(published / "CommAreas.zip", fmt="shapefile", options={"crs": "EPSG:26916"}))


def test_not_a_zip_is_named(tmp_path):
    (tmp_path / "x.zip").write_text("<html>not found</html>")
    with pytest.raises(VectorFileError, match="dataset d: x.zip is not a zip file"):
        list(files.iter_pages(tmp_path / "x.zip", fmt="shapefile", dataset_name="d"))


def test_geopackage_layers(published, truth):
    pages = list(files.iter_pages(published / "boundaries.gpkg", fmt="geopackage"))
    assert pages[0].meta["layer"] == "community_areas"
    _assert_same_places(_records(pages), truth)
    beats = _records(files.iter_pages(published / "beats_only.gpkg", fmt="geopackage", options={"layer": "beats"}))
    assert len(beats) == 277
    with pytest.raises(VectorFileError, match=r"no layer 'wards' in beats_only.gpkg \(layers: beats\)"):
        list(files.iter_pages(published / "beats_only.gpkg", fmt="geopackage", options={"layer": "wards"}))


def test_geoparquet(published, truth):
    pages = list(files.iter_pages(published / "areas.parquet", fmt="parquet", page_size=50))
    assert [p.row_count for p in pages] == [50, 27]
    records = _records(pages)
    assert "geom" in records[0] or "_geometry" in records[0]
    _assert_same_places(records, truth)


def test_vector_files_over_http_with_faults(published, truth):
    from civicmash.connectors import http

    session = http.session(retries=10, backoff=0.01, max_backoff=0.05, timeout=10)
    with ReplayPortal(published, [], faults=0.3, seed=6) as portal:
        for name, fmt in (("CommAreas.zip", "shapefile"), ("boundaries.gpkg", "geopackage"),
                          ("areas.parquet", "parquet")):
            pages = files.iter_pages(f"{portal.base_url}/files/{name}", fmt=fmt, session=session)
            _assert_same_places(_records(pages), truth)


def test_shapefile_boundaries_through_the_pipeline(prefect_harness, published, tmp_path):
    """A profile whose community areas come as a shapefile zip: loaded into `boundaries`, reconciled."""
    from civicmash.flows.pipeline import civic_pipeline

    profile = tmp_path / "shapetown.toml"
    datasets = "".join(f"""
[datasets.{name}]
protocol = "file"
format = "{fmt}"
table = "boundaries"
kind = "{kind}"
replay = "{file}"
fields = {{ source_id = "area_numbe", code = "area_numbe", name = "community" }}
""" for name, fmt, kind, file in (("areas_shp", "shapefile", "community_area", "CommAreas.zip"),
                                  ("areas_gpkg", "geopackage", "community_area_gpkg", "boundaries.gpkg"),
                                  ("areas_parquet", "parquet", "community_area_parquet", "areas.parquet")))
    profile.write_text('name = "shapetown"\ntitle = "Shapetown (Chicago boundaries republished as a shapefile, '
                       'a GeoPackage and GeoParquet)"\n' + datasets)
    run = civic_pipeline("shapetown", out=str(tmp_path / "out"), replay=str(published),
                         profile_path=str(profile), maps=[])
    assert {d["dataset"]: (d["rows_in"], d["rows_loaded"], d["rows_quarantined"]) for d in run["datasets"]} == {
        "areas_shp": (77, 77, 0), "areas_gpkg": (77, 77, 0), "areas_parquet": (77, 77, 0)}
    with contextlib.closing(duckdb.connect(run["warehouse"], read_only=True)) as con:
        load_spatial(con)
        same = con.execute("""
            SELECT count(*) FROM boundaries s JOIN boundaries g USING (code)
            WHERE s.dataset = 'areas_shp' AND g.dataset = 'areas_gpkg'
              AND ST_Distance(ST_Centroid(s.geom), ST_Centroid(g.geom)) < 2e-6""").fetchone()[0]
        assert same == 77
        loop = con.execute("SELECT name, ST_Contains(geom, ST_Point(-87.6298, 41.8781)) FROM boundaries "
                           "WHERE dataset = 'areas_parquet' AND code = '32'").fetchone()
        assert loop == ("LOOP", True)
    assert json.dumps(run, default=str)
