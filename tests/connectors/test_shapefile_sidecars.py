"""Shapefiles published as loose files (.shp beside .shx, .dbf, .prj, .cpg), fetched by URL over real HTTP from
the replay portal: the connector fetches the sidecars next to the .shp before DuckDB spatial reads it. A lone
.shp is never handed to DuckDB (it crashes the process): a missing .shx/.dbf is an error naming the dataset and
the missing file, checked in a child process so a crash shows as a failure, not a dead test run. The shapefile is
written here with DuckDB spatial's GDAL COPY; the LA reporting districts are read when the bundle is there."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from civicmash.connectors import files
from civicmash.connectors._vector import VectorFileError
from civicmash.devkit.replay import ReplayPortal
from civicmash.warehouse.db import load_spatial
from tests.conftest import SHARED_DIR

LA_BOUNDARIES = SHARED_DIR / "data" / "los_angeles" / "boundaries"


@pytest.fixture
def published(tmp_path) -> Path:
    """``shp/areas.{shp,shx,dbf,prj,cpg}``: two squares in California State Plane V feet (EPSG:2229)."""
    folder = tmp_path / "shp"
    folder.mkdir()
    con = duckdb.connect()
    load_spatial(con)
    con.execute(f"""COPY (SELECT * FROM (VALUES ('Cañada', 'a', ST_GeomFromText('POLYGON((6480000 1840000, 6481000 1840000,
                            6481000 1841000, 6480000 1841000, 6480000 1840000))')),
                          ('Two', 'b', ST_GeomFromText('POLYGON((6490000 1850000, 6491000 1850000, 6491000 1851000,
                            6490000 1851000, 6490000 1850000))'))) t(name, code, geom))
                    TO '{folder}/areas.shp' WITH (FORMAT GDAL, DRIVER 'ESRI Shapefile', SRS 'EPSG:2229',
                    LAYER_CREATION_OPTIONS 'ENCODING=UTF-8')""")
    con.close()
    assert {p.suffix for p in folder.iterdir()} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    return folder


def _records(source: str, **kwargs) -> list[dict]:
    return [r for page in files.iter_pages(source, fmt="shapefile", **kwargs) for r in page.to_records()]


def test_a_shp_url_brings_its_sidecars(published):
    with ReplayPortal(published.parent, []) as portal:
        rows = _records(f"{portal.base_url}/files/shp/areas.shp", dataset_name="areas")
    assert [(r["name"], r["code"]) for r in rows] == [("Cañada", "a"), ("Two", "b")]   # .dbf read, .cpg honoured
    lon, lat = __import__("json").loads(rows[0]["_geometry"])["coordinates"][0][0]
    assert -119 < lon < -117 and 33 < lat < 35          # .prj read: State Plane feet -> WGS84 longitude/latitude


def test_prj_and_cpg_are_optional(published):
    (published / "areas.prj").unlink()
    (published / "areas.cpg").unlink()
    with ReplayPortal(published.parent, []) as portal:
        url = f"{portal.base_url}/files/shp/areas.shp"
        with pytest.raises(VectorFileError, match="set options.crs"):
            _records(url, dataset_name="areas")
        assert len(_records(url, dataset_name="areas", options={"crs": "EPSG:2229"})) == 2


@pytest.mark.parametrize("sidecar", [".dbf", ".shx"])
def test_a_missing_required_sidecar_names_the_dataset_and_the_file(published, sidecar):
    (published / f"areas{sidecar}").unlink()
    with ReplayPortal(published.parent, []) as portal:
        with pytest.raises(VectorFileError) as caught:
            _records(f"{portal.base_url}/files/shp/areas.shp", dataset_name="districts")
    message = str(caught.value)
    assert "dataset districts" in message and f"areas{sidecar}" in message and "HTTP 404" in message


def test_a_lone_local_shp_is_refused_not_crashed(published, tmp_path):
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copyfile(published / "areas.shp", lone / "areas.shp")
    code = textwrap.dedent(f"""
        from civicmash.connectors import files
        from civicmash.connectors._vector import VectorFileError
        try:
            list(files.iter_pages({str(lone / 'areas.shp')!r}, fmt="shapefile", dataset_name="lone"))
        except VectorFileError as exc:
            print("refused:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"child died with {done.returncode}: {done.stderr[-500:]}"
    assert "refused: dataset lone" in done.stdout and "areas.shx" in done.stdout and "areas.dbf" in done.stdout


def test_the_la_reporting_districts_over_http():
    if not (LA_BOUNDARIES / "lapd_reporting_districts.shp").exists():
        pytest.skip(f"real Los Angeles data not found at {LA_BOUNDARIES}")
    with ReplayPortal(LA_BOUNDARIES.parent, []) as portal:
        rows = _records(f"{portal.base_url}/files/boundaries/lapd_reporting_districts.shp", dataset_name="rd")
    assert len(rows) == 1_135 and "101" in {r["number"] for r in rows}   # PROVENANCE.md: not zero-padded
