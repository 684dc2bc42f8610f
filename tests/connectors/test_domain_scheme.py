"""Portals as they are: a profile's ``domain`` may be a base URL with its own scheme (``http://host:port``).

A bare host is reached over https; ``http://127.0.0.1:5000`` (a local CKAN, an intranet portal, an emulator)
is used as written, where it used to become ``https://http//127.0.0.1:5000/...`` and send no request. The
end-to-end test starts the replay portal itself and runs the flow WITHOUT ``--replay``: to the flow the
loopback portal is the city's real portal, reached over real HTTP for Socrata, ArcGIS and CKAN.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from civicmash.cities.profile import ProfileError
from civicmash.connectors import protocol
from civicmash.devkit.city_portal import replay_routes
from civicmash.devkit.replay import ReplayPortal
from tests.flows.sample_variants import profile_of, variant

BUDGET_CKAN_ID = "sampleton-budget-2019"


@pytest.mark.parametrize("domain, base", [
    ("data.cityofchicago.org", "https://data.cityofchicago.org"),
    ("portal.example:8443", "https://portal.example:8443"),
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("http://intranet.example/ckan/", "http://intranet.example/ckan"),
    ("https://data.example.org", "https://data.example.org"),
])
def test_a_bare_host_keeps_https_and_a_scheme_is_kept(domain, base):
    socrata, ckan = protocol("socrata"), protocol("ckan")
    assert socrata.location(domain=domain, url=None, replay=None, replay_base=None) == base
    assert ckan.public_url(domain=domain, dataset_id="budget", url=None, replay=None) == f"{base}/dataset/budget"
    assert socrata.address_problem(domain=domain, dataset_id="abcd-1234", url=None, replay=None) is None


@pytest.mark.parametrize("domain, problem", [
    ("http//127.0.0.1:5000", "neither a bare host"),
    ("ftp://files.example", "the scheme must be http or https, not 'ftp'"),
    ("http://", "no host after http://"),
    ("https://data.example.org?x=1", "takes no query or fragment"),
    ("data.example.org:http", "neither a bare host"),
])
def test_a_domain_that_names_no_portal_is_a_profile_error(domain, problem):
    raw = variant(name="bad_domain", keep=["incidents"], changes={"incidents": {"domain": domain}})
    with pytest.raises(ProfileError, match=r"\[datasets\.incidents\] domain .*" + problem.replace("?", r"\?")):
        profile_of(raw)


def _rows_in_file(path: Path) -> int:
    if path.suffix == ".geojson":
        return len(json.loads(path.read_text(encoding="utf-8"))["features"])
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def _portal_profile(**domains: str) -> dict:
    """Crimes from Socrata, services from ArcGIS and the budget from CKAN, as the sample city serves them;
    ``domains``: dataset -> its domain (None keeps the sample's)."""
    ckan_budget = {"protocol": "ckan", "domain": "ckan.sampleton.example", "dataset_id": BUDGET_CKAN_ID,
                   "url": None}
    raw = variant(name="own_portal", keep=["incidents", "services", "spending"], changes={"spending": ckan_budget})
    for name, domain in domains.items():
        raw["datasets"][name]["domain"] = domain
    return raw


def test_the_flow_fetches_from_an_http_portal_without_replay(prefect_harness, sample_city_dir, tmp_path):
    from civicmash.flows.pipeline import civic_pipeline

    served = profile_of(_portal_profile())          # the replay paths say which file the portal serves
    with ReplayPortal(sample_city_dir, replay_routes(served, sample_city_dir)) as portal:
        raw = _portal_profile(**dict.fromkeys(("incidents", "services", "spending"), portal.base_url))
        for spec in raw["datasets"].values():
            spec.pop("replay")                       # no replay anywhere: the portal is the real one
        profile = profile_of(raw)
        assert profile.datasets["spending"].portal_url == f"{portal.base_url}/dataset/{BUDGET_CKAN_ID}"
        summary = civic_pipeline(profile.name, out=str(tmp_path), profile=profile, maps=[])
    got = {r["dataset"]: (r["rows_in"], r["rows_loaded"] + r["rows_quarantined"]) for r in summary["datasets"]}
    want = {name: _rows_in_file(sample_city_dir / spec.replay) for name, spec in served.datasets.items()}
    assert got == {name: (n, n) for name, n in want.items()}
    assert all(n > 0 for n in want.values())
    assert {r["dataset"]: r["pages"] > 1 for r in summary["ingest"]}["incidents"]   # paged over HTTP
