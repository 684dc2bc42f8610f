"""Spatial enrichment against the real community-area polygons."""

import json

from civicmash.warehouse.enrich import enrich_incidents
from tests.warehouse.helpers import CRIME_FIELDS, CRIME_OPTIONS, load, read_csv_records, read_geojson_records


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
    from civicmash.warehouse.enrich import assign_areas

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


def _box(x0, y0, x1, y1):
    return json.dumps({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})


def test_border_cells_gaps_overlaps_and_repeated_locations(con, tmp_path):
    """Cells cut by borders: a cell whose pieces cover it stores every piece but its largest code (a point in
    none of the others is in that one); a cell with a gap stores them all. The answers equal ST_Intersects
    against the whole polygons for points on a border, in a gap, in an overlap and at one location many times."""
    from civicmash.warehouse.enrich import assign_areas

    # 0.002-degree cells; the borders at x = -87.6950 and -87.6890 run through the middle of cells
    areas = {"1": _box(-87.7010, 41.800, -87.6950, 41.810), "2": _box(-87.6950, 41.800, -87.6890, 41.810),
             "3": _box(-87.68895, 41.800, -87.6830, 41.810),     # a 0.00005-degree gap between 2 and 3
             "7": _box(-87.6900, 41.8045, -87.6880, 41.8055),    # over 2, the gap and 3
             "8": _box(-87.6930, 41.8045, -87.6910, 41.8055)}    # inside 2
    load(con, tmp_path, [{"c": c, "_geometry": g} for c, g in areas.items()], table="boundaries", dataset="ca",
         kind="community_area", fields={"source_id": "c", "code": "c"})
    where = {"border": (-87.6950, 41.8033), "gap": (-87.688975, 41.8080), "over27": (-87.6895, 41.8050),
             "only7": (-87.688975, 41.8050), "over37": (-87.6885, 41.8050), "in8": (-87.6925, 41.8050),
             "in1": (-87.6990, 41.8011), "in2": (-87.6902, 41.8021), "in3": (-87.6850, 41.8077),
             "outside": (-87.6700, 41.8050)}
    recs = [{"id": f"{name}-{i}", "date": "2018-01-01", "latitude": repr(y), "longitude": repr(x)}
            for name, (x, y) in where.items() for i in range(3)]   # each location three times
    load(con, tmp_path, recs, table="incidents", dataset="crimes", fields=CRIME_FIELDS)
    n = assign_areas(con, city="testcity", kind="community_area")
    got = dict(con.execute("SELECT source_id, spatial FROM _enrich_assign").fetchall())
    exact = dict(con.execute("""SELECT i.source_id, min(b.code::INTEGER) FROM incidents i JOIN boundaries b
                                ON ST_Intersects(i.geom, b.geom) GROUP BY i.source_id""").fetchall())
    assert n == len(got) and got == exact
    assert {k.split("-")[0]: v for k, v in got.items()} == {   # gap and outside: no area
        "border": 1, "over27": 2, "only7": 7, "over37": 3, "in8": 2, "in1": 1, "in2": 2, "in3": 3}

    def cell(x, y):
        return {"c": int(x // 0.002) * 2**32 + int(y // 0.002)}
    # a cell inside 2 with 8 in it is covered (2 covers it): 8, the largest code, is not stored
    assert con.execute("SELECT list(code) FROM enrich_cache.pieces WHERE cell = $c", cell(*where["in8"])).fetchone()[0] == ["2"]
    # the cell on the 1|2 border is covered by its two pieces: only 1 is tested, a point not in 1 is in 2
    assert con.execute("SELECT list(code) FROM enrich_cache.pieces WHERE cell = $c", cell(*where["border"])).fetchone()[0] == ["1"]
    assert con.execute("SELECT code, tested FROM enrich_cache.cells WHERE cell = $c", cell(*where["border"])).fetchone() == ("2", True)
    # the cell with the gap is not covered: both pieces are tested and a point in neither gets no area
    assert con.execute("SELECT code, tested FROM enrich_cache.cells WHERE cell = $c", cell(*where["gap"])).fetchone() == (None, True)
    assert con.execute("SELECT list(code ORDER BY code) FROM enrich_cache.pieces WHERE cell = $c",
                       cell(*where["gap"])).fetchone()[0] == ["2", "3"]


def test_grid_stored_by_an_older_layout_is_replaced(con, tmp_path):
    from civicmash.warehouse.enrich import assign_areas

    # the layout before CACHE_VERSION 4: an `inside` column instead of `code` + `tested`
    con.execute("CREATE SCHEMA enrich_cache")
    con.execute("CREATE TABLE enrich_cache.cells (grid_key VARCHAR, city VARCHAR, kind VARCHAR, cell BIGINT, inside VARCHAR)")
    con.execute("INSERT INTO enrich_cache.cells VALUES ('old', 'testcity', 'ward', 1, '9')")
    load(con, tmp_path, [{"c": "4", "_geometry": _box(-87.70, 41.80, -87.69, 41.81)}], table="boundaries",
         dataset="wards", kind="ward", fields={"code": "c"})
    load(con, tmp_path, [{"id": "1", "date": "2018-01-01", "latitude": "41.805", "longitude": "-87.695"}],
         table="incidents", dataset="crimes", fields=CRIME_FIELDS)
    assert assign_areas(con, city="testcity", kind="ward") == 1
    assert con.execute("SELECT spatial FROM _enrich_assign").fetchone() == (4,)
    assert con.execute("SELECT count(*) FROM enrich_cache.cells WHERE grid_key = 'old'").fetchone() == (0,)
