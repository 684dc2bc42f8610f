"""The Chicago bundle's format fixtures, run through the whole pipeline with their own test profile.

``tests/profiles/chicago_formats.toml`` holds the files that exist to test a format, not to be analysed: the
portal's rows.csv export of the crimes (22 raw headers, a UTF-8 BOM, ``MM/DD/YYYY hh:mm:ss AM`` dates, X/Y in
Illinois State Plane East, EPSG:3435) and the community areas as a CSV with WKT cells. They used to sit in
``cities/chicago.toml``, where they doubled Chicago's community areas and added a non-window to its incidents;
here they load into a warehouse of their own, over the loopback replay portal like any city.
"""

from __future__ import annotations

import contextlib
import csv
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from civicmash.cities.profile import load_profile
from civicmash.warehouse import db

PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "chicago_formats.toml"
EXPORT = "crime/crimes_2024_sample_fullschema.csv"
EXPORT_ROWS = 10_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def formats_run(prefect_harness, chicago_dir, tmp_path_factory) -> dict:
    """The format-fixture profile through the Prefect pipeline into its own warehouse (no maps: it is no city)."""
    from civicmash.flows.pipeline import civic_pipeline

    out = tmp_path_factory.mktemp("chicago_formats_out")
    return civic_pipeline("chicago_formats", out=str(out), replay=str(chicago_dir), profile_path=str(PROFILE),
                          maps=[])


@pytest.fixture(scope="module")
def con(formats_run):
    with contextlib.closing(db.connect(formats_run["warehouse"])) as connection:
        yield connection


@pytest.fixture(scope="module")
def raw_export(chicago_dir) -> list[dict]:
    with open(chicago_dir / EXPORT, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_the_test_profile_holds_the_fixtures_and_chicago_does_not():
    fixtures = load_profile(PROFILE).datasets
    assert {spec.replay for spec in fixtures.values()} == {EXPORT, "boundaries/CommAreas_wkt.csv"}
    chicago = load_profile("chicago").datasets
    assert not {spec.replay for spec in chicago.values()} & {spec.replay for spec in fixtures.values()}
    assert not set(chicago) & set(fixtures)


def test_every_fixture_row_loads(formats_run):
    got = {r["dataset"]: (r["rows_in"], r["rows_loaded"], r["rows_quarantined"]) for r in formats_run["datasets"]}
    assert got == {"crimes_2024_sample": (EXPORT_ROWS, EXPORT_ROWS, 0),
                   "crimes_2024_state_plane": (EXPORT_ROWS, EXPORT_ROWS, 0),
                   "community_areas_wkt": (77, 77, 0)}


def test_the_portal_export_reads_like_the_raw_file(con, raw_export):
    """The BOM'd ``ID`` header still maps to source_id, and the export's 12-hour dates parse to the same
    months as the csv module reads them (8,332 of the rows fall in May 2024, PROVENANCE.md)."""
    assert len(raw_export) == EXPORT_ROWS
    in_db = dict(con.execute("SELECT source_id, strftime(occurred_at, '%Y-%m') FROM incidents "
                             "WHERE dataset = 'crimes_2024_sample'").fetchall())
    assert in_db == {r["ID"]: datetime.strptime(r["Date"], "%m/%d/%Y %I:%M:%S %p").strftime("%Y-%m")
                     for r in raw_export}
    assert Counter(in_db.values())["2024-05"] == 8_332
    by_type = dict(con.execute("SELECT primary_type, count(*) FROM incidents WHERE dataset = 'crimes_2024_sample' "
                               "GROUP BY 1").fetchall())
    assert by_type == dict(Counter(r["Primary Type"] for r in raw_export))


def test_state_plane_coordinates_land_on_the_portals_own_lat_lon(con, raw_export):
    """Located by X/Y Coordinate (EPSG:3435, US feet) alone, every point falls within a metre of the lat/lon the
    portal publishes for it; rows without coordinates stay, without a point."""
    located = sum(1 for r in raw_export if r["X Coordinate"])
    n, far, no_point = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE ST_Distance_Sphere(xy.geom, ll.geom) > 1.0),
                  count(*) FILTER (WHERE xy.geom IS NULL)
           FROM incidents xy JOIN incidents ll USING (city, source_id)
           WHERE xy.dataset = 'crimes_2024_state_plane' AND ll.dataset = 'crimes_2024_sample'""").fetchone()
    assert (n, far, no_point) == (EXPORT_ROWS, 0, EXPORT_ROWS - located)
    assert con.execute("SELECT DISTINCT source_crs FROM incidents WHERE dataset = 'crimes_2024_state_plane' "
                       "AND source_x IS NOT NULL").fetchall() == [("EPSG:3435",)]


def test_wkt_community_areas_equal_the_geojson_ones(con, chicago_dir):
    """The 77 MULTIPOLYGON cells of the WKT CSV are the very polygons of the GeoJSON community areas."""
    rows = con.execute(
        """WITH g AS (SELECT area_numbe AS code, geom FROM ST_Read($path))
           SELECT count(*), count(DISTINCT b.code),
                  max(ST_Area(ST_SymDifference(b.geom, g.geom)) / ST_Area(g.geom)),
                  count(*) FILTER (WHERE ST_GeometryType(b.geom)::VARCHAR <> 'MULTIPOLYGON')
           FROM boundaries b JOIN g USING (code)
           WHERE b.dataset = 'community_areas_wkt' AND b.kind = 'community_area'""",
        {"path": str(chicago_dir / "boundaries" / "community_areas.geojson")}).fetchone()
    assert rows[:2] == (77, 77) and rows[2] < 1e-9 and rows[3] == 0


def test_wkt_areas_enrich_state_plane_points(con):
    """Spatial enrichment over the WKT polygons fills the community area of the X/Y-located rows (which map no
    community_area field); it agrees with the portal's own Community Area for at least 95 % of them."""
    n, agree, filled = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE xy.community_area = ll.community_area),
                  count(*) FILTER (WHERE xy.filled_from_coordinates LIKE '%community_area%')
           FROM incidents xy JOIN incidents ll USING (city, source_id)
           WHERE xy.dataset = 'crimes_2024_state_plane' AND ll.dataset = 'crimes_2024_sample'
             AND xy.geom IS NOT NULL""").fetchone()
    assert filled > 0.99 * n and agree > 0.95 * n
