"""A city's ``[money]`` block: the crosswalks that make budget years, funds and outcome names comparable, and
the price index for constant dollars. Data, not code: the warehouse reads it as a plain dict
(``MoneySpec.plain()``; ``warehouse/money.py``), the pages read the price index from it.

```toml
[money]
fund_code_width = 4          # '100' -> '0100'
account_code_width = 4       # 2019 '5' -> '0005', as published from 2023
price_index_source = "US BLS CPI-U, U.S. city average, all items, annual averages (1982-84=100)"
price_index_base_year = 2024
price_index = { 2019 = 255.657, 2024 = 313.689 }

[money.departments.38]       # id -> how it is shown; codes/names/years: which published lines get this id
label = "Department of Fleet and Facility Management"
abbrev = "2FM"

[money.departments.38-ais]   # the same published code 38 meant another department in 2023
label = "Department of Assets, Information and Services"
abbrev = "AIS"
codes = ["38"]
from_year = 2023
to_year = 2023

[[money.fund_recodes]]       # per-grant funds before 2025 pooled under one id
to = "GRANTS"
label = "Grant funds (one fund per grant before 2025, pooled)"
fund_types = ["GRANTS"]
to_year = 2024

[money.service_aliases]      # outcome name as published -> the services name it is
"Legler" = "Legler Regional"
```
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _YearRange(_Strict):
    from_year: int | None = Field(None, description="first fiscal year the entry applies to (inclusive); absent: "
                                  "every year before to_year", examples=[2023])
    to_year: int | None = Field(None, description="last fiscal year the entry applies to (inclusive); absent: "
                                "every year from from_year on", examples=[2024])

    @model_validator(mode="after")
    def _ordered(self) -> "_YearRange":
        if self.from_year is not None and self.to_year is not None and self.to_year < self.from_year:
            raise ValueError(f"to_year {self.to_year} is before from_year {self.from_year}")
        return self


class DepartmentSpec(_YearRange):
    """One department id of the crosswalk (the table key is the id, e.g. "91" or "38-ais")."""

    label: str | None = Field(None, description="the department's name spelled out for display (default: the "
                              "latest year's published name of the id, in title case)",
                              examples=["City Public Library"])
    abbrev: str | None = Field(None, description="its acronym, shown beside the label, never instead of it",
                               examples=["CPL"])
    codes: list[str] = Field(default_factory=list, description="published department codes (leading zeros "
                             "ignored) that get this id in the entry's years; default: the id itself",
                             examples=[["38"]])
    names: list[str] = Field(default_factory=list, description="published department names (any case, spaces "
                             "collapsed) that get this id, for sources without codes", examples=[["AGING"]])


class FundRecode(_YearRange):
    """Published funds recoded to one fund_id (applied after padding; the first rule that matches wins)."""

    to: str = Field(description="the fund_id the matching lines get", examples=["GRANTS"])
    label: str | None = Field(None, description="the fund_label of that id (default: the most common published "
                              "description)", examples=["Grant funds (pooled)"])
    codes: list[str] = Field(default_factory=list, description="padded fund codes that match (none: any code)",
                             examples=[["0B21", "GA00"]])
    fund_types: list[str] = Field(default_factory=list, description="published fund types (the mapped "
                                  "`fund_type` field, any case) that match (none: any type)", examples=[["GRANTS"]])
    except_codes: list[str] = Field(default_factory=list, description="padded fund codes never recoded by this "
                                    "rule", examples=[["0075"]])


class MoneySpec(_Strict):
    """How a city's money and outcomes datasets are made comparable across years (docs/warehouse.md)."""

    fund_code_width: int | None = Field(None, ge=1, le=12, description="all-digit fund codes are left-padded "
                                        "with zeros to this width in fund_id (none: as published)", examples=[4])
    account_code_width: int | None = Field(None, ge=1, le=12, description="all-digit account codes are "
                                           "left-padded with zeros to this width in account_code (none: as "
                                           "published)", examples=[4])
    departments: dict[str, DepartmentSpec] = Field(
        default_factory=dict, description="department crosswalk: id -> label, acronym and which published codes "
        "or names in which years get the id (a code that changed meaning gets a second id for its other years); "
        "ids not listed are the published code without leading zeros",
        examples=[{"91": {"label": "City Public Library", "abbrev": "CPL"}}])
    funds: dict[str, str] = Field(default_factory=dict, description="fund_id -> label shown for it (default: "
                                  "the most common published description of the year)",
                                  examples=[{"0100": "Corporate Fund"}])
    fund_recodes: list[FundRecode] = Field(default_factory=list, description="published funds recoded to one "
                                           "fund_id (e.g. per-grant funds pooled as a later year pools them)",
                                           examples=[[{"to": "GRANTS", "fund_types": ["GRANTS"], "to_year": 2024}]])
    service_aliases: dict[str, str] = Field(
        default_factory=dict, description="outcome entity name as published -> the services name it stands for "
        "(compared as lower-case letters and digits), for names the normalisation alone cannot match",
        examples=[{"Legler": "Legler Regional"}])
    price_index: dict[int, float] = Field(default_factory=dict, description="year -> price index value, for "
                                          "constant dollars; a year not listed is shown in nominal dollars and "
                                          "said so (never extrapolated)", examples=[{2019: 255.657, 2024: 313.689}])
    price_index_source: str | None = Field(None, description="the price index's name and publisher, stated "
                                           "beside every constant-dollar figure",
                                           examples=["US BLS CPI-U, U.S. city average, all items, annual averages"])
    price_index_base_year: int | None = Field(None, description="constant dollars are dollars of this year "
                                              "(must be a price_index year)", examples=[2024])

    @model_validator(mode="after")
    def _base_year(self) -> "MoneySpec":
        if self.price_index_base_year is not None and self.price_index_base_year not in self.price_index:
            raise ValueError(f"price_index_base_year {self.price_index_base_year} is not a price_index year "
                             f"({sorted(self.price_index)})")
        if self.price_index and not self.price_index_source:
            raise ValueError("price_index needs price_index_source (where the index comes from)")
        return self

    def plain(self) -> dict[str, Any]:
        """The block as plain values for the warehouse and the pages (which may not import ``cities/``)."""
        return self.model_dump(mode="python")
