"""The protocol registry: every built-in connector module declares one PROTOCOL; plugins register theirs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from civicmash import connectors
from civicmash.connectors import arcgis, ckan, files, osm, registry, socrata
from civicmash.devkit import replay
from tests.connectors import toy_protocol


def test_each_connector_module_declares_its_protocol():
    assert {m.PROTOCOL.name: m.PROTOCOL for m in (socrata, arcgis, ckan, files, osm)} == \
        {n: p for n, p in connectors.protocols().items() if n in ("socrata", "arcgis", "ckan", "file", "osm")}
    assert socrata.PROTOCOL.resumable and socrata.PROTOCOL.incremental and socrata.PROTOCOL.conform
    assert not any(p.resumable or p.incremental for p in (arcgis.PROTOCOL, ckan.PROTOCOL, files.PROTOCOL,
                                                          osm.PROTOCOL))
    assert files.PROTOCOL.options_model("edgelist") is files.EdgelistOptions
    assert files.PROTOCOL.options_model("csv") is files.TextFileOptions   # FileOptions + encoding
    assert issubclass(files.TextFileOptions, files.FileOptions)


def test_protocol_options_are_closed():
    with pytest.raises(ValidationError, match="page_sise"):
        socrata.SocrataOptions.model_validate({"page_sise": 10})
    assert socrata.SocrataOptions().page_size == 50_000


def test_urls_come_from_the_declaration():
    where = {"domain": "data.example.org", "dataset_id": "abcd-1234", "url": None, "replay": "x.csv"}
    assert socrata.PROTOCOL.public_url(**where) == "https://data.example.org/resource/abcd-1234"
    assert arcgis.PROTOCOL.public_url(**where).endswith("/arcgis/rest/services/abcd-1234/FeatureServer/0")
    assert files.PROTOCOL.public_url(**{**where, "url": "https://x.org/f.csv"}) == "https://x.org/f.csv"
    assert files.PROTOCOL.location(domain=None, url="https://x.org/f.csv", replay="f.csv",
                                   replay_base="http://127.0.0.1:9") == "http://127.0.0.1:9/files/f.csv"
    assert ckan.PROTOCOL.location(domain="d.org", url=None, replay=None, replay_base=None) == "https://d.org"
    assert osm.PROTOCOL.address_problem(domain="d", dataset_id="x", url=None, replay=None) == \
        "protocol 'osm' needs 'url' or 'replay'"


def test_unknown_protocol_suggests_the_close_one():
    with pytest.raises(KeyError, match="did you mean 'socrata'"):
        connectors.protocol("socrta")


def test_a_plugin_registers_and_unregisters_and_builtins_stay():
    connectors.register(toy_protocol.PROTOCOL)
    replay.register_handler(toy_protocol.HANDLER)
    try:
        assert connectors.protocol("toy") is toy_protocol.PROTOCOL and replay.handler_for("toy") is toy_protocol.HANDLER
        other = toy_protocol.Protocol(**{**toy_protocol.PROTOCOL.__dict__, "summary": "another toy"})
        with pytest.raises(ValueError, match="already registered"):
            connectors.register(other)
    finally:
        connectors.unregister("toy")
        replay.unregister_handler("toy")
    assert "toy" not in connectors.protocols() and replay.handler_for("toy") is None
    with pytest.raises(ValueError, match="built in"):
        connectors.unregister("socrata")


def test_entry_point_plugins_are_read(monkeypatch):
    class EntryPoint:
        name, value = "toy", "tests.connectors.toy_protocol:PROTOCOL"

        def load(self):
            return toy_protocol.PROTOCOL

    monkeypatch.setattr(registry, "_entry_points_read", False)
    monkeypatch.setattr(registry, "entry_points", lambda group: [EntryPoint()] if group == "civicmash.connectors" else [])
    try:
        assert connectors.protocol("toy") is toy_protocol.PROTOCOL
    finally:
        connectors.unregister("toy")


def test_a_route_for_a_protocol_without_handler_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no replay handler for protocol"):
        replay.ReplayPortal(tmp_path, [replay.Route("toy", "x", "x.json")])
