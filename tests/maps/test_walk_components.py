"""The walk graph keeps every street network, not only the largest: two islands through the real warehouse.

Islandia (tests/maps/islands_city.py) has two 6 x 6 grids 12 km apart, an 80 m fragment and an unconnected piece
inside the first grid's extent. Places snap to the network they lie in; a walk between the islands is refused
with the distance, never routed to the wrong island nor answered "far from the street graph".
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from civicmash.analysis import route_planner
from civicmash.analysis.places import ResolveError
from civicmash.analysis.routing import MIN_COMPONENT_M, SeparateNetworks, load_graph
from civicmash.warehouse import db
from tests.maps import islands_city as I


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return I.build(tmp_path_factory.mktemp("islandia"))


@pytest.fixture(scope="module")
def con(warehouse):
    with contextlib.closing(db.connect(warehouse, read_only=True)) as c:
        yield c


@pytest.fixture(scope="module")
def graph(con):
    return load_graph(con, I.CITY)


def _node_at(graph, lat, lon) -> int:
    x, y = graph.project(lat, lon)
    return int(np.argmin(np.hypot(graph.x - x, graph.y - y)))


def test_both_islands_are_kept_and_fragments_left_out(graph):
    a = graph.component[_node_at(graph, *I.ll(0, 0))]
    b = graph.component[_node_at(graph, *I.ll(0, 0, island="B"))]
    lonely = graph.component[_node_at(graph, *I.ll(0, -20))]
    deck = graph.component[_node_at(graph, *I.ll(0.3, 0.3))]
    assert len({a, b, lonely, deck}) == 4                       # four components in the warehouse's streets
    assert sorted(graph.networks.tolist()) == sorted([a, b])    # both islands kept, the largest is not alone
    assert MIN_COMPONENT_M > 80                                  # the fragment is shorter than the limit
    assert not graph.walk_mask[graph.component == lonely].any()
    assert not graph.walk_mask[graph.component == deck].any()   # inside A's extent: a piece of A, not a network


def test_each_place_snaps_to_its_own_island(graph):
    for island in ("A", "B"):
        node = graph.nearest_node(*I.ll(2.02, 3.01, island=island))
        assert graph.component[node] == graph.component[_node_at(graph, *I.ll(0, 0, island=island))]
    # a point on the unconnected piece inside A snaps to A (never to the piece, where nothing is reachable)
    node = graph.nearest_node(*I.ll(1.3, 1.3))
    assert graph.component[node] == graph.component[_node_at(graph, *I.ll(0, 0))]


def test_route_inside_the_second_island(con, graph):
    """Island B (the same size as A: at most one of them is "the largest") routes as A does."""
    result = route_planner.plan(con, city=I.CITY, origin=",".join(map(str, I.ll(0, 0, island="B"))),
                                destination=",".join(map(str, I.ll(5, 5, island="B"))), at="23:00",
                                options={"days": 60})
    assert result["shortest"]["length_m"] == pytest.approx(10 * I.STEP_M, rel=0.01)
    assert result["origin"]["snap_m"] < 1 and result["destination"]["snap_m"] < 1
    assert all(lon > I.LON0 + I.B_SHIFT_LON - 0.001 for _, lon in result["shortest"]["coords"])


def test_pair_snaps_into_a_network_both_reach(graph):
    """Near A, a start whose nearest node alone would be on the piece inside A still walks on A."""
    src, dst, da, db_ = graph.snap_pair(I.ll(1.3, 1.3), I.ll(4, 4))
    a = graph.component[_node_at(graph, *I.ll(0, 0))]
    assert graph.component[src] == graph.component[dst] == a
    assert da < 60 and db_ < 1


def test_separate_networks_say_so_with_the_distance(con, graph):
    with pytest.raises(SeparateNetworks) as err:
        graph.snap_pair(I.ll(1, 1), I.ll(1, 1, island="B"))
    assert err.value.apart_m == pytest.approx(12_000, rel=0.01)
    with pytest.raises(ResolveError) as err:
        route_planner.plan(con, city=I.CITY, origin="250 W Main St", destination=",".join(map(str, I.ll(2, 2, island="B"))),
                           options={"days": 60})
    text = str(err.value)
    assert text.startswith("no walking path: '250 W MAIN ST' and ")
    assert "are in separate street networks (11,9" in text or "are in separate street networks (12,0" in text
