"""The pages' languages: message catalogues in ``maps/locales/<lang>.json``, inlined into every page.

A catalogue is a flat JSON object ``key -> message``; ``{name}`` in a message is a placeholder filled by the
caller (the same names in every language: ``tests/maps/test_i18n_catalogues.py``). English (``en``) is the
language the pages are written in; the others are applied in the browser by ``templates/i18n.js`` to the
elements naming a key (``data-i18n``, ``data-i18n-attr``) and by the page scripts through ``C.t(key, vars)``.

Which languages a city's pages offer, and with which locale their numbers and dates are written, is the
profile's ``languages`` (BCP 47 tags, the first the default): ``["en-US", "es-US"]`` unless it says otherwise.
Data values from the portals (type names, department names) are never translated.

The "How is this computed?" figures' titles and definitions are messages too (``figure.<key>.title``,
``figure.<key>.definition``, ``{area}``-style placeholders filled from the figure's ``words``). Their English is
written once, in ``warehouse/figures.py`` (:func:`civicmash.warehouse.figures.messages`), and joins the English
catalogue here instead of ``en.json``; ``es.json`` holds their Spanish. They travel with the page's own figures
(:func:`figure_messages`, ``maps/figure_payload.py``), not in every page's ``#i18n`` block.

The service categories' labels and descriptions are messages too (``category.<id>.label``, ``category.<id>.about``),
their English written once in ``warehouse/services.py`` (:func:`civicmash.warehouse.services.messages`) and their
Spanish in ``es.json``. A page's ``#i18n`` block carries those of the categories it shows
(:func:`category_keys`, passed to ``render.publish(messages=...)``), which its script shows through
``C.categoryLabel`` / ``C.categoryAbout`` (``templates/shell.js``); a category the taxonomy does not know (a
profile's own word) has no key and is shown as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from civicmash.warehouse import figures as _figures
from civicmash.warehouse import services as _services

LOCALES = Path(__file__).with_name("locales")
SOURCE_LANGUAGE = "en"                      # the language the templates and scripts are written in
DEFAULT_LANGUAGES = ("en-US", "es-US")      # the profile's default `languages`
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
FIGURE_PREFIX = "figure."                   # the figures' titles and definitions (English: warehouse/figures.py)
CATEGORY_PREFIX = "category."               # the service categories' words (English: warehouse/services.py)


class LanguageError(ValueError):
    """A language a page was asked for that has no catalogue, or a malformed tag."""


def available() -> tuple[str, ...]:
    """The languages with a catalogue (``maps/locales/*.json``), the source language first."""
    names = sorted(p.stem for p in LOCALES.glob("*.json"))
    return tuple(sorted(names, key=lambda n: n != SOURCE_LANGUAGE))


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """The messages of ``lang`` (``en``, ``es``): key -> message. English also holds every figure's title and
    definition, from ``warehouse/figures.py``, and every service category's label and description, from
    ``warehouse/services.py`` (their one source; see the module docstring)."""
    path = LOCALES / f"{lang}.json"
    if not path.is_file():
        raise LanguageError(f"no catalogue for language {lang!r} (have: {', '.join(available())})")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise LanguageError(f"{path}: a catalogue is one JSON object of string keys to string messages")
    if lang == SOURCE_LANGUAGE:   # en.json holds no figure.* or category.* key (tests/maps/test_i18n_catalogues.py)
        data = {**data, **_figures.messages(), **_services.messages()}
    return data


def figure_messages(keys: Iterable[str]) -> dict[str, dict[str, str]]:
    """The titles and definitions of the figures ``keys`` (``explorer.total`` ...) in every language but English,
    what a page embeds beside its figures: ``{lang: {"figure.<key>.title": message, ...}}``. English is not
    repeated: the page shows the figure's own title and definition (already filled in) for it."""
    wanted = {f"{FIGURE_PREFIX}{k}.{part}" for k in keys for part in ("title", "definition")}
    return {lang: {k: v for k, v in catalogue(lang).items() if k in wanted}
            for lang in available() if lang != SOURCE_LANGUAGE}


def category_keys(ids: Iterable[str | None]) -> tuple[str, ...]:
    """The message keys of the categories ``ids`` (``category.<id>.label`` and ``.about``), those of the taxonomy
    only (another id is a profile's own word, shown as written): what a page showing them passes to
    ``render.publish(messages=...)``."""
    held = catalogue(SOURCE_LANGUAGE)
    keys = (f"{CATEGORY_PREFIX}{c}.{part}" for c in dict.fromkeys(ids) if c for part in ("label", "about"))
    return tuple(k for k in keys if k in held)


def placeholders(message: str) -> set[str]:
    """The ``{name}`` placeholders of a message."""
    return set(_PLACEHOLDER.findall(message))


def t(key: str, lang: str = SOURCE_LANGUAGE, /, **values: Any) -> str:
    """The message ``key`` in ``lang`` with its placeholders filled (a missing key in ``lang`` falls back to
    English; a key in no catalogue is an error: every string a page shows is in the catalogue)."""
    messages = catalogue(lang)
    if key not in messages:
        messages = catalogue(SOURCE_LANGUAGE)
    if key not in messages:
        raise KeyError(f"message key {key!r} is in no catalogue ({LOCALES})")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0),
                            messages[key])


@cache
def _english_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for key, text in catalogue(SOURCE_LANGUAGE).items():
        index.setdefault(text, key)
    return index


def key_for(text: str | None) -> str | None:
    """The key of the catalogue's English message ``text`` (a label a page module built in Python, such as a
    filter's), or None when the text is not a catalogue message (a portal's or a profile's own words)."""
    return _english_index().get(text) if isinstance(text, str) else None


def check_languages(tags: Iterable[str], *, city: str = "?") -> tuple[str, ...]:
    """``tags`` (BCP 47, e.g. ``en-US``) checked: well formed, each language with a catalogue, no language twice."""
    out, seen = [], set()
    for tag in tags:
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise LanguageError(f"city {city!r}: languages: {tag!r} is not a language tag like 'en-US' or 'es-US'")
        lang = tag.split("-")[0].lower()
        if lang not in available():
            raise LanguageError(f"city {city!r}: languages: {tag!r} has no message catalogue "
                                f"(maps/locales/{lang}.json); have: {', '.join(available())}")
        if lang in seen:
            raise LanguageError(f"city {city!r}: languages: {lang!r} is named twice")
        seen.add(lang)
        out.append(tag)
    if not out:
        raise LanguageError(f"city {city!r}: languages: name at least one (e.g. ['en-US'])")
    return tuple(out)


def page_block(tags: Iterable[str], keys: Iterable[str] = ()) -> dict:
    """What a page inlines (JSON block ``#i18n``): its default language, each language's locale and messages.

    The pages are written in English; the first tag's language is the one shown when the reader's browser asks
    for none of the city's languages (a city whose first language is not English is translated on opening).
    Every page gets the catalogue but the figures' and the categories' words; ``keys`` adds the category
    messages this page shows (:func:`category_keys`; any other key is a LanguageError)."""
    tags = check_languages(tags)
    extra = set(keys)
    wrong = sorted(k for k in extra if not k.startswith(CATEGORY_PREFIX) or k not in catalogue(SOURCE_LANGUAGE))
    if wrong:
        raise LanguageError(f"a page's own messages are category messages (category_keys), not {', '.join(wrong)}")
    langs = [tag.split("-")[0].lower() for tag in tags]
    return {
        "source": SOURCE_LANGUAGE,          # the language the page is written in (and every message's fallback)
        "preferred": langs[0],              # the reader's browser names none of the city's languages: this one
        "locales": dict(zip(langs, tags)),
        "names": {lang: LANGUAGE_NAMES.get(lang, lang) for lang in langs},
        # the figures' words travel with the page's figures (figure_messages), the categories' with the pages
        # showing them (keys), not with every page
        "messages": {lang: {k: v for k, v in catalogue(lang).items()
                            if not k.startswith((FIGURE_PREFIX, CATEGORY_PREFIX)) or k in extra}
                     for lang in dict.fromkeys([SOURCE_LANGUAGE, *langs])},
    }
