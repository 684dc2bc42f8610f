"""Canonical tables of the warehouse: DDL plus a plain-words comment on every table and column.

The comments are the data dictionary a reporter reads (``docs/warehouse.md`` is generated from
them by :func:`warehouse.docs.schema_markdown`), so they say what a value *means*, its units and
its caveats, not how it is computed internally.
"""

from __future__ import annotations

import duckdb

Column = tuple[str, str, str]  # name, SQL type, comment

_PROVENANCE: list[Column] = [
    ("city", "VARCHAR NOT NULL", "City slug this row belongs to (e.g. 'chicago'); matches cities/<city>.toml."),
    ("dataset", "VARCHAR NOT NULL",
     "Name of the dataset in the city profile this row came from (e.g. 'crimes'); see the datasets table "
     "for where it was published and under which licence."),
    ("source_id", "VARCHAR NOT NULL",
     "The record's own identifier at the source (e.g. the portal's ID column). When a source has no id "
     "column this is 'row:<n>', the record's position in the download, which is only stable for the same download."),
    ("fetched_at", "TIMESTAMPTZ", "When civicmash downloaded this record from the portal."),
    ("source_updated_at", "TIMESTAMP",
     "When the publisher last changed this record, as the portal reports it (local time of the city, no zone); "
     "NULL when the source does not say."),
    ("row_hash", "VARCHAR",
     "MD5 fingerprint of the raw record exactly as downloaded; two rows with the same hash had identical source values."),
]

_POINT: list[Column] = [
    ("lat", "DOUBLE", "Latitude in degrees (WGS84), as published or derived from the source's coordinates; NULL when unknown."),
    ("lon", "DOUBLE", "Longitude in degrees (WGS84, negative = west of Greenwich); NULL when unknown."),
    ("geom", "GEOMETRY", "The location as a geometry in WGS84 longitude/latitude, for spatial queries (ST_Intersects, ST_Distance...)."),
    ("source_x", "DOUBLE",
     "The x coordinate in the source's own projection (e.g. Illinois State Plane feet for Chicago crimes), as published."),
    ("source_y", "DOUBLE", "The y coordinate in the source's own projection, as published."),
    ("source_crs", "VARCHAR", "Projection of source_x/source_y, as an EPSG code (e.g. 'EPSG:3435')."),
    ("location_flag", "VARCHAR",
     "Why the location needs care: 'missing_coordinates' (the source gave none; the row is still counted), "
     "'invalid_coordinates' (values outside the globe, or exactly 0,0; set to NULL), 'sentinel_coordinates' (a "
     "latitude or longitude the source uses for 'no location', -1 or 0 by default; set to NULL), "
     "'swapped_coordinates' (latitude and longitude exchanged: swapped back they fall in the city; set to NULL, not "
     "moved), 'misplaced_decimal' (lost or extra digits, e.g. -8763 for -87.63; set to NULL, not moved), "
     "'outside_city' (outside the city's bounding box given in the profile, beyond its tolerance; kept), "
     "'coordinates_disagree' (the published latitude/longitude and state-plane x/y are farther apart than the "
     "profile's tolerance; the latitude/longitude are kept). NULL when the location looks fine."),
]

TABLES: dict[str, tuple[str, list[Column]]] = {
    "incidents": (
        "Police-reported incidents (crimes and some non-criminal reports), one row per record of the portal: rows "
        "are the source's rows, and a case can have several (one per victim; datasets.row_unit says what a row "
        "counts). Chicago's homicides are one row per victim, not per case (12 case numbers of May-November 2018 "
        "repeat), so a homicide case number can appear more than once: count source_id for victims and DISTINCT "
        "case_number for cases. Locations are generalised by the police to the block.",
        _PROVENANCE + [
            ("case_number", "VARCHAR", "The police department's case (records division) number. Rows are the source's rows and a case can have several (one per victim): all victims of one homicide share it, so count DISTINCT case_number for cases."),
            ("occurred_at", "TIMESTAMP",
             "When the incident happened (or began), as the city's local wall-clock time (no zone; the profile's "
             "timezone), as reported by the police; often an estimate. This is the time every product shows and "
             "filters on. Where the profile says options.incident_time = 'reported', it holds the report time instead."),
            ("occurred_at_utc", "TIMESTAMPTZ",
             "The same moment as occurred_at as an absolute instant (TIMESTAMP WITH TIME ZONE, shown in the "
             "session's zone, UTC by default): read from the source's offset or epoch number, or from its local "
             "time in the dataset's time zone (options.time_zone). In a daylight-saving gap (a local time that "
             "does not exist) it is the instant an hour later; for a repeated hour, the standard-time one (see time_flag)."),
            ("time_is_midnight", "BOOLEAN",
             "TRUE when the recorded time is exactly 00:00:00. Police use midnight when the time is unknown or "
             "rounded, so these rows should not be read as 'happened at midnight'."),
            ("time_unknown", "BOOLEAN",
             "TRUE when the source gave a date without a time of day (a date-only value, or an empty separate time "
             "column): occurred_at is then that day's 00:00 and says nothing about the hour."),
            ("time_flag", "VARCHAR",
             "Doubts about the times (comma-separated): 'dst_gap' (occurred_at is a local time skipped when clocks "
             "went forward, kept as written), 'dst_ambiguous' (occurred_at happened twice when clocks went back), "
             "'implausible_occurred_at' / 'implausible_reported_at' / 'implausible_occurred_end_at' (that source "
             "time is outside the profile's min_date..max_date, e.g. a year-1025 start date; kept as given). "
             "An implausible incident time (the one in occurred_at) is quarantined instead, unless the profile sets "
             "options.implausible_dates = 'flag'. NULL when none."),
            ("occurred_start_at", "TIMESTAMP",
             "When the incident began per the source's occurrence field, city-local wall time: equal to occurred_at "
             "unless the profile makes the report time the incident time; NULL when not mapped."),
            ("reported_at", "TIMESTAMP", "When the incident was reported to the police, city-local wall time; NULL when not mapped."),
            ("occurred_end_at", "TIMESTAMP",
             "When the incident ended (sources that give a period: 'between ... and ...'), city-local wall time; NULL when not mapped."),
            ("primary_type", "VARCHAR", "The broad offence category of the IUCR code, e.g. 'THEFT', 'BATTERY', 'HOMICIDE'."),
            ("description", "VARCHAR", "The secondary description of the IUCR code, e.g. 'RETAIL THEFT'."),
            ("iucr", "VARCHAR",
             "Illinois Uniform Crime Reporting code: four characters identifying the offence (e.g. '0110' first-degree "
             "murder, '041A'); zero-padded to four characters here so it joins to code lists that drop the zero."),
            ("fbi_code", "VARCHAR", "The FBI National Incident-Based Reporting System offence code (e.g. '08B' simple battery)."),
            ("offence", "VARCHAR",
             "The canonical offence category, the same set in every city (offence_categories): homicide, robbery, "
             "assault, sexual_assault, burglary, theft, motor_vehicle_theft, criminal_damage, narcotics, weapons, other. "
             "Set from the city's own type (usually primary_type) by the crosswalk in the city profile's [offences]; "
             "NULL when the crosswalk does not place the source value (listed in offence_unmapped) or the city has none."),
            ("crime_against", "VARCHAR",
             "Whom the offence category is against, NIBRS's grouping: 'person', 'property' (robbery included, as in "
             "NIBRS), 'society' (drugs, weapons) or 'other' (the catch-all category other); NULL when offence is NULL."),
            ("location_description", "VARCHAR", "Kind of place, e.g. 'STREET', 'RESIDENCE', 'CTA PLATFORM'; NULL when not given."),
            ("block", "VARCHAR", "The address generalised to the block ('063XX S EBERHART AVE'), upper-cased here for grouping."),
            ("block_raw", "VARCHAR", "The block exactly as published (some sources use mixed case)."),
            ("arrest", "BOOLEAN", "TRUE if an arrest was made (as of the source's last update)."),
            ("domestic", "BOOLEAN", "TRUE if the incident was domestic-related as defined by the Illinois Domestic Violence Act."),
            ("beat", "VARCHAR",
             "Police beat: the smallest police geographic unit (one patrol area), a 4-digit code whose first two "
             "digits are the district ('0925' = district 9). Zero-padded to 4 digits."),
            ("district", "INTEGER", "Police district number (1-25; 31 is the airport/unassigned area). The source pads it to '009'."),
            ("ward", "INTEGER", "City council ward (1-50), the area of one alderman."),
            ("community_area", "INTEGER",
             "Chicago community area number (1-77), the city's stable statistical neighbourhoods. NULL when the source "
             "left it empty or gave 0 (see area_flag); may be filled from the coordinates (see filled_from_coordinates)."),
            ("area_flag", "VARCHAR",
             "Problems with the areas as published: 'community_area_zero' (the source said 0, not a real area), "
             "'community_area_missing', 'ward_missing', 'beat_missing', 'district_missing' (comma-separated)."),
            ("filled_from_coordinates", "VARCHAR",
             "Which of community_area, beat, district, ward were empty at the source and were filled in by civicmash "
             "from the coordinates and the boundary maps (comma-separated); NULL when all came from the source."),
            ("area_mismatch", "VARCHAR",
             "Which stated areas disagree with the boundary the coordinates fall in (comma-separated, e.g. 'ward'). "
             "The published value is kept, not overwritten: mismatches usually mean a boundary changed or the point sits on a border."),
        ] + _POINT + [
            ("valid_from", "TIMESTAMPTZ",
             "Since when the warehouse holds this version of the record: the fetched_at of the download that first "
             "brought exactly these source values (same row_hash). Earlier versions are in incidents_history."),
        ],
    ),
    "venues": (
        "Licensed premises (business licences and bar lists), one row per source record. venue_type says which "
        "ones count as bars under the city profile's rule; the venues_bars view keeps only those.",
        _PROVENANCE + [
            ("name", "VARCHAR", "Name the business trades under (doing-business-as name)."),
            ("venue_type", "VARCHAR",
             "civicmash's classification: 'bar' (tavern or late-hour licence), 'restaurant-bar' (alcohol consumed on "
             "premises incidental to food), 'entertainment', 'patio'; NULL for licences that are not bar-like. The "
             "rule is options.venue_rule in the city profile."),
            ("licence_type", "VARCHAR", "The licence description as published, e.g. 'Tavern', 'Late Hour'."),
            ("licence_status", "VARCHAR", "The licence status code as published (e.g. AAI issued, AAC cancelled, REV revoked)."),
            ("licence_start", "DATE", "First day of the licence term."),
            ("licence_end", "DATE", "Last day of the licence term (expiration date)."),
            ("address", "VARCHAR", "Street address as published."),
        ] + _POINT,
    ),
    "services": (
        "Public services people look for: police and fire stations, warming centres, clinics, libraries, schools, "
        "parks, ward offices. One row per site.",
        _PROVENANCE + [
            ("name", "VARCHAR", "Name of the site."),
            ("category", "VARCHAR",
             "What kind of service, from civicmash's taxonomy (docs/locator.md): library, clinic, community_health_centre, "
             "hospital, school, park, police, fire, warming_centre, cooling_centre, ward_office, senior_centre, "
             "community_service_centre. A published category the taxonomy does not know is kept as its slug "
             "(lower case, '_' between words); category_source keeps the value as published."),
            ("category_source", "VARCHAR",
             "The category as published, or the city profile's kind when the whole dataset is one kind of site."),
            ("subtype", "VARCHAR",
             "What hosts the service, when the source says (Chicago warming centres: 'Library', 'Police Station', "
             "'Regional Senior Center', 'Community Service Center'); NULL otherwise."),
            ("organization", "VARCHAR", "Who runs the site, as the city profile or the source names it (e.g. 'Chicago Public Library')."),
            ("address", "VARCHAR", "Street address as published (some sources embed the city and zip)."),
            ("phone", "VARCHAR", "Phone number as published (free text: may say e.g. 'Closed for Construction')."),
            ("hours", "VARCHAR", "Opening hours as published (free text); read into service_hours where civicmash can."),
            ("hours_by_day", "VARCHAR",
             "Opening hours given per day in separate source columns, as JSON text day -> [opens, closes] exactly as "
             "published (e.g. {\"mon\": [\"10:00AM\", \"6:00PM\"], \"sun\": [\"CLOSED\", \"CLOSED\"]}); NULL when the "
             "source has no such columns."),
        ] + _POINT,
    ),
    "service_schedules": (
        "How much civicmash could read of each service's opening hours: one row per services row. Unknown hours stay "
        "unknown (never guessed): count them with SELECT status, count(*) FROM service_schedules GROUP BY 1.",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("dataset", "VARCHAR NOT NULL", "Dataset of the service (services.dataset)."),
            ("source_id", "VARCHAR NOT NULL", "The service's source_id (services.source_id)."),
            ("status", "VARCHAR",
             "'weekly': the hours of all seven days are known (open or closed); 'partial': some days are known, the "
             "others are not stated or could not be read; 'unknown': no day is known (no hours published, or none readable)."),
            ("days_known", "INTEGER", "Number of days of the week (0-7) whose hours are known."),
            ("source", "VARCHAR",
             "Where the hours came from: 'per_day_columns' (separate open/close columns per day, see services.hours_by_day), "
             "'hours_text' (the free-text hours), 'none' (nothing published)."),
            ("source_text", "VARCHAR", "The published hours text that was read (or the per-day JSON when there is no text)."),
            ("problems", "VARCHAR",
             "What could not be read and was left unknown, e.g. \"cannot read 'fri. & sat., 9-5l' (at 'l')\", or where "
             "the text disagrees with the per-day columns (what the hours text could not read is kept, prefixed 'hours text: ', "
             "even when the per-day columns give the week); NULL when everything was read."),
            ("conditions", "VARCHAR",
             "Conditions written in parentheses that the schedule does not apply (e.g. 'Nov-Mar: Mon-Sun 0-24 below 32F')."),
            ("weekly", "VARCHAR", "The week as read, e.g. 'Mon 10:00-18:00; ...; Sun closed' ('?' = unknown day)."),
        ],
    ),
    "service_hours": (
        "Opening hours of services as weekly schedules, one row per service, day and opening interval (or one row "
        "saying the day is closed). A day with no row is unknown. Times are local time of the city.",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("dataset", "VARCHAR NOT NULL", "Dataset of the service (services.dataset)."),
            ("source_id", "VARCHAR NOT NULL", "The service's source_id (services.source_id)."),
            ("day_of_week", "INTEGER", "ISO day of the week: 1 = Monday ... 7 = Sunday (isodow())."),
            ("day_name", "VARCHAR", "'Monday' ... 'Sunday'."),
            ("closed", "BOOLEAN", "TRUE: the source says the service is closed all that day (opens and closes are NULL)."),
            ("opens", "TIME", "Opening time, local time."),
            ("closes", "TIME",
             "Closing time, local time; 24:00:00 = midnight at the end of the day (sources write '11:59 PM'). When "
             "closes_next_day is TRUE it is on the following day."),
            ("closes_next_day", "BOOLEAN", "TRUE when the interval runs past midnight into the next day."),
            ("source", "VARCHAR", "'per_day_columns' or 'hours_text' (see service_schedules.source)."),
        ],
    ),
    "service_coverage": (
        "Coverage gaps: for each area, service category and walking time, the share of the area (and an estimate of its "
        "residents) farther than that many minutes' walk from the nearest service of the category, along the street "
        "network at 1.3 m/s. Measured on a lattice of sample points inside each area. Where the street data does not "
        "cover an area the figures are NULL and network_status says so; where it has major streets only, times are "
        "approximate (see docs/locator.md).",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("area_kind", "VARCHAR", "Kind of area, as boundaries.kind (e.g. community_area)."),
            ("area_code", "VARCHAR", "Area code, as boundaries.code."),
            ("area_name", "VARCHAR", "Area name, as boundaries.name."),
            ("category", "VARCHAR", "Service category (services.category)."),
            ("threshold_min", "INTEGER", "Walking time threshold in minutes (e.g. 5, 10, 15)."),
            ("network_status", "VARCHAR",
             "How well the walk graph covers the area: 'none' (under 5% of its sample points are within max_access_m "
             "of a street: no figures), 'partial' (the graph reaches only 5-90% of the area: the shares describe that "
             "part, residents are not estimated); otherwise, from street_coverage: 'full' (streets mapped in full "
             "detail over at least 90% of it), 'mixed' (full detail over 10-90%, major streets elsewhere), "
             "'major_streets' (only arterial/collector streets: walks to and from them are counted as straight lines, "
             "so times can be too short: on a square grid a straight line is up to 29% shorter than the walk), 'covered' (reached, detail not recorded)."),
            ("sample_points", "INTEGER", "Sample points inside the area (a square lattice, see spacing_m)."),
            ("spacing_m", "DOUBLE", "Distance between neighbouring sample points, metres."),
            ("share_on_network", "DOUBLE",
             "Share (0-1) of the sample points within reach of the walk graph (at most max_access_m from a street of "
             "it); the other points are left out of the shares below."),
            ("share_area_beyond", "DOUBLE",
             "Share (0-1) of the reachable sample points from which the nearest service of the category is more than "
             "threshold_min minutes' walk away (unreachable ones included); NULL when no point is reachable."),
            ("population", "BIGINT", "Residents of the area (latest population year loaded); NULL when unknown."),
            ("population_year", "INTEGER", "Year of that population count."),
            ("residents_beyond", "BIGINT",
             "Estimated residents beyond the threshold: population x share_area_beyond, i.e. assuming residents are "
             "spread evenly over the reachable part of the area (there is no finer population data); NULL when "
             "population or the share is unknown."),
            ("median_min", "DOUBLE", "Median walking time (minutes) to the nearest service from the reachable sample points."),
            ("max_access_m", "DOUBLE",
             "Largest straight-line distance from a sample point to the street graph that still counts as reachable."),
            ("street_detail", "VARCHAR",
             "Street detail of the area from street_coverage (street dataset: detail, covered share), when that table "
             "has rows for the area; NULL otherwise."),
        ],
    ),
    "isochrones": (
        "Walking areas: the land within N minutes' walk (1.3 m/s along the street graph, plus the straight walk between "
        "the street and the spot) of a point, of one service, or of any service of a category, as polygons: the "
        "square cells of a lattice of sample points whose walk is within the time, merged. "
        "kind 'point' = around a point; 'service' = around one service; 'category' = around every service of a "
        "category together (the union of their walking areas).",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("kind", "VARCHAR", "'point', 'service' or 'category'."),
            ("category", "VARCHAR", "Service category for 'service' and 'category' rows; NULL for 'point'."),
            ("dataset", "VARCHAR", "Dataset of the service for 'service' rows."),
            ("source_id", "VARCHAR", "source_id of the service for 'service' rows."),
            ("label", "VARCHAR", "What the area is around (a service's name, a place's label, a category label)."),
            ("origin_lat", "DOUBLE", "Latitude of the point or service (NULL for 'category')."),
            ("origin_lon", "DOUBLE", "Longitude of the point or service (NULL for 'category')."),
            ("minutes", "INTEGER", "Walking time in minutes."),
            ("walk_m", "DOUBLE", "The same as a walking distance in metres (minutes x 60 x 1.3)."),
            ("buffer_m", "DOUBLE",
             "Half the lattice spacing, metres: each sample point stands for a square cell this far either side of "
             "it, so the polygon's edge is known to about this much."),
            ("street_m", "DOUBLE", "Metres of street reached within the time."),
            ("area_m2", "DOUBLE", "Surface of the polygon in square metres."),
            ("geom", "GEOMETRY", "The walking area as a WGS84 (multi)polygon."),
        ],
    ),
    "hotspot_cells": (
        "Crime hotspots: Getis-Ord Gi* over H3 hexagon cells, one row per cell of the study area (every cell holding "
        "at least one located incident of any date), counting the located incidents of the last 90 days; computed "
        "each run (analysis/hotspots.py) and drawn on the crime explorer. A cell is a hot or cold spot when its "
        "Benjamini-Hochberg adjusted p-value is at most alpha (docs/maps.md, Hotspots).",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("h3_cell", "VARCHAR", "The H3 cell index (hexadecimal text), e.g. '882664c1a1fffff'."),
            ("resolution", "INTEGER",
             "H3 resolution of the cell: 7 (~5.2 km2 a cell), 8 (~0.74 km2) or 9 (~0.11 km2); chosen by the "
             "extent of the city's incidents unless [maps.explorer] hotspot_resolution sets it."),
            ("incidents", "INTEGER", "Located incidents in the cell from window_start (inclusive) to window_end (exclusive)."),
            ("gi_z", "DOUBLE",
             "Gi* z-score (esda.G_Local with star=True, binary weights: the cell and its neighbours in the study area, "
             "analytic moments, no permutations): above 0 the cell and its neighbours hold more incidents than the "
             "city-wide average, below 0 fewer."),
            ("p", "DOUBLE", "Two-sided p-value of gi_z under the normal approximation (not corrected)."),
            ("p_fdr", "DOUBLE",
             "p corrected for testing every cell at once: Benjamini-Hochberg adjusted p-value (false discovery rate)."),
            ("class", "VARCHAR", "'hot' (p_fdr <= alpha, gi_z > 0), 'cold' (p_fdr <= alpha, gi_z < 0) or 'none'."),
            ("alpha", "DOUBLE", "The significance level the class uses (0.05)."),
            ("window_start", "TIMESTAMP", "First moment counted (local time of the city): 90 days before window_end."),
            ("window_end", "TIMESTAMP", "End of the counted window (exclusive): the day after the latest incident."),
            ("lat", "DOUBLE", "Latitude of the cell's centre (WGS84)."),
            ("lon", "DOUBLE", "Longitude of the cell's centre (WGS84)."),
            ("boundary", "VARCHAR", "The hexagon's corners as JSON [[lat, lon], ...] (h3.cell_to_boundary)."),
            ("computed_at", "TIMESTAMPTZ", "When this row was computed."),
        ],
    ),
    "spending": (
        "Budget and spending lines, one row per line of the published budget or payment file. Amounts are in US dollars.",
        _PROVENANCE + [
            ("fiscal_year", "INTEGER", "The city's fiscal year of the budget line (Chicago: calendar year)."),
            ("department", "VARCHAR", "Department name as published, e.g. 'CHICAGO POLICE DEPARTMENT'."),
            ("department_code", "VARCHAR", "Department number as published (text; may carry leading zeros)."),
            ("fund", "VARCHAR", "Name of the fund the money comes from, e.g. 'CORPORATE FUND'."),
            ("fund_code", "VARCHAR", "Fund code as published, leading zeros kept ('0100')."),
            ("account", "VARCHAR", "Appropriation account: what the money is for, e.g. 'SALARIES AND WAGES - ON PAYROLL'."),
            ("description", "VARCHAR", "Further description of the line (e.g. the appropriation authority / unit)."),
            ("amount", "DECIMAL(18,2)", "Amount in US dollars (not thousands), as appropriated or paid."),
            ("line_kind", "VARCHAR",
             "What the amount is: 'appropriation' (a budget ordinance or adopted budget: money allowed to be spent), "
             "'actual' (money spent in a closed year) or 'payment' (one payment to a vendor); the dataset's "
             "options.line_kind, default 'appropriation'. Never add lines of different kinds together."),
            ("department_id", "VARCHAR",
             "The department's key that is stable across years, to join years on: the profile's [money] department "
             "crosswalk result for this published code (and year), else the published department_code with leading "
             "zeros stripped ('091' -> '91'), else the published name upper-cased. A code that changed meaning "
             "(a city's department 38, say) gets a different id for the years of each meaning."),
            ("department_label", "VARCHAR",
             "The department's name spelled out for display, one per (city, department_id, fiscal_year): the "
             "profile's crosswalk label when given, else the latest year's published name of that id in title "
             "case (whitespace collapsed). Never a bare acronym."),
            ("department_abbrev", "VARCHAR",
             "The department's acronym when the profile's crosswalk gives one (e.g. 'CPD'), else NULL; shown beside "
             "department_label, never instead of it."),
            ("fund_id", "VARCHAR",
             "The fund's code normalised: trimmed, upper-cased, left-padded with zeros to the profile's "
             "[money] fund_code_width when numeric, then the profile's fund recodes applied (e.g. per-grant funds "
             "of earlier years pooled like later years). Group fund bars on this, never on the description."),
            ("fund_label", "VARCHAR",
             "The fund's description for display, one per (city, fund_id, fiscal_year): the profile's fund label "
             "when given, else the most common published description of that fund_id in the year, whitespace "
             "collapsed (so a double space cannot make two bars)."),
            ("fund_type", "VARCHAR",
             "The fund's type as published (e.g. 'LOCAL', 'GRANTS', 'CDBG'); NULL when the source has none. "
             "The profile's fund recodes may test it."),
            ("account_code", "VARCHAR",
             "The account / appropriation code as published, left-padded with zeros to the profile's [money] "
             "account_code_width when numeric (an older year's '5' -> '0005', as later years write it); NULL when the source "
             "has no account code."),
        ],
    ),
    "contract_revisions": (
        "Contracts as published, one row per revision of a contract (revision 0 is the award; later revisions "
        "modify it). amount is the revision's own award amount and may be negative (a reduction): it is not "
        "money spent, and summing it over revisions is only 'amount awarded', never spending.",
        _PROVENANCE + [
            ("contract_number", "VARCHAR", "The purchase order / contract number as published (alphanumeric, e.g. 'E011442')."),
            ("revision", "INTEGER",
             "The revision number (0 = the original award); NULL when the published revision is not a number "
             "(a code like 'D404171' there: see revision_code)."),
            ("revision_code", "VARCHAR", "The revision as published (text: usually '0', '1', ..., sometimes a code)."),
            ("vendor", "VARCHAR", "The vendor's name as published."),
            ("vendor_key", "VARCHAR",
             "The vendor's name normalised to group spellings: upper case, punctuation removed, legal suffixes "
             "(INC, LLC, CORP, CO, LTD, LP, LLP, CORPORATION, INCORPORATED, COMPANY) dropped from the end, "
             "whitespace collapsed ('Acme Co., Inc.' -> 'ACME')."),
            ("vendor_id", "VARCHAR", "The vendor's id as published, when the source has one."),
            ("vendor_zip", "VARCHAR", "The vendor's 5-digit ZIP code (a ZIP+4 '60608-1234' is cut to '60608'); NULL when not 5 digits."),
            ("department", "VARCHAR", "The department as published (names vary over the years; NULL when blank)."),
            ("description", "VARCHAR", "What the contract buys, as published (may hold line breaks)."),
            ("contract_type", "VARCHAR", "The contract type as published (e.g. 'DELEGATE AGENCY'); NULL when blank."),
            ("procurement_type", "VARCHAR", "The procurement type as published (e.g. 'BID'); NULL when blank."),
            ("amount", "DECIMAL(18,2)", "This revision's award amount in US dollars; negative for a reduction. Not spending."),
            ("start_date", "DATE", "First day of the contract's term, as published; NULL when blank."),
            ("end_date", "DATE", "Last day of the contract's term, as published; NULL when blank."),
            ("approval_date", "DATE", "Day the revision was approved, as published; NULL when blank."),
        ],
    ),
    "place_spending": (
        "Spending attributed to a place, one row per published project line (e.g. a council member's "
        "discretionary capital money by district and year). Some datasets give a point or shape for the project (lat/lon/geom); a dataset "
        "that only adds points to lines another dataset already counts is loaded with in_totals FALSE, so sums "
        "(place_spending_by_area_year) never count a project twice.",
        _PROVENANCE + [
            ("fiscal_year", "INTEGER", "The year the money was allocated or spent."),
            ("area_kind", "VARCHAR", "The boundaries kind the area code refers to (e.g. 'ward'): the dataset's options.area_kind or kind."),
            ("area_code", "VARCHAR",
             "The area's code normalised like the boundaries' codes of that kind (e.g. ward '7'); for a source that "
             "names its areas (options.area_match = 'name'), the code of the boundary of that kind whose name "
             "matches (letters and digits, any case, with options.area_name_suffix), NULL when none does."),
            ("area_name", "VARCHAR", "The area as published (a number or a name)."),
            ("project", "VARCHAR", "What was bought or built, as published (a program or item name)."),
            ("category", "VARCHAR", "The project's category as published, or through the dataset's options.categories mapping."),
            ("amount", "DECIMAL(18,2)", "Amount in US dollars (an estimated cost for menu money; may be negative for an adjustment)."),
            ("location_text", "VARCHAR", "Where, as published (an address, 'ON X FROM Y TO Z', an alley's four streets); NULL when blank."),
            ("in_totals", "BOOLEAN",
             "TRUE when the row counts in totals; FALSE for a dataset that only places projects another dataset "
             "already counts (options.in_totals = false), kept for its points."),
        ] + _POINT,
    ),
    "outcomes": (
        "What public services achieved, one row per source record, measure and period (e.g. a library branch's "
        "visitors in one month). Values are counts as published; a period the source left blank has value NULL "
        "(not zero). Rows that are not a service location (online renewals, a grand-total row) are never loaded: "
        "the profile's drop/keep rules quarantine them as excluded_by_profile, with the rule named.",
        _PROVENANCE + [
            ("measure", "VARCHAR", "What is measured, named by the profile: 'visitors', 'circulation', 'computer_sessions', ..."),
            ("unit", "VARCHAR", "The unit of value: 'visits', 'items', 'sessions', ..."),
            ("entity_kind", "VARCHAR", "'service' (a service location, see service_id) or 'department' (a whole department)."),
            ("entity_name", "VARCHAR", "The entity's name as published (trimmed; footnote marks like '*' kept)."),
            ("entity_key", "VARCHAR",
             "The name it is matched on: the profile's [money] service_aliases applied, then lower case with only "
             "letters and digits kept ('Daley, Richard J. -Bridgeport' and 'Daley, Richard J.- Bridgeport' agree)."),
            ("service_id", "VARCHAR",
             "services.source_id of the same city's service location (of service_category) whose normalised name "
             "equals entity_key; NULL when none matches or the entity is a department."),
            ("service_category", "VARCHAR", "The services category the entity belongs to (e.g. 'library')."),
            ("department_id", "VARCHAR", "The spending.department_id the outcome belongs to (the dataset's options.department_id, e.g. '91')."),
            ("period_start", "DATE", "First day of the period the value covers."),
            ("period_end", "DATE", "Last day of the period (inclusive)."),
            ("period_grain", "VARCHAR", "'month' or 'year'."),
            ("value", "DOUBLE", "The count for the period; NULL when the source left it blank (e.g. months not yet reported)."),
        ],
    ),
    "service_requests": (
        "Service requests to the city (311-style: a street light out, a pothole, graffiti), one row per request "
        "record of the source. The city profile says which request types mean a street light is out "
        "(streetlight_outage) and which statuses mean closed; open_streetlight_outages and service_request_response "
        "read them. Neither the Chicago nor the Los Angeles bundle holds service requests.",
        _PROVENANCE + [
            ("request_id", "VARCHAR", "The request's number as published (e.g. 'SR23-00123456'); source_id when the "
             "source has no separate number."),
            ("request_type", "VARCHAR", "What was requested, as published (e.g. 'Street Light Out', 'Pothole in Street')."),
            ("status", "VARCHAR", "The request's status as published (e.g. 'Open', 'Completed', 'Canceled')."),
            ("is_closed", "BOOLEAN",
             "TRUE when the request is closed: it has a closed_at, or its status is one the profile lists as closed "
             "(options.closed_statuses; default closed, completed, cancelled, duplicate). A request closed without a "
             "time is closed, but since when is unknown."),
            ("opened_at", "TIMESTAMP",
             "When the request was made, as the city's local wall-clock time (no zone; the profile's timezone), read "
             "with the dataset's time_formats and time_zone like incidents.occurred_at."),
            ("opened_at_utc", "TIMESTAMPTZ", "The same moment as opened_at as an absolute instant."),
            ("closed_at", "TIMESTAMP", "When the request was closed, city-local wall time; NULL while it is open (or "
             "when the source closed it without a time, see is_closed)."),
            ("closed_at_utc", "TIMESTAMPTZ", "The same moment as closed_at as an absolute instant; NULL when closed_at is."),
            ("time_flag", "VARCHAR",
             "Doubts about the times (comma-separated): 'closed_before_opened' (closed_at is earlier than opened_at, as "
             "published; left out of the response times), 'implausible_closed_at' (outside the profile's "
             "min_date..max_date; kept). An implausible opened_at is quarantined instead. NULL when none."),
            ("streetlight_outage", "BOOLEAN",
             "TRUE when request_type is one the city profile lists as a street light out (options.streetlight_types; "
             "compared trimmed, any case). Open ones can count streets as unlit on the safe route ([risk.lit] outages)."),
            ("address", "VARCHAR", "Street address of the request as published."),
            ("source", "VARCHAR", "How the request came in, as published (e.g. 'phone', 'mobile app', 'web')."),
        ] + _POINT,
    ),
    "boundaries": (
        "Official area boundaries (community areas, police beats and districts, wards, census tracts, "
        "neighbourhoods) as polygons in WGS84.",
        _PROVENANCE + [
            ("kind", "VARCHAR", "Kind of area: community_area, beat, district, ward, tract, neighbourhood."),
            ("code", "VARCHAR",
             "The area's number/code as text, normalised to match the incidents table: a kind that fills one of the "
             "incidents' area columns (area_slots) is mapped and padded as the city's profile says ([areas]); by "
             "default beats 4 digits ('0925'), districts, wards and community areas without leading zeros ('9'). "
             "Codes can repeat when an area has several parts."),
            ("name", "VARCHAR", "The area's name, when it has one (e.g. 'DOUGLAS')."),
            ("geom", "GEOMETRY", "The area's outline (polygon or multipolygon) in WGS84 longitude/latitude."),
            ("geom_repaired", "BOOLEAN",
             "TRUE when the published outline was not a valid polygon (a ring touching or crossing itself) and was "
             "repaired on load (ST_MakeValid, polygonal parts kept; it covers the same ground): area joins and "
             "lattices need valid polygons. FALSE when the outline is loaded as published."),
            ("lat", "DOUBLE", "Latitude of a point inside the area (for labels)."),
            ("lon", "DOUBLE", "Longitude of a point inside the area (for labels)."),
            ("valid_from", "DATE",
             "First day this map of the areas was in force (its vintage: wards are redrawn), from the dataset's "
             "options.valid_from; NULL = in force since before the data begins. Incidents are matched to the map in "
             "force on their occurred_at date; the maps draw the latest vintage of a kind."),
            ("valid_to", "DATE",
             "Last day (inclusive) this map was in force, from options.valid_to; NULL = still in force. Vintages of "
             "one kind never overlap (a load of overlapping ones is refused)."),
        ],
    ),
    "area_slots": (
        "How each city fills the incidents' four area columns (beat, district, ward, community_area) from its "
        "boundaries, and which area kind is its primary one (the profile's [areas] table, recorded by each run's "
        "enrichment). Los Angeles puts its LAPD divisions in district; a boundaries kind in no slot is drawn but "
        "never stamped on incidents.",
        [
            ("city", "VARCHAR", "City slug (e.g. 'chicago')."),
            ("slot", "VARCHAR", "The incidents column: beat, district, ward or community_area; NULL for a primary "
             "area kind that fills no column."),
            ("kind", "VARCHAR", "The boundaries.kind whose polygons fill and check the column (e.g. 'community_area')."),
            ("label", "VARCHAR", "What one area is called on the pages (e.g. 'Community area', 'LAPD division')."),
            ("plural", "VARCHAR", "The same in the plural, as in a sentence (e.g. 'community areas')."),
            ("pad", "INTEGER", "Numeric codes are zero-padded to this many digits (beats: 4); NULL: leading zeros dropped."),
            ("value_map", "VARCHAR", "JSON object: code as published -> code stored, applied to the incidents' and the "
             "boundaries' codes before padding ('{}' when none)."),
            ("is_primary", "BOOLEAN", "TRUE for the city's primary area kind: coverage gaps, the locator's area, "
             "the safe route's coverage words and rates per 1,000 residents use it."),
        ],
    ),
    "population": (
        "Resident population by area and year (census counts), used to turn counts into rates per 1,000 residents.",
        _PROVENANCE + [
            ("area_kind", "VARCHAR", "Kind of area, as in boundaries.kind (e.g. community_area)."),
            ("area_code", "VARCHAR", "Area code, normalised like boundaries.code (community area '35')."),
            ("area_name", "VARCHAR", "Area name as published."),
            ("year", "INTEGER", "Year of the count (e.g. 2010 for the 2010 census)."),
            ("population", "BIGINT", "Number of residents (people, not thousands)."),
        ],
    ),
    "street_nodes": (
        "Street network intersections and shape points (for walking routes). node_id keeps the OpenStreetMap node id "
        "for OSM data; other sources get negative ids made unique per dataset.",
        _PROVENANCE + [
            ("node_id", "BIGINT", "Node identifier, unique within a city and dataset."),
            ("lat", "DOUBLE", "Latitude in degrees (WGS84)."),
            ("lon", "DOUBLE", "Longitude in degrees (WGS84)."),
            ("geom", "GEOMETRY", "The node as a WGS84 point."),
            ("source_x", "DOUBLE", "x in the source's projection (e.g. UTM metres)."),
            ("source_y", "DOUBLE", "y in the source's projection."),
            ("source_crs", "VARCHAR", "Projection of source_x/source_y (EPSG code)."),
        ],
    ),
    "street_edges": (
        "Walkable street segments between two nodes (for walking routes). Motorways, trunk roads, construction, "
        "foot=no and private-access ways are left out and counted in quarantine as 'not_walkable'.",
        _PROVENANCE + [
            ("edge_id", "BIGINT", "Segment identifier, unique within a city."),
            ("u", "BIGINT", "node_id of one end (street_nodes)."),
            ("v", "BIGINT", "node_id of the other end. Segments are walkable both ways regardless of one-way signs."),
            ("length_m", "DOUBLE", "Straight-line length of the segment in metres (great-circle distance between its ends)."),
            ("highway", "VARCHAR",
             "Road class: the OpenStreetMap tag (residential, primary, footway...), or the source's own class word set by "
             "the city profile (e.g. 'arterial', 'collector' for Chicago's street centre lines); NULL when the source has none."),
            ("name", "VARCHAR", "Street name, when known."),
            ("lit", "VARCHAR", "OpenStreetMap 'lit' tag: 'yes' when the street is known to be lit; NULL when unknown."),
            ("oneway", "VARCHAR", "One-way tag for vehicles as published (ignored for walking)."),
            ("source_flag", "VARCHAR", "Undocumented flag column of some edge lists, kept as published."),
            ("geom", "GEOMETRY", "The segment as a WGS84 LINESTRING from u to v."),
            ("superseded_by", "VARCHAR",
             "NULL when the segment is part of the city's walk graph. Otherwise the street dataset (of higher merge "
             "priority) that already maps this street: all along it lies within a few metres of that dataset's "
             "segments, so it is left out of the graph to avoid walking a duplicate of the same street (see street_links)."),
            ("addr_from_left", "DOUBLE",
             "House number at u on the left side (centreline address ranges, lines-geojson `address_fields`): the "
             "published range of the street feature split along its length; NULL when the source has none."),
            ("addr_to_left", "DOUBLE", "House number at v on the left side (see addr_from_left)."),
            ("addr_from_right", "DOUBLE", "House number at u on the right side (see addr_from_left)."),
            ("addr_to_right", "DOUBLE", "House number at v on the right side (see addr_from_left)."),
        ],
    ),
    "street_links": (
        "Connector segments that join the street datasets of a city into one walk graph: where a node of one dataset "
        "lies within a few metres of a node of another (the same crossing mapped twice), a straight link joins them. "
        "Rebuilt after every load of street data; the walk graph is street_edges (superseded_by NULL) plus these links.",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("link_id", "BIGINT", "Identifier of the link, unique within a city (negative, so it never equals an edge_id)."),
            ("u", "BIGINT", "node_id of one end (street_nodes of dataset_u)."),
            ("v", "BIGINT", "node_id of the other end (street_nodes of dataset_v)."),
            ("dataset_u", "VARCHAR", "Street dataset of node u."),
            ("dataset_v", "VARCHAR", "Street dataset of node v."),
            ("length_m", "DOUBLE", "Straight-line distance between the two nodes in metres (at most the link tolerance)."),
            ("geom", "GEOMETRY", "The link as a WGS84 LINESTRING from u to v."),
        ],
    ),
    "street_coverage": (
        "How much walk-network detail each street dataset gives each area: one row per city, street dataset and "
        "community area (every combination, zeros included). Use it to say where routes run on every street "
        "('full') and where only on major streets or not at all. Rebuilt after every load of street data.",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("dataset", "VARCHAR NOT NULL", "Street dataset (street_edges.dataset)."),
            ("area_kind", "VARCHAR", "Kind of area, as in boundaries.kind ('community_area')."),
            ("area_code", "VARCHAR", "Area code, as boundaries.code (community area '28')."),
            ("area_name", "VARCHAR", "Area name, as boundaries.name."),
            ("detail", "VARCHAR",
             "What the dataset maps, from the city profile: 'full' (every street of the area it covers, e.g. "
             "OpenStreetMap) or 'major_streets' (arterials and collectors only)."),
            ("edge_m", "DOUBLE",
             "Metres of the dataset's walkable street segments in the area (a segment counts in the area its "
             "midpoint falls in), whether or not another dataset supersedes them in the walk graph."),
            ("covered_share", "DOUBLE",
             "Share (0-1) of the area's surface within 100 m of the dataset's streets, measured on a 50 m lattice of "
             "points: about 1 where the dataset maps the whole area, near 0 where it has no street there."),
        ],
    ),
    "iucr_codes": (
        "The Chicago Police Department's list of Illinois Uniform Crime Reporting (IUCR) codes: what each offence "
        "code means. Join incidents.iucr = iucr_codes.iucr (both zero-padded to 4 characters); incidents whose code is "
        "not in the list are shown by the incidents_unknown_iucr view.",
        _PROVENANCE + [
            ("iucr", "VARCHAR",
             "The IUCR offence code, upper-cased and zero-padded to 4 characters ('110' as published -> '0110') so it "
             "joins to incidents.iucr; source_id keeps the code exactly as published."),
            ("primary_description", "VARCHAR", "Broad offence category, e.g. 'HOMICIDE' (incidents.primary_type)."),
            ("secondary_description", "VARCHAR", "Specific offence, e.g. 'FIRST DEGREE MURDER' (incidents.description)."),
            ("index_code", "VARCHAR",
             "'I' for an index crime (the serious offences counted in the FBI's crime index: homicide, sexual assault, "
             "robbery, aggravated assault/battery, burglary, theft, motor vehicle theft, arson), 'N' for non-index."),
        ],
    ),
    "area_indicators": (
        "Socio-economic and health indicators per area in long form: one row per area, indicator and period "
        "(e.g. percent of households below poverty, per capita income, hardship index, birth rate). Values are as "
        "published by the source named in 'source'; units depend on the indicator (percent, dollars, rate per "
        "100,000...), see the dataset in the datasets table. A city-wide row has area_kind 'city' and area_code NULL.",
        _PROVENANCE + [
            ("area_kind", "VARCHAR",
             "Kind of area, as in boundaries.kind (e.g. community_area); 'city' for the whole city (the published "
             "city-wide total or average row, which has no area number)."),
            ("area_code", "VARCHAR", "Area code, normalised like boundaries.code (community area '35'); NULL for the city row."),
            ("area_name", "VARCHAR", "Area name as published (case differs between sources: 'Rogers Park', 'DOUGLAS')."),
            ("indicator", "VARCHAR",
             "Name of the indicator: civicmash's name when the city profile gives one (e.g. "
             "'percent_households_below_poverty'), otherwise the source's own column name (e.g. 'Pop2014', 'BirthRate')."),
            ("value", "DOUBLE", "The indicator's value as published (NULL when the source left it empty)."),
            ("year", "INTEGER", "The (last) year the value refers to, e.g. 2012 for the 2008-2012 estimates."),
            ("period", "VARCHAR", "The period the value covers as the source states it, e.g. '2008-2012'."),
            ("source", "VARCHAR", "Who measured it: e.g. 'American Community Survey 5-year estimates (US Census Bureau)'."),
        ],
    ),
    "offence_unmapped": (
        "Source offence values the city's crosswalk ([offences] in its profile) does not place in a canonical "
        "category, one row per city, dataset and value, with how many incidents carry it. Those incidents are "
        "loaded with offence NULL, never dropped; an empty table for a city means every incident has a category.",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("dataset", "VARCHAR NOT NULL", "Dataset name in the city profile."),
            ("field", "VARCHAR", "The incidents column the crosswalk reads (e.g. primary_type)."),
            ("source_value", "VARCHAR", "The value as stored in that column (NULL: incidents with no value)."),
            ("rows", "BIGINT", "How many incidents of the dataset carry this value."),
            ("classified_at", "TIMESTAMPTZ", "When the crosswalk was last applied to the city."),
        ],
    ),
    "datasets": (
        "Catalogue of every dataset loaded: where it was published, under which licence, when it was fetched and "
        "how many of its records were loaded or set aside. Cite portal_url and licence when publishing.",
        [
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("dataset", "VARCHAR NOT NULL", "Dataset name in the city profile."),
            ("protocol", "VARCHAR", "How it was fetched: socrata, arcgis, ckan, osm or file."),
            ("portal_url", "VARCHAR", "Public address of the dataset (what to cite)."),
            ("dataset_id", "VARCHAR", "The portal's id of the dataset (e.g. Socrata 'ijzp-q8t2')."),
            ("table_name", "VARCHAR", "Canonical table the dataset feeds."),
            ("kind", "VARCHAR", "Boundary kind or service category of the whole dataset, when it has one."),
            ("title", "VARCHAR", "Human title of the dataset, when known."),
            ("licence", "VARCHAR", "Licence or terms of use as stated by the publisher."),
            ("fetched_at", "TIMESTAMPTZ", "When the data was downloaded."),
            ("loaded_at", "TIMESTAMPTZ", "When it was loaded into this warehouse."),
            ("rows_in", "BIGINT", "Records received from the source."),
            ("rows_loaded", "BIGINT", "Records written to the canonical table. rows_in = rows_loaded + rows_quarantined, always."),
            ("rows_quarantined", "BIGINT", "Records set aside in the quarantine table, with a reason each."),
            ("synthetic", "BOOLEAN", "TRUE for generated sample data that is NOT real: never publish it as fact."),
            ("role", "VARCHAR", "'data' for analysis data; 'fixture' for files kept only to test formats (excluded from the incidents views)."),
            ("run_id", "VARCHAR", "The ingest run that loaded it (ingest_runs)."),
            ("load_mode", "VARCHAR",
             "'replace': the last load was the whole dataset (rows missing from it were removed, see incidents_history); "
             "'merge': the last load was an increment (new and changed records only; records it did not contain were "
             "kept). For a merge, rows_in/rows_loaded/rows_quarantined count that increment only."),
            ("watermark", "VARCHAR",
             "How far the loaded data reaches: the latest source_updated_at seen (ISO text, city local time, e.g. "
             "'2018-11-20T16:05:13.000'), or the value the fetch reported; the next incremental fetch asks for records "
             "updated after it. NULL when the source gives no update times."),
            ("row_unit", "VARCHAR",
             "For incidents datasets, what one row counts: 'case' (one report or case, however many victims or "
             "offences), 'victim' (one row per victim: a double homicide is two rows), 'offence' (one row per "
             "offence of a case). Say it with any count: 'counts are victims'. NULL for other tables."),
        ],
    ),
    "ingest_runs": (
        "One row per pipeline run: when it ran, whether it succeeded and a JSON summary of rows per dataset.",
        [
            ("run_id", "VARCHAR NOT NULL", "Identifier of the run."),
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("started_at", "TIMESTAMPTZ", "When the run started."),
            ("finished_at", "TIMESTAMPTZ", "When the run finished (NULL while running)."),
            ("status", "VARCHAR", "'running', 'ok', 'partial' or 'failed'."),
            ("summary", "JSON", "Details: rows per dataset, errors."),
        ],
    ),
    "dataset_health": (
        "One row per run and dataset: how fresh and complete the dataset is after that run, the portal's own row "
        "count reconciled with what was fetched and loaded, and a verdict (ok, degraded, failed) with its reason. "
        "`civicmash status` and the status.html page read the latest row per dataset; docs/operations.md explains "
        "the verdicts and the alerts they send.",
        [
            ("run_id", "VARCHAR NOT NULL", "The run (ingest_runs) this row describes."),
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("dataset", "VARCHAR NOT NULL", "Dataset name in the city profile."),
            ("table_name", "VARCHAR", "Canonical table the dataset feeds."),
            ("protocol", "VARCHAR", "The portal protocol it was fetched with (socrata, arcgis, ckan, file...)."),
            ("checked_at", "TIMESTAMPTZ", "When this row was written (the end of the run's loads)."),
            ("last_success_at", "TIMESTAMPTZ",
             "When the dataset was last fetched and loaded successfully (this run or an earlier one); NULL if never."),
            ("load_mode", "VARCHAR", "'replace' (a full fetch), 'merge' (an incremental one) or NULL (nothing loaded)."),
            ("rows_fetched", "BIGINT", "Records this run received from the portal (an increment on a 'merge' run)."),
            ("rows_loaded", "BIGINT", "Of those, records written to the canonical table."),
            ("rows_quarantined", "BIGINT", "Of those, records set aside in the quarantine table."),
            ("rows_current", "BIGINT", "Rows of the dataset in its canonical table after the run."),
            ("rows_deleted", "BIGINT",
             "Rows removed by this run's deletion sweep (`civicmash run --sweep`): the portal no longer has their "
             "id; kept in the history table with change 'deleted'. NULL when no sweep ran."),
            ("quarantine_share", "DOUBLE", "rows_quarantined / rows_fetched (0..1); NULL when nothing was fetched."),
            ("source_updated_at", "TIMESTAMP",
             "The source's newest update: max source_updated_at of the dataset's rows (city local time), or, when "
             "the rows carry none, portal_updated_at in city local time; NULL when the source does not say."),
            ("portal_updated_at", "TIMESTAMPTZ",
             "When the portal's metadata says the dataset's rows last changed (Socrata rowsUpdatedAt); NULL when "
             "the protocol does not say."),
            ("lag_hours", "DOUBLE",
             "How far the data held is behind the portal, in hours: portal_updated_at minus the newest "
             "source_updated_at held (0 when the warehouse has the portal's newest update) when the portal says; "
             "otherwise the hours from the newest source_updated_at to the fetch (the data's age: large for a "
             "static historical extract)."),
            ("portal_count", "BIGINT",
             "The portal's own row count (Socrata $select=count(*), ArcGIS returnCountOnly, CKAN total), with "
             "the dataset's filter; NULL for a file (its rows are the count) or a portal that could not say."),
            ("compared_rows", "BIGINT",
             "What portal_count is compared with: rows_fetched after a full fetch; after an incremental one, the "
             "rows the warehouse holds for the dataset (loaded + quarantined)."),
            ("count_gap", "DOUBLE", "|portal_count - compared_rows| / portal_count (0..1); NULL without a portal count."),
            ("count_mismatch", "BOOLEAN", "TRUE when compared_rows differs from portal_count at all."),
            ("status", "VARCHAR",
             "'ok'; 'degraded' (count_gap over [health] max_count_gap, or the last success older than "
             "max_age_hours); 'failed' (the fetch or load failed, or the run-health check failed it)."),
            ("reason", "VARCHAR", "Why the status is not 'ok', in words (NULL when ok)."),
        ],
    ),
    "run_manifest": (
        "The run manifest: one row per run and dataset, written after the run's loads: where the data came from "
        "(source_url, no secrets), when it was fetched, rows in / loaded / quarantined, and a content hash of the "
        "dataset as held, so a published figure can cite the exact snapshot. Every page's footer shows the run id "
        "and a short hash of its datasets' content hashes; latest_manifest is the newest row per dataset. "
        "See docs/warehouse.md, \"Run manifest\" (warehouse/manifest.py).",
        [
            ("run_id", "VARCHAR NOT NULL", "The run (ingest_runs) that fetched and loaded the dataset: the snapshot id to cite."),
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("dataset", "VARCHAR NOT NULL", "Dataset name in the city profile."),
            ("table_name", "VARCHAR", "Canonical table the dataset feeds."),
            ("protocol", "VARCHAR", "How it was fetched: socrata, arcgis, ckan, osm or file."),
            ("source_url", "VARCHAR",
             "The dataset's public address (datasets.portal_url) with anything secret removed: no user:password, "
             "no token, key, secret, signature or auth query parameter (app tokens travel in headers only)."),
            ("fetched_at", "TIMESTAMPTZ", "When this run downloaded the dataset (UTC)."),
            ("load_mode", "VARCHAR",
             "'replace' (a full fetch replaced the dataset) or 'merge' (an incremental fetch merged by source_id)."),
            ("rows_in", "BIGINT", "Records this run received (the increment on a 'merge' run). rows_in = rows_loaded + rows_quarantined, always."),
            ("rows_loaded", "BIGINT", "Of those, records written to the canonical table."),
            ("rows_quarantined", "BIGINT", "Of those, records set aside in the quarantine table, with a reason each."),
            ("rows_held", "BIGINT", "Records of the dataset in its canonical table after the run (all of them, also after a merge)."),
            ("portal_count", "BIGINT",
             "The portal's own row count asked during the run (dataset_health.portal_count); NULL for a file or a "
             "portal that could not say."),
            ("content_hash", "VARCHAR",
             "SHA-256 (hex) of the dataset's records as held after the run: every loaded record's source_id and "
             "row_hash (MD5 of its raw values), sorted, then every quarantined record's raw values. The same source "
             "data gives the same hash on every run; one changed value, record added or removed gives another."),
            ("recorded_at", "TIMESTAMPTZ", "When this manifest row was written."),
        ],
    ),
    "quarantine": (
        "Records that could not be loaded, one row per record, with the reason. Nothing is dropped silently: "
        "for each dataset, rows loaded + rows here = rows received.",
        [
            ("run_id", "VARCHAR", "The ingest run that set it aside."),
            ("city", "VARCHAR NOT NULL", "City slug."),
            ("dataset", "VARCHAR NOT NULL", "Dataset name."),
            ("source_id", "VARCHAR", "The record's source id, if it had one."),
            ("row_number", "BIGINT", "Position of the record in the download (1 = first)."),
            ("field", "VARCHAR", "The canonical field at fault (e.g. occurred_at)."),
            ("reason", "VARCHAR",
             "Why: missing_source_id, duplicate_source_id, missing_required, bad_timestamp, bad_geometry, "
             "missing_geometry, bad_amount, bad_number, bad_coordinates, bad_node_id, not_walkable, excluded_by_profile "
             "(a row the city profile's keep/drop rules leave out, e.g. a grand-total line; field names the rule). "
             "For area_indicators "
             "one row stands for a whole source record (all its indicators)."),
            ("raw", "JSON", "The whole record as received, field name to text value."),
        ],
    ),
}

SOURCE_TABLES = ("incidents", "venues", "services", "service_requests", "spending", "boundaries", "population",
                 "street_nodes", "street_edges", "iucr_codes", "area_indicators", "contract_revisions",
                 "place_spending", "outcomes")

# Tables whose earlier versions are kept: table -> its history table.
HISTORY_TABLES = {"incidents": "incidents_history"}

_HISTORY_EXTRA: list[Column] = [
    ("valid_to", "TIMESTAMPTZ",
     "Until when this version was current: the fetched_at of the download that brought a different version "
     "('changed') or no longer contained the record ('removed')."),
    ("change", "VARCHAR",
     "'changed': a later download had the same record (city, dataset, source_id) with different source values; "
     "'removed': a later full download (load_mode 'replace') no longer contained the record. An incremental "
     "('merge') load never removes records; 'deleted': a deletion sweep (`civicmash run --sweep`) found the "
     "portal no longer has the record's id."),
    ("change_run_id", "VARCHAR", "The ingest run (ingest_runs) that replaced, removed or deleted this version."),
    ("next_row_hash", "VARCHAR", "row_hash of the version that replaced it (in incidents or incidents_history); NULL when removed."),
]


def _history_tables() -> dict[str, tuple[str, list[Column]]]:
    out = {}
    for table, hist in HISTORY_TABLES.items():
        comment, cols = TABLES[table]
        out[hist] = (
            f"Earlier versions of {table} rows: when a re-load brings a record (same city, dataset and source_id) "
            f"with different source values (row_hash), the previous version is moved here and the new one replaces "
            f"it in {table}; a record missing from a full re-load is moved here too (change = 'removed'). "
            f"Each row was current from valid_from to valid_to. The {table} table and every view show only current "
            f"versions; see the {table}_changes view for what changed.",
            cols + _HISTORY_EXTRA)
    return out


TABLES.update(_history_tables())


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ddl_statements() -> list[str]:
    """CREATE TABLE IF NOT EXISTS + COMMENT ON statements for every canonical table."""
    out: list[str] = []
    for table, (comment, cols) in TABLES.items():
        body = ",\n  ".join(f"{name} {typ}" for name, typ, _ in cols)
        out.append(f"CREATE TABLE IF NOT EXISTS {table} (\n  {body}\n)")
        out.append(f"COMMENT ON TABLE {table} IS {_lit(comment)}")
        for name, _, text in cols:
            out.append(f"COMMENT ON COLUMN {table}.{name} IS {_lit(text)}")
    return out


def _schema_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse already has every canonical table and column with its documentation (two catalogue
    queries): then :func:`apply_schema` has nothing to do, and a connection opens without its ~450 statements."""
    tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main' "
                              "AND database_name = current_database()").fetchall())
    columns = {(t, c): text for t, c, text in con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'main' "
        "AND database_name = current_database()").fetchall()}
    return all(tables.get(table, ...) == comment
               and all(columns.get((table, name), ...) == text for name, _, text in cols)
               for table, (comment, cols) in TABLES.items())


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    if _schema_current(con):
        return
    stmts = ddl_statements()
    for stmt in stmts:
        if stmt.startswith("CREATE"):
            con.execute(stmt)
    # warehouses built before a column was added get it here (CREATE TABLE IF NOT EXISTS keeps old tables)
    have = {(t, c) for t, c in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                          "WHERE schema_name = 'main' AND database_name = current_database()").fetchall()}
    for table, (_, cols) in TABLES.items():
        for name, typ, _text in cols:
            if (table, name) not in have:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {typ.replace(' NOT NULL', '')}")
    for stmt in stmts:
        if not stmt.startswith("CREATE"):
            con.execute(stmt)


def column_names(table: str) -> list[str]:
    return [name for name, _, _ in TABLES[table][1]]


def not_fixture(alias: str) -> str:
    """SQL condition: the row ``alias`` (a table with ``city`` and ``dataset``) does not come from a dataset the
    catalogue marks as a format fixture (``datasets.role = 'fixture'``: loaded to test a file format, never
    analysed or drawn). ``alias`` is a table name or alias written by our code, never portal text."""
    if not alias.isidentifier():
        raise ValueError(f"not a table alias: {alias!r}")
    return (f"NOT EXISTS (SELECT 1 FROM datasets d_ WHERE d_.city = {alias}.city AND d_.dataset = {alias}.dataset "
            "AND d_.role = 'fixture')")
