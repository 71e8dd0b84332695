"""Field submissions pushed by KoboToolbox and ODK Central: ``/api/ingest/kobo`` and ``/odk``.

A server posts with HTTP Basic authentication: the organisation's id as the user name
and its ingest key (``clearfield ingest key ORG``) as the password, which KoboToolbox's
REST Services and any script over ODK Central's API can send. The records made are the
key's organisation's only. Every delivery is stored in one transaction (see
:mod:`clearfield.ingest`); an ``ingest`` event tells the dashboards, and daily reports
ask for a re-plan from the current plan.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from clearfield.api.events import Broker
from clearfield.api.plans import PlanRunner
from clearfield.domain.roles import check
from clearfield.ingest import IngestReport, check_ingest_key, ingest
from clearfield.io.odk import (
    Submission,
    SubmissionFormatError,
    from_central_csv,
    from_odata,
    kobo_list,
)
from clearfield.store.base import Store
from clearfield.users import AuthError, User

__all__ = ["MAX_DELIVERY_BYTES", "add_ingest"]

MAX_DELIVERY_BYTES = 50 * 1024 * 1024
"""A delivery larger than this is refused (413, by :class:`clearfield.api.limits.BodyLimit`
before it is read): a day's export of a programme is far less."""


def add_ingest(
    app: FastAPI, store: Store, broker: Broker, runner: PlanRunner, current_user: Any
) -> None:
    router = APIRouter(prefix="/api/ingest")
    basic = HTTPBasic(auto_error=False)

    async def organisation(credentials: HTTPBasicCredentials | None = Depends(basic)) -> str:
        if credentials is None:
            raise AuthError(
                "send the organisation's id and its ingest key with HTTP Basic authentication"
            )
        ok = await asyncio.to_thread(
            check_ingest_key, store, credentials.username, credentials.password
        )
        if not ok:
            raise AuthError("unknown organisation or wrong ingest key")
        return credentials.username

    async def deliver(subs: list[Submission], org: str, source: str) -> dict[str, Any]:
        report = await asyncio.to_thread(ingest, store, subs, actor=f"{source}:{org}", organisation=org)  # fmt: skip
        _announce(broker, runner, report, org)
        return report.as_dict()

    @router.post("/kobo")
    async def kobo(request: Request, org: str = Depends(organisation)) -> dict[str, Any]:
        """A KoboToolbox REST Service's submission (JSON), or a list of them, or a page of
        the data API (``{"results": [...]}``)."""
        body = await request.body()  # (at most MAX_DELIVERY_BYTES: api.limits.BodyLimit)
        subs = await asyncio.to_thread(_from_json, body, kobo_list)  # (off the event loop)
        return await deliver(subs, org, "kobo")

    @router.post("/odk")
    async def odk(request: Request, org: str = Depends(organisation)) -> dict[str, Any]:
        """ODK Central's submissions: its OData JSON (``Content-Type: application/json``),
        or its CSV export (``text/csv``: the main table; ``application/zip``: with the
        repeats' tables)."""
        body = await request.body()  # (at most MAX_DELIVERY_BYTES: api.limits.BodyLimit)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind in ("text/csv", "application/zip", "application/x-zip-compressed"):
            subs = await asyncio.to_thread(_from_csv, body, ".zip" if "zip" in kind else ".csv")
        else:
            subs = await asyncio.to_thread(_from_json, body, _odata)
        return await deliver(subs, org, "odk")

    @router.get("/submissions")
    def submissions(
        status: str | None = Query(None, pattern="^(mapped|unmapped)$"),
        limit: int = Query(100, ge=1, le=1000),
        user: User = Depends(current_user),
    ) -> list[dict[str, Any]]:
        """The latest field submissions received (``status=unmapped``: those an IM
        officer has to fix), newest first."""
        check(user.role, "approve")
        return store.field_return_list(status, limit)

    app.include_router(router)


def _from_json(body: bytes, reader: Any) -> list[Submission]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SubmissionFormatError(f"the body is not JSON ({exc})") from None
    return reader(payload)


def _odata(payload: Any) -> list[Submission]:
    if not isinstance(payload, dict):
        raise SubmissionFormatError("ODK Central's OData answer is a JSON object")
    return from_odata(payload)


def _from_csv(body: bytes, suffix: str) -> list[Submission]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"submissions{suffix}"
        path.write_bytes(body)
        return from_central_csv(path)


def _announce(broker: Broker, runner: PlanRunner, report: IngestReport, org: str) -> None:
    if not report.mapped and not report.unmapped:
        return  # all resent: nothing new
    broker.publish(
        "ingest",
        {
            "organisation": org,
            "mapped": len(report.mapped),
            "unmapped": len(report.unmapped),
            "records": [list(r) for r in report.records],
        },
    )
    if report.daily_reports:
        runner.replan(f"re-plan after daily reports of {org}")
