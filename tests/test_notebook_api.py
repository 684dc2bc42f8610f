"""`import civicmash` in a notebook (docs/notebook.md): a city's warehouse as GeoDataFrames, offline folium maps.

Over the sample city's real pipeline run (the session's ``sample_run``): the route is the one ``civicmash route
--format json`` prints, the walking areas are the stored polygons, the windows and counts agree with SQL, and the
worked example of docs/ runs as written. The maps in Chromium: tests/browser/test_notebook_explore.py.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import civicmash
from civicmash.offline_folium import OfflineMapWarning, remote_references

REPO = Path(__file__).resolve().parents[1]
FROM, TO = "42.303773,-87.259473", "42.305929,-87.239069"   # two places of Sampleton (tests/flows/test_cli.py)


@pytest.fixture(scope="module")
def out(sample_run) -> Path:
    return Path(sample_run["warehouse"]).parent


@pytest.fixture(scope="module")
def city(out):
    with civicmash.open("sample", out=out) as c:
        yield c


def test_import_civicmash_loads_no_dataframe_or_database_library():
    code = ("import sys, civicmash; heavy = ('geopandas', 'pandas', 'shapely', 'folium', 'duckdb', 'prefect'); "
            "print([m for m in heavy if m in sys.modules]); print(callable(civicmash.open))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "True"]


def test_open_without_a_warehouse_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere" / "civicmash.duckdb")):
        civicmash.open("sample", out=tmp_path / "nowhere")


def test_open_a_city_the_warehouse_does_not_hold(out):
    with pytest.raises(ValueError, match=r"holds no data of city 'chicago' \(it holds: sample\)"):
        civicmash.open("chicago", out=out)


def test_route_is_the_cli_route_as_two_linestrings(city, out, capsys):
    from civicmash.flows.cli import main

    assert main(["route", "--city", "sample", "--from", FROM, "--to", TO, "--at", "23:00", "--format", "json",
                 "--out", str(out)]) == 0
    cli = json.loads(capsys.readouterr().out)
    lat, lon = map(float, FROM.split(","))
    route = city.route(from_=(lat, lon), to=TO, at="23:00")
    assert route.crs.to_epsg() == 4326
    assert route["route"].tolist() == ["shortest", "recommended"]
    assert route.geom_type.tolist() == ["LineString", "LineString"]
    for row in route.itertuples():
        want = cli[row.route]
        assert (row.length_m, row.minutes, row.exposure) == (want["length_m"], want["minutes"], want["exposure"])
        assert [[round(y, 6), round(x, 6)] for x, y in row.geometry.coords] == want["coords"]   # lat,lon -> x=lon
    assert route.attrs["comparison"] == cli["comparison"]
    assert route.loc[1, "exposure"] < route.loc[0, "exposure"]   # the sample's safer walk avoids crime


def test_isochrones_are_the_stored_polygons_with_their_area(city):
    walk = city.isochrones(category="library", minutes=[5, 10])
    n = city.sql("SELECT count(*) AS n FROM isochrones WHERE city = 'sample' AND category = 'library' "
                 "AND minutes IN (5, 10)")["n"][0]
    assert len(walk) == n > 0
    assert set(walk.geom_type) <= {"Polygon", "MultiPolygon"} and walk.crs.to_epsg() == 4326
    assert set(walk["minutes"]) == {5, 10} and set(walk["kind"]) == {"category", "service"}
    metric = walk.to_crs(walk.estimate_utm_crs())   # lon/lat in the right order, or the areas are nonsense
    ratio = metric.geometry.area / walk["area_m2"]
    assert ratio.between(0.97, 1.03).all(), ratio.describe()
    assert city.isochrones(category=[]).empty and len(city.isochrones(kind="point")) == 3


def test_incidents_in_a_window_equal_a_sql_count(city):
    window = city.incidents(start="2018-09-01", end="2018-10-01")
    n = city.sql("SELECT count(*) AS n FROM incidents_current WHERE city = $city AND occurred_at >= $a "
                 "AND occurred_at < $b", city="sample", a="2018-09-01", b="2018-10-01")["n"][0]
    assert len(window) == n > 0
    assert window["occurred_at"].min() >= window.attrs["window"][0]
    located = window.geometry.notna()
    assert (window.loc[located, "lat"] == window.loc[located].geometry.y).all()
    assert window.loc[~located, "lat"].isna().all()   # kept without a location: it still counts
    last30 = city.incidents(days=30)
    start, end = last30.attrs["window"]
    assert (end - start).days == 30 and last30["occurred_at"].max() < end
    thefts = city.incidents(start="2018-09-01", end="2018-10-01", types="THEFT")
    assert set(thefts["primary_type"]) == {"THEFT"} and 0 < len(thefts) < n


def test_coverage_gaps_hotspots_and_spending_agree_with_the_tables(city):
    gaps = city.coverage_gaps(category="library", minutes=10)
    stored = city.sql("SELECT count(*) AS n, sum(residents_beyond) AS r FROM service_coverage "
                      "WHERE city = 'sample' AND category = 'library' AND threshold_min = 10")
    assert len(gaps) == stored["n"][0] and gaps["residents_beyond"].sum() == stored["r"][0]
    assert gaps.geometry.notna().all() and set(gaps.geom_type) <= {"Polygon", "MultiPolygon"}

    areas = city.hotspots(days=90)
    start, end = areas.attrs["window"]
    total = city.sql("SELECT count(*) AS n FROM incidents_current WHERE city = 'sample' AND occurred_at >= $a "
                     "AND occurred_at < $b", a=str(start), b=str(end))["n"][0]
    assert areas.attrs["kind"] == "community_area" and len(areas) == 9
    assert areas["incidents"].sum() + areas.attrs["unplaced"] == total
    top = areas.iloc[0]
    assert top["rank"] == 1 and top["rate_per_1000"] == round(top["incidents"] * 1000 / top["population"], 3)
    beats = city.hotspots(days=None, kind="beat")   # every incident, areas of another kind
    assert beats["incidents"].sum() + beats.attrs["unplaced"] == 6000 and beats["rate_per_1000"].isna().all()

    spending = city.spending_by_area()
    assert "geometry" not in spending.columns
    total_spent = city.sql("SELECT CAST(sum(amount) AS DOUBLE) AS a FROM spending WHERE city = 'sample'")["a"][0]
    assert spending["amount"].sum() == pytest.approx(total_spent)
    assert spending.groupby("fiscal_year")["share"].sum().round(9).eq(1).all()


def test_sql_is_the_guarded_read_only_sql_and_can_run_twice(city):
    from civicmash.warehouse.sql import ReadOnlyQueryError

    with pytest.raises(ReadOnlyQueryError):
        city.sql("DELETE FROM incidents")
    with pytest.raises(ReadOnlyQueryError):
        city.sql("SELECT * FROM read_csv('/etc/passwd')")
    assert city.sql("SELECT 1 AS one")["one"].tolist() == [1]
    assert len(city.incidents(days=1)) >= 0   # the city's own connection comes back after sql()
    assert city.sql("SELECT $x AS x", x="a")["x"].tolist() == ["a"]


def test_explore_escapes_portal_strings_and_a_plain_folium_map_goes_offline(city):
    import folium
    import geopandas
    from shapely.geometry import Point

    evil = geopandas.GeoDataFrame({"name": ["<img src=x onerror=alert(1)>"]}, geometry=[Point(-87.25, 42.3)],
                                  crs=4326)
    page = civicmash.explore(evil).get_root().render()
    assert "<img src=x" not in page   # HTML-escaped for folium's innerHTML tooltip, then JSON-escaped
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
    assert remote_references(page) == []

    m = folium.Map(location=[42.3, -87.25], zoom_start=13)   # OpenStreetMap tiles, CDN Leaflet, jQuery, Bootstrap
    folium.Marker([42.3, -87.25], popup="<b>popup</b>").add_to(m)
    assert any(u.startswith("https://") for u in remote_references(m.get_root().render()))
    with pytest.warns(OfflineMapWarning, match="base map"):
        civicmash.offline(m)
    page = m.get_root().render()
    assert remote_references(page) == [] and "openstreetmap" not in page.lower()
    import html

    shown = html.unescape(m._repr_html_())   # what a notebook cell displays (the page in an iframe's srcdoc)
    assert "<style>" in shown and remote_references(shown) == []


def test_the_worked_example_in_docs_runs(out, tmp_path, monkeypatch):
    script = REPO / "docs" / "notebook_example.py"
    assert "notebook_example.py" in (REPO / "docs" / "notebook.md").read_text(encoding="utf-8")
    monkeypatch.setenv("CIVICMASH_CITY", "sample")
    monkeypatch.setenv("CIVICMASH_OUT", str(out))
    monkeypatch.setenv("CIVICMASH_NOTEBOOK_MAPS", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error", OfflineMapWarning)   # the example's maps need nothing from outside
        done = runpy.run_path(str(script), run_name="__main__")
    assert done["city"]._con is None   # the example closes its connection
    assert len(done["route"]) == 2 and len(done["walk10"]) == 1
    for name in ("route.html", "areas.html"):
        page = (tmp_path / name).read_text(encoding="utf-8")
        assert remote_references(page) == [] and "leaflet" in page.lower()
