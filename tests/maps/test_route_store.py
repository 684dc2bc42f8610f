"""The stored route model (analysis/route_store.py): built once beside the warehouse, equal to a fresh build, rebuilt
when the warehouse or the risk options change, and what `civicmash route` answers from."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from civicmash.analysis import route_store
from civicmash.analysis.route_planner import _SWEEP, _fresh_model, plan
from civicmash.flows.cli import main
from civicmash.warehouse import db

FROM, TO = "42.303773,-87.259473", "42.305929,-87.239069"   # two points of the sample city (as test_route_street_factors)
OPTIONS = {"days": 90, "type_weights": {"NON-CRIMINAL*": 0.0}}


def _plan(path: Path, *, read_only: bool = True, options=OPTIONS, at="23:00") -> dict:
    with contextlib.closing(db.connect(path, read_only=read_only)) as con:
        return plan(con, city="sample", origin=FROM, destination=TO, at=at, options=options)


def _stores(path: Path) -> list[Path]:
    return sorted(route_store.store_root(path).glob("sample-*"))


def test_stored_model_equals_a_fresh_build(warehouse, tmp_path):
    builds = route_store.BUILDS
    stored_plan = _plan(warehouse)                      # read-only: builds the model and stores it
    assert route_store.BUILDS == builds + 1
    (store,) = _stores(warehouse)
    route_store.forget()
    again = _plan(warehouse)                            # a new question: read from the files, not rebuilt
    assert route_store.BUILDS == builds + 1
    assert again == stored_plan

    fresh_copy = tmp_path / "fresh.duckdb"
    shutil.copy(warehouse, fresh_copy)
    fresh_plan = _plan(fresh_copy, read_only=False)     # a writable connection never uses a store
    assert not _stores(fresh_copy)
    assert json.dumps(fresh_plan) == json.dumps(stored_plan)
    assert stored_plan["recommended"]["exposure"] >= 0 and stored_plan["shortest"]["length_m"] > 0

    # array for array: the memory-mapped model against one built now
    loaded = route_store.load(store)
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        graph, model, facts = _fresh_model(con, "sample", dict(OPTIONS))
    assert isinstance(loaded.graph.length, np.memmap)
    for name in ("node_ids", "lat", "lon", "eu", "ev", "length", "component", "walk_mask"):
        np.testing.assert_array_equal(getattr(loaded.graph, name), getattr(graph, name))
    np.testing.assert_array_equal(loaded.graph.csr.toarray(), graph.csr.toarray())
    for hour in (None, 0.0, 13.0, 23.0, 23.5):
        np.testing.assert_array_equal(loaded.edge_risk(hour), model.edge_risk(hour))
    facts.pop("_inc")
    assert loaded.facts == facts


def test_new_run_or_other_options_rebuild_the_store(warehouse):
    _plan(warehouse)
    (first,) = _stores(warehouse)
    builds = route_store.BUILDS
    other = _plan(warehouse, options={**OPTIONS, "bandwidth_m": 60.0})   # changed risk options: another model
    assert route_store.BUILDS == builds + 1
    (second,) = _stores(warehouse)                                       # the city's older store is removed
    assert second != first
    _plan(warehouse, options={**OPTIONS, "bandwidth_m": 60.0}, at="08:00")   # the walk's own time: same model
    assert route_store.BUILDS == builds + 1

    with contextlib.closing(duckdb.connect(str(warehouse))) as con:       # a new run writes the warehouse
        con.execute("INSERT INTO ingest_runs (run_id, city, status) VALUES ('test-run-2', 'sample', 'ok')")
    route_store.forget()
    rebuilt = _plan(warehouse, options={**OPTIONS, "bandwidth_m": 60.0})
    assert route_store.BUILDS == builds + 2
    (third,) = _stores(warehouse)
    assert third != second
    assert json.loads((third / "meta.json").read_text())["run_id"] == "test-run-2"
    assert rebuilt == other


def test_the_route_command_answers_from_the_store(warehouse, capsys):
    args = ["route", "--city", "sample", "--from", FROM, "--to", TO, "--at", "23:30", "--format", "json",
            "--db", str(warehouse)]
    builds = route_store.BUILDS
    assert main(args) == 0
    first = capsys.readouterr().out
    assert route_store.BUILDS == builds + 1
    (store,) = _stores(warehouse)
    meta_time = (store / "meta.json").stat().st_mtime_ns
    assert list(route_store.store_root(warehouse).glob("profile-*.json"))   # the parsed profile, kept for the next
    route_store.forget()
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert route_store.BUILDS == builds + 1                                 # loaded, not rebuilt
    # a new process: the profile and the model come from the files beside the warehouse, nothing is rebuilt
    out = subprocess.run([sys.executable, "-m", "civicmash.flows.cli", *args], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out == first
    assert _stores(warehouse) == [store] and (store / "meta.json").stat().st_mtime_ns == meta_time


def test_route_sweep_is_exact(warehouse):
    """The sweep's risk-aware A* finds paths as cheap as a plain Dijkstra per weighting, on every pair tried."""
    with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
        graph, model, _ = _fresh_model(con, "sample", dict(OPTIONS))
    risk = model.edge_risk(23.0)
    density = risk / np.maximum(graph.length, 1.0)
    p95 = float(np.percentile(density[density > 0], 95))
    sweep = [(c or 1e-9, graph.length * (1 + (c or 1e-9) * density / p95)) for c in _SWEEP]
    rng = np.random.default_rng(7)
    lcc = np.flatnonzero(graph.lcc_mask)
    for _ in range(12):
        s, t = (int(v) for v in rng.choice(lcc, 2))
        for (_c, w), (nodes, cost) in zip(sweep, graph.route_sweep(s, t, sweep, graph.length * density / p95)):
            ref, ref_cost = graph.shortest_path(s, t, w)
            paid = float(np.maximum(w, 1e-3)[graph.path_edges(nodes)].sum())
            assert nodes[0] == s and nodes[-1] == t
            assert paid == pytest.approx(ref_cost, rel=1e-9)
