"""A new protocol is one connector module plus one replay handler: the toy protocol (tests/connectors/
toy_protocol.py), registered from outside the package, is fetched end to end through the real Prefect flow
and the loopback replay portal into the warehouse, with nothing else in civicmash touched."""

from __future__ import annotations

import contextlib
import json

import duckdb
import pytest

from civicmash import connectors
from civicmash.cities.profile import ProfileError, load_profile
from civicmash.devkit import replay
from civicmash.devkit.city_portal import replay_routes
from civicmash.flows.sources import SourceError
from tests.connectors import toy_protocol

ROWS = [{"id": f"t{i}", "name": f"Toy bar {i}", "lat": 41.88 + i / 1000, "lon": -87.63, "kind": "bar"}
        for i in range(5)]

PROFILE = """
name = "toyville"
title = "Toyville (toy protocol test)"
synthetic = true

[datasets.bars]
protocol = "toy"
domain = "portal.toyville.example"
dataset_id = "bars-1"
format = "json"
table = "venues"
replay = "toy/bars.json"
options = { page_size = 2, bbox = [41.0, -88.0, 42.0, -87.0] }
fields = { source_id = "id", name = "name", lat = "lat", lon = "lon", venue_type = "kind" }
"""


@pytest.fixture
def toy_registered():
    connectors.register(toy_protocol.PROTOCOL)
    replay.register_handler(toy_protocol.HANDLER)
    yield
    connectors.unregister("toy")
    replay.unregister_handler("toy")


@pytest.fixture
def toy_city(tmp_path):
    (tmp_path / "replay" / "toy").mkdir(parents=True)
    (tmp_path / "replay" / "toy" / "bars.json").write_text(json.dumps(ROWS), encoding="utf-8")
    profile = tmp_path / "toyville.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    return profile, tmp_path / "replay"


def test_an_unregistered_protocol_is_refused_with_the_known_ones(toy_city):
    with pytest.raises(ProfileError) as err:
        load_profile(toy_city[0])
    assert "[datasets.bars] protocol: no protocol 'toy'" in str(err.value) and "socrata" in str(err.value)


def test_the_toy_protocol_is_fetched_end_to_end(toy_registered, toy_city, prefect_harness, tmp_path):
    from civicmash.flows.pipeline import civic_pipeline

    profile_file, replay_dir = toy_city
    spec = load_profile(profile_file).datasets["bars"]
    assert spec.portal_url == "https://portal.toyville.example/toy/bars-1"
    assert spec.protocol_options == toy_protocol.ToyOptions(page_size=2)
    summary = civic_pipeline("toyville", out=str(tmp_path / "out"), replay=str(replay_dir),
                             profile_path=str(profile_file), maps=[])
    ingest = summary["ingest"][0]
    assert (ingest["records"], ingest["pages"]) == (5, 3)   # 2 + 2 + 1 rows: paged through the toy handler
    with contextlib.closing(duckdb.connect(summary["warehouse"], read_only=True)) as con:
        rows = con.execute("SELECT source_id, name, venue_type, round(lat, 3) FROM venues "
                           "WHERE city = 'toyville' ORDER BY source_id").fetchall()
        protocol, url = con.execute("SELECT protocol, portal_url FROM datasets WHERE city = 'toyville'").fetchone()
    assert rows == [(r["id"], r["name"], "bar", round(r["lat"], 3)) for r in ROWS]
    assert (protocol, url) == ("toy", "https://portal.toyville.example/toy/bars-1")


def test_a_portal_protocol_without_a_replay_handler_is_named(toy_city):
    connectors.register(toy_protocol.PROTOCOL)
    try:
        with pytest.raises(SourceError, match="no replay handler serves protocol 'toy'"):
            replay_routes(load_profile(toy_city[0]), toy_city[1])
    finally:
        connectors.unregister("toy")
