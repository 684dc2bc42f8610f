"""Shared by the health tests (status, alerts, deletion sweep): the tiny sample city, variants of its crimes
file, and a loopback webhook receiver (a real ``http.server`` that keeps every JSON body it is POSTed)."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROWS = 600   # the tiny sample city's incidents


def tiny_city(directory: Path) -> Path:
    from civicmash.devkit.sample_city import generate

    return generate(directory, seed=2008, size="tiny")


def write_crimes(city_dir: Path, name: str, change: Callable[[list[dict]], list[dict]]) -> str:
    """A copy of the tiny city's crimes file, its rows passed through ``change``; returns its replay path."""
    with open(city_dir / "crime" / "incidents.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    assert len(rows) == ROWS
    with open(city_dir / "crime" / name, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(change(rows))
    return f"crime/{name}"


@contextmanager
def webhook_receiver(status: int = 200) -> Iterator[tuple[str, list[dict]]]:
    """``(url, bodies)``: a loopback HTTP server answering every POST with ``status`` and keeping its JSON."""
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            bodies.append(json.loads(self.rfile.read(length) or b"null"))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/civicmash-secret-token", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
