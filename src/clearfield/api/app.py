"""The Clearfield server: ``create_app(database_url)`` returns the FastAPI application.

Thin over services, like the CLI: authentication and the role rules of
``domain.roles`` at the door, ClearfieldError codes turned into HTTP statuses (bad
input is a 4xx naming the record and the reason, never a 500), and every change
published on the event stream.

Hardening: sign-ins are throttled (:mod:`clearfield.api.login_guard`), a request body
larger than ``CLEARFIELD_MAX_BODY`` is refused before it is read (:class:`clearfield.api.limits.BodyLimit`),
and every answer carries the security headers and Content-Security-Policy of
:class:`clearfield.api.web.SecurityHeaders`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import threading
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from clearfield import services
from clearfield.api.alerts import LateTaskWatch, submission_alerts
from clearfield.api.answers import error_answer, error_response
from clearfield.api.batcher import SubmissionBatcher
from clearfield.api.cache import UntilChange
from clearfield.api.current_plan import CurrentPlan
from clearfield.api.events import Broker, PostgresRelay
from clearfield.api.ingest import MAX_DELIVERY_BYTES, add_ingest
from clearfield.api.limits import BodyLimit
from clearfield.api.login_guard import LoginGuard, TooManySignIns
from clearfield.api.ogc import add_ogc
from clearfield.api.params import parse_bbox
from clearfield.api.plans import PlanRunner, add_plans
from clearfield.api.programme import add_programme
from clearfield.api.record_features import record_feature, visible
from clearfield.api.reports import add_reports
from clearfield.api.tile_service import TileService
from clearfield.api.tiles import make_tiles_router
from clearfield.api.web import SecurityHeaders, add_web, content_security_policy
from clearfield.config import max_body_bytes
from clearfield.domain.enums import ReviewStatus
from clearfield.domain.records import RECORD_TYPES
from clearfield.domain.review import review_tag
from clearfield.domain.roles import (
    Forbidden,
    Role,
    check,
)
from clearfield.errors import ClearfieldError, NotFound
from clearfield.owners import Owners
from clearfield.planning import programme_date
from clearfield.stats import programme_stats
from clearfield.store.base import Store
from clearfield.store.postgis import libpq_url
from clearfield.users import (
    TOKEN_SECONDS,
    AuthError,
    RecentUsers,
    User,
    authenticate,
    issue_token,
    token_subject,
    user_from_row,
)

__all__ = ["app_from_environment", "check_basemap_tiles", "create_app"]

SESSION_COOKIE = "clearfield_session"
CSRF_COOKIE = "clearfield_csrf"
CSRF_HEADER = "X-CSRF-Token"


def _warm(store: Store, current_plan: CurrentPlan, kept: UntilChange) -> None:
    """Fill, ahead of the first dashboard, what it asks for first: the programme's
    proportions that tile queries plan by, the current plan, the statistics (with the
    blocked assets). A failure here is met again, and reported, by the request that
    needs the answer."""
    try:
        store.tile_rows("hazard", (0.0, 0.0, 0.0, 0.0))
        current_plan.get()
        kept.get(("stats", None), lambda: programme_stats(store))
    except Exception as exc:  # the store may close under it at shutdown
        logging.getLogger(__name__).debug("warming the caches failed: %s", exc)


def _watch_late_tasks(
    store: Store, current_plan: CurrentPlan, broker: Broker, every: float, stop: threading.Event
) -> None:
    """Push an ``alert`` for each plan task that has become more than two days late,
    looking every ``every`` seconds until ``stop``."""
    watch = LateTaskWatch(store, current_plan)
    while not stop.is_set():
        try:
            for alert in watch.newly_late(programme_date(store)):
                broker.publish("alert", alert)
        except Exception as exc:  # a failed look is tried again at the next
            if not stop.is_set():  # (at shutdown the store closes under it)
                logging.getLogger(__name__).warning("looking for late tasks failed: %s", exc)
        stop.wait(every)


def app_from_environment() -> FastAPI:
    """The app of one of several server processes (``clearfield serve --workers N``):
    its database from ``CLEARFIELD_DATABASE``, its basemap from
    ``CLEARFIELD_BASEMAP_TILES``."""
    return create_app(
        os.environ["CLEARFIELD_DATABASE"],
        basemap_tiles=os.environ.get("CLEARFIELD_BASEMAP_TILES") or None,
    )


def check_basemap_tiles(url: str | None) -> None:
    """Refuse a raster tile URL that the map could not fill in."""
    if url is not None and not all(f"{{{k}}}" in url for k in "zxy"):
        raise ClearfieldError(
            f"the basemap tile URL {url!r} needs {{z}}, {{x}} and {{y}}",
            record="basemap_tiles",
        )


LATE_CHECK_SECONDS = 300.0
"""How often a server looks for tasks that have become late (days pass on their own)."""


def create_app(
    database_url: str,
    *,
    late_check_seconds: float = LATE_CHECK_SECONDS,
    basemap_tiles: str | None = None,
    max_body: int | None = None,
    login_guard: LoginGuard | None = None,
) -> FastAPI:
    """The API and dashboard over the store at ``database_url``; ``late_check_seconds``:
    how often to look for plan tasks that have become late and push them as alerts;
    ``basemap_tiles``: an XYZ raster tile URL the map draws under everything;
    ``max_body``: the largest request body read (default ``CLEARFIELD_MAX_BODY``, else
    10 MB); ``login_guard``: the sign-in throttle (default: 5 failures lock a name for
    15 minutes)."""
    check_basemap_tiles(basemap_tiles)
    limit = max_body if max_body is not None else max_body_bytes()
    guard = login_guard if login_guard is not None else LoginGuard()
    store = services.open_store(database_url, create=False, serving=True)
    broker = Broker()
    if database_url.startswith(services.POSTGRES_PREFIXES):  # other server processes
        broker.relay = PostgresRelay(libpq_url(database_url), broker)
    batcher = SubmissionBatcher(store, error_answer)
    current_plan = CurrentPlan(store)
    kept = UntilChange(store)
    tiles = TileService(store, database_url)
    runner = PlanRunner(store, broker)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        broker.bind(asyncio.get_running_loop())
        if broker.relay is not None:
            broker.relay.start()
        # the first map asks for assets' blocked state, seconds of work on a large
        # programme: begin it now rather than when the first dashboard opens
        warming = threading.Thread(target=_warm, args=(store, current_plan, kept), daemon=True)
        warming.start()
        tiles.start()
        stop = threading.Event()
        args = (store, current_plan, broker, late_check_seconds, stop)
        watching = threading.Thread(target=_watch_late_tasks, args=args, daemon=True)
        watching.start()
        yield
        stop.set()
        if broker.relay is not None:
            broker.relay.stop()
        tiles.close()
        batcher.close()
        runner.close()  # a planning run in progress ends before the store closes
        for thread in (watching, warming):  # done with the store before it closes
            thread.join(timeout=30)
        store.close()

    app = FastAPI(
        title="Clearfield",
        summary="Mine action and reconstruction records, land release, plans, live events.",
        lifespan=lifespan,
    )
    app.state.store, app.state.broker = store, broker
    app.add_middleware(BodyLimit, limit=limit, limits={"/api/ingest/": MAX_DELIVERY_BYTES})
    app.add_middleware(SecurityHeaders, csp=content_security_policy(basemap_tiles))  # outermost
    oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)

    @app.exception_handler(ClearfieldError)
    async def clearfield_error(request: Request, exc: ClearfieldError) -> JSONResponse:
        answer = error_response(exc)
        if exc.code == "UNAUTHORIZED" and request.url.path.startswith("/api/ingest/"):
            answer.headers["WWW-Authenticate"] = 'Basic realm="clearfield ingest"'
        if isinstance(exc, TooManySignIns):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    # (defaults, not Annotated aliases: these names are local to create_app, and
    # annotations are strings that FastAPI resolves in the module)
    users = RecentUsers(store)

    async def current_user(request: Request, token: str | None = Depends(oauth2)) -> User:
        """A bearer token (API clients), else the browser's session cookie; a cookie-borne
        request that changes something must also carry the CSRF token in a header (the
        double-submit pattern), which a page from another site cannot read or send."""
        if not token:
            token = request.cookies.get(SESSION_COOKIE)
            if not token:
                raise AuthError("sign in first: no bearer token or session was sent")
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                sent = request.headers.get(CSRF_HEADER, "")
                if not sent or not secrets.compare_digest(
                    sent, request.cookies.get(CSRF_COOKIE, "")
                ):
                    raise Forbidden(
                        f"a request from the browser session needs the {CSRF_HEADER} header"
                    )
        name = token_subject(store, token)
        known, row = users.known(name)
        if not known:
            row = await asyncio.to_thread(users.load, name)
        return user_from_row(row)

    me_ = Depends(current_user)

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        """200 when the server is up and its database answers; ``process``: which of
        the server's processes answered (``serve --workers N``)."""
        store.is_empty()
        return {"status": "ok", "process": os.getpid()}

    def sign_in(request: Request, form: OAuth2PasswordRequestForm) -> User:
        """The user of a name and password, unless the name or the client's address is
        throttled (429) after failed sign-ins; a failure is counted and logged."""
        address = request.client.host if request.client else "unknown"
        guard.check(form.username, address)
        try:
            user = authenticate(store, form.username, form.password)
        except AuthError:
            guard.failed(form.username, address)
            raise
        except BaseException:
            guard.ended(form.username, address)
            raise
        guard.succeeded(form.username, address)
        return user

    throttled: dict[int | str, dict[str, Any]] = {
        429: {"description": "Too many failed sign-ins: try again after ``Retry-After`` seconds"}
    }

    @app.post("/api/auth/token", responses=throttled)
    def token(
        request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
    ) -> dict[str, str]:
        """OAuth2 password flow: a bearer token for API clients. After 5 failed
        sign-ins within 15 minutes a name is locked for 15 minutes (429, with
        ``Retry-After``), and so is an address after 20 within a minute."""
        user = sign_in(request, form)
        return {"access_token": issue_token(store, user), "token_type": "bearer"}

    @app.post("/api/auth/session", responses=throttled)
    def session(
        request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
    ) -> JSONResponse:
        """Sign a browser in: an HTTP-only, SameSite=Strict session cookie (Secure over
        HTTPS and on loopback) and a CSRF token cookie the page echoes in a header.
        Throttled as ``/api/auth/token`` is."""
        user = sign_in(request, form)
        csrf = secrets.token_urlsafe(24)
        answer = JSONResponse({"name": user.name, "role": user.role.value, "csrf_token": csrf})
        secure = request.url.scheme == "https" or request.url.hostname in ("127.0.0.1", "localhost")  # fmt: skip
        common = {"samesite": "strict", "secure": secure, "max_age": TOKEN_SECONDS, "path": "/"}
        answer.set_cookie(SESSION_COOKIE, issue_token(store, user), httponly=True, **common)  # type: ignore[arg-type]
        answer.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]
        return answer

    @app.post("/api/auth/logout")
    def logout() -> JSONResponse:
        answer = JSONResponse({"signed_out": True})
        answer.delete_cookie(SESSION_COOKIE, path="/")
        answer.delete_cookie(CSRF_COOKIE, path="/")
        return answer

    @app.get("/api/me")
    def me(user: User = me_) -> dict[str, Any]:
        return {"name": user.name, "role": user.role.value, "organisation": user.organisation}

    @app.get("/api/stats")
    def stats(by: str | None = None, user: User = me_) -> dict[str, Any]:
        """Land release statistics (DESIGN's stats contract), approved records only."""
        check(user.role, "stats")
        return kept.get(("stats", by), lambda: programme_stats(store, by=by))

    def record_type(name: str) -> str:
        if name not in RECORD_TYPES:
            raise NotFound(f"no record type {name!r}; one of {', '.join(RECORD_TYPES)}")
        return name

    @app.get("/api/records/{rtype}")
    def list_records(
        rtype: str,
        status: ReviewStatus | None = None,
        organisation: str | None = None,
        district: str | None = None,
        bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (EPSG:4326)")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
        offset: Annotated[int, Query(ge=0)] = 0,
        user: User = me_,
    ) -> dict[str, Any]:
        """Current versions as a GeoJSON FeatureCollection, filtered and paged."""
        check(user.role, "read")
        box = parse_bbox(bbox)
        accounts = store.hazard_accounts() if rtype == "hazard" else {}
        out: list[dict[str, Any]] = []
        skipped = 0
        for s in store.records(record_type(rtype), bbox=box, review_status=status):
            rec = s.record
            if not visible(user, rec):
                continue
            if organisation and getattr(rec, "organisation", None) != organisation:
                continue
            if district and getattr(rec, "district", None) != district:
                continue
            if skipped < offset:
                skipped += 1
                continue
            if len(out) >= limit:
                break
            out.append(record_feature(user, s, accounts))
        return {"type": "FeatureCollection", "features": out, "offset": offset, "limit": limit}

    @app.get("/api/records/{rtype}/{rid}")
    def read_record(rtype: str, rid: str, response: Response, user: User = me_) -> dict[str, Any]:
        """A record's current version and its whole history (oldest first). The ``ETag``
        is its review tag: send it back as ``If-Match`` with a review, which is then
        refused (409) if anyone changed the record in between."""
        check(user.role, "read")
        history = store.history(record_type(rtype), rid)
        if not visible(user, history[-1].record):
            raise Forbidden("a field_lead sees their own organisation's records only")
        accounts = store.hazard_accounts() if rtype == "hazard" else {}
        current = next((s for s in history if s.is_current), history[-1])
        response.headers["ETag"] = f'"{review_tag(current.version, current.record.review_status)}"'
        return {
            **record_feature(user, current, accounts),
            "history": [record_feature(user, s, {}) for s in history],
        }

    @app.post("/api/records")
    async def submit(
        request: Request,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
        user: User = me_,
    ) -> JSONResponse:
        """Submit a GeoJSON Feature or FeatureCollection in one transaction. Send a
        client-generated ``Idempotency-Key``: a retry with the same key is stored once and
        answered the same."""
        check(user.role, "submit")
        body = await request.body()  # (at most the server's limit: BodyLimit)
        digest = hashlib.sha256(body).hexdigest()
        features: list[Any] | None = None
        refusal = None
        try:
            features = await asyncio.to_thread(_read_submission, store, user, body)
        except ClearfieldError as exc:
            refusal = error_answer(exc)
        if refusal is not None and not idempotency_key:
            return JSONResponse(refusal[1], status_code=refusal[0])
        # imported with whatever else arrives at the same moment, off the event loop
        outcome = await asyncio.wrap_future(
            batcher.submit(user, features, key=idempotency_key, digest=digest, refusal=refusal)
        )
        if outcome.fresh and outcome.status == 200 and features is not None:
            broker.publish("submission", {"user": user.name, **outcome.body})
            for alert in await asyncio.to_thread(submission_alerts, store, features, current_plan):
                broker.publish("alert", alert)
        return JSONResponse(outcome.body, status_code=outcome.status)

    @app.post("/api/records/{rtype}/{rid}/{action}")
    async def review(
        rtype: str,
        rid: str,
        action: str,
        request: Request,
        if_match: Annotated[str | None, Header(max_length=100)] = None,
        user: User = me_,
    ) -> dict[str, Any]:
        """``approve``, ``reject`` (JSON body ``{"reason": ...}``) or ``submit`` a record.
        With ``If-Match`` (the ``ETag`` of the record as read), only if nobody changed it
        since; a review that comes second (the record is reviewed already, or changed) is
        a 409 that says why."""
        statuses = {
            "approve": ReviewStatus.APPROVED,
            "reject": ReviewStatus.REJECTED,
            "submit": ReviewStatus.SUBMITTED,
        }
        if action not in statuses:
            raise NotFound(f"no action {action!r}; approve, reject or submit")
        check(user.role, "submit" if action == "submit" else "approve")
        reason = None
        if action == "reject":
            try:
                reason = (orjson.loads(await request.body() or b"{}") or {}).get("reason")
            except (orjson.JSONDecodeError, AttributeError):
                reason = None
        stored = await asyncio.to_thread(
            services.review,
            store,
            record_type(rtype),
            rid,
            statuses[action],
            actor=user.name,
            reason=reason,
            expected=if_match.removeprefix("W/").strip('"') if if_match else None,
        )
        event = {
            "record_type": rtype,
            "id": rid,
            "review_status": stored.record.review_status.value,
            "user": user.name,
        }
        broker.publish("review", event)
        if rtype == "daily_report" and stored.record.review_status is ReviewStatus.APPROVED:
            runner.replan(
                f"re-plan after {user.name} approved daily report {rid}"
            )  # progress counts
        return event

    add_web(app, store, current_user, basemap_tiles)
    app.include_router(make_tiles_router(tiles, current_user))
    add_plans(app, store, runner, current_plan, current_user)
    add_ingest(app, store, broker, runner, current_user)
    add_ogc(app, store, current_user)
    add_reports(app, store, current_user)
    add_programme(app, store, current_plan, kept, current_user)

    @app.get("/api/events")
    async def events(user: User = me_) -> StreamingResponse:
        """Server-sent events: ``submission``, ``review``, ``plan`` and ``alert``."""
        check(user.role, "stats")
        return StreamingResponse(broker.stream(), media_type="text/event-stream")

    return app


def _read_submission(store: Store, user: User, body: bytes) -> list[Any]:
    """The features of a submission's body, or why it cannot be taken."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ClearfieldError(f"the body is not JSON ({exc})", record="submission") from None
    features = _features(doc)
    if user.role is Role.FIELD_LEAD:
        _field_lead_may_submit(store, user, features)
    return features


def _features(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        feats = doc.get("features")
        if isinstance(feats, list):
            return feats
        raise ClearfieldError("a FeatureCollection needs a 'features' array", record="submission")
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return [doc]
    raise ClearfieldError("send a GeoJSON Feature or FeatureCollection", record="submission")


def _field_lead_may_submit(store: Store, user: User, features: list[Any]) -> None:
    """A field lead submits their own organisation's records, with its own teams, as
    ``submitted`` (a record without a status is made ``submitted``, whatever its type's
    default), changes none of another organisation's stored records, and submits no
    record that belongs to no organisation (an organisation, an asset)."""
    owners = Owners(store)
    for i, f in enumerate(features, 1):
        props = f.get("properties") if isinstance(f, dict) else None
        if not isinstance(props, dict):
            continue
        org = props.get("organisation")
        if org is not None and org != user.organisation:
            raise Forbidden(
                f"feature {i}: a field_lead submits for their own organisation "
                f"({user.organisation}) only, not {org}"
            )
        rtype = props.get("record_type")
        cls = RECORD_TYPES.get(rtype) if isinstance(rtype, str) else None
        if cls is None:
            continue  # (the import names it: an unknown record type)
        # the review status's name in a file: "status" where the type aliases it
        named = next((k for k, v in cls.ALIASES.items() if v == "review_status"), "review_status")
        status = props.get(named)
        if status is None:
            props[named] = ReviewStatus.SUBMITTED.value
        elif status not in ("submitted", "draft"):
            raise Forbidden(
                f"feature {i}: a field_lead submits records as submitted, not "
                f"{str(status)[:20]!r}; an im_officer approves them"
            )
        if not {"organisation", "team"} & {x.name for x in fields(cls)}:
            raise Forbidden(
                f"feature {i}: a {cls.RECORD_TYPE} belongs to no organisation; "
                "an im_officer records it"
            )
        if isinstance(props.get("id"), str):
            why = owners.foreign([f], user.organisation or "")
            if why:
                raise Forbidden(f"feature {i}: {why}; a field_lead submits their own organisation's only")  # fmt: skip
