"""Plain polygons, nearly every geometry of a programme, built in a few array calls.

A file of a whole programme holds half a million polygons and ten million positions.
Built one by one, or from a nested list of Python floats per position, their
coordinates cost more than everything else read from the file. Here they become one
array of numbers and arrays of ring and polygon lengths, and Shapely builds them all
at once: from the nested lists of a parsed feature (:func:`polygons_from_lists`), or
from a geometry's GeoJSON text that was never decoded (:func:`polygons_from_text`:
one JSON array of all its numbers, decoded once).

Both only build what is certainly a well-formed polygon (closed rings of at least four
finite positions of two numbers); anything else is left as None for the exact reader
(:func:`clearfield.domain.geometry.parse_geometry`), which names the fault.
"""

from __future__ import annotations

import json
import re
from itertools import chain
from typing import Any

import numpy as np
import orjson
import shapely

__all__ = ["GeometryText", "plain_rings", "polygons_from_lists", "polygons_from_text"]


class GeometryText(bytes):
    """A feature's geometry as the GeoJSON text of its file, not yet decoded: a reader
    of large files leaves it so, since :func:`polygons_from_text` builds a plain polygon
    from its text faster than from the decoded lists."""

    __slots__ = ()

    def decoded(self) -> Any:
        """The geometry as JSON values (mappings and lists), as a file reader gives it."""
        try:
            return orjson.loads(memoryview(self))  # (orjson takes no subclass of bytes)
        except orjson.JSONDecodeError:  # a number beyond a double (json reads it as inf)
            return json.loads(self)


def plain_rings(coords: Any) -> bool:
    """A polygon's rings in the shape GEOS's reader takes: at least one, each a list of
    four positions or more (whether they are numbers, and closed,
    :func:`polygons_from_lists` checks)."""
    return (
        type(coords) is list
        and len(coords) > 0
        and all(type(r) is list and len(r) >= 4 for r in coords)
    )


def polygons_from_lists(rings_of: list[list[list[Any]]]) -> np.ndarray | None:
    """Polygons from the rings of each (shaped as :func:`plain_rings` says), None for a
    polygon with a ring not closed or a coordinate not finite; None for all when a
    position is not a list of two plain numbers."""
    if not rings_of:
        return None
    rings = list(chain.from_iterable(rings_of))
    positions = list(chain.from_iterable(rings))
    if set(map(type, positions)) != {list} or set(map(len, positions)) != {2}:
        return None
    flat = list(chain.from_iterable(positions))
    if not set(map(type, flat)) <= {float, int}:  # (not bool, which is 1 or 0 to numpy)
        return None
    try:
        xy = np.array(flat, dtype=np.float64).reshape(-1, 2)
    except OverflowError:  # a whole number too large for a float
        return None
    ring_len = np.fromiter(map(len, rings), np.int64, len(rings))
    poly_len = np.fromiter(map(len, rings_of), np.int64, len(rings_of))
    return _assemble(xy, ring_len, poly_len)


# The compact text of a polygon with no other member, as JSON writers without spaces
# (orjson, ``json.dumps(separators=(",", ":"))``) and Clearfield's exports write it.
_PREFIX = b'{"type":"Polygon","coordinates":'
_NUMBER = b"0123456789.-+eE"
_COORDINATES = _NUMBER + b",[]"
# a polygon's coordinates with each position ([x,y]) written p: rings of positions
_ONE = re.compile(rb"\[\[p(?:,p)*\](?:,\[p(?:,p)*\])*\]")
_BAR_TO_COMMA = bytes.maketrans(b"|", b",")
# the neighbours that may follow each other in such shapes of polygons, joined by "|"
_NEIGHBOURS = np.array(
    [a << 8 | b for a, b in (b"|[", b"[[", b"[p", b"p,", b",p", b"p]", b"],", b",[", b"]]", b"]|")],
    dtype=np.uint16,
)


def polygons_from_text(texts: list[bytes]) -> np.ndarray:
    """Polygons from their GeoJSON texts; None for a text that is not a polygon in the
    compact form with two numbers a position, or is one :func:`polygons_from_lists`
    would not build either (unclosed rings, rings under four positions, numbers out
    of range). The texts must be valid JSON (the file's reader checked it)."""
    out = np.full(len(texts), None, dtype=object)
    start = len(_PREFIX)
    keep = [k for k, t in enumerate(texts) if t.startswith(_PREFIX) and t.endswith(b"}")]
    bodies = [texts[k][start:-1] for k in keep]
    joined, shapes = _joined(bodies)
    if bodies and (joined.translate(None, _COORDINATES + b"|") or not _well_formed(shapes)):
        # one is not a plain polygon (a member after the coordinates, a position of three
        # numbers): only the others are read so
        plain = [
            not b.translate(None, _COORDINATES) and _ONE.fullmatch(_shapes(b)) is not None
            for b in bodies
        ]
        keep, bodies = _kept(keep, bodies, plain)
        joined, shapes = _joined(bodies)
    xy = _numbers(joined)
    if xy is None and bodies:  # one beyond a double: not the others
        keep, bodies = _kept(keep, bodies, [_numbers(b) is not None for b in bodies])
        joined, shapes = _joined(bodies)
        xy = _numbers(joined)
    if xy is None or not bodies:
        return out
    # the structure from the shapes: a ring opens with "[p" and closes with "p]"
    s = np.frombuffer(shapes, np.uint8)
    position = s == ord("p")
    opens = np.flatnonzero((s[:-1] == ord("[")) & position[1:])
    closes = np.flatnonzero(position[:-1] & (s[1:] == ord("]")))
    seen = np.cumsum(position)
    ring_len = seen[closes] - seen[opens]
    polygon_of_ring = np.cumsum(s == ord("|"))[opens]
    poly_len = np.bincount(polygon_of_ring, minlength=len(keep))
    out[keep] = _assemble(xy, ring_len, poly_len)
    return out


def _well_formed(shapes: bytes) -> bool:
    """Whether ``shapes`` are polygons' shapes (see :func:`_shapes`) joined by "|": each
    ``[`` ring ``,`` ring ... ``]``, each ring ``[p,p,...]``. Told by which characters
    may follow each other and at what depth of brackets each may stand (what the
    single polygon's regular expression says, in a few array operations)."""
    s = np.frombuffer(shapes, np.uint8)
    if not len(s) or s[0] != ord("[") or s[-1] != ord("]"):
        return False
    depth = np.cumsum((s == ord("[")).view(np.int8) - (s == ord("]")).view(np.int8), dtype=np.int32)  # fmt: skip
    if depth.min() < 0 or depth.max() > 2 or depth[-1] != 0:
        return False
    if not (depth[s == ord("p")] == 2).all() or (depth[s == ord("|")] != 0).any():
        return False
    if (depth[s == ord(",")] == 0).any():
        return False
    pairs = s[:-1].astype(np.uint16) << 8 | s[1:]
    return bool(np.isin(pairs, _NEIGHBOURS).all())


def _kept(keep: list[int], bodies: list[bytes], fine: list[Any]) -> tuple[list[int], list[bytes]]:
    both = [(k, b) for k, b, ok in zip(keep, bodies, fine, strict=True) if ok]
    return [k for k, _ in both], [b for _, b in both]


def _joined(bodies: list[bytes]) -> tuple[bytes, bytes]:
    """Coordinates' texts joined by "|", and their shapes (:func:`_shapes`)."""
    joined = b"|".join(bodies)
    return joined, _shapes(joined)


def _numbers(coordinates: bytes) -> np.ndarray | None:
    """The positions of coordinates' texts (joined by "|"), as one array (None: a number
    beyond a double, which only the exact reader takes; or, were the shapes not checked
    first, an odd count of numbers)."""
    if not coordinates:
        return None
    numbers = coordinates.translate(_BAR_TO_COMMA, b"[]")
    try:
        return np.array(orjson.loads(b"[" + numbers + b"]"), dtype=np.float64).reshape(-1, 2)
    except (orjson.JSONDecodeError, OverflowError, ValueError):
        return None


def _shapes(coordinates: bytes) -> bytes:
    """Coordinates' text with its numbers left out and each position written p."""
    return coordinates.translate(None, _NUMBER).replace(b"[,]", b"p")


def _assemble(xy: np.ndarray, ring_len: np.ndarray, poly_len: np.ndarray) -> np.ndarray:
    """Polygons of rings of ``ring_len`` positions of ``xy``, ``poly_len`` rings each;
    None for a polygon with a ring not closed, under four positions, or not finite."""
    ring_start = np.cumsum(ring_len) - ring_len
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(xy).all(axis=1)
        # closed as numbers compare (a NaN never closes a ring)
        ring_ok = (xy[ring_start] == xy[ring_start + ring_len - 1]).all(axis=1)
    ring_ok &= np.logical_and.reduceat(finite, ring_start) & (ring_len >= 4)
    poly_ok = np.logical_and.reduceat(ring_ok, np.cumsum(poly_len) - poly_len)
    ring_of_position = np.repeat(np.arange(len(ring_len)), ring_len)
    polygon_of_ring = np.repeat(np.arange(len(poly_len)), poly_len)
    if not poly_ok.all():  # leave those out, for the exact reader to name the fault
        ring_kept = poly_ok[polygon_of_ring]
        position_kept = ring_kept[ring_of_position]
        xy = xy[position_kept]
        ring_of_position = (np.cumsum(ring_kept) - 1)[ring_of_position[position_kept]]
        polygon_of_ring = (np.cumsum(poly_ok) - 1)[polygon_of_ring[ring_kept]]
    out = np.full(len(poly_len), None, dtype=object)
    if poly_ok.any():
        try:
            linear_rings = shapely.linearrings(xy, indices=ring_of_position)
            out[poly_ok] = shapely.polygons(linear_rings, indices=polygon_of_ring)
        except shapely.errors.GEOSException:  # nothing checked above lets this happen
            out[:] = None
    return out
