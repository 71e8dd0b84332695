"""Errors as HTTP answers: a ClearfieldError's code decides the status (a 4xx; an
unknown code is a 422), and the body names every fault with its record, field and
reason, so a client can show the field team what to fix."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from clearfield.errors import ClearfieldError, ImportRejected

__all__ = ["error_answer", "error_response"]

_STATUS = {
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "CONCURRENT_CHANGE": 409,
    "TOO_LARGE": 413,
    "TOO_MANY_ATTEMPTS": 429,
    "BAD_PARAMETER": 400,
}


def error_answer(exc: ClearfieldError) -> tuple[int, dict[str, Any]]:
    """An error as (HTTP status, body): every fault with its record, field and reason."""
    faults = exc.errors if isinstance(exc, ImportRejected) else [exc]
    body = {
        "error": exc.code,
        "message": str(exc),
        "faults": [
            {"record": e.record, "field": getattr(e, "field", None), "reason": e.message}
            for e in faults
        ],
    }
    return _STATUS.get(exc.code, 422), body


def error_response(exc: ClearfieldError) -> JSONResponse:
    status, body = error_answer(exc)
    headers = (
        {"WWW-Authenticate": "Bearer"} if exc.code == "UNAUTHORIZED" else None
    )  # (ingest: Basic)
    return JSONResponse(body, status_code=status, headers=headers)
