# %% [markdown]
# # civicmash in a notebook: the worked example of docs/notebook.md
#
# Paste the cells into Jupyter (or run the file: `.venv/bin/python docs/notebook_example.py`). It reads a
# warehouse the pipeline built; by default the synthetic sample city of `civicmash demo` (out/sample/). For a
# real city set CIVICMASH_CITY and CIVICMASH_OUT (e.g. `chicago` and `out` after `civicmash run chicago`) and,
# for the route, CIVICMASH_FROM / CIVICMASH_TO. tests/test_notebook_api.py runs this file against the sample
# city's warehouse, so every line here works.

# %%
import os
from pathlib import Path

import civicmash

CITY = os.environ.get("CIVICMASH_CITY", "sample")
OUT = os.environ.get("CIVICMASH_OUT", "out/sample")
MAPS = Path(os.environ.get("CIVICMASH_NOTEBOOK_MAPS", Path(OUT) / "notebook"))
# two places of Sampleton as "lat,lon"; a place can also be an address, a bar, a block or an intersection
FROM = os.environ.get("CIVICMASH_FROM", "42.303773,-87.259473")
TO = os.environ.get("CIVICMASH_TO", "42.305929,-87.239069")

city = civicmash.open(CITY, out=OUT)   # read-only; FileNotFoundError naming the path when there is no warehouse
print(city)

# %% [markdown]
# ## Incidents in a window, as points

# %%
incidents = city.incidents(days=30)            # the last 30 days of data (a GeoDataFrame, EPSG:4326)
start, end = incidents.attrs["window"]
print(f"{len(incidents):,} incidents from {start:%Y-%m-%d} to {end:%Y-%m-%d} (end excluded)")
print(incidents.groupby("primary_type").size().sort_values(ascending=False).head(5))
located = incidents[incidents.geometry.notna()]   # published without a location: geometry None, still counted

# %% [markdown]
# ## The safe route home: the shortest walk and the safer one (the numbers of `civicmash route`)

# %%
route = city.route(from_=FROM, to=TO, at="23:00")
print(route[["route", "length_m", "minutes", "exposure"]])
print(route.attrs["comparison"])

# %% [markdown]
# ## Walking areas and coverage gaps

# %%
walk10 = city.isochrones(category="library", minutes=10, kind="category")   # every library together
gaps = city.coverage_gaps(category="library", minutes=10)
print(gaps.sort_values("residents_beyond", ascending=False)
      [["area_name", "network_status", "share_area_beyond", "residents_beyond"]].head(5))

# %% [markdown]
# ## Incidents per area, with the rate per 1,000 residents (a count, not a hotspot statistic)

# %%
areas = city.hotspots(days=90)
print(areas[["area_name", "incidents", "population", "rate_per_1000", "rank"]].head(5))

# %% [markdown]
# ## Spending (no geometry: a DataFrame) and any read-only SQL

# %%
spending = city.spending_by_area()
print(spending.head(5))
types = city.sql("SELECT primary_type, count(*) AS n FROM incidents_current WHERE city = $city "
                 "GROUP BY 1 ORDER BY n DESC", city=CITY)
print(types.head(5))

# %% [markdown]
# ## Maps that work offline
#
# `civicmash.explore(gdf)` draws with folium, with Leaflet inlined from node_modules instead of CDNs and no base
# map (tiles come from the internet). In a notebook, the map shown under a cell is offline too.

# %%
m = civicmash.explore(walk10, name="10 minutes' walk from a library", color="#2ca02c", tooltip=["label", "minutes"])
civicmash.explore(route, column="route", name="walks", m=m)
route_map = civicmash.save_offline(m, MAPS / "route.html")
area_map = civicmash.save_offline(civicmash.explore(areas, column="rate_per_1000", name="incidents per 1,000"),
                                  MAPS / "areas.html")
print("maps:", route_map, area_map)

# %%
city.close()   # the read-only connection: while a notebook holds it, a pipeline run cannot write the warehouse
