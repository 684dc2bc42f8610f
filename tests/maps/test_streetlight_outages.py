"""Open streetlight outages make the streets near them unlit on the safe route ([risk.lit] outages = true).

The small warehouse of tests/maps/maps_citydb.py (a street grid whose row j=3 carries most incidents and the
shortest walk ROUTE_FROM -> ROUTE_TO), plus service requests loaded by the real loader: one streetlight outage
still open beside the shortest walk, one already fixed elsewhere on it. The walk is planned end to end
(``route_planner.plan``: resolve, risk model read from the warehouse, routes).
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from civicmash.analysis.route_planner import plan, risk_model
from civicmash.analysis.routing import WalkGraph
from civicmash.cities.profile import RiskSpec, parse_profile
from civicmash.warehouse import views
from civicmash.warehouse.load import load_dataset
from tests.maps import maps_citydb as citydb
from tests.warehouse.helpers import FETCHED, write_landing

OPTIONS = {"time_formats": ["%Y-%m-%d %H:%M:%S"], "streetlight_types": ["Street Light Out"],
           "max_date": "2030-12-31"}
FIELDS = {"source_id": "id", "request_type": "type", "status": "status", "opened_at": "opened",
          "closed_at": "closed", "lat": "lat", "lon": "lon"}
OUT = citydb.node_ll(3.5, 3)     # beside the shortest walk, mid-block on row j=3
FIXED = citydb.node_ll(5.5, 3)   # also on it, but repaired before the latest request time


def _city(tmp_path, requests):
    con = citydb.make_city(tmp_path / "city.duckdb")
    files = write_landing(tmp_path / "landing-311", requests)
    result = load_dataset(con, city=citydb.CITY, dataset="requests", table="service_requests", files=files,
                          fields=FIELDS, options=OPTIONS, kind=None, run_id="r1", fetched_at=FETCHED,
                          source_meta={"protocol": "file", "licence": "test"})
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (len(requests), len(requests), 0)
    views.create_views(con)
    return con


def _request(i, lat_lon, *, closed="", status="Open", kind="Street Light Out"):
    return {"id": i, "type": kind, "status": status, "opened": "2018-11-01 18:00:00", "closed": closed,
            "lat": repr(lat_lon[0]), "lon": repr(lat_lon[1])}


REQUESTS = [_request("SL1", OUT), _request("SL2", FIXED, closed="2018-11-03 09:00:00", status="Completed"),
            _request("PH1", citydb.node_ll(1.5, 3), kind="Pothole in Street"),   # not a light: no effect
            _request("X", citydb.node_ll(0, 0), closed="2018-11-05 12:00:00", status="Completed",
                     kind="Graffiti Removal")]                                  # sets the latest time


def _factors(outages: bool) -> dict:
    return RiskSpec.model_validate({"lit": {"unlit": 4.0, "outages": outages, "outage_radius_m": 40}}).street_factors()


def _route(con, outages: bool) -> dict:
    return plan(con, city=citydb.CITY, origin=citydb.ROUTE_FROM, destination=citydb.ROUTE_TO, at="23:00",
                detour=0.5, options={"street_factors": _factors(outages), "days": 365})


def test_an_open_outage_beside_the_shortest_walk_raises_its_risk(tmp_path):
    con = _city(tmp_path, REQUESTS)
    without, with_outage = _route(con, False), _route(con, True)
    assert with_outage["shortest"]["coords"] == without["shortest"]["coords"]   # the same streets ...
    assert with_outage["shortest"]["exposure"] > 1.2 * without["shortest"]["exposure"]   # ... riskier now
    assert any("1 open streetlight outages count as unlit" in f for f in with_outage["street_factors"])


def test_only_open_outages_of_the_streetlight_types_count(tmp_path):
    con = _city(tmp_path, REQUESTS)
    graph = WalkGraph.from_warehouse(con, citydb.CITY)
    model, _ = risk_model(con, city=citydb.CITY, graph=graph, options={"street_factors": _factors(True)})
    near = model.factors.near_outage
    assert model.factors.n_outages == 1                       # SL1 only: SL2 fixed, PH1 a pothole
    ax, ay = graph.x[graph.eu], graph.y[graph.eu]
    bx, by = graph.x[graph.ev], graph.y[graph.ev]
    ox, oy = graph.project(np.array([OUT[0]]), np.array([OUT[1]]))
    mid = np.hypot((ax + bx) / 2 - ox[0], (ay + by) / 2 - oy[0])
    assert near[np.argmin(mid)] and int(near.sum()) == 1      # the one block the outage is on
    assert (model.factors.lit_class[near] == -1).all()
    # the factor applies to those streets only, and only when the profile turns outages on
    plain, _ = risk_model(con, city=citydb.CITY, graph=graph, options={"street_factors": _factors(False)})
    ratio = model.edge_risk("23:00") / np.where(plain.edge_risk("23:00") > 0, plain.edge_risk("23:00"), np.nan)
    assert np.nanmax(ratio[~near]) == pytest.approx(1.0) and ratio[near] == pytest.approx(4.0)


def test_outages_need_a_service_requests_dataset_in_the_profile():
    text = """
name = "dark"
title = "Dark"
[datasets.crimes]
protocol = "file"
format = "csv"
table = "incidents"
url = "https://example.org/crimes.csv"
[risk.lit]
outages = true
"""
    from civicmash.cities.profile import ProfileError

    with pytest.raises(ProfileError, match=r"\[risk.lit\] outages: no dataset has table 'service_requests'"):
        parse_profile(tomllib.loads(text), source="dark.toml")
