"""What changed between two runs (issue 17, item 4): the tiny sample city is run, then run again over an edited
copy of its crimes file in which the publisher changed one incident's type, moved one, changed one's date,
removed one and added one. The ``incident_changes_by_run`` view, ``civicmash changes --csv`` and ``changes.html`` show
exactly those five changes, with before/after values and both run ids.

Real runs of the Prefect flow over HTTP to the loopback replay portal; the page is read as HTML (its JSON block).
"""

from __future__ import annotations

import contextlib
import csv
import html
import json
import re
from pathlib import Path

import duckdb
import pytest
from civicmash.flows.cli import main
from civicmash.maps.render import page_data

from .health_city import ROWS, tiny_city, write_crimes
from .sample_variants import profile_of, variant, write_profile

CITY = "changes_city"
TYPE_I, MOVE_I, DATE_I, GONE_I, COPY_I = 10, 20, 30, 40, 50
NEW_ID = "99000001"
HOSTILE = '<script>alert("x")</script> & co'


@pytest.fixture(scope="module")
def edited(tmp_path_factory) -> dict:
    directory = tiny_city(tmp_path_factory.mktemp("changes_city"))
    facts: dict = {}

    def edit(rows):
        rows = [dict(r) for r in rows]
        t, m, d = rows[TYPE_I], rows[MOVE_I], rows[DATE_I]
        facts.update(type_id=t["ID"], type_before=t["Primary Type"], move_id=m["ID"], date_id=d["ID"],
                     date_before=d["Date"], gone_id=rows[GONE_I]["ID"], move_before=(m["Latitude"], m["Longitude"]))
        t["Primary Type"] = "ARSON" if t["Primary Type"] != "ARSON" else "THEFT"
        facts["type_after"] = t["Primary Type"]
        m["Latitude"] = f"{float(m['Latitude']) + 0.002:.9f}"
        m["Longitude"] = f"{float(m['Longitude']) - 0.002:.9f}"
        d["Date"] = "01/02/2018 03:04:05 PM" if not d["Date"].startswith("01/02/2018") else "03/04/2018 05:06:07 AM"
        facts["date_after"] = d["Date"]
        new = dict(rows[COPY_I], ID=NEW_ID, **{"Case Number": "ZZ000001", "Description": HOSTILE})
        return [r for i, r in enumerate(rows) if i != GONE_I] + [new]

    replay = write_crimes(directory, "edited.csv", edit)
    return {"dir": directory, "replay": replay, **facts}


@pytest.fixture(scope="module")
def two_runs(prefect_harness, edited, tmp_path_factory) -> dict:
    """The original file, then the edited one, into one warehouse (full reloads; the explorer built the second time)."""
    from civicmash.flows.pipeline import civic_pipeline

    out = tmp_path_factory.mktemp("changes_out")
    first_raw = variant(name=CITY, keep=["incidents"])
    first = civic_pipeline(CITY, out=str(out), replay=str(edited["dir"]), profile=profile_of(first_raw), maps=[])
    first_page = Path(first["changes_page"]).read_text(encoding="utf-8")   # the next run writes the same file
    later_raw = variant(name=CITY, keep=["incidents"], changes={"incidents": {"replay": edited["replay"]}})
    second = civic_pipeline(CITY, out=str(out), replay=str(edited["dir"]), profile=profile_of(later_raw),
                            maps=["explorer"])
    profile = write_profile(out / f"{CITY}.toml", later_raw)
    return {"out": out, "first": first, "second": second, "profile": profile, "warehouse": second["warehouse"],
            "first_page": first_page}


def _expected(edited) -> set[tuple[str, str]]:
    return {(edited["type_id"], "type"), (edited["move_id"], "location"), (edited["date_id"], "date"),
            (edited["gone_id"], "removed"), (NEW_ID, "added")}


def test_the_view_shows_exactly_the_five_changes(two_runs, edited):
    first, second = two_runs["first"]["run_id"], two_runs["second"]["run_id"]
    with contextlib.closing(duckdb.connect(two_runs["warehouse"], read_only=True)) as con:
        rows = con.execute("""SELECT source_id, change, changed_fields, before, after, note, from_run_id, to_run_id,
                                     primary_type, seen_at IS NOT NULL
                              FROM incident_changes_by_run WHERE city = ?""", [CITY]).fetchall()
        held = con.execute("SELECT count(*) FROM incidents WHERE city = ?", [CITY]).fetchone()[0]
    assert held == ROWS   # one removed, one added
    assert {(r[0], r[1]) for r in rows} == _expected(edited)
    assert all(r[6] == first and r[7] == second and r[9] for r in rows)   # both run ids, when seen
    by = {r[1]: r for r in rows}
    assert by["type"][2] == "primary_type" and by["type"][3] == edited["type_before"] \
        and by["type"][4] == edited["type_after"] and by["type"][8] == edited["type_after"]
    assert by["location"][2] == "lat,lon"
    lat, lon = (float(v) for v in edited["move_before"])
    assert by["location"][3] == f"{lat:.6f}, {lon:.6f}" and by["location"][4] == f"{lat + 0.002:.6f}, {lon - 0.002:.6f}"
    assert by["date"][2] == "occurred_at" and by["date"][4] in ("2018-01-02 15:04:05", "2018-03-04 05:06:07")
    assert by["removed"][4] is None and by["removed"][5] == "no longer in a full download" and by["removed"][3]
    assert by["added"][3] is None and HOSTILE in by["added"][4]


def test_the_cli_writes_the_changes_as_csv(two_runs, edited, capsys):
    out, profile = two_runs["out"], two_runs["profile"]
    target = out / "changes.csv"
    assert main(["changes", "--profile", str(profile), "--out", str(out), "--csv", str(target)]) == 0
    printed = capsys.readouterr().out
    assert "5 changes" in printed and str(target) in printed
    with open(target, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["source_id"], r["change"]) for r in rows} == _expected(edited)
    assert {r["from_run_id"] for r in rows} == {two_runs["first"]["run_id"]}
    assert {r["to_run_id"] for r in rows} == {two_runs["second"]["run_id"]}
    # the same two runs named explicitly; and the reverse direction swaps added and removed
    again = out / "again.csv"
    assert main(["changes", "--profile", str(profile), "--out", str(out), "--from", two_runs["first"]["run_id"],
                 "--to", two_runs["second"]["run_id"], "--csv", str(again)]) == 0
    assert again.read_text(encoding="utf-8") == target.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["changes", "--profile", str(profile), "--out", str(out), "--from", two_runs["second"]["run_id"],
                 "--to", two_runs["first"]["run_id"]]) == 1
    assert "give the earlier run first" in capsys.readouterr().err
    assert main(["changes", "--profile", str(profile), "--out", str(out), "--from", "no-such-run"]) == 1
    assert "no run 'no-such-run'" in capsys.readouterr().err


def _data_block(page: str) -> dict:
    return page_data(page)


def test_the_page_counts_and_lists_the_changes_escaped(two_runs, edited):
    path = Path(two_runs["second"]["changes_page"])
    assert path.name == "changes.html" and path.parent == Path(two_runs["second"]["maps"]["explorer"]).parent
    page = path.read_text(encoding="utf-8")
    data = _data_block(page)
    assert data["counts"] == {"type": 1, "location": 1, "date": 1, "other": 0, "removed": 1, "added": 1}
    assert {(r["source_id"], r["change"]) for r in data["rows"]} == _expected(edited)
    assert data["pair"]["from_run_id"] == two_runs["first"]["run_id"]
    assert data["pair"]["to_run_id"] == two_runs["second"]["run_id"]
    assert data["explorer"] == "explorer.html"   # rows link into the explorer's URL state
    assert "<script>alert" not in page and "\\u003cscript\\u003ealert" in page   # the hostile string, escaped
    assert "Synthetic sample data" in page and data["synthetic"] is True
    # the footer cites this run's snapshot
    assert re.search(r'id="snapshot-run">' + re.escape(two_runs["second"]["run_id"]) + "<", page)
    # the first run's page had nothing to compare with, and said so
    first = _data_block(two_runs["first_page"])
    assert first["pair"] is None and "no earlier successful run" in first["reason"]


def test_the_explorer_footer_cites_the_snapshot(two_runs):
    page = Path(two_runs["second"]["maps"]["explorer"]).read_text(encoding="utf-8")
    (row,) = two_runs["second"]["manifest"]
    line = re.search(r'<p class="cm-data-as-of" id="data-as-of">(.*?)</p>', page, flags=re.DOTALL).group(1)
    text = html.unescape(re.sub(r"<[^>]+>", "", line))
    assert text.startswith("Data as of ") and f"· snapshot {two_runs['second']['run_id']} · " in text
    short = text.rsplit("· ", 1)[1].strip()
    assert re.fullmatch(r"[0-9a-f]{12}", short)
    first_page_hash = two_runs["first"]["manifest"][0]["content_hash"]
    assert row["content_hash"] != first_page_hash   # the edited file is another snapshot


@pytest.mark.browser
def test_the_atom_feeds_carry_the_changes_and_open_the_explorer_on_them(two_runs, edited):
    """The second run's Atom feeds (maps/feeds.py, issue 18 item 3): the area feed of each changed incident has
    one entry per change (new, type, location, date; not the removed one), ids stable when regenerated, the
    hostile description escaped; in Chromium the entry's link opens the explorer on that incident."""
    import os
    import subprocess
    import sys
    import xml.etree.ElementTree as ET

    from civicmash.maps.feeds import write_feeds

    from tests.browser.conftest import CHROMIUM
    from tests.maps.test_explorer_feeds import A, check_atom

    out = Path(two_runs["out"])
    root = out / "feeds" / CITY
    assert two_runs["second"]["feeds"]["entries"] == 4
    with contextlib.closing(duckdb.connect(two_runs["warehouse"], read_only=True)) as con:
        area = dict(con.execute("SELECT source_id, CAST(community_area AS VARCHAR) FROM incidents WHERE city = ?",
                                [CITY]).fetchall())
    wanted = {(edited["type_id"], "type"), (edited["move_id"], "location"), (edited["date_id"], "date"),
              (NEW_ID, "added")}
    seen, links = set(), {}
    for sid, change in wanted:
        feed = check_atom(root / "community_area" / f"{area[sid]}.xml")
        for entry in feed.findall(f"{A}entry"):
            ident = entry.find(f"{A}id").text
            if ident.endswith(f":{change}:{two_runs['second']['run_id']}") and f":{sid}:" in ident:
                seen.add((sid, change))
                links[(sid, change)] = (root / "community_area" / f"{area[sid]}.xml", entry)
    assert seen == wanted
    new_entry = links[(NEW_ID, "added")][1]
    assert HOSTILE in new_entry.find(f"{A}summary").text   # parsed back: it was escaped in the file
    assert "<script>" not in (root / "community_area" / f"{area[NEW_ID]}.xml").read_text(encoding="utf-8")
    # regenerated from the same warehouse: the same entry ids
    ids = sorted(e.find(f"{A}id").text for p in root.rglob("*.xml") for e in ET.parse(p).getroot().findall(f"{A}entry"))
    with contextlib.closing(duckdb.connect(two_runs["warehouse"], read_only=True)) as con:
        write_feeds(con, city=CITY, out=out)
    again = sorted(e.find(f"{A}id").text for p in root.rglob("*.xml") for e in ET.parse(p).getroot().findall(f"{A}entry"))
    assert again == ids
    # the entry's link, resolved against the feed's own location, opens the explorer on the reclassified incident
    # (Chromium driven from a child process: the session's browser fixture may already hold Playwright's loop)
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    feed_path, entry = links[(edited["type_id"], "type")]
    href = entry.find(f"{A}link[@rel='alternate']").get("href")
    page_file, _, state = href.partition("#")
    target = (feed_path.parent / page_file).resolve()
    assert target == Path(two_runs["second"]["maps"]["explorer"]).resolve()
    probe = (
        "import json, sys\n"
        "from playwright.sync_api import sync_playwright\n"
        "from tests.browser.chromium import open_page\n"
        "from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS\n"
        "with sync_playwright() as pw:\n"
        "    b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)\n"
        "    ctx, page, log = open_page(b, sys.argv[1], hash_=sys.argv[2])\n"
        "    out = {'focused': page.evaluate('window.civicmap.explorer.focused()'),\n"
        "           'ids': page.evaluate('window.civicmap.explorer.ids()'), 'info': page.inner_text('#focus-info'),\n"
        "           'popup': page.inner_text('.leaflet-popup-content'), 'errors': log['errors'] + log['console']}\n"
        "    b.close()\n"
        "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(target), state], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    seen_page = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen_page["errors"] == []
    assert seen_page["focused"] == edited["type_id"] and edited["type_id"] in seen_page["ids"]
    assert edited["type_id"] in seen_page["info"] and edited["type_after"] in seen_page["info"]
    assert edited["type_after"] in seen_page["popup"]
