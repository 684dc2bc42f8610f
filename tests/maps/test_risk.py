"""Risk per edge on tiny hand-built graphs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from civicmash.analysis import risk as R
from civicmash.analysis.routing import WalkGraph

M_LAT = 110_540.0
LAT0, LON0 = 41.88, -87.63
KX = 111_320.0 * math.cos(math.radians(LAT0))


def ll(x, y):
    return LAT0 + y / M_LAT, LON0 + x / KX


def line_graph(lengths=(100.0, 100.0, 100.0, 100.0)):
    """Nodes on a straight east-west street every len metres."""
    xs = np.concatenate([[0.0], np.cumsum(lengths)])
    lat, lon = zip(*[ll(x, 0.0) for x in xs])
    n = len(xs)
    return WalkGraph.from_arrays(city="t", node_ids=np.arange(n), lat=lat, lon=lon, edge_ids=np.arange(n - 1),
                                 u=np.arange(n - 1), v=np.arange(1, n), length=np.asarray(lengths))


def test_kernel_cdf_and_mass_on_a_straight_street():
    h = 100.0
    assert R._kernel_cdf(0.0, h) == 0
    assert R._kernel_cdf(h, h) == pytest.approx(0.5)
    assert R._kernel_cdf(1e9, h) == pytest.approx(0.5)
    g = line_graph()
    # Incident in the middle of the street (x = 200 m, the node between edges 1 and 2; put it at t=1 of edge 1).
    lat, lon = ll(200.0, 5.0)
    m = R.build_risk(g, lat=[lat], lon=[lon], primary_type=["THEFT"], bandwidth_m=h)
    mass = m.edge_mass()
    # Edge 1 (100-200) and edge 2 (200-300) each hold half the kernel: F(100) = 0.5; edges 0 and 3 nothing.
    assert mass == pytest.approx([0.0, 0.5, 0.5, 0.0], abs=1e-9)
    assert mass.sum() == pytest.approx(1.0)


def test_kernel_spreads_to_neighbour_edges_with_exact_integral():
    h = 100.0
    g = line_graph()
    lat, lon = ll(150.0, 0.0)  # middle of edge 1
    mass = R.build_risk(g, lat=[lat], lon=[lon], primary_type=["X"], bandwidth_m=h).edge_mass()
    own = 2 * R._kernel_cdf(50.0, h)
    side = R._kernel_cdf(100.0, h) - R._kernel_cdf(50.0, h)
    # positions are kept to 1/999 of the edge (incidents sharing a spot share one kernel column)
    assert mass == pytest.approx([side, own, side, 0.0], abs=1e-3)
    assert mass.sum() == pytest.approx(1.0)


def test_intersection_branches_each_get_the_kernel():
    # A plus-shaped crossing: centre node 0, four 100 m arms; incident at the centre.
    pts = [(0, 0), (100, 0), (-100, 0), (0, 100), (0, -100)]
    lat, lon = zip(*[ll(x, y) for x, y in pts])
    g = WalkGraph.from_arrays(city="t", node_ids=np.arange(5), lat=lat, lon=lon, edge_ids=np.arange(4),
                              u=[0, 0, 0, 0], v=[1, 2, 3, 4], length=[100.0] * 4)
    a, b = ll(0.0, 0.0)
    mass = R.build_risk(g, lat=[a], lon=[b], primary_type=["X"]).edge_mass()
    assert mass == pytest.approx([0.5] * 4)  # the simple network kernel: each branch gets the full half-kernel


def test_snap_picks_nearest_edge_and_drops_far_points():
    g = line_graph()
    lat, lon = zip(ll(130.0, 20.0), ll(390.0, -3.0), ll(200.0, 400.0))
    edge, t, dist = R.snap(g, lat, lon, snap_m=100.0)
    assert edge.tolist() == [1, 3, -1]
    assert t[:2] == pytest.approx([0.3, 0.9], abs=1e-6)
    assert dist[:2] == pytest.approx([20.0, 3.0], abs=0.01)


def test_type_weights_and_non_criminal():
    weights = {"BATTERY": 3.0, "THEFT": 1.5}
    assert R.type_weight("battery", weights) == 3.0
    assert R.type_weight("NON-CRIMINAL (SUBJECT SPECIFIED)", weights) == 0.0
    assert R.type_weight("NARCOTICS", weights) == 1.0
    g = line_graph()
    lat, lon = ll(200.0, 0.0)
    m = R.build_risk(g, lat=[lat] * 3, lon=[lon] * 3, primary_type=["BATTERY", "THEFT", "NON-CRIMINAL"],
                     type_weights=weights)
    assert m.edge_mass().sum() == pytest.approx(4.5)


def test_hour_weights_circular_and_mean_one():
    at = R.parse_at("23:30")
    assert at == 23.5
    w = R.hour_weights([23.5, 1.5, 0.5, 11.5, np.nan], "23:30")
    assert w[1] == pytest.approx(w[0] * math.exp(-0.5))  # 2 h later across midnight = one sigma
    assert w[2] > w[1] > w[3]
    assert w[4] == 1.0  # unknown time: weight 1
    grid = np.arange(0, 24, 1 / 60)
    assert R.hour_weights(grid, 5.0).mean() == pytest.approx(1.0, rel=1e-6)
    assert (R.hour_weights([3.0, 15.0], None) == 1).all()
    with pytest.raises(ValueError):
        R.parse_at("25:00")


def test_night_and_noon_differ():
    g = line_graph()
    a, b = ll(50.0, 0.0)  # edge 0: night incidents
    c, d = ll(350.0, 0.0)  # edge 3: noon incidents
    m = R.build_risk(g, lat=[a, a, c, c], lon=[b, b, d, d], primary_type=["X"] * 4, hour=[23.0, 0.5, 12.0, 12.5])
    night, noon = m.edge_mass("23:30"), m.edge_mass("12:00")
    assert night[0] > 10 * night[3]
    assert noon[3] > 10 * noon[0]
    allday = m.edge_mass()
    assert allday[0] == pytest.approx(allday[3])


def test_kernel_on_cells_equals_whole_graph_dijkstra():
    # 60 x 60 street grid (3,600 nodes, 80 m blocks, jittered lengths): big enough for the cell-grouped balls
    rng = np.random.default_rng(5)
    n = 60
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    jj, ii = np.divmod(np.arange(n * n), n)
    lat, lon = ll(ii * 80.0, jj * 80.0)
    g = WalkGraph.from_arrays(city="t", node_ids=np.arange(n * n), lat=lat, lon=lon, edge_ids=np.arange(len(u)),
                              u=u, v=v, length=80.0 * rng.uniform(1.0, 1.2, len(u)))
    loc_edge = rng.integers(0, g.n_edges, 400)
    loc_t = rng.random(400)
    cells = R.kernel_matrix(g, loc_edge, loc_t, bandwidth_m=150.0)
    whole = R.kernel_matrix(g, loc_edge, loc_t, bandwidth_m=150.0, chunk=10_000)  # n < 4 * chunk: one Dijkstra each
    assert cells.nnz == whole.nnz > 400
    assert abs(cells - whole).max() < 1e-12


# ---- optional street factors: lit streets, bars late at night (profile [risk.lit], [risk.bars]) ----------------

def test_lit_factor_changes_edge_risk_in_its_hours():
    from civicmash.cities.profile import RiskSpec

    g = line_graph()
    g.lit = np.array(["yes", "no", None, "24/7"], dtype=object)   # as street_edges.lit carries the OSM tag
    spec = RiskSpec.model_validate({"lit": {"lit": 0.5, "unlit": 2.0, "hours": [20, 6]}})
    factors = spec.street_factors()
    assert factors == {"lit": {"lit": 0.5, "unlit": 2.0, "hours": (20.0, 6.0)}}
    pts = [ll(x, 0.0) for x in (50.0, 150.0, 250.0, 350.0)]
    m = R.build_risk(g, lat=[p[0] for p in pts], lon=[p[1] for p in pts], primary_type=["X"] * 4, factors=factors,
                     bandwidth_m=10.0)
    night, mass = m.edge_risk("23:30"), m.edge_mass("23:30")
    assert mass == pytest.approx([1.0] * 4)
    assert night == pytest.approx([0.5, 2.0, 1.0, 0.5])         # lit x0.5, unlit x2, unknown unchanged
    assert m.edge_risk("12:00") == pytest.approx(mass)          # outside 20:00-06:00: no factor
    assert m.edge_risk(None) == pytest.approx(m.edge_mass(None))
    assert "lit streets x0.5" in m.factors.describe("23:30")[0] and m.factors.describe("12:00") == []
    # a street without incidents stays at 0 whatever its lighting
    empty = R.build_risk(g, lat=[], lon=[], primary_type=[], factors=factors)
    assert (empty.edge_risk("23:30") == 0).all()


def test_bar_factor_raises_streets_near_bars_late_at_night():
    from civicmash.cities.profile import RiskSpec

    g = line_graph()
    factors = RiskSpec.model_validate({"bars": {"radius_m": 60, "factor": 3.0}}).street_factors()
    assert factors["bars"]["hours"] == (22.0, 4.0)                 # default: 22:00-04:00
    pts = [ll(x, 0.0) for x in (50.0, 150.0, 250.0, 350.0)]
    bar_lat, bar_lon = ll(120.0, 40.0)                              # 40 m from edge 1, 45 m from edge 0's end
    m = R.build_risk(g, lat=[p[0] for p in pts], lon=[p[1] for p in pts], primary_type=["X"] * 4, factors=factors,
                     bandwidth_m=10.0, bar_lat=[bar_lat], bar_lon=[bar_lon])
    assert m.factors.near_bar.tolist() == [True, True, False, False]
    assert m.edge_risk("23:30") == pytest.approx([3.0, 3.0, 1.0, 1.0])
    assert m.edge_risk("02:00") == pytest.approx([3.0, 3.0, 1.0, 1.0])   # the window wraps midnight
    assert m.edge_risk("18:00") == pytest.approx([1.0] * 4)
    far = R.build_risk(g, lat=[p[0] for p in pts], lon=[p[1] for p in pts], primary_type=["X"] * 4,
                       factors=factors, bandwidth_m=10.0, bar_lat=[ll(0, 500.0)[0]], bar_lon=[ll(0, 500.0)[1]])
    assert far.edge_risk("23:30") == pytest.approx([1.0] * 4)
    with pytest.raises(ValueError):
        RiskSpec.model_validate({"bars": {"factor": 0}})            # factors must be > 0


# ---- the route follows the hour --------------------------------------------------------------------------------

def test_time_of_day_changes_the_recommended_route():
    """Two parallel streets between A and B: the south one had its incidents around midnight, the north one at
    noon. A walk at 23:30 takes the north street, a walk at 12:30 the south one; without a time they tie."""
    from civicmash.analysis.route_planner import plan_routes

    # south street y = 0: nodes 0-1-2-3 (300 m); north street y = 40: nodes 4-5-6-7; rungs 0-4 and 3-7
    xs = [0.0, 100.0, 200.0, 300.0]
    pts = [(x, 0.0) for x in xs] + [(x, 40.0) for x in xs]
    lat, lon = zip(*[ll(x, y) for x, y in pts])
    g = WalkGraph.from_arrays(city="t", node_ids=np.arange(8), lat=lat, lon=lon, edge_ids=np.arange(8),
                              u=[0, 1, 2, 4, 5, 6, 0, 3], v=[1, 2, 3, 5, 6, 7, 4, 7],
                              length=[100.0] * 6 + [40.0, 40.0])
    south, north = ll(150.0, 0.0), ll(150.0, 40.0)
    m = R.build_risk(g, lat=[south[0]] * 3 + [north[0]] * 3, lon=[south[1]] * 3 + [north[1]] * 3,
                     primary_type=["ROBBERY"] * 6, hour=[23.0, 0.0, 23.5, 12.0, 12.5, 13.0], bandwidth_m=60.0)
    night = plan_routes(g, m.edge_risk("23:30"), 0, 3, detour=0.5)
    noon = plan_routes(g, m.edge_risk("12:30"), 0, 3, detour=0.5)
    assert night["shortest"]["nodes"] == noon["shortest"]["nodes"] == [0, 1, 2, 3]
    assert night["recommended"]["nodes"] == [0, 4, 5, 6, 7, 3]      # away from the midnight incidents
    assert noon["recommended"]["nodes"] == [0, 1, 2, 3]             # the noon incidents are on the other street
    assert night["recommended"]["exposure"] < 0.1 * night["shortest"]["exposure"]
    allday = m.edge_risk(None)
    assert allday[:3].sum() == pytest.approx(allday[3:6].sum())


def test_bar_factor_without_a_venues_bars_view_is_an_error(tmp_path):
    from civicmash.analysis.route_planner import risk_model
    from civicmash.cities.profile import RiskSpec
    from tests.maps import maps_citydb as citydb

    con = citydb.make_city(tmp_path / "c.duckdb")   # venues, but no venues_bars view
    graph = WalkGraph.from_warehouse(con, citydb.CITY)
    factors = RiskSpec.model_validate({"bars": {"radius_m": 60, "factor": 3.0}}).street_factors()
    with pytest.raises(ValueError, match=r"\[risk.bars\] is set but the warehouse has no venues_bars view"):
        risk_model(con, city=citydb.CITY, graph=graph, options={"street_factors": factors})
