"""The size limit of request bodies, for every endpoint: a body larger than the limit is
refused with a 413 before it is read whole (``CLEARFIELD_MAX_BODY``; ingest has its own)."""

from __future__ import annotations

from contextlib import suppress

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearfield.api.answers import error_answer
from clearfield.errors import ClearfieldError

__all__ = ["BodyLimit", "BodyTooLarge"]


class BodyTooLarge(ClearfieldError):
    code = "TOO_LARGE"


class BodyLimit:
    """ASGI middleware: refuse (413, the house error) a request whose body is larger than
    ``limit`` bytes (or ``limits[prefix]`` for paths under a prefix) before reading it
    all: at once when its ``Content-Length`` says so, else as soon as the bytes received
    pass the limit (a chunked body); the handler's answer is then replaced by the 413.
    The ingest endpoints' own check (``api.ingest``) works the same way, in the handler:
    here it also covers the bodies FastAPI reads before any handler (forms, JSON)."""

    def __init__(self, app: ASGIApp, limit: int, limits: dict[str, int]):
        self.app, self.limit, self.limits = app, limit, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = next((n for p, n in self.limits.items() if path.startswith(p)), self.limit)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(scope, send, f"{int(declared):,} bytes; at most {limit:,} in one request")  # fmt: skip
            return
        received, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(f"more than {limit:,} bytes in one request", record="request")  # fmt: skip
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over:  # whatever the app made of a cut-off body: the 413 below replaces it
                return
            started = True
            await send(message)

        with suppress(BodyTooLarge):
            await self.app(scope, counted, answer)
        if over and not started:
            await _too_large(scope, send, f"more than {limit:,} bytes in one request")


async def _too_large(scope: Scope, send: Send, message: str) -> None:
    status, body = error_answer(BodyTooLarge(message, record="request"))
    response = JSONResponse(body, status_code=status, headers={"Connection": "close"})
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
