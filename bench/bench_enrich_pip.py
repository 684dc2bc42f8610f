"""Point-in-polygon enrichment of 1,000,000 incidents (community areas + beats): warehouse DuckDB SQL vs geopandas.sjoin.

Setup (not timed, in the parent): the real 2018 crimes with coordinates (150,253 rows, 85,144 distinct
locations) are repeated with new ids up to 1,000,000 points and written to a Parquet file in a temporary
directory (outside the repo); the real community-area (77) and police-beat (277) GeoJSON files are the polygons.
Ours tests each distinct location of a border cell once, so repeated points cost it less than new ones; the
whole comparison is therefore run twice: on the **repeated** points (the issue's set: 85,144 locations), and on
the same points each moved by a fixed pseudo-random offset of at most 1e-5 degrees (about 1 m) per axis, so that
(almost) every one of the 1,000,000 points has a **distinct** location.

- ours: a file-backed DuckDB warehouse (``warehouse.db.connect``) in which the boundaries were loaded with
  ``warehouse.load.load_dataset`` and the points sit in an ``incidents``-shaped table (lat, lon, geom);
  timed: ``warehouse.enrich.assign_areas`` (the function ``enrich_incidents`` runs) for both kinds plus
  fetching the assignments. **Cold** = the first run on the fresh warehouse: it tiles the polygons on the grid
  and stores the grid (``enrich_cache``) before joining. **Warm** = ``REPEATS`` further runs that reuse the
  stored grid (median reported; each must return exactly the cold result). The full ``enrich_incidents``
  (assignment + the UPDATEs that fill/flag the incidents table, grid already stored) is timed once and
  reported as ``ours_full_enrich_seconds``.
- peer: ``geopandas.read_file`` of both layers (not timed), then timed ``REPEATS`` times (median reported):
  ``geopandas.points_from_xy`` from the
  raw x/y columns + ``geopandas.sjoin(points, layer, predicate="intersects")`` for both layers (a point on a
  border touches both areas; like ours, the smallest code is kept).

Each side runs in a fresh process (``run_child``) with its own peak RSS; the assignments of both are
written to Parquet and compared row by row (disagreements must be 0).
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from bench._common import REPO_ROOT, require_chicago, run_child

N_POINTS = 1_000_000
REPEATS = 3          # timed runs per side (ours: warm runs after the one cold run); medians are reported
SHIFT_DEG = 1e-5     # the distinct set: each point moved by at most this much per axis
VARIANTS = {"repeated": "points.parquet", "distinct": "points_distinct.parquet"}
CRIMES = "crime/chicago_crimes_2018-05-01_to_2018-11-12.csv"
LAYERS = {"community_area": ("boundaries/community_areas.geojson", "area_numbe"),
          "beat": ("boundaries/police_beats.geojson", "beat_num")}

OURS = """
import json, time
from datetime import datetime, timezone
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
from civicmash.warehouse.db import connect
from civicmash.warehouse.load import load_dataset
from civicmash.warehouse.enrich import assign_areas, enrich_incidents
work, chicago, layers = Path({work!r}), Path({chicago!r}), {layers!r}
con = connect(work / f"ours-{{Path({points!r}).stem}}.duckdb")
for kind, (path, field) in layers.items():
    feats = json.loads((chicago / path).read_text())["features"]
    recs = {{field: [f["properties"][field] for f in feats], "_geometry": [json.dumps(f["geometry"]) for f in feats]}}
    landing = work / f"landing-{{kind}}.parquet"
    pq.write_table(pa.table(recs), landing)
    load_dataset(con, city="chicago", dataset=kind, table="boundaries", files=[landing], fields={{"code": field}},
                 options={{}}, kind=kind, run_id="bench", fetched_at=datetime.now(timezone.utc),
                 source_meta={{"protocol": "file"}})
con.execute(\"\"\"INSERT INTO incidents (city, dataset, source_id, lat, lon, geom)
               SELECT 'chicago', 'crimes', id, y, x, ST_Point(x, y) FROM read_parquet(?)\"\"\", [str(work / {points!r})])
con.execute("CHECKPOINT")
def assign_both():
    res = {{}}
    for kind in layers:
        assign_areas(con, city="chicago", kind=kind)
        res[kind] = con.execute("SELECT source_id, CAST(spatial AS VARCHAR) FROM _enrich_assign").to_arrow_table()
    return res
# cold: nothing stored yet, so this builds (and stores) the grid of both boundary sets, then assigns
t0 = time.perf_counter()
out = assign_both()
cold = time.perf_counter() - t0
warm = []   # warm: the stored grids are reused (what every later enrichment of the same boundaries costs)
for _ in range({repeats}):
    t = time.perf_counter()
    again = assign_both()
    warm.append(time.perf_counter() - t)
    for kind in layers:
        assert again[kind].sort_by("source_id").equals(out[kind].sort_by("source_id")), kind
t1 = time.perf_counter()
counts = enrich_incidents(con, city="chicago")
t2 = time.perf_counter()
ours = out["community_area"].rename_columns(["id", "community_area"]).join(
    out["beat"].rename_columns(["id", "beat"]), "id", join_type="full outer")
pq.write_table(ours, work / {out!r})
con.close()
result = {{"cold_seconds": round(cold, 3), "warm_runs": [round(x, 3) for x in warm],
          "full_enrich_seconds": round(t2 - t1, 3), "enrich_counts": counts}}
"""

PEER = """
import time
from pathlib import Path
import geopandas as gpd, pandas as pd, pyarrow.parquet as pq
work, chicago, layers = Path({work!r}), Path({chicago!r}), {layers!r}
polys = {{kind: gpd.read_file(chicago / path)[[field, "geometry"]].rename(columns={{field: "code"}})
         for kind, (path, field) in layers.items()}}
for kind, g in polys.items():   # codes normalised the way the warehouse stores them
    g["code"] = g["code"].astype(int).astype(str).str.zfill(4) if kind == "beat" else g["code"].astype(int).astype(str)
df = pd.read_parquet(work / {points!r})
runs = []
for _ in range({repeats}):
    t0 = time.perf_counter()
    pts = gpd.GeoDataFrame({{"id": df["id"]}}, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=polys["beat"].crs)
    res = {{}}
    for kind, g in polys.items():
        j = gpd.sjoin(pts, g, how="inner", predicate="intersects")
        key = j["code"].astype(int) if kind != "beat" else j["code"]
        res[kind] = j.assign(_k=key).sort_values("_k").groupby("id", sort=False)["code"].first()
    runs.append(time.perf_counter() - t0)
out = pd.concat([res["community_area"].rename("community_area"), res["beat"].rename("beat")], axis=1)
out.index.name = "id"
out.reset_index().to_parquet(work / {out!r})
result = {{"runs": [round(x, 3) for x in runs]}}
"""


def _points(chicago: Path, work: Path) -> dict:
    """Write the repeated points (``points.parquet``) and the moved copy (``points_distinct.parquet``)."""
    import duckdb

    con = duckdb.connect()
    base = con.execute(f"""SELECT count(*), count(DISTINCT ("Latitude", "Longitude"))
                           FROM read_csv('{chicago / CRIMES}', all_varchar = true)
                           WHERE "Latitude" IS NOT NULL""").fetchone()
    con.execute(f"""COPY (
        SELECT CAST(g.i AS VARCHAR) || ':' || c."ID" AS id, CAST(c."Longitude" AS DOUBLE) AS x,
               CAST(c."Latitude" AS DOUBLE) AS y
        FROM read_csv('{chicago / CRIMES}', all_varchar = true) c, range(0, {-(-N_POINTS // base[0])}) g(i)
        WHERE c."Latitude" IS NOT NULL ORDER BY g.i, c."ID" LIMIT {N_POINTS}) TO '{work / "points.parquet"}' (FORMAT parquet)""")
    # each point moved by its own offset in [-1e-5, 1e-5] degrees per axis, drawn from a hash of its id
    con.execute(f"""COPY (SELECT id, x + {SHIFT_DEG} * ((hash(id) % 2001)::INTEGER - 1000) / 1000 AS x,
                                 y + {SHIFT_DEG} * ((hash(id || 'y') % 2001)::INTEGER - 1000) / 1000 AS y
                          FROM read_parquet('{work / "points.parquet"}'))
                    TO '{work / "points_distinct.parquet"}' (FORMAT parquet)""")
    distinct = {f: con.execute(f"SELECT count(DISTINCT (x, y)) FROM read_parquet('{work / f}')").fetchone()[0]
                for f in ("points.parquet", "points_distinct.parquet")}
    con.close()
    return {"real_points": base[0], "real_locations": base[1], "locations": distinct}


def _compare(work: Path, variant: str) -> dict:
    import duckdb

    con = duckdb.connect()
    q = f"""SELECT count(*) AS n,
                   count(*) FILTER (WHERE o.community_area IS DISTINCT FROM p.community_area) AS ca,
                   count(*) FILTER (WHERE o.beat IS DISTINCT FROM p.beat) AS beat,
                   count(*) FILTER (WHERE o.community_area IS NULL) AS ca_none,
                   count(*) FILTER (WHERE o.beat IS NULL) AS beat_none
            FROM read_parquet('{work / VARIANTS[variant]}') pt
            LEFT JOIN read_parquet('{work / f"ours-{variant}.parquet"}') o USING (id)
            LEFT JOIN read_parquet('{work / f"peer-{variant}.parquet"}') p USING (id)"""
    n, ca, beat, ca_none, beat_none = con.execute(q).fetchone()
    con.close()
    return {"points": n, "disagree_community_area": ca, "disagree_beat": beat,
            "outside_all_community_areas": ca_none, "outside_all_beats": beat_none}


def _measure(work: Path, chicago: Path, variant: str) -> dict:
    """Both sides on one point set, each in its own process; the figures of ``variant``."""
    args = {"work": str(work), "chicago": str(chicago), "layers": LAYERS, "repeats": REPEATS,
            "points": VARIANTS[variant]}
    ours = run_child(OURS.format(**args, out=f"ours-{variant}.parquet"))
    peer = run_child(PEER.format(**args, out=f"peer-{variant}.parquet"))
    cmp = _compare(work, variant)
    cold, warm, gpd_s = ours["cold_seconds"], statistics.median(ours["warm_runs"]), statistics.median(peer["runs"])
    return {
        "ours_cold_seconds": cold, "ours_warm_seconds": round(warm, 3), "ours_warm_runs": ours["warm_runs"],
        "ours_full_enrich_seconds": ours["full_enrich_seconds"], "ours_peak_rss_mb": ours["peak_rss_mb"],
        "geopandas_seconds": round(gpd_s, 3), "geopandas_runs": peer["runs"], "geopandas_peak_rss_mb": peer["peak_rss_mb"],
        "speedup_cold": round(gpd_s / cold, 2), "speedup_warm": round(gpd_s / warm, 2),
        "ours_cold_under_1s": cold < 1.0, "ours_warm_under_1s": warm < 1.0,
        "identical_assignments": cmp["disagree_community_area"] == 0 and cmp["disagree_beat"] == 0, **cmp,
    }


def run() -> dict:
    chicago = require_chicago()
    work = Path(tempfile.mkdtemp(prefix="civicmash-bench-pip-"))
    try:
        sets = _points(chicago, work)
        rep, dis = (_measure(work, chicago, v) for v in VARIANTS)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "points": rep["points"], "real_points_repeated": sets["real_points"], "real_locations": sets["real_locations"],
        "locations": sets["locations"]["points.parquet"], "layers": {k: v[0] for k, v in LAYERS.items()},
        **rep,
        "distinct": {"locations": sets["locations"]["points_distinct.parquet"], "max_shift_deg": SHIFT_DEG, **dis},
        "summary": (f"{rep['points']:,} points x (77 community areas + 277 beats), real crimes repeated "
                    f"({sets['locations']['points.parquet']:,} locations): ours warm {rep['ours_warm_seconds']:.2f} s "
                    f"(stored grid, median of {REPEATS}; {rep['speedup_warm']:.1f}x), cold {rep['ours_cold_seconds']:.2f} s "
                    f"(builds and stores the grid; {rep['speedup_cold']:.1f}x) vs geopandas.sjoin "
                    f"{rep['geopandas_seconds']:.2f} s (median of {REPEATS}); moved to "
                    f"{sets['locations']['points_distinct.parquet']:,} distinct locations: warm {dis['ours_warm_seconds']:.2f} s "
                    f"({dis['speedup_warm']:.1f}x), cold {dis['ours_cold_seconds']:.2f} s vs {dis['geopandas_seconds']:.2f} s; "
                    f"under 1 s warm: {rep['ours_warm_under_1s']} / {dis['ours_warm_under_1s']}; full enrich "
                    f"{rep['ours_full_enrich_seconds']:.2f} s; peak {rep['ours_peak_rss_mb']:.0f} vs "
                    f"{rep['geopandas_peak_rss_mb']:.0f} MB; disagreements {rep['disagree_community_area']} + "
                    f"{rep['disagree_beat']} / {dis['disagree_community_area']} + {dis['disagree_beat']}"),
    }
