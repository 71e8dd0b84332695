"""The reports over the API: what the dashboard's download button fetches.

A report covers every organisation, so it is for the roles that read the whole
programme (``domain.roles``: ``reports``); personal data goes only into the copies of
the roles that see it. Rendering takes seconds, so it runs off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import Response

from clearfield.domain.roles import check, sees_personal_data
from clearfield.errors import ClearfieldError
from clearfield.store.base import Store
from clearfield.users import User

__all__ = ["add_reports"]

_MEDIA = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def add_reports(app: FastAPI, store: Store, current_user: Any) -> None:
    router = APIRouter(prefix="/api/reports")

    @router.get(
        "/weekly",
        response_class=Response,
        responses={
            200: {
                "content": {"application/pdf": {}, "text/html": {}},
                "description": "The report, as a download (PDF by default, or HTML).",
            }
        },
    )
    async def weekly(
        week: str | None = Query(
            None, description="ISO week YYYY-Www; default: the last whole week"
        ),
        format: str = Query("pdf", pattern="^(pdf|html)$"),
        user: User = Depends(current_user),
    ) -> Response:
        """The weekly situation report (PDF or HTML) of ``week``, as the reader may see it."""
        check(user.role, "reports")
        from clearfield.report.render import weekly_report
        from clearfield.report.weekly import last_whole_week

        week = week or last_whole_week(store)
        try:
            body = await asyncio.to_thread(
                weekly_report,
                store,
                week,
                personal_data=sees_personal_data(user.role),
                pdf=format == "pdf",
            )
        except ValueError as exc:
            raise ClearfieldError(str(exc), record="week") from None
        name = f"weekly-report-{week}.{format}"
        return Response(
            body,
            media_type=_MEDIA[format],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    app.include_router(router)
