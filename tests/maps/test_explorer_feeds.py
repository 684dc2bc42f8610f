"""The Atom feeds every run writes beside the maps (issue 18, item 3), on the sample city's pipeline run: one
valid Atom 1.0 feed per area of every kind the city fills and per ½-mile circle around each school and park, and
an OPML index listing them all. (A run after a changed incident, and its entry opening the explorer, is tested
with the two runs of tests/flows/test_changes.py.)"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

A = "{http://www.w3.org/2005/Atom}"


def check_atom(path: Path) -> ET.Element:
    """Atom 1.0's required elements (RFC 4287): feed id, title, updated, an author (the feed's, as entries carry
    none); per entry id, title, updated and a link (no content: a summary); ids are absolute IRIs."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{A}feed", path
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{A}{name}")) == 1 and root.find(f"{A}{name}").text, (path, name)
    assert root.find(f"{A}author/{A}name").text
    assert root.find(f"{A}id").text.startswith("urn:civicmash:feed:")
    assert root.find(f"{A}link[@rel='self']") is not None
    for entry in root.findall(f"{A}entry"):
        for name in ("id", "title", "updated", "summary"):
            assert len(entry.findall(f"{A}{name}")) == 1 and entry.find(f"{A}{name}").text, (path, name)
        assert entry.find(f"{A}id").text.startswith("urn:civicmash:")
        assert "#" in entry.find(f"{A}link[@rel='alternate']").get("href")
    return root


def test_every_area_and_circle_has_a_valid_feed_listed_in_the_index(sample_run):
    from civicmash.warehouse.db import connect

    out = Path(sample_run["warehouse"]).parent
    root = out / "feeds" / "sample"
    assert sample_run["feeds"]["dir"] == str(root)
    con = connect(sample_run["warehouse"], read_only=True)
    try:
        areas = {kind: {str(c) for (c,) in con.execute(
            "SELECT DISTINCT code FROM boundaries WHERE city = 'sample' AND kind = ?", [kind]).fetchall()}
            for kind in ("community_area", "beat")}
        sites = con.execute("SELECT count(*) FROM services WHERE city = 'sample' AND category IN ('school', 'park') "
                            "AND lat IS NOT NULL").fetchone()[0]
    finally:
        con.close()
    for kind, codes in areas.items():
        assert codes and {p.stem for p in (root / kind).glob("*.xml")} >= codes, kind
    assert sites and len(list((root / "near").glob("*.xml"))) == sites
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.xml"))
    assert len(files) == sample_run["feeds"]["feeds"]
    for rel in files:
        check_atom(root / rel)
    opml = ET.parse(root / "index.opml").getroot()
    assert sorted(o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")) == files
    one = ET.parse(root / "community_area" / f"{min(areas['community_area'])}.xml").getroot()
    assert one.find(f"{A}link[@rel='alternate']").get("href").startswith("../../../maps/sample/explorer.html#ca=")


def test_regenerating_leaves_unchanged_feeds_as_written_and_removes_gone_ones(sample_run, tmp_path):
    """A feed whose entries did not change is not rewritten (its ``updated`` keeps the time of its last change);
    a feed of an area or place no longer in the data is removed."""
    from civicmash.maps.feeds import write_feeds
    from civicmash.warehouse.db import connect

    con = connect(sample_run["warehouse"], read_only=True, spatial=False)
    try:
        first = write_feeds(con, city="sample", out=tmp_path, city_title="Sampleton")
        root = Path(first["dir"])
        written = {p: p.stat().st_mtime_ns for p in root.rglob("*.xml")}
        gone = root / "beat" / "no-such-beat.xml"
        gone.write_text("<feed/>", encoding="utf-8")
        again = write_feeds(con, city="sample", out=tmp_path, city_title="Sampleton")
    finally:
        con.close()
    assert again["feeds"] == first["feeds"] == len(written)
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*.xml")} == written   # none rewritten
    assert not gone.exists()
