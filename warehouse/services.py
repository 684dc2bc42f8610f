"""Public services: the category taxonomy, the loader's service columns and the derived hours tables.

Taxonomy. Every ``services`` row gets a canonical ``category`` from :data:`CATEGORIES`: the published category
(a field mapped to ``category``) or, when the dataset is one kind of site, the profile's ``kind``, looked up in
:data:`SYNONYMS` after lower-casing and folding spaces, dashes and underscores (``"Warming Center"``,
``warming_centre`` and ``WARMING-CENTRES`` are all ``warming_centre``). A value the taxonomy does not know is
kept as its slug (``"Dog park"`` -> ``dog_park``) and listed by :func:`unmapped_categories`; the published
value is always kept in ``category_source``. Where a source says what hosts the service (Chicago's warming
centres: ``SITE TYPE`` = Library, Police Station, Regional Senior Center, Community Service Center) the profile
maps it to ``subtype``; the category stays what the row offers (a warming centre).

Hours. :func:`build_service_hours` parses every service's ``hours_by_day`` / ``hours`` with
:mod:`warehouse.hours` into ``service_hours`` (one row per day and opening interval, or a closed day) and
``service_schedules`` (one row per service: weekly / partial / unknown, what could not be read), so
``SELECT status, count(*) FROM service_schedules GROUP BY 1`` counts what is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import _sqlexpr as X
from .hours import DAY_KEYS, DAY_NAMES, MINUTES_PER_DAY, Schedule, schedule_of


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    description: str


CATEGORIES: dict[str, Category] = {c.id: c for c in (
    Category("library", "Library", "Public library branch: books, computers and internet, study space."),
    Category("clinic", "Clinic", "Public-health clinic run by the city or county (e.g. a neighbourhood health clinic)."),
    Category("community_health_centre", "Community health centre",
             "Primary-care health centre for the community, often a federally qualified health centre (FQHC) "
             "that sees patients regardless of ability to pay."),
    Category("hospital", "Hospital", "Hospital with an emergency department or in-patient care."),
    Category("school", "School", "Public school (elementary or high school)."),
    Category("park", "Park", "Public park; distances are to its edge, not to a point inside it."),
    Category("police", "Police station", "Police district station, open to the public."),
    Category("fire", "Fire station", "Fire station (engine, truck or ambulance company)."),
    Category("warming_centre", "Warming centre", "Heated public place people can go to in cold weather."),
    Category("cooling_centre", "Cooling centre", "Air-conditioned public place people can go to in hot weather."),
    Category("ward_office", "Ward office", "The office of a city council member (alderman) for the ward."),
    Category("senior_centre", "Senior centre", "Centre with services and activities for older residents."),
    Category("community_service_centre", "Community service centre",
             "City community service centre: help with benefits, housing, food and emergencies."),
)}

# folded published value -> category id (folded: lower case, runs of non-letters -> one space)
SYNONYMS: dict[str, str] = {
    "library": "library", "libraries": "library", "public library": "library", "branch library": "library",
    "clinic": "clinic", "clinics": "clinic", "health clinic": "clinic", "neighborhood health clinic": "clinic",
    "neighbourhood health clinic": "clinic", "public health clinic": "clinic",
    "community health centre": "community_health_centre", "community health center": "community_health_centre",
    "community health centres": "community_health_centre", "community health centers": "community_health_centre",
    "fqhc": "community_health_centre", "primary care": "community_health_centre",
    "hospital": "hospital", "hospitals": "hospital",
    "school": "school", "schools": "school", "public school": "school",
    "park": "park", "parks": "park",
    "police": "police", "police station": "police", "police stations": "police", "police district station": "police",
    "fire": "fire", "fire station": "fire", "fire stations": "fire", "firehouse": "fire",
    "warming centre": "warming_centre", "warming center": "warming_centre", "warming centres": "warming_centre",
    "warming centers": "warming_centre",
    "cooling centre": "cooling_centre", "cooling center": "cooling_centre", "cooling centres": "cooling_centre",
    "cooling centers": "cooling_centre",
    "ward office": "ward_office", "ward offices": "ward_office", "alderman": "ward_office",
    "aldermanic office": "ward_office",
    "senior centre": "senior_centre", "senior center": "senior_centre", "regional senior center": "senior_centre",
    "community service centre": "community_service_centre", "community service center": "community_service_centre",
}


def fold(text: str | None) -> str:
    """``"Warming-Center_ "`` -> ``"warming center"`` (the key of :data:`SYNONYMS`)."""
    return re.sub(r"[^a-z0-9]+", " ", str(text or "").lower()).strip()


def canonical_category(value: str | None) -> str | None:
    """Published category or profile kind -> taxonomy id (unknown values -> their slug; empty -> None)."""
    folded = fold(value)
    if not folded:
        return None
    return SYNONYMS.get(folded) or folded.replace(" ", "_")


def category_label(category: str | None) -> str:
    """Human label of a category id (``police`` -> ``Police station``; unknown ids title-cased)."""
    if category in CATEGORIES:
        return CATEGORIES[category].label
    return (category or "other").replace("_", " ").capitalize()


def messages() -> dict[str, str]:
    """Every category's label and description as a page message, keyed ``category.<id>.label`` and
    ``category.<id>.about``.

    This is the one source of their English: the maps' English catalogue (``maps/i18n.py`` ``catalogue("en")``)
    takes them from here rather than from ``maps/locales/en.json``, and ``maps/locales/<lang>.json`` holds only
    their translations (``tests/maps/test_i18n_catalogues.py`` checks every category has them). A category the
    taxonomy does not know (a profile's or a portal's own word) has no message: the pages show it as written."""
    out: dict[str, str] = {}
    for c in CATEGORIES.values():
        out[f"category.{c.id}.label"] = c.label
        out[f"category.{c.id}.about"] = c.description
    return out


# ---------------------------------------------------------------------------------------------- loading

def load_columns(ctx, *, kind: str | None) -> list[str]:
    """The typed ``services`` columns for :func:`warehouse.load.load_dataset` (SQL select items).

    ``ctx`` is the loader's context (params, resolver, options). ``options.hours_columns`` names per-day
    opening-hours fields: ``{ mon = ["monday_open", "monday_close"], ... }``; they are packed as JSON text
    (day -> [open, close] as published) into ``hours_by_day``."""
    p = ctx.params
    raw = f"COALESCE(f_category, CAST({p.add(kind)} AS VARCHAR))"
    folded = f"trim(regexp_replace(lower({raw}), '[^a-z0-9]+', ' ', 'g'))"
    whens = " ".join(f"WHEN {folded} = {p.add(k)} THEN {p.add(v)}" for k, v in SYNONYMS.items())
    category = f"CASE WHEN {folded} = '' THEN NULL {whens} ELSE replace({folded}, ' ', '_') END"
    return ["f_name AS name", f"{category} AS category", f"{raw} AS category_source", "f_subtype AS subtype",
            "f_organization AS organization", f"{_address('f_address')} AS address", "f_phone AS phone",
            "f_hours AS hours",
            f"{_hours_by_day(ctx)} AS hours_by_day"]


def _address(expr: str) -> str:
    """The address without an embedded "(lat, lon)" and with its lines joined by ", " (Chicago's health centres
    publish "1649 N. Pulaski60639\n(41.91, -87.72)"; the coordinates are read from the location field anyway)."""
    no_coords = f"regexp_replace({expr}, {X.lit(X.LATLON_RE)}, '', 'g')"
    return f"NULLIF(trim(regexp_replace({no_coords}, '\\s*\\n\\s*', ', ', 'g'), ' ,'), '')"


def _hours_by_day(ctx) -> str:
    spec = ctx.options.get("hours_columns")
    if not spec:
        return "CAST(NULL AS VARCHAR)"
    if not isinstance(spec, dict):
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.hours_columns must be a table day -> [open, close]")
    items = []
    for day, pair in spec.items():
        key = str(day).strip().lower()[:3]
        if key not in DAY_KEYS or not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"{ctx.city}/{ctx.dataset}: options.hours_columns.{day} must be one of "
                             f"{', '.join(DAY_KEYS)} -> [open field, close field]")
        exprs = []
        for name in pair:
            col = ctx.resolver.find(str(name))
            if col is None:
                ctx.resolver.missing.append(f"hours_columns.{day}={name}")
                exprs.append("CAST(NULL AS VARCHAR)")
            else:  # the raw record (_raw, JSON text of every source field) holds the unmapped columns
                path = ctx.params.add('$."' + col.replace('"', '\\"') + '"')
                exprs.append(X.text(f"json_extract_string(_raw, {path})"))
        items.append((f"{ctx.params.add(key)}, [{exprs[0]}, {exprs[1]}]", exprs))
    anything = " OR ".join(f"{e} IS NOT NULL" for _, pair in items for e in pair)
    return (f"CASE WHEN {anything} THEN CAST(json_object({', '.join(i for i, _ in items)}) AS VARCHAR) END")


# ------------------------------------------------------------------------------------------ hours tables

def service_schedules(con, *, city: str) -> dict[tuple[str, str], Schedule]:
    """(dataset, source_id) -> :class:`warehouse.hours.Schedule` of every service of ``city``."""
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'services'").fetchall()}
    hours = "hours" if "hours" in cols else "NULL"
    by_day = "hours_by_day" if "hours_by_day" in cols else "NULL"
    rows = con.execute(f"SELECT dataset, source_id, {hours}, {by_day} FROM services WHERE city = ?",
                       [city]).fetchall()
    return {(d, s): schedule_of(hours=h, hours_by_day=b) for d, s, h, b in rows}


def build_service_hours(con, *, city: str) -> dict[str, int]:
    """(Re)build ``service_hours`` and ``service_schedules`` for ``city``; returns services per status."""
    scheds = service_schedules(con, city=city)
    hours_rows, sched_rows = [], []
    for (dataset, source_id), s in scheds.items():
        sched_rows.append((city, dataset, source_id, s.status, len(s.days), s.source, s.text,
                           "; ".join(s.problems) or None, s.conditions, s.describe()))
        for day, intervals in sorted(s.days.items()):
            if not intervals:
                hours_rows.append((city, dataset, source_id, day, DAY_NAMES[day - 1], True, None, None, None, s.source))
            for o, c in intervals:
                hours_rows.append((city, dataset, source_id, day, DAY_NAMES[day - 1], False, _hhmm(o), _hhmm(c),
                                   c > MINUTES_PER_DAY, s.source))
    con.begin()
    try:
        for table in ("service_hours", "service_schedules"):
            con.execute(f"DELETE FROM {table} WHERE city = ?", [city])
        if hours_rows:
            con.executemany("INSERT INTO service_hours (city, dataset, source_id, day_of_week, day_name, closed, "
                            "opens, closes, closes_next_day, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", hours_rows)
        if sched_rows:
            con.executemany("INSERT INTO service_schedules (city, dataset, source_id, status, days_known, source, "
                            "source_text, problems, conditions, weekly) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            sched_rows)
        con.commit()
    except Exception:
        con.rollback()
        raise
    counts: dict[str, int] = {}
    for s in scheds.values():
        counts[s.status] = counts.get(s.status, 0) + 1
    return counts


def _hhmm(m: int) -> str:
    m = m % MINUTES_PER_DAY if m != MINUTES_PER_DAY else m
    return "24:00:00" if m == MINUTES_PER_DAY else f"{m // 60:02d}:{m % 60:02d}:00"


def unmapped_categories(con, *, city: str) -> list[tuple[str, str, int]]:
    """(category, category_source, sites) of services whose category is not in the taxonomy."""
    rows = con.execute("SELECT category, any_value(category_source), count(*) FROM services WHERE city = ? "
                       "AND category IS NOT NULL GROUP BY 1 ORDER BY 1", [city]).fetchall()
    return [r for r in rows if r[0] not in CATEGORIES]


def replace_city_rows(con, *, table: str, city: str, columns: list[str], rows: list[tuple],
                      where: dict | None = None, exprs: dict[str, str] | None = None) -> int:
    """Replace ``city``'s rows of a derived table in one transaction (``table``, ``columns`` and ``exprs`` are
    trusted code, values are parameters); ``where`` narrows what is deleted (column -> value); ``exprs`` wraps a
    column's parameter in SQL (e.g. ``{"geom": "ST_GeomFromHEXWKB(?)"}``). Returns the rows written."""
    cond = " AND ".join(f"{X.ident(k)} = ?" for k in (where or {}))
    con.begin()
    try:
        con.execute(f"DELETE FROM {X.ident(table)} WHERE city = ?" + (f" AND {cond}" if cond else ""),
                    [city, *(where or {}).values()])
        if rows:
            marks = ", ".join((exprs or {}).get(c, "?") for c in columns)
            con.executemany(f"INSERT INTO {X.ident(table)} ({', '.join(X.ident(c) for c in columns)}) "
                            f"VALUES ({marks})", rows)
        con.commit()
    except Exception:
        con.rollback()
        raise
    return len(rows)


COVERAGE_COLUMNS = ["city", "area_kind", "area_code", "area_name", "category", "threshold_min", "network_status",
                    "sample_points", "spacing_m", "share_on_network", "share_area_beyond", "population",
                    "population_year", "residents_beyond", "median_min", "max_access_m", "street_detail"]
ISOCHRONE_COLUMNS = ["city", "kind", "category", "dataset", "source_id", "label", "origin_lat", "origin_lon",
                     "minutes", "walk_m", "buffer_m", "street_m", "area_m2"]


def write_coverage(con, *, city: str, rows: list[dict]) -> int:
    """Replace ``city``'s ``service_coverage`` rows (dicts with :data:`COVERAGE_COLUMNS`)."""
    return replace_city_rows(con, table="service_coverage", city=city, columns=COVERAGE_COLUMNS,
                             rows=[tuple(r[c] for c in COVERAGE_COLUMNS) for r in rows])


def write_isochrones(con, *, city: str, rows: list[dict]) -> int:
    """Replace ``city``'s ``isochrones`` rows (dicts with :data:`ISOCHRONE_COLUMNS` and ``wkb``, the polygon as
    hex WKB in WGS84)."""
    columns = [*ISOCHRONE_COLUMNS, "geom"]
    return replace_city_rows(con, table="isochrones", city=city, columns=columns,
                             rows=[tuple(r[c] for c in ISOCHRONE_COLUMNS) + (r["wkb"],) for r in rows],
                             exprs={"geom": "ST_GeomFromHEXWKB(?)"})
