"""Alerts without a server: Atom 1.0 feeds of new and reclassified incidents, regenerated each run.

Written under ``<out>/feeds/<city>/`` (docs/maps.md, "Atom feeds"):

* ``<kind>/<code>.xml``: one feed per area of every kind the city fills (the profile's ``[areas]`` slots: the
  boundaries of the slot's kind, or the codes its incidents carry), named by the kind (``<kind>/<code>.xml``);
* ``near/<category>-<id>.xml``: one feed per school and park (the ``services`` of the explorer's "near"
  categories) for incidents within ½ mile (805 m) of it;
* ``index.opml``: every feed, for a feed reader to subscribe to them all or pick some.

An entry is one change of ``warehouse/changes.py`` between two consecutive successful runs of the city (the
latest :data:`RUNS` pairs, the ``incident_changes_by_run`` rows): an incident ``added`` or reclassified
(``type``, ``location``, ``date``, ``other``); removed ones are left out (there is nothing to open). Its id
``urn:civicmash:<city>:<dataset>:<source_id>:<change>:<to_run_id>`` stays the same on every regeneration; its
link opens the explorer on that incident (``#from=<day>&to=<day>&inc=<source_id>``, relative to the feed). Every
portal string is escaped (``xml.sax.saxutils``), with characters XML cannot hold removed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr
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
DIGESTS = ".written.json"   # beside the feeds: each feed's content digest as last written
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


def _el(name: str, text: str | None, **attrs: str) -> str:
    """One Atom element as XML text: ``text`` and attribute values escaped (after :func:`_clean`)."""
    attributes = "".join(f" {k}={quoteattr(_clean(v))}" for k, v in attrs.items())
    return f"<{name}{attributes}>{escape(_clean(text))}</{name}>" if text is not None else f"<{name}{attributes} />"


def _entry(r: dict, *, city: str, explorer_href: str) -> str:
    """The ``<entry>`` of one change (XML text: the same text in every feed that carries it)."""
    ident = ":".join(quote(_clean(x), safe="") for x in (city, r["dataset"], r["source_id"], r["change"],
                                                             r["to_run_id"]))
    where = f" at {r['block']}" if r.get("block") else ""
    when = r["occurred_at"].strftime("%Y-%m-%d %H:%M") if r.get("occurred_at") else "date not given"
    text = (f"{_WORDS[r['change']]} incident {r['source_id']} (case {r.get('case_number') or 'not given'}), "
            f"occurred {when}.")
    if r["change"] == "added":
        text += f" {r.get('after') or ''}"
    else:
        text += f" Changed {r.get('changed_fields')}: {r.get('before')} → {r.get('after')}."
    text += f" Between runs {r['from_run_id']} and {r['to_run_id']}."
    day = r["occurred_at"].strftime("%Y-%m-%d") if r.get("occurred_at") else None
    state = (f"from={day}&to={day}&" if day else "") + "inc=" + quote(str(r["source_id"]), safe="")
    return ("<entry>" + _el("id", "urn:civicmash:" + ident)
            + _el("title", f"{_WORDS[r['change']]}: {r.get('primary_type') or 'incident'}{where}")
            + _el("updated", _iso(r.get("seen_at"))) + _el("summary", text, type="text")
            + _el("link", None, rel="alternate", type="text/html", href=f"{explorer_href}#{state}") + "</entry>")


def _feed(path: Path, *, feed_id: str, title: str, rows: list[dict], city: str, city_title: str,
          explorer_rel: str, alternate: str, entries: dict[tuple[int, str], str] | None = None,
          written: dict[str, str] | None = None, marks: dict[str, str] | None = None) -> None:
    """Write one feed. ``entries``: the entries' XML already
    made, by (id of the row, explorer link): a change that is in many feeds is written out once. ``written``: the
    digests of the feeds' content but ``<updated>`` as last written: a feed whose content is unchanged is not
    rewritten (its ``<updated>`` stays the time of its last change, as Atom means it); ``marks``: gets this feed's."""
    entries = {} if entries is None else entries
    rows = sorted(rows, key=lambda r: (_iso(r.get("seen_at")), str(r["source_id"]), r["change"]),
                  reverse=True)[:MAX_ENTRIES]
    parts = [f"<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns=\"{ATOM}\">", _el("id", feed_id),
             _el("title", title), _el("updated", _iso(rows[0].get("seen_at")) if rows else _iso(datetime.now(UTC))),
             "<author>" + _el("name", f"civicmash · {city_title}") + "</author>",
             _el("link", None, rel="self", type="application/atom+xml", href=path.name),
             _el("link", None, rel="alternate", type="text/html", href=alternate), _el("generator", "civicmash")]
    for r in rows:
        key = (id(r), explorer_rel)
        if key not in entries:
            entries[key] = _entry(r, city=city, explorer_href=explorer_rel)
        parts.append(entries[key])
    parts.append("</feed>")
    body = "".join(parts[:3] + parts[4:])   # all but <updated>: the same body is the same feed, left as written
    key, mark = f"{path.parent.name}/{path.name}", hashlib.sha256(body.encode()).hexdigest()
    if marks is not None:
        marks[key] = mark
    if (written or {}).get(key) == mark and path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")


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
    old_files = {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    root.mkdir(parents=True, exist_ok=True)
    entries: dict[tuple[int, str], str] = {}
    marks_file = root / DIGESTS
    try:
        written = json.loads(marks_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        written = {}
    marks: dict[str, str] = {}
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
                  alternate=f"{rel}#{hash_keys[slot]}={quote(code, safe='')}", entries=entries,
                  written=written, marks=marks)
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
              alternate=f"{rel}#near={quote(p['cat'] + ':' + p['id'], safe='')}&r={RADIUS_M:g}", entries=entries,
              written=written, marks=marks)
        listed.append((f"near a {p['cat']}", f"within ½ mile of {p['name']}", path.relative_to(root).as_posix()))
    index = _opml(root / "index.opml", title=f"{title}: incident alerts (Atom)", feeds=listed)
    marks_file.write_text(json.dumps(marks, sort_keys=True), encoding="utf-8")
    for stale in old_files - {root / rel for _, _, rel in listed} - {index, marks_file}:   # areas or places gone
        stale.unlink()
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
