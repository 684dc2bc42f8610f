"""Null-safe column fetches from DuckDB (fetchnumpy returns masked arrays)."""

from __future__ import annotations

import numpy as np


def fetch_columns(con, sql: str, params: list) -> dict[str, np.ndarray]:
    """Run parameterised ``sql``; floats get NaN for NULL, other types get None."""
    out = {}
    for name, arr in con.execute(sql, params).fetchnumpy().items():
        if np.ma.isMaskedArray(arr):
            if arr.dtype.kind == "f":
                arr = arr.filled(np.nan)
            elif arr.mask is np.ma.nomask or not arr.mask.any():
                arr = arr.data
            else:
                obj = arr.data.astype(object)
                obj[arr.mask] = None
                arr = obj
        out[name] = np.asarray(arr)
    return out
