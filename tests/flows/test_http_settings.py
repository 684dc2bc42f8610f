"""A profile's ``[http]`` table: timeouts, retries and per-host politeness for every dataset it fetches."""
from __future__ import annotations

import time

import pytest

from civicmash.cities.profile import HttpSpec, ProfileError, load_profile, parse_profile
from civicmash.connectors import http
from civicmash.devkit.replay import ReplayPortal
from civicmash.flows.sources import http_session


def test_chicago_is_polite_to_its_portal():
    spec = load_profile("chicago").http
    assert spec.min_interval == pytest.approx(0.2) and spec.retries == 5


def test_bad_http_settings_are_named():
    raw = {"name": "x", "title": "X", "http": {"timeout": 0},
           "datasets": {"d": {"protocol": "file", "table": "incidents", "format": "csv", "url": "http://x/d.csv"}}}
    with pytest.raises(ProfileError, match="timeout"):
        parse_profile(raw)


def test_min_interval_spaces_requests_to_one_host(tmp_path):
    (tmp_path / "a.json").write_text("[]")
    polite = http_session(HttpSpec(min_interval=0.15, retries=0))
    with ReplayPortal(tmp_path, []) as portal:
        started = time.perf_counter()
        for _ in range(5):
            http.get(portal.base_url + "/files/a.json", session=polite)
        assert time.perf_counter() - started >= 4 * 0.15
        # our own replay portal is not someone else's server: no politeness owed
        eager = http_session(HttpSpec(min_interval=5.0), replay=True)
        started = time.perf_counter()
        http.get(portal.base_url + "/files/a.json", session=eager)
        http.get(portal.base_url + "/files/a.json", session=eager)
        assert time.perf_counter() - started < 2.0


def test_timeout_and_retries_reach_the_connector(tmp_path):
    (tmp_path / "a.json").write_text("[]")
    session = http_session(HttpSpec(timeout=0.2, retries=2, backoff=0.01))
    with ReplayPortal(tmp_path, [], faults={"timeout": 1.0}, stall=1.0) as portal:
        with pytest.raises(http.FetchError) as err:
            http.get(portal.base_url + "/files/a.json", session=session, dataset="d")
    assert err.value.tries == 3 and "timeout" in str(err.value)
