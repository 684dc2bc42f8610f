"""Street addresses compared as text: one normal form for matching a typed address or two records of one site."""

from __future__ import annotations

import re

# street-type words as the USPS abbreviates them (the forms the portals mostly use)
_ABBREVIATIONS = (("STREET", "ST"), ("AVENUE", "AVE"), ("BOULEVARD", "BLVD"), ("ROAD", "RD"), ("DRIVE", "DR"),
                  ("PARKWAY", "PKWY"), ("PLACE", "PL"), ("COURT", "CT"))
_ABBREVIATE = [(re.compile(rf"\b{a}\b"), b) for a, b in _ABBREVIATIONS]
_STREET_TYPES = {w for pair in _ABBREVIATIONS for w in pair} | {"WAY", "LN", "LANE", "TER", "HWY", "SQ", "PLZ"}
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
