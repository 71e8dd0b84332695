"""Bulk inserts (`Inserts`): rows given as tuples or as one flat list of values land the
same, in their own thread on SQLite and in the caller's on PostgreSQL."""

from __future__ import annotations

import pytest

from clearfield.store.sql_batches import inserting


@pytest.mark.parametrize("bulk", [True, False])
def test_rows_and_flat_values_insert_the_same(store, bulk):
    rows = [(i, f"t{i % 3}", f"r{i}") for i in range(1, 2_501)]
    flat = [value for row in rows[1_000:] for value in row]
    columns = ("pk", "record_type", "record_id")
    with store.engine.begin() as conn:
        with inserting(conn, bulk=bulk) as inserts:  # (all run when it ends)
            inserts.add("entity", columns, rows[:1_000])
            inserts.add_values("entity", columns, flat)
            inserts.add_values("entity", columns, [])
        got = conn.exec_driver_sql("SELECT pk, record_type, record_id FROM entity ORDER BY pk")
        assert [tuple(r) for r in got] == rows


def test_values_that_do_not_make_whole_rows_are_refused(store):
    refused = pytest.raises(ValueError, match="7 values do not make rows of 3 columns")
    with store.engine.begin() as conn, inserting(conn) as inserts, refused:
        inserts.add_values("entity", ("pk", "record_type", "record_id"), list(range(7)))
    assert store.count("SELECT COUNT(*) FROM entity") == 0


def test_nulls_and_blobs_bind_through_the_registered_adapters_as_without_them(tmp_path):
    """The SQLite store registers adapters for None and bytes, which spare the binding a
    slow search for one; what is stored is what Python's sqlite3 stores without them."""
    import sqlite3

    import clearfield.store.sqlite  # noqa: F401  (registers them)

    protocol = sqlite3.PrepareProtocol
    assert {(type(None), protocol), (bytes, protocol)} <= set(sqlite3.adapters)
    blob = bytes(range(256)) * 3
    with sqlite3.connect(tmp_path / "a.db") as conn:
        got = conn.execute("SELECT typeof(?), typeof(?), ?, ? IS NULL", (None, blob, blob, None))
        assert got.fetchone() == ("null", "blob", blob, 1)
