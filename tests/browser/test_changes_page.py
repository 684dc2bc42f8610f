"""changes.html in Chromium: two real loads of a small crimes file (one type changed, one record removed, one added
with a hostile description), recorded as two runs; the page built beside the test city's explorer lists the three
changes as text (the hostile string shown, never run) and its link opens the explorer on that day."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from civicmash.maps import changes as changes_page
from civicmash.maps.render import PageContext
from civicmash.warehouse.db import connect
from civicmash.warehouse.load import load_dataset, record_run
from civicmash.warehouse.views import create_views

from tests.browser.chromium import clean_page
from tests.maps import maps_citydb
from tests.warehouse.helpers import CRIME_FIELDS, write_landing
from tests.warehouse.test_normalise import crime

pytestmark = pytest.mark.browser
HOSTILE = '<img src=x onerror="alert(1)">'


def _run(con, tmp_path, name: str, records: list[dict], at: datetime) -> None:
    files = write_landing(tmp_path / name, records)
    for path in files:   # landed at ``at``, as a real fetch's pages are (the versions' valid_from)
        table = pq.read_table(path)
        pq.write_table(table.set_column(table.schema.get_field_index("_fetched_at"), "_fetched_at",
                                        pa.array([at.isoformat()] * table.num_rows, pa.string())), path)
    load_dataset(con, city=maps_citydb.CITY, dataset="crimes", table="incidents", files=files, fields=CRIME_FIELDS,
                 options={}, run_id=name, fetched_at=at, source_meta={"protocol": "socrata", "licence": "test"})
    record_run(con, run_id=name, city=maps_citydb.CITY, started_at=at, finished_at=at + timedelta(minutes=5),
               status="completed", summary={})


def test_the_changes_page_lists_changes_as_text_and_links_into_the_explorer(browser, pages, tmp_path):
    first = [crime(id=str(i), case_number=f"JB{i}", primary_type="ROBBERY", date=f"2018-06-0{i}T10:00:00.000")
             for i in (1, 2, 3)]
    second = [dict(first[0], primary_type="THEFT"), first[2],
              crime(id="4", case_number="JB4", description=HOSTILE, date="2018-06-04T10:00:00.000")]
    start = datetime(2026, 1, 1, 6, tzinfo=UTC).replace(tzinfo=None)
    out = pages["explorer"].with_name("changes.html")
    with contextlib.closing(connect(tmp_path / "w.duckdb")) as con:
        _run(con, tmp_path, "run-a", first, start)
        _run(con, tmp_path, "run-b", second, start + timedelta(days=1))
        create_views(con)
        changes_page.build(PageContext(con=con, city=maps_citydb.CITY, out_path=out, synthetic=True))
    with clean_page(browser, out) as page:
        rows = page.eval_on_selector_all("#changes-rows tr", "trs => trs.map(t => [t.className, t.innerText])")
        assert [r[0] for r in rows] == ["cm-row-type", "cm-row-removed", "cm-row-added"]
        assert "ROBBERY" in rows[0][1] and "THEFT" in rows[0][1]
        assert HOSTILE in rows[2][1]                        # shown as text
        assert page.evaluate("document.querySelectorAll('#changes-rows img').length") == 0   # never as markup
        assert page.inner_text("#count-type").strip().endswith("1")
        assert page.inner_text("#changes-runs").startswith("From run run-a")
        assert not page.is_hidden("#changes-synthetic")
        href = page.get_attribute("#change-0 a", "href")
        assert href.startswith("explorer.html#from=2018-06-01&to=2018-06-01&types=THEFT")
        assert page.eval_on_selector_all("#change-1 a", "a => a.length") == 0   # a removed record has no link
    with clean_page(browser, pages["explorer"], hash_=href.split("#", 1)[1]) as explorer:
        assert explorer.input_value("#date-from") == "2018-06-01" and explorer.input_value("#date-to") == "2018-06-01"
