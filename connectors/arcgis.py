"""ArcGIS FeatureServer connector: layer info for maxRecordCount, then ``query`` paged by resultOffset."""
from __future__ import annotations

from typing import Iterator

import requests
from pydantic import Field

import civicmash.connectors.http as http
from civicmash.connectors.protocol import FetchRequest, Protocol, ProtocolOptions
from civicmash.connectors.pages import Page, feature_record, features_of, offset_pages


def iter_pages(base_url: str, service: str, *, layer: int = 0, page_size: int | None = None,
               dataset_name: str | None = None, session: requests.Session | None = None) -> Iterator[Page]:
    """Yield every feature of ``<base_url>/arcgis/rest/services/<service>/FeatureServer/<layer>``.

    Page size is ``min(page_size, maxRecordCount)``; features are ordered by the object-id field and
    paging stops when ``exceededTransferLimit`` (top level or under ``properties``) is absent or false.
    Records are the feature properties plus ``_geometry``.
    """
    layer_url = f"{base_url.rstrip('/')}/arcgis/rest/services/{service}/FeatureServer/{layer}"
    name = dataset_name or service
    info = _json(http.get(layer_url, params={"f": "json"}, session=session, dataset=name, page=0), layer_url, name)
    max_records = int(info.get("maxRecordCount") or 1000)
    size = min(page_size or max_records, max_records)
    oid = _object_id_field(info)

    def fetch(number: int, offset: int):
        params = {"where": "1=1", "outFields": "*", "outSR": 4326, "f": "geojson", "orderByFields": oid,
                  "resultOffset": offset, "resultRecordCount": size}
        response = http.get(f"{layer_url}/query", params=params, session=session, dataset=name, page=number)
        body = _json(response, response.url, name, number)
        try:
            records = [feature_record(f) for f in features_of(body)]
        except ValueError as e:
            raise http.FetchError(name, response.url, number, response.tries, str(e)) from None
        more = bool(body.get("exceededTransferLimit") or (body.get("properties") or {}).get("exceededTransferLimit"))
        meta = {"protocol": "arcgis", "service": service, "layer": layer, "format": "geojson", "offset": offset,
                "max_record_count": max_records, "object_id_field": oid, "tries": response.tries, "crs": "EPSG:4326"}
        return records, response.url, meta, more

    return offset_pages(fetch)


def _json(response: requests.Response, url: str, name: str, page: int = 0) -> dict:
    """The JSON body; ArcGIS reports errors as HTTP 200 with an ``error`` member."""
    body = http.json_body(response)
    if not isinstance(body, dict) or "error" in body:
        error = body.get("error") if isinstance(body, dict) else body
        raise http.FetchError(name, url, page, response.tries, f"ArcGIS error: {error}")
    return body


def _object_id_field(info: dict) -> str:
    if info.get("objectIdField"):
        return info["objectIdField"]
    for f in info.get("fields") or []:
        if f.get("type") == "esriFieldTypeOID":
            return f["name"]
    return "OBJECTID"


def count_rows(base_url: str, service: str, *, layer: int = 0, dataset_name: str | None = None,
               session: requests.Session | None = None) -> int:
    """The layer's own feature count: ``.../FeatureServer/<layer>/query?where=1=1&returnCountOnly=true&f=json``,
    answered as ``{"count": <n>}`` (an ``error`` member, even with HTTP 200, raises FetchError)."""
    url = f"{base_url.rstrip('/')}/arcgis/rest/services/{service}/FeatureServer/{layer}/query"
    name = dataset_name or service
    response = http.get(url, params={"where": "1=1", "returnCountOnly": "true", "f": "json"}, session=session,
                        dataset=name, page=0)
    body = _json(response, response.url, name)
    try:
        return int(body["count"])
    except (KeyError, TypeError, ValueError):
        raise http.FetchError(name, response.url, 0, response.tries,
                              f"returnCountOnly: no integer count in {str(body)[:200]}") from None


# --- declaration: what the rest of civicmash knows of this protocol (connectors/protocol.py) ------------

class ArcgisOptions(ProtocolOptions):
    """Options of an ``arcgis`` dataset (a FeatureServer service named by ``dataset_id``)."""

    layer: int = Field(0, ge=0, description="the FeatureServer layer to read", examples=[0])
    page_size: int | None = Field(None, ge=1, description="features per request; default and ceiling: the "
                                  "layer's maxRecordCount", examples=[1000])
    replay_max_records: int | None = Field(None, ge=1, description="offline runs only: the maxRecordCount the "
                                           "replay portal announces for this layer (default 1000)", examples=[500])


def _fetch(request: FetchRequest) -> Iterator[Page]:
    o: ArcgisOptions = request.options  # type: ignore[assignment]
    return iter_pages(request.location, request.dataset_id, layer=o.layer, page_size=o.page_size,
                      dataset_name=request.dataset, session=request.session)


def _count(request: FetchRequest) -> int:
    o: ArcgisOptions = request.options  # type: ignore[assignment]
    return count_rows(request.location, request.dataset_id, layer=o.layer, dataset_name=request.dataset,
                      session=request.session)


PROTOCOL = Protocol(
    name="arcgis", summary="ArcGIS REST FeatureServer layer, queried as GeoJSON and paged by resultOffset",
    formats=("geojson",), addressing="portal", options=ArcgisOptions, fetch=_fetch,
    dataset_path="/arcgis/rest/services/{dataset_id}/FeatureServer/0", count=_count)
