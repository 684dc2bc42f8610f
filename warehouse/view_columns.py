"""What every column of every analysis view means: the one place ``COMMENT ON COLUMN`` (``create_views``) and
``civicmash schema`` / docs/warehouse.md (``warehouse.docs``) read.

A view that passes a table's rows through (``incidents_current``, ``incidents_last_90_days``, ``venues_bars``)
names that table in ``VIEW_SOURCES`` and its columns mean what the table's columns mean (the table's comments in
``warehouse/schema.py``); ``VIEW_COLUMNS`` describes every other view column, and overrides an inherited one.
A view column with no description fails ``tests/warehouse/test_view_docs.py``: a new view, or a new column of
one, gets its sentence here.
"""

from __future__ import annotations

import duckdb

from ._sqlexpr import lit
from .schema import TABLES

__all__ = ["VIEW_SOURCES", "VIEW_COLUMNS", "column_descriptions", "comment_view_columns"]

VIEW_SOURCES: dict[str, str] = {
    "incidents_current": "incidents",
    "incidents_last_90_days": "incidents",
    "venues_bars": "venues",
    "latest_manifest": "run_manifest",
}

_CITY = "City slug this row belongs to (e.g. 'chicago'); matches cities/<city>.toml."
_MONTH = "First day of the calendar month of occurred_at (city-local time), e.g. 2018-06-01 for June 2018."


def _changed(field: str, what: str) -> dict[str, str]:
    """old_<field> / new_<field> of incidents_changes."""
    return {f"old_{field}": f"{what} in the superseded version (before the change).",
            f"new_{field}": f"{what} in the version that replaced it; NULL when the record was removed."}


VIEW_COLUMNS: dict[str, dict[str, str]] = {
    "open_streetlight_outages": {
        "city": _CITY,
        "dataset": "The service_requests dataset of the city profile the request came from.",
        "source_id": "The request's source_id (service_requests.source_id).",
        "request_id": "The request's number as published (service_requests.request_id).",
        "request_type": "The request type as published; one of the profile's options.streetlight_types.",
        "status": "The request's status as published.",
        "opened_at": "When the outage was reported, city-local wall time.",
        "as_of": "The time the request is open at: the city's latest opened or closed service-request time "
                 "(city-local), the newest moment its service-request data describe.",
        "days_open": "Days from opened_at to as_of (2 decimals): how long the light has been reported out.",
        "address": "Street address of the request as published.",
        "lat": "Latitude of the request (WGS84); NULL when the source gave no usable location.",
        "lon": "Longitude of the request (WGS84); NULL when unknown.",
        "geom": "The request's point as a WGS84 geometry, for spatial queries.",
    },
    "service_request_response": {
        "city": _CITY,
        "request_type": "The request type as published (e.g. 'Street Light Out').",
        "month": "First day of the calendar month the requests were opened in (city-local time).",
        "requests": "Number of requests of this type opened in this month.",
        "closed": "How many of them have a closed time (not before the opened time).",
        "median_days_to_close": "Median days (2 decimals) from opened_at to closed_at over those closed; NULL when "
                                "none is closed.",
        "open_count": "How many of them were still open at the city's latest service-request time (as_of in "
                      "open_streetlight_outages).",
    },
    "incidents_by_area_month": {
        "city": _CITY,
        "area_kind": "The kind of area counted (the city's primary area kind, area_slots.is_primary), e.g. "
                     "'community_area'.",
        "area_code": "The area's code as in boundaries.code (community area '28'); NULL groups the incidents "
                     "with no area of that kind.",
        "community_area": "area_code as a number when area_kind is 'community_area' (Chicago's 1-77), else NULL.",
        "area_name": "The area's name from the boundaries (else from the population table); NULL when neither "
                     "names it.",
        "month": _MONTH,
        "primary_type": "The incidents' primary type as published (e.g. 'THEFT').",
        "incidents": "Number of incident rows (incidents_current) of this area, month and primary type. Rows are "
                     "the source's rows: a homicide with several victims is several rows.",
        "arrests": "How many of those incidents have arrest = TRUE (as of the source's last update).",
        "population": "Residents of the area: the population table's figure for this area kind and code, latest "
                      "year loaded; NULL when there is none.",
        "population_year": "The year of that population figure (e.g. 2010 for the census).",
        "rate_per_1000": "incidents / population * 1000, rounded to 3 decimals, for this one month; NULL without "
                         "a population (or 0). Add months by summing incidents, not by adding rates.",
    },
    "incidents_by_offence": {
        "city": _CITY,
        "offence": "The canonical offence category (offence_categories.offence); 'unmapped' for incidents whose "
                   "source value the city's crosswalk does not place (see offence_unmapped).",
        "crime_against": "Whom the category is against (NIBRS): 'person', 'property', 'society' or 'other'; NULL "
                         "for 'unmapped'.",
        "month": _MONTH,
        "incidents": "Number of incident rows (incidents_current) of this city, category and month.",
    },
    "incidents_changes": {
        "city": _CITY,
        "dataset": "The dataset of the city profile the record came from (e.g. 'crimes').",
        "source_id": "The record's id at the source; with city and dataset it names one record across downloads.",
        "case_number": "The record's case number (the newer version's when both have one).",
        "change": "'changed' (a later download had different values for the record) or 'removed' (a later full "
                  "download no longer had it).",
        "changed_at": "When civicmash saw the change: the fetched_at of the download that brought it (not when "
                      "the police made it).",
        "change_run_id": "The ingest run (ingest_runs.run_id) that replaced or removed this version.",
        "old_valid_from": "Since when the warehouse held the superseded version (fetched_at of the download that "
                          "first brought it).",
        "changed_fields": "The source columns whose values differ between the two versions (e.g. "
                          "['primary_type', 'iucr']); NULL for a removed record.",
        **_changed("primary_type", "The primary type"),
        **_changed("description", "The secondary description"),
        **_changed("iucr", "The IUCR code"),
        **_changed("arrest", "The arrest flag"),
        **_changed("occurred_at", "The incident time (city-local)"),
        **_changed("community_area", "The community area number"),
        **_changed("source_updated_at", "The publisher's last-update time"),
        "old_row_hash": "row_hash (MD5 of the raw record) of the superseded version.",
        "new_row_hash": "row_hash of the version that replaced it; NULL when the record was removed.",
    },
    "incident_changes_by_run": {
        "city": _CITY,
        "dataset": "The incidents dataset of the city profile the record came from.",
        "source_id": "The record's id at the source; with city and dataset it names one record across runs.",
        "case_number": "The record's case number (the later version's, else the earlier one's).",
        "change": "The kind of change: 'added', 'removed', or a reclassification: 'type', 'location', 'date', "
                  "'other' (one row per kind that changed).",
        "changed_fields": "For a reclassification, the fields that differ, comma-separated (e.g. "
                          "'primary_type,iucr'; 'lat,lon' for a moved point); NULL for added and removed.",
        "before": "The changed fields' values after the earlier run, joined with ' · ' in changed_fields order "
                  "('(none)' for an empty value); for 'removed', the record in words (type · description · "
                  "time · block); NULL for 'added'.",
        "after": "The same fields' values after the later run; for 'added', the record in words; NULL for "
                 "'removed'.",
        "note": "For 'removed': 'no longer in a full download' or 'deleted at the portal (deletion sweep)'; for "
                "'added': 'published again after an earlier removal' when the id was held before; else NULL.",
        "primary_type": "The record's primary type after the later run (for 'removed': its last one).",
        "occurred_at": "The record's incident time (city-local) after the later run (for 'removed': its last one).",
        "block": "The record's block after the later run (for 'removed': its last one).",
        "lat": "Latitude after the later run (for 'removed': the last one held); NULL when unknown.",
        "lon": "Longitude after the later run (for 'removed': the last one held); NULL when unknown.",
        "seen_at": "When civicmash saw the change: the fetch that brought the later version, or that no longer "
                   "had the record (or the sweep that deleted it). Not when the police made it.",
        "from_run_id": "The earlier run (ingest_runs.run_id): the previous successful run of the city.",
        "to_run_id": "The later run (ingest_runs.run_id) the changes lead to.",
    },
    "incidents_unknown_iucr": {
        "city": _CITY,
        "iucr": "An IUCR code used by incidents but missing from the city's code list (iucr_codes), zero-padded "
                "to 4 characters.",
        "primary_type": "The primary type most incidents with this code carry.",
        "description": "The secondary description most incidents with this code carry.",
        "incidents": "Number of incident rows (incidents_current) with this code.",
        "first_occurred_at": "The earliest occurred_at among them (city-local).",
        "last_occurred_at": "The latest occurred_at among them (city-local).",
    },
    "offence_categories": {
        "offence": "The canonical offence category's name (e.g. 'theft'), the value of incidents.offence.",
        "crime_against": "Whom the category is against, NIBRS's grouping: 'person', 'property', 'society' or "
                         "'other' (the catch-all).",
        "weight_class": "The safe route's severity class: 'violent', 'property' or 'other'.",
        "definition": "What the category covers, in words.",
        "position": "The order maps and tables list the categories in (1 = first).",
    },
    "services_by_category": {
        "city": _CITY,
        "category": "The service category (e.g. 'library', 'clinic').",
        "sites": "Number of service sites (services rows) of the category.",
        "sites_with_location": "How many of them have coordinates (usable on the maps and by the locator).",
        "sites_without_location": "How many have no usable coordinates (sites - sites_with_location).",
        "hours_weekly": "How many have opening hours known for every day of the week.",
        "hours_partial": "How many have opening hours known for some days only.",
        "hours_unknown": "How many have no known opening hours (never guessed: shown as 'hours unknown').",
    },
    "spending_by_department": {
        "city": _CITY,
        "dataset": "The spending dataset of the city profile (e.g. 'budget_2019').",
        "fiscal_year": "The fiscal year of the lines.",
        "department": "The department as published.",
        "amount": "Sum of the lines' amounts in US dollars, all funds together (exact to the cent).",
        "lines": "Number of budget/spending lines summed.",
        "funds": "Number of distinct funds (fund_code) those lines draw on.",
    },
    "budget_by_department_year": {
        "city": _CITY,
        "fiscal_year": "The fiscal year of the lines.",
        "line_kind": "'appropriation', 'actual' or 'payment' (spending.line_kind); kinds are never added together.",
        "department_id": "The department's key, stable across years (spending.department_id): join years on it.",
        "department_label": "The department's name spelled out (spending.department_label).",
        "department_abbrev": "The department's acronym when the profile gives one, else NULL.",
        "amount": "Sum of the lines' amounts in US dollars, all funds together (exact to the cent, nominal dollars).",
        "lines": "Number of lines summed.",
        "funds": "Number of distinct funds (fund_id) those lines draw on.",
        "dataset": "The spending dataset of the city profile the lines came from (e.g. 'budget_2025').",
    },
    "place_spending_by_area_year": {
        "city": _CITY,
        "area_kind": "The boundaries kind of the area (e.g. 'ward').",
        "area_code": "The area's code, normalised like the boundaries' codes of that kind.",
        "fiscal_year": "The year of the spending.",
        "category": "The projects' category (place_spending.category).",
        "amount": "Sum of the projects' amounts in US dollars (lines with in_totals only).",
        "projects": "Number of project lines summed.",
    },
    "outcomes_by_entity_year": {
        "city": _CITY,
        "service_category": "The services category of the entity (e.g. 'library').",
        "measure": "What is measured (e.g. 'visitors').",
        "unit": "The unit of value (e.g. 'visits').",
        "entity_name": "The entity's name as published that year.",
        "entity_key": "The normalised name the entity is matched on (outcomes.entity_key).",
        "service_id": "services.source_id of the matched service location; NULL when unmatched.",
        "department_id": "The spending department_id the outcome belongs to (e.g. '91').",
        "year": "Calendar year of the periods summed.",
        "value": "Sum of the reported values of the year (blank periods not counted).",
        "months": "Number of distinct months with a reported value (12 = a full year; fewer = partial).",
    },
    "contracts_by_vendor": {
        "city": _CITY,
        "vendor_key": "The vendor's normalised name (contract_revisions.vendor_key).",
        "vendor": "The vendor's most common published spelling.",
        "contracts": "Number of distinct contract numbers.",
        "revisions": "Number of revision rows.",
        "amount_awarded": "Sum of the revisions' award amounts in US dollars: awarded, not spent (revisions may "
                          "be negative).",
        "first_approval": "Earliest approval date of the vendor's revisions.",
        "last_approval": "Latest approval date of the vendor's revisions.",
    },
}


def column_descriptions(view: str) -> dict[str, str]:
    """Column -> description for ``view``: its source table's column comments (``VIEW_SOURCES``), then its own
    (``VIEW_COLUMNS``). Empty for a name that is not a view of ``warehouse/views.py``."""
    out: dict[str, str] = {}
    source = VIEW_SOURCES.get(view)
    if source in TABLES:
        out.update({name: text for name, _typ, text in TABLES[source][1]})
    out.update(VIEW_COLUMNS.get(view, {}))
    return out


def comment_view_columns(con: duckdb.DuckDBPyConnection, view: str) -> None:
    """``COMMENT ON COLUMN`` every column of ``view`` that has a description."""
    texts = column_descriptions(view)
    for (column,) in con.execute("""SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main'
                                        AND table_name = $v AND database_name = current_database()""",
                                 {"v": view}).fetchall():
        if texts.get(column):
            con.execute(f'COMMENT ON COLUMN {view}."{column}" IS {lit(texts[column])}')
