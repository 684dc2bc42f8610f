"""Spatial enrichment against the real community-area polygons."""

from tests.warehouse.helpers import CRIME_FIELDS, CRIME_OPTIONS, load, read_csv_records, read_geojson_records
from warehouse.enrich import enrich_incidents


def test_fills_empty_community_areas_from_coordinates(con, tmp_path, chicago):
    recs = read_csv_records(chicago / "crime/chicago_crimes_2018-05-01_to_2018-11-12.csv")[:20_000]
    truth = {}
    for i, rec in enumerate(recs):
        if i % 50 == 0 and rec["latitude"] and rec["community_area"] not in (None, "0"):
            truth[rec["id"]] = int(rec["community_area"])
            rec["community_area"] = None
    load(con, tmp_path, recs, table="incidents", dataset="crimes", fields=CRIME_FIELDS, options=CRIME_OPTIONS)
    load(con, tmp_path, read_geojson_records(chicago / "boundaries/community_areas.geojson"), table="boundaries",
         dataset="community_areas", kind="community_area",
         fields={"source_id": "area_numbe", "code": "area_numbe", "name": "community"})
    counts = enrich_incidents(con, city="testcity")
    assert set(counts) == {"community_area"}
    got = dict(con.execute("SELECT source_id, community_area FROM incidents WHERE "
                           "filled_from_coordinates = 'community_area'").fetchall())
    assert counts["community_area"]["filled"] == len(got)
    # a few points lie outside every polygon (lake shore, city edge): those stay NULL
    assert len(set(truth) & set(got)) >= 0.99 * len(truth)
    agree = sum(got.get(k) == v for k, v in truth.items())
    # the published community areas disagree with the polygons for ~2-3 % of points (see area_mismatch)
    assert agree / len(truth) > 0.95, (agree, len(truth))
    # stated areas are never overwritten; disagreements are flagged and counted
    n_mismatch = con.execute("SELECT count(*) FROM incidents WHERE area_mismatch = 'community_area'").fetchone()[0]
    assert n_mismatch == counts["community_area"]["mismatch"] > 0
    # running it again changes nothing
    before = con.execute("SELECT * EXCLUDE (geom) FROM incidents ORDER BY source_id").fetchall()
    again = enrich_incidents(con, city="testcity")
    assert again["community_area"]["filled"] == 0 and again["community_area"]["mismatch"] == n_mismatch
    assert con.execute("SELECT * EXCLUDE (geom) FROM incidents ORDER BY source_id").fetchall() == before


def test_fixture_boundaries_are_ignored(con, tmp_path):
    poly = '{"type": "Polygon", "coordinates": [[[-88, 41], [-87, 41], [-87, 42], [-88, 42], [-88, 41]]]}'
    load(con, tmp_path, [{"c": "5", "_geometry": poly}], table="boundaries", dataset="fx", kind="ward",
         fields={"code": "c"}, options={"role": "fixture"})
    load(con, tmp_path, [{"id": "1", "date": "2018-01-01", "latitude": "41.5", "longitude": "-87.5"}],
         table="incidents", dataset="i", fields=CRIME_FIELDS)
    assert enrich_incidents(con, city="testcity") == {}


def test_stored_grid_is_reused_and_rebuilt_when_boundaries_change(con, tmp_path, chicago):
    from warehouse.enrich import assign_areas

    load(con, tmp_path, read_csv_records(chicago / "crime/chicago_crimes_2018-05-01_to_2018-11-12.csv")[:3_000],
         table="incidents", dataset="crimes", fields=CRIME_FIELDS, options=CRIME_OPTIONS)
    load(con, tmp_path, read_geojson_records(chicago / "boundaries/community_areas.geojson"), table="boundaries",
         dataset="community_areas", kind="community_area",
         fields={"source_id": "area_numbe", "code": "area_numbe", "name": "community"})
    exact = dict(con.execute("""SELECT i.source_id, min(b.code::INTEGER) FROM incidents i JOIN boundaries b
                                ON b.kind = 'community_area' AND ST_Intersects(i.geom, b.geom)
                                GROUP BY i.source_id""").fetchall())

    def assigned():
        n = assign_areas(con, city="testcity", kind="community_area")
        got = dict(con.execute("SELECT source_id, spatial FROM _enrich_assign").fetchall())
        assert n == len(got)
        return got

    def keys():
        return {r[0] for r in con.execute("SELECT DISTINCT grid_key FROM enrich_cache.cells").fetchall()}

    cold = assigned()
    assert cold == exact                      # identical to ST_Intersects against the whole polygons
    first = keys()
    assert len(first) == 1
    assert assigned() == cold and keys() == first   # warm: the stored grid is reused
    # changed boundaries (one area removed) -> a new grid replaces the stale one, points there get no area
    con.execute("DELETE FROM boundaries WHERE kind = 'community_area' AND code = '32'")
    changed = assigned()
    assert keys() != first and len(keys()) == 1
    assert changed == {k: v for k, v in exact.items() if v != 32}
    # the cache lives outside main: not in the catalogue
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' "
                           "AND table_name IN ('cells', 'pieces')").fetchone()[0]
