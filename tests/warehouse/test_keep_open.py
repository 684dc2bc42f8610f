"""A pipeline run keeps its warehouse open (warehouse.db.keep_open): every connection to the file in the block is a
connection to the one open database, so the spatial extension is loaded and the schema checked once, not per step."""

from __future__ import annotations

import subprocess
import sys

from civicmash.warehouse import db


def _databases(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}


def test_connections_in_the_block_share_the_open_database(tmp_path):
    path = tmp_path / "civicmash.duckdb"
    db.connect(path).close()                                  # a warehouse with its schema, as after a run
    with db.keep_open(path) as keeper:
        keeper.execute("ATTACH ':memory:' AS scratch")        # an attachment belongs to one open database
        for kwargs in ({}, {"read_only": True}, {"spatial": False}, {"read_only": True, "spatial": False}):
            con = db.connect(path, **kwargs)                 # read-only too: opening the file again would fail
            try:
                assert "scratch" in _databases(con), kwargs
                assert con.execute("SELECT ST_AsText(ST_Point(1, 2))").fetchone() == ("POINT (1 2)",)
            finally:
                con.close()                                   # closes the cursor, not the open database
        with db.keep_open(str(path)):                         # nested, by another spelling of the path: the same
            assert "scratch" in _databases(db.connect(path))
        assert "scratch" in _databases(keeper)
    con = db.connect(path, read_only=True)                    # after the block: the file opened anew
    try:
        assert "scratch" not in _databases(con)
    finally:
        con.close()


def test_another_process_waits_for_the_block(tmp_path, monkeypatch):
    """The price, as docs/operations.md says: the file is held for the whole run, so a reader elsewhere waits for
    it and is then told who holds it."""
    path = tmp_path / "civicmash.duckdb"
    db.connect(path).close()
    code = ("import os, sys; os.environ['CIVICMASH_LOCK_WAIT'] = '0.5'\n"
            "from civicmash.warehouse import db\n"
            "try:\n    db.connect(sys.argv[1], read_only=True)\nexcept db.WarehouseBusy as e:\n    print(e)\n")
    with db.keep_open(path):
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                             timeout=120).stdout
    assert "is in use by process" in out and "waited 0.5 s" in out, out
