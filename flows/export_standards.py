"""``civicmash export`` in open standards: services as Open Referral HSDS (3.1 JSON, or 2.0.1 tabular), budget lines
as a Fiscal Data Package, outcomes as CSV + Table Schema. Each writes a directory and validates what it wrote
(docs/warehouse.md, "Exports in open standards"). Errors are ValueError: the CLI prints them in one line."""

from __future__ import annotations

from pathlib import Path

STANDARD_FORMATS = {"hsds": "services", "fdp": "spending", "datapackage": "outcomes"}
HSDS_VERSIONS = ("3.1", "2.0.1")


def export_standard(*, fmt: str, name: str, db_path: Path, city: str | None, out: str, output: str | None,
                    hsds_version: str = "3.1", fiscal_year_start: str | None = None) -> str:
    """Write the export; returns the line the CLI prints."""
    table = STANDARD_FORMATS[fmt]
    if name != table:
        raise ValueError(f"--format {fmt} exports the {table} table, not {name!r}: civicmash export {table} "
                         f"--format {fmt}")
    suffix = f"_{city}" if city else ""
    if fmt == "hsds":
        if hsds_version not in HSDS_VERSIONS:
            raise ValueError(f"--hsds-version {hsds_version!r}: one of {', '.join(HSDS_VERSIONS)}")
        default = "services_hsds" + ("" if hsds_version == "2.0.1" else "31") + suffix
        out_dir = Path(output or Path(out) / "exports" / default)
        if hsds_version == "2.0.1":
            from civicmash.warehouse.hsds import export_hsds, validate_package

            path, counts = export_hsds(db_path, out_dir=out_dir, city=city)
            errors = validate_package(path)
            what = "Open Referral HSDS 2.0.1 tabular package"
        else:
            from civicmash.warehouse.hsds31 import export_hsds31, validate_file

            path, counts = export_hsds31(db_path, out_dir=out_dir, city=city)
            errors = validate_file(path)
            what = "Open Referral HSDS 3.1 JSON, validated against the specification's JSON schema"
    else:
        from civicmash.warehouse import fiscal_package

        out_dir = Path(output or Path(out) / "exports" / (f"{table}_{fmt}{suffix}"))
        if fmt == "fdp":
            path, counts = fiscal_package.export_fdp(db_path, out_dir=out_dir, city=city,
                                                     fiscal_year_start=fiscal_year_start)
            what = "Fiscal Data Package" + ("" if fiscal_year_start else "; no fiscalPeriod without "
                                            "--fiscal-year-start")
        else:
            path, counts = fiscal_package.export_outcomes(db_path, out_dir=out_dir, city=city)
            what = "CSV + Table Schema data package"
        errors = fiscal_package.validate(path)
    if errors:
        raise ValueError(f"the {fmt} export in {out_dir} does not validate ({len(errors)} errors): "
                         + "; ".join(errors[:3]))
    return (f"{table} -> {out_dir} ({what}: " + ", ".join(f"{n:,} {k}" for k, n in counts.items())
            + "; valid)")
