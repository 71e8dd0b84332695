"""The R*Tree written packed on a first load: SQLite's own check passes, it answers every
window as a tree built box by box does, and it goes on working as one."""

from __future__ import annotations

import sqlite3

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clearfield import services
from clearfield.store.sqlite import SQLiteStore
from clearfield.store.sqlite_rtree import CELLS, pack

WINDOW = "SELECT pk FROM t WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ? ORDER BY pk"


def _tree() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING rtree(pk, minx, maxx, miny, maxy)")
    return conn


def _packed(ids: np.ndarray, boxes: np.ndarray) -> sqlite3.Connection:
    conn = _tree()
    tree = pack(ids, boxes)
    conn.execute("DELETE FROM t_node WHERE nodeno = 1")
    conn.executemany("INSERT INTO t_node VALUES (?, ?)", tree.nodes)
    conn.executemany("INSERT INTO t_rowid VALUES (?, ?)", tree.rowids)
    conn.executemany("INSERT INTO t_parent VALUES (?, ?)", tree.parents)
    return conn


def _boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    x, y = rng.uniform(30, 40, n), rng.uniform(45, 50, n)
    w, h = rng.exponential(0.05, n), rng.exponential(0.05, n)
    return np.stack([x, x + w, y, y + h], axis=1)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6_000), seed=st.integers(0, 2**32 - 1))
def test_a_packed_tree_passes_sqlites_check_and_answers_as_one_built_box_by_box(n, seed):
    rng = np.random.default_rng(seed)
    boxes = _boxes(rng, n).astype(np.float32).astype(np.float64)  # as the store rounds them
    if n > 3:  # some boxes repeat exactly, one is a point and one is missing (NaN)
        boxes[: n // 4] = boxes[n // 4 : 2 * (n // 4)]
        boxes[-1, 1], boxes[-1, 3] = boxes[-1, 0], boxes[-1, 2]
        boxes[-2] = np.nan
    ids = rng.permutation(np.arange(1, 3 * n + 1))[:n] * 7  # any order, with gaps
    packed, built = _packed(ids, boxes), _tree()
    rows = [(int(i), *(None if np.isnan(v) else float(v) for v in b)) for i, b in zip(ids, boxes, strict=True)]  # fmt: skip
    built.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
    assert packed.execute("SELECT rtreecheck('t')").fetchone() == ("ok",)
    # the same boxes as SQLite stores them (NaN, bound as NULL, as 0)
    everything = "SELECT * FROM t ORDER BY pk"
    assert packed.execute(everything).fetchall() == built.execute(everything).fetchall()
    assert len(packed.execute(everything).fetchall()) == n
    for _ in range(20):
        qx, qy, side = rng.uniform(29, 41), rng.uniform(44, 51), rng.exponential(0.5)
        window = (qx, qx + side, qy, qy + side)
        assert packed.execute(WINDOW, window).fetchall() == built.execute(WINDOW, window).fetchall()
    # nodes below the root are neither overfull nor nearly empty (SQLite refills one
    # under a third on a delete)
    nodes = packed.execute("SELECT data FROM t_node WHERE nodeno > 1").fetchall()
    counts = [int.from_bytes(blob[2:4], "big") for (blob,) in nodes]
    assert all(CELLS // 3 <= c <= CELLS for c in counts)
    # then it takes new boxes and loses old ones as any R*Tree does
    more = _boxes(rng, 300)
    packed.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
        [(10**9 + k, *map(float, b)) for k, b in enumerate(more)],  # (float64: rounded)
    )
    packed.execute("DELETE FROM t WHERE pk % 3 = 0")
    assert packed.execute("SELECT rtreecheck('t')").fetchone() == ("ok",)
    assert packed.execute("SELECT COUNT(*) FROM t").fetchone()[0] == sum(
        1 for i in [*ids.tolist(), *range(10**9, 10**9 + 300)] if i % 3
    )


def test_a_first_load_packs_the_rtree_and_a_later_one_adds_to_it(tmp_path, monkeypatch):
    """A bulk import into an empty store writes the tree packed (its node count is the
    packed tree's); a second bulk import adds box by box; both pass SQLite's check and
    every stored geometry is found by its own box."""
    import clearfield.store.sql as sql
    from clearfield.scenario import generate

    monkeypatch.setattr(sql, "_BULK", 50)
    features = generate(scale=0.05, seed=4).features
    store = SQLiteStore.open(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        services.import_features(store, features, source="s", actor="t")
        boxes = store.query("SELECT pk, minx, maxx, miny, maxy FROM record_bbox ORDER BY pk")
        assert len(boxes) == store.count(
            "SELECT COUNT(*) FROM record_version WHERE geometry IS NOT NULL"
        )
        expected = pack(np.array([b[0] for b in boxes]), np.array([b[1:] for b in boxes]))
        assert store.count("SELECT COUNT(*) FROM record_bbox_node") == len(expected.nodes)
        assert store.query("SELECT rtreecheck('record_bbox')") == [("ok",)]

        copies = []  # new hazards drawn where others are
        for f in features:
            if f["properties"]["record_type"] == "hazard" and len(copies) < 120:
                copies.append(
                    {**f, "properties": {**f["properties"], "id": f["properties"]["id"] + "-B"}}
                )
        services.import_features(store, copies, source="s", actor="t")
        assert store.query("SELECT rtreecheck('record_bbox')") == [("ok",)]
        rows = store.query("SELECT pk, minx, maxx, miny, maxy FROM record_bbox")
        assert len(rows) == len(boxes) + len(copies)
        for pk, x0, x1, y0, y1 in rows[::37]:
            found = store.query(
                "SELECT pk FROM record_bbox WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?",
                (x0, x1, y0, y1),
            )
            assert (pk,) in found
    finally:
        store.close()


def test_boxes_not_exact_in_float32_are_rounded_outward():
    rng = np.random.default_rng(5)
    boxes = _boxes(rng, 5_000)
    conn = _packed(np.arange(1, 5_001), boxes)
    stored = np.array(conn.execute("SELECT minx, maxx, miny, maxy FROM t ORDER BY pk").fetchall())
    assert (stored[:, [0, 2]] <= boxes[:, [0, 2]]).all()
    assert (stored[:, [1, 3]] >= boxes[:, [1, 3]]).all()
    assert (stored != boxes).any(axis=1).mean() > 0.9  # (they were rounded)
    assert conn.execute("SELECT rtreecheck('t')").fetchone() == ("ok",)
