"""HTTP for connectors: one retrying ``get`` (and ``download``) with exponential backoff and jitter.

Retried: 429, 5xx, timeouts, connection errors, truncated bodies, and - where JSON was expected -
bodies that are not JSON (an HTML page with status 200 is a fault, not data). ``Retry-After`` is honoured.
Other 4xx answers fail at once. App tokens are read from an environment variable named by the caller
and sent as ``X-App-Token``; they are never logged nor put in URLs or error messages.
"""
from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 5          # retries after the first try, so up to 6 tries
USER_AGENT = "civicmash/0.1 (+open-data pipeline)"


class FetchError(Exception):
    """A page could not be fetched. The message names dataset, url, page number and number of tries."""

    def __init__(self, dataset: str | None, url: str, page: int | None, tries: int, reason: str,
                 status: int | None = None):
        self.dataset, self.url, self.page, self.tries, self.reason = dataset, url, page, tries, reason
        self.status = status    # the HTTP status of the last answer, when there was one
        super().__init__(f"dataset {dataset or '?'}: page {page if page is not None else '?'} of {url} "
                         f"failed after {tries} tr{'y' if tries == 1 else 'ies'}: {reason}")


@dataclass
class _Config:
    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT
    backoff: float = 0.5        # first backoff delay in seconds, doubled per try, with jitter
    max_backoff: float = 30.0
    politeness: float = 0.0     # minimum seconds between two requests to the same host


class _Retry(Exception):
    """A transient fault: try again."""

    def __init__(self, reason: str, retry_after: float | None = None, status: int | None = None):
        super().__init__(reason)
        self.retry_after, self.status = retry_after, status


class _Fail(Exception):
    """A permanent fault: give up now."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


def session(*, app_token_env: str | None = None, retries: int = DEFAULT_RETRIES,
            timeout: float = DEFAULT_TIMEOUT, backoff: float = 0.5, max_backoff: float = 30.0,
            politeness: float = 0.0) -> requests.Session:
    """A requests session carrying the retry settings that ``get`` uses by default."""
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    s.headers.update(app_token_headers(app_token_env))
    s.civicmash = _Config(retries, timeout, backoff, max_backoff, politeness)  # type: ignore[attr-defined]
    return s


def app_token_headers(env_var: str | None) -> dict[str, str]:
    """``{"X-App-Token": <value of $env_var>}``, or ``{}`` when no name is given or the variable is unset."""
    if not env_var:
        return {}
    token = os.environ.get(env_var, "").strip()
    if not token:
        log.info("app token variable %s is not set; fetching without a token", env_var)
        return {}
    return {"X-App-Token": token}


def get(url: str, *, params: dict | None = None, session: requests.Session | None = None,
        timeout: float | None = None, retries: int | None = None, expect: str = "json",
        headers: dict | None = None, dataset: str | None = None, page: int | None = None) -> requests.Response:
    """GET ``url`` with retries; returns the response with its body read.

    ``expect``: "json" (body must parse as JSON; ``json_body(response)`` then returns it without parsing
    again, ``response.json()`` is safe too), "text" (any non-HTML
    body) or "any". The number of tries is set as ``response.tries``. Raises FetchError.
    """
    def once(s: requests.Session, t: float) -> requests.Response:
        response = s.get(url, params=params, headers=headers, timeout=t)
        _check_status(response)
        response.content  # read the whole body now, so a truncated body raises here  # noqa: B018
        _check_body(response, expect)
        return response

    return _with_retries(once, url=_display_url(url, params), session=session, timeout=timeout,
                         retries=retries, dataset=dataset, page=page)


def json_body(response: requests.Response) -> Any:
    """The JSON body of a response from ``get(..., expect="json")``, without parsing it a second time."""
    if hasattr(response, "parsed_json"):
        return response.parsed_json
    return response.json()


def download(url: str, dest: Path, *, session: requests.Session | None = None, timeout: float | None = None,
             retries: int | None = None, headers: dict | None = None, dataset: str | None = None) -> Path:
    """Stream ``url`` to the file ``dest`` with the same retries as ``get``; returns ``dest``."""
    def once(s: requests.Session, t: float) -> Path:
        with s.get(url, headers=headers, timeout=t, stream=True) as response:
            _check_status(response)
            if _is_html(response, sniff=False) and not url.lower().endswith((".html", ".htm")):
                raise _Retry("got an HTML page instead of the file")
            expected = response.headers.get("Content-Length")
            size = 0
            with open(dest, "wb") as out:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    out.write(chunk)
                    size += len(chunk)
            if expected is not None and expected.isdigit() and size != int(expected):
                raise _Retry(f"truncated body: {size} of {expected} bytes")
        return dest

    return _with_retries(once, url=url, session=session, timeout=timeout, retries=retries,
                         dataset=dataset, page=None)


# --- internals -------------------------------------------------------------------------------------

def _with_retries(once, *, url, session, timeout, retries, dataset, page) -> Any:
    s = session or _default_session()
    cfg: _Config = getattr(s, "civicmash", None) or _Config()
    timeout = cfg.timeout if timeout is None else timeout
    retries = cfg.retries if retries is None else retries
    tries = 0
    while True:
        tries += 1
        _be_polite(url, cfg.politeness)
        try:
            result = once(s, timeout)
            if isinstance(result, requests.Response):
                result.tries = tries  # type: ignore[attr-defined]
            return result
        except _Fail as exc:
            raise FetchError(dataset, url, page, tries, str(exc), exc.status) from None
        except (_Retry, requests.Timeout, requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            reason = _reason(exc)
            if tries > retries:
                raise FetchError(dataset, url, page, tries, reason, getattr(exc, "status", None)) from None
            delay = _delay(tries, cfg, getattr(exc, "retry_after", None))
            log.warning("dataset %s page %s: %s; retry %d/%d in %.2fs", dataset, page, reason, tries,
                        retries, delay)
            time.sleep(delay)


def _check_status(response: requests.Response) -> None:
    code = response.status_code
    if code == 429 or code >= 500:
        said = _said(response)
        raise _Retry(f"HTTP {code}{': ' + said if said else ''}", _retry_after(response.headers.get("Retry-After")), code)
    if code >= 400:
        raise _Fail(f"HTTP {code}: {_said(response)}", code)


def _said(response: requests.Response) -> str:
    """What an error answer says, for the message: its JSON ``message`` (Socrata, our portal) or its first 300
    characters, on one line (control characters replaced)."""
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - a broken error body must not hide the status
        return ""
    try:
        body = json.loads(text)
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            text = body["message"]
    except ValueError:
        pass
    return "".join(c if c.isprintable() else " " for c in text[:300]).strip()


def _check_body(response: requests.Response, expect: str) -> None:
    if expect == "any":
        return
    if _is_html(response):
        raise _Retry(f"got an HTML page (status {response.status_code}) where {expect} was expected")
    if expect == "json":
        try:
            response.parsed_json = json.loads(response.content)  # parsed once; see ``json_body``
        except ValueError:
            raise _Retry(f"body is not valid JSON ({len(response.content)} bytes; truncated?)") from None


def _is_html(response: requests.Response, *, sniff: bool = True) -> bool:
    """HTML by Content-Type, or (``sniff``: body already read) by its first bytes."""
    if "html" in response.headers.get("Content-Type", "").lower():
        return True
    return sniff and response.content[:200].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _delay(tries: int, cfg: _Config, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, cfg.max_backoff)
    base = min(cfg.max_backoff, cfg.backoff * 2 ** (tries - 1))
    return base * random.uniform(0.5, 1.5)


def _reason(exc: Exception) -> str:
    if isinstance(exc, _Retry):
        return str(exc)
    if isinstance(exc, requests.Timeout):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        return f"connection error ({type(exc).__name__})"
    return f"truncated or undecodable body ({type(exc).__name__})"


_last_request: dict[str, float] = {}
_polite_lock = threading.Lock()


def _be_polite(url: str, delay: float) -> None:
    """Wait so that requests to one host are at least ``delay`` seconds apart."""
    if delay <= 0:
        return
    host = urlsplit(url).netloc
    with _polite_lock:
        wait = _last_request.get(host, 0.0) + delay - time.monotonic()
        _last_request[host] = time.monotonic() + max(wait, 0.0)
    if wait > 0:
        time.sleep(wait)


_default: requests.Session | None = None


def _default_session() -> requests.Session:
    global _default
    if _default is None:
        _default = session()
    return _default


def _display_url(url: str, params: dict | None) -> str:
    return requests.Request("GET", url, params=params).prepare().url or url
