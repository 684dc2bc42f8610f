"""The explorer's binary column blob (maps/_packed.py) and its payload decode back to the warehouse's values."""

from __future__ import annotations

import base64
import json
import re
import zlib
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pytest
from civicmash.maps import _packed, explorer
from civicmash.maps.render import page_data

from tests.maps import maps_citydb


def test_columns_round_trip_with_nulls_deltas_and_widths():
    cols = {
        "small": _packed.column(np.array([3, 0, 255, 7])),
        "wide": _packed.column([70_000, None, -5, 2 ** 31]),
        "delta": _packed.column([10, None, 12, 9, None, 4_000_000], nullable=True, delta=True),
        "empty": _packed.column(np.zeros(0, dtype=np.int64)),
    }
    assert [cols[k]["width"] for k in ("small", "wide", "delta")] == [1, 4, 4]
    header, out = _packed.unpack(_packed.pack({"text": "</script>\u2028é"}, cols))
    assert header["text"] == "</script>\u2028é"
    assert out["small"].tolist() == [3, 0, 255, 7]
    assert np.array_equal(out["wide"], [70_000, np.nan, -5, 2 ** 31], equal_nan=True)
    assert np.array_equal(out["delta"], [10, np.nan, 12, 9, np.nan, 4_000_000], equal_nan=True)
    assert len(out["empty"]) == 0


def test_blob_is_base64_deflate_raw_and_refuses_more_than_32_bits():
    blob = _packed.pack({}, {"x": _packed.column(np.arange(1000))})
    raw = zlib.decompress(base64.b64decode(blob["z"]), -15)  # what DecompressionStream("deflate-raw") reads
    assert len(raw) == blob["raw"]
    with pytest.raises(ValueError, match="32 bits"):
        _packed.column([0, 2 ** 33])


def test_explorer_payload_decodes_to_the_incidents(tmp_path):
    con = maps_citydb.make_city(tmp_path / "city.duckdb")
    try:
        blob = explorer._incident_blob(con, city=maps_citydb.CITY, places=[])
        header, cols = _packed.unpack(blob)
        rows = con.execute(
            "SELECT source_id, CAST(floor(epoch(occurred_at) / 60) AS BIGINT), primary_type, description, block, "
            "lat, lon, CAST(community_area AS VARCHAR), arrest FROM incidents WHERE city = ? "
            "AND occurred_at IS NOT NULL ORDER BY occurred_at, source_id", [maps_citydb.CITY]).fetchall()
    finally:
        con.close()
    assert header["n"] == len(rows) > 10
    t = header["t0"] + np.cumsum(cols["dt"])
    place, kind = cols["place"].astype(int), cols["kind"].astype(int)
    ids = header["ids"] if header["ids"] is not None else [str(int(v)) for v in cols["id"]]
    for i, (sid, minute, ptype, desc, block, lat, lon, ca, arrest) in enumerate(rows):
        assert ids[i] == str(sid)
        assert t[i] == minute
        k = kind[i]
        assert header["types"][int(cols["k_type"][k])] == ptype
        assert header["descs"][int(cols["k_desc"][k])] == desc
        assert int(cols["k_flags"][k]) % 3 == (2 if arrest is None else int(arrest))
        p = place[i]
        assert header["blocks"][int(cols["p_block"][p])] == (block or "(no block)")
        assert header["areas"]["community_area"][int(cols["p_community_area"][p])] == (ca or explorer.MISSING)
        if lat is None:
            assert np.isnan(cols["p_lat"][p]) and np.isnan(cols["p_lon"][p])
        else:
            assert abs(header["lat0"] + cols["p_lat"][p] / 1e5 - lat) <= 0.5e-5
            assert abs(header["lon0"] + cols["p_lon"][p] / 1e5 - lon) <= 0.5e-5


def test_street_blob_decodes_to_the_base_map_segments(tmp_path):
    from civicmash.analysis.routing import load_graph
    from civicmash.maps import _payload

    con = maps_citydb.make_city(tmp_path / "city.duckdb")
    try:
        streets = _payload.streets_payload(load_graph(con, maps_citydb.CITY))
    finally:
        con.close()
    assert streets and len(streets["seg"]) > 20
    header, cols = _packed.unpack(explorer._street_blob(streets))
    assert (header["lat0"], header["lon0"]) == (streets["lat0"], streets["lon0"])

    def segments(lat, lon, u, v):
        return sorted(tuple(sorted(((int(lat[a]), int(lon[a])), (int(lat[b]), int(lon[b]))))) for a, b in zip(u, v))

    seg = np.asarray(streets["seg"]).reshape(-1, 2)
    u = cols["s_u"].astype(int)
    assert segments(cols["s_lat"], cols["s_lon"], u, u + cols["s_dv"].astype(int)) == \
        segments(streets["lat"], streets["lon"], seg[:, 0], seg[:, 1])
    assert explorer._street_blob(None) is None


# ---- the declared filter table (maps/explorer_filters.py) drives the controls, the page data and the docs --------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "maps.md"


def test_docs_table_is_the_declared_filters():
    """docs/maps.md holds exactly the table generated from FILTERS: a filter missing from the docs (or a stale
    row) fails. Regenerate with ``python -c "from civicmash.maps.explorer_filters import docs_table;
    print(docs_table())"``."""
    from civicmash.maps.explorer_filters import FILTERS, docs_table

    docs = DOCS.read_text(encoding="utf-8")
    assert docs_table() in docs, "docs/maps.md: the explorer's filter table is stale"
    for f in FILTERS:
        assert f"| `{f.hash_key}=" in docs, f.key


def test_every_declared_filter_has_its_control_and_travels_in_the_page(tmp_path):
    from civicmash.maps import explorer_filters as ef
    from civicmash.maps.render import PageContext

    con = maps_citydb.make_city(tmp_path / "city.duckdb")
    try:
        html = explorer.build(PageContext(con=con, city=maps_citydb.CITY, out_path=tmp_path / "e.html")).read_text()
    finally:
        con.close()
    data = page_data(html)
    assert [f["key"] for f in data["filters"]] == [f.key for f in ef.FILTERS]
    assert [f["hash_key"] for f in data["filters"]] == ["types", "from", "to", "tod", "dow", "beat", "district", "ward",
                                                        "ca", "loc", "arrest", "domestic", "near", "block", "r"]
    assert data["maxRadius"] == explorer.MAX_RADIUS_M == 1609.344 / 2
    assert f'id="f-radius" min="1" max="{explorer.MAX_RADIUS_M}"' in html
    sections = [s for s, _ in ef.SECTIONS]
    for f in ef.FILTERS:
        assert f.section in sections, f.key
        for element in f.control.ids:
            assert f'id="{element}"' in html, (f.key, element)
        labelled = re.search(f'<label for="{re.escape(f.control.ids[0])}"[^>]*>{re.escape(html_escape(f.label))}</label>',
                             html) is not None   # attributes after ``for`` (its message key) allowed
        assert labelled or f.control.kind in ("types", "weekdays"), f.key
    js = (Path(explorer.__file__).with_name("templates") / "explorer_filters.js").read_text(encoding="utf-8")
    assert all(re.search(rf"\bfunction {f.js}\(", js) for f in ef.FILTERS)


def test_declared_sql_predicates_bind_their_parameters(tmp_path):
    """Every declared SQL predicate runs over an incidents table with example values bound as parameters."""
    from civicmash.maps.explorer_filters import FILTERS

    binds = {"types": ["THEFT"], "from": "2018-01-01", "to": "2018-12-31", "tod_from": 1320, "tod_to": 180,
             "dow": [6, 7], "beat": "0421", "district": "1", "ward": "42", "community_area": "32", "loc": "STREET",
             "arrest": True, "domestic": False, "near_lat": 41.88, "near_lon": -87.63, "block_lat": 41.88,
             "block_lon": -87.63, "lat0": 41.6, "lon0": -87.9, "r": 500.0}
    con = maps_citydb.make_city(tmp_path / "city.duckdb")
    try:
        for column, kind in (("beat", "VARCHAR"), ("district", "INTEGER"), ("ward", "INTEGER"),
                             ("community_area", "INTEGER"), ("location_description", "VARCHAR")):
            con.execute(f"ALTER TABLE incidents ADD COLUMN IF NOT EXISTS {column} {kind}")
        for f in FILTERS:
            if f.sql:
                used = {k: v for k, v in binds.items() if re.search(rf"\${k}\b", f.sql)}
                con.execute(f"SELECT count(*) FROM incidents WHERE {f.sql}", used).fetchone()
        # Same-day window 09:00-17:00: 17:00 is out, 16:59 in (the page's rule).
        tod = next(f for f in FILTERS if f.key == "tod").sql.replace("occurred_at", "t")
        got = con.execute(f"SELECT t FROM (VALUES (TIMESTAMP '2018-01-01 16:59'), (TIMESTAMP '2018-01-01 17:00'), "
                          f"(TIMESTAMP '2018-01-01 09:00')) v(t) WHERE {tod} ORDER BY t",
                          {"tod_from": 540, "tod_to": 1020}).fetchall()
        assert [str(r[0])[11:16] for r in got] == ["09:00", "16:59"]
    finally:
        con.close()


# ---- a million incidents (issue 18 item 4): the blob stays within the page's byte budget and the page decodes it ------

MILLION = 1_000_000
BLOB_BYTES_PER_ROW = 8.0  # base64 bytes per incident: 1,000,000 rows in <= 8 MB of the 15 MB page budget
_DECODE = r"""
const fs = require("fs");
const [, jsPath, blobPath, outDir] = process.argv;  // node -e: argv[1] is the first argument
const src = fs.readFileSync(jsPath, "utf8");
const m = /^function unpackBlob\(buf\) \{[\s\S]*?^\}$/m.exec(src);
if (!m) throw new Error("unpackBlob not found in packed.js");
const unpackBlob = new Function(m[0] + "\nreturn unpackBlob;")();
const bytes = Buffer.from(fs.readFileSync(blobPath, "utf8"), "base64");
new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).arrayBuffer()
  .then((buf) => {
    const head = unpackBlob(buf), kinds = {};
    for (const [name, col] of Object.entries(head.cols)) {
      kinds[name] = col.constructor.name;
      fs.writeFileSync(`${outDir}/${name}.f64`, Buffer.from(Float64Array.from(col).buffer));
    }
    fs.writeFileSync(`${outDir}/kinds.json`, JSON.stringify({ n: head.n, kinds }));
  });
"""


def _million_columns(rng) -> dict[str, np.ndarray]:
    """Columns shaped like the explorer's incidents (maps/explorer.py _incident_blob) for 1,000,000 rows sorted by
    time over about four years: minutes since the previous incident, a place code (90,000 places, skewed as real
    blocks are), a kind code (700 kinds, skewed), a location code, ids rising with time, and a place table."""
    n, places = MILLION, 90_000
    dt = rng.geometric(1 / 2.0, n) - 1                        # ~2 minutes apart: 1,000,000 rows in ~3.8 years
    place = np.minimum((rng.pareto(0.9, n) * 900).astype(np.int64), places - 1)
    kind = np.minimum((rng.pareto(1.1, n) * 8).astype(np.int64), 699)
    lc = np.minimum((rng.pareto(1.2, n) * 3).astype(np.int64), 159)
    ids = 11_000_000 + np.cumsum(rng.integers(0, 3, n)) + rng.integers(-300, 300, n)
    lat = np.sort(rng.integers(0, 40_000, places))
    lat = [None if k % 500 == 0 else int(v) for k, v in enumerate(lat)]
    return {"dt": dt, "place": place, "kind": kind, "lc": lc, "id": ids, "p_lat": lat}


def test_a_million_rows_fit_the_budget_and_the_page_decodes_them_identically(tmp_path):
    """1,000,000 generated incidents pack into <= 8 base64 bytes a row, and the page's own decoder
    (``unpackBlob`` of maps/templates/packed.js, run by node with DecompressionStream as the browser does)
    gives back exactly the packed values, as Int32Array where they surely fit (no copy before use)."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (needed to run the page's decoder)")
    values = _million_columns(np.random.default_rng(18))
    cols = {name: (_packed.column(v, nullable=True, delta=True) if name == "p_lat" else _packed.column(np.asarray(v)))
            for name, v in values.items()}
    blob = _packed.pack({"n": MILLION}, cols)
    assert len(blob["z"]) / MILLION <= BLOB_BYTES_PER_ROW, f"{len(blob['z']) / MILLION:.2f} bytes a row"
    (tmp_path / "blob.b64").write_text(blob["z"])
    js = Path(explorer.__file__).with_name("templates") / "packed.js"
    subprocess.run([node, "-e", _DECODE, str(js), str(tmp_path / "blob.b64"), str(tmp_path)], check=True, timeout=120)
    meta = json.loads((tmp_path / "kinds.json").read_text())
    assert meta["n"] == MILLION
    for name, v in values.items():
        got = np.fromfile(tmp_path / f"{name}.f64", dtype=np.float64)
        want = np.array([np.nan if x is None else x for x in v], dtype=float)
        assert np.array_equal(got, want, equal_nan=True), name
    assert {k: meta["kinds"][k] for k in ("dt", "place", "kind", "lc", "id")} == dict.fromkeys(
        ("dt", "place", "kind", "lc", "id"), "Int32Array")
    assert meta["kinds"]["p_lat"] == "Float64Array"  # nullable: NaN for null


# ---- the opening view before the rows (issue 18 item 4): a flushed first part, the page's preview of the opening ----

def test_a_flushed_blob_s_first_part_inflates_alone_to_the_header_and_tables():
    """``pack(flush_after=)``: the first ``split`` base64 characters inflate, without the rest, to the header and
    every column up to the flush (what the page draws its opening view from before it has parsed the rows); the
    whole blob unpacks as before."""
    rng = np.random.default_rng(4)
    cols = {"p_a": _packed.column(rng.integers(0, 90_000, 5_000)), "k_b": _packed.column(rng.integers(0, 700, 800)),
            "dt": _packed.column(rng.integers(0, 9, 200_000)), "id": _packed.column(rng.integers(0, 2 ** 30, 200_000))}
    blob = _packed.pack({"n": 200_000}, cols, flush_after="k_b")
    assert blob["split"] % 4 == 0 and 0 < blob["split"] < len(blob["z"]) // 10
    part = zlib.decompressobj(-15).decompress(base64.b64decode(blob["z"][:blob["split"]]))  # no end of stream
    h = int.from_bytes(part[:4], "little")
    header = json.loads(part[4:4 + h])
    tables = 4 + h + sum(width * rows for _, width, rows, *_ in header["cols"][:2])
    assert tables <= len(part) < blob["raw"]
    whole, got = _packed.unpack(blob)
    assert whole["n"] == 200_000 and set(got) == set(cols)
    assert np.array_equal(got["k_b"], cols["k_b"]["stored"] + cols["k_b"]["off"])


def _opening_sql(con, where: str, params: list) -> dict:
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL), "
        "count(*) FILTER (WHERE lat IS NULL OR lon IS NULL), count(*) FILTER (WHERE strftime(occurred_at, '%H:%M:%S') = '00:00:00') "
        f"FROM incidents WHERE city = ? AND {where}", [maps_citydb.CITY, *params]).fetchone()
    return dict(zip(("count", "located", "nomap", "midnight"), row))


@pytest.mark.parametrize("types", [None, ["THEFT"]])
def test_the_opening_preview_is_what_sql_finds_in_the_default_window(tmp_path, types):
    """The page's preview of its opening view (header "opening", place column p_open) against SQL over the same
    window and types: the count, located, without coordinates, at 00:00; per spot on the map, the type the page
    colours its dot by (the highest type code there, + 1). The rows travel in the late block, not the data block."""
    from civicmash.maps.render import PageContext

    con = maps_citydb.make_city(tmp_path / "city.duckdb")
    try:
        html = explorer.build(PageContext(con=con, city=maps_citydb.CITY, out_path=tmp_path / "e.html",
                                          options={"types": types} if types else {})).read_text()
        data = page_data(html)
        header, cols = _packed.unpack(data["incidents"])
        start, end = data["window"]["start"], data["window"]["end"]
        where = "occurred_at >= CAST(? AS DATE) AND occurred_at < CAST(? AS DATE) + INTERVAL 1 DAY" + (
            " AND primary_type = ANY(?)" if types else "")
        params = [start, end] + ([types] if types else [])
        assert header["opening"] == _opening_sql(con, where, params)
        assert 0 < header["opening"]["count"] < header["n"] if types else header["opening"]["count"] > 0
        code = {t: k for k, t in enumerate(header["types"])}
        want: dict = {}
        for t, lat, lon in con.execute(f"SELECT primary_type, lat, lon FROM incidents WHERE city = ? AND {where} "
                                       "AND lat IS NOT NULL AND lon IS NOT NULL", [maps_citydb.CITY, *params]).fetchall():
            key = (round((lat - header["lat0"]) * 1e5), round((lon - header["lon0"]) * 1e5))
            want[key] = max(want.get(key, 0), code[t] + 1)
        got: dict = {}
        for top, qlat, qlon in zip(cols["p_open"], cols["p_lat"], cols["p_lon"]):
            if top:
                got[(int(qlat), int(qlon))] = max(got.get((int(qlat), int(qlon)), 0), int(top))
        assert got == want
    finally:
        con.close()
    first = re.search(r'"incidents":\{"z":"([A-Za-z0-9+/=]*)"', html).group(1)
    assert len(first) < len(data["incidents"]["z"]) and "late-incidents-0" in html
