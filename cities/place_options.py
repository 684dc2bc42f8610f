"""``[places]`` of a profile: how the city's portals write a block, so typed places resolve (closed and typed).

A police portal rarely publishes house numbers: it rounds them to the block and writes the block in its own way.
A city declares the forms its incidents' ``block`` column uses, and the resolver (:mod:`analysis.places`) reads
both those blocks and what a person types (``1101 W Taylor St``) with them. Most cities name built-in presets:

| preset | reads | e.g. |
|---|---|---|
| ``hundreds_xx`` | the hundreds with the last digits as ``X`` | ``012XX W MADISON ST`` |
| ``block_of`` | ``<n> BLOCK OF <street>``, ``<n> BLK <street>`` | ``100 Block of Main St``, ``100 BLK MAIN ST`` |
| ``dc_bo`` | ``<n> B/O <street>`` ("block of", Washington DC) | ``1400 B/O P ST NW`` |
| ``rounded_number`` | a house number already rounded to the block | ``1100 W  39TH   PL`` (LAPD) |

A pattern of one's own is a regular expression with the named groups ``number`` (digits, ``X`` standing for a
digit) and ``street``, optionally ``dir`` (a direction before the street) and ``suffix`` (after it), and the
``block_size`` the numbers are rounded to. The resolver gets them as plain values (:meth:`PlacesSpec.patterns`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicmash.warehouse.addresses import BLOCK_PRESETS, DEFAULT_BLOCK_SIZE

Preset = Literal["hundreds_xx", "block_of", "dc_bo", "rounded_number"]
PRESETS = BLOCK_PRESETS   # name -> regex (warehouse/addresses.py), tried in this order, the catch-all last
DEFAULT_PRESETS: tuple[str, ...] = tuple(PRESETS)
_REQUIRED_GROUPS = {"number", "street"}
_ALLOWED_GROUPS = _REQUIRED_GROUPS | {"dir", "suffix"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BlockPattern(_Strict):
    """One block form of the city's own: a regular expression (matched on upper-cased text with single spaces)."""

    regex: str = Field(description="regular expression with the named groups `number` and `street` (and "
                       "optionally `dir`, `suffix`); an `X` in the number stands for a digit",
                       examples=[r"^(?P<number>\d+)\s+HUNDRED\s+BLOCK\s+(?P<street>.+)$"])
    block_size: int = Field(100, ge=1, description="house numbers are rounded down to a multiple of this",
                            examples=[100])

    @field_validator("regex")
    @classmethod
    def _groups(cls, v: str) -> str:
        try:
            compiled = re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        groups = set(compiled.groupindex)
        if missing := _REQUIRED_GROUPS - groups:
            raise ValueError(f"needs the named groups {sorted(_REQUIRED_GROUPS)}; missing {sorted(missing)}")
        if extra := groups - _ALLOWED_GROUPS:
            raise ValueError(f"unknown named groups {sorted(extra)} (allowed: {sorted(_ALLOWED_GROUPS)})")
        return v


class PlacesSpec(_Strict):
    """``[places]``: the block forms of the city's incidents (``block`` column) and of typed addresses."""

    presets: list[Preset] = Field(list(DEFAULT_PRESETS), description="built-in block forms, tried in order "
                                  "(default all: hundreds_xx, block_of, dc_bo, rounded_number)",
                                  examples=[["rounded_number"]])
    block_size: int = Field(DEFAULT_BLOCK_SIZE, ge=1, description="house numbers per block of the presets",
                            examples=[100])
    patterns: list[BlockPattern] = Field(default_factory=list, description="block forms of the city's own, "
                                         "tried before the presets")

    def block_patterns(self) -> list[tuple[str, int]]:
        """(regex, block size) pairs in the order they are tried: the city's own, then the presets."""
        return [(p.regex, p.block_size) for p in self.patterns] + [(PRESETS[name], self.block_size)
                                                                   for name in self.presets]
