"""Whole-file sources (local path or http(s) URL): csv, geojson, json, edgelist street graphs, and
shapefile (zip), GeoPackage and (Geo)Parquet (through ``connectors._vector``)."""
from __future__ import annotations

import codecs
import contextlib
import csv
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests
from pydantic import Field, field_validator

import civicmash.connectors.http as http
from civicmash.connectors.protocol import FetchRequest, Protocol, ProtocolOptions
from civicmash.connectors._vector import VECTOR_FORMATS, VectorFileError, vector_pages
from civicmash.connectors.pages import (
    Page,
    batch_pages,
    feature_record,
    features_of,
    flat_record,
    page_meta,
    unique_names,
)

TEXT_FORMATS = ("csv", "geojson", "json")   # read with options.encoding
FORMATS = TEXT_FORMATS + ("edgelist", "lines-geojson") + VECTOR_FORMATS
SEGMENT_KEYS = ("u", "v", "u_x", "u_y", "v_x", "v_y", "way_id", "highway", "name", "lit", "foot", "access",
                "oneway", "sidewalk")
ADDRESS_SIDES = ("from_left", "to_left", "from_right", "to_right")   # lines-geojson `address_fields` keys

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # WKT cells in park exports exceed the 131,072 default


def iter_pages(url_or_path: str | os.PathLike, *, fmt: str, page_size: int = 50000, options: dict | None = None,
               dataset_name: str | None = None, session: requests.Session | None = None) -> Iterator[Page]:
    """Yield the records of one file in pages of ``page_size``.

    csv: empty cells -> None, BOM dropped, CRLF and ``\\r\\r\\n`` endings, quoted multi-line cells.
    csv, geojson, json: ``options["encoding"]`` names the text encoding (default UTF-8, a BOM tolerated); a
    file that is not valid in it raises :class:`FileEncodingError` naming the dataset, the byte offset, the
    line and the option to set.
    geojson: properties + ``_geometry``; a legacy ``crs`` member goes to ``meta["crs"]``.
    json: an array of objects, or the first list of objects inside an object.
    edgelist: ``options["vertices"]`` / ``options["edges"]`` name headerless CSVs relative to
    ``url_or_path`` (a directory or URL base); records are street segments, ``meta["crs"] = options["crs"]``.
    lines-geojson: street centre lines (LineString/MultiLineString features without node ids, e.g. a city's
    street centreline export) -> street segments, one per pair of consecutive vertices; vertices are matched
    into nodes by their coordinates (see :func:`_lines_pages` for ``options``).
    shapefile (a .zip, or a .shp: a local one with its sidecars beside it, or a URL whose ``.shx``/``.dbf``
    and, when present, ``.prj``/``.cpg`` are fetched next to it), geopackage, parquet: columnar pages with
    ``_geometry`` as GeoJSON in WGS84 (see ``connectors._vector``; ``options`` ``layer``, ``crs``, ``geometry``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"file format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    options = dict(options or {})
    name = dataset_name or str(url_or_path)
    if fmt == "edgelist":
        return _edgelist_pages(str(url_or_path), options, page_size, name, session)
    if fmt == "lines-geojson":
        return _lines_pages(str(url_or_path), options, page_size, name, session)
    if fmt in VECTOR_FORMATS:
        return _vector_file_pages(str(url_or_path), fmt, options, page_size, name, session)
    return _file_pages(str(url_or_path), fmt, page_size, name, session, encoding=options.get("encoding"))


@contextlib.contextmanager
def local_file(url_or_path: str, *, dataset: str | None = None,
               session: requests.Session | None = None) -> Iterator[Path]:
    """A local path for ``url_or_path``: the path itself, or a temporary download that is removed after."""
    if not _is_url(url_or_path):
        path = Path(url_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"dataset {dataset}: no such file {path}")
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix="civicmash-", suffix=Path(url_or_path.split("?")[0]).suffix)
    os.close(fd)
    try:
        yield http.download(url_or_path, Path(tmp), session=session, dataset=dataset)
    finally:
        os.unlink(tmp)


def _file_pages(source: str, fmt: str, page_size: int, name: str, session, *,
                encoding: str | None = None) -> Iterator[Page]:
    codec = text_encoding(encoding)
    with local_file(source, dataset=name, session=session) as path:
        meta: dict = {"format": fmt, "source": source, "encoding": codec}
        try:   # geojson/json decode on the first call, csv while it is read
            records = _READERS[fmt](path, meta)
            yield from batch_pages(records, page_size=page_size, url=source, meta=lambda: page_meta(meta))
        except UnicodeDecodeError as exc:
            raise FileEncodingError(_encoding_problem(path, codec, name=name, source=source, exc=exc)) from None


# --- text encodings ---------------------------------------------------------------------------------

DEFAULT_ENCODING = "utf-8"


class FileEncodingError(ValueError):
    """A text file that is not valid in the encoding the profile gives (default UTF-8); the message names the
    dataset, the file, the byte offset and line of the first bad byte, and ``options.encoding``."""


def text_encoding(encoding: str | None) -> str:
    """The Python codec to read a text file with: ``encoding`` (default UTF-8), with a UTF-8 BOM tolerated
    (``utf-8`` -> ``utf-8-sig``); an unknown name is a ``ValueError``."""
    try:
        name = codecs.lookup(encoding or DEFAULT_ENCODING).name
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r} (e.g. 'utf-8', 'latin-1', 'cp1252')") from None
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


def _encoding_problem(path: Path, codec: str, *, name: str, source: str, exc: UnicodeDecodeError) -> str:
    """Where the first byte that ``codec`` cannot decode is (found by decoding the file again line by line,
    since the reader's error only knows its buffer) and what to set."""
    decoder, offset, line = codecs.getincrementaldecoder(codec)(), 0, 1
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as bad:
                offset += bad.start
                sample = raw[max(bad.start - 20, 0):bad.end + 20]
                where = f"byte {offset} (line {line}, near {sample!r})"
                break
            offset += len(raw)
            line += 1
        else:
            where = f"byte {exc.start} of a read buffer"
    shown = "utf-8" if codec == "utf-8-sig" else codec
    return (f"dataset {name}: {Path(source).name} is not valid {shown} text at {where}: {exc.reason}; set "
            f"options.encoding to the file's encoding (e.g. 'latin-1' or 'cp1252' for Western European files)")


# --- shapefiles over HTTP: the .shp and its sidecars ---------------------------------------------------

SHAPEFILE_REQUIRED = (".shx", ".dbf")
SHAPEFILE_OPTIONAL = (".prj", ".cpg")


def _vector_file_pages(source: str, fmt: str, options: dict, page_size: int, name: str, session) -> Iterator[Page]:
    if fmt == "shapefile" and _is_url(source) and _url_suffix(source) == ".shp":
        with _fetched_shapefile(source, dataset=name, session=session) as path:
            yield from vector_pages(path, fmt=fmt, options=options, page_size=page_size, name=name, url=source)
        return
    with local_file(source, dataset=name, session=session) as path:
        yield from vector_pages(path, fmt=fmt, options=options, page_size=page_size, name=name, url=source)


def _url_suffix(url: str) -> str:
    return Path(unquote(urlsplit(url).path)).suffix.lower()


def _sidecar_url(url: str, suffix: str) -> str:
    """The URL of the file beside ``url``'s ``.shp`` with ``suffix`` (same case as the ``.shp``'s)."""
    parts = urlsplit(url)
    stem = parts.path[:-4]
    suffix = suffix.upper() if parts.path[-4:].isupper() else suffix
    return urlunsplit(parts._replace(path=stem + suffix))


@contextlib.contextmanager
def _fetched_shapefile(url: str, *, dataset: str, session: requests.Session | None) -> Iterator[Path]:
    """Download a ``.shp`` and its sidecars into one temporary folder (removed after) and give the local .shp.

    A ``.shp`` alone cannot be read (DuckDB spatial crashes the process on one), so ``.shx`` and ``.dbf`` are
    required: one the server does not have (HTTP 4xx) raises :class:`VectorFileError` naming the dataset and
    the missing file. ``.prj`` and ``.cpg`` are fetched when the server has them."""
    stem = Path(unquote(urlsplit(url).path)).stem or "layer"
    with tempfile.TemporaryDirectory(prefix="civicmash-shp-") as folder:
        shp = Path(folder) / f"{stem}.shp"
        http.download(url, shp, session=session, dataset=dataset)
        for suffix in SHAPEFILE_REQUIRED + SHAPEFILE_OPTIONAL:
            sidecar = _sidecar_url(url, suffix)
            try:
                http.download(sidecar, Path(folder) / f"{stem}{suffix}", session=session, dataset=dataset)
            except http.FetchError as exc:
                (Path(folder) / f"{stem}{suffix}").unlink(missing_ok=True)
                if exc.status is None or not 400 <= exc.status < 500:
                    raise
                if suffix in SHAPEFILE_REQUIRED:
                    raise VectorFileError(
                        f"dataset {dataset}: the shapefile {Path(unquote(urlsplit(url).path)).name} needs its "
                        f"{suffix} beside it, and {sidecar} answered HTTP {exc.status}: publish the {suffix} next "
                        f"to the .shp, or point url at a .zip holding .shp, .shx, .dbf and .prj") from None
        yield shp


def _read_csv(path: Path, meta: dict) -> Iterator[dict]:
    meta["ragged_rows"] = 0
    with open(path, encoding=meta.get("encoding", "utf-8-sig"), newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return
        columns = unique_names(header)
        meta["columns"] = columns
        if columns != header:
            meta["renamed_columns"] = {c: h for c, h in zip(columns, header) if c != h}
        width = len(columns)
        for row in reader:
            if not row:              # blank line (e.g. the empty line inside "\r\r\n")
                continue
            record = {c: (v if v != "" else None) for c, v in zip(columns, row)}
            if len(row) != width:
                meta["ragged_rows"] += 1
                for c in columns[len(row):]:
                    record[c] = None
                if len(row) > width:
                    record["_extra"] = json.dumps(row[width:], ensure_ascii=False)
            yield record


def _read_geojson(path: Path, meta: dict) -> Iterator[dict]:
    with open(path, encoding=meta.get("encoding", "utf-8-sig")) as fh:
        doc = json.load(fh)
    if "crs" in doc:
        meta["legacy_crs"] = doc["crs"]
    meta["crs"] = "EPSG:4326"
    return (feature_record(f) for f in features_of(doc, single=True, source=str(path)))


def _read_json(path: Path, meta: dict) -> Iterator[dict]:
    with open(path, encoding=meta.get("encoding", "utf-8-sig")) as fh:
        doc = json.load(fh)
    if isinstance(doc, dict):
        key = next((k for k, v in doc.items()
                    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)), None)
        if key is None:
            raise ValueError(f"{path}: no list of objects in this JSON document")
        meta["records_key"] = key
        doc = doc[key]
    if not isinstance(doc, list):
        raise ValueError(f"{path}: expected a JSON array of objects, got {type(doc).__name__}")
    bad = next((n for n, row in enumerate(doc, 1) if not isinstance(row, dict)), None)
    if bad is not None:
        raise ValueError(f"{path}: record {bad} is a {type(doc[bad - 1]).__name__}, not an object")
    return (flat_record(row) for row in doc)


_READERS: dict[str, Callable[[Path, dict], Iterator[dict]]] = {
    "csv": _read_csv, "geojson": _read_geojson, "json": _read_json}


# --- edgelist: a street graph as two headerless CSVs -----------------------------------------------

def _edgelist_pages(base: str, options: dict, page_size: int, name: str, session) -> Iterator[Page]:
    for key in ("vertices", "edges"):
        if not options.get(key):
            raise ValueError(f"dataset {name}: edgelist needs options[{key!r}] (a file name)")
    vertices_src, edges_src = (_resolve(base, options[k]) for k in ("vertices", "edges"))
    with local_file(vertices_src, dataset=name, session=session) as path:
        vertices = _read_vertices(path)
    meta = {"format": "edgelist", "source": edges_src, "vertices": len(vertices), "dangling_refs": 0,
            "crs": options.get("crs")}
    with local_file(edges_src, dataset=name, session=session) as path:
        segments = _edge_segments(path, vertices, meta)
        yield from batch_pages(segments, page_size=page_size, url=edges_src, meta=lambda: page_meta(meta))


def _resolve(base: str, name: str) -> str:
    if _is_url(base):  # a file URL resolves siblings, a URL ending in "/" is a folder
        return urljoin(base, name)
    root = Path(base)
    return str((root if root.is_dir() else root.parent) / name)


def _read_vertices(path: Path) -> dict[int, tuple[float, float]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {int(r[0]): (float(r[1]), float(r[2])) for r in csv.reader(fh) if r}


def _edge_segments(path: Path, vertices: dict, meta: dict) -> Iterator[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.reader(fh):
            if not row:
                continue
            edge_id, u, v = int(row[0]), int(row[1]), int(row[2])
            if u not in vertices or v not in vertices:
                meta["dangling_refs"] += (u not in vertices) + (v not in vertices)
                continue
            record = dict.fromkeys(SEGMENT_KEYS)
            record.update(u=u, v=v, u_x=vertices[u][0], u_y=vertices[u][1], v_x=vertices[v][0],
                          v_y=vertices[v][1], edge_id=edge_id, flag=row[3] if len(row) > 3 else None)
            yield record


# --- lines-geojson: street centre lines without node ids -------------------------------------------

LENGTH_UNITS = {"m": 1.0, "metre": 1.0, "meter": 1.0, "km": 1000.0, "ft": 0.3048, "foot": 0.3048, "feet": 0.3048,
                "us-ft": 1200 / 3937, "mi": 1609.344}
LENGTH_TOLERANCE = 0.02   # a feature whose length field and geometry differ by more is counted in meta


def _lines_pages(base: str, options: dict, page_size: int, name: str, session) -> Iterator[Page]:
    """Street segments from GeoJSON line features (see ``iter_pages``); ``meta["crs"] = "EPSG:4326"``.

    ``options``: ``files`` (names relative to ``base``, a file or folder/URL base, read in order as one network;
    default ``base`` itself), ``decimals`` (6: vertices whose coordinates agree to this many decimals of a
    degree, ~0.1 m, are one node), ``name_fields`` (properties joined with spaces into ``name``, e.g.
    ``["pre_dir", "street_nam", "street_typ"]``), ``highway_field`` + ``highway_map`` (a property and the
    ``highway`` word per value; an unmapped value is kept as published), ``length_field`` + ``length_unit``
    (``ft``, ``m``...: checked against the geometry, which gives the lengths; ``meta["length_checked"]``,
    ``meta["length_mismatch"]`` count features and those differing by more than 2 %).
    Node ids are 1, 2, ... in order of first appearance; ``way_id`` is the feature's number (1-based, over
    all files). A feature without a line geometry becomes one record without nodes or coordinates (the
    warehouse quarantines it as ``missing_geometry``); a repeated vertex (same node twice in a row) is skipped
    and counted in ``meta["repeated_vertices"]``, a one-vertex part in ``meta["short_parts"]``, an unreadable
    published length in ``meta["length_unparsed"]``; a vertex that is not a pair of numbers is a ``ValueError``.
    """
    files = options.get("files") or [None]
    unit = options.get("length_unit", "m")
    if options.get("length_field") and unit not in LENGTH_UNITS:
        raise ValueError(f"dataset {name}: length_unit {unit!r} is not one of {', '.join(LENGTH_UNITS)}")
    meta = {"format": "lines-geojson", "source": base, "crs": "EPSG:4326", "features": 0, "repeated_vertices": 0,
            "length_checked": 0, "length_mismatch": 0, "length_unparsed": 0, "short_parts": 0, "nodes": 0}
    nodes: dict[tuple[int, int], int] = {}

    def segments() -> Iterator[dict]:
        number = 0
        for fname in files:
            src = base if fname is None else _resolve(base, fname)
            with local_file(src, dataset=name, session=session) as path:
                with open(path, encoding="utf-8-sig") as fh:
                    doc = json.load(fh)
            for feature in features_of(doc, single=True, source=f"dataset {name}: {path}"):
                number += 1
                meta["features"] += 1
                yield from _line_segments(feature, number, nodes, options, unit, meta, dataset=name)
        meta["nodes"] = len(nodes)

    yield from batch_pages(segments(), page_size=page_size, url=base,
                           meta=lambda: page_meta(meta, ("features", "repeated_vertices", "length_checked",
                                                         "length_mismatch", "length_unparsed", "short_parts")))


def _line_segments(feature: dict, number: int, nodes: dict, options: dict, unit: str, meta: dict, *,
                   dataset: str | None = None) -> Iterator[dict]:
    props = feature.get("properties") or {}
    geometry = feature.get("geometry") or {}
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    parts = [coords] if kind == "LineString" else coords if kind == "MultiLineString" else []
    base = dict.fromkeys(SEGMENT_KEYS)
    words = [str(props[f]).strip() for f in options.get("name_fields") or [] if props.get(f) not in (None, "")]
    base.update(way_id=number, name=" ".join(w for w in words if w) or None)
    if options.get("highway_field"):
        value = props.get(options["highway_field"])
        value = None if value is None else str(value)
        base["highway"] = (options.get("highway_map") or {}).get(value, value)
    for part in parts:
        for vertex in part:
            if not (isinstance(vertex, (list, tuple)) and len(vertex) >= 2
                    and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in vertex[:2])):
                raise ValueError(f"dataset {dataset!r}: feature {number}: vertex {vertex!r} is not a pair of numbers")
    meta["short_parts"] += sum(1 for p in parts if len(p) < 2)   # a part of one vertex draws no segment
    parts = [p for p in parts if len(p) >= 2]
    if not parts:
        yield base          # no line: the warehouse quarantines it (missing_geometry)
        return
    scale = 10 ** int(options.get("decimals", 6))
    geodesic = 0.0
    records = []
    for part in parts:
        prev = None
        for x, y, *_ in part:
            key = (round(x * scale), round(y * scale))
            node = nodes.setdefault(key, len(nodes) + 1)
            if prev is not None:
                if node == prev[0]:
                    meta["repeated_vertices"] += 1
                    continue
                step = haversine_m(prev[1], prev[2], x, y)
                record = dict(base)
                record.update(u=prev[0], v=node, u_x=prev[1], u_y=prev[2], v_x=x, v_y=y)
                records.append((record, geodesic, geodesic + step))
                geodesic += step
            prev = (node, x, y)
    yield from _with_address_ranges(records, props, options.get("address_fields"), geodesic)
    published = props.get(options.get("length_field")) if options.get("length_field") else None
    try:
        published = float(published) * LENGTH_UNITS[unit] if published not in (None, "") else None
    except (TypeError, ValueError):
        meta["length_unparsed"] += 1   # counted, not compared: the geometry gives the length anyway
        published = None
    if published:
        meta["length_checked"] += 1
        meta["length_mismatch"] += abs(geodesic / published - 1) > LENGTH_TOLERANCE


def _with_address_ranges(records: list, props: dict, fields: dict | None, total_m: float) -> Iterator[dict]:
    """The feature's segments; with ``address_fields`` (``from_left``/``to_left``/``from_right``/``to_right`` ->
    property), each gets ``addr_<side>``: the feature's published house-number range split along its length, so a
    segment from 30 % to 60 % of a 900-948 feature carries 914.4-928.8 (an unreadable or empty number: None)."""
    for record, start_m, end_m in records:
        if fields:
            f0, f1 = (start_m / total_m, end_m / total_m) if total_m > 0 else (0.0, 1.0)
            for side in ("left", "right"):
                a = _house_number(props.get(fields.get(f"from_{side}")))
                b = _house_number(props.get(fields.get(f"to_{side}")))
                ok = a is not None and b is not None
                record[f"addr_from_{side}"] = a + f0 * (b - a) if ok else None
                record[f"addr_to_{side}"] = a + f1 * (b - a) if ok else None
        yield record


def _house_number(value) -> float | None:
    """A published house number (``901``, ``"901"``); None for empty, zero (NavigateLA's "no range") or text."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def haversine_m(x1: float, y1: float, x2: float, y2: float) -> float:
    """Great-circle distance in metres between two lon/lat points (mean Earth radius, like ST_Distance_Sphere)."""
    p1, p2 = math.radians(y1), math.radians(y2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(x2 - x1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(a, 1.0)))


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


# --- declaration: what the rest of civicmash knows of this protocol (connectors/protocol.py) ------------

class FileOptions(ProtocolOptions):
    """Options of a ``file`` dataset (one file at ``url``, or ``replay`` offline), any format."""

    page_size: int = Field(50_000, ge=1, description="records per landed page (the file is read whole and cut "
                           "into pages)", examples=[50_000])


class TextFileOptions(FileOptions):
    """Options of a ``file`` dataset in a text format: ``csv``, ``geojson`` or ``json``."""

    encoding: str = Field(DEFAULT_ENCODING, description="the file's text encoding, a Python codec name (UTF-8 "
                          "files may start with a BOM); a file not valid in it fails naming the dataset, the byte "
                          "offset and the line", examples=["latin-1", "cp1252"])

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, encoding: str) -> str:
        """An unknown codec would fail the fetch: say so when the profile is read."""
        text_encoding(encoding)
        return encoding


class EdgelistOptions(FileOptions):
    """Options of a ``file`` dataset in format ``edgelist`` (a street graph as two headerless CSVs)."""

    vertices: str = Field(description="the vertices file `id,x,y`, a sibling of `url`/`replay`",
                          examples=["chicago_vertices_osm.txt"])
    edges: str = Field(description="the edges file `id,from,to,flag`, a sibling of `url`/`replay`",
                       examples=["chicago_edges_osm.txt"])
    crs: str | None = Field(None, description="CRS of the vertex coordinates (default EPSG:4326, x = longitude)",
                            examples=["EPSG:32616"])


class LinesGeojsonOptions(FileOptions):
    """Options of a ``file`` dataset in format ``lines-geojson`` (street centre lines without node ids)."""

    files: list[str] | None = Field(None, description="files read in order as one network, siblings of "
                                    "`url`/`replay` (default: that file alone)",
                                    examples=[["arterials.geo.json", "collectors.geo.json"]])
    decimals: int = Field(6, ge=0, le=12, description="vertices agreeing to this many decimals of a degree are "
                          "one node (6: about 0.1 m)", examples=[6])
    name_fields: list[str] | None = Field(None, description="properties joined with spaces into the street name",
                                          examples=[["pre_dir", "street_nam", "street_typ", "suf_dir"]])
    highway_field: str | None = Field(None, description="property holding the road class", examples=["class"])
    highway_map: dict[str, str] | None = Field(None, description="road class value -> `highway` word (unmapped "
                                               "values are kept as published)", examples=[{"2": "arterial"}])
    length_field: str | None = Field(None, description="property with a published length, checked against the "
                                     "geometry (which gives the lengths)", examples=["length"])
    length_unit: str = Field("m", description=f"unit of `length_field`: {', '.join(LENGTH_UNITS)}",
                             examples=["ft"])
    address_fields: dict[str, str] | None = Field(None, description="house-number range properties, keys "
                                                  f"{', '.join(ADDRESS_SIDES)}: split along each feature into the "
                                                  "segments' `addr_*` (typed addresses are interpolated on them)",
                                                  examples=[{"from_left": "ADLF", "to_left": "ADLT",
                                                             "from_right": "ADRF", "to_right": "ADRT"}])

    @field_validator("address_fields")
    @classmethod
    def _address_sides(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v and (bad := sorted(set(v) - set(ADDRESS_SIDES))):
            raise ValueError(f"unknown sides {bad} (known: {', '.join(ADDRESS_SIDES)})")
        return v


class VectorOptions(FileOptions):
    """Options of a ``file`` dataset in format ``shapefile``, ``geopackage`` or ``parquet`` (read by DuckDB)."""

    layer: str | None = Field(None, description="which shapefile of a zip holding several, or which GeoPackage "
                              "table (several without a choice is an error naming them)", examples=["parks"])
    crs: str | None = Field(None, description="the CRS when the file does not state one (a shapefile without "
                            ".prj); a stated CRS that disagrees is an error", examples=["EPSG:3435"])
    geometry: str | None = Field(None, description="(Geo)Parquet: the geometry column (default `geometry` when "
                                 "present)", examples=["geom"])


def _fetch(request: FetchRequest) -> Iterator[Page]:
    o: FileOptions = request.options  # type: ignore[assignment]
    # only what the profile set: every reader applies its own defaults
    return iter_pages(request.location, fmt=request.format, page_size=o.page_size,
                      options=o.model_dump(exclude_unset=True, exclude={"page_size"}),
                      dataset_name=request.dataset, session=request.session)


PROTOCOL = Protocol(
    name="file", summary="one file downloaded from `url` (or a local path), read whole and cut into pages",
    formats=FORMATS, addressing="file", options=FileOptions, fetch=_fetch,
    format_options={"edgelist": EdgelistOptions, "lines-geojson": LinesGeojsonOptions,
                    **{fmt: TextFileOptions for fmt in TEXT_FORMATS},
                    **{fmt: VectorOptions for fmt in VECTOR_FORMATS}})
