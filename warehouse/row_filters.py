"""Source row filters: the profile's ``keep`` / ``drop`` rules, as one SQL expression naming the rule a row breaks.

A published file often holds rows that are not data: a grand-total line, a blank line, records of another
status. A dataset's options say which rows belong (``keep``) and which do not (``drop``), field by field, in a
small closed vocabulary (cities/table_options.py ``RowRule``):

* ``"not_empty"`` / ``"empty"``: the cell (trimmed) has a value / has none;
* a list of values, ``["ACTIVE", "PENDING"]``: the trimmed cell equals one of them (exact, case-sensitive);
* ``{ pattern = "^[0-9]{2}$" }``: the trimmed cell matches the regular expression in full (RE2 syntax; an
  empty cell never matches).

A row is kept when it meets **every** ``keep`` rule and **no** ``drop`` rule. A row that fails is not dropped:
the loader quarantines it with reason ``excluded_by_profile`` and the rule in ``field`` (``keep Dept Code:
not_empty``), so rows in = rows loaded + rows quarantined stays true, and run health does not hold these
rows against the dataset (``excluded_by_profile`` is an expected reason). Source fields are matched like
mapped fields (exact name, else ignoring a BOM, case, spaces and punctuation); a rule on a field the data does
not have is an error (a filter that silently matched nothing would load the rows it was meant to exclude).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from . import _sqlexpr as X

__all__ = ["EXCLUDED_REASON", "RULE_WORDS", "exclusion_sql", "rule_problem"]

EXCLUDED_REASON = "excluded_by_profile"
"""The quarantine reason of a row the profile's keep/drop rules exclude."""
RULE_WORDS = ("empty", "not_empty")


def rule_problem(rule: Any) -> str | None:
    """Why ``rule`` is not a row rule of the vocabulary, or None."""
    if isinstance(rule, str):
        return None if rule in RULE_WORDS else (
            f"{rule!r} is not a rule: use 'not_empty', 'empty', a list of values ([{rule!r}]) or "
            "{ pattern = '...' }")
    if isinstance(rule, (list, tuple)):
        if not rule or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in rule):
            return "a list rule needs one or more values (text or whole numbers)"
        return None
    if isinstance(rule, dict):
        if set(rule) != {"pattern"} or not isinstance(rule["pattern"], str):
            return "a table rule is { pattern = '<regular expression>' }"
        try:
            re.compile(rule["pattern"])
        except re.error as exc:
            return f"pattern {rule['pattern']!r} is not a regular expression: {exc}"
        return None
    return f"{rule!r} is not a rule"


def _describe(action: str, name: str, rule: Any) -> str:
    if isinstance(rule, str):
        what = rule
    elif isinstance(rule, dict):
        what = f"matches {rule['pattern']}"
    else:
        what = "one of " + ", ".join(str(v) for v in rule)
    return f"{action} {name}: {what}"


def _holds(cell: str, rule: Any, params: X.Params) -> str:
    """SQL boolean (never NULL): the trimmed cell ``cell`` meets ``rule``."""
    if rule == "not_empty":
        return f"({cell} IS NOT NULL)"
    if rule == "empty":
        return f"({cell} IS NULL)"
    if isinstance(rule, dict):
        return f"COALESCE(regexp_full_match({cell}, CAST({params.add(rule['pattern'])} AS VARCHAR)), FALSE)"
    values = params.add([str(v) for v in rule])
    return f"COALESCE(list_contains(CAST({values} AS VARCHAR[]), {cell}), FALSE)"


def exclusion_sql(*, keep: dict | None, drop: dict | None, find: Callable[[str], str | None], params: X.Params,
                  where: str) -> str:
    """SQL text: NULL for a row the rules keep, else the first rule it breaks (``keep STATUS: one of ACTIVE``).

    ``find`` resolves a source field name to a landing column; ``where`` (``city/dataset``) prefixes errors."""
    whens = []
    for action, rules in (("keep", keep), ("drop", drop)):
        if rules is None:
            continue
        if not isinstance(rules, dict):
            raise ValueError(f"{where}: options.{action} must be a table: source field -> rule")
        for name, rule in rules.items():
            problem = rule_problem(rule)
            if problem:
                raise ValueError(f"{where}: options.{action}.{name}: {problem}")
            column = find(str(name))
            if column is None:
                raise ValueError(f"{where}: options.{action}: the data has no field {name!r} to filter on")
            test = _holds(X.text(X.ident(column)), rule, params)
            label = params.add(_describe(action, str(name), rule))
            whens.append(f"WHEN {'NOT ' if action == 'keep' else ''}{test} THEN CAST({label} AS VARCHAR)")
    return f"CASE {' '.join(whens)} END" if whens else "CAST(NULL AS VARCHAR)"
