"""A Spanish interface beside English on every page (issue 18, item 6; docs/maps.md "Languages"), in real Chromium
over the sample city's pipeline pages: a browser asking for Spanish gets Spanish words, `<html lang="es-US">` and
numbers and dates in the es-US locale; the EN | ES switch goes back to English and the choice survives a reload;
a browser asking for English gets the English pages; the profile's locale decides how numbers are written; the
"How is this computed?" boxes give each figure's title and definition in Spanish; axe-core stays clean in Spanish;
the service categories (locator, providers, spending, the explorer's place list), the locator's opening hours (in
English word for word Schedule.describe()), place search and map label, the providers' reasons for a catchment they
cannot compute, a price index's unstated source, the footer's unrecorded source values and the name of a table that
scrolls sideways are worded in the reader's language."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from tests.browser.chromium import assert_no_leaks, axe_violations

pytestmark = pytest.mark.browser

# per page: a heading or button the page always shows, in Spanish and in English
WORDS = {
    "explorer": ("#filters-reset", "Restablecer filtros", "Reset filters"),
    "safe_route": ("#route-table th", "Ruta", "Route"),
    "locator": ("#controls h2", "Lo más cercano a pie", "Nearest by walking"),
    "spending": ("label[for=sp-year]", "Año fiscal", "Fiscal year"),
    "providers": ("#pv-table-heading", "Lugares comparados", "Locations compared"),
    "status": ("#controls h2", "Estado de los datos", "Data status"),
    "changes": ("#controls h2", "Qué cambió", "What changed"),
}
TITLES_ES = {"explorer": "Explorador de delitos", "safe_route": "Ruta segura a casa",
             "locator": "Localizador de servicios", "spending": "Explorador del gasto público",
             "providers": "Proveedores de servicios comparados", "status": "Estado de los datos",
             "changes": "Qué cambió"}


@pytest.fixture(scope="module")
def sample_pages(sample_run) -> dict[str, Path]:
    maps = {k: Path(v) for k, v in sample_run["maps"].items()}
    folder = maps["explorer"].parent
    pages = {name: maps.get(name, folder / f"{name}.html") for name in WORDS}
    missing = [n for n, p in pages.items() if not p.is_file()]
    assert missing == [], f"the sample run wrote no {missing}"
    return pages


@contextlib.contextmanager
def opened(browser, path, *, locale: str, query: str = "", viewport=(1280, 860)):
    """A fresh browser context speaking ``locale`` (navigator.languages), the page opened and drawn; no page error,
    no console error and no request off the machine when it closes."""
    ctx = browser.new_context(locale=locale, viewport={"width": viewport[0], "height": viewport[1]})
    page = ctx.new_page()
    log = {"errors": [], "console": [], "requests": []}
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: log["requests"].append(r.url))
    try:
        page.goto(Path(path).resolve().as_uri() + query)
        page.wait_for_function("() => window.civicmapReady === true", timeout=30_000)
        yield page
        assert log["errors"] == [] and log["console"] == [], log
        assert_no_leaks(log)
    finally:
        ctx.close()


def _text(page, selector) -> str:
    return " ".join(page.locator(selector).first.inner_text().split())


@pytest.mark.parametrize("name", list(WORDS))
def test_a_spanish_browser_gets_each_page_in_spanish(browser, sample_pages, name):
    selector, spanish, english = WORDS[name]
    with opened(browser, sample_pages[name], locale="es-US") as page:
        assert page.evaluate("document.documentElement.lang") == "es-US"
        assert page.evaluate("window.civicmap.lang") == "es"
        assert _text(page, "header h1") .startswith(TITLES_ES[name])
        assert page.title().startswith(TITLES_ES[name])
        assert spanish in _text(page, selector)
        assert page.locator("#synthetic-banner").inner_text().startswith("Datos de muestra sintéticos")
        assert _text(page, "#sources strong") == "Fuentes"
        assert page.get_attribute("[data-lang-choice=es]", "aria-pressed") == "true"
        # the page's own words translated, the data's own words (types, names) kept as the source wrote them
        panel = page.inner_text("#panel")
        assert english not in panel.split("\n")
        assert "tal como los escribió la fuente" in panel


# a "How is this computed?" box per page: its figure, the Spanish title (maps/locales/es.json figure.<key>.title) and
# how the Spanish definition starts
FIGURE_ES = {
    "explorer": ("explorer.total", "Incidentes que coinciden",
                 "Filas de incidents_current: la versión actual de cada registro"),
    "spending": ("spending.year_total", "Total de las partidas presupuestarias del año",
                 "Suma de las partidas presupuestarias (spending.amount) del año fiscal $fiscal_year"),
}
_FIGURE_TEXTS = """() => ({
  english: Object.values(window.civicmap.data.figures.figures).map(f => f.title),
  titles: [...document.querySelectorAll('details.cm-fig .cm-fig-title')].map(n => n.textContent.trim()),
  labels: [...document.querySelectorAll('details.cm-fig > summary')].map(n => n.getAttribute('aria-label')),
  english_marked: document.querySelectorAll('details.cm-fig [lang]').length})"""


@pytest.mark.parametrize("name", list(FIGURE_ES))
def test_the_figures_titles_and_definitions_are_spanish(browser, sample_pages, name):
    """The box's title and definition in Spanish (the SQL's names and $parameters kept), and no box on the page
    titled in English (closed boxes too, and their summaries' aria-labels)."""
    key, title, starts = FIGURE_ES[name]
    with opened(browser, sample_pages[name], locale="es-US") as page:
        box = page.locator(f'details.cm-fig[data-figure="{key}"]').first
        box.locator("summary").click()
        page.wait_for_function("b => b.open && b.dataset.for !== undefined", arg=box.element_handle())
        assert " ".join(box.locator(".cm-fig-title").inner_text().split()) == title
        definition = " ".join(box.locator(".cm-fig-def").inner_text().split())
        assert definition.startswith(starts), definition
        if name == "explorer":   # the window, said as the English says it: from $from up to the day after $to
            assert "90 días calendario" in definition and "$from" in definition and "$to" in definition
        seen = page.evaluate(_FIGURE_TEXTS)
        assert len(seen["titles"]) >= 2 and len(seen["english"]) >= 4
        assert set(seen["titles"]) & set(seen["english"]) == set()
        assert [label for label in seen["labels"] if any(label.endswith(t) for t in seen["english"])] == []
        assert seen["english_marked"] == 0   # no figure fell back to its English


def test_numbers_and_dates_follow_the_locale(browser, sample_pages):
    with opened(browser, sample_pages["explorer"], locale="es-US") as page:
        # "data as of": the newest fetch written by Intl.DateTimeFormat in es-US (a Spanish month), not ISO
        stamp = page.locator("#data-as-of time")
        iso, shown = stamp.get_attribute("datetime"), " ".join(stamp.inner_text().split())
        want = page.evaluate("""iso => { const m = /^(\\d{4})-(\\d{2})-(\\d{2})[T ](\\d{2}):(\\d{2})/.exec(iso);
            return new Intl.DateTimeFormat('es-US', {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit',
              minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC'}).format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]))); }""",
                             iso)
        assert shown == want and not re.match(r"^\d{4}-", shown)
        assert re.search(r"\b(ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\b", shown), shown
        assert _text(page, "#page-info").startswith("filas 1")
        first_date = _text(page, "#inc-table tbody tr td")
        assert re.search(r"\b(ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\b", first_date), first_date
        # counts through Intl.NumberFormat of the page's locale
        shown_n = _text(page, "#count-match")
        n = int(re.sub(r"\D", "", shown_n))
        assert n >= 1000 and shown_n == page.evaluate("n => new Intl.NumberFormat('es-US').format(n)", n)
        assert page.evaluate("window.civicmap.fmtNum(1234567.5, 1)") == "1,234,567.5"   # es-US writes numbers as en-US
        assert page.evaluate("window.civicmap.locale") == "es-US"


def test_the_profile_locale_decides_how_numbers_are_written(browser, sample_run, tmp_path):
    """``languages = ["en-US", "es-ES"]``: the same page in Spanish writes numbers the Spanish way."""
    import contextlib as cl

    from civicmash.maps import status
    from civicmash.maps.render import PageContext
    from civicmash.warehouse.db import connect

    with cl.closing(connect(sample_run["warehouse"], read_only=True)) as con:
        path = status.build(PageContext(con=con, city="sample", out_path=tmp_path / "status.html", synthetic=True,
                                        languages=("en-US", "es-ES")))
    with opened(browser, path, locale="es-ES") as page:
        assert page.evaluate("document.documentElement.lang") == "es-ES"
        assert page.evaluate("window.civicmap.fmtNum(1234567.5, 1)") == "1.234.567,5"
        rows = page.evaluate("JSON.parse(document.getElementById('data').textContent).datasets")
        big = max(rows, key=lambda r: r["rows_current"] or 0)
        cell = page.locator(f"#status-{big['dataset']} td").nth(2).inner_text()
        assert cell == page.evaluate("n => new Intl.NumberFormat('es-ES').format(n)", big["rows_current"])
        if big["rows_current"] >= 10_000:
            assert "." in cell
    with opened(browser, path, locale="en-US") as page:
        assert page.evaluate("document.documentElement.lang") == "en-US"
        assert _text(page, "#controls h2") == "Data status"


def test_the_switch_goes_back_to_english_and_the_choice_survives_a_reload(browser, sample_pages):
    ctx = browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 860})
    try:
        page = ctx.new_page()
        page.goto(sample_pages["explorer"].resolve().as_uri() + "#from=2018-09-01&to=2018-09-30")
        page.wait_for_function("() => window.civicmapReady === true", timeout=30_000)
        assert _text(page, "#filters-reset") == "Restablecer filtros"
        total_title = "document.querySelector('details.cm-fig[data-figure=\"explorer.total\"] .cm-fig-title').textContent"
        assert page.evaluate(total_title) == "Incidentes que coinciden"
        with page.expect_navigation():
            page.click("[data-lang-choice=en]")
        page.wait_for_function("() => window.civicmapReady === true", timeout=30_000)
        assert page.evaluate("document.documentElement.lang") == "en-US"
        assert _text(page, "#filters-reset") == "Reset filters"
        assert page.evaluate(total_title) == "Matching incidents"   # the figure's own English after the switch
        assert "lang=en" in page.url and page.url.endswith("#from=2018-09-01&to=2018-09-30")  # the filters kept
        assert page.input_value("#date-from") == "2018-09-01"
        page.reload()
        page.wait_for_function("() => window.civicmapReady === true", timeout=30_000)
        assert _text(page, "#filters-reset") == "Reset filters"
        # another page of the same city, opened without lang= in its URL: the stored choice holds
        page.goto(sample_pages["locator"].resolve().as_uri())
        page.wait_for_function("() => window.civicmapReady === true", timeout=30_000)
        assert _text(page, "#controls h2") == "Nearest by walking"
        assert page.get_attribute("[data-lang-choice=en]", "aria-pressed") == "true"
        # and back to Spanish by the switch
        with page.expect_navigation():
            page.click("[data-lang-choice=es]")
        page.wait_for_function("() => window.civicmapReady === true", timeout=30_000)
        assert _text(page, "#controls h2") == "Lo más cercano a pie"
    finally:
        ctx.close()


def test_an_english_browser_gets_english_and_lang_in_the_url_wins(browser, sample_pages):
    with opened(browser, sample_pages["spending"], locale="en-US") as page:
        assert page.evaluate("document.documentElement.lang") == "en-US"
        assert _text(page, "label[for=sp-year]") == "Fiscal year"
        assert page.title().startswith("Spending explorer")
    with opened(browser, sample_pages["spending"], locale="en-US", query="?lang=es") as page:
        assert page.evaluate("document.documentElement.lang") == "es-US"
        assert _text(page, "label[for=sp-year]") == "Año fiscal"
    with opened(browser, sample_pages["status"], locale="fr-FR") as page:   # a language the city does not offer
        assert _text(page, "#controls h2") == "Data status"


@pytest.mark.parametrize("viewport", [(1280, 860), (390, 844)], ids=["desktop", "phone"])
def test_axe_finds_no_violation_on_the_spanish_explorer(browser, sample_pages, viewport):
    with opened(browser, sample_pages["explorer"], locale="es-US", viewport=viewport) as page:
        assert page.evaluate("document.documentElement.lang") == "es-US"
        assert axe_violations(page) == []


# ---------------------------------------------- the service categories, the providers' reasons, the price source
# (their English written in warehouse/services.py, their Spanish in es.json: maps/i18n.py category_keys)

_LOCATOR_WORDS = """() => {
  const m = window.civicmap.map, popups = [], lines = [];
  for (const id in m._layers) { const l = m._layers[id], p = l.getPopup && l.getPopup();
    if (p && p.getContent && p.getContent().textContent) {
      popups.push(p.getContent().textContent); lines.push(...[...p.getContent().children].map(c => c.textContent)); } }
  return {
    data: window.civicmap.data.cats, popups: popups, lines: lines, sched: window.civicmap.data.services.sched,
    cats: [...document.querySelectorAll('#loc-cats label')].map(l => ({text: l.textContent, title: l.title})),
    nearest: [...document.querySelectorAll('#nearest-list li.cm-cat > .cm-row strong')].map(n => n.textContent),
    gap: [...document.querySelectorAll('#gap-cat option')].slice(1).map(o => o.textContent),
    iso: [...document.querySelectorAll('#iso-mode option')].filter(o => o.value.startsWith('cat:'))
      .map(o => [o.value.slice(4), o.textContent]),
    link: document.getElementById('loc-providers-link').textContent };
}"""


def _category_words(lang: str, category: str, as_written: str) -> tuple[str, str]:
    from civicmash.maps import i18n

    key = f"category.{category}.label"
    if key in i18n.catalogue("en"):
        return i18n.t(key, lang), i18n.t(f"category.{category}.about", lang)
    return as_written, i18n.t("loc.category_published", lang)


def test_the_locator_says_its_categories_and_hours_in_the_readers_language(browser, sample_pages):
    """The category list (label and tooltip), the nearest list, the coverage and walking-area selects, the link to
    the providers page and the popups' categories and hours: Spanish for a Spanish reader, the taxonomy's English
    for an English one; a category outside the taxonomy as written."""
    for locale in ("es-US", "en-US"):
        lang = locale[:2]
        with opened(browser, sample_pages["locator"], locale=locale) as page:
            seen = page.evaluate(_LOCATOR_WORDS)
        want = {c["id"]: _category_words(lang, c["id"], c["label"]) for c in seen["data"]}
        assert "library" in want and want["library"][0] == {"es": "Biblioteca", "en": "Library"}[lang]
        assert seen["cats"] == [{"text": want[c["id"]][0], "title": want[c["id"]][1]} for c in seen["data"]]
        assert seen["nearest"] and set(seen["nearest"]) <= {w[0] for w in want.values()}
        assert seen["gap"] and set(seen["gap"]) <= {w[0] for w in want.values()}
        around = {"es": "alrededor de cada {}", "en": "around every {}"}[lang]
        assert seen["iso"] and all(text == around.format(want[c][0].lower()) for c, text in seen["iso"])
        assert seen["link"] == {"es": "Comparar los lugares de biblioteca según sus resultados",
                                "en": "Compare the library locations on their outcomes"}[lang]
        # a popup: the service's category and its week (day names, "closed") in the reader's words
        hours = {"es": ("Horario: lun ", "dom "), "en": ("Hours: Mon ", "Sun ")}[lang]
        with_hours = [p for p in seen["popups"] if hours[0] in p]
        assert with_hours and all(hours[1] in p for p in with_hours)
        assert any(want["library"][0] in p for p in seen["popups"])
        if lang == "es":   # the week after "Horario:" (the service's name and address before it are the portal's)
            assert not [p for p in with_hours
                        if re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|closed)\b", p.split(hours[0])[1])]
        else:   # the page's week is warehouse/hours.py's Schedule.describe() of the same schedule, word for word
            from civicmash.warehouse.hours import Schedule

            weeks = {Schedule(days={d: [(o, c) for dd, o, c in sc["iv"] if dd == d] for d in range(1, 8)
                                    if sc["k"] & (1 << d)}).describe() for sc in seen["sched"] if sc}
            assert weeks and {x[len("Hours: "):] for x in seen["lines"] if x.startswith("Hours: Mon ")} == weeks


def test_the_explorers_place_list_names_its_categories_in_the_readers_language(browser, sample_pages):
    """The "near a school or park" list's groups: the taxonomy's words in the reader's language (was the raw id)."""
    for locale in ("es-US", "en-US"):
        lang = locale[:2]
        with opened(browser, sample_pages["explorer"], locale=locale) as page:
            page.wait_for_function("() => document.querySelectorAll('#f-near optgroup').length > 0")
            seen = page.evaluate("""() => ({ groups: Array.from(document.querySelectorAll('#f-near optgroup'), g => g.label),
                cats: Array.from(new Set(window.civicmap.data.incidents.places.map(p => p.cat))) })""")
        assert seen["cats"] and seen["groups"] == [_category_words(lang, c, c)[0] for c in seen["cats"]]
        assert {"es": "Escuela", "en": "School"}[lang] in seen["groups"]


def test_the_money_pages_say_the_category_in_the_readers_language(browser, sample_pages):
    for locale in ("es-US", "en-US"):
        lang = locale[:2]
        with opened(browser, sample_pages["providers"], locale=locale) as page:
            assert page.evaluate("window.civicmap.data.category") == "library"
            assert _text(page, "#pv-caption").startswith(
                {"es": "Biblioteca: lugares comparados", "en": "Library locations compared"}[lang])
            assert {"es": "Cada lugar de biblioteca de ", "en": "Each library location of "}[lang] in _text(page, "#pv-intro")
        with opened(browser, sample_pages["spending"], locale=locale) as page:
            assert page.evaluate("window.civicmap.data.outcomes.map(o => o.category)")[:1] == ["library"]
            head = _text(page, "#sp-outcomes-body h3")
            assert head.startswith({"es": "Biblioteca: ", "en": "Library: "}[lang]), head
            caption = _text(page, "#sp-outcomes-body caption")
            assert caption == {"es": "Biblioteca: presupuesto y resultados por año",
                               "en": "Library: budget and outcomes by year"}[lang]


@pytest.fixture(scope="module")
def unrecorded_source_page(tmp_path_factory) -> Path:
    """The status page with one source whose dataset name, licence and fetch time were never recorded."""
    from civicmash.maps.render import PageContext, _page_html
    from civicmash.maps.status import PAGE

    path = tmp_path_factory.mktemp("unrecorded") / "status.html"
    ctx = PageContext(con=None, city="x", out_path=path, city_title="Xville", synthetic=True)
    path.write_text(_page_html(ctx, PAGE, data={"datasets": [], "counts": {}, "manifest": []}, with_map=False,
                               sources=[{"dataset": None, "portal_url": None, "licence": None, "fetched_at": None}],
                               fragment_vars={}), encoding="utf-8")
    return path


def test_the_shared_words_built_outside_the_pages_scripts_follow_the_reader(browser, sample_pages,
                                                                           unrecorded_source_page):
    """The footer's words for a source's unrecorded name, licence and fetch time, the locator's place search and
    map label (locator_keyboard.js) and the name the accessibility pass gives a table that scrolls sideways
    (a11y.js): in the reader's language."""
    want = {"es": ("conjunto de datos sin nombre", "licencia: no indicada; descargado el (fecha no registrada)",
                   "coordenadas", "Mapa. Las flechas", "(se desplaza hacia los lados)"),
            "en": ("unnamed dataset", "licence: not stated; fetched (date not recorded)",
                   "coordinates", "Map. Arrow keys", "(scrolls sideways)")}
    for locale in ("es-US", "en-US"):
        words = want[locale[:2]]
        with opened(browser, unrecorded_source_page, locale=locale) as page:
            assert _text(page, ".cm-src-dataset") == words[0]
            assert words[1] in _text(page, "#sources li")
        with opened(browser, sample_pages["locator"], locale=locale, viewport=(390, 844)) as page:
            page.fill("#loc-search", "41.88, -87.63")
            page.wait_for_selector("#loc-search-list li")
            assert _text(page, "#loc-search-list li .cm-muted") == words[2]
            assert page.locator("#map").get_attribute("aria-label").startswith(words[3])
            label = page.evaluate("""() => new Promise(done => {   // a table wider than the panel
                const t = document.createElement('table'); t.innerHTML = '<caption>Wide</caption><tr><td>' +
                  'x'.repeat(400) + '</td></tr>'; document.getElementById('controls').appendChild(t);
                requestAnimationFrame(() => requestAnimationFrame(() =>
                  done(t.parentNode.getAttribute('aria-label')))); })""")
            assert label == "Wide " + words[4]


@pytest.fixture(scope="module")
def reasons_pages(sample_run, tmp_path_factory) -> dict[str, Path]:
    """The sample city's providers page where the catchment cannot be computed (its warehouse without walking areas
    per location; no population for the areas asked for) and its spending page with a price index of no stated
    source: each reason a code or null in the payload, worded by the page."""
    import shutil

    from civicmash.maps import providers, spending
    from civicmash.maps.render import PageContext
    from civicmash.warehouse.db import connect

    tmp = tmp_path_factory.mktemp("reasons")
    bare = tmp / "no_walk_areas.duckdb"
    shutil.copyfile(sample_run["warehouse"], bare)
    out = {}
    with contextlib.closing(connect(bare)) as con:
        con.execute("DELETE FROM isochrones WHERE kind = 'service'")
        out["no_walk_areas"] = providers.build(PageContext(con=con, city="sample", out_path=tmp / "p1.html",
                                                           synthetic=True))
    with contextlib.closing(connect(sample_run["warehouse"], read_only=True)) as con:
        out["no_population"] = providers.build(PageContext(con=con, city="sample", out_path=tmp / "p2.html",
                                                           synthetic=True, options={"area_kind": "nowhere"}))
        out["no_source"] = spending.build(PageContext(con=con, city="sample", out_path=tmp / "s.html", synthetic=True,
                                                      options={"price_index": {2019: 255.657, 2024: 313.689}}))
    return out


def test_the_providers_reasons_and_the_missing_price_source_are_worded_by_the_page(browser, reasons_pages):
    with opened(browser, reasons_pages["no_walk_areas"], locale="es-US") as page:
        assert page.evaluate("window.civicmap.data.catchment.why") == {"code": "no_walk_areas", "category": "library"}
        said = ("No se pueden calcular los residentes de la zona de influencia para esta ciudad: el almacén de datos "
                "no tiene un área a pie por cada lugar de biblioteca (isochrones de tipo 'service').")
        assert _text(page, "#pv-about").endswith(said)
        assert said in _text(page, "#pv-defs")
    with opened(browser, reasons_pages["no_population"], locale="en-US") as page:
        assert page.evaluate("window.civicmap.data.catchment.why.code") == "no_population"
        assert _text(page, "#pv-about").endswith("Catchment residents cannot be computed for this city: no population "
                                                 "figures for areas the warehouse also has boundaries for.")
    with opened(browser, reasons_pages["no_population"], locale="es-US") as page:
        assert "no hay cifras de población para áreas" in _text(page, "#pv-about")
    for locale, words in (("es-US", "(fuente no indicada en el perfil)"), ("en-US", "(source not stated in the profile)")):
        with opened(browser, reasons_pages["no_source"], locale=locale) as page:
            assert page.evaluate("window.civicmap.data.price.source") is None
            page.check("#sp-mode-constant")
            assert words in _text(page, "#sp-yoy-about")
