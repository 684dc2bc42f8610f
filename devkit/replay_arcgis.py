"""The replay portal's ArcGIS handler: FeatureServer layer 0 (``?f=json`` info and ``/query``) from a GeoJSON export."""


import csv
import re
import sys
from pathlib import Path
from typing import Any

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))   # WKT cells in park exports exceed the 131,072 default


from .replay_portal import ReplayHandler, ReplayPortal, ReplayRequest, Reply, Route, load_features


def _arcgis_error(code: int, message: str) -> Reply:
    return Reply(200, {"error": {"code": code, "message": message, "details": []}})




_ESRI_GEOMETRY = {"Point": "esriGeometryPoint", "MultiPoint": "esriGeometryMultipoint",
                  "LineString": "esriGeometryPolyline", "MultiLineString": "esriGeometryPolyline",
                  "Polygon": "esriGeometryPolygon", "MultiPolygon": "esriGeometryPolygon"}


class _ArcgisLayer:
    """A GeoJSON source as FeatureServer layer 0; OBJECTID is the 1-based feature index."""

    OID = "OBJECTID"

    def __init__(self, features: list[dict], max_records: int, name: str):
        self.features, self.max_records, self.name = features, max_records, name
        self.fields = list(dict.fromkeys(k for f in features for k in (f.get("properties") or {}) if k != self.OID))

    @classmethod
    def load(cls, path: Path, max_records: int, name: str) -> "_ArcgisLayer":
        return cls(load_features(path), max_records, name)

    def info(self, q: dict) -> Reply:
        gtype = next((f["geometry"]["type"] for f in self.features if f.get("geometry")), "Point")
        fields = [{"name": self.OID, "type": "esriFieldTypeOID", "alias": self.OID}] + [
            {"name": k, "type": self._field_type(k), "alias": k} for k in self.fields]
        return Reply(200, {
            "currentVersion": 10.91, "id": 0, "name": self.name, "type": "Feature Layer",
            "geometryType": _ESRI_GEOMETRY.get(gtype, "esriGeometryPoint"), "objectIdField": self.OID,
            "maxRecordCount": self.max_records, "supportsPagination": True,
            "advancedQueryCapabilities": {"supportsPagination": True, "supportsOrderBy": True},
            "fields": fields})

    def _field_type(self, key: str) -> str:
        sample = next((f["properties"][key] for f in self.features
                       if (f.get("properties") or {}).get(key) is not None), None)
        if isinstance(sample, bool) or not isinstance(sample, (int, float)):
            return "esriFieldTypeString"
        return "esriFieldTypeInteger" if isinstance(sample, int) else "esriFieldTypeDouble"

    def query(self, q: dict, *, count_skew: int = 0) -> Reply:
        where = q.get("where", "1=1").replace(" ", "")
        if where not in ("", "1=1"):
            raise _arcgis_error(400, f"the replay portal supports only where=1=1 (got {q['where']!r})")
        oids = list(range(1, len(self.features) + 1))
        if q.get("objectIds"):
            try:
                wanted = {int(x) for x in q["objectIds"].split(",") if x.strip()}
            except ValueError:
                raise _arcgis_error(400, "objectIds must be integers") from None
            oids = [o for o in oids if o in wanted]
        oids = self._order(oids, q.get("orderByFields", ""))
        if q.get("returnCountOnly", "").lower() == "true":   # {"count": n}, in f=json and f=geojson alike
            return Reply(200, {"count": len(oids) + count_skew})
        if q.get("returnIdsOnly", "").lower() == "true":
            return Reply(200, {"objectIdFieldName": self.OID, "objectIds": oids})
        if q.get("f", "json") != "geojson":
            raise _arcgis_error(400, "the replay portal answers queries with f=geojson only")
        offset = int(q.get("resultOffset") or 0)
        count = min(int(q.get("resultRecordCount") or self.max_records), self.max_records)
        page = oids[offset:offset + count]
        out_fields = q.get("outFields", "*")
        keep = None if out_fields.strip() in ("*", "") else {f.strip() for f in out_fields.split(",")}
        body: dict[str, Any] = {"type": "FeatureCollection", "features": [self._feature(o, keep) for o in page]}
        if offset + len(page) < len(oids):
            body["properties"] = {"exceededTransferLimit": True}
        return Reply(200, body, "application/geo+json; charset=utf-8")

    def _order(self, oids: list[int], spec: str) -> list[int]:
        for term in reversed([t.strip() for t in spec.split(",") if t.strip()]):
            name, _, direction = term.partition(" ")
            if name != self.OID and name not in self.fields:
                raise _arcgis_error(400, f"orderByFields: no field {name!r}")
            def key(o, name=name):
                v = o if name == self.OID else (self.features[o - 1].get("properties") or {}).get(name)
                return (v is None, str(v) if not isinstance(v, (int, float)) else v)
            oids = sorted(oids, key=key, reverse=direction.strip().upper() == "DESC")
        return oids

    def _feature(self, oid: int, keep: set | None) -> dict:
        f = self.features[oid - 1]
        props = {k: v for k, v in (f.get("properties") or {}).items() if keep is None or k in keep}
        props[self.OID] = oid
        return {"type": "Feature", "id": oid, "geometry": f.get("geometry"), "properties": props}



class ArcgisReplay(ReplayHandler):
    """ArcGIS FeatureServer layer 0 (``?f=json`` info and ``/query``) from a GeoJSON export."""

    protocol = "arcgis"
    _PATH = re.compile(r"/arcgis/rest/services/([^/]+)/FeatureServer/(\d+)(/query)?/?")

    def route(self, *, dataset_id: str, path: str, options: Any = None) -> Route:
        return Route(self.protocol, dataset_id, path, max_records=getattr(options, "replay_max_records", None))

    def load(self, portal: ReplayPortal, route: Route) -> "_ArcgisLayer":
        return _ArcgisLayer.load(portal.source(route)[0], route.max_records or 1000, route.dataset_id)

    def answer(self, portal: ReplayPortal, request: ReplayRequest) -> Reply | None:
        m = self._PATH.fullmatch(request.path)
        if not m:
            return None
        layer = portal.table(self.protocol, m.group(1)) if m.group(2) == "0" else None
        if layer is None:
            raise Reply(404, {"error": True, "message": f"Service {m.group(1)} layer {m.group(2)} not found"})
        skew = portal.count_skew.get(m.group(1), 0)
        return layer.query(request.query, count_skew=skew) if m.group(3) else layer.info(request.query)

    def endpoint(self, *, dataset_id: str, fmt: str) -> str:
        return f"/arcgis/rest/services/{dataset_id}/FeatureServer/0/query"


