"""One-line messages for the ways a journalist's query can fail (``civicmash sql``).

DuckDB's own messages are several lines: the error, a "Did you mean" or "Candidate bindings" line, a blank
line, ``LINE 1: <the query>`` and a caret under the place it stopped. :func:`one_line` keeps what a reader needs
-- what is wrong, the closest known name, and the words of the query where it stopped -- on one line, in
plain words:

- unknown table or view: ``unknown table or view incidentz (did you mean incidents?)``;
- unknown column: ``unknown column primary_typ (did you mean primary_type?)``;
- a value that does not convert: ``bad value: Could not convert string 'abc' to INT32 (at: CAST('abc' ...)``;
- a syntax error: ``syntax error at or near "FORM" (at: FORM incidents)``;
- a file the query tries to read: ``refused: ...`` (the warehouse's own tables and views only);
- a missing or unknown ``--param``: ``missing --param x`` / ``unknown --param y``.
"""

from __future__ import annotations

import re

__all__ = ["QueryError", "one_line", "param_error"]


class QueryError(ValueError):
    """A query the warehouse could not run, with a one-line message (subclass of ValueError)."""


_PREFIX = re.compile(r"^(?P<kind>[A-Z][A-Za-z ]*?) Error: ", re.S)
_UNKNOWN_TABLE = re.compile(r'Table with name (?P<name>.+?) does not exist!(?:\s*Did you mean "(?P<hint>[^"]+)"\?)?',
                            re.S)
_UNKNOWN_COLUMN = re.compile(r'Referenced column "(?P<name>[^"]+)" not found in FROM clause!'
                             r'(?:\s*Candidate bindings: (?P<hints>.*))?', re.S)
_NO_SUCH_COLUMN = re.compile(r'Table "(?P<table>[^"]+)" does not have a column named "(?P<name>[^"]+)"'
                             r'(?:\s*Candidate bindings: (?P<hints>.*))?', re.S)
_UNKNOWN_FUNCTION = re.compile(r'(?P<what>Scalar Function|Table Function|Aggregate Function|Function) with name '
                               r'"?(?P<name>[^" ]+)"? (?:does not exist!|is not in the catalog)'
                               r'(?:\s*Did you mean "(?P<hint>[^"]+)"\?)?', re.S)
_FILE = re.compile(r"file system operations are disabled|Cannot access (?:file|directory)", re.I)


def one_line(exc: BaseException, *, query: str) -> str:
    """The message of a DuckDB error raised by ``query``, as one line of plain words (see the module doc)."""
    text = str(exc)
    body, _, where = text.partition("\n\nLINE ")
    body = body.strip()
    kind_match = _PREFIX.match(body)
    kind = kind_match.group("kind") if kind_match else ""
    body = body[kind_match.end():] if kind_match else body
    at = _where(where)
    if _FILE.search(body):
        return ("refused: the query tries to read a file; civicmash sql reads only the warehouse's own tables and "
                "views (civicmash schema lists them)")
    if m := _UNKNOWN_TABLE.match(body):
        name = m.group("name")
        if _looks_like_path(name):
            return (f"refused: {name!r} is a file, not a table; civicmash sql reads only the warehouse's own "
                    "tables and views (civicmash schema lists them)")
        return (f"unknown table or view {name}" + _hint(m.group("hint"))
                + "; civicmash schema lists every table and view")
    if m := _UNKNOWN_COLUMN.match(body):
        return f"unknown column {m.group('name')}" + _hint(_first_binding(m.group("hints"))) + at
    if m := _NO_SUCH_COLUMN.match(body):
        return (f"{m.group('table')} has no column {m.group('name')}" + _hint(_first_binding(m.group("hints")))
                + at)
    if m := _UNKNOWN_FUNCTION.match(body):
        what = m.group("what").lower().replace("scalar ", "").replace("aggregate ", "")
        hint = m.group("hint") if "not in the catalog" not in body else None
        return f"unknown {what} {m.group('name')}" + _hint(hint) + at
    words = "; ".join(" ".join(line.split()) for line in body.splitlines() if line.strip())
    label = {"Parser": "syntax error: ", "Conversion": "bad value: ", "Out of Range": "value out of range: ",
             "Binder": "", "Catalog": "", "Invalid Input": "", "Permission": "refused: "}.get(kind, "")
    if kind == "Parser" and words.lower().startswith("syntax error"):
        label = ""
    return label + words + at


def param_error(exc: BaseException, *, given: dict | None) -> str | None:
    """A one-line message for a missing or unknown ``--param`` (DuckDB's prepared-statement errors), else None."""
    text = str(exc)
    if m := re.search(r"Values were not provided for the following prepared statement parameters: (.+)", text):
        names = [n.strip() for n in m.group(1).split(",") if n.strip()]
        return ("missing " + ", ".join(f"--param {n}=VALUE" for n in names)
                + f" (the query uses {', '.join('$' + n for n in names)})")
    if m := re.search(r"identifiers of the excess parameters: (.+)", text):
        names = [n.strip() for n in m.group(1).split(",") if n.strip()]
        return (f"unknown --param {', '.join(names)}: the query has no "
                + ", ".join("$" + n for n in names))
    if given and re.search(r"Parameter argument/count mismatch|can't be prepared|Unexpected prepared parameter",
                           text):
        return (f"unknown --param {', '.join(given)}: the query has no "
                + ", ".join("$" + n for n in given))
    return None


def _hint(name: str | None) -> str:
    return f" (did you mean {name}?)" if name else ""


def _first_binding(hints: str | None) -> str | None:
    """The first of DuckDB's candidate bindings (``"incidents.primary_type", "city"`` -> ``primary_type``)."""
    found = re.findall(r'"([^"]+)"', hints or "")
    return found[0].rsplit(".", 1)[-1] if found else None


def _where(context: str) -> str:
    """`` (at: <the query from the caret on>)`` from DuckDB's ``LINE n: ...`` / caret lines; '' when absent."""
    lines = context.splitlines()
    if len(lines) < 2 or "^" not in lines[1]:
        return ""
    m = re.match(r"(\d+): ", lines[0])
    if not m:
        return ""
    # the caret line is indented to match "LINE n: <text>"; the partition above removed "LINE "
    column = lines[1].index("^") - len("LINE ") - m.end()
    text = lines[0][m.end():]
    if column < 0 or column >= len(text):
        return ""
    snippet = " ".join(text[column:].split())
    return f" (at: {snippet[:40] + ('...' if len(snippet) > 40 else '')})"


def _looks_like_path(name: str) -> bool:
    return "/" in name or "\\" in name or bool(re.search(r"\.[A-Za-z0-9]{1,8}$", name)) or "*" in name
