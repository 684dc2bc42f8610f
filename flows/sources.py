"""Bridge from a city profile to the connectors: which connector, which address, which replay route.

The connectors take plain parameters and know nothing of profiles; this module is the only place that
turns a :class:`~cities.profile.DatasetSpec` into a connector call.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

from civicmash.cities.profile import DatasetSpec, HttpSpec
from civicmash.connectors import arcgis, ckan, files, http, osm, socrata
from civicmash.connectors.pages import Page

#: Environment variable holding a Socrata app token, unless a dataset names another in options.
DEFAULT_TOKEN_ENV = "SOCRATA_APP_TOKEN"


class SourceError(RuntimeError):
    """A dataset that cannot be fetched as the profile describes it."""


def _base_url(spec: DatasetSpec, replay_base: str | None) -> str:
    return replay_base if replay_base else f"https://{spec.domain}"


def _file_url(name: str, spec: DatasetSpec, replay_base: str | None) -> str:
    if replay_base and spec.replay:
        return f"{replay_base}/files/{spec.replay}"
    if spec.url:
        return spec.url
    raise SourceError(f"dataset {name!r}: no 'url' to fetch from and no replay portal running")


def is_incremental(spec: DatasetSpec) -> bool:
    """Whether the profile asks for incremental runs of this dataset (Socrata with ``options.incremental``)."""
    return spec.protocol == "socrata" and spec.options.get("incremental") is True


def http_session(spec: HttpSpec | None = None, *, replay: bool = False) -> requests.Session:
    """A connector session with the profile's ``[http]`` timeout, retries, backoff and per-host politeness.

    ``replay``: the source is our own local replay portal, so the politeness interval (owed to other people's
    servers) is not applied; timeouts, retries and backoff are.
    """
    spec = spec or HttpSpec()
    return http.session(timeout=spec.timeout, retries=spec.retries, backoff=spec.backoff,
                        max_backoff=spec.max_backoff, politeness=0.0 if replay else spec.min_interval)


def iter_dataset_pages(name: str, spec: DatasetSpec, *, replay_base: str | None = None, since: str | None = None,
                       start_page: int = 1, start_offset: int = 0,
                       session: requests.Session | None = None) -> Iterator[Page]:
    """Pages of one dataset, from the real portal or (``replay_base``) the replay portal.

    ``session``: see :func:`http_session` (default: the connectors' default settings).

    ``since`` (a watermark) fetches only the rows updated after it; ``start_page``/``start_offset`` resume a
    full fetch after its last completed page. Both are Socrata-only (:class:`SourceError` otherwise).
    """
    opts = dict(spec.options)
    if spec.protocol != "socrata" and (since is not None or start_page != 1 or start_offset):
        raise SourceError(f"dataset {name!r}: incremental and resumed fetches are Socrata-only "
                          f"(protocol {spec.protocol!r})")
    page_size = int(opts.get("page_size", 50_000))
    if replay_base and not spec.replay:
        raise SourceError(f"dataset {name!r} has no 'replay' path, so it cannot be served offline")
    if spec.protocol == "socrata":
        # the connector reads the token from this environment variable itself: it never passes through here
        return socrata.iter_pages(_base_url(spec, replay_base), spec.dataset_id, fmt=spec.format,
                                  page_size=page_size, where=opts.get("where"),
                                  app_token_env=opts.get("app_token_env", DEFAULT_TOKEN_ENV),
                                  columnar=spec.format == "csv",  # Arrow pages: no Python dict per row
                                  dataset_name=name, since=since, start_page=start_page,
                                  start_offset=start_offset, session=session)
    if spec.protocol == "arcgis":
        return arcgis.iter_pages(_base_url(spec, replay_base), spec.dataset_id,
                                 layer=int(opts.get("layer", 0)), page_size=opts.get("page_size"),
                                 dataset_name=name, session=session)
    if spec.protocol == "ckan":
        return ckan.iter_pages(_base_url(spec, replay_base), spec.dataset_id, resource=opts.get("resource"),
                               page_size=int(opts.get("page_size", ckan.ROWS_MAX)), dataset_name=name,
                               session=session)
    if spec.protocol == "file":
        return files.iter_pages(_file_url(name, spec, replay_base), fmt=spec.format, page_size=page_size,
                                options=opts, dataset_name=name, session=session)
    if spec.protocol == "osm":
        return osm.iter_pages(_file_url(name, spec, replay_base), fmt=spec.format, page_size=page_size,
                              dataset_name=name, session=session)
    raise SourceError(f"dataset {name!r}: protocol {spec.protocol!r} has no connector yet")
