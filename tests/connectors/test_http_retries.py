"""http.get: which answers are retried, Retry-After, and the FetchError message."""
from __future__ import annotations

import pytest

from civicmash.connectors import http
from civicmash.devkit.replay import ReplayPortal


def test_html_200_is_a_fault_not_data(tmp_path, fast_session):
    (tmp_path / "page.json").write_text('{"ok": true}')
    with ReplayPortal(tmp_path, [], faults=1.0, seed=4) as portal:     # every answer is a fault
        with pytest.raises(http.FetchError) as err:
            http.get(portal.base_url + "/files/page.json", session=fast_session, retries=5, dataset="d", page=2)
    assert err.value.tries == 6 and "page 2" in str(err.value) and "dataset d" in str(err.value)


def test_success_after_faults(tmp_path, fast_session):
    (tmp_path / "page.json").write_text('{"ok": true}')
    with ReplayPortal(tmp_path, [], faults=0.5, seed=9) as portal:
        tries = [http.get(portal.base_url + "/files/page.json", session=fast_session).tries for _ in range(10)]
    assert max(tries) > 1


def test_retry_after_and_delays():
    assert http._retry_after("0") == 0.0 and http._retry_after("2.5") == 2.5
    assert http._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0      # a date in the past: no wait
    cfg = http._Config(backoff=1.0, max_backoff=8.0)
    assert http._delay(1, cfg, 3.0) == 3.0 and http._delay(1, cfg, 100.0) == 8.0
    assert 0.5 <= http._delay(1, cfg, None) <= 1.5 and 4.0 <= http._delay(4, cfg, None) <= 12.0


def test_client_errors_are_not_retried(tmp_path, fast_session):
    with ReplayPortal(tmp_path, []) as portal:
        with pytest.raises(http.FetchError) as err:
            http.get(portal.base_url + "/files/nope.json", session=fast_session)
    assert err.value.tries == 1 and "HTTP 404" in str(err.value)


def test_app_token_headers(monkeypatch):
    monkeypatch.delenv("CIVICMASH_NO_TOKEN", raising=False)
    assert http.app_token_headers("CIVICMASH_NO_TOKEN") == {} and http.app_token_headers(None) == {}
    monkeypatch.setenv("CIVICMASH_TOKEN_X", "abc")
    assert http.app_token_headers("CIVICMASH_TOKEN_X") == {"X-App-Token": "abc"}
