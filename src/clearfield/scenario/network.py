"""The region's networks: rivers, roads and the bridges where they cross, and the
spanning trees and jittered lines the roads and power lines are drawn with (in metres)."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["bridges_over", "longest", "mst", "river", "road_network", "wiggle"]


def longest(geom: BaseGeometry) -> shapely.LineString:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "LineString"]
    return max(parts, key=lambda p: p.length)


def river(rng: np.random.Generator, outline: shapely.Polygon, half: float) -> shapely.LineString:
    a = rng.uniform(0, 2 * np.pi)
    p = 1.45 * half * np.array([math.cos(a), math.sin(a)])
    mean = a + np.pi + rng.normal(0, 0.3)
    h, pts = mean, [p.copy()]
    while np.hypot(*p) <= 1.5 * half and len(pts) < 20_000:
        h = mean + 0.85 * (h - mean) + rng.normal(0, 0.25)
        p += 1_000.0 * np.array([math.cos(h), math.sin(h)])
        pts.append(p.copy())
    return longest(shapely.intersection(shapely.LineString(pts), outline))


def mst(xy: np.ndarray) -> list[tuple[int, int]]:
    """Minimum spanning tree of a small point set (Prim's algorithm on the full matrix)."""
    n = len(xy)
    if n < 2:
        return []
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    inside = np.zeros(n, dtype=bool)
    inside[0] = True
    best, via = d[0].copy(), np.zeros(n, dtype=np.int64)
    edges = []
    for _ in range(n - 1):
        j = int(np.argmin(np.where(inside, np.inf, best)))
        edges.append((int(via[j]), j))
        inside[j] = True
        closer = d[j] < best
        best, via = np.where(closer, d[j], best), np.where(closer, j, via)
    return edges


def wiggle(
    rng: np.random.Generator, a: np.ndarray, b: np.ndarray, inner: int, amp: float
) -> shapely.LineString:
    """A line from a to b with ``inner`` jittered points, densified to vertices ≤ 2 km apart."""
    d = b - a
    length = float(np.hypot(*d))
    normal = np.array([-d[1], d[0]]) / max(length, 1.0)
    t = np.linspace(0, 1, inner + 2)
    off = np.concatenate([[0], rng.normal(0, amp * length, inner), [0]])
    line = shapely.LineString(a + t[:, None] * d + off[:, None] * normal)
    return shapely.segmentize(line, 2_000.0)


def road_network(
    rng: np.random.Generator, xy: np.ndarray, pop: np.ndarray
) -> tuple[np.ndarray, list[str], list[shapely.LineString]]:
    """Delaunay edges → a spanning tree plus short extra edges; primary roads join the towns."""
    n = len(xy)
    edges_geom = shapely.delaunay_triangles(shapely.multipoints(xy), only_edges=True)
    seg = shapely.get_coordinates(shapely.get_parts(edges_geom)).reshape(-1, 2, 2)
    index = {(float(x), float(y)): i for i, (x, y) in enumerate(xy)}
    pairs = sorted({tuple(sorted((index[tuple(s[0])], index[tuple(s[1])]))) for s in seg.tolist()})
    ends = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    length = np.hypot(*(xy[ends[:, 0]] - xy[ends[:, 1]]).T)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = np.zeros(len(ends), dtype=bool)
    for e in np.argsort(length, kind="stable"):
        ra, rb = root(int(ends[e, 0])), root(int(ends[e, 1]))
        if ra != rb:
            parent[ra] = rb
            tree[e] = True
    limit = 1.5 * np.median(length[tree]) if tree.any() else 0.0
    keep = tree | ((length <= limit) & (rng.uniform(size=len(ends)) < 0.3))
    adj: dict[int, list[tuple[int, int]]] = {}
    for e in np.flatnonzero(tree):
        a, b = map(int, ends[e])
        adj.setdefault(a, []).append((b, int(e)))
        adj.setdefault(b, []).append((a, int(e)))
    primary = np.zeros(len(ends), dtype=bool)
    top = np.arange(min(n, max(4, round(8 * math.sqrt(n / 300)))))
    for u, v in mst(xy[top]):  # trunk roads: tree paths between neighbouring towns
        back: dict[int, tuple[int, int]] = {int(top[u]): (-1, -1)}
        queue = [int(top[u])]
        while queue and int(top[v]) not in back:
            node = queue.pop()
            for nxt, e in adj.get(node, ()):
                if nxt not in back:
                    back[nxt] = (node, e)
                    queue.append(nxt)
        node = int(top[v])
        while back.get(node, (-1, -1))[1] >= 0:
            node, e = back[node]
            primary[e] = True
    chosen = np.flatnonzero(keep)
    classes = ["primary" if primary[e] else "secondary" for e in chosen]
    lines = [wiggle(rng, xy[a], xy[b], 2, 0.04) for a, b in ends[chosen]]
    return ends[chosen], classes, lines


def bridges_over(
    roads: list[shapely.LineString], rivers: list[tuple[str, shapely.LineString]]
) -> list[tuple[float, float, int, int]]:
    out: list[tuple[float, float, int, int]] = []
    if not roads:
        return out
    tree = shapely.STRtree(roads)
    for v, (_, river) in enumerate(rivers):
        for r in sorted(tree.query(river, predicate="intersects").tolist()):
            for x, y in shapely.get_coordinates(shapely.intersection(roads[r], river)).tolist():
                out.append((x, y, r, v))
    return out
