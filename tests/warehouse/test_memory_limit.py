"""CIVICMASH_DUCKDB_MEMORY_LIMIT bounds every warehouse connection (DuckDB caches loaded blocks up to it)."""

import pytest

from civicmash.warehouse import db


def test_memory_limit_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(db.MEMORY_LIMIT_ENV, "256MB")
    con = db.connect(tmp_path / "w.duckdb")
    try:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"  # 256 MB
    finally:
        con.close()
    monkeypatch.delenv(db.MEMORY_LIMIT_ENV)
    con = db.connect(tmp_path / "w.duckdb", read_only=True)
    try:  # unset: DuckDB's own default (80 % of RAM), far above 256 MB on any machine that runs the suite
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] != "244.1 MiB"
    finally:
        con.close()


def test_a_bad_memory_limit_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(db.MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match="CIVICMASH_DUCKDB_MEMORY_LIMIT='lots' is not a DuckDB memory size"):
        db.connect(tmp_path / "w.duckdb")
