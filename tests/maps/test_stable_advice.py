"""Stable advice (analysis/advice.py): `civicmash route` keeps a pair's last recommended walk after the model changed
unless the new choice is more than `hold` less exposed; asked again, the kept walk stays the answer."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys


from civicmash.analysis import advice, fast_route, route_store
from civicmash.analysis.route_planner import _fresh_model, plan, plan_routes, snap_ends
from civicmash.warehouse import db

FROM, TO = "42.303773,-87.259473", "42.305929,-87.239069"   # the sample city's safe-route pair
OPTIONS = {"days": 90, "type_weights": {"NON-CRIMINAL*": 0.0}}


def _pair(con):
    """(memory file, pair key, the planner's routes with nodes, edge ids of a route) at 23:00 for FROM -> TO."""
    stored = route_store.model_for(con, city="sample", options=OPTIONS, builder=_fresh_model)
    graph = stored.graph
    src, dst, _, _ = snap_ends(graph, tuple(map(float, FROM.split(","))), tuple(map(float, TO.split(","))))
    routes = plan_routes(graph, stored.edge_risk(23.0), src, dst)
    key = advice.pair_key(graph.node_ids[src], graph.node_ids[dst], 23.0, 0.25, 0.0)

    def edge_ids(route):
        return [int(e) for e in graph.edge_ids[graph.path_edges(route["nodes"])]]

    return advice.memory_file(stored.directory.parent, "sample"), key, routes, edge_ids


def _ask(con, warehouse, **extra):
    options = {**OPTIONS, **extra}
    return (plan(con, city="sample", origin=FROM, destination=TO, at="23:00", options=options),
            fast_route.answer(warehouse, city="sample", options=options, origin=FROM, destination=TO, at="23:00"))


def test_last_advice_is_kept_unless_the_new_choice_is_clearly_less_exposed(warehouse):
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        memory, key, routes, edge_ids = _pair(con)
        new = routes["safer"]
        # a route of nearly the same exposure within the detour: the previous run's advice, say
        close = next(r for r in routes["pareto"] if r["within_detour"] and r["nodes"] not in (new["nodes"],)
                     and r["exposure"] > new["exposure"] and advice.keeps(new, r, hold=advice.DEFAULT_HOLD))
        advice.remember(memory, key, model="the previous run's model", edges=edge_ids(close))
        slow, fast = _ask(con, warehouse)
        assert fast is None                                     # a pair with earlier advice goes to the planner
        assert slow["recommended"]["held"] is True
        assert (slow["recommended"]["length_m"], slow["recommended"]["exposure"]) == (close["length_m"], close["exposure"])
        assert "last advice kept" in slow["comparison"] and "a change needs more than 20%" in slow["comparison"]
        entry = advice.recall(memory, key)
        assert entry["held"] is True and entry["model"] != "the previous run's model"
        # asked again under the same model: the same kept walk, not a flip back
        again, fast = _ask(con, warehouse)
        assert json.dumps(again) == json.dumps(slow) and fast is None
        # hold = 0: no memory, the new choice
        off, _ = _ask(con, warehouse, hold=0)
        assert off["recommended"]["length_m"] == new["length_m"] and "held" not in off["recommended"]

        # earlier advice much more exposed than the new choice (more than 20 %): the advice changes
        shortest = routes["shortest"]
        assert not advice.keeps(new, shortest, hold=advice.DEFAULT_HOLD)
        advice.remember(memory, key, model="the previous run's model", edges=edge_ids(shortest))
        slow, fast = _ask(con, warehouse)
        assert "held" not in slow["recommended"] and slow["recommended"]["length_m"] == new["length_m"]
        entry = advice.recall(memory, key)
        assert entry["edges"] == edge_ids(new) and entry["held"] is False
        # now remembered under this model: the fast path answers again, as the planner does
        slow, fast = _ask(con, warehouse)
        assert fast is not None and json.dumps(fast) == json.dumps(slow)


def test_the_route_command_says_it_kept_the_last_advice(warehouse):
    cmd = [sys.executable, "-m", "civicmash.flows.cli", "route", "--city", "sample", "--from", FROM, "--to", TO,
           "--at", "23:00", "--db", str(warehouse)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
    assert "last advice kept" not in first
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        memory, key, routes, edge_ids = _pair(con)
    new = routes["safer"]
    close = next(r for r in routes["pareto"] if r["within_detour"] and r["nodes"] != new["nodes"]
                 and r["exposure"] > new["exposure"] and advice.keeps(new, r, hold=advice.DEFAULT_HOLD))
    advice.remember(memory, key, model="the previous run's model", edges=edge_ids(close))
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
    assert "recommended vs shortest:" in text and "last advice kept" in text
    assert f"{close['length_m']:>7,.0f} m" in text.split("recommended ")[1]
