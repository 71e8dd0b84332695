"""Settings from the environment: where the database is (``--database URL``, else
``CLEARFIELD_DATABASE``, else ./clearfield.db), the largest request body the server
reads (``CLEARFIELD_MAX_BODY``) and how much the server logs (``CLEARFIELD_LOG_LEVEL``)."""

from __future__ import annotations

import os

from clearfield.errors import ClearfieldError

DEFAULT_DATABASE = "sqlite:///clearfield.db"
DEFAULT_MAX_BODY = 10 * 1024 * 1024
"""The largest request body the server reads (bytes), unless ``CLEARFIELD_MAX_BODY`` says."""
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
_UNITS = {"": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CLEARFIELD_DATABASE") or DEFAULT_DATABASE


def max_body_bytes() -> int:
    """``CLEARFIELD_MAX_BODY``: bytes, or with a unit (``512K``, ``10MB``, ``1G``);
    default 10 MB. A larger body is refused (413) before it is read.

    >>> os.environ["CLEARFIELD_MAX_BODY"] = "20MB"; max_body_bytes()
    20971520
    >>> os.environ["CLEARFIELD_MAX_BODY"] = "lots"; max_body_bytes()
    Traceback (most recent call last):
    ...
    clearfield.errors.ClearfieldError: CLEARFIELD_MAX_BODY: 'lots' is not a size: bytes, or a number with K, M or G (e.g. 10MB)
    >>> del os.environ["CLEARFIELD_MAX_BODY"]; max_body_bytes()
    10485760
    """
    text = os.environ.get("CLEARFIELD_MAX_BODY", "").strip()
    if not text:
        return DEFAULT_MAX_BODY
    number = text.rstrip("KMGBkmgb ")
    unit = text[len(number) :].strip().upper()
    if not number.isdigit() or unit not in _UNITS or int(number) == 0:
        raise ClearfieldError(
            f"{text!r} is not a size: bytes, or a number with K, M or G (e.g. 10MB)",
            record="CLEARFIELD_MAX_BODY",
        )
    return int(number) * _UNITS[unit]


def log_level() -> str:
    """``CLEARFIELD_LOG_LEVEL``: ``warning`` (default: failed sign-ins, lockouts and
    faults) or ``info`` (also one line per request, query secrets redacted), ``error``…"""
    level = os.environ.get("CLEARFIELD_LOG_LEVEL", "warning").strip().lower()
    if level not in LOG_LEVELS:
        raise ClearfieldError(
            f"{level!r} is not a log level; one of {', '.join(LOG_LEVELS)}",
            record="CLEARFIELD_LOG_LEVEL",
        )
    return level
