"""The crime explorer's filters, declared once.

Each :class:`Filter` says everything the product needs about one filter: its key, the label of its control,
the control (a kind the page and the controls template know, plus its element ids), the key it is written
under in the URL hash, the predicate of ``maps/templates/explorer_filters.js`` the page applies, and the same
rule as a parameterised SQL predicate over the warehouse view ``incidents_current``. From :data:`FILTERS`:

* ``maps/templates/explorer_controls.html.j2`` draws the controls (section by section);
* the page (``maps/templates/explorer.js``) reads and writes the URL hash and applies the predicates;
* :func:`docs_table` is the table in docs/maps.md ("Crime explorer"; a test fails when it is stale);
* ``tests/browser/test_explorer_filters.py`` compares the page's count for each filter with DuckDB's count
  from :attr:`Filter.sql`.

So adding a filter is one entry here, one control (a kind below, or a new one in the template and the page)
and one doc row (regenerated). The module imports nothing heavy: node's unit tests of the page predicates
read :func:`page_table` through a short Python call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MAX_RADIUS_M = 804.672  # half a mile: the cap of the "near" filters' radius
R_EARTH_M = 6371008.8  # the page's haversine sphere
EMBED_SCALE = 100_000  # incident coordinates travel as integers of 1e-5 degree (maps/_payload.SCALE)

# (id of the <details> box, heading) in page order; a filter names its section by id.
SECTIONS = (("f-when", "When"), ("f-types", "Types"), ("f-where", "Where"), ("f-flags", "Arrest and domestic"))


@dataclass(frozen=True)
class Control:
    """How a filter is set in the page: ``kind`` is one of the kinds the controls template and the page's
    codecs know (types, date, time-range, weekdays, select, flag, place, address, radius); ``ids`` are its
    elements (the first carries ``label``); ``options`` holds what the kind needs beyond that: a second label
    and a hint (time-range), the end of the opening window it defaults to (date), the filters it is written
    with (radius)."""

    kind: str
    ids: tuple[str, ...]
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Filter:
    key: str  # the page's name for the filter (state, column)
    label: str  # the label of its control
    section: str  # a SECTIONS id
    control: Control
    hash_key: str  # written as <hash_key>=<value> in location.hash (existing links depend on these)
    js: str  # the predicate in maps/templates/explorer_filters.js
    sql: str | None  # over incidents_current, with $named parameters (None: the filter only modifies others)
    example: str  # a hash value, for the docs
    meaning: str  # what it selects, in words (docs)


def _embedded_distance_sql(target: str) -> str:
    """Metres from the incident's embedded coordinates (rounded to 1e-5 degree from the page's origin
    ``$lat0``/``$lon0``) to (``$<target>_lat``, ``$<target>_lon``): the page's haversine, in SQL."""
    qlat = f"($lat0 + round((lat - $lat0) * {EMBED_SCALE}) / {EMBED_SCALE})"
    qlon = f"($lon0 + round((lon - $lon0) * {EMBED_SCALE}) / {EMBED_SCALE})"
    return (f"2 * {R_EARTH_M} * asin(sqrt(pow(sin(({qlat} - ${target}_lat) * pi() / 180 / 2), 2) + "
            f"cos(${target}_lat * pi() / 180) * cos({qlat} * pi() / 180) * "
            f"pow(sin(({qlon} - ${target}_lon) * pi() / 180 / 2), 2)))")


def _coded_sql(column: str, key: str) -> str:
    """Equality on the page's label of a value: NULL or empty is the label "(not given)"."""
    return f"coalesce(nullif(CAST({column} AS VARCHAR), ''), '(not given)') = ${key}"


def _area(key: str, label: str, element: str, hash_key: str, column: str, example: str) -> Filter:
    return Filter(key=key, label=label, section="f-where", control=Control("select", (element,)), hash_key=hash_key,
                  js="codeIs", sql=_coded_sql(column, key), example=example,
                  meaning="equality on the warehouse value; `(not given)` = NULL or empty")


_MINUTE = "(hour(occurred_at) * 60 + minute(occurred_at))"
_NEAR_MEANING = ("haversine distance (sphere of 6,371,008.8 m) from the incident's embedded coordinates "
                 "(1e-5 degree) to {target} `<= r`; incidents without coordinates never match")

FILTERS: tuple[Filter, ...] = (
    Filter(key="types", label="Types", section="f-types", control=Control("types", ("type-list",)), hash_key="types",
           js="typeSelected", sql="list_contains($types, primary_type)", example="THEFT,BATTERY",
           meaning="checkboxes grouped by the profile's categories (`[risk.categories]`; types in none of them "
                   "under \"not in a category\"), a group's box selects or clears its types; names URI-encoded "
                   "one by one and joined with literal commas; absent = all"),
    Filter(key="from", label="From (date, inclusive)", section="f-when", control=Control("date", ("date-from",), {"window": "start"}),
           hash_key="from", js="dayStart", sql="occurred_at >= CAST($from AS DATE)", example="2018-09-01",
           meaning="from that day's 00:00; default: the first day of the window selected on opening"),
    Filter(key="to", label="To (date, inclusive)", section="f-when", control=Control("date", ("date-to",), {"window": "end"}),
           hash_key="to", js="dayEnd", sql="occurred_at < CAST($to AS DATE) + INTERVAL 1 DAY", example="2018-09-30",
           meaning="up to the next day's 00:00 (the day is included); default: the last day of the window"),
    Filter(key="tod", label="Time of day from", section="f-when",
           control=Control("time-range", ("tod-from", "tod-to"),
                           {"until": "until (not included)",
                            "hint": "A range like 22:00 – 03:00 crosses midnight. Leave empty for the whole day."}),
           hash_key="tod", js="inTimeWindow",
           sql=f"($tod_from = $tod_to OR CASE WHEN $tod_from < $tod_to "
               f"THEN {_MINUTE} >= $tod_from AND {_MINUTE} < $tod_to "
               f"ELSE {_MINUTE} >= $tod_from OR {_MINUTE} < $tod_to END)",
           example="22:00-03:00",
           meaning="minute of day (seconds ignored), start included, end excluded (09:00-17:00: 16:59 in, 17:00 "
                   "out); start > end crosses midnight (22:00-03:00: from 22:00 or before 03:00); equal or "
                   "empty = whole day"),
    Filter(key="dow", label="Day of week", section="f-when", control=Control("weekdays", ("dow-list",)),
           hash_key="dow", js="weekdayIn", sql="list_contains($dow, isodow(occurred_at))", example="6,7",
           meaning="ISO days, 1 = Monday; absent = every day"),
    _area("beat", "Police beat", "f-beat", "beat", "beat", "0421"),
    _area("district", "Police district", "f-district", "district", "district", "1"),
    _area("ward", "Ward", "f-ward", "ward", "ward", "42"),
    _area("community_area", "Community area", "f-ca", "ca", "community_area", "32"),
    Filter(key="loc", label="Location description", section="f-where", control=Control("select", ("f-loc",)),
           hash_key="loc", js="codeIs", sql=_coded_sql("location_description", "loc"), example="STREET",
           meaning="equality; `(not given)` = NULL or empty"),
    Filter(key="arrest", label="Arrest made", section="f-flags", control=Control("flag", ("f-arrest",)),
           hash_key="arrest", js="codeIs", sql="arrest = $arrest", example="true",
           meaning="`true` / `false`: `arrest` / `NOT arrest`; NULL matches neither"),
    Filter(key="domestic", label="Domestic", section="f-flags", control=Control("flag", ("f-domestic",)),
           hash_key="domestic", js="codeIs", sql="domestic = $domestic", example="false",
           meaning="`true` / `false`: `domestic` / `NOT domestic`; NULL matches neither"),
    Filter(key="near", label="Near a school or park", section="f-where", control=Control("place", ("f-near",)),
           hash_key="near", js="withinRadius",
           sql=f"lat IS NOT NULL AND lon IS NOT NULL AND {_embedded_distance_sql('near')} <= $r",
           example="school:<source_id>",
           meaning=_NEAR_MEANING.format(target="the site's exact coordinates (names from `services`, "
                                               "categories `school`/`park`)")),
    Filter(key="block", label="Near an address, block or street (e.g. 121 N State St, 001XX N STATE ST)",
           section="f-where", control=Control("address", ("f-block", "block-resolved")), hash_key="block",
           js="withinRadius",
           sql=f"lat IS NOT NULL AND lon IS NOT NULL AND {_embedded_distance_sql('block')} <= $r",
           example="121 NORTH STATE STREET",
           meaning="the text as typed, upper-cased; resolved offline from the incidents' own `block` values (see "
                   "below); the block's point is the lower median of its incidents' embedded latitudes and "
                   "longitudes; then " + _NEAR_MEANING.format(target="that point")),
    Filter(key="r", label="Radius in metres (at most 805 = ½ mile)", section="f-where",
           control=Control("radius", ("f-radius",), {"with": ["near", "block"]}), hash_key="r", js="cappedRadius", sql=None, example="804.672",
           meaning=f"the `r` of both \"near\" filters (both apply when both are set); capped at {MAX_RADIUS_M} m "
                   "(½ mile), a larger value is read as the cap; written only with `near` or `block`"),
)


AREA_KEYS = ("beat", "district", "ward", "community_area")
"""The area filters: one per incidents area column (slot); their keys and hash keys never change, so links
made for one city's page keep working whatever its profile calls the areas."""


def by_key(filters: tuple[Filter, ...] = FILTERS) -> dict[str, Filter]:
    return {f.key: f for f in filters}


def filters_for(areas: dict | None = None, *, present: set[str] | None = None) -> tuple[Filter, ...]:
    """The filters of one city's page: :data:`FILTERS` with each area filter labelled as the city calls that
    column (``areas``: ``{"slots": {slot: {"label": ...}}}``, the profile's ``[areas]``; None keeps Chicago's
    labels) and only the area filters whose column the city fills (``present``: the slots with boundaries of
    their kind or with values in the incidents; None keeps all four). Keys and hash keys stay as declared."""
    from dataclasses import replace

    slots = (areas or {}).get("slots", areas) or {}
    out = []
    for f in FILTERS:
        if f.key in AREA_KEYS:
            if present is not None and f.key not in present:
                continue
            label = (slots.get(f.key) or {}).get("label")
            f = replace(f, label=str(label)) if label else f
        out.append(f)
    return tuple(out)


def page_table(filters: tuple[Filter, ...] = FILTERS) -> dict:
    """What the page reads from its data block: the declared filters (without their SQL) and the cap."""
    return {
        "filters": [{k: v for k, v in asdict(f).items() if k not in ("sql", "meaning", "example")} for f in filters],
        "maxRadius": MAX_RADIUS_M,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def docs_table() -> str:
    """The markdown table of docs/maps.md ("Crime explorer"), one row per filter in hash order; the distance
    expression of the "near" filters is shortened to ``distance($<t>_lat, $<t>_lon)`` (defined under it)."""
    rows = ["| filter | control | URL hash | page predicate (`explorer_filters.js`) | SQL over `incidents_current` | meaning |",
            "|---|---|---|---|---|---|"]
    for f in FILTERS:
        control = f"{f.control.kind} (`#{'`, `#'.join(f.control.ids)}`)"
        sql = f.sql
        for target in ("near", "block"):
            sql = sql and sql.replace(_embedded_distance_sql(target), f"distance(${target}_lat, ${target}_lon)")
        sql = f"`{sql}`" if sql else "—"
        rows.append(f"| {_cell(f.label)} | {control} | `{f.hash_key}={_cell(f.example)}` | `{f.js}` | {_cell(sql)} | "
                    f"{_cell(f.meaning)} |")
    rows.append("")
    rows.append("`distance($t_lat, $t_lon)` is the page's haversine in SQL: `" + _embedded_distance_sql("t") +
                "`, where `$lat0`/`$lon0` are the page's coordinate origin (`data.incidents.lat0`/`lon0`).")
    return "\n".join(rows) + "\n"
