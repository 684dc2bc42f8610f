"""Risk per edge on tiny hand-built graphs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maps import risk as R
from maps.routing import WalkGraph

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
