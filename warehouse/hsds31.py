"""Open Referral HSDS 3.1 export of the services table (JSON serialisation), validated against the specification's own
JSON schema.

``export_hsds31(db_path, out_dir=..., city=None)`` writes ``services.json``: a JSON array of fully nested HSDS 3.1
``service`` objects (the shape of the specification's ``schema/compiled/service_with_definitions.json``, what an
HSDS API returns for ``GET /services/{id}``), plus ``about.json`` (the version, the schema it was checked against and
what is lossy). :func:`validate_services` checks objects against the vendored schema
``warehouse/hsds_schema/3.1/service_with_definitions.json`` with ``jsonschema`` (draft 2020-12, formats checked) and
adds the checks JSON Schema cannot make (ids unique per object type; a nested object's ``service_id`` is its parent's).

The same mapping as the 2.0.1 tabular export (:mod:`warehouse.hsds`: organisations from the profile, one location per
site within 150 m, schedules as read, unknown hours give no schedule), reshaped for 3.x:

- every id is a UUID (v5 of city, dataset and source id, stable across runs); 2.0.1's text taxonomy ids become UUIDs;
- the category is an ``attribute`` (3.0 merged ``service_attribute`` and ``other_attribute``) whose ``taxonomy_term``
  (code = civicmash's category) belongs to the ``taxonomy`` "civicmash service categories";
- no ``address`` objects: HSDS 3.x requires ``city``, ``state_province``, ``postal_code`` and ``country`` on an address
  and the sources publish only a street line, so the street line as published stays in ``location.description``;
- **outcomes**: HSDS has no object for what a service achieved (visits, loans, sessions). ``service_capacity``
  is about availability (beds free now), not results, so it is not used. Yearly outcome totals of a service (the
  ``outcomes`` table, rows matched to the service) are attached as ``attribute``s, which the specification lets carry
  a ``value`` and a ``label``: one per measure and year, its ``taxonomy_term`` from the taxonomy "civicmash outcome
  measures" (code ``outcome:<measure>``), ``value`` the year's total as text, ``label`` saying measure, year, unit,
  how many months the total covers and the source dataset. No field is invented.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from .db import connect
from .hsds import _id, build_tables

SCHEMA_PATH = Path(__file__).with_name("hsds_schema") / "3.1" / "service_with_definitions.json"
VERSION = "3.1"
CATEGORY_TAXONOMY = "civicmash service categories"
OUTCOME_TAXONOMY = "civicmash outcome measures"


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _clean(obj: dict) -> dict:
    """Drop empty optional values (None, '', []): HSDS leaves out what is not known rather than writing blanks."""
    return {k: v for k, v in obj.items() if v not in (None, "", [])}


def _taxonomy(name: str, description: str) -> dict:
    return {"id": _id("taxonomy", name), "name": name, "description": description, "version": "1"}


def _outcome_rows(con, city: str | None) -> list[tuple]:
    """Yearly totals of the outcomes of services: (city, service source_id, category, measure, unit, year, value,
    months, datasets). Empty when the warehouse has no outcomes table (yet)."""
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "outcomes" not in have:
        return []
    where, params = ("AND city = ?", [city]) if city else ("", [])
    return con.execute(f"""
        SELECT city, service_id, service_category, measure, any_value(unit), year(period_start) AS yr,
               sum(value), count(DISTINCT date_trunc('month', period_start)),
               string_agg(DISTINCT dataset, ', ' ORDER BY dataset)
        FROM outcomes
        WHERE service_id IS NOT NULL AND value IS NOT NULL {where}
        GROUP BY ALL ORDER BY 1, 2, 4, 6""", params).fetchall()


def build_services(con, *, city: str | None = None) -> list[dict]:
    """The fully nested HSDS 3.1 ``service`` objects of the warehouse's services (of ``city``; all when None)."""
    t = build_tables(con, city=city)
    where, params = ("WHERE city = ?", [city]) if city else ("", [])
    keys = con.execute(f"SELECT city, dataset, source_id, category FROM services {where}", params).fetchall()
    by_hsds_id = {_id("service", c, d, s): (c, d, s, cat) for c, d, s, cat in keys}

    cat_tax = _taxonomy(CATEGORY_TAXONOMY, "The service categories of civicmash (docs/locator.md): one per service, "
                        "from the profile's crosswalk of the categories the source publishes.")
    terms = {}
    for term in t["taxonomy_term"]:   # 2.0.1 ids are text ('civicmash-category-library'): 3.x wants UUIDs
        code = term["id"].removeprefix("civicmash-category-")
        terms[term["id"]] = _clean({"id": _id("taxonomy_term", CATEGORY_TAXONOMY, code), "code": code,
                                    "name": term["term"], "description": term["description"],
                                    "taxonomy": CATEGORY_TAXONOMY, "taxonomy_id": cat_tax["id"],
                                    "taxonomy_detail": cat_tax, "language": "en"})
    orgs = {o["id"]: _clean(dict(o)) for o in t["organization"]}
    locations = {}
    for loc in t["location"]:
        locations[loc["id"]] = _clean({**loc, "location_type": "physical"})
    sal_by_service: dict[str, list[dict]] = {}
    for sal in t["service_at_location"]:
        sal_by_service.setdefault(sal["service_id"], []).append(sal)
    phones: dict[str, list[dict]] = {}
    for p in t["phone"]:
        phones.setdefault(p["service_id"], []).append(_clean(dict(p)))
    scheds: dict[str, list[dict]] = {}
    for s in t["schedule"]:
        o, c = s["opens_at"][:5], s["closes_at"][:5]
        scheds.setdefault(s["service_id"], []).append(_clean({
            "id": s["id"], "service_id": s["service_id"], "service_at_location_id": s["service_at_location_id"],
            "freq": s["freq"], "byday": s["byday"], "opens_at": o, "closes_at": c, "description": s["description"],
            "notes": "Times are the local wall-clock time of the city as published (no UTC offset: it changes with "
                     "daylight saving); 23:59 stands for midnight."}))
    attrs: dict[str, list[dict]] = {}
    for a in t["service_attribute"]:
        term = terms[a["taxonomy_term_id"]]
        attrs.setdefault(a["service_id"], []).append({
            "id": a["id"], "link_id": a["service_id"], "link_entity": "service", "taxonomy_term_id": term["id"],
            "taxonomy_term": term, "label": f"Service category: {term['name']}"})

    # outcomes: matched on the city and the service's source id (and its category when two datasets share an id)
    out_tax = _taxonomy(OUTCOME_TAXONOMY, "What civicmash's outcomes table measures for a service (e.g. visitors, "
                        "items circulated, computer sessions), as the city profile names it; values are totals over a "
                        "calendar year of the months the source publishes.")
    by_source = {}
    for hid, (c, _d, s, cat) in by_hsds_id.items():
        by_source.setdefault((c, s), []).append((hid, cat))
    for c, sid, cat, measure, unit, yr, value, months, datasets in _outcome_rows(con, city):
        cands = by_source.get((c, sid), [])
        if len(cands) > 1:
            cands = [x for x in cands if x[1] == cat]
        if len(cands) != 1:
            continue   # not a service of this export (or ambiguous): not attached
        hid = cands[0][0]
        term = {"id": _id("taxonomy_term", OUTCOME_TAXONOMY, measure), "code": f"outcome:{measure}",
                "name": measure.replace("_", " ").capitalize(),
                "description": f"Outcome measure '{measure}' in {unit or 'units as published'}: the yearly total of "
                               "the service's monthly values in the outcomes table.",
                "taxonomy": OUTCOME_TAXONOMY, "taxonomy_id": out_tax["id"], "taxonomy_detail": out_tax,
                "language": "en"}
        number = int(value) if float(value).is_integer() else round(float(value), 6)
        attrs.setdefault(hid, []).append({
            "id": _id("attribute", "outcome", c, sid, measure, yr), "link_id": hid, "link_entity": "service",
            "taxonomy_term_id": term["id"], "taxonomy_term": term, "value": str(number),
            "label": f"{term['name']} in {yr}: {number:,} {unit or ''} (total of {months} month"
                     f"{'s' if months != 1 else ''} with data; source dataset {datasets})".replace("  ", " ")})

    services = []
    for s in t["service"]:
        sid = s["id"]
        nested_sal = []
        for sal in sal_by_service.get(sid, []):
            nested_sal.append(_clean({"id": sal["id"], "service_id": sid, "location_id": sal["location_id"],
                                      "location": locations[sal["location_id"]]}))
        services.append(_clean({
            "id": sid, "organization_id": s["organization_id"], "name": s["name"],
            "alternate_name": s["alternate_name"], "description": s["description"], "status": s["status"],
            "organization": orgs[s["organization_id"]], "service_at_locations": nested_sal,
            "phones": phones.get(sid, []), "schedules": scheds.get(sid, []), "attributes": attrs.get(sid, [])}))
    return services


# ----------------------------------------------------------------------------------------------- validation

def _uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme in ("mailto", "urn", "tel"))


def validator():
    """A jsonschema validator for one HSDS 3.1 service object, formats checked (uuid, email, date-time; ``uri``
    with a scheme + host check, since jsonschema's own needs the optional rfc3987 package)."""
    from jsonschema import Draft202012Validator, FormatChecker

    checker = FormatChecker()
    for name, func in Draft202012Validator.FORMAT_CHECKER.checkers.items():
        checker.checkers[name] = func
    checker.checks("uri")(_uri)
    return Draft202012Validator(schema(), format_checker=checker)


def validate_services(services: list[dict]) -> list[str]:
    """Errors of ``services`` (a list of nested HSDS 3.1 services) against the vendored 3.1 JSON schema and the
    cross-object rules; each names the service (index, name, id) and the JSON path. Empty = valid."""
    v = validator()
    errors: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    if not isinstance(services, list):
        return ["services.json: the top level must be a JSON array of service objects"]
    for i, svc in enumerate(services):
        who = f"service #{i} ({svc.get('name', '?')!r}, id {svc.get('id', '?')})" if isinstance(svc, dict) \
            else f"service #{i}"
        for e in sorted(v.iter_errors(svc), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in e.absolute_path) or "(the object)"
            errors.append(f"{who} at {path}: {e.message}")
        if not isinstance(svc, dict):
            continue
        sid = svc.get("id")
        if ("service", sid) in seen:
            errors.append(f"{who} at id: {sid!r} repeats (also {seen[('service', sid)]})")
        seen[("service", sid)] = who
        for kind, key in (("service_at_location", "service_at_locations"), ("phone", "phones"),
                          ("schedule", "schedules")):
            for j, obj in enumerate(svc.get(key) or []):
                if not isinstance(obj, dict):
                    continue
                if obj.get("service_id") not in (None, sid):
                    errors.append(f"{who} at {key}/{j}/service_id: {obj.get('service_id')!r} is not this service's id")
                oid = obj.get("id")
                if (kind, oid) in seen:
                    errors.append(f"{who} at {key}/{j}/id: {oid!r} repeats (also {seen[(kind, oid)]})")
                seen[(kind, oid)] = who
        for j, a in enumerate(svc.get("attributes") or []):
            if isinstance(a, dict) and a.get("link_id") not in (None, sid):
                errors.append(f"{who} at attributes/{j}/link_id: {a.get('link_id')!r} is not this service's id")
    return errors


def validate_file(path: str | Path) -> list[str]:
    """:func:`validate_services` of a ``services.json`` file (or of the directory holding it)."""
    p = Path(path)
    p = p / "services.json" if p.is_dir() else p
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{p.name}: cannot be read as JSON ({exc})"]
    return validate_services(data)


def export_hsds31(db_path, *, out_dir, city: str | None = None) -> tuple[Path, dict[str, int]]:
    """Write ``services.json`` (+ ``about.json``) of the warehouse's services into ``out_dir``; returns the path of
    services.json and counts. Raises ValueError when there are no services (for ``city``) or when the result does not
    validate (the first errors named)."""
    out = Path(out_dir)
    con = connect(db_path, read_only=True)
    try:
        services = build_services(con, city=city)
    finally:
        con.close()
    if not services:
        raise ValueError(f"no services{' for city ' + repr(city) if city else ''} in {db_path}: nothing to export")
    errors = validate_services(services)
    if errors:
        raise ValueError(f"the HSDS {VERSION} export does not validate ({len(errors)} errors): "
                         + "; ".join(errors[:3]))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "services.json"
    path.write_text(json.dumps(services, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    outcome_attrs = sum(1 for s in services for a in s.get("attributes", [])
                        if a["taxonomy_term"]["code"].startswith("outcome:"))
    about = {
        "version": VERSION, "format": "HSDS JSON: an array of fully nested service objects",
        "schema": "openreferral/specification schema/compiled/service_with_definitions.json (3.1), vendored in "
                  "civicmash warehouse/hsds_schema/3.1/",
        "description": f"Public services{' of ' + city if city else ''} from the civicmash warehouse. Ids are stable "
                       "UUIDs; times are the city's local time; outcomes are service attributes (HSDS has no outcome "
                       "object); street lines are in location.description (HSDS 3 addresses need state, postal code "
                       "and country, which the sources do not give).",
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "services": len(services), "outcome_attributes": outcome_attrs,
    }
    (out / "about.json").write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    counts = {"services": len(services),
              "locations": len({sal["location_id"] for s in services for sal in s.get("service_at_locations", [])}),
              "schedules": sum(len(s.get("schedules", [])) for s in services),
              "outcome attributes": outcome_attrs}
    return path, counts
