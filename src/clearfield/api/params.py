"""Query parameters several endpoints share, read strictly: a bad value is a 400 that
names the parameter, never a 500 and never a silently empty answer."""

from __future__ import annotations

import math

from clearfield.errors import BadParameter

__all__ = ["parse_bbox"]

Box = tuple[float, float, float, float]


def parse_bbox(text: str | None, *, across_antimeridian: bool = False) -> Box | None:
    """``minx,miny,maxx,maxy`` in degrees (CRS84), or None when not given.

    ``across_antimeridian``: a box whose west edge is east of its east edge crosses the
    antimeridian (OGC API - Features allows it); otherwise it is refused as upside down.

    >>> parse_bbox("33.5,47.8,33.6,47.9")
    (33.5, 47.8, 33.6, 47.9)
    >>> parse_bbox("nan,0,1,1")
    Traceback (most recent call last):
    ...
    clearfield.errors.BadParameter: bbox: 'nan,0,1,1' is out of range or upside down
    """
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadParameter(f"{text[:60]!r} is not four numbers", record="bbox") from None
    if len(values) != 4:
        raise BadParameter(f"needs minx,miny,maxx,maxy (CRS84), not {len(values)} numbers", record="bbox")  # fmt: skip
    w, s, e, n = values
    in_range = all(math.isfinite(v) for v in values) and -180 <= w <= 180 and -180 <= e <= 180
    if not (in_range and -90 <= s <= n <= 90 and (w <= e or across_antimeridian)):
        raise BadParameter(f"{text[:60]!r} is out of range or upside down", record="bbox")
    return (w, s, e, n)
