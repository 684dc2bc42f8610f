"""Offence categories: one canonical set every city's crime types are mapped onto, for comparing cities.

Each city publishes its own offence vocabulary (Chicago's primary types ``THEFT``, ``BATTERY``; Los Angeles's
~110 crime descriptions ``VEHICLE - STOLEN``, ``BATTERY - SIMPLE ASSAULT``). A *crosswalk* (the profile's
``[offences]``; passed in here as a plain dict, the warehouse does not read profiles) says which source values
fall in which canonical category; :func:`classify_incidents` writes the category into ``incidents.offence`` and
its NIBRS crimes-against level into ``incidents.crime_against``, and lists every source value it could not place
in ``offence_unmapped`` (city, dataset, value, rows). An unmapped row stays loaded, with ``offence`` NULL: it is
counted, never dropped, so ``rows = mapped + unmapped`` for every city.

Crosswalk rules (:func:`crosswalk_problems` checks them; :func:`classify_incidents` refuses a crosswalk that
breaks one):

- keys are canonical category names (:data:`CATEGORIES`); an unknown one is an error with a "did you mean";
- values are source values, compared case-insensitively, trimmed, runs of spaces read as one;
- a value with ``*`` (any run of characters) or ``?`` (one character) is a pattern (``"BURGLARY*"``); every
  other character of a pattern is literal;
- an exact value wins over a pattern (``"BURGLARY FROM VEHICLE"`` listed under theft beats ``"BURGLARY*"``
  under burglary);
- an exact value listed under two categories, or two patterns of different categories that can match one same
  value, are an error naming both (the value a pattern pair shares is shown).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb

from ._sqlexpr import ident, lit
from .schema import column_names

__all__ = ["CATEGORIES", "CRIME_AGAINST", "Category", "CrosswalkError", "OffenceResult", "WEIGHT_CLASS",
           "categories_sql", "classifiable_columns", "classify_incidents", "crosswalk_problems", "is_pattern",
           "match_value", "normalise_value"]


@dataclass(frozen=True)
class Category:
    """One canonical offence category: its name, NIBRS crimes-against level, safe-route weight class and meaning."""

    name: str
    crime_against: str
    weight_class: str
    definition: str


# The canonical set, in the order maps and tables list it. crime_against follows NIBRS's grouping of offences
# (FBI NIBRS User Manual: Crimes Against Persons / Property / Society); ``other`` is the catch-all a city author
# fills on purpose and mixes the three, so its level is 'other'. weight_class is the safe route's severity class
# ([risk.weights]): person -> violent, property -> property, society and other -> other, except robbery, which
# NIBRS counts against property (the goods taken) but which is force or threat against a person on the street
# (the FBI's UCR violent crimes), so it weighs as violent.
CATEGORIES: dict[str, Category] = {c.name: c for c in (
    Category("homicide", "person", "violent",
             "Killing of a person by another: murder, non-negligent and negligent manslaughter (NIBRS 09A-09B)."),
    Category("robbery", "property", "violent",
             "Taking or attempting to take something from a person by force or threat of force (NIBRS 120)."),
    Category("assault", "person", "violent",
             "Attack or threat of attack on a person: aggravated and simple assault, battery, intimidation and "
             "stalking (NIBRS 13A-13C)."),
    Category("sexual_assault", "person", "violent",
             "Sexual contact without consent: rape, sodomy, sexual assault with an object, fondling (NIBRS 11A-11D)."),
    Category("burglary", "property", "property",
             "Unlawful entry into a building or structure to commit a crime (NIBRS 220); entry into a vehicle is theft."),
    Category("theft", "property", "property",
             "Taking property without force or entry into a building: pocket-picking, purse-snatching, shoplifting, "
             "from or of parts of vehicles, bicycles, other larceny (NIBRS 23A-23H)."),
    Category("motor_vehicle_theft", "property", "property",
             "Theft or attempted theft of a motor vehicle: cars, motorcycles, motorised scooters, joyriding (NIBRS 240)."),
    Category("criminal_damage", "property", "property",
             "Destroying, damaging or defacing property: vandalism, criminal damage, arson (NIBRS 290, 200)."),
    Category("narcotics", "society", "other",
             "Drug and narcotic violations: possession, sale, manufacture, drug equipment (NIBRS 35A-35B)."),
    Category("weapons", "society", "other",
             "Weapon law violations: unlawful possession, carrying, discharge or sale of weapons (NIBRS 520)."),
    Category("other", "other", "other",
             "Everything else the city reports, placed here on purpose by the crosswalk: fraud, trespass, public "
             "order, sex offences without contact, court-order violations, non-criminal reports, ..."),
)}

CRIME_AGAINST = ("person", "property", "society", "other")
WEIGHT_CLASS = {name: c.weight_class for name, c in CATEGORIES.items()}
_WILDCARDS = frozenset("*?")
_SPACES = re.compile(r"\s+")


class CrosswalkError(ValueError):
    """A crosswalk that cannot be applied; the message names every problem (category, value, the other one)."""


@dataclass
class OffenceResult:
    """What :func:`classify_incidents` did for one city.

    ``rows`` = ``mapped_rows`` + ``unmapped_rows``; ``unmapped`` lists (dataset, source value, rows) of every value
    no category took (a NULL value is listed as None); ``by_offence`` counts rows per canonical category."""

    city: str
    field: str
    rows: int = 0
    mapped_rows: int = 0
    unmapped_rows: int = 0
    unmapped: list[tuple[str, str | None, int]] = field(default_factory=list)
    by_offence: dict[str, int] = field(default_factory=dict)

    @property
    def unmapped_values(self) -> int:
        """Distinct source values (per dataset) left unmapped."""
        return len(self.unmapped)

    def summary(self) -> str:
        """One line for the run's output: ``chicago offences (primary_type): 151,176 rows, 0 unmapped ...``."""
        line = (f"{self.city} offences ({self.field}): {self.rows:,} incidents, {self.mapped_rows:,} in a category, "
                f"{self.unmapped_rows:,} unmapped ({self.unmapped_values} source values)")
        if self.unmapped:
            top = sorted(self.unmapped, key=lambda u: (-u[2], str(u[1])))[:5]
            line += "; most common: " + ", ".join(f"{v!r} {n:,} ({d})" for d, v, n in top)
        return line


# ------------------------------------------------------------------------------------------ the crosswalk

def normalise_value(value: object) -> str:
    """The form values and crosswalk entries are compared in: text, trimmed, runs of spaces as one, upper case."""
    return _SPACES.sub(" ", str(value)).strip().upper()


def is_pattern(entry: str) -> bool:
    """Whether a crosswalk entry is a pattern (holds ``*`` or ``?``)."""
    return any(ch in _WILDCARDS for ch in entry)


def _pattern_regex(pattern: str) -> re.Pattern:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


def _patterns_overlap(a: str, b: str) -> str | None:
    """A value both glob patterns ``a`` and ``b`` (``*``/``?``, normalised) match, or None when none exists.

    Walks the product of the two patterns' automata: a state is (position in a, position in b); a ``*`` may be
    skipped (matches nothing) or consume a character and stay; two literals consume together only when equal."""
    start, goal = (0, 0), (len(a), len(b))
    parents: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
    queue = [start]
    while queue:
        i, j = state = queue.pop(0)
        if state == goal:
            text, node = [], state
            while parents[node] is not None:
                node, ch = parents[node]
                text.append(ch)
            return "".join(reversed(text))
        moves: list[tuple[tuple[int, int], str]] = []
        if i < len(a) and a[i] == "*":
            moves.append(((i + 1, j), ""))
        if j < len(b) and b[j] == "*":
            moves.append(((i, j + 1), ""))
        if i < len(a) and j < len(b):
            ca, cb = a[i], b[j]
            lit_a, lit_b = ca not in _WILDCARDS, cb not in _WILDCARDS
            if not (lit_a and lit_b and ca != cb):
                ch = ca if lit_a else cb if lit_b else "X"
                moves.append(((i if ca == "*" else i + 1, j if cb == "*" else j + 1), ch))
        for nxt, ch in moves:
            if nxt not in parents:
                parents[nxt] = (state, ch)
                queue.append(nxt)
    return None


def _did_you_mean(word: str) -> str:
    close = difflib.get_close_matches(word, list(CATEGORIES), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def crosswalk_problems(crosswalk: dict[str, list[str]]) -> list[str]:
    """Every problem of a crosswalk (category -> source values and patterns), one sentence each; [] when usable.

    Unknown categories (with a "did you mean"), empty entries, an exact value under two categories, and two
    patterns of different categories that can match one value (the shared value is named)."""
    problems: list[str] = []
    exact: dict[str, str] = {}
    patterns: list[tuple[str, str, str]] = []   # (normalised pattern, as written, category)
    for category, entries in crosswalk.items():
        if category not in CATEGORIES:
            problems.append(f"{category!r} is not a canonical offence category{_did_you_mean(str(category))} "
                            f"(known: {', '.join(CATEGORIES)})")
            continue
        if isinstance(entries, str) or not isinstance(entries, (list, tuple)):
            problems.append(f"{category}: a list of source values is needed, not {entries!r}")
            continue
        for entry in entries:
            value = normalise_value(entry)
            if not value or value.strip("*") == "":
                problems.append(f"{category}: {entry!r} would match every value (or none); list the values instead")
            elif is_pattern(value):
                patterns.append((value, str(entry), category))
            elif exact.get(value, category) != category:
                problems.append(f"{entry!r} is listed under both {exact[value]} and {category}")
            else:
                exact[value] = category
    for k, (pa, wa, ca) in enumerate(patterns):
        for pb, wb, cb in patterns[k + 1:]:
            if ca == cb:
                continue
            shared = _patterns_overlap(pa, pb)
            if shared is not None:
                problems.append(f"patterns {wa!r} ({ca}) and {wb!r} ({cb}) both match values such as {shared!r}: "
                                "list the values, or narrow one pattern")
    return problems


def _compiled(crosswalk: dict[str, list[str]]) -> tuple[dict[str, str], list[tuple[re.Pattern, str]]]:
    problems = crosswalk_problems(crosswalk)
    if problems:
        raise CrosswalkError("offence crosswalk: " + "; ".join(problems))
    exact = {normalise_value(e): cat for cat, entries in crosswalk.items() for e in entries
             if not is_pattern(normalise_value(e))}
    patterns = [(_pattern_regex(normalise_value(e)), cat) for cat, entries in crosswalk.items() for e in entries
                if is_pattern(normalise_value(e))]
    return exact, patterns


def match_value(value: object, crosswalk: dict[str, list[str]]) -> str | None:
    """The canonical category of one source value under ``crosswalk`` (exact values first, then patterns), or
    None when none takes it. Raises :class:`CrosswalkError` for a crosswalk with problems."""
    exact, patterns = _compiled(crosswalk)
    return _match(value, exact, patterns)


def _match(value: object, exact: dict[str, str], patterns: list[tuple[re.Pattern, str]]) -> str | None:
    if value is None:
        return None
    key = normalise_value(value)
    if key in exact:
        return exact[key]
    return next((cat for rx, cat in patterns if rx.fullmatch(key)), None)


# ------------------------------------------------------------------------------------------ the warehouse

def categories_sql() -> str:
    """A SELECT of the canonical set (offence, crime_against, weight_class, definition), for the
    ``offence_categories`` view."""
    rows = ", ".join(f"({k}, {lit(c.name)}, {lit(c.crime_against)}, {lit(c.weight_class)}, {lit(c.definition)})"
                     for k, c in enumerate(CATEGORIES.values(), start=1))
    return ("SELECT offence, crime_against, weight_class, definition, position FROM (VALUES " + rows +
            ") AS t(position, offence, crime_against, weight_class, definition)")


def classify_incidents(con: duckdb.DuckDBPyConnection, *, city: str, crosswalk: dict[str, list[str]],
                       field: str = "primary_type") -> OffenceResult:
    """Fill ``incidents.offence`` / ``crime_against`` for every incident of ``city`` from ``crosswalk`` applied to
    the incidents column ``field``, and replace the city's rows of ``offence_unmapped``.

    Every row of the city is classified again (a re-load leaves the new rows' columns NULL); only the rows whose
    category changes are written (a refresh writes its new rows, not the city's). A row whose value
    no category takes keeps ``offence`` NULL and is counted in ``offence_unmapped`` per dataset and value; nothing
    is dropped. Raises :class:`CrosswalkError` for a crosswalk with problems and ``ValueError`` for a ``field``
    that is not a text column of incidents, before anything is written."""
    exact, patterns = _compiled(crosswalk)
    if field not in classifiable_columns():
        raise ValueError(f"offences: field {field!r} is not a column of incidents that holds offence codes or "
                         f"names (one of {', '.join(sorted(classifiable_columns()))})")
    column = ident(field)
    values = con.execute(f"SELECT dataset, {column} AS value, count(*) FROM incidents WHERE city = $city "
                         "GROUP BY ALL", {"city": city}).fetchall()
    result = OffenceResult(city=city, field=field)
    mapping: list[tuple[str, str, str]] = []
    for dataset, value, rows in values:
        offence = _match(value, exact, patterns)
        result.rows += rows
        if offence is None:
            result.unmapped_rows += rows
            result.unmapped.append((dataset, value, rows))
            continue
        result.mapped_rows += rows
        result.by_offence[offence] = result.by_offence.get(offence, 0) + rows
        mapping.append((value, offence, CATEGORIES[offence].crime_against))
    now = datetime.now(timezone.utc)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _offence_map (value VARCHAR, offence VARCHAR, crime_against VARCHAR)")
        if mapping:
            con.executemany("INSERT INTO _offence_map VALUES (?, ?, ?)", sorted(set(mapping)))
        con.execute(f"""UPDATE incidents SET offence = m.offence, crime_against = m.crime_against
                        FROM (SELECT i.rowid AS rid, m.offence, m.crime_against FROM incidents i
                              LEFT JOIN _offence_map m ON m.value = CAST(i.{column} AS VARCHAR)
                              WHERE i.city = $city) m
                        WHERE incidents.rowid = m.rid AND (incidents.offence IS DISTINCT FROM m.offence
                              OR incidents.crime_against IS DISTINCT FROM m.crime_against)""", {"city": city})
        con.execute("DELETE FROM offence_unmapped WHERE city = $city", {"city": city})
        if result.unmapped:
            con.executemany("INSERT INTO offence_unmapped (city, dataset, field, source_value, rows, classified_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            [(city, d, field, None if v is None else str(v), n, now) for d, v, n in result.unmapped])
        con.execute("DROP TABLE IF EXISTS _offence_map")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return result


def classifiable_columns() -> set[str]:
    """Incident columns a crosswalk may read: the offence names and codes a source publishes."""
    return {"primary_type", "description", "iucr", "fbi_code"} & set(column_names("incidents"))
