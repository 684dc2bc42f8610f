"""Resume support: which pages of a fetch are already in the landing zone.

``Checkpoint(directory)`` keeps ``_checkpoint.json`` next to the landing files. After a page's files are
written, ``record(page, file=...)`` adds it (page number, offset, record count, file, watermark) and
rewrites the JSON atomically (temporary file, fsync, rename), so a crash leaves either the old or the new
checkpoint, never a torn one. ``resume()`` gives the ``start_page``/``start_offset`` for the connector::

    cp = Checkpoint(landing_dir)
    for page in socrata.iter_pages(url, dataset, **cp.resume()):
        cp.record(page, file=landing.write_page(page, directory=landing_dir))
    cp.finish()
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from civicmash.connectors.pages import Page

FILE_NAME = "_checkpoint.json"


class Checkpoint:
    """The completed pages of one fetch into ``directory`` (a landing directory)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / FILE_NAME
        self._state = self._read()

    def _read(self) -> dict:
        try:
            state = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"pages": [], "complete": False}
        except ValueError as exc:
            raise ValueError(f"{self.path}: not a valid checkpoint ({exc}); delete it to start over") from None
        state.setdefault("pages", [])
        state.setdefault("complete", False)
        return state

    @property
    def pages(self) -> list[dict]:
        """Completed pages in order: ``{"page", "offset", "records", "file", "watermark"}``."""
        return list(self._state["pages"])

    @property
    def complete(self) -> bool:
        return bool(self._state["complete"])

    @property
    def records(self) -> int:
        return sum(p["records"] for p in self._state["pages"])

    def last(self) -> dict | None:
        return self._state["pages"][-1] if self._state["pages"] else None

    def record(self, page: Page, *, file: str | os.PathLike | None = None) -> None:
        """Mark ``page`` as done (call after its landing file is written). Pages must come in order."""
        last = self.last()
        expected = 1 if last is None else last["page"] + 1
        if page.number != expected:
            raise ValueError(f"{self.path}: page {page.number} recorded after page {expected - 1}")
        offset = page.meta.get("offset")
        if offset is None:
            offset = 0 if last is None else last["offset"] + last["records"]
        entry = {"page": page.number, "offset": int(offset), "records": page.row_count,
                 "file": None if file is None else Path(file).name, "url": page.url,
                 "fetched_at": page.fetched_at.isoformat()}
        if page.meta.get("watermark") is not None:
            entry["watermark"] = page.meta["watermark"]
        self._state["pages"].append(entry)
        self._write()

    def finish(self) -> None:
        """Mark the fetch as complete (nothing left to resume)."""
        self._state["complete"] = True
        self._write()

    def resume(self) -> dict:
        """``{"start_page", "start_offset"}`` to continue after the last completed page (whose landing
        file must still exist); ``{"start_page": 1, "start_offset": 0}`` for a fresh start."""
        last = self.last()
        if last is None:
            return {"start_page": 1, "start_offset": 0}
        if last.get("file") and not (self.directory / last["file"]).exists():
            raise FileNotFoundError(f"{self.path}: page {last['page']} is recorded but its file "
                                    f"{last['file']} is missing; delete the checkpoint to start over")
        return {"start_page": last["page"] + 1, "start_offset": last["offset"] + last["records"]}

    def clear(self) -> None:
        """Forget everything (start the next fetch from page 1)."""
        self._state = {"pages": [], "complete": False}
        self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{FILE_NAME}.{os.getpid()}.tmp")
        with open(tmp, "w") as fh:
            json.dump(self._state, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


#: What a landing dir was fetched from (next to the checkpoint): a resume only continues the same fetch.
FETCH_FILE = "_fetch.json"
#: Sub-directory of a dataset's landing dir holding one directory per incremental run.
INCREMENTS_DIR = "increments"


def clear_landing(directory: Path) -> None:
    """Remove a landing dir's pages and increments (a full snapshot supersedes them)."""
    for old in directory.glob("page-*"):
        old.unlink()
    shutil.rmtree(directory / INCREMENTS_DIR, ignore_errors=True)


def prepare_landing(directory: str | os.PathLike, *, source: dict,
                    resumable: bool) -> tuple[Checkpoint, dict | None, list[str]]:
    """A dataset's landing dir, ready for a full fetch: ``(checkpoint, resume, notes)``.

    ``resume`` (``{"start_page", "start_offset"}``) when an *incomplete* checkpoint of a fetch from the
    same ``source`` (a JSON-able description, kept in ``_fetch.json``) can be continued and ``resumable``
    says the protocol can start mid-way; the completed pages are kept and any page written after the
    last recorded one is removed. Otherwise ``resume`` is None and the directory starts empty.
    ``notes`` says, in words for the run log, what happened (a damaged checkpoint, why no resume, ...).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    try:
        cp = Checkpoint(directory)
    except ValueError as exc:  # a damaged checkpoint: start over rather than fail
        notes.append(f"{exc}; starting from zero")
        (directory / FILE_NAME).unlink(missing_ok=True)
        cp = Checkpoint(directory)
    fetch_file = directory / FETCH_FILE
    try:
        same_source = json.loads(fetch_file.read_text()) == source
    except (OSError, ValueError):
        same_source = False
    resume = None
    if cp.pages and not cp.complete and resumable and same_source:
        try:
            resume = cp.resume()
        except FileNotFoundError as exc:
            notes.append(f"cannot resume ({exc}); starting from zero")
    if resume is None:
        cp.clear()
        clear_landing(directory)
        fetch_file.write_text(json.dumps(source))
        return cp, None, notes
    done = {Path(p["file"]).stem for p in cp.pages if p.get("file")}
    for stale in directory.glob("page-*"):  # a page written after the last recorded one is fetched again
        if stale.name.split(".")[0] not in done:
            stale.unlink()
    notes.append(f"resuming at page {resume['start_page']} (offset {resume['start_offset']})")
    return cp, resume, notes
