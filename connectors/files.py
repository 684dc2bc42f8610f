"""Whole-file sources (local path or http(s) URL): csv, geojson, json and edgelist street graphs."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urljoin

import requests

from connectors import http
from connectors.pages import Page, batch_pages, feature_record, flat_record, page_meta, unique_names

FORMATS = ("csv", "geojson", "json", "edgelist")
SEGMENT_KEYS = ("u", "v", "u_x", "u_y", "v_x", "v_y", "way_id", "highway", "name", "lit", "foot", "access",
                "oneway", "sidewalk")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # WKT cells in park exports exceed the 131,072 default


def iter_pages(url_or_path: str | os.PathLike, *, fmt: str, page_size: int = 50000, options: dict | None = None,
               dataset_name: str | None = None, session: requests.Session | None = None) -> Iterator[Page]:
    """Yield the records of one file in pages of ``page_size``.

    csv: empty cells -> None, BOM dropped, CRLF and ``\\r\\r\\n`` endings, quoted multi-line cells.
    geojson: properties + ``_geometry``; a legacy ``crs`` member goes to ``meta["crs"]``.
    json: an array of objects, or the first list of objects inside an object.
    edgelist: ``options["vertices"]`` / ``options["edges"]`` name headerless CSVs relative to
    ``url_or_path`` (a directory or URL base); records are street segments, ``meta["crs"] = options["crs"]``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"file format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    options = dict(options or {})
    name = dataset_name or str(url_or_path)
    if fmt == "edgelist":
        return _edgelist_pages(str(url_or_path), options, page_size, name, session)
    return _file_pages(str(url_or_path), fmt, page_size, name, session)


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


def _file_pages(source: str, fmt: str, page_size: int, name: str, session) -> Iterator[Page]:
    with local_file(source, dataset=name, session=session) as path:
        meta: dict = {"format": fmt, "source": source}
        records = _READERS[fmt](path, meta)
        yield from batch_pages(records, page_size=page_size, url=source, meta=lambda: page_meta(meta))


def _read_csv(path: Path, meta: dict) -> Iterator[dict]:
    meta["ragged_rows"] = 0
    with open(path, encoding="utf-8-sig", newline="") as fh:
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
    with open(path, encoding="utf-8-sig") as fh:
        doc = json.load(fh)
    if "crs" in doc:
        meta["legacy_crs"] = doc["crs"]
    meta["crs"] = "EPSG:4326"
    features = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    return (feature_record(f) for f in features or [])


def _read_json(path: Path, meta: dict) -> Iterator[dict]:
    with open(path, encoding="utf-8-sig") as fh:
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
    return (flat_record(row) for row in doc if isinstance(row, dict))


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


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))
