from civicmash.cities.profile import load_profile
from tests.warehouse.helpers import CHICAGO


def test_chicago_profile_is_valid_and_covers_the_bundle(chicago):
    p = load_profile("chicago")
    assert (p.name, p.title, p.timezone) == ("chicago", "Chicago", "America/Chicago")
    for name, spec in p.datasets.items():
        assert spec.replay and (CHICAGO / spec.replay).exists(), name
        for key in ("vertices", "edges"):
            if key in spec.options:
                assert (CHICAGO / spec.replay).with_name(spec.options[key]).exists(), name  # siblings
    kinds = {s.kind for s in p.datasets.values() if s.table == "boundaries"}
    assert kinds == {"community_area", "beat", "district", "ward", "tract", "neighbourhood"}
    cats = {s.kind for s in p.datasets.values() if s.table == "services"}
    assert cats == {"police", "fire", "warming_centre", "clinic", "library", "community_health_centre", "school",
                    "park", "ward_office"}
    assert p.datasets["crimes"].dataset_id == "ijzp-q8t2" and p.datasets["crimes"].options["page_size"] == 50000
    route = p.maps["safe_route"]
    for lat, lon in (route["from"], route["to"]):
        assert 41.851 <= lat <= 41.892 and -87.711 <= lon <= -87.627
    assert p.risk.type_weights()["HOMICIDE"] == 3.0
