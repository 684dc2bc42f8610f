"""``[offences]`` of a profile: the city's crosswalk from its own offence types onto the canonical categories.

The canonical set, its rules (case-insensitive values, ``*``/``?`` patterns, exact values winning over patterns,
no value in two categories) and the step that applies it live in the warehouse
(:mod:`civicmash.warehouse.offences`), which takes the crosswalk as a plain dict; this model checks a profile's
table against those same rules at load, so a mistake fails ``civicmash profile check`` naming the key, and gives
the safe route and the explorer their defaults when the profile has no ``[risk.categories]``.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicmash.warehouse.offences import (CATEGORIES, classifiable_columns, crosswalk_problems, is_pattern)

__all__ = ["OffencesSpec"]


class OffencesSpec(BaseModel):
    """``[offences]``: which incidents column holds the city's offence types, and the crosswalk from its values
    onto the canonical categories (homicide, robbery, assault, sexual_assault, burglary, theft,
    motor_vehicle_theft, criminal_damage, narcotics, weapons, other). A value no category takes is loaded with
    `offence` NULL and listed in the `offence_unmapped` table; list the values meant as `other` under `other`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field("primary_type", description="the incidents column the crosswalk reads: `primary_type`, "
                       "`description`, `iucr` or `fbi_code` (a canonical column the crimes dataset maps)",
                       examples=["primary_type"])
    crosswalk: dict[str, list[str]] = Field(
        default_factory=dict, description="canonical category -> the source values in it, compared "
        "case-insensitively with runs of spaces as one; `*` (any characters) and `?` (one character) make a "
        "pattern (`\"BURGLARY*\"`); an exact value wins over a pattern; a value in two categories, or two "
        "patterns of different categories that can match one value, are errors",
        examples=[{"theft": ["THEFT", "BURGLARY FROM VEHICLE"], "burglary": ["BURGLARY*"]}])

    @field_validator("field")
    @classmethod
    def _known_field(cls, v: str) -> str:
        known = sorted(classifiable_columns())
        if v not in known:
            close = difflib.get_close_matches(v, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{v!r} is not an incidents column the crosswalk can read{hint} (known: {', '.join(known)})")
        return v

    @field_validator("crosswalk")
    @classmethod
    def _usable(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        problems = crosswalk_problems(v)
        if problems:
            raise ValueError("; ".join(problems))
        return v

    def as_dict(self) -> dict[str, list[str]]:
        """The crosswalk as the plain dict :func:`civicmash.warehouse.offences.classify_incidents` takes."""
        return {category: list(values) for category, values in self.crosswalk.items()}

    def type_categories(self) -> dict[str, list[str]]:
        """The explorer's type groups from the crosswalk: canonical category -> primary types (and patterns), in
        the canonical order; empty unless the crosswalk reads ``primary_type`` (the column the explorer lists)."""
        if self.field != "primary_type":
            return {}
        return {name: [_glob(v) for v in self.crosswalk[name]] for name in CATEGORIES if self.crosswalk.get(name)}

    def type_weights(self, weights: dict[str, float]) -> dict[str, float]:
        """The safe route's primary type -> weight from the crosswalk: each category's values weigh as its weight
        class (person crimes and robbery 'violent', property 'property', society 'other'; see
        :data:`civicmash.warehouse.offences.CATEGORIES`), looked up in ``weights`` (``[risk.weights]``); ``"*"``
        (every other type, the members of `other` included) weighs 'other'. Patterns become the risk model's
        glob keys. Only ``"*"`` unless the crosswalk reads ``primary_type``."""
        other = weights.get("other", 0.5)
        out: dict[str, float] = {}
        if self.field == "primary_type":
            for name in CATEGORIES:
                if name == "other":   # left to "*": keeps the risk model's own NON-CRIMINAL* = 0
                    continue
                weight = weights.get(CATEGORIES[name].weight_class, other)
                for value in self.crosswalk.get(name, []):
                    out[_glob(str(value).strip().upper())] = weight   # as the risk model compares types
        out["*"] = other
        return out


def _glob(entry: str) -> str:
    """A crosswalk entry as the glob the risk model and the explorer match with (``fnmatch``): a pattern's ``[``
    is literal in a crosswalk, so it is escaped; an exact value is kept as written."""
    return entry.replace("[", "[[]") if is_pattern(entry) else entry
