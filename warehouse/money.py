"""Money and outcomes: the typed columns of the budget lines (``spending``), ``contract_revisions``,
``place_spending`` and ``outcomes``, and the steps that span datasets (department and fund labels, outcomes
matched to service locations).

Every city-specific word is profile data: a dataset's ``options`` (cities/table_options.py) and the city's
``[money]`` block (cities/money_options.py), which the flow passes to the loader as ``options["money"]`` in
this plain shape::

    {"fund_code_width": 4, "account_code_width": 4,
     "departments": {id: {"label", "abbrev", "codes": [...], "names": [...], "from_year", "to_year"}},
     "fund_recodes": [{"to", "label", "codes": [...], "fund_types": [...], "from_year", "to_year",
                       "except_codes": [...]}],
     "funds": {fund_id: label}, "service_aliases": {published name: services name}, ...}

Amounts are read strictly: ``$``, thousands commas, spaces and accounting brackets are removed, and what is left
must be a decimal number with at most two decimals (``7028929.00``, ``"$-74,000,000.00"``, ``309``); anything
else is quarantined ``bad_amount`` naming the field, never rounded. docs/warehouse.md, "Money and outcomes".
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from . import _sqlexpr as X

__all__ = ["MONEY_TABLES", "LINE_KINDS", "ENTITY_KINDS", "VENDOR_SUFFIXES", "MONTHS", "strict_amount",
           "spending_columns", "contract_columns", "place_columns", "outcome_columns", "outcome_periods",
           "after_load", "label_spending", "link_outcomes", "normalise_name", "title_label"]

MONEY_TABLES = ("contract_revisions", "place_spending", "outcomes")
LINE_KINDS = ("appropriation", "actual", "payment")
ENTITY_KINDS = ("service", "department")
VENDOR_SUFFIXES = ("INC", "LLC", "CORP", "CO", "LTD", "LP", "LLP", "CORPORATION", "INCORPORATED", "COMPANY", "PC",
                   "PLLC", "NA")
"""Legal suffixes dropped from the end of a vendor name for contract_revisions.vendor_key."""
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
DATE_FORMATS = ["%m/%d/%Y", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S.%g", "%Y-%m-%dT%H:%M:%S"]
"""How contract dates are written (US month-first MM/DD/YYYY, Socrata floating timestamps, ISO days)."""
_SMALL_WORDS = {"of", "and", "the", "for", "on", "in", "to", "a", "an", "at", "by", "with"}


def strict_amount(expr: str) -> str:
    """Dollar text -> DECIMAL(18,2), NULL unless it is a plain decimal with at most two decimals once ``$``,
    commas, spaces and accounting brackets (negative) are removed: no silent rounding of ``1.005``."""
    clean = f"regexp_replace({expr}, '[$,\\s]', '', 'g')"
    neg = f"({clean} LIKE '(%)')"
    body = f"CASE WHEN {neg} THEN trim({clean}, '()') ELSE {clean} END"
    ok = f"regexp_full_match({body}, '[-+]?([0-9]+(\\.[0-9]{{0,2}})?|\\.[0-9]{{1,2}})')"
    value = f"TRY_CAST({body} AS DECIMAL(18,2))"
    return f"CASE WHEN NOT {ok} THEN NULL WHEN {neg} THEN -{value} ELSE {value} END"


def _collapse(expr: str) -> str:
    """Trimmed text with every run of whitespace made one space (a double space cannot make two labels)."""
    return f"NULLIF(trim(regexp_replace({expr}, '\\s+', ' ', 'g')), '')"


def _pad(expr: str, width: Any) -> str:
    """Upper-cased code, left-padded with zeros to ``width`` when it is all digits (None: as published)."""
    code = f"upper({X.text(expr)})"
    if not width:
        return code
    w = int(width)
    return f"CASE WHEN regexp_full_match({code}, '[0-9]+') AND length({code}) < {w} THEN lpad({code}, {w}, '0') ELSE {code} END"


def _strip_zeros(expr: str) -> str:
    return f"CASE WHEN ltrim({expr}, '0') = '' AND {expr} <> '' THEN '0' ELSE ltrim({expr}, '0') END"


def _years(p: X.Params, spec: dict[str, Any], year: str) -> str:
    parts = []
    if spec.get("from_year") is not None:
        parts.append(f"{year} >= {p.add(int(spec['from_year']))}")
    if spec.get("to_year") is not None:
        parts.append(f"{year} <= {p.add(int(spec['to_year']))}")
    return " AND ".join(parts) or "TRUE"


def _money(ctx: Any) -> dict[str, Any]:
    return dict(ctx.options.get("money") or {})


def spending_columns(ctx: Any) -> list[str]:
    """The budget lines' typed columns: as published, plus line_kind, department_id (crosswalk), label and
    abbreviation from the crosswalk (others are filled by :func:`label_spending` after the load), fund_id
    (padded, recoded), account_code (padded)."""
    p, money = ctx.params, _money(ctx)
    kind = str(ctx.options.get("line_kind") or "appropriation")
    if kind not in LINE_KINDS:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.line_kind must be one of {LINE_KINDS}, got {kind!r}")
    year = f"CAST({X.integer('f_fiscal_year')} AS INTEGER)"
    code = f"upper(trim({X.text('f_department_code')}))"
    name = f"upper({_collapse('f_department')})"
    whens_id, whens_label, whens_abbrev = [], [], []
    entries = sorted((money.get("departments") or {}).items(),   # year-bound entries first: they win
                     key=lambda kv: (kv[1].get("from_year") is None and kv[1].get("to_year") is None))
    for dep_id, spec in entries:
        codes = [str(c).upper().lstrip("0") or "0" for c in (spec.get("codes") or [])]
        names = [re.sub(r"\s+", " ", str(n)).strip().upper() for n in (spec.get("names") or [])]
        if not codes and not names:
            codes = [str(dep_id).upper().lstrip("0") or "0"]
        tests = []
        if codes:
            tests.append(f"{_strip_zeros(code)} IN ({', '.join(p.add(c) for c in codes)})")
        if names:
            tests.append(f"{name} IN ({', '.join(p.add(n) for n in names)})")
        cond = f"({' OR '.join(tests)}) AND {_years(p, spec, year)}"
        whens_id.append(f"WHEN {cond} THEN CAST({p.add(str(dep_id))} AS VARCHAR)")
        # the same order as the id's CASE: an entry without a label or acronym gives NULL, not a later entry's
        whens_label.append(f"WHEN {cond} THEN CAST({p.add(spec.get('label'))} AS VARCHAR)")
        whens_abbrev.append(f"WHEN {cond} THEN CAST({p.add(spec.get('abbrev'))} AS VARCHAR)")
    default_id = f"COALESCE({_strip_zeros(code)}, {name})"
    dep_id = f"CASE {' '.join(whens_id)} ELSE {default_id} END" if whens_id else default_id
    label = f"CASE {' '.join(whens_label)} END" if whens_label else "CAST(NULL AS VARCHAR)"
    abbrev = f"CASE {' '.join(whens_abbrev)} END" if whens_abbrev else "CAST(NULL AS VARCHAR)"

    fund = _pad("f_fund_code", money.get("fund_code_width"))
    recodes = []
    for rule in money.get("fund_recodes") or []:
        tests = []
        if rule.get("codes"):
            tests.append(f"{fund} IN ({', '.join(p.add(str(c).upper()) for c in rule['codes'])})")
        if rule.get("fund_types"):
            tests.append(f"upper({X.text('f_fund_type')}) IN ({', '.join(p.add(str(t).upper()) for t in rule['fund_types'])})")
        if rule.get("except_codes"):
            tests.append(f"{fund} NOT IN ({', '.join(p.add(str(c).upper()) for c in rule['except_codes'])})")
        cond = " AND ".join(tests + [_years(p, rule, year)])
        recodes.append(f"WHEN {cond} THEN CAST({p.add(str(rule['to']))} AS VARCHAR)")
    fund_id = f"CASE {' '.join(recodes)} ELSE {fund} END" if recodes else fund
    account = _pad("f_account_code", money.get("account_code_width"))
    return [f"{year} AS fiscal_year", "f_department AS department",
            "f_department_code AS department_code", "f_fund AS fund", "f_fund_code AS fund_code",
            "f_account AS account", "f_description AS description", f"{strict_amount('f_amount')} AS amount",
            f"CAST({p.add(kind)} AS VARCHAR) AS line_kind", f"{dep_id} AS department_id",
            f"{label} AS department_label", f"{abbrev} AS department_abbrev",
            f"{fund_id} AS fund_id", f"{_collapse('f_fund')} AS fund_label", f"{account} AS account_code",
            "f_fund_type AS fund_type"]


def _vendor_key(expr: str) -> str:
    """Upper case, punctuation to spaces, legal suffixes off the end (repeatedly: 'CO INC'), spaces collapsed."""
    base = f"trim(regexp_replace(regexp_replace(upper({expr}), '[^A-Z0-9&]+', ' ', 'g'), '\\s+', ' ', 'g'))"
    suffix = "(" + "|".join(VENDOR_SUFFIXES) + ")"
    stripped = f"trim(regexp_replace({base}, '(\\s{suffix})+$', ''))"
    return f"NULLIF(CASE WHEN {stripped} = '' THEN {base} ELSE {stripped} END, '')"


def _date(expr: str) -> str:
    return f"CAST(try_strptime({X.text(expr)}, [{', '.join(X.lit(f) for f in DATE_FORMATS)}]) AS DATE)"


def contract_columns(ctx: Any) -> list[str]:
    zip_ = f"regexp_extract({X.text('f_vendor_zip')}, '^([0-9]{{5}})(-?[0-9]{{4}})?$', 1)"
    return ["upper(f_contract_number) AS contract_number",
            f"CASE WHEN regexp_full_match(f_revision, '[0-9]+') THEN CAST({X.integer('f_revision')} AS INTEGER) END "
            "AS revision", "f_revision AS revision_code",
            "f_vendor AS vendor", f"{_vendor_key('f_vendor')} AS vendor_key", "f_vendor_id AS vendor_id",
            f"NULLIF({zip_}, '') AS vendor_zip", "f_department AS department", "f_description AS description",
            "f_contract_type AS contract_type", "f_procurement_type AS procurement_type",
            f"{strict_amount('f_amount')} AS amount", f"{_date('f_start_date')} AS start_date",
            f"{_date('f_end_date')} AS end_date", f"{_date('f_approval_date')} AS approval_date"]


def contract_dates_check(ctx: Any) -> str:
    """SQL: name of the first date field given but unreadable (for the bad_timestamp quarantine), else NULL."""
    whens = " ".join(f"WHEN f_{n} IS NOT NULL AND {_date('f_' + n)} IS NULL THEN {X.lit(n)}"
                     for n in ("approval_date", "start_date", "end_date"))
    return f"CASE {whens} END"


def place_columns(ctx: Any, *, area_code: str) -> list[str]:
    p, o = ctx.params, ctx.options
    if o.get("area_match") == "name":   # the source names its areas: the boundaries of the kind give the code
        suffix = str(o.get("area_name_suffix") or "")
        area_code = (f"(SELECT min(b.code) FROM boundaries b WHERE b.city = {p.add(ctx.city)} AND b.kind = "
                     f"{p.add(o.get('area_kind') or ctx.kind)} AND {normalise_name('b.name')} = "
                     f"{normalise_name(f'f_area_code || {p.add(suffix)}')})")
    cats = o.get("categories") or {}
    category = "f_category"
    if cats:
        whens = " ".join(f"WHEN f_category = {p.add(str(k))} THEN CAST({p.add(str(v))} AS VARCHAR)" for k, v in cats.items())
        category = f"CASE {whens} ELSE f_category END"
    area_kind = o.get("area_kind") or ctx.kind
    in_totals = bool(o.get("in_totals", True))
    return [f"CAST({X.integer('f_fiscal_year')} AS INTEGER) AS fiscal_year",
            f"CAST({p.add(area_kind)} AS VARCHAR) AS area_kind", f"{area_code} AS area_code",
            "f_area_code AS area_name",
            "f_project AS project", f"{category} AS category", f"{strict_amount('f_amount')} AS amount",
            "f_location_text AS location_text", f"{'TRUE' if in_totals else 'FALSE'} AS in_totals"]


def _periods_wide(ctx: Any) -> str:
    """The record's months as a list of {period_start, text}: options.month_columns (12 source fields,
    January first) of options.year."""
    p, o = ctx.params, ctx.options
    cols = list(o.get("month_columns") or [])
    if len(cols) != 12:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.month_columns must name 12 source fields, January "
                         f"first (got {len(cols)})")
    year = o.get("year")
    if year is None:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.year is needed with month_columns")
    items = []
    for i, src in enumerate(cols):
        col = ctx.resolver.find(str(src))
        if col is None:
            ctx.resolver.missing.append(f"month_columns={src}")
            text = "CAST(NULL AS VARCHAR)"
        else:
            text = X.text(X.ident(col))
        items.append(f"{{'period_start': make_date({p.add(int(year))}, {i + 1}, 1), 'text': {text}}}")
    return f"[{', '.join(items)}]"


def outcome_periods(ctx: Any) -> str:
    """SQL list of the record's periods ``[{period_start DATE, text VARCHAR}]``: the 12 month columns of a wide
    file, or the one mapped period_start/value of a long one."""
    if ctx.options.get("month_columns"):
        return _periods_wide(ctx)
    return ("[{'period_start': CAST(" + _date("f_period_start") + " AS DATE), 'text': f_value}]")


def outcome_columns(ctx: Any) -> list[str]:
    p, o, money = ctx.params, ctx.options, _money(ctx)
    kind = str(o.get("entity_kind") or "service")
    if kind not in ENTITY_KINDS:
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.entity_kind must be one of {ENTITY_KINDS}, got {kind!r}")
    if not o.get("measure"):
        raise ValueError(f"{ctx.city}/{ctx.dataset}: options.measure is needed (what the values count)")
    name = _collapse("f_entity_name")
    aliases = money.get("service_aliases") or {}
    aliased = name
    if aliases:
        whens = " ".join(f"WHEN {normalise_name(name)} = {p.add(normalise_text(k))} THEN CAST({p.add(str(v))} AS VARCHAR)"
                         for k, v in aliases.items())
        aliased = f"CASE {whens} ELSE {name} END"
    return [f"CAST({p.add(str(o['measure']))} AS VARCHAR) AS measure",
            f"CAST({p.add(o.get('unit'))} AS VARCHAR) AS unit", f"CAST({p.add(kind)} AS VARCHAR) AS entity_kind",
            f"{name} AS entity_name", f"{normalise_name(aliased)} AS entity_key",
            "CAST(NULL AS VARCHAR) AS service_id",
            f"CAST({p.add(o.get('service_category') or ctx.kind)} AS VARCHAR) AS service_category",
            f"CAST({p.add(o.get('department_id'))} AS VARCHAR) AS department_id",
            *([] if o.get("month_columns") else [f"{outcome_periods(ctx)} AS _periods"])]


def normalise_text(text: str) -> str:
    """Python twin of :func:`normalise_name`: lower case, only letters and digits."""
    return re.sub(r"[^a-z0-9]+", "", str(text).lower())


def normalise_name(expr: str) -> str:
    """SQL: lower case, only letters and digits kept ('Albany Park  ', 'Kelly*' -> 'albanypark', 'kelly')."""
    return f"NULLIF(regexp_replace(lower({expr}), '[^a-z0-9]+', '', 'g'), '')"


def outcome_rows(stage_sql: str) -> str:
    """The long-form rows of an outcomes stage: one per record and period."""
    return f"""SELECT * EXCLUDE (_pp), _pp.period_start AS period_start,
                      CAST(_pp.period_start + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS period_end,
                      'month' AS period_grain,
                      TRY_CAST(replace(_pp.text, ',', '') AS DOUBLE) AS value
               FROM (SELECT *, unnest(_periods) AS _pp FROM ({stage_sql}))"""


def outcome_rows_grain(stage_sql: str, grain: str) -> str:
    if grain == "month":
        return outcome_rows(stage_sql)
    return f"""SELECT * EXCLUDE (_pp), _pp.period_start AS period_start,
                      CAST(_pp.period_start + INTERVAL 1 YEAR - INTERVAL 1 DAY AS DATE) AS period_end,
                      'year' AS period_grain,
                      TRY_CAST(replace(_pp.text, ',', '') AS DOUBLE) AS value
               FROM (SELECT *, unnest(_periods) AS _pp FROM ({stage_sql}))"""


def bad_value_check() -> str:
    """SQL: a period's text is given but is not a number (bad_number on field value)."""
    return ("len(list_filter(_periods, x -> x.text IS NOT NULL AND "
            "TRY_CAST(replace(x.text, ',', '') AS DOUBLE) IS NULL)) > 0")


# ------------------------------------------------------------------------------------ after the loads

def title_label(name: str | None) -> str | None:
    """A published department name for display: whitespace collapsed; an all-capitals name in title case with
    small words lower ('PLANNING AND DEVELOPMENT' -> 'Planning and Development'); a mixed-case name as is."""
    if name is None:
        return None
    text = re.sub(r"\s+", " ", name).strip()
    if not text or text != text.upper():
        return text or None
    words = text.lower().split(" ")
    return " ".join(w if (i and w in _SMALL_WORDS) else w[:1].upper() + w[1:] for i, w in enumerate(words))


def label_spending(con: duckdb.DuckDBPyConnection, *, city: str, money: dict[str, Any] | None = None) -> int:
    """Fill department_label of the ids the crosswalk gives no label (the latest year's published name of the id,
    see :func:`title_label`) and make fund_label one per (city, fund_id, fiscal_year): the profile's label for the
    fund_id (``funds``, or a fund recode's ``label``), else the most common published description, whitespace
    collapsed. Returns the number of department ids labelled here."""
    money = dict(money or {})
    # a line published with a name only takes the id of the city's coded lines that publish the same name (when
    # they agree on one id); the crosswalk's names come first (set at load: the id is then no longer the name)
    con.execute("""UPDATE spending s SET department_id = n.department_id FROM (
                       SELECT upper(regexp_replace(trim(department), '\\s+', ' ', 'g')) AS name,
                              any_value(department_id) AS department_id
                       FROM spending WHERE city = $city AND department_code IS NOT NULL AND department IS NOT NULL
                       GROUP BY 1 HAVING count(DISTINCT department_id) = 1) n
                   WHERE s.city = $city AND s.department_code IS NULL
                     AND s.department_id = upper(regexp_replace(trim(s.department), '\\s+', ' ', 'g'))
                     AND s.department_id = n.name""", {"city": city})
    fixed = sorted(str(k) for k, v in (money.get("departments") or {}).items() if (v or {}).get("label"))
    latest = con.execute("""SELECT department_id, arg_max(department, fiscal_year * 1000 + length(department))
                            FROM spending WHERE city = $city AND department_id IS NOT NULL AND department IS NOT NULL
                              AND NOT list_contains($fixed, department_id)
                            GROUP BY department_id""", {"city": city, "fixed": fixed}).fetchall()
    names = [(dep, title_label(name)) for dep, name in latest]
    fund_names = {str(k): str(v) for k, v in (money.get("funds") or {}).items()}
    for rule in money.get("fund_recodes") or []:
        if rule.get("label"):
            fund_names.setdefault(str(rule["to"]), str(rule["label"]))
    con.execute("CREATE OR REPLACE TEMP TABLE _money_labels (department_id VARCHAR, label VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE _money_funds (fund_id VARCHAR, label VARCHAR)")
    if names:
        con.executemany("INSERT INTO _money_labels VALUES (?, ?)", names)
    if fund_names:
        con.executemany("INSERT INTO _money_funds VALUES (?, ?)", list(fund_names.items()))
    con.execute("""UPDATE spending s SET department_label = l.label FROM _money_labels l
                   WHERE s.city = $city AND s.department_id = l.department_id
                     AND s.department_label IS DISTINCT FROM l.label""", {"city": city})
    con.execute("""UPDATE spending s SET fund_label = f.label FROM (
                       SELECT y.fiscal_year, y.fund_id, COALESCE(n.label, y.label) AS label FROM (
                           SELECT fiscal_year, fund_id,
                                  mode(NULLIF(trim(regexp_replace(fund, '\\s+', ' ', 'g')), '')) AS label
                           FROM spending WHERE city = $city AND fund_id IS NOT NULL GROUP BY ALL) y
                       LEFT JOIN _money_funds n USING (fund_id)) f
                   WHERE s.city = $city AND s.fiscal_year IS NOT DISTINCT FROM f.fiscal_year AND s.fund_id = f.fund_id
                     AND s.fund_label IS DISTINCT FROM f.label""", {"city": city})
    con.execute("DROP TABLE IF EXISTS _money_labels")
    con.execute("DROP TABLE IF EXISTS _money_funds")
    return len(names)


def link_outcomes(con: duckdb.DuckDBPyConnection, *, city: str) -> dict[str, int]:
    """Set outcomes.service_id from the city's services of the outcome's service_category whose normalised name
    equals entity_key (a name a service holds once; two services with one name match neither). Returns
    ``{"rows": service rows, "matched": ...}`` over entity_kind 'service' rows."""
    con.execute(f"""UPDATE outcomes o SET service_id = m.source_id FROM (
                        SELECT category, {normalise_name('name')} AS key, any_value(source_id) AS source_id
                        FROM services WHERE city = $city GROUP BY ALL HAVING count(*) = 1) m
                    WHERE o.city = $city AND o.entity_kind = 'service' AND o.entity_key = m.key
                      AND o.service_category IS NOT DISTINCT FROM m.category
                      AND o.service_id IS DISTINCT FROM m.source_id""", {"city": city})
    con.execute(f"""UPDATE outcomes o SET service_id = NULL WHERE o.city = $city AND o.service_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM services s WHERE s.city = o.city AND s.source_id = o.service_id
                                    AND {normalise_name('s.name')} = o.entity_key)""", {"city": city})
    rows, matched = con.execute("""SELECT count(*), count(service_id) FROM outcomes WHERE city = $city
                                   AND entity_kind = 'service'""", {"city": city}).fetchone()
    return {"rows": rows, "matched": matched}


def after_load(con: duckdb.DuckDBPyConnection, *, table: str, city: str, options: dict[str, Any]) -> None:
    """The steps that span datasets, run after each load of a money table (load order does not matter: each
    load recomputes the city's labels and links)."""
    if table == "spending":
        label_spending(con, city=city, money=(options or {}).get("money"))
    elif table == "outcomes":
        link_outcomes(con, city=city)
    elif table == "services":
        link_outcomes(con, city=city)
