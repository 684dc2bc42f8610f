"""`civicmash demo --out DIR` writes a warehouse of its own (DIR/sample/), so a real city run with the same
`--out` (DIR/civicmash.duckdb) never holds a synthetic Sampleton row: the README's example query counts one city."""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import pytest

from civicmash.flows.cli import main

pytestmark = pytest.mark.slow   # a whole demo run plus a (small) real Chicago run


def _rows_per_city(warehouse: Path) -> dict[str, int]:
    """Rows per city over every table of the warehouse that has a ``city`` column."""
    counts: dict[str, int] = {}
    with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
        tables = [t for (t,) in con.execute(
            "SELECT DISTINCT table_name FROM duckdb_columns() WHERE schema_name = 'main' AND column_name = 'city' "
            "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main')").fetchall()]
        for table in tables:
            for city, n in con.execute(f'SELECT city, count(*) FROM "{table}" GROUP BY city').fetchall():
                counts[city] = counts.get(city, 0) + n
    return counts


def test_demo_and_a_real_city_keep_separate_warehouses(prefect_harness, chicago_dir, tmp_path, capsys):
    from civicmash.flows.pipeline import civic_pipeline

    assert main(["demo", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    demo = tmp_path / "sample"
    assert f"warehouse: {demo / 'civicmash.duckdb'}" in printed
    for kind in ("explorer", "safe_route", "locator", "spending"):
        page = demo / "maps" / "sample" / f"{kind}.html"
        assert page.stat().st_size > 10_000 and f"{page}" in printed
    assert f"--out {demo}" in printed                      # how to query the demo's warehouse

    real = civic_pipeline("chicago", out=str(tmp_path), replay=str(chicago_dir),
                          datasets=["community_areas", "police_districts"], maps=[])
    assert Path(real["warehouse"]) == tmp_path / "civicmash.duckdb"

    in_real = _rows_per_city(tmp_path / "civicmash.duckdb")
    assert "sample" not in in_real and in_real["chicago"] > 0, in_real
    in_demo = _rows_per_city(demo / "civicmash.duckdb")
    assert "chicago" not in in_demo and in_demo["sample"] > 0, in_demo
    with contextlib.closing(duckdb.connect(str(tmp_path / "civicmash.duckdb"), read_only=True)) as con:
        assert con.execute("SELECT count(*) FILTER (WHERE synthetic), count(*) FROM datasets").fetchone() == (0, 2)
        assert con.execute("SELECT count(*) FROM boundaries WHERE kind = 'community_area'").fetchone() == (77,)
