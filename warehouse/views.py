"""Analysis views over the canonical tables, each with a plain-words COMMENT."""

from __future__ import annotations

import duckdb

from . import changes as _changes, manifest as _manifest
from ._sqlexpr import lit
from .offences import categories_sql
from .schema import not_fixture
from .service_requests import open_at_sql
from .view_columns import comment_view_columns

VIEWS: dict[str, tuple[str, str]] = {
    "incidents_current": (
        "Incidents to analyse (current versions only; earlier versions are in incidents_history): one row per (city, source_id) - when the same record came in through more than one "
        "dataset the most recently updated copy is kept - excluding datasets marked as format fixtures. Homicides "
        "stay one row per victim.",
        """SELECT i.* EXCLUDE (_rank) FROM (
               SELECT i.*, row_number() OVER (PARTITION BY i.city, i.source_id
                   ORDER BY i.source_updated_at DESC NULLS LAST, i.fetched_at DESC NULLS LAST, i.dataset) AS _rank
               FROM incidents i
               LEFT JOIN datasets d ON d.city = i.city AND d.dataset = i.dataset
               WHERE coalesce(d.role, 'data') <> 'fixture') i
           WHERE _rank = 1""",
    ),
    "incidents_last_90_days": (
        "Incidents of the last 90 days of data: per city, the 90 calendar days ending with the day of its latest "
        "occurred_at, from 00:00 of the 89th day before that day up to the latest incident (Chicago 2018: "
        "2018-08-15 00:00 to 2018-11-12 23:59). Whole days, so no part of a 91st day. Relative to the newest "
        "incident in the warehouse, not to today's date, so a historical extract still gives its final 90 days.",
        """SELECT c.* FROM incidents_current c
           JOIN (SELECT city, max(occurred_at) AS latest FROM incidents_current GROUP BY city) m USING (city)
           WHERE c.occurred_at >= CAST(CAST(m.latest AS DATE) - 89 AS TIMESTAMP)""",
    ),
    "incidents_by_area_month": (
        "Incidents per area of the city's primary area kind (area_slots.is_primary: the profile's [areas] primary; "
        "community areas when the city names none), calendar month and primary type, with the area's population "
        "(population rows of that area_kind, latest census year loaded) and the rate per 1,000 residents "
        "(incidents / population * 1000, for that month). Incidents without an area of that kind are grouped "
        "under area_code NULL and have no rate; a city whose primary kind fills no incident column has area_code "
        "NULL throughout. community_area repeats area_code as a number when the kind is community_area.",
        """WITH prim AS (
               SELECT city, any_value(slot) AS slot, any_value(kind) AS kind FROM area_slots WHERE is_primary
               GROUP BY city),
           recorded AS (SELECT DISTINCT city FROM area_slots),
           inc AS (
               SELECT i.*, CASE WHEN r.city IS NULL THEN 'community_area' ELSE p.kind END AS _kind,
                      CASE CASE WHEN r.city IS NULL OR p.city IS NULL THEN 'community_area' ELSE p.slot END
                           WHEN 'beat' THEN i.beat WHEN 'district' THEN CAST(i.district AS VARCHAR)
                           WHEN 'ward' THEN CAST(i.ward AS VARCHAR)
                           WHEN 'community_area' THEN CAST(i.community_area AS VARCHAR) END AS _code
               FROM incidents_current i LEFT JOIN recorded r USING (city) LEFT JOIN prim p USING (city)),
           pop AS (
               SELECT city, area_kind, area_code, arg_max(population, year) AS population,
                      max(year) AS population_year, arg_max(area_name, year) AS area_name
               FROM population GROUP BY ALL),
           names AS (SELECT city, kind, code, min(name) AS boundary_name FROM boundaries GROUP BY ALL),
           counts AS (
               SELECT city, coalesce(_kind, 'community_area') AS area_kind, _code AS area_code,
                      CAST(date_trunc('month', occurred_at) AS DATE) AS month, primary_type,
                      count(*) AS incidents, count(*) FILTER (WHERE arrest) AS arrests
               FROM inc GROUP BY ALL)
           SELECT c.city, c.area_kind, c.area_code,
                  CASE WHEN c.area_kind = 'community_area' THEN TRY_CAST(c.area_code AS INTEGER) END AS community_area,
                  coalesce(n.boundary_name, p.area_name) AS area_name, c.month,
                  c.primary_type, c.incidents, c.arrests, p.population, p.population_year,
                  round(c.incidents * 1000.0 / nullif(p.population, 0), 3) AS rate_per_1000
           FROM counts c
           LEFT JOIN pop p ON p.city = c.city AND p.area_kind = c.area_kind AND p.area_code = c.area_code
           LEFT JOIN names n ON n.city = c.city AND n.kind = c.area_kind AND n.code = c.area_code""",
    ),
    "incidents_changes": (
        "What changed in incidents between downloads: one row per superseded version (from incidents_history). "
        "change = 'changed' (the portal now publishes different values for the same record, e.g. primary type "
        "ROBBERY -> THEFT after review, or an arrest made later) or 'removed' (a later full download no longer had the "
        "record). changed_at is when civicmash saw the change (the fetched_at of that download), not when the police "
        "made it; changed_fields lists the source columns whose values differ (community_area may also differ "
        "because it was filled from the coordinates); old_* is the earlier value, new_* the value that replaced it "
        "(NULL for removed records).",
        """WITH versions AS (
               SELECT * EXCLUDE (valid_from) FROM incidents
               UNION ALL BY NAME
               SELECT * EXCLUDE (valid_from, valid_to, change, change_run_id, next_row_hash) FROM incidents_history),
           nxt AS (SELECT DISTINCT ON (city, dataset, source_id, row_hash) * FROM versions)
           SELECT h.city, h.dataset, h.source_id, coalesce(n.case_number, h.case_number) AS case_number, h.change,
                  h.valid_to AS changed_at, h.change_run_id, h.valid_from AS old_valid_from,
                  CASE WHEN n.source_id IS NOT NULL THEN list_filter([
                      CASE WHEN h.case_number IS DISTINCT FROM n.case_number THEN 'case_number' END,
                      CASE WHEN h.occurred_at IS DISTINCT FROM n.occurred_at THEN 'occurred_at' END,
                      CASE WHEN h.primary_type IS DISTINCT FROM n.primary_type THEN 'primary_type' END,
                      CASE WHEN h.description IS DISTINCT FROM n.description THEN 'description' END,
                      CASE WHEN h.iucr IS DISTINCT FROM n.iucr THEN 'iucr' END,
                      CASE WHEN h.fbi_code IS DISTINCT FROM n.fbi_code THEN 'fbi_code' END,
                      CASE WHEN h.location_description IS DISTINCT FROM n.location_description
                           THEN 'location_description' END,
                      CASE WHEN h.block_raw IS DISTINCT FROM n.block_raw THEN 'block' END,
                      CASE WHEN h.arrest IS DISTINCT FROM n.arrest THEN 'arrest' END,
                      CASE WHEN h.domestic IS DISTINCT FROM n.domestic THEN 'domestic' END,
                      CASE WHEN h.beat IS DISTINCT FROM n.beat THEN 'beat' END,
                      CASE WHEN h.district IS DISTINCT FROM n.district THEN 'district' END,
                      CASE WHEN h.ward IS DISTINCT FROM n.ward THEN 'ward' END,
                      CASE WHEN h.community_area IS DISTINCT FROM n.community_area THEN 'community_area' END,
                      CASE WHEN h.lat IS DISTINCT FROM n.lat OR h.lon IS DISTINCT FROM n.lon THEN 'location' END,
                      CASE WHEN h.source_updated_at IS DISTINCT FROM n.source_updated_at THEN 'source_updated_at' END
                  ], x -> x IS NOT NULL) END AS changed_fields,
                  h.primary_type AS old_primary_type, n.primary_type AS new_primary_type,
                  h.description AS old_description, n.description AS new_description,
                  h.iucr AS old_iucr, n.iucr AS new_iucr,
                  h.arrest AS old_arrest, n.arrest AS new_arrest,
                  h.occurred_at AS old_occurred_at, n.occurred_at AS new_occurred_at,
                  h.community_area AS old_community_area, n.community_area AS new_community_area,
                  h.source_updated_at AS old_source_updated_at, n.source_updated_at AS new_source_updated_at,
                  h.row_hash AS old_row_hash, h.next_row_hash AS new_row_hash
           FROM incidents_history h
           LEFT JOIN nxt n ON n.city = h.city AND n.dataset = h.dataset AND n.source_id = h.source_id
                          AND n.row_hash = h.next_row_hash""",
    ),
    "incident_changes_by_run": (
        "What changed in incidents from one run to the next: every successful run of a city (ingest_runs) against "
        "the previous successful run of the same city, one row per change: 'added' (a record held after the later "
        "run and not after the earlier), 'removed' (the reverse: gone from a full download, or deleted by the "
        "deletion sweep), or a reclassification of a record held after both: 'type' (primary_type, description, "
        "iucr, fbi_code), 'location' (the point, block, beat, district, ward, community_area), 'date' "
        "(occurred_at), 'other' (case_number, arrest, domestic, location_description, reported_at, "
        "occurred_end_at); a record whose type and location changed is two rows. Built from incidents and "
        "incidents_history (the versions current at each run's finish), so failed runs in between fold in. "
        "`civicmash changes --from RUN --to RUN` compares any two runs; incidents_changes lists every superseded "
        "version instead. See docs/warehouse.md, \"What changed\".",
        _changes.VIEW_SQL,
    ),
    "latest_manifest": (
        "The newest run_manifest row of each city and dataset: where and when the data now held was fetched, its "
        "row counts and content hash (what a page footer's snapshot cites).",
        _manifest.LATEST_VIEW_SQL,
    ),
    "incidents_unknown_iucr": (
        "IUCR codes used by incidents (incidents_current) that are not in the city's IUCR code list (iucr_codes), "
        "one row per code, with how many incidents use it and the primary type/description they most often carry. "
        "Both sides are zero-padded to 4 characters, so these are codes really missing from the published list "
        "(e.g. newer codes), not formatting differences. Only for cities whose code list is loaded.",
        """SELECT i.city, i.iucr, mode(i.primary_type) AS primary_type, mode(i.description) AS description,
                  count(*) AS incidents, min(i.occurred_at) AS first_occurred_at, max(i.occurred_at) AS last_occurred_at
           FROM incidents_current i
           WHERE i.iucr IS NOT NULL AND i.city IN (SELECT DISTINCT city FROM iucr_codes)
             AND NOT EXISTS (SELECT 1 FROM iucr_codes c WHERE c.city = i.city AND c.iucr = i.iucr)
           GROUP BY i.city, i.iucr""",
    ),
    "offence_categories": (
        "The canonical offence categories every city's crime types are mapped onto (incidents.offence): each with "
        "whom it is against (NIBRS: person, property, society; 'other' for the catch-all), the safe route's weight "
        "class (violent, property, other) and what it covers. position is the order maps list them in.",
        categories_sql(),
    ),
    "incidents_by_offence": (
        "Incidents per city, canonical offence category and calendar month (from incidents_current), for comparing "
        "cities on one set of categories. offence 'unmapped' counts the incidents whose source value the city's "
        "crosswalk does not place (see offence_unmapped), so per city and month the rows add up to all incidents.",
        """SELECT city, coalesce(offence, 'unmapped') AS offence, crime_against,
                  CAST(date_trunc('month', occurred_at) AS DATE) AS month, count(*) AS incidents
           FROM incidents_current GROUP BY ALL""",
    ),
    "venues_bars": (
        "Bars: licensed premises whose venue_type is 'bar' (tavern / late-hour licence) or 'restaurant-bar' "
        "(consumption on premises incidental to food), following the city profile's venue_rule. One row per "
        "licence record, so one premises can appear more than once.",
        "SELECT * FROM venues WHERE venue_type IN ('bar', 'restaurant-bar')",
    ),
    "services_by_category": (
        "Number of service sites per city and category, how many of them have a usable location, and how many have "
        "opening hours known for the whole week, for some days, or not at all (service_schedules: unknown hours "
        "are never guessed).",
        """SELECT s.city, s.category, count(*) AS sites, count(s.lat) AS sites_with_location,
                  count(*) - count(s.lat) AS sites_without_location,
                  count(*) FILTER (WHERE h.status = 'weekly') AS hours_weekly,
                  count(*) FILTER (WHERE h.status = 'partial') AS hours_partial,
                  count(*) FILTER (WHERE h.status IS NULL OR h.status = 'unknown') AS hours_unknown
           FROM services s
           LEFT JOIN service_schedules h ON h.city = s.city AND h.dataset = s.dataset AND h.source_id = s.source_id
           GROUP BY ALL""",
    ),
    "open_streetlight_outages": (
        "Street lights reported out and still open at the city's latest service-request time (as_of: the last "
        "opened or closed time among its service_requests): one row per request whose type the city profile lists "
        "as a street light out (options.streetlight_types), opened by as_of and not closed by then. The safe route "
        "reads these with [risk.lit] outages = true: streets near one count as unlit.",
        f"""WITH latest AS (SELECT city, greatest(max(opened_at), max(closed_at)) AS as_of FROM service_requests
                         GROUP BY city)
           SELECT r.city, r.dataset, r.source_id, r.request_id, r.request_type, r.status, r.opened_at, a.as_of,
                  round(date_diff('second', r.opened_at, a.as_of) / 86400.0, 2) AS days_open, r.address,
                  r.lat, r.lon, r.geom
           FROM service_requests r JOIN latest a USING (city)
           WHERE r.streetlight_outage AND {open_at_sql('r', 'a.as_of')}""",
    ),
    "service_request_response": (
        "How fast the city answers service requests, as an outcome: per city, request type and calendar month of "
        "opening, the requests made, how many were closed with a time, the median days from opening to closing, "
        "and how many of them were still open at the city's latest service-request time (as_of, see "
        "open_streetlight_outages). Requests closed before they were opened (time_flag 'closed_before_opened') "
        "are left out of the median.",
        f"""WITH latest AS (SELECT city, greatest(max(opened_at), max(closed_at)) AS as_of FROM service_requests
                         GROUP BY city)
           SELECT r.city, r.request_type, CAST(date_trunc('month', r.opened_at) AS DATE) AS month,
                  count(*) AS requests,
                  count(*) FILTER (WHERE r.closed_at >= r.opened_at) AS closed,
                  round(median(date_diff('second', r.opened_at, r.closed_at) / 86400.0)
                        FILTER (WHERE r.closed_at >= r.opened_at), 2) AS median_days_to_close,
                  count(*) FILTER (WHERE {open_at_sql('r', 'a.as_of')}) AS open_count
           FROM service_requests r JOIN latest a USING (city)
           GROUP BY ALL""",
    ),
    "spending_by_department": (
        "Total amount in US dollars per city, fiscal year and department (all funds together), with the number "
        "of budget/spending lines and the number of funds involved.",
        """SELECT city, dataset, fiscal_year, department, sum(amount) AS amount, count(*) AS lines,
                  count(DISTINCT fund_code) AS funds
           FROM spending GROUP BY ALL""",
    ),
    # --- money and outcomes (issue 16; tables in schema.py, loading in money.py, docs/warehouse.md) ---
    "budget_by_department_year": (
        "Budget or spending per city, fiscal year, kind of line (appropriation, actual, payment) and department "
        "(department_id, stable across years: join years on it, never on the published name), all funds "
        "together, per dataset. Lines without an amount and format-fixture datasets are left out; lines of "
        "different line_kind are never added together. A year with no dataset has no row (a gap, not a zero).",
        f"""SELECT s.city, s.fiscal_year, s.line_kind, s.department_id, s.department_label, s.department_abbrev,
                  sum(s.amount) AS amount, count(*) AS lines, count(DISTINCT s.fund_id) AS funds, s.dataset
           FROM spending s
           WHERE s.amount IS NOT NULL AND {not_fixture('s')}
           GROUP BY s.city, s.fiscal_year, s.line_kind, s.department_id, s.department_label, s.department_abbrev,
                    s.dataset""",
    ),
    "place_spending_by_area_year": (
        "Spending attributed to places per city, area (kind and code), year and category: the sum of the "
        "place_spending lines that count in totals (in_totals; a points-only dataset is left out so no project "
        "counts twice) and the number of project lines.",
        f"""SELECT p.city, p.area_kind, p.area_code, p.fiscal_year, p.category, sum(p.amount) AS amount,
                  count(*) AS projects
           FROM place_spending p
           WHERE p.in_totals AND p.amount IS NOT NULL AND {not_fixture('p')}
           GROUP BY ALL""",
    ),
    "outcomes_by_entity_year": (
        "Outcomes per city, service category, measure, entity (a service location or department) and calendar "
        "year of the period: the sum of the reported values and how many distinct months had a value (a year "
        "with months < 12 is partial: compare like with like). Blank periods (value NULL) are not counted.",
        f"""SELECT o.city, o.service_category, o.measure, o.unit, o.entity_name, o.entity_key, o.service_id,
                  o.department_id, year(o.period_start) AS year, sum(o.value) AS value,
                  count(DISTINCT date_trunc('month', o.period_start)) FILTER (WHERE o.value IS NOT NULL) AS months
           FROM outcomes o
           WHERE {not_fixture('o')}
           GROUP BY ALL
           HAVING count(o.value) > 0""",
    ),
    "contracts_by_vendor": (
        "Contracts per city and vendor (vendor_key: spellings grouped): distinct contract numbers, revisions and "
        "amount_awarded, the sum of the revisions' award amounts (awarded, NOT spent: revisions may be negative), "
        "with the first and last approval date.",
        f"""SELECT c.city, c.vendor_key, mode(c.vendor) AS vendor, count(DISTINCT c.contract_number) AS contracts,
                  count(*) AS revisions, sum(c.amount) AS amount_awarded, min(c.approval_date) AS first_approval,
                  max(c.approval_date) AS last_approval
           FROM contract_revisions c
           WHERE c.vendor_key IS NOT NULL AND {not_fixture('c')}
           GROUP BY c.city, c.vendor_key""",
    ),
}


def create_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create every analysis view with its comment; returns the view names."""
    for name, (comment, body) in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
        con.execute(f"COMMENT ON VIEW {name} IS {lit(comment)}")
        comment_view_columns(con, name)  # every column's meaning: warehouse/view_columns.py
    return list(VIEWS)
