"""All 151,176 real crime rows, delivered as Socrata would (API field names, ISO timestamps), checked
against counts computed with the csv module straight from the raw CSV."""

import csv
from collections import Counter
from datetime import datetime

import pytest

from civicmash.warehouse.enrich import enrich_incidents
from civicmash.warehouse.views import create_views
from tests.warehouse.helpers import CRIME_FIELDS, CRIME_OPTIONS, load, read_csv_records, read_geojson_records

CRIMES = "crime/chicago_crimes_2018-05-01_to_2018-11-12.csv"


@pytest.mark.slow
def test_all_real_crimes_reconcile_with_raw_csv(con, tmp_path, chicago):
    with open(chicago / CRIMES, encoding="utf-8", newline="") as fh:
        raw = list(csv.DictReader(fh))
    assert len(raw) == 151_176

    def area(v):
        return None if v in ("", "0") else int(v)

    by_area = Counter(area(r["Community Area"]) for r in raw)
    by_type = Counter(r["Primary Type"] for r in raw)
    by_month = Counter(datetime.strptime(r["Date"], "%m/%d/%Y %I:%M:%S %p").strftime("%Y-%m") for r in raw)

    recs = read_csv_records(chicago / CRIMES)
    r = load(con, tmp_path, recs, table="incidents", dataset="crimes", city="chicago", fields=CRIME_FIELDS,
             options=CRIME_OPTIONS)
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (151_176, 151_176, 0)
    create_views(con)

    got_area = dict(con.execute("SELECT community_area, sum(incidents) FROM incidents_by_area_month "
                                "GROUP BY 1").fetchall())
    assert got_area == dict(by_area)
    assert dict(con.execute("SELECT primary_type, count(*) FROM incidents_current GROUP BY 1").fetchall()) == dict(by_type)
    got_month = dict(con.execute("SELECT strftime(month, '%Y-%m'), sum(incidents) FROM incidents_by_area_month "
                                 "GROUP BY 1").fetchall())
    assert got_month == dict(by_month)

    # PROVENANCE.md facts
    one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    assert one("SELECT count(*) FROM incidents WHERE location_flag = 'missing_coordinates'")[0] == 923
    assert one("SELECT count(*) FROM incidents WHERE time_is_midnight")[0] == 1_896
    assert len(by_type) == 32
    assert one("SELECT count(*) FROM incidents WHERE community_area IS NULL")[0] == 3
    assert one("SELECT count(*) FROM incidents WHERE area_flag LIKE '%community_area_zero%'")[0] == 1
    assert one("SELECT count(*) FROM incidents WHERE district = 31")[0] > 0
    dup = con.execute("""SELECT case_number, count(*), bool_and(primary_type = 'HOMICIDE') FROM incidents
                         GROUP BY 1 HAVING count(*) > 1""").fetchall()
    assert len(dup) == 12 and all(h for _, _, h in dup)
    assert one("SELECT count(*) FROM incidents WHERE block <> block_raw")[0] > 0
    assert one("SELECT count(*) FROM incidents WHERE NOT regexp_full_match(beat, '[0-9]{4}')")[0] == 0
    lo, hi = one("SELECT min(occurred_at), max(occurred_at) FROM incidents")
    assert str(lo) == "2018-05-01 00:00:00" and str(hi) == "2018-11-12 23:59:00"
    n90 = one("SELECT count(*) FROM incidents_last_90_days")[0]
    # the 90 calendar days ending with the latest incident's day (2018-11-12): from 2018-08-15 00:00
    expect90 = sum(1 for r in raw if datetime.strptime(r["Date"], "%m/%d/%Y %I:%M:%S %p") >= datetime(2018, 8, 15))
    assert n90 == expect90

    # beats: all 274 crime beats exist among the real beat polygons
    load(con, tmp_path, read_geojson_records(chicago / "boundaries/police_beats.geojson"), table="boundaries",
         dataset="beats", city="chicago", kind="beat", fields={"code": "beat_num"})
    assert one("""SELECT count(DISTINCT beat) FROM incidents WHERE beat NOT IN
                  (SELECT code FROM boundaries WHERE kind = 'beat')""")[0] == 0
    assert one("SELECT count(DISTINCT beat) FROM incidents")[0] == 274

    # enrichment at full size: rows without a community area get one unless their point is outside every area
    load(con, tmp_path, read_geojson_records(chicago / "boundaries/community_areas.geojson"), table="boundaries",
         dataset="community_areas", city="chicago", kind="community_area",
         fields={"code": "area_numbe", "name": "community"})
    counts = enrich_incidents(con, city="chicago")
    filled = one("SELECT count(*) FROM incidents WHERE filled_from_coordinates LIKE '%community_area%'")[0]
    assert filled == counts["community_area"]["filled"]
    assert filled >= 2
    assert one("""SELECT count(*) FROM incidents i WHERE community_area IS NULL AND geom IS NOT NULL AND EXISTS
                  (SELECT 1 FROM boundaries b WHERE b.kind = 'community_area' AND ST_Intersects(b.geom, i.geom))""")[0] == 0
