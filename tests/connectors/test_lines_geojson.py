"""``lines-geojson`` (street centrelines): bad vertices are an error naming dataset and feature; unreadable
published lengths and one-vertex parts are counted, not silently dropped."""
from __future__ import annotations

import json

import pytest

from civicmash.connectors import files


def _write(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _line(coords, **props):
    return {"type": "Feature", "properties": props, "geometry": {"type": "MultiLineString", "coordinates": coords}}


def test_counts_unreadable_lengths_and_short_parts(tmp_path):
    src = _write(tmp_path / "c.geojson", [
        _line([[[-87.60, 41.80], [-87.60, 41.81]], [[-87.61, 41.80]]], len="n/a"),   # a one-vertex part
        _line([[[-87.62, 41.80], [-87.62, 41.81]]], len="3650"),
    ])
    pages = list(files.iter_pages(src, fmt="lines-geojson", dataset_name="centrelines",
                                  options={"length_field": "len", "length_unit": "ft"}))
    meta = pages[-1].meta
    assert sum(p.row_count for p in pages) == 2
    assert (meta["length_unparsed"], meta["length_checked"], meta["short_parts"]) == (1, 1, 1)


def test_a_vertex_that_is_not_numbers_names_dataset_and_feature(tmp_path):
    src = _write(tmp_path / "c.geojson", [_line([[[-87.60, 41.80], [-87.60, 41.81]]]),
                                          _line([[[-87.62, 41.80], ["x", 41.81]]])])
    with pytest.raises(ValueError, match=r"dataset 'centrelines': feature 2: vertex \['x', 41.81\]"):
        list(files.iter_pages(src, fmt="lines-geojson", dataset_name="centrelines", options={}))
