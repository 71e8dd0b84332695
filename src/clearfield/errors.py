"""Clearfield's errors: one root, small subclasses, each with a stable code.

The hierarchy::

    ClearfieldError                  root; ``code`` is stable, ``record`` names what it concerns
    ├── RecordError                  one record is wrong (bad value, bad geometry, bad reference)
    ├── ImportRejected               a whole file was refused; carries every RecordError found
    ├── NotFound                     a record that was named does not exist
    ├── ReviewError                  a workflow transition that is not allowed
    └── StoreError                   the database cannot be opened or is of an unknown schema

The CLI turns any of these into a message and a non-zero exit; the API (a later
issue) maps them to 4xx answers. Nothing here knows about either.
"""

from __future__ import annotations

__all__ = [
    "BadParameter",
    "ClearfieldError",
    "ImportRejected",
    "NotFound",
    "RecordError",
    "ReviewError",
    "StoreError",
]


class ClearfieldError(Exception):
    """Root of every error Clearfield raises on purpose."""

    code = "CLEARFIELD_ERROR"

    def __init__(self, message: str, *, record: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.record = record
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.record}: {self.message}" if self.record else self.message


class RecordError(ClearfieldError):
    """One record cannot be accepted; ``record`` says which (index and id), ``field`` what."""

    code = "INVALID_RECORD"

    def __init__(
        self,
        message: str,
        *,
        record: str | None = None,
        field: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message, record=record, code=code)
        self.field = field
        self.more: list[RecordError] = []  # further faults of the same record

    def __str__(self) -> str:
        where = self.record or "record"
        if self.field:
            where = f"{where} [{self.field}]"
        return f"{where}: {self.message}"


class ImportRejected(ClearfieldError):
    """A file was refused as a whole because at least one record in it is wrong."""

    code = "IMPORT_REJECTED"

    def __init__(self, source: str, errors: list[RecordError]):
        faults = [f for e in errors for f in (e, *e.more)]
        records = len({e.record for e in errors})
        noun = "record" if records == 1 else "records"
        super().__init__(f"{records} bad {noun}; nothing was imported", record=source)
        self.errors = faults


class NotFound(ClearfieldError):
    code = "NOT_FOUND"


class ReviewError(ClearfieldError):
    code = "REVIEW_NOT_ALLOWED"


class BadParameter(ClearfieldError):
    """A request's parameter (a query parameter, a command's option) is out of its range;
    ``record`` names the parameter. The API answers it with a 400."""

    code = "BAD_PARAMETER"


class StoreError(ClearfieldError):
    code = "STORE_ERROR"
