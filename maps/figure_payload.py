"""The "How is this computed?" data a page embeds: its figures' SQL from ``warehouse/figures.py`` and, for the
explorer, every declared filter's predicate (``maps/explorer_filters.py``) in the text-parameter form
``civicmash sql --param`` binds. The page's ``figure_sql.js`` fills the parameters from what the reader selects.

Each figure also carries its title and definition in the other languages (``messages``: ``{lang: {key: text}}``,
from ``maps/locales/<lang>.json``; ``words`` fills their ``{placeholders}``); English is the figure's own title and
definition, written once in ``warehouse/figures.py`` (maps/i18n.py explains the split)."""

from __future__ import annotations

from civicmash.warehouse import figures

from . import i18n
from .explorer_filters import FILTERS, Filter


def _with_messages(payload: dict) -> dict:
    """``payload`` (figures.page_payload) with its figures' titles and definitions in every other language."""
    return {**payload, "messages": i18n.figure_messages(payload["figures"])}


def explorer_filter_sql(filters: tuple[Filter, ...] = FILTERS) -> dict[str, dict]:
    """Filter key -> {"sql": its predicate with text parameters, "params": names} (filters with SQL only)."""
    out = {}
    for f in filters:
        if f.sql:
            sql = figures.text_form(f.sql)
            out[f.key] = {"sql": sql, "params": list(figures.param_names(sql))}
    return out


def explorer(rate_area: dict | None) -> dict:
    """The explorer's figures: the counts, and the rates' when the city's primary area kind fills an incidents
    column (``rate_area``: maps/explorer.py ``_rate_area``)."""
    if rate_area and rate_area.get("slot"):
        figs = figures.explorer_figures(rate_area["slot"], rate_area["kind"])
    else:
        figs = [f for f in figures.explorer_figures() if f.key not in ("explorer.area_count", "explorer.rate_per_1000")]
    return {**_with_messages(figures.page_payload("explorer", figs)), "filters": explorer_filter_sql()}


def page(name: str) -> dict:
    return _with_messages(figures.page_payload(name))
