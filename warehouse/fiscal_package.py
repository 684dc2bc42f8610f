"""Budget lines as a Fiscal Data Package, outcomes as a tabular data package (CSV + Table Schema), and their
validation with ``frictionless``.

``export_fdp(db_path, out_dir=..., city=None, fiscal_year_start=None)`` writes ``budget_lines.csv`` (one row per
``spending`` line, as loaded) and ``datapackage.json``: a Frictionless tabular data package with the Fiscal Data
Package extension, in both of its published forms so a reader of either can use it:

- **FDP 1.0 (rc1)**: every column carries a ``columnType`` from the fiscal taxonomy (``date:fiscal-year``,
  ``administrative-classification:generic:level1:code`` / ``:label``, ``economic-classification:generic:level1:code``
  / ``:label``, ``value``, ``phase:id``, ``budget-line-id``...); the currency is an ``extraFields`` constant
  (``value-currency:code`` = USD); the types the taxonomy lacks (the fund) are declared in ``columnTypes``;
- **FDP 0.3**: the ``model`` (``measures.amount`` with ``currency``, ``direction``, ``factor``; ``dimensions`` for
  the fiscal year, department, fund, account, phase and the line itself), ``granularity`` = aggregated and, when
  the fiscal year's first day is known (``fiscal_year_start``, 'MM-DD'), ``fiscalPeriod`` from the first day of the
  earliest year to the last day of the latest. A fiscal year is named for the calendar year it ends in (US usage:
  with a July 1 start, fiscal 2022 is 2021-07-01 .. 2022-06-30); without ``fiscal_year_start`` there is no
  ``fiscalPeriod`` (it is not guessed).

``export_outcomes(db_path, out_dir=..., city=None)`` writes ``outcomes.csv`` and a ``datapackage.json`` whose Table
Schema is the warehouse's own ``outcomes`` table: every column with its type and its description from the data
dictionary (``warehouse/schema.py``), the required columns, the enumerations and the primary key.

``validate(datapackage)`` runs ``frictionless.validate`` on a written package (descriptor, types, constraints,
primary keys over the CSV) and returns its errors as one line each naming the file, row and field.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from .db import connect
from .schema import TABLES

CURRENCY = "USD"   # the spending table's amounts are US dollars (its data dictionary says so)
PHASE = {"appropriation": "approved", "actual": "executed", "payment": "executed"}   # FDP 0.3 phase words

# (column, Table Schema type, FDP 1.0 columnType, SQL giving it when the warehouse predates the money columns)
BUDGET_COLUMNS: list[tuple[str, str, str | None, str]] = [
    ("city", "string", None, "city"),
    ("dataset", "string", None, "dataset"),
    ("source_id", "string", "budget-line-id", "source_id"),
    ("fiscal_year", "integer", "date:fiscal-year", "fiscal_year"),
    ("line_kind", "string", "phase:label", "'appropriation'"),
    ("phase", "string", "phase:id", ""),   # derived from line_kind below
    ("department_id", "string", "administrative-classification:generic:level1:code",
     "NULLIF(ltrim(department_code, '0'), '')"),
    ("department_label", "string", "administrative-classification:generic:level1:label", "department"),
    ("department_abbrev", "string", "administrative-classification:generic:level1:abbreviation", "NULL"),
    ("department", "string", "administrative-classification:generic:level1:label:as-published", "department"),
    ("department_code", "string", "administrative-classification:generic:level1:code:as-published",
     "department_code"),
    ("fund_id", "string", "fund:code", "fund_code"),
    ("fund_label", "string", "fund:label", "fund"),
    ("fund_code", "string", "fund:code:as-published", "fund_code"),
    ("account_code", "string", "economic-classification:generic:level1:code", "NULL"),
    ("account", "string", "economic-classification:generic:level1:label", "account"),
    ("description", "string", "budget-line:description", "description"),
    ("amount", "number", "value", "amount"),
]

# types the FDP taxonomy has no name for, declared as its "explicit typing" allows
COLUMN_TYPES = [
    {"name": "fund:code", "dataType": "string", "unique": True,
     "description": "The fund the money comes from (normalised code, stable across years)."},
    {"name": "fund:label", "dataType": "string", "labelOf": "fund:code", "description": "The fund's name."},
    {"name": "budget-line:description", "dataType": "string",
     "description": "Further description of the budget line as published."},
]


def _comments(table: str) -> dict[str, str]:
    return {c[0]: c[2] for c in TABLES[table][1]} if table in TABLES else {}


def _columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                      [table]).fetchall()}


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, float):
        return repr(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def _write_csv(path: Path, header: list[str], rows) -> int:
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([_cell(v) for v in r])
            n += 1
    return n


def _fiscal_period(years: list[int], start: str | None) -> dict | None:
    if not start or not years:
        return None
    try:
        month, day = (int(x) for x in start.split("-"))
        date(2001, month, day)
    except ValueError:
        raise ValueError(f"fiscal_year_start {start!r} is not a month-day like '01-01' or '07-01'") from None
    first = date(min(years) - (0 if (month, day) == (1, 1) else 1), month, day)
    after = date(max(years) + (1 if (month, day) == (1, 1) else 0), month, day)
    return {"start": first.isoformat(), "end": date.fromordinal(after.toordinal() - 1).isoformat()}


def budget_rows(con, *, city: str | None = None) -> tuple[list[str], list[tuple]]:
    have = _columns(con, "spending")
    if not have:
        raise ValueError("the warehouse has no spending table: run the pipeline for a city with a spending dataset")
    exprs = []
    for name, _t, _ct, fallback in BUDGET_COLUMNS:
        if name == "phase":
            continue
        exprs.append(f"{name}" if name in have else f"{fallback} AS {name}")
    where, params = ("WHERE city = ?", [city]) if city else ("", [])
    rows = con.execute(f"SELECT {', '.join(exprs)} FROM spending {where} "
                       "ORDER BY city, fiscal_year, department_id, fund_id, account_code NULLS FIRST, dataset, "
                       "source_id",
                       params).fetchall()
    names = [c[0] for c in BUDGET_COLUMNS if c[0] != "phase"]
    k = names.index("line_kind")
    out = [r[:k + 1] + (PHASE.get(str(r[k]).lower(), None),) + r[k + 1:] for r in rows]
    return [c[0] for c in BUDGET_COLUMNS], out


def export_fdp(db_path, *, out_dir, city: str | None = None,
               fiscal_year_start: str | None = None) -> tuple[Path, dict[str, int]]:
    """Write the budget lines of ``city`` (all when None) as a Fiscal Data Package into ``out_dir``; returns the
    datapackage.json path and counts. ValueError when there are no budget lines."""
    con = connect(db_path, read_only=True)
    try:
        header, rows = budget_rows(con, city=city)
        datasets = con.execute("SELECT DISTINCT s.dataset, d.title, d.portal_url, d.licence FROM spending s "
                               "LEFT JOIN datasets d ON d.city = s.city AND d.dataset = s.dataset"
                               + (" WHERE s.city = ?" if city else "") + " ORDER BY 1",
                               [city] if city else []).fetchall()
    finally:
        con.close()
    if not rows:
        raise ValueError(f"no budget lines{' for city ' + repr(city) if city else ''} in {db_path}: nothing to export")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = _write_csv(out / "budget_lines.csv", header, rows)
    years = sorted({r[header.index("fiscal_year")] for r in rows if r[header.index("fiscal_year")] is not None})
    kinds = sorted({str(r[header.index("line_kind")]) for r in rows})
    has_codes = any(r[header.index("account_code")] for r in rows)
    docs = _comments("spending")
    extra_docs = {"phase": "The budget phase in the Fiscal Data Package's words: 'approved' for an appropriation, "
                           "'executed' for an actual or a payment (line_kind says which)."}
    fields = []
    for name, typ, ctype, _f in BUDGET_COLUMNS:
        f = {"name": name, "type": typ, "description": docs.get(name) or extra_docs.get(name, "")}
        if ctype:
            f["columnType"] = ctype
        if name in ("city", "dataset", "source_id", "fiscal_year", "amount", "line_kind", "department_id"):
            f["constraints"] = {"required": True}
        if name == "phase":
            f["constraints"] = {"enum": sorted(set(PHASE.values()))}
        if name == "amount":
            f["decimalChar"] = "."
            f["bareNumber"] = True
        fields.append(f)
    resource = {
        "name": "budget_lines", "path": "budget_lines.csv", "profile": "tabular-data-resource", "format": "csv",
        "mediatype": "text/csv", "encoding": "utf-8",
        "title": "Budget lines" + (f" of {city}" if city else ""),
        "description": "One row per line of the published budget files, as loaded into the civicmash warehouse "
                       "(spending table). Kinds: " + ", ".join(kinds) + ". Never add lines of different kinds.",
        "schema": {"fields": fields, "primaryKey": ["city", "dataset", "source_id"],
                   "extraFields": [{"name": "currency", "type": "string", "columnType": "value-currency:code",
                                    "constant": CURRENCY}]},
    }
    account_key = "code" if has_codes else "label"
    pkg = {
        "name": f"civicmash-budget-lines{'-' + city if city else ''}".lower().replace("_", "-"),
        "title": f"Budget lines{' of ' + city if city else ''} (civicmash export, Fiscal Data Package)",
        "description": "Budget lines from the civicmash warehouse as a Fiscal Data Package: columnType on every "
                       "column (FDP 1.0) and a model of measures and dimensions (FDP 0.3). Amounts in US dollars, "
                       "as published (nominal). Fiscal years: " + ", ".join(map(str, years)) + ".",
        "profile": "tabular-data-package",
        "profiles": {"fiscal": "*", "tabular": "*"},
        "granularity": "aggregated",
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "sources": [{k: v for k, v in (("title", t or d), ("path", url)) if v} for d, t, url, _l in datasets],
        "licenses": [{"name": "other", "title": lic} for lic in sorted({l for *_x, l in datasets if l})] or None,
        "columnTypes": ["https://frictionlessdata.io/taxonomies/fiscal/budgets.json", COLUMN_TYPES],
        "resources": [resource],
        "model": {
            "measures": {"amount": {"source": "amount", "resource": "budget_lines", "currency": CURRENCY,
                                    "factor": 1, "direction": "expenditure"}},
            "dimensions": {
                "date": {"dimensionType": "datetime", "primaryKey": "fiscal_year",
                         "attributes": {"fiscal_year": {"source": "fiscal_year"}}},
                "administrative-classification": {
                    "dimensionType": "classification", "classificationType": "administrative", "primaryKey": "code",
                    "attributes": {"code": {"source": "department_id"},
                                   "label": {"source": "department_label", "labelfor": "code"},
                                   "abbreviation": {"source": "department_abbrev"}}},
                "fund": {"dimensionType": "other", "primaryKey": "code",
                         "attributes": {"code": {"source": "fund_id"},
                                        "label": {"source": "fund_label", "labelfor": "code"}}},
                "economic-classification": {
                    "dimensionType": "classification", "classificationType": "economic",
                    "primaryKey": account_key,
                    "attributes": ({"code": {"source": "account_code"}} if has_codes else {})
                    | {"label": {"source": "account", **({"labelfor": "code"} if has_codes else {})}}},
                "phase": {"dimensionType": "other", "primaryKey": "phase",
                          "attributes": {"phase": {"source": "phase"},
                                         "line_kind": {"source": "line_kind", "labelfor": "phase"}}},
                "budget-line": {"dimensionType": "fact", "primaryKey": ["dataset", "source_id"],
                                "attributes": {"dataset": {"source": "dataset"}, "source_id": {"source": "source_id"},
                                               "description": {"source": "description"}}},
            },
        },
    }
    period = _fiscal_period(years, fiscal_year_start)
    if period:
        pkg["fiscalPeriod"] = period
    pkg = {k: v for k, v in pkg.items() if v is not None}
    path = out / "datapackage.json"
    path.write_text(json.dumps(pkg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, {"budget lines": n, "fiscal years": len(years)}


# ------------------------------------------------------------------------------------------------ outcomes

_TS_TYPE = {"VARCHAR": "string", "INTEGER": "integer", "BIGINT": "integer", "DOUBLE": "number", "DATE": "date",
            "TIMESTAMP": "datetime", "TIMESTAMPTZ": "datetime", "BOOLEAN": "boolean"}
_OUTCOME_REQUIRED = ("city", "dataset", "source_id", "measure", "period_start", "period_end", "period_grain")
_OUTCOME_ENUMS = {"period_grain": ["month", "year"], "entity_kind": ["service", "department"]}


def outcome_schema() -> dict:
    """The Table Schema of the outcomes CSV: the warehouse's own outcomes table (types, descriptions)."""
    if "outcomes" not in TABLES:
        raise ValueError("this warehouse version has no outcomes table")
    fields = []
    for name, sqltype, comment in TABLES["outcomes"][1]:
        base = sqltype.split()[0].split("(")[0].upper()
        if base == "GEOMETRY":
            continue
        f = {"name": name, "type": "number" if base == "DECIMAL" else _TS_TYPE.get(base, "string"),
             "description": comment}
        cons = {}
        if name in _OUTCOME_REQUIRED:
            cons["required"] = True
        if name in _OUTCOME_ENUMS:
            cons["enum"] = _OUTCOME_ENUMS[name]
        if name == "value":
            cons["minimum"] = 0
        if cons:
            f["constraints"] = cons
        fields.append(f)
    return {"fields": fields, "missingValues": [""],
            "primaryKey": ["city", "dataset", "source_id", "measure", "period_start"]}


def export_outcomes(db_path, *, out_dir, city: str | None = None) -> tuple[Path, dict[str, int]]:
    """Write the outcomes of ``city`` (all when None) as ``outcomes.csv`` + ``datapackage.json`` (Table Schema)."""
    schema = outcome_schema()
    names = [f["name"] for f in schema["fields"]]
    con = connect(db_path, read_only=True)
    try:
        have = _columns(con, "outcomes")
        if not have:
            raise ValueError("the warehouse has no outcomes table: run the pipeline for a city with an outcomes "
                             "dataset")
        cols = ", ".join(n if n in have else f"NULL AS {n}" for n in names)
        where, params = ("WHERE city = ?", [city]) if city else ("", [])
        rows = con.execute(f"SELECT {cols} FROM outcomes {where} ORDER BY city, service_category, measure, "
                           "entity_name, period_start, dataset, source_id", params).fetchall()
        datasets = con.execute("SELECT DISTINCT o.dataset, d.title, d.portal_url, d.licence FROM outcomes o "
                               "LEFT JOIN datasets d ON d.city = o.city AND d.dataset = o.dataset"
                               + (" WHERE o.city = ?" if city else "") + " ORDER BY 1",
                               [city] if city else []).fetchall()
    finally:
        con.close()
    if not rows:
        raise ValueError(f"no outcomes{' for city ' + repr(city) if city else ''} in {db_path}: nothing to export")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = _write_csv(out / "outcomes.csv", names, rows)
    pkg = {
        "name": f"civicmash-outcomes{'-' + city if city else ''}".lower().replace("_", "-"),
        "title": f"Outcomes of public services{' of ' + city if city else ''} (civicmash export)",
        "description": TABLES["outcomes"][0],
        "profile": "tabular-data-package",
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "sources": [{k: v for k, v in (("title", t or d), ("path", url)) if v} for d, t, url, _l in datasets],
        "resources": [{"name": "outcomes", "path": "outcomes.csv", "profile": "tabular-data-resource",
                       "format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "schema": schema}],
    }
    lic = sorted({l for *_x, l in datasets if l})
    if lic:
        pkg["licenses"] = [{"name": "other", "title": x} for x in lic]
    path = out / "datapackage.json"
    path.write_text(json.dumps(pkg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, {"outcome rows": n}


# ---------------------------------------------------------------------------------------------- validation

def validate(package: str | Path) -> list[str]:
    """``frictionless.validate`` of a written package (its datapackage.json or directory): the descriptor, every
    cell's type and constraints, primary keys. Returns one line per error naming file, row and field (empty =
    valid)."""
    import frictionless

    p = Path(package)
    p = p / "datapackage.json" if p.is_dir() else p
    report = frictionless.validate(str(p))
    if report.valid:
        return []
    out = []
    for task in report.tasks:
        for e in task.errors:
            where = getattr(task, "place", None) or getattr(task, "name", None) or p.name
            row = getattr(e, "row_number", None)
            field = getattr(e, "field_name", None)
            out.append(f"{where}" + (f" row {row}" if row else "") + (f" field {field}" if field else "")
                       + f": {e.type}: {e.message}")
    for e in report.errors:
        out.append(f"{p.name}: {e.type}: {e.message}")
    return out
