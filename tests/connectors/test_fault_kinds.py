"""Fault kinds one by one: each injected fault is seen by the client as what it is, and retried.

The replay portal takes a total fault rate (spread over every kind) or a rate per kind; a connector must
name the fault it gave up on, and survive each kind when it is not permanent.
"""
from __future__ import annotations

import pytest

from civicmash.connectors import http
from civicmash.devkit.replay import FAULT_KINDS, ReplayPortal, Route, fault_rates
from civicmash.flows import cli

# the reason a client gives when it gives up on each kind (retries=0: the first answer is the last)
REASONS = {
    "500": "HTTP 500",
    "429": "HTTP 429",
    "html": "got an HTML page",
    "truncated": "truncated",
    "drop": "connection error",
    "timeout": "timeout (ReadTimeout)",
}


def test_rates_total_or_per_kind():
    assert fault_rates(0.0) == {}
    spread = fault_rates(0.6)
    assert set(spread) == set(FAULT_KINDS) and sum(spread.values()) == pytest.approx(0.6)
    assert fault_rates({"429": 0.05, "timeout": 0.02}) == {"429": 0.05, "timeout": 0.02}
    with pytest.raises(ValueError, match="unknown fault kind teapot"):
        fault_rates({"teapot": 0.1})
    with pytest.raises(ValueError, match="at most 1"):
        fault_rates({"500": 0.7, "429": 0.7})
    with pytest.raises(ValueError, match="0..1"):
        fault_rates(1.5)


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_kind_is_named_when_the_client_gives_up(tmp_path, kind):
    (tmp_path / "page.json").write_text('{"ok": true}')
    session = http.session(retries=0, timeout=0.3)
    with ReplayPortal(tmp_path, [], faults={kind: 1.0}, stall=1.0) as portal:
        with pytest.raises(http.FetchError) as err:
            http.get(portal.base_url + "/files/page.json", session=session, dataset="crimes", page=3)
    assert REASONS[kind] in str(err.value)
    assert "dataset crimes" in str(err.value) and "page 3" in str(err.value) and err.value.tries == 1


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_kind_alone_is_survived(tmp_path, kind):
    """Half the requests fail with this one kind; every page still arrives, in order, exactly once."""
    rows = "".join(f"{i},name {i}\r\n" for i in range(40))
    (tmp_path / "t.csv").write_text("id,name\r\n" + rows)
    session = http.session(retries=12, backoff=0.01, max_backoff=0.02, timeout=0.5)
    from civicmash.connectors import socrata

    with ReplayPortal(tmp_path, [Route("socrata", "tttt-0001", "t.csv", "csv")], faults={kind: 0.5},
                      stall=0.6, seed=4) as portal:
        pages = list(socrata.iter_pages(portal.base_url, "tttt-0001", page_size=7, session=session))
    ids = [r["id"] for p in pages for r in p.records]
    assert ids == [str(i) for i in range(40)]
    assert max(p.meta["tries"] for p in pages) > 1


def test_per_kind_rates_only_inject_those_kinds(tmp_path):
    (tmp_path / "page.json").write_text('{"ok": true}')
    with ReplayPortal(tmp_path, [], faults={"429": 0.3}, seed=2) as portal:
        drawn = [portal.draw_fault() for _ in range(2000)]
    assert set(drawn) == {"429", None}
    assert 0.25 < drawn.count("429") / len(drawn) < 0.35


def test_cli_fault_flags(tmp_path, capsys):
    assert cli._fault_rates(0.0, ["429=0.05", "timeout=0.02"]) == {"429": 0.05, "timeout": 0.02}
    spread = cli._fault_rates(0.6, ["500=0"])
    assert spread["500"] == 0 and spread["429"] == pytest.approx(0.1)
    assert cli.main(["portal", "serve", str(tmp_path), "--city", "sample", "--fault", "teapot=0.1"]) != 0
    assert "unknown fault kind teapot" in capsys.readouterr().err
