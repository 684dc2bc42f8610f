"""Deleted source rows: the replay portal serves the crimes file, then the same file minus 3 rows; an
incremental run with the deletion sweep (``civicmash run --incremental --sweep``) asks the portal for every id
and moves the 3 rows it no longer has out of ``incidents`` into ``incidents_history`` with change 'deleted'.
Without the sweep an incremental run leaves them as ghosts.

Real runs (the flow and the CLI) on the tiny sample city over HTTP to the loopback replay portal."""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import pytest

from civicmash.flows.cli import main
from civicmash.flows.pipeline import civic_pipeline

from .health_city import ROWS, tiny_city, write_crimes
from .sample_variants import profile_of, variant, write_profile

GONE = (5, 77, 412)   # positions of the rows the publisher deletes


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory) -> tuple[Path, list[str]]:
    directory = tiny_city(tmp_path_factory.mktemp("sweep_city"))
    gone: list[str] = []

    def minus_three(rows):
        gone.extend(rows[i]["ID"] for i in GONE)
        return [r for i, r in enumerate(rows) if i not in GONE]
    write_crimes(directory, "minus_three.csv", minus_three)
    return directory, gone


def _ids(warehouse: str, sql: str) -> set[str]:
    with contextlib.closing(duckdb.connect(warehouse, read_only=True)) as con:
        return {r[0] for r in con.execute(sql).fetchall()}


def test_a_sweep_moves_deleted_rows_to_history(prefect_harness, city_dir, tmp_path, capsys):
    directory, gone = city_dir
    full = variant(name="sweep_city", keep=["incidents"])
    first = civic_pipeline("sweep_city", out=str(tmp_path), replay=str(directory), profile=profile_of(full), maps=[])
    warehouse = first["warehouse"]
    loaded = _ids(warehouse, "SELECT source_id FROM incidents WHERE city = 'sweep_city'")
    assert set(gone) <= loaded

    # the publisher deletes 3 rows; an incremental run alone sees no change and keeps them as ghosts
    later = variant(name="sweep_city", keep=["incidents"], changes={"incidents": {"replay": "crime/minus_three.csv"}})
    ghost = civic_pipeline("sweep_city", out=str(tmp_path), replay=str(directory), profile=profile_of(later),
                           maps=[], incremental=True)
    assert ghost["datasets"][0]["mode"] == "merge" and ghost["deleted"] == {}
    assert set(gone) <= _ids(warehouse, "SELECT source_id FROM incidents WHERE city = 'sweep_city'")
    with contextlib.closing(duckdb.connect(warehouse, read_only=True)) as con:   # counted: held vs the portal's
        held = con.execute("SELECT portal_count, compared_rows, count_mismatch FROM dataset_health WHERE run_id = ?",
                           [ghost["run_id"]]).fetchone()
    assert held == (ROWS - len(GONE), ROWS, True)   # 600 held (3 of them ghosts) vs 597 on the portal

    # the CLI's --sweep removes them from the current table and keeps them in history as 'deleted'
    profile = write_profile(tmp_path / "sweep_city.toml", later)
    assert main(["run", "--profile", str(profile), "--replay", str(directory), "--out", str(tmp_path),
                 "--incremental", "--sweep"]) == 0
    capsys.readouterr()
    current = _ids(warehouse, "SELECT source_id FROM incidents WHERE city = 'sweep_city'")
    assert not set(gone) & current and current == loaded - set(gone)
    with contextlib.closing(duckdb.connect(warehouse, read_only=True)) as con:
        history = con.execute("SELECT source_id, change, change_run_id, valid_to IS NOT NULL FROM incidents_history "
                              "WHERE city = 'sweep_city' AND change = 'deleted' ORDER BY source_id").fetchall()
        swept = con.execute("SELECT run_id, rows_deleted, count_mismatch FROM dataset_health "
                            "ORDER BY checked_at DESC LIMIT 1").fetchone()
    assert sorted(r[0] for r in history) == sorted(gone)
    assert {r[2] for r in history} == {swept[0]} and all(r[3] for r in history)
    assert swept[1] == len(GONE) and swept[2] is False   # after the sweep the rows held match the portal again


def test_a_dataset_without_listable_ids_is_not_swept(prefect_harness, city_dir, tmp_path):
    directory, _ = city_dir
    raw = variant(name="sweep_file", keep=["incidents", "spending"])
    summary = civic_pipeline("sweep_file", out=str(tmp_path), replay=str(directory), profile=profile_of(raw),
                             maps=[], sweep=True)
    assert summary["deleted"] == {"incidents": 0}        # spending is a file: nothing to ask, nothing deleted


def test_a_sweep_that_would_empty_the_table_is_refused(tmp_path):
    """Ids written differently on the portal and in the warehouse must not wipe the dataset: a clear error."""
    import datetime as dt

    from civicmash.warehouse import db
    from civicmash.warehouse.deletions import delete_missing

    with contextlib.closing(db.connect(str(tmp_path / "w.duckdb"))) as con:
        db.ensure_schema(con)
        con.execute("INSERT INTO incidents (city, dataset, source_id) SELECT 'c', 'crimes', lpad(i::VARCHAR, 4, '0') "
                    "FROM range(1, 11) t(i)")
        with pytest.raises(ValueError, match=r"c/crimes: the deletion sweep would delete 10 of 10 rows .*'0001'"):
            delete_missing(con, city="c", dataset="crimes", table="incidents", present_ids=[str(i) for i in range(1, 11)],
                           run_id="r", swept_at=dt.datetime.now(dt.timezone.utc))
        assert con.execute("SELECT count(*) FROM incidents").fetchone()[0] == 10
        with pytest.raises(ValueError, match="listed no ids at all"):
            delete_missing(con, city="c", dataset="crimes", table="incidents", present_ids=[], run_id="r",
                           swept_at=dt.datetime.now(dt.timezone.utc))
        gone = delete_missing(con, city="c", dataset="crimes", table="incidents",
                              present_ids=[f"{i:04d}" for i in range(1, 9)], run_id="r",
                              swept_at=dt.datetime.now(dt.timezone.utc))
        assert gone == 2 and con.execute("SELECT list(source_id ORDER BY source_id) FROM incidents_history "
                                         "WHERE change = 'deleted'").fetchone()[0] == ["0009", "0010"]
