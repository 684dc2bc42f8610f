"""The ``[areas]`` table of a profile: the city's own area kinds, and which one is its main one.

Every incident has four area columns, the *slots* ``beat``, ``district``, ``ward`` and ``community_area``
(warehouse/schema.py). ``[areas.<slot>]`` says what the city's slot holds: the boundaries ``kind`` whose
polygons fill and check it (default: the slot's own name), what people call it (``label``, ``plural``), how
its codes are written (``pad``) and a ``values`` map from the codes as published to the codes stored. ``[areas]
primary`` names the kind used for coverage gaps, the locator's "your area", the safe route's coverage words and
the explorer's rates per 1,000 residents. Without an ``[areas]`` table a profile gets Chicago's behaviour.

The warehouse may not import ``cities/``: it gets these settings as a plain dict (:meth:`AreasSpec.slots`,
the shape of ``warehouse._sqlexpr.DEFAULT_AREA_SLOTS``) from the flow, and its defaults are read from there so
docs/profile.md states the real ones.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from civicmash.warehouse._sqlexpr import AREA_SLOT_TYPES, DEFAULT_AREA_SLOTS

_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
SLOTS = tuple(DEFAULT_AREA_SLOTS)
"""The incidents' area columns, in the order the explorer lists their filters."""


def _plural(label: str) -> str:
    """``LAPD division`` -> ``LAPD divisions``, ``Neighbourhood`` -> ``neighbourhoods`` (as in a sentence)."""
    word = label[:1].lower() + label[1:] if label[1:2].islower() else label
    return word + "s"


class AreaSlot(BaseModel):
    """``[areas.<slot>]``: what one of the incidents' area columns holds in this city."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str | None = Field(None, description="the boundaries `kind` whose polygons fill this column where the "
                             "source left it empty and check it where it did not (default: the slot's name). A "
                             "kind the city has no boundaries for is not filled; boundaries of other kinds are "
                             "drawn, never stamped on incidents", examples=["lapd_division"])
    label: str | None = Field(None, description="what one area is called on the pages (the explorer's filter, "
                              "the rates table) (default: Chicago's: `Police beat`, `Police district`, `Ward`, "
                              "`Community area`)", examples=["LAPD division"])
    plural: str | None = Field(None, description="the same in the plural, lower case as in a sentence (\"every "
                               "street in 3 of 21 LAPD divisions\") (default: `police beats`, ...)",
                               examples=["LAPD divisions"])
    pad: int | None = Field(None, ge=0, le=12, description="numeric codes are zero-padded to this many digits "
                            "(`377` -> `0377`); `0` or unset: numbers lose their leading zeros (`01` -> `1`). Only "
                            "`beat` is stored as text and can be padded (default 4, Chicago's beats); `district`, "
                            "`ward` and `community_area` are integers", examples=[4])
    values: dict[str, str] = Field(default_factory=dict, description="code as published -> code stored, applied "
                                   "(trimmed, case-insensitively) to the incidents' stated codes and to the "
                                   "boundaries' codes of this kind before `pad`; a code not listed is kept",
                                   examples=[{"FIRST": "1", "Cluster 8": "8"}])

    @field_validator("kind")
    @classmethod
    def _slug(cls, v: str | None) -> str | None:
        if v is not None and not _KIND.match(v):
            raise ValueError(f"{v!r} must be a lower-case slug (letters, digits, underscore), as a boundaries kind")
        return v


class AreasSpec(BaseModel):
    """``[areas]``: the incidents' four area columns as this city fills them, and the city's primary area kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    primary: str | None = Field(None, description="the area kind of coverage gaps, the locator's \"your area\", "
                                "the safe route's coverage words and the explorer's rates per 1,000 residents "
                                "(population rows of this `area_kind`). Default: the first of `community_area`, "
                                "`neighborhood`, `neighbourhood`, `ward`, `district` the city has boundaries for",
                                examples=["lapd_division"])
    beat: AreaSlot = Field(default_factory=AreaSlot, description="the `beat` column (text)")
    district: AreaSlot = Field(default_factory=AreaSlot, description="the `district` column (integer)")
    ward: AreaSlot = Field(default_factory=AreaSlot, description="the `ward` column (integer)")
    community_area: AreaSlot = Field(default_factory=AreaSlot, description="the `community_area` column (integer)")

    @field_validator("primary")
    @classmethod
    def _slug(cls, v: str | None) -> str | None:
        if v is not None and not _KIND.match(v):
            raise ValueError(f"{v!r} must be a lower-case slug (letters, digits, underscore), as a boundaries kind")
        return v

    @model_validator(mode="after")
    def _check(self) -> "AreasSpec":
        problems = []
        seen: dict[str, str] = {}
        for slot, spec in self.slots().items():
            own = getattr(self, slot)
            if spec["kind"] in seen:
                problems.append(f"{slot}.kind: {spec['kind']!r} already fills {seen[spec['kind']]!r}: a kind "
                                "fills one column")
            seen.setdefault(spec["kind"], slot)
            if own.pad and AREA_SLOT_TYPES[slot] != "VARCHAR":
                problems.append(f"{slot}.pad: {slot} is stored as an integer (no leading zeros); only beat "
                                "(text) can be padded")
            if AREA_SLOT_TYPES[slot] != "VARCHAR":
                bad = [k for k, v in own.values.items() if not str(v).strip().lstrip("-").isdigit()]
                problems += [f"{slot}.values.{k}: {own.values[k]!r} is not a whole number ({slot} is stored as an "
                             "integer)" for k in bad]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def slots(self) -> dict[str, dict[str, Any]]:
        """Slot -> ``{"kind", "label", "plural", "pad", "values"}`` with the defaults filled in: the plain dict
        the warehouse, analysis and map functions get (``warehouse._sqlexpr.DEFAULT_AREA_SLOTS``'s shape)."""
        out = {}
        for slot, default in DEFAULT_AREA_SLOTS.items():
            own = getattr(self, slot)
            same = own.kind in (None, default["kind"])   # Chicago's kind: Chicago's words unless the profile says
            label = own.label or (default["label"] if same else str(own.kind).replace("_", " ").capitalize())
            out[slot] = {
                "kind": own.kind or default["kind"],
                "label": label,
                "plural": own.plural or (default["plural"] if same and not own.label else _plural(label)),
                "pad": (own.pad or None) if "pad" in own.model_fields_set else default["pad"],
                "values": {str(k): str(v) for k, v in own.values.items()},
            }
        return out

    def slot_of(self, kind: str | None) -> str | None:
        """The incident column ``kind`` fills, or None (a kind that is only drawn)."""
        return next((slot for slot, spec in self.slots().items() if spec["kind"] == kind), None)

    def plain(self) -> dict[str, Any]:
        """``{"primary": kind or None, "slots": {...}}``: what flows hand to warehouse, analysis and maps."""
        return {"primary": self.primary, "slots": self.slots()}
