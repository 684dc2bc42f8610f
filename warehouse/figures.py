"""Every number the four map pages show, as SQL over the warehouse: the "How is this computed?" registry.

Each :class:`Figure` is one kind of number a page shows (the explorer's count of matching incidents, a route's
length, an area's share beyond a walk, a department's total ...) with the DuckDB SQL that gives it, over the
warehouse's own tables and views, with named parameters (``$city``, ``$from`` ...). The pages embed these
templates when they are built and fill the parameters from what the reader has selected; the page shows the
SQL, the values and the ``civicmash sql "..." --param name=value`` command that reproduces the number. The same
registry feeds Datasette's canned queries (``sqlite_sql``, where a figure can be said in SQLite).

Parameters are **text**, as ``civicmash sql --param`` passes them: the SQL casts what is not compared with a
column (``CAST($year AS INTEGER)``), and a list travels as JSON text (``from_json($types, '["VARCHAR"]')``).
:func:`run_figure` binds exactly that text, so what a test runs is what the command line runs.

The explorer filters in the page, so its figures are built from parts: ``head``, the fixed predicates ``where``
and ``tail``, and between them the predicates of the filters that are set (``maps/explorer_filters.py``'s
declared SQL in text-parameter form, :func:`text_form`). :attr:`Figure.sql` is the figure with the
default filters (the date window) so that it runs as it stands.

``definition`` says where the figure's definition differs from the source's (filled areas, victims not cases,
window edges, what cannot be SQL); the page shows it beside the SQL.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, replace

from .sql_tokens import strip_comments

PAGES = ("explorer", "safe_route", "locator", "spending", "providers")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
FILTER_MARK = "/*filters*/"


@dataclass(frozen=True)
class Figure:
    key: str  # "explorer.total", "safe_route.shortest_m", ...
    page: str  # one of PAGES
    title: str  # what the number is, in words
    sql: str  # DuckDB SQL over warehouse tables/views with named $parameters (text values)
    params: tuple[str, ...]  # the parameter names the SQL uses, in order of appearance
    definition: str = ""  # where the definition differs from the source
    sqlite_sql: str | None = None  # the same in SQLite over the published Datasette tables (:name parameters)
    column: str = ""  # the result column that is the number shown (first row)
    # explorer only: the parts the page composes with the filters that are set (see the module docstring)
    head: str = ""
    where: tuple[str, ...] = ()
    tail: str = ""
    default_filters: tuple[str, ...] = ()
    reproduce: str = ""  # for a number SQL cannot compute: the command that does (the SQL then gives its inputs)
    # the values of the ``{name}`` placeholders of the title's and definition's message templates (:func:`messages`):
    # the explorer's area words: ("area", the area kind in words), ("column", the incidents column holding it)
    words: tuple[tuple[str, str], ...] = ()


def param_names(sql: str) -> tuple[str, ...]:
    """The ``$name`` parameters of ``sql``, in order of first appearance (comments left out)."""
    return _params_of(sql)


def _params_of(sql: str) -> tuple[str, ...]:
    seen: list[str] = []
    for name in _PARAM.findall(strip_comments(sql)):
        if name not in seen:
            seen.append(name)
    return tuple(seen)


# ------------------------------------------------------------------------------------------- explorer filters

# The declared filters' parameters that are not plain text: how the text form converts them.
_TEXT_CASTS = {
    "types": "from_json($types, '[\"VARCHAR\"]')",
    "dow": "from_json($dow, '[\"INTEGER\"]')",
    **{name: f"CAST(${name} AS DOUBLE)" for name in
       ("near_lat", "near_lon", "block_lat", "block_lon", "lat0", "lon0", "r")},
}
# Compared with a column, a text parameter takes the column's type (``arrest = $arrest``, ``minute >= $tod_from``);
# compared with each other, two text parameters would compare as text ('1320' < '180'): those comparisons cast.
_TEXT_PAIRS = {"$tod_from = $tod_to": "CAST($tod_from AS INTEGER) = CAST($tod_to AS INTEGER)",
               "$tod_from < $tod_to": "CAST($tod_from AS INTEGER) < CAST($tod_to AS INTEGER)"}


def text_form(sql: str) -> str:
    """A declared filter's SQL with its parameters read from text: lists from JSON text
    (``from_json($types, '["VARCHAR"]')``), numbers in arithmetic cast (``CAST($r AS DOUBLE)``), parameters
    compared with each other cast; a parameter compared with a column is left as it is (DuckDB converts it)."""
    for pair, cast in _TEXT_PAIRS.items():
        sql = sql.replace(pair, cast.replace("$", "\x00"))
    return _PARAM.sub(lambda m: _TEXT_CASTS.get(m.group(1), m.group(0)), sql).replace("\x00", "$")


def _filters_for_registry() -> dict[str, str]:
    """The date predicates in text form. The page takes every filter's predicate from ``maps/explorer_filters.py``
    through :func:`text_form` (``civicmash.maps.figure_sql``); warehouse code does not import maps, so the two
    defaults are written here too (tests/warehouse/test_figures.py checks they agree)."""
    return {"from": "occurred_at >= CAST($from AS DATE)",
            "to": "occurred_at < CAST($to AS DATE) + INTERVAL 1 DAY"}


def compose(fig: Figure, filter_sql: list[str] | None = None) -> str:
    """The explorer figure's SQL with the given filter predicates (None: its default filters)."""
    if not fig.head:
        return fig.sql
    preds = list(fig.where[:2])
    preds += filter_sql if filter_sql is not None else [_filters_for_registry()[k] for k in fig.default_filters]
    preds += list(fig.where[2:])
    return fig.head + "\nWHERE " + "\n  AND ".join(preds) + fig.tail


def _area_label(column: str) -> str:
    return f"coalesce(nullif(CAST({column} AS VARCHAR), ''), '(not given)') = $area"


_FROM = "\nFROM incidents_current"
_BASE_WHERE = ("city = $city", "occurred_at IS NOT NULL")
_NOT_FIXTURE = ("NOT EXISTS (SELECT 1 FROM datasets d WHERE d.city = {a}.city AND d.dataset = {a}.dataset "
                "AND d.role = 'fixture')")

ROWS_DEFINITION = (
    "Rows of incidents_current: the current version of each record (earlier versions are in incidents_history; "
    "format-fixture datasets left out). Homicides are one row per victim, not per case: the source repeats a case "
    "number for each victim, so a HOMICIDE count is victims. ")
WINDOW_DEFINITION = (
    "Dates are whole days as published (local time): from $from 00:00 up to, not including, 00:00 of the day after "
    "$to. On opening, the page selects the 90 calendar days ending on the latest incident's day (the window of the "
    "view incidents_last_90_days), not the 90 days before today. Undated incidents are in no window.")


def _fill(template: str, words: dict[str, str]) -> str:
    """A message template with its ``{name}`` placeholders filled from ``words`` (maps/i18n.py's syntax)."""
    return re.sub(r"\{(\w+)\}", lambda m: words.get(m.group(1), m.group(0)), template)


def _explorer(area_slot: str = "community_area", area_kind: str = "community_area") -> list[Figure]:
    area_pred = _area_label(area_slot)
    filled = (f"count(*) FILTER (WHERE list_contains(string_split(coalesce(filled_from_coordinates, ''), ','), "
              f"'{area_slot}')) AS filled_from_coordinates")
    # titles and definitions are message templates (:func:`messages`): {area} the area kind in words, {column}
    # the incidents column that holds it, filled below (Figure.words keeps the values for the page's translation)
    words = {"area": area_kind.replace("_", " "), "column": area_slot}
    rate_head = (
        "WITH residents AS (\n"
        "  SELECT p.population FROM population p\n"
        "  WHERE p.city = $city AND p.area_kind = $area_kind AND p.area_code = $area\n"
        f"    AND {_NOT_FIXTURE.format(a='p')}\n"
        "  ORDER BY p.year DESC NULLS LAST, p.fetched_at DESC NULLS LAST, p.dataset LIMIT 1),\n"
        "matching AS (\n"
        f"  SELECT count(*) AS incidents, {filled}{_FROM}")
    rate_tail = (")\nSELECT round(m.incidents * 1000.0 / r.population, 2) AS per_1000, m.incidents, r.population, "
                 "m.filled_from_coordinates\nFROM matching m, residents r WHERE r.population > 0")
    parts = [
        ("explorer.total", "Matching incidents", "SELECT count(*) AS incidents" + _FROM, _BASE_WHERE, "", "incidents",
         ROWS_DEFINITION + WINDOW_DEFINITION),
        ("explorer.type_count", "Matching incidents of one type", "SELECT count(*) AS incidents" + _FROM,
         _BASE_WHERE + ("primary_type = $primary_type",), "", "incidents", ROWS_DEFINITION + WINDOW_DEFINITION),
        ("explorer.type_available", "Incidents of one type matching the other filters",
         "SELECT count(*) AS incidents" + _FROM, _BASE_WHERE + ("primary_type = $primary_type",), "", "incidents",
         "The number beside each type's box: every other filter applies, the selection of types does not (so a "
         "type that is not selected shows what it would add). " + ROWS_DEFINITION + WINDOW_DEFINITION),
        ("explorer.no_coordinates", "Matching incidents without coordinates (not on the map)",
         "SELECT count(*) AS incidents" + _FROM, _BASE_WHERE + ("(lat IS NULL OR lon IS NULL)",), "", "incidents",
         "Counted in every figure but drawn on no map: the source gave no location (or one civicmash quarantined as "
         "implausible). " + ROWS_DEFINITION + WINDOW_DEFINITION),
        ("explorer.at_midnight", "Matching incidents recorded at exactly 00:00",
         "SELECT count(*) AS incidents" + _FROM, _BASE_WHERE + ("hour(occurred_at) = 0 AND minute(occurred_at) = 0",),
         "", "incidents",
         "Seconds are ignored, as in the page. A time of exactly 00:00 often means the source did not know the time "
         "of day. " + ROWS_DEFINITION + WINDOW_DEFINITION),
        ("explorer.description_count", "Matching incidents with one description",
         "SELECT count(*) AS incidents" + _FROM,
         _BASE_WHERE + ("coalesce(nullif(description, ''), '(no description)') = $description",), "", "incidents",
         ROWS_DEFINITION + WINDOW_DEFINITION),
        ("explorer.area_count", "Matching incidents in one {area}", "SELECT count(*) AS incidents" + _FROM,
         _BASE_WHERE + (area_pred,), "", "incidents",
         "The {area} is the one recorded with the incident; where the source left it blank civicmash filled "
         "it in from the coordinates (point in polygon; the incident's filled_from_coordinates names "
         "{column}). " + ROWS_DEFINITION + WINDOW_DEFINITION),
        ("explorer.rate_per_1000", "Matching incidents per 1,000 residents of one {area}", rate_head,
         _BASE_WHERE + (area_pred,), rate_tail, "per_1000",
         "Rate = matching incidents in the {area} / its residents x 1,000. Residents: the latest year loaded "
         "for the area (population.area_kind = $area_kind). The {area} is the one recorded with each "
         "incident, and where the source left it blank civicmash filled it in from the coordinates (the column "
         "filled_from_coordinates of the result counts those), so a rate can differ slightly from one computed "
         "from the published codes alone (docs/maps.md gives a measured case). " + ROWS_DEFINITION
         + WINDOW_DEFINITION),
    ]
    out = []
    for key, title, head, where, tail, column, definition in parts:
        fig = Figure(key=key, page="explorer", title=_fill(title, words), sql="", params=(),
                     definition=_fill(definition, words), column=column, head=head, where=where, tail=tail,
                     default_filters=("from", "to"),
                     words=tuple((k, v) for k, v in words.items() if "{%s}" % k in title + definition))
        sql = compose(fig)
        out.append(replace(fig, sql=sql, params=_params_of(sql)))
    return out


def explorer_figures(area_slot: str = "community_area", area_kind: str = "community_area") -> list[Figure]:
    """The explorer's figures for a city whose rates count the incidents column ``area_slot`` (one of beat,
    district, ward, community_area: our own identifiers) by areas of ``area_kind``."""
    if area_slot not in ("beat", "district", "ward", "community_area"):
        raise ValueError(f"explorer figures: unknown area column {area_slot!r}")
    return _explorer(area_slot, area_kind)


# ------------------------------------------------------------------------------------------------ safe route

_ROUTE_EDGES = (
    "WITH route AS (\n"
    "  SELECT unnest(from_json($edge_ids, '[\"BIGINT\"]')) AS edge_id),\n"
    "streets AS (\n"
    "  SELECT edge_id, CAST(length_m AS DOUBLE) AS length_m FROM street_edges\n"
    "  WHERE city = $city AND superseded_by IS NULL\n"
    "  UNION ALL\n"
    "  SELECT link_id, length_m FROM street_links WHERE city = $city)\n"
    "SELECT round(sum(s.length_m), 1) AS length_m, round(sum(s.length_m) / 1.3 / 60, 1) AS minutes,\n"
    "       count(*) AS edges\n"
    "FROM route r JOIN streets s USING (edge_id)")
_ROUTE_EXPOSURE = (
    "SELECT round(sum(e.exposure), 1) AS exposure, count(*) AS edges\n"
    "FROM (SELECT unnest(from_json($edge_ids, '[\"BIGINT\"]')) AS edge_id,\n"
    "             unnest(from_json($edge_exposure, '[\"DOUBLE\"]')) AS exposure) e")
LENGTH_DEFINITION = ("Length = the sum of the lengths of the street segments the route walks (street_edges, plus the "
                     "street_links that join street datasets), in the order of $edge_ids; walking time at 1.3 m/s.")
EXPOSURE_DEFINITION = (
    "Exposure is not in the warehouse and cannot be computed in SQL: each incident of the window (its type weight, "
    "and its hour weight when a time is set) is placed on the nearest street and spread along the streets within "
    "100 m by a kernel (civicmash.analysis.risk, in Python); a segment's exposure is the mass it receives, times "
    "the street factors. The page carries each segment's exposure ($edge_exposure, in the order of $edge_ids) and "
    "this SQL sums them: it reproduces the route's total from its per-segment inputs, not the kernel. "
    "`civicmash route` recomputes the route and its exposure from the warehouse.")


def _safe_route() -> list[Figure]:
    out = []
    for which, words in (("shortest", "Shortest route"), ("safer", "Recommended (safer) route")):
        out.append(Figure(key=f"safe_route.{which}_m", page="safe_route", title=f"{words}: length (m)",
                          sql=_ROUTE_EDGES, params=_params_of(_ROUTE_EDGES), definition=LENGTH_DEFINITION,
                          column="length_m"))
        out.append(Figure(key=f"safe_route.{which}_exposure", page="safe_route", title=f"{words}: exposure",
                          sql=_ROUTE_EXPOSURE, params=_params_of(_ROUTE_EXPOSURE), definition=EXPOSURE_DEFINITION,
                          column="exposure", reproduce="civicmash route --city $city --from $from --to $to"))
    return out


# --------------------------------------------------------------------------------------------------- locator

_COVERAGE_ROW = (
    "SELECT round(share_area_beyond * 100) AS pct_beyond, median_min, residents_beyond, network_status\n"
    "FROM service_coverage\n"
    "WHERE city = $city AND category = $category AND threshold_min = CAST($minutes AS INTEGER)\n"
    "  AND area_code = $area")
_COVERAGE_GAPS = (
    "SELECT count(*) FILTER (WHERE share_area_beyond > 0.5) AS areas_mostly_beyond,\n"
    "       count(*) AS areas_measured,\n"
    "       sum(residents_beyond) AS residents_beyond\n"
    "FROM service_coverage\n"
    "WHERE city = $city AND category = $category AND threshold_min = CAST($minutes AS INTEGER)\n"
    "  AND network_status <> 'none'")
_NEAREST = (
    "SELECT name, category, lat, lon,\n"
    "       round(CAST($dist_m AS DOUBLE) / 1.3 / 60, 1) AS minutes\n"
    "FROM services\n"
    "WHERE city = $city AND category = $category AND coalesce(name, '') = $name\n"
    "ORDER BY abs(lat - CAST($lat AS DOUBLE)) + abs(lon - CAST($lon AS DOUBLE)) LIMIT 1")
COVERAGE_DEFINITION = (
    "Measured on a lattice of sample points inside the area (service_coverage): the share of the points within "
    "reach of the street data from which the nearest service of the category is more than $minutes minutes' walk "
    "(1.3 m/s along the streets) away. An area's residents beyond = its population x that share, assuming residents "
    "spread evenly over it (no finer population data). Areas the street data does not reach (network_status "
    "'none') are not measured.")
NEAREST_DEFINITION = (
    "The walking distance is a shortest-path search over the street graph (street_edges, from the point snapped "
    "to its nearest street to each service's access point), run in the page with the same arithmetic as "
    "`civicmash locate`; SQL does not search graphs, so this SQL only checks the service and turns the distance "
    "($dist_m) into minutes at 1.3 m/s. The command under it recomputes the distance from the warehouse.")


def _locator() -> list[Figure]:
    return [
        Figure(key="locator.nearest_minutes", page="locator", title="Walking minutes to a nearest service",
               sql=_NEAREST, params=_params_of(_NEAREST), definition=NEAREST_DEFINITION, column="minutes",
               reproduce="civicmash locate --city $city --near $near --category $category"),
        Figure(key="locator.gap_share", page="locator", title="Share of an area beyond the walk (%)",
               sql=_COVERAGE_ROW, params=_params_of(_COVERAGE_ROW), definition=COVERAGE_DEFINITION,
               column="pct_beyond"),
        Figure(key="locator.gap_areas", page="locator", title="Areas with more than half their land beyond the walk",
               sql=_COVERAGE_GAPS, params=_params_of(_COVERAGE_GAPS), definition=COVERAGE_DEFINITION,
               column="areas_mostly_beyond"),
        Figure(key="locator.residents_beyond", page="locator", title="Residents beyond the walk (estimate)",
               sql=_COVERAGE_GAPS, params=_params_of(_COVERAGE_GAPS), definition=COVERAGE_DEFINITION,
               column="residents_beyond"),
    ]


# -------------------------------------------------------------------------------------------------- spending

_YEAR = "($year = 'all' OR fiscal_year = TRY_CAST($year AS INTEGER))"
_SPEND_TOTAL = ("SELECT sum(amount) AS total\nFROM spending\n"
                f"WHERE city = $city AND amount IS NOT NULL AND {_YEAR}")


def _spend_by(column: str, missing: str) -> str:
    return ("SELECT sum(amount) AS total\nFROM spending\n"
            f"WHERE city = $city AND amount IS NOT NULL AND {_YEAR}\n"
            f"  AND coalesce(nullif(trim({column}), ''), '{missing}') = ${column}")


_SPEND_OTHER = (
    "SELECT sum(total) AS total, count(*) AS departments\n"
    "FROM (SELECT coalesce(nullif(trim(department), ''), '(department not given)') AS department,\n"
    "             sum(amount) AS total\n"
    "      FROM spending\n"
    f"      WHERE city = $city AND amount IS NOT NULL AND {_YEAR}\n"
    "      GROUP BY 1 ORDER BY total DESC, department\n"
    "      OFFSET CAST($top AS INTEGER))")
SPEND_DEFINITION = ("Sum of spending.amount for fiscal year $year (all years when $year is all); lines without an "
                    "amount are left out; the page rounds to whole dollars. Names as published, trimmed; an empty "
                    "name is grouped as '(... not given)'.")


def _spending() -> list[Figure]:
    def fig(key, title, sql, sqlite=None):
        return Figure(key=key, page="spending", title=title, sql=sql, params=_params_of(sql),
                      definition=SPEND_DEFINITION, column="total", sqlite_sql=sqlite)

    return [
        fig("spending.total", "Total spending in the year", _SPEND_TOTAL,
            "SELECT sum(amount) AS total FROM spending WHERE city = :city AND amount IS NOT NULL "
            "AND (:year = 'all' OR fiscal_year = CAST(:year AS INTEGER))"),
        fig("spending.department", "Spending of one department in the year",
            _spend_by("department", "(department not given)")),
        fig("spending.other_departments", "Spending of the departments beyond the top ones", _SPEND_OTHER),
        fig("spending.fund", "Spending from one fund in the year", _spend_by("fund", "(fund not given)")),
    ]


# -------------------------------------------------------------------------------------------------- registry

from .money_figures import money_figures  # noqa: E402 - the money pages' figures (issue 16)

FIGURES: dict[str, Figure] = {f.key: f for f in (*_explorer(), *_safe_route(), *_locator(), *_spending(),
                                                 *(Figure(params=_params_of(m["sql"]), **m) for m in money_figures()))}


def figure(key: str) -> Figure:
    try:
        return FIGURES[key]
    except KeyError:
        raise KeyError(f"no figure {key!r}; figures: {', '.join(sorted(FIGURES))}") from None


def figures_for(page: str) -> list[Figure]:
    if page not in PAGES:
        raise ValueError(f"no page {page!r}; pages: {', '.join(PAGES)}")
    return [f for f in FIGURES.values() if f.page == page]


def param_text(value) -> str:
    """A parameter value as ``civicmash sql --param`` passes it: text. Lists as JSON, booleans as
    true/false, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def _bind(fig: Figure, sql: str, params: dict) -> dict[str, str]:
    names = _params_of(sql)
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"figure {fig.key}: missing parameter(s) {', '.join(missing)} (it uses {', '.join(names)})")
    return {n: param_text(params[n]) for n in names}


def run_figure(con, key: str, **params) -> list[tuple]:
    """Run figure ``key`` on ``con`` with ``params`` bound as text (never formatted into the SQL)."""
    fig = figure(key)
    return con.execute(fig.sql, _bind(fig, fig.sql, params)).fetchall()


def command(sql: str, params: dict) -> str:
    """``civicmash sql '<sql>' --param name=value ...``, shell-quoted, parameters in order of appearance."""
    parts = ["civicmash", "sql", shlex.quote(sql)]
    for name in _params_of(sql):
        parts += ["--param", shlex.quote(f"{name}={param_text(params.get(name))}")]
    return " ".join(parts)


def cli_command(key: str, **params) -> str:
    """The command that reproduces figure ``key`` with ``params``."""
    fig = figure(key)
    _bind(fig, fig.sql, params)
    return command(fig.sql, params)


def page_payload(page: str, figures: list[Figure] | None = None) -> dict:
    """What a page embeds (JSON in the page): its figures' SQL templates, parameters and definitions."""
    figs = figures if figures is not None else figures_for(page)
    out: dict = {"figures": {f.key: {
        "title": f.title, "sql": f.sql, "params": list(f.params), "definition": f.definition, "column": f.column,
        "head": f.head, "where": list(f.where), "tail": f.tail, "reproduce": f.reproduce,
        **({"words": dict(f.words)} if f.words else {})} for f in figs}}
    return out


def messages() -> dict[str, str]:
    """Every figure's title and definition as a message template, keyed ``figure.<key>.title`` and
    ``figure.<key>.definition``, with ``{name}`` placeholders for the words :attr:`Figure.words` fills (the
    explorer's area kind and column).

    This is the one source of the English: the maps' English catalogue (``maps/i18n.py`` ``catalogue("en")``)
    takes these messages from here rather than from ``maps/locales/en.json``, and ``maps/locales/<lang>.json``
    holds only their translations (a test checks every figure has them, with the same placeholders)."""
    templates = {f.key: f for f in _explorer(area_slot="{column}", area_kind="{area}")}   # words left unfilled
    out: dict[str, str] = {}
    for fig in FIGURES.values():
        fig = templates.get(fig.key, fig)
        out[f"figure.{fig.key}.title"] = fig.title
        if fig.definition:
            out[f"figure.{fig.key}.definition"] = fig.definition
    return out


__all__ = ["FIGURES", "Figure", "cli_command", "command", "compose", "explorer_figures", "figure", "figures_for",
           "messages", "page_payload", "param_names", "param_text", "run_figure", "text_form"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def docs_table() -> str:
    """The markdown table of docs/maps.md ("How each figure is computed"), one row per figure of the registry
    (a test fails when it is stale). Regenerate: ``python -c "from civicmash.warehouse.figures import
    docs_table; print(docs_table())"``."""
    rows = ["| figure | what the page shows | parameters | result column | where the definition differs |",
            "|---|---|---|---|---|"]
    for f in FIGURES.values():
        params = ", ".join(f"`${p}`" for p in f.params)
        rows.append(f"| `{f.key}` | {_cell(f.title)} | {params} | `{f.column}` | {_cell(f.definition) or '—'} |")
    return "\n".join(rows) + "\n"
