"""Open Referral HSDS export of the services table, and a validator for HSDS tabular packages.

``export_hsds(db_path, out_dir=..., city=None)`` writes an HSDS 2.0.1 tabular data package (one CSV per resource +
``datapackage.json``) that validates against the vendored schema ``warehouse/hsds_schema/datapackage.json``
(:func:`validate_package`). How the warehouse maps onto HSDS:

- **organization**: one per ``services.organization`` (set per dataset in the city profile, e.g. "Chicago Public
  Library"); rows without one get an organization named after their dataset ("... (operator not stated)").
- **service**: one per ``services`` row (a library branch, a warming centre at a police station...). ``status``
  is ``temporarily closed`` when the source says so in the phone or hours field ("Closed for Construction"),
  else ``active`` (listed by the source at download time).
- **location**: one per physical site. Rows with the same normalised street address within 150 m of each other
  are one location (a warming centre in a library is at the library's location); a row without an address is its
  own location. Coordinates are the members' median.
- **service_at_location**: each service at its location.
- **schedule**: one WEEKLY row per day and opening interval read from the hours (service_hours); closed days and
  unknown days get no row (HSDS has no way to say "unknown", so nothing is guessed). Times are local time of the
  city; ``24:00`` is written ``23:59:59``; an interval past midnight is split at midnight.
- **phone**: the published phone when it holds a number (7+ digits).
- **taxonomy_term** / **service_attribute**: civicmash's service categories (``warehouse.services.CATEGORIES``).

Ids are UUIDs (version 5) derived from the city, dataset and source_id, so the same warehouse gives the same ids.
"""

from __future__ import annotations

import csv
import json
import math
import re
import uuid
from datetime import date, datetime, time
from pathlib import Path

from .addresses import normalise_address
from .db import connect
from .hours import DAY_NAMES, MINUTES_PER_DAY
from .services import CATEGORIES, category_label, service_schedules

SCHEMA_PATH = Path(__file__).with_name("hsds_schema") / "datapackage.json"
NAMESPACE = uuid.UUID("2f0c3a8e-6d1e-5b7a-9c44-c1b1c0a5e7d3")   # civicmash's namespace for HSDS ids
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_CLOSED_RE = re.compile(r"closed for construction|temporarily closed|closed until", re.IGNORECASE)
SAME_SITE_M = 150.0


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _id(*parts) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts)))


def _metres(a, b) -> float:
    kx = 111_320.0 * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot((a[1] - b[1]) * kx, (a[0] - b[0]) * 110_540.0)


def _hms(m: int) -> str:
    m = min(m, MINUTES_PER_DAY)
    return "23:59:59" if m >= MINUTES_PER_DAY else f"{m // 60:02d}:{m % 60:02d}:00"


def _phone(text: str | None) -> str | None:
    if text and len(re.sub(r"\D", "", text)) >= 7:
        return text.strip()
    return None


def build_tables(con, *, city: str | None = None) -> dict[str, list[dict]]:
    """The HSDS resources (name -> rows) for the services of ``city`` (all cities when None)."""
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'services'").fetchall()}
    opt = {c: (c if c in cols else "NULL") for c in ("organization", "subtype", "hours", "phone", "category_source")}
    where, params = ("WHERE s.city = ?", [city]) if city else ("", [])
    rows = con.execute(f"""
        SELECT s.city, s.dataset, s.source_id, s.name, s.category, s.address, {opt['phone']}, {opt['hours']},
               {opt['organization']}, {opt['subtype']}, s.lat, s.lon, d.title, d.portal_url, d.licence
        FROM services s LEFT JOIN datasets d ON d.city = s.city AND d.dataset = s.dataset
        {where} ORDER BY s.city, s.dataset, s.source_id""", params).fetchall()
    keys = ("city", "dataset", "source_id", "name", "category", "address", "phone", "hours", "organization",
            "subtype", "lat", "lon", "title", "portal_url", "licence")
    recs = [dict(zip(keys, r)) for r in rows]
    scheds: dict = {}
    for c in sorted({r["city"] for r in recs}):
        scheds.update({(c, d, s): v for (d, s), v in service_schedules(con, city=c).items()})

    orgs: dict[str, dict] = {}
    for r in recs:
        name = (r["organization"] or "").strip() or f"{r['title'] or r['dataset']} (operator not stated)"
        oid = _id("organization", r["city"], name)
        r["organization_id"] = oid
        if oid not in orgs:
            orgs[oid] = {"id": oid, "name": name, "description": (
                f"Runs the {category_label(r['category']).lower()} sites listed in the dataset "
                f"'{r['title'] or r['dataset']}'" + (f" ({r['portal_url']})" if r["portal_url"] else "") +
                ("" if r["organization"] else "; the dataset does not name the operator") + ".")}

    # locations: same normalised address within SAME_SITE_M -> one site
    sites: list[dict] = []
    by_addr: dict[tuple, list[int]] = {}
    for r in recs:
        addr = normalise_address(r["address"], city=r["city"])
        placed = None
        if addr and r["lat"] is not None:
            for k in by_addr.get((r["city"], addr), []):
                if _metres((sites[k]["lat"], sites[k]["lon"]), (r["lat"], r["lon"])) <= SAME_SITE_M:
                    placed = k
                    break
        if placed is None:
            placed = len(sites)
            sites.append({"members": [], "lat": r["lat"], "lon": r["lon"]})
            if addr:
                by_addr.setdefault((r["city"], addr), []).append(placed)
        sites[placed]["members"].append(r)
        r["site"] = placed

    out: dict[str, list[dict]] = {k: [] for k in ("organization", "service", "location", "service_at_location",
                                                  "phone", "schedule", "taxonomy_term", "service_attribute")}
    out["organization"] = sorted(orgs.values(), key=lambda o: o["name"])
    for k, site in enumerate(sites):
        m = site["members"]
        first = m[0]
        lats = sorted(x["lat"] for x in m if x["lat"] is not None)
        lons = sorted(x["lon"] for x in m if x["lon"] is not None)
        names = sorted({x["name"] for x in m if x["name"]})
        site["id"] = _id("location", first["city"], first["dataset"], first["source_id"])
        out["location"].append({
            "id": site["id"], "organization_id": first["organization_id"], "name": first["name"] or "",
            "alternate_name": "; ".join(n for n in names if n != first["name"])[:200],
            "description": ("Address as published: " + first["address"]) if first["address"] else "",
            "latitude": lats[len(lats) // 2] if lats else None, "longitude": lons[len(lons) // 2] if lons else None})
    terms = {}
    for r in recs:
        sid = _id("service", r["city"], r["dataset"], r["source_id"])
        label = category_label(r["category"])
        closed = any(_CLOSED_RE.search(str(r[f] or "")) for f in ("phone", "hours"))
        out["service"].append({
            "id": sid, "organization_id": r["organization_id"],
            "name": f"{label}: {r['name']}" if r["name"] else label,
            "alternate_name": r["name"] or "",
            "description": (CATEGORIES[r["category"]].description if r["category"] in CATEGORIES else label)
            + (f" Site type as published: {r['subtype']}." if r["subtype"] else "")
            + f" Listed in the dataset '{r['title'] or r['dataset']}'" + (f" ({r['licence']})" if r["licence"] else "")
            + ".",
            "status": "temporarily closed" if closed else "active"})
        sal = _id("service_at_location", r["city"], r["dataset"], r["source_id"])
        out["service_at_location"].append({"id": sal, "service_id": sid, "location_id": sites[r["site"]]["id"],
                                           "description": ""})
        number = _phone(r["phone"])
        if number:
            out["phone"].append({"id": _id("phone", r["city"], r["dataset"], r["source_id"]),
                                 "service_id": sid, "service_at_location_id": sal, "number": number, "type": "voice"})
        sched = scheds.get((r["city"], r["dataset"], r["source_id"]))
        if sched is not None:
            for day, intervals in sorted(sched.days.items()):
                pieces = []
                for o, c in intervals:
                    if c <= MINUTES_PER_DAY:
                        pieces.append((day, o, c))
                    else:   # past midnight: split
                        pieces += [(day, o, MINUTES_PER_DAY), (day % 7 + 1, 0, c - MINUTES_PER_DAY)]
                for j, (d, o, c) in enumerate(pieces):
                    out["schedule"].append({
                        "id": _id("schedule", r["city"], r["dataset"], r["source_id"], day, j, o),
                        "service_id": sid, "service_at_location_id": sal, "freq": "WEEKLY", "byday": _BYDAY[d - 1],
                        "opens_at": _hms(o), "closes_at": _hms(c),
                        "description": f"{DAY_NAMES[d - 1]} {_hms(o)[:5]}-{'24:00' if c >= MINUTES_PER_DAY else _hms(c)[:5]}"
                                       " local time, as published" + (f": {sched.text.strip()}" if sched.text and
                                                                    sched.source == 'hours_text' else "")})
        cat = r["category"] or "other"
        tid = f"civicmash-category-{cat}"
        if tid not in terms:
            terms[tid] = {"id": tid, "term": label, "description": CATEGORIES[cat].description if cat in CATEGORIES
                          else f"Services the source lists as '{label}'.", "taxonomy": "civicmash service categories "
                          "(docs/locator.md)", "language": "en"}
        out["service_attribute"].append({"id": _id("service_attribute", r["city"], r["dataset"], r["source_id"]),
                                         "service_id": sid, "taxonomy_term_id": tid})
    out["taxonomy_term"] = sorted(terms.values(), key=lambda t: t["id"])
    return out


def export_hsds(db_path, *, out_dir, city: str | None = None) -> tuple[Path, dict[str, int]]:
    """Write the HSDS package of the warehouse's services into ``out_dir``; returns (its datapackage.json, rows
    per resource). Raises ValueError when there are no services (for ``city``)."""
    out = Path(out_dir)
    con = connect(db_path, read_only=True)
    try:
        tables = build_tables(con, city=city)
    finally:
        con.close()
    if not tables["service"]:
        raise ValueError(f"no services{' for city ' + repr(city) if city else ''} in {db_path}: nothing to export")
    pkg = schema()
    out.mkdir(parents=True, exist_ok=True)
    for res in pkg["resources"]:
        names = [f["name"] for f in res["schema"]["fields"]]
        with open(out / res["path"], "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(names)
            for row in tables[res["name"]]:
                w.writerow(["" if row.get(n) is None else row.get(n) for n in names])
    pkg["name"] = f"civicmash_services{'_' + city if city else ''}"
    pkg["title"] = f"Public services{' of ' + city if city else ''} (civicmash export, HSDS {pkg['version']})"
    pkg["description"] = ("Public services from the civicmash warehouse in Open Referral HSDS "
                          f"{pkg['version']} tabular form; ids are stable UUIDs; times are local time of the city.")
    pkg["created"] = datetime.now().astimezone().isoformat(timespec="seconds")
    (out / "datapackage.json").write_text(json.dumps(pkg, indent=2) + "\n", encoding="utf-8")
    return out / "datapackage.json", {k: len(v) for k, v in tables.items()}


# ----------------------------------------------------------------------------------------------- validation

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")


def _type_ok(value: str, field: dict) -> bool:
    t, fmt = field.get("type", "string"), field.get("format")
    try:
        if t == "number":
            float(value)
        elif t == "integer":
            int(value)
        elif t == "date":
            if fmt and fmt.startswith("%"):
                datetime.strptime(value, fmt)
            else:
                date.fromisoformat(value)
        elif t == "time":
            time.fromisoformat(value)
        elif t == "datetime":
            datetime.fromisoformat(value)
    except ValueError:
        return False
    if t == "string" and fmt == "uuid":
        return bool(_UUID.match(value))
    if t == "string" and fmt == "email":
        return bool(_EMAIL.match(value))
    if t == "string" and fmt == "uri":
        return bool(_URI.match(value))
    return True


def validate_package(package: str | Path, *, against: dict | None = None) -> list[str]:
    """Check a tabular data package (its datapackage.json, or its directory) against ``against`` (default: the
    vendored HSDS schema): every resource of the schema present with the schema's header; per cell required,
    type, format and enum; unique fields and primary keys; foreign keys. Returns the errors (empty = valid),
    each naming file, row and field."""
    path = Path(package)
    base = path if path.is_dir() else path.parent
    ref = against or schema()
    errors: list[str] = []
    data: dict[str, list[dict]] = {}
    for res in ref["resources"]:
        file = base / res["path"]
        if not file.exists():
            errors.append(f"{res['path']}: missing (resource {res['name']})")
            continue
        fields = res["schema"]["fields"]
        with open(file, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            if header != [f["name"] for f in fields]:
                errors.append(f"{res['path']}: header {header} differs from the schema's fields "
                              f"{[f['name'] for f in fields]}")
                continue
            rows = [dict(zip(header, r)) for r in reader]
        data[res["name"]] = rows
        for f in fields:
            c = f.get("constraints", {})
            seen: set = set()
            for n, row in enumerate(rows, start=2):
                v = row.get(f["name"], "")
                if v == "":
                    if c.get("required"):
                        errors.append(f"{res['path']} row {n} field {f['name']}: required value missing")
                    continue
                if not _type_ok(v, f):
                    errors.append(f"{res['path']} row {n} field {f['name']}: {v!r} is not a valid "
                                  f"{f.get('type')}{' (' + f['format'] + ')' if f.get('format') else ''}")
                if "enum" in c and v not in c["enum"]:
                    errors.append(f"{res['path']} row {n} field {f['name']}: {v!r} is not one of {c['enum']}")
                if c.get("unique") or f["name"] == res["schema"].get("primaryKey"):
                    if v in seen:
                        errors.append(f"{res['path']} row {n} field {f['name']}: {v!r} repeats (must be unique)")
                    seen.add(v)
    names = {r["name"] for r in ref["resources"]}
    for res in ref["resources"]:
        rows = data.get(res["name"])
        if rows is None:
            continue
        for fk in res["schema"].get("foreignKeys", []):
            target = fk["reference"]["resource"]
            if target not in names:
                continue
            keys = {r.get(fk["reference"]["fields"], "") for r in data.get(target, [])}
            for n, row in enumerate(rows, start=2):
                v = row.get(fk["fields"], "")
                if v and v not in keys:
                    errors.append(f"{res['path']} row {n} field {fk['fields']}: {v!r} is not an id of {target}")
    return errors
