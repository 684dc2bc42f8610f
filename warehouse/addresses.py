"""Street addresses compared as text: one normal form for matching a typed address or two records of one site,
and the block forms police portals write instead of house numbers (:func:`parse_block`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# street-type words as the USPS abbreviates them (the forms the portals mostly use)
_ABBREVIATIONS = (("STREET", "ST"), ("AVENUE", "AVE"), ("BOULEVARD", "BLVD"), ("ROAD", "RD"), ("DRIVE", "DR"),
                  ("PARKWAY", "PKWY"), ("PLACE", "PL"), ("COURT", "CT"),
                  # the shorter forms of the LAPD and other portals ("39TH AV", "WILSHIRE BL", "SUNSET WY")
                  ("AV", "AVE"), ("BL", "BLVD"), ("WY", "WAY"), ("HY", "HWY"))
_ABBREVIATE = [(re.compile(rf"\b{a}\b"), b) for a, b in _ABBREVIATIONS]
_STREET_TYPES = {w for pair in _ABBREVIATIONS for w in pair} | {"WAY", "LN", "LANE", "TER", "HWY", "SQ", "PLZ"}

# Block forms of police portals (regex, matched on upper-cased text with single spaces): named groups `number`
# (digits; an `X` stands for a digit) and `street`, optionally `dir` and `suffix`. Tried in this order: the
# catch-all "<number> <street>" last. The city profile names them (cities/place_options.py, `[places]`).
BLOCK_PRESETS: dict[str, str] = {
    "hundreds_xx": r"^(?P<number>\d{1,5}X{1,3})\s+(?P<street>\S.*)$",               # 012XX W MADISON ST
    "block_of": r"^(?P<number>\d{1,6})\s+(?:BLOCK|BLK\.?)(?:\s+OF)?\s+(?P<street>\S.*)$",  # 100 BLOCK OF MAIN ST
    "dc_bo": r"^(?P<number>\d{1,6})\s+B/O\s+(?P<street>\S.*)$",                   # 1400 B/O P ST NW
    "rounded_number": r"^(?P<number>\d{1,6})\s+(?P<street>[^\d\s].*)$",           # 1100 W  39TH  PL
}
DEFAULT_BLOCK_SIZE = 100
DEFAULT_BLOCK_PATTERNS: tuple[tuple[str, int], ...] = tuple((r, DEFAULT_BLOCK_SIZE) for r in BLOCK_PRESETS.values())


@dataclass(frozen=True)
class BlockAddress:
    """A block or an address read by :func:`parse_block`: the block's first house number (``block``, a multiple of
    ``size``), the house number when the text gives one exactly (``number``; None for ``012XX``), and the street in
    :func:`normalise_address` form (``W TAYLOR ST``)."""

    block: int
    number: int | None
    street: str
    size: int


def parse_block(text: str | None, *, patterns=DEFAULT_BLOCK_PATTERNS) -> BlockAddress | None:
    """Read ``text`` with the first of ``patterns`` ((regex, block size) pairs) that matches it; None when none
    does. ``012XX W MADISON ST`` -> block 1200 of ``W MADISON ST``; ``1101 W Taylor St`` -> number 1101, block 1100;
    ``1100 W  39TH   PL`` -> block 1100 of ``W 39TH PL``; ``1400 B/O P ST NW`` -> block 1400 of ``P ST NW``."""
    t = re.sub(r"\s+", " ", str(text or "").upper()).strip()
    for regex, size in patterns:
        m = re.match(regex, t, re.IGNORECASE)
        if not m:
            continue
        groups = m.groupdict()
        digits = groups["number"].upper()
        value = int(digits.replace("X", "0"))
        street = normalise_address(" ".join(groups.get(k) or "" for k in ("dir", "street", "suffix")))
        if not street:
            continue
        # an exact house number: no X, and nothing but spaces between it and the street ("100 BLOCK OF" is a block)
        after = min(m.start(k) for k in ("dir", "street") if groups.get(k))
        exact = "X" not in digits and not t[m.end("number"):after].strip()
        return BlockAddress(block=value // int(size) * int(size), number=value if exact else None,
                            street=street, size=int(size))
    return None


def street_key(text: str | None) -> str:
    """A street name as :func:`parse_block` gives it (``WILSHIRE BL`` -> ``WILSHIRE BLVD``), for comparing the
    street part of blocks, typed places and street segment names."""
    return normalise_address(text)
_ZIP = re.compile(r"[\s,]+\d{5}(-\d{4})?\s*$")
_STATE = re.compile(r"\s*,\s*[A-Z]{2}\s*$")      # ", IL" (a comma first: "ST" alone is a street type)


def normalise_address(text: str | None, *, city: str = "") -> str:
    """Upper case; street-type words abbreviated (STREET -> ST ...); ``.``, ``,`` and ``#`` read as spaces; the
    place after the street dropped: a trailing ZIP, a trailing ", XX" state code (or "XX" right before the ZIP),
    and then the city's name (``city``: the profile's slug, ``_`` read as a space) when it ends the address after
    a comma, a state or ZIP, or a street type. "3401 W Chicago Ave" keeps Chicago: there it names the street."""
    t = re.sub(r"\s+", " ", str(text or "").upper().replace(".", " ")).strip()
    place_cut = False
    if m := _ZIP.search(t):
        t, place_cut = t[:m.start()], True
        if st := re.search(r"\s[A-Z]{2}$", t):
            t = t[:st.start()]
    if m := _STATE.search(t):
        t, place_cut = t[:m.start()], True
    name = city.replace("_", " ").upper().strip()
    if name and (m := re.search(rf"(,\s*|\s){re.escape(name)}\s*,?\s*$", t)):
        before = t[:m.start()].rstrip(" ,").rsplit(" ", 1)[-1]
        if "," in m.group(1) or place_cut or before in _STREET_TYPES:
            t = t[:m.start()]
    t = re.sub(r"[,#]", " ", t)
    for pattern, short in _ABBREVIATE:
        t = pattern.sub(short, t)
    return re.sub(r"\s+", " ", t).strip()
