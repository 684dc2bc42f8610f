"""Binary column blobs for the map pages: integer columns and a JSON header, deflated and base64-encoded.

Layout of the inflated bytes: a 4-byte little-endian length ``h``, ``h`` bytes of UTF-8 JSON (the header,
which lists the columns as ``[name, width, rows, off, nullable, delta]``), then each column in that order.
A column of ``rows`` values is stored as ``width`` byte planes (all low bytes, then all next bytes...), which
deflate compresses far better than interleaved integers. Stored value per row:

* ``v - off + 1`` for a nullable column (0 = null), ``v - off`` otherwise;
* with ``delta``, the zigzag-encoded difference to the previous stored value (0 before the first row).

The page inflates the blob with the browser's own ``DecompressionStream("deflate-raw")`` (no library) and
reverses these steps (``unpackBlob`` in ``maps/templates/packed.js``). The blob is base64, so portal
strings in the header can never close the HTML element around it; the page reads them with ``JSON.parse``.
"""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np

_WIDTH_DTYPES = {1: "<u1", 2: "<u2", 4: "<u4"}


def _zigzag(a: np.ndarray) -> np.ndarray:
    return np.where(a >= 0, 2 * a, -2 * a - 1)


def column(values, *, nullable: bool | None = None, delta: bool = False) -> dict:
    """One integer column: ``values`` is a sequence of ints (``None`` = null) or an int array."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        vals, mask = values.astype(np.int64), np.zeros(len(values), dtype=bool)
    else:
        items = list(values)
        mask = np.array([v is None for v in items], dtype=bool)
        vals = np.array([0 if v is None else int(v) for v in items], dtype=np.int64)
    has_null = bool(mask.any())
    nullable = has_null if nullable is None else (nullable or has_null)
    off = int(vals[~mask].min()) if (~mask).any() else 0
    stored = vals - off + (1 if nullable else 0)
    stored[mask] = 0
    if delta:
        stored = _zigzag(np.diff(stored, prepend=0))
    top = int(stored.max()) if len(stored) else 0
    width = next((w for w in (1, 2, 4) if top < 256 ** w), None)
    if width is None:
        raise ValueError(f"column values span {top}, more than 32 bits can hold")
    return {"stored": stored, "width": width, "off": off, "nullable": nullable, "delta": delta}


def pack(header: dict, columns: dict[str, dict], *, flush_after: str | None = None) -> dict:
    """``header`` (JSON-able) + named columns (from :func:`column`) -> ``{"z": base64, "raw": bytes before
    deflate}``. The column list is added to the header under ``"cols"``.

    ``flush_after``: a column's name; the deflate stream is flushed (``Z_SYNC_FLUSH``) after it, and
    ``"split"`` (a multiple of 4) says how many base64 characters of ``z`` hold the header and every column up to
    it: a page can carry ``z[:split]`` early and the rest late, and inflate that part before the rest arrives."""
    specs, parts = [], []
    for name, col in columns.items():
        stored, width = col["stored"], col["width"]
        specs.append([name, width, int(len(stored)), col["off"], int(col["nullable"]), int(col["delta"])])
        planes = stored.astype(_WIDTH_DTYPES[width]).view(np.uint8).reshape(len(stored), width)
        parts.append(np.ascontiguousarray(planes.T).tobytes())
    head = json.dumps({**header, "cols": specs}, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")
    first = len(parts) if flush_after is None else list(columns).index(flush_after) + 1
    raw = len(head).to_bytes(4, "little") + head + b"".join(parts)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    z = deflate.compress(len(head).to_bytes(4, "little") + head + b"".join(parts[:first]))
    if flush_after is None:
        return {"z": base64.b64encode(z + deflate.flush()).decode("ascii"), "raw": len(raw)}
    z += deflate.flush(zlib.Z_SYNC_FLUSH)   # ends with the empty stored block 00 00 ff ff: cutting up to two
    split = len(z) // 3 * 3                 # bytes of it keeps every byte before it decodable
    z += deflate.compress(b"".join(parts[first:])) + deflate.flush()
    return {"z": base64.b64encode(z).decode("ascii"), "raw": len(raw), "split": split // 3 * 4}


def unpack(blob: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """Inverse of :func:`pack` (for tests): ``(header, {name: float array with NaN for null})``."""
    raw = zlib.decompress(base64.b64decode(blob["z"]), -15)
    h = int.from_bytes(raw[:4], "little")
    header = json.loads(raw[4:4 + h].decode("utf-8"))
    pos, out = 4 + h, {}
    for name, width, rows, off, nullable, delta in header["cols"]:
        planes = np.frombuffer(raw, dtype=np.uint8, count=rows * width, offset=pos).reshape(width, rows)
        pos += rows * width
        stored = np.zeros(rows, dtype=np.int64)
        for k in range(width):
            stored |= planes[k].astype(np.int64) << (8 * k)
        if delta:
            stored = np.cumsum(np.where(stored % 2 == 1, -(stored + 1) // 2, stored // 2))
        vals = stored.astype(float)
        if nullable:
            vals = np.where(stored == 0, np.nan, stored - 1 + off)
        else:
            vals = vals + off
        out[name] = vals
    return header, out
