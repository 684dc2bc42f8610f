"""Format-fixture datasets (``datasets.role = 'fixture'``) are loaded but never drawn or measured by the maps."""

import pytest

from civicmash.analysis import coverage
from civicmash.warehouse import reads
from tests.maps import maps_citydb as citydb


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = citydb.make_city(tmp_path_factory.mktemp("fixtures") / "city.duckdb")
    whole = "POLYGON((-87.7 41.8, -87.5 41.8, -87.5 41.95, -87.7 41.95, -87.7 41.8))"
    # a fixture file of the same community areas (code 99 over the whole city) and one of beats
    c.executemany("INSERT INTO boundaries (city, dataset, source_id, kind, code, name, geom) "
                  "VALUES (?, 'shp_fixture', ?, ?, ?, 'fixture', ST_GeomFromText(CAST(? AS VARCHAR)))",
                  [(citydb.CITY, "99", "community_area", "99", whole), (citydb.CITY, "b1", "beat", "0111", whole)])
    c.execute("INSERT INTO datasets (city, dataset, table_name, role) VALUES (?, 'shp_fixture', 'boundaries', 'fixture')",
              [citydb.CITY])
    yield c
    c.close()


def test_boundary_kinds_leave_out_fixtures(con):
    assert reads.boundary_kinds(con, city=citydb.CITY) == ["community_area", "ward"]
    assert coverage.boundary_kind(con, city=citydb.CITY, kind=None) == "community_area"
    with pytest.raises(ValueError, match="no boundaries of kind 'beat'"):
        coverage.boundary_kind(con, city=citydb.CITY, kind="beat")


def test_drawn_boundaries_leave_out_fixtures(con):
    codes = [f["properties"]["code"] for f in reads.boundaries_geojson(con, city=citydb.CITY)["features"]]
    assert codes == ["1", "2", "3", "4"]


def test_coverage_lattice_and_random_points_leave_out_fixtures(con):
    lattice = coverage.build_lattice(con, city=citydb.CITY, graph=None, kind="community_area", spacing_m=100,
                                     bbox=(citydb.LAT0 - 0.01, citydb.LON0 - 0.01, citydb.LAT0 + 0.02, citydb.LON0 + 0.02))
    assert [code for code, _ in lattice.areas] == ["1", "2", "3", "4"]
    assert len(lattice) and set(lattice.area.tolist()) <= {0, 1, 2, 3}
    with pytest.raises(ValueError, match="no boundaries of kind 'beat'"):
        coverage.random_points(con, city=citydb.CITY, n=10, seed=1, kind="beat")
