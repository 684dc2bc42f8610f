"""Normalisation cases, most taken from the quirks listed in shared/data/chicago/PROVENANCE.md."""

import json
from decimal import Decimal

import pytest

from tests.warehouse.helpers import CRIME_FIELDS, CRIME_OPTIONS, load, read_csv_records, read_geojson_records


def crime(**kw):
    base = {"id": "1", "case_number": "JB1", "date": "2018-05-01T07:25:00.000", "block": "063XX S EBERHART AVE",
            "iucr": "1153", "primary_type": "DECEPTIVE PRACTICE", "description": "X", "arrest": "false",
            "domestic": "true", "beat": "0312", "district": "003", "ward": "20", "community_area": "42",
            "fbi_code": "11", "latitude": "41.99", "longitude": "-87.69", "updated_on": "2018-11-19T16:22:02.000"}
    base.update(kw)
    return base


def one(con, sql, params=None):
    return con.execute(sql, params or []).fetchone()


def test_padding_types_and_flags(con, tmp_path):
    recs = [crime(id="1", beat="925", district="009", iucr="110", ward="02", community_area="0",
                  date="05/01/2018 12:00:00 AM", block="0000X S Wacker Dr", arrest="true"),
            crime(id="2", latitude=None, longitude=None, community_area=None, ward=None),
            crime(id="3", date="2018-05-01T12:30:00.000", iucr="041A")]
    r = load(con, tmp_path, recs, table="incidents", fields=CRIME_FIELDS, options=CRIME_OPTIONS)
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (3, 3, 0)
    row = one(con, """SELECT beat, district, iucr, ward, community_area, area_flag, time_is_midnight, occurred_at,
                      block, block_raw, arrest, domestic FROM incidents WHERE source_id = '1'""")
    assert row[:6] == ("0925", 9, "0110", 2, None, "community_area_zero")
    assert row[6] is True and str(row[7]) == "2018-05-01 00:00:00"
    assert row[8:] == ("0000X S WACKER DR", "0000X S Wacker Dr", True, True)
    row = one(con, "SELECT lat, lon, geom, location_flag, area_flag FROM incidents WHERE source_id = '2'")
    assert row == (None, None, None, "missing_coordinates", "community_area_missing,ward_missing")
    row = one(con, "SELECT time_is_midnight, iucr, source_updated_at, ST_AsText(geom) FROM incidents WHERE source_id = '3'")
    assert row[0] is False and row[1] == "041A" and str(row[2]) == "2018-11-19 16:22:02"
    assert row[3] == "POINT (-87.69 41.99)"


def test_coordinates_from_state_plane_when_latlon_missing(con, tmp_path):
    # police district 1 station: X/Y 1176569.052, 1891771.704 (EPSG:3435) = 41.85837259, -87.62735617
    recs = [crime(latitude=None, longitude=None, x_coordinate="1176569.052", y_coordinate="1891771.704")]
    load(con, tmp_path, recs, table="incidents", fields=CRIME_FIELDS, options=CRIME_OPTIONS)
    lat, lon, sx, crs, flag = one(con, "SELECT lat, lon, source_x, source_crs, location_flag FROM incidents")
    assert lat == pytest.approx(41.85837259, abs=1e-6) and lon == pytest.approx(-87.62735617, abs=1e-6)
    assert sx == 1176569.052 and crs == "EPSG:3435" and flag is None


def test_outside_bbox_is_flagged_not_dropped(con, tmp_path):
    recs = [crime(id="1", latitude="42.03", longitude="-87.75"), crime(id="2", latitude="0", longitude="0"),
            crime(id="3", latitude="95", longitude="-87")]
    r = load(con, tmp_path, recs, table="incidents", fields=CRIME_FIELDS,
             options={"bbox": [41.64, -87.94, 42.023, -87.52]})
    assert r.rows_loaded == 3
    flags = dict(con.execute("SELECT source_id, location_flag FROM incidents").fetchall())
    assert flags == {"1": "outside_city", "2": "invalid_coordinates", "3": "invalid_coordinates"}


def test_bom_header_and_trailing_space_header_resolve(con, tmp_path):
    recs = [{"\ufeffID": "7", "NAME ": "South Shore", "Date": "05/01/2018 12:00:00 AM", "LOCATION": "(41.7, -87.5)"}]
    fields = {"source_id": "ID", "case_number": "NAME", "occurred_at": "Date", "location": "LOCATION"}
    r = load(con, tmp_path, recs, table="incidents", fields=fields)
    assert r.rows_loaded == 1 and r.missing_fields == ()
    assert one(con, "SELECT source_id, case_number, lat, lon FROM incidents") == ("7", "South Shore", 41.7, -87.5)


def test_socrata_location_object_and_amounts(con, tmp_path):
    recs = [crime(latitude=None, longitude=None,
                  location=json.dumps({"latitude": "41.8", "longitude": "-87.6", "human_address": "{}"}))]
    load(con, tmp_path, recs, table="incidents", fields=CRIME_FIELDS)
    assert one(con, "SELECT lat, lon FROM incidents") == (41.8, -87.6)
    lines = [{"dept": "POLICE", "amt": "$1,234.50"}, {"dept": "FIRE", "amt": "(20.00)"}, {"dept": "X", "amt": " 7 "}]
    r = load(con, tmp_path, lines, table="spending", dataset="budget", fields={"department": "dept", "amount": "amt"},
             options={"defaults": {"fiscal_year": "2019"}})
    assert r.rows_loaded == 3
    got = con.execute("SELECT source_id, department, amount, fiscal_year FROM spending ORDER BY source_id").fetchall()
    assert got == [("row:1", "POLICE", Decimal("1234.50"), 2019), ("row:2", "FIRE", Decimal("-20.00"), 2019),
                   ("row:3", "X", Decimal("7.00"), 2019)]


def test_real_fire_stations_multiline_location(con, tmp_path, chicago):
    recs = read_csv_records(chicago / "services/fire_stations.csv")
    r = load(con, tmp_path, recs, table="services", dataset="fire_stations", kind="fire",
             fields={"source_id": "name", "name": "name", "address": "address", "location": "location"})
    assert (r.rows_in, r.rows_loaded) == (92, 92)
    n, with_ll, cat = one(con, "SELECT count(*), count(lat), min(category) FROM services")
    assert (n, with_ll, cat) == (92, 92, "fire")
    lat, lon = one(con, "SELECT lat, lon FROM services WHERE source_id = 'E5'")
    assert 41.85 < lat < 41.90 and -87.66 < lon < -87.62  # 324 S Desplaines St


def test_real_libraries_trailing_space_header(con, tmp_path, chicago):
    # as the file protocol delivers it: raw header names, "NAME " with a trailing space
    recs = read_csv_records(chicago / "services/libraries.csv", soda=False)
    assert "NAME " in recs[0]
    r = load(con, tmp_path, recs, table="services", dataset="libraries", kind="library",
             fields={"name": "NAME", "phone": "PHONE", "hours": "HOURS OF OPERATION", "location": "LOCATION"})
    assert r.rows_loaded == 81 and r.missing_fields == ()
    assert one(con, "SELECT count(name), count(lat) FROM services") == (81, 81)
    assert one(con, "SELECT phone FROM services WHERE name = 'South Shore'")[0] == "Closed for Construction"


def test_real_parks_wkt_polygons(con, tmp_path, chicago):
    recs = read_csv_records(chicago / "services/parks_cpd.csv")
    assert max(len(r["the_geom"] or "") for r in recs) > 131_072
    r = load(con, tmp_path, recs, table="services", dataset="parks", kind="park",
             fields={"source_id": "park_no", "name": "park", "address": "location", "wkt": "the_geom"})
    assert r.rows_in == 614 and r.rows_loaded + r.rows_quarantined == 614
    assert r.rows_loaded == 614, r.reasons
    kinds = dict(con.execute("SELECT ST_GeometryType(geom)::VARCHAR, count(*) FROM services GROUP BY 1").fetchall())
    assert set(kinds) <= {"MULTIPOLYGON", "POLYGON"}
    # lat/lon is a point inside each park, inside Chicago
    assert one(con, "SELECT count(*) FROM services WHERE lat BETWEEN 41.64 AND 42.03 AND lon BETWEEN -87.95 AND -87.52")[0] == 614
    assert one(con, "SELECT count(*) FROM services WHERE NOT ST_Intersects(geom, ST_Point(lon, lat))")[0] == 0


def test_real_health_centres_duplicate_address_header(con, tmp_path, chicago):
    recs = read_csv_records(chicago / "services/primary_care_community_health_centers.csv")
    r = load(con, tmp_path, recs, table="services", dataset="chc", kind="community_health_centre",
             fields={"name": "facility", "address": "address", "location": "address", "lat": "lat", "lon": "lon"})
    assert r.rows_in == 120 and r.rows_loaded == 120
    # every centre gets coordinates: the LAT/LON columns, else the "(lat, lon)" line of the Address cell
    assert one(con, "SELECT count(lat) FROM services")[0] == 120


def test_real_population_crcrlf(con, tmp_path, chicago):
    recs = read_csv_records(chicago / "demographics/community_area_population_2000_2010.csv", soda=False)
    assert len(recs) == 77  # blank "rows" from \r\r\n are not records
    r = load(con, tmp_path, recs, table="population", dataset="pop2010", kind="community_area",
             fields={"source_id": "NID", "area_code": "NID", "area_name": "community", "population": "POP2010"},
             options={"defaults": {"year": "2010"}})
    assert r.rows_loaded == 77
    assert one(con, "SELECT sum(population), min(year), max(year) FROM population") == (2_695_598, 2010, 2010)
    assert one(con, "SELECT area_code, area_name FROM population WHERE area_name = 'DOUGLAS'") == ("35", "DOUGLAS")


def test_real_budget_total(con, tmp_path, chicago):
    recs = read_csv_records(chicago / "spending/budget_2019_appropriations.csv")
    assert "2019_ordinance_amount" in recs[0]
    r = load(con, tmp_path, recs, table="spending", dataset="budget_2019",
             fields={"fund_code": "fund_code", "fund": "fund_description", "department": "department_description",
                     "department_code": "department_number", "account": "appropriation_account_description",
                     "amount": "2019_ordinance_amount"}, options={"defaults": {"fiscal_year": "2019"}})
    assert (r.rows_in, r.rows_loaded) == (3507, 3507)
    total, depts, code = one(con, "SELECT sum(amount), count(DISTINCT department), min(fund_code) FILTER (WHERE fund = 'CORPORATE FUND') FROM spending")
    assert round(total / Decimal(1e9), 2) == Decimal("11.40") and depts == 37 and code == "0100"


def test_real_boundaries_codes(con, tmp_path, chicago):
    r = load(con, tmp_path, read_geojson_records(chicago / "boundaries/police_districts.geojson"),
             table="boundaries", dataset="districts", kind="district", fields={"code": "dist_num"})
    assert r.rows_loaded == 25
    assert one(con, "SELECT count(*) FROM boundaries WHERE code = '31'")[0] == 3
    load(con, tmp_path, read_geojson_records(chicago / "boundaries/police_beats.geojson"),
         table="boundaries", dataset="beats", kind="beat", fields={"code": "beat_num"})
    assert one(con, "SELECT count(*) FROM boundaries WHERE kind = 'beat' AND length(code) = 4")[0] == 277
    r = load(con, tmp_path, read_csv_records(chicago / "boundaries/CommAreas_wkt.csv"), table="boundaries",
             dataset="ca_wkt", kind="community_area", fields={"code": "area_numbe", "name": "community", "wkt": "the_geom"})
    assert r.rows_loaded == 77
    assert one(con, "SELECT ST_GeometryType(geom)::VARCHAR FROM boundaries WHERE dataset = 'ca_wkt' LIMIT 1")[0] == "MULTIPOLYGON"


def test_real_lastcall_and_licences(con, tmp_path, chicago):
    data = json.loads((chicago / "licenses/lastcall_census_bars_2mi_330NWabash.json").read_text())
    recs = [{k: (None if v is None else v if isinstance(v, str) else json.dumps(v)) for k, v in ven.items()}
            for ven in data["venues"]]
    r = load(con, tmp_path, recs, table="venues", dataset="lastcall",
             fields={"source_id": "id", "name": "name", "address": "address", "lat": "lat", "lon": "lng",
                     "venue_type": "class"})
    assert r.rows_loaded == 1020
    assert dict(con.execute("SELECT venue_type, count(*) FROM venues GROUP BY 1").fetchall()) == {
        "restaurant-bar": 888, "bar": 132}
    from civicmash.warehouse.views import create_views
    create_views(con)
    recs = read_csv_records(chicago / "licenses/business_licenses_sample10k.csv")
    rule = {"Tavern": "bar", "Late Hour": "bar", "Consumption on Premises - Incidental Activity": "restaurant-bar",
            "Music and Dance": "entertainment", "Public Place of Amusement": "entertainment", "Outdoor Patio": "patio"}
    r = load(con, tmp_path, recs, table="venues", dataset="licences",
             fields={"source_id": "id", "name": "doing_business_as_name", "licence_type": "license_description",
                     "licence_status": "license_status", "licence_start": "license_term_start_date",
                     "licence_end": "license_term_expiration_date", "lat": "latitude", "lon": "longitude",
                     "location": "location"},
             options={"venue_rule": rule, "bbox": [41.64, -87.94, 42.023, -87.52]})
    assert r.rows_in == 10_000 and r.rows_loaded + r.rows_quarantined == 10_000
    got = dict(con.execute("SELECT venue_type, count(*) FROM venues WHERE dataset = 'licences' GROUP BY 1").fetchall())
    assert got["bar"] == 160 + 20 and got["restaurant-bar"] == 333 and got["entertainment"] == 22 + 69
    assert got["patio"] == 54
    assert one(con, "SELECT count(*) FROM venues_bars WHERE dataset = 'licences'")[0] == 513
    assert one(con, "SELECT count(*) FROM venues WHERE dataset = 'licences' AND lat IS NULL")[0] == 775
    assert one(con, "SELECT count(licence_start) > 9000 FROM venues WHERE dataset = 'licences'")[0]
