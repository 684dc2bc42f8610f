"""Alerts without a server: Atom 1.0 feeds of new and reclassified incidents, regenerated each run.

Written under ``<out>/feeds/<city>/`` (docs/maps.md, "Atom feeds"):

* ``<kind>/<code>.xml``: one feed per area of every kind the city fills (the profile's ``[areas]`` slots: the
  boundaries of the slot's kind, or the codes its incidents carry), named by the kind (``community_area/32.xml``);
* ``near/<category>-<id>.xml``: one feed per school and park (the ``services`` of the explorer's "near"
  categories) for incidents within ½ mile (805 m) of it;
* ``index.opml``: every feed, for a feed reader to subscribe to them all or pick some.

An entry is one change of ``warehouse/changes.py`` between two consecutive successful runs of the city (the
latest :data:`RUNS` pairs, the ``incident_changes_by_run`` rows): an incident ``added`` or reclassified
(``type``, ``location``, ``date``, ``other``); removed ones are left out (there is nothing to open). Its id
``urn:civicmash:<city>:<dataset>:<source_id>:<change>:<to_run_id>`` stays the same on every regeneration; its
link opens the explorer on that incident (``#from=<day>&to=<day>&inc=<source_id>``, relative to the feed). Every
portal string is written by ``xml.etree`` (escaped), with characters XML cannot hold removed.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np
from civicmash.warehouse import changes, reads

from . import explorer, explorer_filters

ATOM = "http://www.w3.org/2005/Atom"
RADIUS_M = 805.0   # ½ mile
RUNS = 5           # run pairs whose changes the feeds carry
MAX_ENTRIES = 200  # per feed, newest first
KINDS = ("added", "type", "location", "date", "other")
_WORDS = {"added": "New", "type": "Reclassified (type)", "location": "Moved", "date": "Date changed",
          "other": "Details changed"}
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(value) -> str:
    return _BAD_XML.sub("", "" if value is None else str(value))


def _safe_name(code: str) -> str:
    """A file name for an area code or place id: letters, digits, ``-``, ``_`` and ``.`` kept, others %-encoded."""
    name = quote(str(code), safe="-_.")
    return name if name not in ("", ".", "..") else "_" + name


def _iso(value) -> str:
    if value is None:
        value = datetime.now(UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def recent_changes(con, *, city: str, runs: int = RUNS) -> list[dict]:
    """The changes (added and reclassified) of the city's latest ``runs`` pairs of consecutive successful runs."""
    if not reads.has_table(con, "ingest_runs"):
        return []
    done = con.execute(f"SELECT run_id, finished_at, status FROM ingest_runs WHERE city = ? AND {changes.SUCCESS} "
                       "AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?", [city, runs + 1]).fetchall()
    out = []
    for later, earlier in itertools.pairwise(done):
        pair = changes.RunPair(city=city, from_run_id=earlier[0], to_run_id=later[0], from_end=earlier[1],
                               to_end=later[1], to_status=later[2])
        columns, rows = changes.changes_between(con, pair)
        out += [r for r in (dict(zip(columns, row)) for row in rows) if r["change"] in KINDS]
    return out


def _areas_of(con, rows: list[dict], slots: list[str]) -> None:
    """Each change row gets the current area codes of its incident (``row["areas"][slot]``)."""
    incidents = reads.incidents_relation(con)
    have = reads.columns(con, incidents)
    cols = [s for s in slots if s in have]
    for r in rows:
        r["areas"] = {}
    if not cols or not rows:
        return
    keys = sorted({(r["dataset"], r["source_id"]) for r in rows})
    found = {(d, s): vals for d, s, *vals in con.execute(
        f"SELECT i.dataset, i.source_id, {', '.join(f'CAST(i.{c} AS VARCHAR)' for c in cols)} FROM {incidents} i "
        "JOIN (SELECT unnest(CAST(? AS VARCHAR[])) AS dataset, unnest(CAST(? AS VARCHAR[])) AS source_id) k "
        "ON k.dataset = i.dataset AND k.source_id = i.source_id WHERE i.city = ?",
        [[k[0] for k in keys], [str(k[1]) for k in keys], rows[0]["city"]]).fetchall()}
    for r in rows:
        vals = found.get((r["dataset"], r["source_id"]))
        r["areas"] = {c: v for c, v in zip(cols, vals)} if vals else {}


def _entry(feed: ET.Element, r: dict, *, city: str, explorer_href: str) -> None:
    e = ET.SubElement(feed, f"{{{ATOM}}}entry")
    ident = ":".join(quote(_clean(x), safe="") for x in (city, r["dataset"], r["source_id"], r["change"],
                                                             r["to_run_id"]))
    ET.SubElement(e, f"{{{ATOM}}}id").text = "urn:civicmash:" + ident
    where = f" at {r['block']}" if r.get("block") else ""
    ET.SubElement(e, f"{{{ATOM}}}title").text = _clean(f"{_WORDS[r['change']]}: {r.get('primary_type') or 'incident'}"
                                                       f"{where}")
    ET.SubElement(e, f"{{{ATOM}}}updated").text = _iso(r.get("seen_at"))
    when = r["occurred_at"].strftime("%Y-%m-%d %H:%M") if r.get("occurred_at") else "date not given"
    text = (f"{_WORDS[r['change']]} incident {r['source_id']} (case {r.get('case_number') or 'not given'}), "
            f"occurred {when}.")
    if r["change"] == "added":
        text += f" {r.get('after') or ''}"
    else:
        text += f" Changed {r.get('changed_fields')}: {r.get('before')} → {r.get('after')}."
    text += f" Between runs {r['from_run_id']} and {r['to_run_id']}."
    ET.SubElement(e, f"{{{ATOM}}}summary", type="text").text = _clean(text)
    day = r["occurred_at"].strftime("%Y-%m-%d") if r.get("occurred_at") else None
    state = (f"from={day}&to={day}&" if day else "") + "inc=" + quote(str(r["source_id"]), safe="")
    ET.SubElement(e, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=f"{explorer_href}#{state}")


def _feed(path: Path, *, feed_id: str, title: str, rows: list[dict], city: str, city_title: str,
          explorer_rel: str, alternate: str) -> None:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _clean(title)
    rows = sorted(rows, key=lambda r: (_iso(r.get("seen_at")), str(r["source_id"]), r["change"]),
                  reverse=True)[:MAX_ENTRIES]
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = (_iso(rows[0].get("seen_at")) if rows
                                                      else _iso(datetime.now(UTC)))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = _clean(f"civicmash · {city_title}")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=path.name)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=alternate)
    ET.SubElement(feed, f"{{{ATOM}}}generator").text = "civicmash"
    for r in rows:
        _entry(feed, r, city=city, explorer_href=explorer_rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(feed).write(path, encoding="utf-8", xml_declaration=True)


def _within(lat: np.ndarray, lon: np.ndarray, plat: float, plon: float, r: float) -> np.ndarray:
    p1, p2 = np.radians(lat), np.radians(plat)
    dp, dl = p2 - p1, np.radians(plon - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(np.minimum(1.0, a))) <= r


def write_feeds(con, *, city: str, out: Path, city_title: str | None = None, areas: dict | None = None,
                run_id: str | None = None, near_categories=explorer.NEAR_CATEGORIES, runs: int = RUNS) -> dict:
    """Write every feed of ``city`` under ``<out>/feeds/<city>/`` (replacing the previous run's) and the OPML
    index; the explorer is ``<out>/maps/<city>/explorer.html``. Returns the counts and the index path."""
    root = Path(out) / "feeds" / city
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    explorer_page = Path(out) / "maps" / city / "explorer.html"
    title = city_title or city
    rows = recent_changes(con, city=city, runs=runs)
    slots = explorer._slots(areas)
    present = sorted(explorer._present_slots(con, city=city, areas=areas))
    _areas_of(con, rows, present)
    hash_keys = {f.key: f.hash_key for f in explorer_filters.FILTERS}
    listed: list[tuple[str, str, str]] = []   # (group, title, relative path)
    incidents = reads.incidents_relation(con)
    have = reads.columns(con, incidents)
    for slot in present:
        kind, label = slots[slot]["kind"], slots[slot]["label"]
        codes = set()
        if reads.has_table(con, "boundaries"):
            codes |= {str(c) for (c,) in con.execute("SELECT DISTINCT code FROM boundaries WHERE city = ? AND kind = ? "
                                                     "AND code IS NOT NULL", [city, kind]).fetchall()}
        if slot in have:
            codes |= {str(c) for (c,) in con.execute(f"SELECT DISTINCT CAST({slot} AS VARCHAR) FROM {incidents} "
                                                     f"WHERE city = ? AND {slot} IS NOT NULL", [city]).fetchall()}
        by_code: dict[str, list[dict]] = {}
        for r in rows:
            v = r["areas"].get(slot)
            if v is not None:
                by_code.setdefault(str(v), []).append(r)
        for code in sorted(codes):
            path = root / _safe_name(kind) / f"{_safe_name(code)}.xml"
            rel = os.path.relpath(explorer_page, path.parent).replace(os.sep, "/")
            _feed(path, feed_id=f"urn:civicmash:feed:{quote(city, safe='')}:{quote(kind, safe='')}:{quote(code, safe='')}",
                  title=f"{title}: new and reclassified incidents, {label} {code}", rows=by_code.get(code, []),
                  city=city, city_title=title, explorer_rel=rel,
                  alternate=f"{rel}#{hash_keys[slot]}={quote(code, safe='')}")
            listed.append((label, f"{label} {code}", path.relative_to(root).as_posix()))
    located = [r for r in rows if r.get("lat") is not None and r.get("lon") is not None]
    lat = np.array([float(r["lat"]) for r in located])
    lon = np.array([float(r["lon"]) for r in located])
    places = explorer._places(con, city=city, categories=tuple(near_categories))
    for p in places:
        inside = [located[k] for k in np.flatnonzero(_within(lat, lon, p["lat"], p["lon"], RADIUS_M))] if located else []
        path = root / "near" / f"{_safe_name(p['cat'])}-{_safe_name(p['id'])}.xml"
        rel = os.path.relpath(explorer_page, path.parent).replace(os.sep, "/")
        _feed(path, feed_id=f"urn:civicmash:feed:{quote(city, safe='')}:near:{quote(p['cat'], safe='')}:"
                            f"{quote(p['id'], safe='')}",
              title=f"{title}: new and reclassified incidents within ½ mile of {p['name']} ({p['cat']})",
              rows=inside, city=city, city_title=title, explorer_rel=rel,
              alternate=f"{rel}#near={quote(p['cat'] + ':' + p['id'], safe='')}&r={RADIUS_M:g}")
        listed.append((f"near a {p['cat']}", f"within ½ mile of {p['name']}", path.relative_to(root).as_posix()))
    index = _opml(root / "index.opml", title=f"{title}: incident alerts (Atom)", feeds=listed)
    return {"feeds": len(listed), "entries": len(rows), "index": str(index), "dir": str(root), "run_id": run_id}


def _opml(path: Path, *, title: str, feeds: list[tuple[str, str, str]]) -> Path:
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = _clean(title)
    body = ET.SubElement(opml, "body")
    groups: dict[str, ET.Element] = {}
    for group, text, rel in feeds:
        if group not in groups:
            groups[group] = ET.SubElement(body, "outline", text=_clean(group))
        ET.SubElement(groups[group], "outline", type="rss", text=_clean(text), title=_clean(text), xmlUrl=rel)
    ET.ElementTree(opml).write(path, encoding="utf-8", xml_declaration=True)
    return path
