"""Sampleton's money and outcomes (SYNTHETIC): more budget years, contracts, spending by community area with
points, and monthly library outcomes, in the real portals' wire formats and with their quirks (issue 16).

Called by :func:`civicmash.devkit.sample_city.generate` (which passes its geography in, so this module does not
import it). Small on purpose: the test suite runs the sample pipeline several times. Files (under the city's
directory; cities/sample.toml reads them):

- ``spending/budget_2023.csv``: the sodapy dump layout (lower-case headers, an amount column ``_ordinance_amount_``
  without a year, bare integers, account codes unpadded ``5``);
- ``spending/budget_2024.csv``: the portal export layout (every field quoted, ``"$1,234.00"``, negatives
  ``"$-5,000.00"``, department 95 printed under a new name);
- ``spending/contracts.csv``: contract revisions (a description with a line break, ZIP+4, ``MM/DD/YYYY``,
  alphanumeric numbers, negative revisions);
- ``spending/area_projects.csv``: projects by community area and year (an unnamed first column, like R's
  ``write.csv``) and ``spending/area_projects_points.geojson``: the 2024 projects again with points;
- ``outcomes/library_visitors_2023.csv`` (``LOCATION,ADDRESS,...``, trailing spaces and ``*`` footnote marks) and
  ``outcomes/library_visitors_2024.csv`` (``BRANCH,...,LOCATION`` with a WKT point; January-April only; a
  non-branch ``Online Renewals`` row and a blank-name grand-total row to exclude).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Callable

import numpy as np

MONTHS = ["JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER",
          "NOVEMBER", "DECEMBER"]
API_HEADER = ["fund_type", "fund_code", "fund_description", "department_number", "department_description",
              "appropriation_authority", "appropriation_authority_description", "appropriation_account",
              "appropriation_account_description", "_ordinance_amount_"]
EXPORT_HEADER = ["FUND TYPE", "FUND CODE", "FUND DESCRIPTION", "DEPARTMENT NUMBER", "DEPARTMENT DESCRIPTION",
                 "APPROPRIATION AUTHORITY", "APPROPRIATION AUTHORITY DESCRIPTION", "APPROPRIATION ACCOUNT",
                 "APPROPRIATION ACCOUNT DESCRIPTION", "2024 ORDINANCE (AMOUNT $)"]
CATEGORIES = ["Streets & Transportation", "Parks & Recreation", "Lighting", "Beautification"]
PROGRAMS = {"Streets & Transportation": ["Street Resurfacing", "Sidewalk Repair", "Speed Humps"],
            "Parks & Recreation": ["Playground Equipment", "Park Benches"], "Lighting": ["Street Light Upgrade"],
            "Beautification": ["Tree Planting", "Mural"]}
VENDORS = ["Lakeshore Paving Co., Inc.", "LAKESHORE PAVING CO", "Harbor Books LLC", "North Grove Landscaping Corp.",
           "Foundry Electric Company", "East Harbor Printing, Ltd."]


def _title(text: str) -> str:
    small = {"of", "and", "the", "for"}
    return " ".join(w if i and w in small else w.capitalize() for i, w in enumerate(text.lower().split()))


def _write_csv(path: Path, header: list[str], rows: list[list], *, quote_all: bool = False,
               terminator: str = "\n") -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")


def _budget_rows(lines: list[list[str]], rng: np.random.Generator, growth: float) -> list[tuple[list[str], int]]:
    """The 2019 lines (budget.csv, as written) grown by ``growth`` with some noise: (row, whole-dollar amount)."""
    out = []
    for row in lines:
        amount = int(round(int(row[-1]) * growth * rng.lognormal(0, 0.05), -2))
        out.append((row, amount))
    return out


def write_money(directory: Path, rng: np.random.Generator, *, budget_2019: Path, services: Path,
                area_of: Callable, to_latlon: Callable, extent: tuple[float, float], note: str) -> dict:
    """Write the money and outcome files into ``directory`` (the city's); returns facts for the README."""
    (directory / "outcomes").mkdir(parents=True, exist_ok=True)
    spending = directory / "spending"
    with open(budget_2019, newline="", encoding="utf-8") as fh:
        base = list(csv.reader(fh))[1:]
    facts: dict = {}

    # 2023: sodapy dump, lower-case headers, bare integers, account codes unpadded, names spelled out
    rows23 = []
    for row, amount in _budget_rows(base, rng, 1.12):
        rows23.append([row[0], row[1], _title(row[2]), row[3], _title(row[4]), row[5], _title(row[6]),
                       row[7].lstrip("0") or "0", _title(row[8]), str(amount)])
    rows23.append(["LOCAL", "0100", "Corporate Fund", "27", "Department of Finance", "0100027",
                   "Department of Finance", "901", "Savings from Vacancies", "-250000"])
    _write_csv(spending / "budget_2023.csv", API_HEADER, rows23)
    # 2024: portal export, every field quoted, "$1,234.00"; department 95 printed under a new name
    rows24 = []
    for row, amount in _budget_rows(base, rng, 1.17):
        dept = "Department of Parks, Recreation and Culture" if row[3] == "95" else _title(row[4])
        rows24.append([row[0], row[1], _title(row[2]), row[3], dept, row[5], dept, row[7], _title(row[8]),
                       f"${amount:,.2f}"])
    rows24.append(["LOCAL", "0100", "Corporate  Fund", "27", "Department of Finance", "0100027",
                   "Department of Finance", "0901", "Savings from Vacancies", "$-5,000.00"])
    _write_csv(spending / "budget_2024.csv", EXPORT_HEADER, rows24, quote_all=True)
    facts["budget"] = {"2023": len(rows23), "2024": len(rows24)}

    # contracts: one row per revision
    header = ["Purchase Order Description", "Purchase Order (Contract) Number", "Revision Number", "Contract Type",
              "Start Date", "End Date", "Approval Date", "Department", "Vendor Name", "Vendor ID", "Zip",
              "Award Amount", "Procurement Type"]
    rows, number = [], 0
    for k in range(12):
        number += 1
        contract = f"{'ET'[k % 2]}{70000 + number * 37}"
        vendor = VENDORS[k % len(VENDORS)]
        award = int(rng.integers(20, 400)) * 1000
        month, day = 1 + k % 12, 1 + (k * 7) % 27
        desc = "RESURFACING,\nPHASE 2" if k == 3 else f"SERVICES {k + 1}"
        zip_code = "60601-1234" if k % 4 == 0 else "60601"
        rows.append([desc, contract, "0", "COMMODITIES" if k % 3 else "", f"{month:02d}/{day:02d}/2023",
                     f"{month:02d}/{day:02d}/2025", f"{month:02d}/{day:02d}/2023", "DEPARTMENT OF TRANSPORTATION",
                     vendor, f"{9000 + k}V", zip_code, f"{award:.2f}", "BID" if k % 2 else ""])
        if k % 3 == 0:   # a later revision, sometimes a reduction
            change = -int(rng.integers(1, 10)) * 1000 if k % 2 else int(rng.integers(1, 10)) * 1000
            rows.append([desc, contract, "1", "", "", "", f"{month:02d}/{day:02d}/2024", "DEPARTMENT OF TRANSPORTATION",
                         vendor, f"{9000 + k}V", zip_code, f"{change:.2f}", ""])
    _write_csv(spending / "contracts.csv", header, rows)
    facts["contracts"] = len(rows)

    # projects by community area, 2023-2024; the 2024 ones again with points
    lines, features, idx = [], [], 0
    lo, hi = extent
    for year in (2023, 2024):
        for _ in range(14):
            idx += 1
            x, y = rng.uniform(lo, hi), rng.uniform(lo, hi)
            area = int(area_of(x, y)[0])
            cat = CATEGORIES[int(rng.integers(0, len(CATEGORIES)))]
            program = PROGRAMS[cat][int(rng.integers(0, len(PROGRAMS[cat])))]
            cost = round(float(rng.uniform(2000, 90000)), 2)
            where = f"{int(rng.integers(1, 40)) * 100} N SAMPLE ST"
            lines.append([str(idx), str(year), str(area), f"{cost:.2f}", cat, program, where])
            if year == 2024:
                lat, lon = to_latlon(x, y)
                geometry = ({"type": "Point", "coordinates": [round(float(lon), 7), round(float(lat), 7)]}
                            if idx % 5 else None)   # some projects have no geometry, as in the real file
                features.append({"type": "Feature", "geometry": geometry,
                                 "properties": {"area": str(area), "item": f"{program} ({area}-{idx})",
                                                "location": where, "cost": f"{cost:.2f}", "year": str(year),
                                                "category": cat}})
    _write_csv(spending / "area_projects.csv", ["", "year", "community_area", "cost", "category", "program",
                                                "description"], lines, terminator="\r\n")
    head = json.dumps({"type": "FeatureCollection", "name": "Sampleton_Area_Projects", "note": note})[:-1]
    body = ",\n".join(json.dumps(f) for f in features)
    (spending / "area_projects_points.geojson").write_text(f'{head}, "features": [\n{body}\n]}}\n', encoding="utf-8")
    facts["projects"] = {"lines": len(lines), "points": len(features)}

    # library outcomes
    libraries = [f for f in json.loads(services.read_text(encoding="utf-8"))["features"]
                 if f["properties"]["CATEGORY"] == "Library"]
    rows23, rows24 = [], []
    totals = [0] * 12
    for k, lib in enumerate(libraries):
        p = lib["properties"]
        base_visits = int(rng.integers(2000, 9000))
        months = [int(base_visits * rng.uniform(0.8, 1.2)) for _ in range(12)]
        name23 = p["NAME"] + ("*" if k == 0 else "  " if k == 1 else "")
        rows23.append([name23, p["ADDRESS"], "Sampleton", "60601", *map(str, months), str(sum(months))])
        months24 = [int(base_visits * rng.uniform(0.8, 1.2)) for _ in range(4)]
        lon, lat = lib["geometry"]["coordinates"]
        rows24.append([p["NAME"].upper() if k == 2 else p["NAME"], p["ADDRESS"], "Sampleton", "60601",
                       *map(str, months24), *[""] * 8, str(sum(months24)), f"POINT ({lon} {lat})"])
        totals = [t + v for t, v in zip(totals, months24 + [0] * 8)]
    _write_csv(directory / "outcomes" / "library_visitors_2023.csv",
               ["LOCATION", "ADDRESS", "CITY", "ZIP", *MONTHS, "YTD"], rows23)
    rows24.append(["Online Renewals", "", "", "", "900", "800", "850", "870", *[""] * 8, "3420", ""])
    rows24.append(["", "", "", "", *map(str, totals[:4]), *[""] * 8, str(sum(totals)), ""])
    _write_csv(directory / "outcomes" / "library_visitors_2024.csv",
               ["BRANCH", "ADDRESS", "CITY", "ZIP", *MONTHS, "YTD", "LOCATION"], rows24)
    facts["outcomes"] = {"libraries": len(libraries)}
    return facts
