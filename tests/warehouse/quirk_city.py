"""A generated "quirk city".

Two uses: (1) the time and implausible-value tests (tests/warehouse/test_time_formats.py,
test_implausible_values.py): portal exports written with the csv module (or as GeoJSON), landed the way
connectors/landing.py lands them, loaded with ``load_dataset`` into a DuckDB file; (2) the whole city
(``generate_city`` + ``city_profile``, below): every export of a city whose portals carry every quirk a profile must
state, served over HTTP by the devkit replay portal and run through the real pipeline by
tests/flows/test_quirk_city.py. Los Angeles' zone, a Los Angeles-sized bounding box, downloaded on 2024-12-01."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from tests.warehouse.helpers import read_geojson_records, write_landing

CITY_ZONE = "America/Los_Angeles"
BBOX = [33.70, -118.67, 34.34, -118.15]
DOWNLOADED = datetime(2024, 12, 1, 12, 0, tzinfo=UTC)
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


# --- the whole quirk city: files, a profile, served over HTTP ----------------------------------------------------
# One generated city ("Quirkville", in Koreatown's coordinates and Los Angeles' zone) whose portal exports carry every
# quirk the profile must be able to state (docs/new-city.md), for tests/flows/test_quirk_city.py: the files are
# written here, served by the devkit replay portal (Socrata, ArcGIS, plain files), and read by the real pipeline with
# the profile `city_profile` writes. EXPECTED says what each quirky row must become.

QUIRK_CITY = "quirkville"
STATE_PLANE = "EPSG:2229"                       # California zone V, US feet
P1, P2, P3 = (34.0600, -118.3100), (34.0700, -118.2900), (34.0580, -118.2900)   # precinct FIRST/SECOND, clusters
FAR = (34.0780, -118.3100)                      # 2 km north of P1: where a disagreeing X/Y points
PHOENIX = (33.4484, -112.0740)                  # another state
PRECINCTS = {"FIRST": ("First Precinct", -118.320, -118.300), "SECOND": ("Second Precinct", -118.300, -118.280)}
CLUSTERS = {"Cluster 8": (34.050, 34.065), "Cluster 9": (34.065, 34.080)}          # the map in force to 2024-02-14
CLUSTERS_2024 = {"Cluster 8": (34.065, 34.080), "Cluster 9": (34.050, 34.065)}     # redrawn from 2024-02-15
BOW_TIE = "Cluster 10"                          # published as a self-crossing ring: repaired at load
BLOCK_PATTERN = r"^(?P<number>\d+) HUNDRED BLOCK (?P<street>.+)$"
FILLER = 20                                     # plain rows beside the quirky ones in the Socrata crimes


def _epoch_ms(iso_utc: str) -> int:
    return int(datetime.fromisoformat(iso_utc).replace(tzinfo=UTC).timestamp() * 1000)


def _state_plane(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(lat, lon) -> (x, y) in California State Plane V feet, by DuckDB spatial (PROJ): what a county GIS publishes."""
    import duckdb

    from civicmash.warehouse.db import load_spatial

    con = duckdb.connect()
    try:
        load_spatial(con)
        return [tuple(con.execute(f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Point(?, ?), 'EPSG:4326', "
                                  f"'{STATE_PLANE}', always_xy := true) p)", [lon, lat]).fetchone())
                for lat, lon in points]
    finally:
        con.close()


def _socrata_crimes() -> list[dict]:
    """LAPD-like export under SODA names: a date column always at midnight (``MM/DD/YYYY hh:mm:ss AM`` in the export;
    the Socrata API serves it as ``2024-02-14T00:00:00.000``), the time of day in a separate HHMM integer column, the
    report time as ``YYYY/MM/DD hh:mm:ss+00``, the division spelled out."""
    def row(sid, date_occ, time_occ, rptd="2024/02/20 18:00:00+00", kind="THEFT PLAIN", area="FIRST",
            where=P1, block="1200 HUNDRED BLOCK W 6TH ST"):
        return {"dr_no": sid, "date_occ": date_occ, "time_occ": time_occ, "date_rptd": rptd, "crm_cd_desc": kind,
                "area": area, "location": block, "lat": where[0], "lon": where[1]}
    rows = [row(f"F{k:02d}", f"02/{k:02d}/2024 12:00:00 AM", 100 * (k % 24) + 15, area=("FIRST", "SECOND")[k % 2],
                where=(P1, P2)[k % 2], kind=("THEFT PLAIN", "BURGLARY", "ROBBERY", "ASSAULT")[k % 4])
            for k in range(1, FILLER + 1)]
    return rows + [
        row("S01", "02/14/2024 12:00:00 AM", 2230, "2024/02/15 08:00:00+00", "ROBBERY",
            block="1400 HUNDRED BLOCK WILSHIRE BL"),
        row("S02", "02/14/2024 12:00:00 AM", 615, area="second", where=P2),
        row("S03", "02/15/2024 12:00:00 AM", 5, area=" First ", block="1400 HUNDRED BLOCK WILSHIRE BL"),
        row("S04", "01/01/1025 12:00:00 AM", 1200),                      # a lost millennium: implausible
        row("S05", "01/01/2099 12:00:00 AM", 1200),                      # the future: implausible
        row("S06", "02/16/2024 12:00:00 AM", 1800, "1025/01/01 00:00:00+00"),   # only the report time is odd
        row("S07", "02/16/2024 12:00:00 AM", 1900, where=(0, 0)),        # the portal's "unknown"
        row("S08", "02/16/2024 12:00:00 AM", 1900, where=(-1, -1)),      # a -1 sentinel
        row("S09", "02/16/2024 12:00:00 AM", 1900, where=(34.06, -1183100)),    # the decimal point lost
        row("S10", "02/16/2024 12:00:00 AM", 1900, where=PHOENIX),       # another state
        row("S11", "yesterday", 1200),                                   # no format reads it
        row("S12", "02/17/2024 12:00:00 AM", "ab"),                      # an unreadable time of day
        row("S13", "02/17/2024 12:00:00 AM", 1000, kind="JAYWALKING"),   # no offence category takes it
        row("S14", "03/10/2024 12:00:00 AM", 230),                       # 02:30 does not exist that night
        row("S15", "02/18/2024 12:00:00 AM", 1000, where=(-118.31, 34.06)),     # latitude and longitude swapped
    ]


def _arcgis_crimes() -> list[tuple[dict, tuple[float, float] | None]]:
    """An ArcGIS layer: epoch milliseconds, an ISO report time with an offset, X/Y in State Plane feet beside the
    geometry (agreeing, alone, or 2 km off)."""
    (x1, y1), (x2, y2), (x3, y3), (xf, yf) = _state_plane([P1, P2, P3, FAR])

    def props(sid, occ_utc, rpt, district, x, y):
        return {"INC_NO": sid, "OCC_DATE": _epoch_ms(occ_utc), "RPT_DATE": rpt, "OFFENSE": "BURGLARY",
                "DISTRICT": district, "X": x, "Y": y}
    return [
        (props("A01", "2024-02-20T06:30:00", "2024-02-20T09:15:00-08:00", "SECOND", x2, y2), (P2[1], P2[0])),
        (props("A02", "2024-02-21T20:00:00", "2024-02-21T13:00:00-08:00", None, x3, y3), None),   # X/Y only
        (props("A03", "2024-02-22T20:00:00", "2024-02-22T13:00:00-08:00", "FIRST", xf, yf), (P1[1], P1[0])),
        (props("A04", "2024-03-01T20:00:00", "2024-03-01T12:00:00Z", "FIRST", x1, y1), (P1[1], P1[0])),
    ]


def _victim_rows() -> list[dict]:
    """One row per victim (case + victim number): occurrence times in ISO with a ``Z`` that is really local, report
    times ``MM/DD/YYYY hh:mm:ss AM`` (the one products use) or a date alone, a status the profile filters on,
    neighbourhood clusters written ``Cluster 8``."""
    def row(case, seq, occurred, reported, status="OPEN", cluster="Cluster 8", where=P3):
        return {"CaseNo": case, "VictimSeq": seq, "OccurredOn": occurred, "ReportedOn": reported, "Status": status,
                "Offense": "ASSAULT", "Cluster": cluster, "Block": "500 B/O S NORMANDIE AVE",
                "Lat": where[0], "Lon": where[1]}
    return [
        row("Q100", 1, "2024-02-10T21:00:00Z", "02/11/2024 09:30:00 AM"),
        row("Q100", 2, "2024-02-10T21:00:00Z", "02/11/2024 09:30:00 AM"),     # the same case, a second victim
        row("Q101", 1, "2024-02-12", "2024-02-12"),                           # dates only
        row("Q102", 1, "2024-02-13T10:00:00Z", "02/13/2024 11:00:00 AM", status="UNFOUNDED"),   # filtered out
        row("Q100", 1, "2024-02-10T21:00:00Z", "02/11/2024 09:30:00 AM"),     # a duplicate victim row
        row("Q103", 1, "2024-02-14T10:00:00Z", "02/14/2024 10:15:00 PM", cluster="cluster 9", where=P1),
    ]


def _library_rows() -> list[dict]:
    (x1, y1), (xf, yf) = _state_plane([P1, FAR])
    return [{"Name": "Biblioteca Peñasco", "Address": "1401 Wilshire Bl", "Lat": P1[0], "Lon": P1[1], "X": x1, "Y": y1},
            {"Name": "Café Ñandú Reading Room", "Address": "501 S Normandie Av", "Lat": P2[0], "Lon": P2[1],
             "X": xf, "Y": yf}]


def _write_precincts(folder: Path) -> None:
    """``precincts.{shp,shx,dbf,prj}``: two rectangles in State Plane feet, codes spelled out (FIRST, SECOND)."""
    import duckdb

    from civicmash.warehouse.db import load_spatial

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        load_spatial(con)
        values = ", ".join(
            f"('{code}', '{name}', ST_Transform(ST_MakeEnvelope({w}, 34.05, {e}, 34.08), 'EPSG:4326', "
            f"'{STATE_PLANE}', always_xy := true))" for code, (name, w, e) in PRECINCTS.items())
        con.execute(f"COPY (SELECT * FROM (VALUES {values}) t(PRECINCT, PNAME, geom)) TO '{folder}/precincts.shp' "
                    f"WITH (FORMAT GDAL, DRIVER 'ESRI Shapefile', SRS '{STATE_PLANE}')")
    finally:
        con.close()


def _cluster_features(clusters: dict = CLUSTERS, *, bow_tie: bool = True) -> dict:
    def ring(s, w, n, e):
        return [[w, s], [e, s], [e, n], [w, n], [w, s]]
    features = [{"type": "Feature", "properties": {"NAME": name},
                 "geometry": {"type": "Polygon", "coordinates": [ring(s, -118.32, n, -118.28)]}}
                for name, (s, n) in clusters.items()]
    if not bow_tie:
        return {"type": "FeatureCollection", "features": features}
    bow_tie = [[-118.32, 34.10], [-118.30, 34.11], [-118.30, 34.10], [-118.32, 34.11], [-118.32, 34.10]]
    features.append({"type": "Feature", "properties": {"NAME": BOW_TIE},
                     "geometry": {"type": "Polygon", "coordinates": [bow_tie]}})
    return {"type": "FeatureCollection", "features": features}


FILES = {"crimes": "crime/socrata_crimes.csv", "crimes_arcgis": "crime/arcgis_crimes.geojson",
         "victims": "crime/victims.csv", "precincts": "boundaries/precincts.shp",
         "clusters": "boundaries/clusters.geojson", "clusters_2024": "boundaries/clusters_2024.geojson",
         "libraries": "services/libraries_latin1.csv"}


def generate_city(root: Path) -> Path:
    """Write every export of the quirk city under ``root`` (the replay directory) and return it."""
    for rel in FILES.values():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
    write_csv(root / FILES["crimes"], _socrata_crimes())
    write_geojson(root / FILES["crimes_arcgis"], _arcgis_crimes())
    write_csv(root / FILES["victims"], _victim_rows())
    _write_precincts((root / FILES["precincts"]).parent)
    (root / FILES["clusters"]).write_text(json.dumps(_cluster_features()), encoding="utf-8")
    (root / FILES["clusters_2024"]).write_text(json.dumps(_cluster_features(CLUSTERS_2024, bow_tie=False)),
                                               encoding="utf-8")
    rows = _library_rows()
    with open(root / FILES["libraries"], "w", encoding="latin-1", newline="") as fh:   # 0xF1 for ñ: not UTF-8
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def city_profile(base_url: str | None = None) -> dict:
    """The quirk city's profile as parsed TOML. ``base_url`` None: every dataset names its ``replay`` file (what
    the replay portal serves). Else the city's own portal: the Socrata and ArcGIS datasets' ``domain`` is
    ``base_url`` (``http://127.0.0.1:PORT``, a scheme of its own) and each file's ``url`` lies under it."""
    located = {"bbox": BBOX, "bbox_tolerance_m": 500}

    def where(name: str, protocol: str, dataset_id: str | None = None) -> dict:
        if base_url is None:
            return {"protocol": protocol, "replay": FILES[name], **({"dataset_id": dataset_id} if dataset_id else {}),
                    **({"domain": "quirkville.example"} if dataset_id else {})}
        if dataset_id:
            return {"protocol": protocol, "domain": base_url, "dataset_id": dataset_id}
        return {"protocol": protocol, "url": f"{base_url}/files/{FILES[name]}"}

    datasets = {
        "crimes": {**where("crimes", "socrata", "qrk1-crim"), "format": "csv", "table": "incidents",
                   "title": "Crimes (SODA CSV)", "licence": "generated test data",
                   # the API's ISO form of the export's dates, then the report times' own form
                   "options": {**located, "time_formats": ["%Y-%m-%dT%H:%M:%S.%g", "%Y/%m/%d %H:%M:%S%z"],
                               "min_date": "2000-01-01"},
                   # 4 of 35 rows are quarantined on purpose (two implausible dates, two unreadable times)
                   "health": {"max_quarantine_share": 0.2},
                   "fields": {"source_id": "dr_no", "case_number": "dr_no", "occurred_at": "date_occ",
                              "occurred_time": "time_occ", "reported_at": "date_rptd", "primary_type": "crm_cd_desc",
                              "district": "area", "block": "location", "lat": "lat", "lon": "lon"}},
        "crimes_arcgis": {**where("crimes_arcgis", "arcgis", "QuirkIncidents"), "format": "geojson",
                          "table": "incidents", "title": "Incidents (ArcGIS layer)", "licence": "generated test data",
                          "options": {**located, "time_formats": ["epoch_ms", "%Y-%m-%dT%H:%M:%S%z"],
                                      "crs": STATE_PLANE, "xy_tolerance_m": 100},
                          "fields": {"source_id": "INC_NO", "occurred_at": "OCC_DATE", "reported_at": "RPT_DATE",
                                     "primary_type": "OFFENSE", "district": "DISTRICT", "source_x": "X",
                                     "source_y": "Y"}},
        "victims": {**where("victims", "file"), "format": "csv", "table": "incidents",
                    "title": "Victims (one row per victim)", "licence": "generated test data",
                    "options": {**located, "time_formats": ["%Y-%m-%dT%H:%M:%S%z", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d"],
                                "z_is_local": True,
                                "incident_time": "reported", "row_unit": "victim",
                                "drop": {"Status": ["UNFOUNDED"]}},
                    # 1 duplicate victim row of 5 kept rows is quarantined on purpose
                    "health": {"max_quarantine_share": 0.25},
                    "fields": {"source_id": ["CaseNo", "VictimSeq"], "case_number": "CaseNo",
                               "occurred_at": "OccurredOn", "reported_at": "ReportedOn", "primary_type": "Offense",
                               "community_area": "Cluster", "block": "Block", "lat": "Lat", "lon": "Lon"}},
        "precincts": {**where("precincts", "file"), "format": "shapefile", "table": "boundaries", "kind": "precinct",
                      "title": "Precincts (loose shapefile)", "licence": "generated test data",
                      "fields": {"source_id": "PRECINCT", "code": "PRECINCT", "name": "PNAME"}},
        "clusters": {**where("clusters", "file"), "format": "geojson", "table": "boundaries",
                     "kind": "neighbourhood_cluster", "title": "Neighbourhood clusters", "licence": "generated test data",
                     "options": {"valid_to": "2024-02-14"},      # redrawn: two vintages of one kind
                     "fields": {"source_id": "NAME", "code": "NAME", "name": "NAME"}},
        "clusters_2024": {**where("clusters_2024", "file"), "format": "geojson", "table": "boundaries",
                          "kind": "neighbourhood_cluster", "title": "Neighbourhood clusters, 2024 lines",
                          "licence": "generated test data", "options": {"valid_from": "2024-02-15"},
                          "fields": {"source_id": "NAME", "code": "NAME", "name": "NAME"}},
        "libraries": {**where("libraries", "file"), "format": "csv", "table": "services", "kind": "library",
                      "title": "Libraries (Latin-1 CSV)", "licence": "generated test data",
                      "options": {**located, "encoding": "latin-1", "crs": STATE_PLANE, "xy_tolerance_m": 100},
                      "fields": {"name": "Name", "address": "Address", "lat": "Lat", "lon": "Lon", "source_x": "X",
                                 "source_y": "Y"}},
    }
    return {
        "name": QUIRK_CITY, "title": "Quirkville (generated)", "timezone": CITY_ZONE, "synthetic": True,
        "center": [34.065, -118.30],
        "datasets": datasets,
        "areas": {"primary": "precinct",
                  "district": {"kind": "precinct", "label": "Precinct", "plural": "precincts",
                               "values": {"FIRST": "1", "SECOND": "2"}},
                  "community_area": {"kind": "neighbourhood_cluster", "label": "Neighbourhood cluster",
                                     "plural": "neighbourhood clusters",
                                     "values": {"Cluster 8": "8", "Cluster 9": "9", "Cluster 10": "10"}}},
        "places": {"presets": ["dc_bo"], "block_size": 100,
                   "patterns": [{"regex": BLOCK_PATTERN, "block_size": 100}]},
        "offences": {"field": "primary_type",
                     "crosswalk": {"robbery": ["ROBBERY"], "assault": ["ASSAULT"], "burglary": ["BURGLARY"],
                                   "theft": ["THEFT*"]}},
        "maps": {"explorer": {"boundary_kind": "precinct"}},
    }
