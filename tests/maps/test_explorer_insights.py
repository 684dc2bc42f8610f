"""The explorer's statistics, checked against independent references (issue 18, items 1, 2 and 5):

* the page's rate-ratio intervals (maps/templates/explorer_compare.js, run by node) equal the exact conditional
  binomial interval computed with scipy.stats (Clopper-Pearson from beta quantiles) for known cases;
* analysis/hotspots.py: Gi* z-scores equal esda's own on the same grid, the Benjamini-Hochberg adjustment equals
  scipy's, a planted cluster comes out hot, and the pipeline's hotspot_cells table holds the result;
* maps/privacy.py: with a minimum of addresses per point, no displayed point stands for fewer (tested on the
  sample city's incidents), and without it nothing moves.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from civicmash.maps.render import page_data

REPO = Path(__file__).resolve().parents[2]
COMPARE_JS = REPO / "maps" / "templates" / "explorer_compare.js"

CASES = [(10, 30, 20, 30), (0, 90, 5, 90), (150, 90, 120, 90), (12_000, 90, 11_500, 90), (3, 7, 1, 7),
         (100_000, 365, 98_000, 365), (1, 1, 1, 1), (40, 90, 30, 91), (7, 28, 25, 28)]


def scipy_rate_ratio(n1: int, t1: float, n2: int, t2: float) -> tuple[float, float]:
    """The exact interval: n1 | n1 + n2 ~ Binomial(n, p); Clopper-Pearson on p; r = p / (1 - p) * t2 / t1."""
    from scipy.stats import beta

    n = n1 + n2
    pl = 0.0 if n1 == 0 else beta.ppf(0.025, n1, n - n1 + 1)
    pu = 1.0 if n1 == n else beta.ppf(0.975, n1 + 1, n - n1)
    return pl / (1 - pl) * t2 / t1, (math.inf if pu == 1 else pu / (1 - pu) * t2 / t1)


def js(expr: str):
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    out = subprocess.run([node, "-e", (f"const C = require({json.dumps(str(COMPARE_JS))}); "
                                      f"console.log(JSON.stringify({expr}));")],
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def test_rate_ratio_intervals_equal_scipy():
    got = js(f"{json.dumps(CASES)}.map(c => C.rateRatio(c[0], c[1], c[2], c[3]))")
    for (n1, t1, n2, t2), g in zip(CASES, got):
        low, high = scipy_rate_ratio(n1, t1, n2, t2)
        assert math.isclose(g["low"], low, rel_tol=1e-8, abs_tol=1e-12), (n1, n2, g, low)
        assert (g["high"] is None and high == math.inf) or math.isclose(g["high"], high, rel_tol=1e-8), (n1, n2, g)
        assert g["ratio"] == pytest.approx((n1 / t1) / (n2 / t2))
        assert g["label"] == ("no real change" if low <= 1 <= high else ("higher" if low > 1 else "lower"))
    labels = [g["label"] for g in got]
    assert labels[3] == "higher" and labels[2] == "no real change" and labels[-1] == "lower"
    assert js("C.rateRatio(0, 90, 0, 90)") is None


def test_beta_quantiles_and_periods():
    from scipy.stats import beta

    qs = js("[[0.025, 3, 8], [0.975, 50, 2], [0.5, 0.5, 0.5], [0.025, 20000, 19001]].map(a => C.betaQuantile(a[0], a[1], a[2]))")
    for (q, a, b), g in zip([(0.025, 3, 8), (0.975, 50, 2), (0.5, 0.5, 0.5), (0.025, 20000, 19001)], qs):
        assert math.isclose(g, beta.ppf(q, a, b), rel_tol=1e-9)
    # 90 days ending 2018-11-11: the previous 90 days end the day before; a year earlier is the same dates of 2017;
    # the data from 2018-05-15 holds the previous period, not the year before; 29 February -> 28 February
    p = js("C.periods(C.isoToDay('2018-08-14'), C.isoToDay('2018-11-11'), C.isoToDay('2018-05-15'), "
           "C.isoToDay('2018-11-11')).map(x => [x.key, C.dayToIso(x.from), C.dayToIso(x.to), x.days, x.held])")
    assert p == [["now", "2018-08-14", "2018-11-11", 90, True], ["previous", "2018-05-16", "2018-08-13", 90, True],
                 ["year", "2017-08-14", "2017-11-11", 90, False]]
    assert js("C.dayToIso(C.yearBefore(C.isoToDay('2020-02-29')))") == "2019-02-28"


# --- hotspots -------------------------------------------------------------------------------------------------

def _grid_city(tmp_path):
    """A bare warehouse: incidents spread evenly over a square of H3 cells, plus a planted cluster."""
    import duckdb
    import h3

    con = duckdb.connect(str(tmp_path / "hot.duckdb"))
    con.execute("CREATE TABLE incidents (city VARCHAR, dataset VARCHAR, source_id VARCHAR, occurred_at TIMESTAMP, "
                "lat DOUBLE, lon DOUBLE, block VARCHAR)")
    rng = np.random.default_rng(7)
    centre = h3.latlng_to_cell(41.88, -87.63, 8)
    cells = sorted(h3.grid_disk(centre, 6))
    rows, k = [], 0
    for c in cells:
        lat, lon = h3.cell_to_latlng(c)
        n = 3 + int(rng.poisson(2))
        if h3.grid_distance(c, centre) <= 1:
            n += 40   # the cluster: the centre cell and its ring
        for _ in range(n):
            k += 1
            rows.append(("grid", "crimes", str(k), f"2018-10-{1 + k % 28:02d} 12:00", lat, lon, f"{k % 50:03d}XX X ST"))
    rows.append(("grid", "crimes", "old", "2018-01-01 12:00", *h3.cell_to_latlng(cells[0]), "OLD"))  # outside 90 days
    con.executemany("INSERT INTO incidents VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return con, cells, centre


def test_gi_star_hot_cluster_fdr_and_esda(tmp_path):
    import h3
    from civicmash.analysis import hotspots
    from esda.getisord import G_Local
    from libpysal.weights import W
    from scipy.stats import false_discovery_control

    con, cells, centre = _grid_city(tmp_path)
    result = hotspots.compute(con, city="grid", resolution=8)
    rows = {r["h3_cell"]: r for r in result["rows"]}
    assert set(rows) == set(cells) and result["resolution"] == 8
    assert result["window_end"].isoformat() == "2018-10-29T00:00:00"   # the day after the latest incident
    total = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
    assert sum(r["count"] for r in rows.values()) == result["incidents"] == total - 1   # "old" is outside 90 days
    hot = {c for c, r in rows.items() if r["class"] == "hot"}
    assert centre in hot and hot <= set(h3.grid_disk(centre, 2))
    # the same statistic computed here with esda directly
    index = {c: k for k, c in enumerate(cells)}
    nb = {k: [index[x] for x in h3.grid_ring(c, 1) if x in index] for k, c in enumerate(cells)}
    w = W(nb, {k: [1.0] * len(v) for k, v in nb.items()}, silence_warnings=True)
    y = np.array([rows[c]["count"] for c in cells], dtype=float)
    g = G_Local(y, w, transform="B", permutations=0, star=True)
    z = np.array([rows[c]["gi_z"] for c in cells])
    p = np.array([rows[c]["p"] for c in cells])
    assert np.allclose(z, g.Zs) and np.allclose(p, 2 * g.p_norm)
    assert np.allclose([rows[c]["p_fdr"] for c in cells], false_discovery_control(p, method="bh"))
    assert all((r["class"] != "none") == (r["p_fdr"] <= 0.05) for r in rows.values())
    assert len(rows[centre]["boundary"]) == 6


def test_resolution_by_city_size_and_bh():
    from civicmash.analysis.hotspots import bh_adjust, choose_resolution
    from scipy.stats import false_discovery_control

    assert choose_resolution(np.array([41.64, 42.02]), np.array([-87.94, -87.52])) == 8     # Chicago's extent
    assert choose_resolution(np.array([42.278, 42.321]), np.array([-87.279, -87.221])) == 9  # the sample city
    p = np.random.default_rng(3).uniform(size=200) ** 3
    assert np.allclose(bh_adjust(p), false_discovery_control(p, method="bh"))


def test_pipeline_stores_hotspot_cells(sample_run):
    from civicmash.warehouse.db import connect

    con = connect(sample_run["warehouse"], read_only=True)
    try:
        rows = con.execute("SELECT resolution, class, incidents, p_fdr, alpha, window_end FROM hotspot_cells "
                           "WHERE city = 'sample'").fetchall()
        last = con.execute("SELECT max(occurred_at) FROM incidents_current WHERE city = 'sample'").fetchone()[0]
        window = con.execute("SELECT count(*) FROM incidents_current WHERE city = 'sample' AND lat IS NOT NULL "
                             "AND occurred_at >= (SELECT min(window_start) FROM hotspot_cells WHERE city = 'sample')"
                             ).fetchone()[0]
    finally:
        con.close()
    assert rows and {r[0] for r in rows} == {9}
    assert sum(r[2] for r in rows) == window
    assert {r[1] for r in rows} <= {"hot", "cold", "none"} and any(r[1] == "hot" for r in rows)
    assert all((r[1] != "none") == (r[3] <= r[4]) for r in rows)
    assert {r[5] for r in rows} == {datetime.combine(last.date() + timedelta(days=1), datetime.min.time())}
    assert sample_run["hotspots"]["hot"] == sum(r[1] == "hot" for r in rows)


# --- privacy --------------------------------------------------------------------------------------------------

def test_min_addresses_per_point(sample_run):
    from civicmash.maps import privacy
    from civicmash.warehouse.db import connect

    con = connect(sample_run["warehouse"], read_only=True)
    try:
        lat, lon, block = (np.array(v, dtype=object) for v in zip(*con.execute(
            "SELECT lat, lon, block FROM incidents_current WHERE city = 'sample'").fetchall()))
    finally:
        con.close()
    lat, lon = lat.astype(float), lon.astype(float)
    same = privacy.merge_points(lat, lon, list(block), None)
    assert np.array_equal(same[0], lat, equal_nan=True) and same[2]["points_moved"] == 0
    for k in (2, 8):
        mlat, mlon, report = privacy.merge_points(lat, lon, list(block), k)
        addresses: dict = {}
        for a, b, blk in zip(mlat, mlon, block):
            if not (math.isnan(a) or math.isnan(b)):
                addresses.setdefault((round(a, 5), round(b, 5)), set()).add(blk)
        assert min(len(v) for v in addresses.values()) >= k, k
        assert report["points_moved"] > 0 and report["rows_moved"] > 0
        had = ~np.isnan(lat)
        moved = had & ((mlat != lat) | (mlon != lon))
        assert moved.sum() == report["rows_moved"] + report["rows_withheld"]


def test_explorer_points_keep_the_minimum(sample_run, tmp_path):
    """The page's own points (the packed place table) with ``min_addresses_per_point = 8``: every displayed
    coordinate pair stands for at least 8 distinct blocks, and the page says so."""
    from civicmash.maps import _packed, explorer
    from civicmash.maps.render import PageContext
    from civicmash.warehouse.db import connect

    con = connect(sample_run["warehouse"], read_only=True)
    try:
        path = explorer.build(PageContext(con=con, city="sample", out_path=tmp_path / "explorer.html",
                                          options={"min_addresses_per_point": 8}))
    finally:
        con.close()
    text = path.read_text(encoding="utf-8")
    data = page_data(text)
    header, cols = _packed.unpack(data["incidents"])
    blocks: dict = {}
    for b, la, lo in zip(cols["p_block"], cols["p_lat"], cols["p_lon"]):
        if not (math.isnan(la) or math.isnan(lo)):
            blocks.setdefault((la, lo), set()).add(header["blocks"][int(b)])
    assert blocks and min(len(v) for v in blocks.values()) >= 8
    assert data["privacy"]["min_addresses"] == 8 and data["privacy"]["points_moved"] > 0
