"""A toy portal protocol written as a plugin would be: one connector declaration and one replay handler.

"Toy" serves a JSON array of objects at ``/toy/<dataset_id>?offset=N&limit=M`` as
``{"rows": [...], "more": bool}``. Nothing in civicmash names it: tests/connectors/test_toy_protocol.py
registers both parts and fetches a profile that uses it end to end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from civicmash.connectors import FetchRequest, Protocol, ProtocolOptions, http
from civicmash.connectors.pages import Page, flat_record, offset_pages
from civicmash.devkit.replay import Reply, ReplayHandler, ReplayPortal, ReplayRequest, Route

# --- the connector (what would live in the plugin's connector module) --------------------------------


class ToyOptions(ProtocolOptions):
    """Options of a ``toy`` dataset."""

    page_size: int = Field(2, ge=1, description="rows per request", examples=[2])


def _fetch(request: FetchRequest) -> Iterator[Page]:
    options: ToyOptions = request.options  # type: ignore[assignment]
    url = f"{request.location.rstrip('/')}/toy/{request.dataset_id}"

    def page(number: int, offset: int):
        response = http.get(url, params={"offset": offset, "limit": options.page_size}, session=request.session,
                            dataset=request.dataset, page=number)
        body = response.json()
        return [flat_record(r) for r in body["rows"]], response.url, {"protocol": "toy"}, body["more"]

    return offset_pages(page, start_page=request.start_page, start_offset=request.start_offset)


PROTOCOL = Protocol(name="toy", summary="a toy JSON portal, paged by offset", formats=("json",),
                    addressing="portal", options=ToyOptions, fetch=_fetch, dataset_path="/toy/{dataset_id}")


# --- the replay handler (what would live in the plugin's devkit module) -------------------------------


class ToyReplay(ReplayHandler):
    """Serves a saved JSON array under the toy protocol."""

    protocol = "toy"

    def load(self, portal: ReplayPortal, route: Route) -> list[dict[str, Any]]:
        return json.loads(portal.source(route)[0].read_text(encoding="utf-8"))

    def answer(self, portal: ReplayPortal, request: ReplayRequest) -> Reply | None:
        if not request.path.startswith("/toy/"):
            return None
        rows = portal.table(self.protocol, request.path.removeprefix("/toy/"))
        if rows is None:
            raise Reply(404, {"error": f"no toy dataset at {request.path}"})
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 2))
        return Reply(200, {"rows": rows[offset:offset + limit], "more": offset + limit < len(rows)})

    def endpoint(self, *, dataset_id: str, fmt: str) -> str:
        return f"/toy/{dataset_id}"


HANDLER = ToyReplay()
