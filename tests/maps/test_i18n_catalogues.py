"""The pages' message catalogues (maps/locales/*.json, maps/i18n.py; docs/maps.md "Languages"): every key in every
language, nothing empty, the same placeholders, every key the templates and scripts name held, the English of each
translated template element equal to the catalogue's, Python-built labels that reach a page in the catalogue, and
the language choice checked where a page is built (profile key ``languages``)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from civicmash.maps import i18n

TEMPLATES = Path(i18n.__file__).with_name("templates")
KEY_ATTR = re.compile(r'data-i18n(?:-page-title)?="([^"{}]+)"')
ATTR_PAIRS = re.compile(r'data-i18n-attr="([^"]+)"')
# a catalogue key written as a whole string literal in a page script (not a prefix joined to a value: "day." + d)
PREFIXES = ("page", "shell", "title", "missing", "day", "changes", "status", "ex", "cmp", "fig", "loc",
            "sr", "sp", "pv")
JS_KEY = re.compile(r'"((?:%s)\.[A-Za-z0-9_]+)"(?!\s*\+)' % "|".join(PREFIXES))


def _load(lang: str) -> dict:
    return json.loads((i18n.LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def _english() -> dict:
    """The English catalogue: en.json and the figures' titles and definitions (warehouse/figures.py)."""
    return dict(i18n.catalogue("en"))


def test_english_and_spanish_hold_the_same_keys_none_empty():
    en, es = _english(), _load("es")
    assert set(i18n.available()) >= {"en", "es"}
    assert sorted(set(en) - set(es)) == [], "keys missing from es.json"
    assert sorted(set(es) - set(en)) == [], "keys in es.json that en.json lacks"
    assert [k for k, v in {**en, **es}.items() if not v.strip()] == []
    assert len(en) > 300   # every page's words, not a sample


def test_placeholders_match_between_languages():
    en, es = _english(), _load("es")
    differ = {k: (sorted(i18n.placeholders(en[k])), sorted(i18n.placeholders(es[k])))
              for k in en if i18n.placeholders(en[k]) != i18n.placeholders(es[k])}
    assert differ == {}


def test_spanish_is_a_translation_not_a_copy():
    """Short words may agree (Total, Panel, portal, hash); the sentences must not."""
    en, es = _english(), _load("es")
    same = [k for k in en if en[k] == es[k] and len(en[k]) > 12 and not re.fullmatch(r"[{}\w\s:,()·—/%.-]*\{\w+\}[^a-z]*",
                                                                                         en[k])]
    assert same == []


def _template_files():
    return sorted(p for p in TEMPLATES.iterdir() if p.suffix in (".html", ".j2", ".js") and p.name != "i18n.js")


def test_every_key_the_templates_and_scripts_name_is_in_the_catalogue():
    en = _load("en")
    named: dict[str, set[str]] = {}
    for path in _template_files():
        text = path.read_text(encoding="utf-8")
        keys = set(KEY_ATTR.findall(text))
        for pairs in ATTR_PAIRS.findall(text):
            keys |= {pair.split(":", 1)[1].strip() for pair in pairs.split(";") if ":" in pair}
        if path.suffix == ".js":
            keys |= set(JS_KEY.findall(text))
        named[path.name] = keys
    missing = {name: sorted(k for k in keys if k not in en) for name, keys in named.items()}
    assert {n: m for n, m in missing.items() if m} == {}
    used = set().union(*named.values())
    # the catalogue reaches every page: the shell, the seven pages' fragments and their scripts
    for name in ("page.html.j2", "explorer.js", "locator.js", "safe_route.js", "spending.js", "providers.js",
                 "status.js", "changes.js", "figure_sql.js", "explorer_compare.js"):
        assert named[name], f"{name} names no catalogue key"
    assert len(used) > 250


class _Translated(HTMLParser):
    """Each element with a literal data-i18n key: its text, its data-i18n-arg children as {name}."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[dict] = []
        self.found: list[tuple[str, str]] = []

    VOID = {"input", "br", "img", "meta", "link", "hr"}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.stack and "data-i18n-arg" in a:
            self.stack[-1]["text"].append("{" + a["data-i18n-arg"] + "}")
            if tag in self.VOID:
                return
            self.stack.append({"tag": tag, "key": None, "text": [], "arg": True})
            return
        if tag in self.VOID:
            return
        key = a.get("data-i18n")
        self.stack.append({"tag": tag, "key": key if key and "{" not in key else None, "text": [], "arg": False})

    def handle_endtag(self, tag):
        if not self.stack:
            return
        node = self.stack.pop()
        if node["key"]:
            self.found.append((node["key"], " ".join("".join(node["text"]).split())))
        elif self.stack and not node["arg"]:
            self.stack[-1]["text"].append("".join(node["text"]))

    def handle_data(self, data):
        if self.stack and not self.stack[-1]["arg"]:
            self.stack[-1]["text"].append(data)


def test_the_english_written_in_the_templates_is_the_catalogues():
    """The page is written in English and translated in place: the words an element carries must be the words of its
    key, or a reader would see one thing in English and the translation of another."""
    en = _load("en")
    wrong, checked = [], 0
    for path in _template_files():
        if path.suffix == ".js":
            continue
        parser = _Translated()
        parser.feed(path.read_text(encoding="utf-8"))
        checked += len(parser.found)
        for key, text in parser.found:
            if "{{" in text or "{%" in text:
                continue   # jinja fills it: a Python-built label (checked below) or the page title
            want = " ".join(en.get(key, "").split())
            if text != want:
                wrong.append((path.name, key, text, want))
    assert wrong == []
    assert checked > 150


def test_python_built_labels_that_reach_a_page_are_in_the_catalogue():
    from civicmash.flows.products import OPTIONAL, plan_products
    from civicmash.maps import explorer_filters
    from civicmash.maps.changes import PAGE as CHANGES
    from civicmash.maps.explorer import PAGE as EXPLORER
    from civicmash.maps.locator import PAGE as LOCATOR
    from civicmash.maps.providers import PAGE as PROVIDERS
    from civicmash.maps.safe_route import PAGE as SAFE_ROUTE
    from civicmash.maps.spending import PAGE as SPENDING
    from civicmash.maps.status import PAGE as STATUS

    titles = [p.title for p in (EXPLORER, LOCATOR, SAFE_ROUTE, SPENDING, PROVIDERS, STATUS, CHANGES)]
    assert [t for t in titles if i18n.key_for(t) is None] == []
    labels = [h for _, h in explorer_filters.SECTIONS]
    for f in explorer_filters.FILTERS:
        if f.key in explorer_filters.AREA_KEYS:
            continue   # the city's own words for its areas (the profile's [areas]), shown as the profile writes them
        labels.append(f.label)
        labels += [v for k, v in f.control.options.items() if k in ("until", "hint")]
    assert [label for label in labels if i18n.key_for(label) is None] == []
    # what a built page says the city's data lacks (flows/products.py), every sentence it can say
    plans = plan_products(list(OPTIONAL), present={"incidents", "street_edges", "services", "spending", "outcomes"},
                          unhealthy={}, wanted_bars=True)
    sentences = [line for plan in plans for line in plan.missing]
    assert sentences and [s for s in sentences if i18n.key_for(s) is None] == []
    # the explorer's type group for the types in none of the profile's categories
    from civicmash.maps.explorer import _type_groups

    groups = _type_groups(["THEFT", "ODD ONE"], {"things_taken": ["THEFT"]})
    assert [g["name"] for g in groups if i18n.key_for(g["name"]) is None] == ["things taken"]   # the profile's word


def test_t_fills_placeholders_and_falls_back_to_english():
    assert i18n.t("ex.count_match", "es", n="1,234") == "1,234 incidentes coinciden"
    assert i18n.t("ex.count_match", n=3) == "3 matching incidents"
    with pytest.raises(KeyError, match="no.such.key"):
        i18n.t("no.such.key", "es")
    with pytest.raises(i18n.LanguageError, match="'fr'"):
        i18n.catalogue("fr")


def test_languages_are_checked_where_a_page_is_built(tmp_path):
    from civicmash.maps.render import PageContext

    assert PageContext(con=None, city="x", out_path=tmp_path / "x.html").languages == ("en-US", "es-US")
    with pytest.raises(i18n.LanguageError, match=r"city 'x'.*'fr-FR' has no message catalogue"):
        PageContext(con=None, city="x", out_path=tmp_path / "x.html", languages=("en-US", "fr-FR"))
    with pytest.raises(i18n.LanguageError, match="named twice"):
        i18n.check_languages(["es-US", "es-MX"])
    block = i18n.page_block(["es-MX", "en-US"])
    assert block["preferred"] == "es" and block["source"] == "en"
    assert block["locales"] == {"es": "es-MX", "en": "en-US"} and set(block["messages"]) == {"en", "es"}


def test_the_profile_names_the_languages(tmp_path):
    from civicmash.cities.profile import ProfileError, load_profile

    assert load_profile("sample").languages == ["en-US", "es-US"]
    src = Path(load_profile.__code__.co_filename).with_name("sample.toml").read_text(encoding="utf-8")
    bad = tmp_path / "sample_bad.toml"
    bad.write_text(re.sub(r"(?m)^(title\s*=.*)$", r'\1\nlanguages = ["english"]', src, count=1), encoding="utf-8")
    with pytest.raises(ProfileError, match="languages"):
        load_profile(bad)


def test_a_page_inlines_its_catalogues_and_the_switch(tmp_path):
    """No fetch: both catalogues are in the page, with the switch and the keys on the shell's own words."""
    from civicmash.maps.render import PageContext, _page_html
    from civicmash.maps.status import PAGE

    ctx = PageContext(con=None, city="x", out_path=tmp_path / "x.html", city_title="Xville", synthetic=True,
                      languages=("en-US", "es-MX"))
    html = _page_html(ctx, PAGE, data={"datasets": [], "counts": {}, "manifest": []}, sources=None, with_map=False,
                      fragment_vars={})
    block = json.loads(re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S).group(1))
    assert block["locales"] == {"en": "en-US", "es": "es-MX"}
    assert block["messages"]["es"]["title.status"] == "Estado de los datos"
    assert 'data-lang-choice="en"' in html and 'data-lang-choice="es"' in html
    assert 'data-i18n="page.synthetic"' in html and 'data-i18n-page-title="title.status"' in html


# ------------------------------------------------------------ the figures' titles and definitions (warehouse/figures.py)

_SQL_PARAM = re.compile(r"\$(\w+)")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def _all_figures():
    from civicmash.warehouse import figures

    seen = {}
    for page in figures.PAGES:
        for fig in figures.figures_for(page):
            seen[fig.key] = fig
    # the explorer's figures as a city whose rates count another area column are built (words filled in)
    for fig in figures.explorer_figures("district", "police_district"):
        assert fig.key in seen
    return list(seen.values())


def test_every_figure_has_a_spanish_title_and_definition_saying_the_same():
    """Each figure of every page: a title and a definition key in es.json, with the English's placeholders, SQL
    parameters ($from ...) and numbers (units, the window: 90 days, 1.3 m/s, 1,000 residents, 00:00)."""
    en, es = _english(), _load("es")
    figs = _all_figures()
    assert len(figs) >= 30
    problems = []
    for fig in figs:
        for part, english in (("title", fig.title), ("definition", fig.definition)):
            key = f"figure.{fig.key}.{part}"
            if not english:
                continue
            if key not in es:
                problems.append((key, "no Spanish"))
                continue
            for name, find in (("placeholders", i18n.placeholders), ("SQL parameters", _SQL_PARAM.findall),
                               ("numbers", _NUMBER.findall)):
                if sorted(set(find(en[key]))) != sorted(set(find(es[key]))):
                    problems.append((key, name, sorted(set(find(en[key])) ^ set(find(es[key])))))
            if es[key] == en[key]:
                problems.append((key, "not translated"))
    assert problems == []
    assert es["figure.explorer.total.title"] == "Incidentes que coinciden"


def test_the_figures_english_is_written_once_in_the_warehouse_registry():
    """en.json holds no figure key: the English catalogue takes the figures' words from warehouse/figures.py, and
    filling a template with the figure's words gives exactly the title and definition the figure has."""
    from civicmash.warehouse import figures

    assert [k for k in _load("en") if k.startswith(i18n.FIGURE_PREFIX)] == []
    assert {k: v for k, v in _english().items() if k.startswith(i18n.FIGURE_PREFIX)} == figures.messages()
    for fig in [*_all_figures(), *figures.explorer_figures("district", "police_district")]:
        words = dict(fig.words)
        assert i18n.t(f"figure.{fig.key}.title", "en", **words) == fig.title
        assert i18n.t(f"figure.{fig.key}.definition", "en", **words) == fig.definition
    ward = {f.key: f for f in figures.explorer_figures("ward", "ward")}["explorer.rate_per_1000"]
    assert ward.title == "Matching incidents per 1,000 residents of one ward"
    assert i18n.t("figure.explorer.rate_per_1000.title", "es", **dict(ward.words)) == (
        "Incidentes que coinciden por cada 1,000 residentes de un área (ward)")


def test_a_page_carries_its_own_figures_words_and_the_shell_none():
    """The figures' translations travel beside the page's figures (only its own), not in every page's #i18n."""
    from civicmash.maps import figure_payload

    locator = figure_payload.page("locator")
    assert set(locator["messages"]) == {"es"}
    assert sorted(locator["messages"]["es"]) == sorted(
        f"figure.{k}.{part}" for k in locator["figures"] for part in ("title", "definition"))
    assert locator["messages"]["es"]["figure.locator.residents_beyond.title"] == (
        "Residentes fuera de la distancia a pie (estimación)")
    explorer = figure_payload.explorer({"slot": "district", "kind": "police_district"})
    assert explorer["figures"]["explorer.area_count"]["words"] == {"area": "police district", "column": "district"}
    assert "words" not in explorer["figures"]["explorer.total"]
    counts_only = figure_payload.explorer(None)
    assert "figure.explorer.area_count.title" not in counts_only["messages"]["es"]
    block = i18n.page_block(["en-US", "es-US"])
    assert not [k for lang in block["messages"] for k in block["messages"][lang] if k.startswith(i18n.FIGURE_PREFIX)]


# ------------------------------------------------------------ the service categories' words (warehouse/services.py)

def test_every_service_category_has_a_spanish_label_and_description():
    """Each category of the taxonomy: ``category.<id>.label`` and ``.about`` in es.json, translated, with the
    English's placeholders (none today), and the English catalogue's words exactly the taxonomy's."""
    from civicmash.warehouse.services import CATEGORIES

    en, es = _english(), _load("es")
    assert len(CATEGORIES) >= 13
    problems = []
    for c in CATEGORIES.values():
        for part, english in (("label", c.label), ("about", c.description)):
            key = f"category.{c.id}.{part}"
            assert en[key] == english
            if not es.get(key, "").strip():
                problems.append((key, "no Spanish"))
            elif i18n.placeholders(es[key]) != i18n.placeholders(english):
                problems.append((key, "placeholders"))
            elif part == "about" and es[key] == english:
                problems.append((key, "not translated"))
    assert problems == []
    assert es["category.library.label"] == "Biblioteca"
    assert sorted(k for k in es if k.startswith(i18n.CATEGORY_PREFIX)) == sorted(
        f"category.{c}.{part}" for c in CATEGORIES for part in ("label", "about"))   # no stale category


def test_the_categories_english_is_written_once_in_the_taxonomy():
    """en.json holds no category key: the English catalogue takes them from warehouse/services.py."""
    from civicmash.warehouse import services

    assert [k for k in _load("en") if k.startswith(i18n.CATEGORY_PREFIX)] == []
    assert {k: v for k, v in _english().items() if k.startswith(i18n.CATEGORY_PREFIX)} == services.messages()
    assert i18n.t("category.police.label") == services.category_label("police") == "Police station"
    assert i18n.t("category.police.label", "es") == "Estación de policía"


def test_a_page_block_carries_only_the_categories_the_page_shows():
    """No category words in every page's #i18n; a page showing categories adds theirs (both languages), and a
    category outside the taxonomy (a profile's own word) has no key: the page shows it as written."""
    keys = i18n.category_keys(["library", "dog_park", None, "library"])
    assert keys == ("category.library.label", "category.library.about")
    plain = i18n.page_block(["en-US", "es-US"])
    assert not [k for m in plain["messages"].values() for k in m if k.startswith(i18n.CATEGORY_PREFIX)]
    block = i18n.page_block(["en-US", "es-US"], keys)
    for lang, library in (("en", "Library"), ("es", "Biblioteca")):
        held = {k: v for k, v in block["messages"][lang].items() if k.startswith(i18n.CATEGORY_PREFIX)}
        assert sorted(held) == sorted(keys) and held["category.library.label"] == library
    assert not [k for m in block["messages"].values() for k in m if k.startswith(i18n.FIGURE_PREFIX)]
    for wrong in ("category.dog_park.label", "ex.any"):   # an unknown category, a message every page has anyway
        with pytest.raises(i18n.LanguageError, match=wrong):
            i18n.page_block(["en-US"], [wrong])


def test_the_price_index_source_is_null_when_the_profile_names_none():
    """The page words the missing source (sp.source_not_stated) in the reader's language; the payload says null."""
    from civicmash.maps.money_data import price_index

    assert price_index({"price_index": {2023: 300.0, 2024: 310.0}})["source"] is None
    assert price_index({"price_index": {2024: 310.0}, "price_index_source": "CPI-U"})["source"] == "CPI-U"
    assert i18n.t("sp.source_not_stated", "es") == "(fuente no indicada en el perfil)"
