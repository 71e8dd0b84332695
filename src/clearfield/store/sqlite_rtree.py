"""An SQLite R*Tree built whole from its boxes, for a first load into an empty one.

SQLite's R*Tree module inserts one box at a time: it walks down the tree, and every
box rewrites a whole node blob in the ``%_node`` table. At half a million boxes that
was the slowest statement of a first load (5 s of the inserting thread). Its tables
are plain SQLite tables in a documented format (``ext/rtree/rtree.c``), so an empty
tree can instead be written packed, level by level (Sort-Tile-Recursive: boxes sorted
into vertical slices by x, each slice by y, runs of up to 51 per node), as GDAL does
for GeoPackage spatial indexes. The module then reads, inserts into and deletes from
the packed tree as from one it built itself; ``rtreecheck()`` checks it in the tests.

Format, for a two-dimensional tree of 32-bit floats: node 1 is the root; a node is a
blob of ``4 + 24 * 51`` bytes: the tree's depth (root only, else 0) and the number of
cells as big-endian 16-bit integers, then cells of a 64-bit id (a row's id in a leaf,
a child node's number above) and minx, maxx, miny, maxy as big-endian float32.
``%_rowid`` maps each row to its leaf, ``%_parent`` each node but the root to its parent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from clearfield.store.sql_batches import Inserts

__all__ = ["CELLS", "PackedTree", "add_packed", "pack", "packable"]

CELLS = 51  # RTREE_MAXCELLS: the most cells a node holds (pages of 4 KiB and more)
_CELL = np.dtype([("id", ">i8"), ("box", ">f4", 4)])  # 24 bytes
NODE_BYTES = 4 + _CELL.itemsize * CELLS


@dataclass
class PackedTree:
    """The rows of the three tables behind an R*Tree ``T``: ``T_node``, ``T_rowid``,
    ``T_parent`` (node numbers from 1, the root)."""

    nodes: list[tuple[int, bytes]]
    rowids: list[tuple[int, int]]
    parents: list[tuple[int, int]]


def pack(ids: np.ndarray, boxes: np.ndarray) -> PackedTree:
    """The tree over ``boxes`` (n × 4: minx, maxx, miny, maxy) of the rows ``ids``. Each
    node but the root holds between a third and all of its 51 cells.

    As SQLite stores a box: rounded outward to float32, and a missing coordinate (NaN,
    which SQLite binds as NULL) as 0. NaN left in a leaf would spread to every box above
    it, and no window would find the boxes under those."""
    ids = np.asarray(ids, dtype=np.int64)
    exact = np.nan_to_num(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), nan=0.0)
    if len(ids) != len(exact):
        raise ValueError("one box per id is needed")
    if len(ids) == 0:
        raise ValueError("an R*Tree of no boxes is its empty root; nothing to pack")
    boxes = exact.astype(np.float32)
    lows, highs = boxes[:, 0::2], boxes[:, 1::2]  # (views: minx, miny and maxx, maxy)
    below = lows > exact[:, 0::2]
    lows[below] = np.nextafter(lows[below], np.float32(-np.inf))
    above = highs < exact[:, 1::2]
    highs[above] = np.nextafter(highs[above], np.float32(np.inf))
    # per level, from the leaves up: the entries in packing order, the node of each, and
    # the nodes' boxes (the entries of the level above)
    levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    entries = boxes
    while True:
        order, node_of = _tile(entries)
        count = int(node_of[-1]) + 1
        node_boxes = np.empty((count, 4), dtype=np.float32)
        sorted_boxes = entries[order]
        starts = np.flatnonzero(np.r_[True, node_of[1:] != node_of[:-1]])
        node_boxes[:, 0] = np.minimum.reduceat(sorted_boxes[:, 0], starts)
        node_boxes[:, 1] = np.maximum.reduceat(sorted_boxes[:, 1], starts)
        node_boxes[:, 2] = np.minimum.reduceat(sorted_boxes[:, 2], starts)
        node_boxes[:, 3] = np.maximum.reduceat(sorted_boxes[:, 3], starts)
        levels.append((order, node_of, node_boxes))
        if count == 1:
            break
        entries = node_boxes
    depth = len(levels) - 1
    # number the nodes from the root down: the root is 1, then each level in turn
    first: list[int] = [0] * len(levels)  # node number of each level's node 0
    number = 1
    for level in range(depth, -1, -1):
        first[level] = number
        number += int(levels[level][1][-1]) + 1

    nodes: list[tuple[int, bytes]] = []
    parents: list[tuple[int, int]] = []
    rowids: list[tuple[int, int]] = []
    for level, (order, node_of, _) in enumerate(levels):
        if level == 0:
            cell_ids = ids[order]
            cell_boxes = boxes[order]
        else:
            cell_ids = first[level - 1] + order
            cell_boxes = levels[level - 1][2][order]
        count = int(node_of[-1]) + 1
        starts = np.flatnonzero(np.r_[True, node_of[1:] != node_of[:-1]])
        slot = np.arange(len(node_of)) - starts[node_of]
        cells = np.zeros((count, CELLS), dtype=_CELL)
        cells["id"][node_of, slot] = cell_ids
        cells["box"][node_of, slot] = cell_boxes
        head = np.zeros((count, 2), dtype=">u2")
        head[:, 1] = np.bincount(node_of, minlength=count)
        if level == depth:
            head[0, 0] = depth
        blobs = np.concatenate([head.view(np.uint8), cells.view(np.uint8)], axis=1)
        numbers = first[level] + np.arange(count)
        nodes += zip(numbers.tolist(), (row.tobytes() for row in blobs), strict=True)
        if level == 0:
            by_id = np.argsort(cell_ids, kind="stable")
            rowids = list(
                zip(cell_ids[by_id].tolist(), (first[0] + node_of[by_id]).tolist(), strict=True)
            )
        else:
            parents += zip(cell_ids.tolist(), (first[level] + node_of).tolist(), strict=True)
    nodes.sort()
    parents.sort()
    return PackedTree(nodes, rowids, parents)


def packable(conn: Connection, table: str) -> bool:
    """Whether the R*Tree ``table`` is empty (its root alone, with no cells) and has the
    nodes :func:`pack` writes (a file made with a page size under 1,292 bytes has
    smaller ones)."""
    # a tree that holds boxes says so at its first row, without reading its nodes
    if conn.exec_driver_sql(f"SELECT 1 FROM {table}_rowid LIMIT 1").first() is not None:
        return False
    if conn.exec_driver_sql(f"SELECT 1 FROM {table}_parent LIMIT 1").first() is not None:
        return False
    nodes = conn.exec_driver_sql(
        f"SELECT COUNT(*), MAX(length(data)), MAX(nodeno) FROM {table}_node"
    ).one()
    return tuple(nodes) == (1, NODE_BYTES, 1)


def add_packed(inserts: Inserts, table: str, ids: np.ndarray, boxes: np.ndarray) -> None:
    """Queue the writing of the packed tree of ``boxes`` into the empty R*Tree ``table``
    (after :func:`packable`), in place of its empty root."""
    if len(ids) == 0:
        return
    tree = pack(ids, boxes)
    inserts.run(f"DELETE FROM {table}_node WHERE nodeno = 1")
    inserts.add(f"{table}_node", ("nodeno", "data"), tree.nodes)
    inserts.add(f"{table}_rowid", ("rowid", "nodeno"), tree.rowids)
    inserts.add(f"{table}_parent", ("nodeno", "parentnode"), tree.parents)


def _tile(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the entries in packing order, the node of each in that order): Sort-Tile-Recursive
    in two dimensions, with the entries of each slice spread evenly over its nodes."""
    n = len(boxes)
    nodes = math.ceil(n / CELLS)
    slices = math.ceil(math.sqrt(nodes))
    cx = boxes[:, 0].astype(np.float64) + boxes[:, 1]
    cy = boxes[:, 2].astype(np.float64) + boxes[:, 3]
    by_x = np.argsort(cx, kind="stable")
    order = np.empty(n, dtype=np.int64)
    node_of = np.empty(n, dtype=np.int64)
    a, node = 0, 0
    for members in np.array_split(by_x, slices):  # slices differ by one entry at most
        members = members[np.argsort(cy[members], kind="stable")]
        b = a + len(members)
        k = math.ceil(len(members) / CELLS)  # nodes in this slice, filled evenly
        order[a:b] = members
        node_of[a:b] = node + (np.arange(len(members)) * k) // len(members)
        node += k
        a = b
    return order, node_of
