"""OpenStreetMap street segments from OSM XML, Overpass JSON or PBF (through pyrosm when installed).

Every way with a ``highway`` tag becomes one segment record per consecutive pair of nodes that have
coordinates. A node reference without coordinates (a clipped extract) is dropped and counted in
``meta["dangling_refs"]``; the way is split there and continues after it. Nothing is filtered for
walkability here: the tags are kept and the warehouse decides.
"""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, Iterable, Iterator

import requests
from pydantic import Field

from civicmash.connectors.files import SEGMENT_KEYS, local_file
from civicmash.connectors.protocol import FetchRequest, Protocol, ProtocolOptions
from civicmash.connectors.pages import Page, batch_pages, page_meta

FORMATS = ("osm-xml", "overpass-json", "pbf")
TAG_KEYS = ("highway", "name", "lit", "foot", "access", "oneway", "sidewalk")

Coords = Callable[[int], "tuple[float, float] | None"]   # node id -> (lon, lat) or None


def iter_pages(url_or_path: str | os.PathLike, *, fmt: str, page_size: int = 50000,
               dataset_name: str | None = None, session: requests.Session | None = None) -> Iterator[Page]:
    """Yield street segment records (see the module doc) in pages; ``meta["crs"] = "EPSG:4326"``."""
    if fmt not in FORMATS:
        raise ValueError(f"osm format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return _pages(str(url_or_path), fmt, page_size, dataset_name or str(url_or_path), session)


def _pages(source: str, fmt: str, page_size: int, name: str, session) -> Iterator[Page]:
    with local_file(source, dataset=name, session=session) as path:
        meta = {"format": fmt, "source": source, "crs": "EPSG:4326", "dangling_refs": 0, "ways": 0}
        segments = _READERS[fmt](path, meta)
        yield from batch_pages(segments, page_size=page_size, url=source,
                               meta=lambda: page_meta(meta, ("dangling_refs", "ways")))


def _way_segments(way_id: int, refs: Iterable[int], tags: dict, coords: Coords, meta: dict) -> Iterator[dict]:
    """Segments of one way; nothing for ways without a ``highway`` tag."""
    if "highway" not in tags:
        return
    meta["ways"] += 1
    base = {k: tags.get(k) for k in TAG_KEYS}
    prev = None
    for ref in refs:
        xy = coords(ref)
        if xy is None:
            meta["dangling_refs"] += 1
            prev = None
            continue
        if prev is not None:
            record = dict.fromkeys(SEGMENT_KEYS)
            record.update(base, u=prev[0], v=ref, u_x=prev[1][0], u_y=prev[1][1], v_x=xy[0], v_y=xy[1],
                          way_id=way_id)
            yield record
        prev = (ref, xy)


def _read_osm_xml(path: Path, meta: dict) -> Iterator[dict]:
    """Stream an OSM XML file: nodes are remembered, ways are turned into segments as they end."""
    nodes: dict[int, tuple[float, float]] = {}
    refs: list[int] = []
    tags: dict[str, str] = {}
    root = None
    for event, elem in ET.iterparse(path, events=("start", "end")):
        if root is None:
            root = elem
        if event == "start":
            continue
        tag = elem.tag
        if tag == "nd":
            refs.append(int(elem.get("ref")))
        elif tag == "tag":
            tags[elem.get("k")] = elem.get("v")
        elif tag == "node":
            if elem.get("lat") is not None and elem.get("lon") is not None:
                nodes[int(elem.get("id"))] = (float(elem.get("lon")), float(elem.get("lat")))
        elif tag == "way":
            yield from _way_segments(int(elem.get("id")), refs, tags, nodes.get, meta)
        if tag in ("node", "way", "relation"):
            refs, tags = [], {}
            root.clear()          # keep memory flat: processed elements are not needed again


def _read_overpass_json(path: Path, meta: dict) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        elements = json.load(fh).get("elements") or []
    nodes = {e["id"]: (float(e["lon"]), float(e["lat"]))
             for e in elements if e.get("type") == "node" and "lat" in e and "lon" in e}
    for way in elements:
        if way.get("type") != "way":
            continue
        refs = way.get("nodes") or []
        coords: Coords = nodes.get
        geometry = way.get("geometry")    # "out geom" gives coordinates inline, aligned with refs
        if geometry and len(geometry) == len(refs):
            inline = {r: (float(g["lon"]), float(g["lat"])) for r, g in zip(refs, geometry) if g}
            coords = lambda ref, inline=inline: nodes.get(ref) or inline.get(ref)  # noqa: E731
        yield from _way_segments(int(way["id"]), refs, way.get("tags") or {}, coords, meta)


def _read_pbf(path: Path, meta: dict) -> Iterator[dict]:
    """PBF through pyrosm (its "all" network, split per node pair). pyrosm does not report dangling refs."""
    try:
        from pyrosm import OSM
    except ImportError:
        raise RuntimeError("reading .osm.pbf needs the optional package pyrosm (pip install pyrosm); "
                           "or convert the extract to OSM XML") from None
    meta["dangling_refs"] = meta["ways"] = None
    _, edges = OSM(str(path)).get_network(network_type="all", nodes=True,
                                          extra_attributes=[k for k in TAG_KEYS if k not in ("highway", "name")])
    for row in edges.itertuples(index=False):
        (u_x, u_y), (v_x, v_y) = row.geometry.coords[0], row.geometry.coords[-1]
        record = dict.fromkeys(SEGMENT_KEYS)
        record.update({k: _tag(getattr(row, k, None)) for k in TAG_KEYS},
                      u=int(row.u), v=int(row.v), u_x=u_x, u_y=u_y, v_x=v_x, v_y=v_y, way_id=int(row.id))
        yield record


def _tag(value):
    return None if value is None or value != value else str(value)   # NaN -> None


_READERS = {"osm-xml": _read_osm_xml, "overpass-json": _read_overpass_json, "pbf": _read_pbf}


# --- declaration: what the rest of civicmash knows of this protocol (connectors/protocol.py) ------------

class OsmOptions(ProtocolOptions):
    """Options of an ``osm`` dataset (an OpenStreetMap extract at ``url``, or ``replay`` offline)."""

    page_size: int = Field(50_000, ge=1, description="street segments per landed page", examples=[50_000])


def _fetch(request: FetchRequest) -> Iterator[Page]:
    o: OsmOptions = request.options  # type: ignore[assignment]
    return iter_pages(request.location, fmt=request.format, page_size=o.page_size, dataset_name=request.dataset,
                      session=request.session)


PROTOCOL = Protocol(
    name="osm", summary="OpenStreetMap extract (OSM XML, Overpass JSON or PBF) read into street segments",
    formats=FORMATS, addressing="file", options=OsmOptions, fetch=_fetch)
