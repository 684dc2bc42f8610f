"""The tokens of a query as DuckDB's own tokenizer sees them (used by the SQL guard and the SQL warnings)."""

from __future__ import annotations

import re

import duckdb

__all__ = ["strip_comments", "tokens"]


def strip_comments(query: str) -> str:
    """``query`` with its ``-- ...`` and ``/* ... */`` comments replaced by a space."""
    q = re.sub(r"--[^\n]*", " ", query)
    return re.sub(r"/\*.*?\*/", " ", q, flags=re.S)


def tokens(query: str) -> list[tuple[str, str]]:
    """(text, kind) of each token of ``query``: kind is DuckDB's token type name (identifier, keyword,
    string_const, numeric_const, operator, comment); comments are dropped from the texts."""
    raw = duckdb.tokenize(query)
    out = []
    for i, (start, kind) in enumerate(raw):
        end = raw[i + 1][0] if i + 1 < len(raw) else len(query)
        text = query[start:end]
        if kind.name != "string_const":
            text = strip_comments(text)
        out.append((text.strip(), kind.name))
    return out
