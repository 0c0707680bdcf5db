"""The console's Starlette application: routes, each a page or one audited action.

Every route but the login form and the stylesheet needs a session; GET pages need the
``viewer`` role, every action ``analyst``. Actions answer with a redirect to the page of
their subject (POST-redirect-GET), or an error page naming what was wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from distillwatch.review import actions, audit, auth, cases, intel, pages
from distillwatch.review.actions import EnforceConfig, ShareConfig
from distillwatch.review.auth import User
from distillwatch.review.store import ConsoleError, Store
from distillwatch.review.web import (
    COOKIE,
    HERE,
    LOGIN_COOKIE,
    Form,
    HttpError,
    Renderer,
    SecurityHeaders,
    check_csrf,
    read_form,
    redirect,
    safe_next,
)

Handler = Callable[[Request, User], Awaitable[Response]]


class Console:
    """The routes over one store, enforcement config and sharing config."""

    def __init__(
        self, store: Store, enforce: EnforceConfig, share: ShareConfig, secure_cookies: bool = False
    ) -> None:
        self.store, self.enforce_cfg, self.share_cfg = store, enforce, share
        self.key = store.secret()
        self.secure = secure_cookies
        self.r = Renderer()

    # -- plumbing -------------------------------------------------------------------------
    def user(self, request: Request) -> User | None:
        with self.store.begin() as conn:
            return auth.session_user(conn, self.store.t, self.key, request.cookies.get(COOKIE))

    def guarded(self, role: str, handler: Handler, post: bool = False) -> Callable:
        async def endpoint(request: Request) -> Response:
            user = self.user(request)
            if user is None:
                if post:
                    return self.r.error(request, None, 403, "your session has ended; log in again")
                return redirect("/login?next=" + quote(request.url.path, safe="/"))
            if not user.can(role):
                return self.r.error(request, user, 403, f"this needs the {role} role")
            try:
                if post:
                    request.state.form = await read_form(request)
                    check_csrf(request.state.form, user.csrf)
                return await handler(request, user)
            except HttpError as exc:
                return self.r.error(request, user, exc.status, exc.message)
            except ConsoleError as exc:
                return self.r.error(request, user, 404 if not post else 400, str(exc))

        return endpoint

    # -- login ----------------------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        import secrets

        token = secrets.token_urlsafe(24)
        resp = self.r.page(
            request,
            "login.html",
            None,
            csrf=token,
            next=safe_next(request.query_params.get("next")),
            failed=False,
        )
        resp.set_cookie(
            LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=self.secure, path="/login"
        )
        return resp

    async def login(self, request: Request) -> Response:
        try:
            form = await read_form(request)
            check_csrf(form, request.cookies.get(LOGIN_COOKIE, "\x00"))
        except HttpError as exc:
            return self.r.error(request, None, exc.status, exc.message)
        with self.store.begin() as conn:
            cookie = auth.login(
                conn, self.store.t, self.key, form.get("name")[:100], form.get("password")[:1000]
            )
        if cookie is None:
            return self.r.page(
                request,
                "login.html",
                None,
                status=401,
                csrf=form.get("csrf"),
                next=safe_next(form.get("next")),
                failed=True,
            )
        resp = redirect(safe_next(form.get("next")))
        resp.set_cookie(
            COOKIE,
            cookie,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            max_age=auth.SESSION_SECONDS,
            path="/",
        )
        resp.delete_cookie(LOGIN_COOKIE, path="/login")
        return resp

    async def logout(self, request: Request, user: User) -> Response:
        with self.store.begin() as conn:
            auth.logout(conn, self.store.t, self.key, request.cookies.get(COOKIE))
            audit.record(conn, self.store.t, user.name, "logout", f"user:{user.name}")
        resp = redirect("/login")
        resp.delete_cookie(COOKIE, path="/")
        return resp

    # -- pages ----------------------------------------------------------------------------
    async def overview(self, request: Request, user: User) -> Response:
        scan = _int(request.query_params.get("scan"), "scan", None)
        page = _int(request.query_params.get("page"), "page", 0) or 0
        with self.store.begin() as conn:
            view = pages.overview(conn, self.store.t, scan, page)
        return self.r.page(request, "overview.html", user, **view)

    async def campaign(self, request: Request, user: User) -> Response:
        scan_id, cid = request.path_params["scan_id"], request.path_params["campaign_id"]
        with self.store.begin() as conn:
            view = pages.campaign(conn, self.store.t, scan_id, cid)
        members = [m["account_id"] for m in view["members"]]
        enforced = await actions.overrides_of(self.enforce_cfg, members)
        return self.r.page(request, "campaign.html", user, enforced=enforced, **view)

    async def account(self, request: Request, user: User) -> Response:
        account_id = request.path_params["account_id"]
        with self.store.begin() as conn:
            view = pages.account(conn, self.store.t, account_id)
        enforced = await actions.overrides_of(self.enforce_cfg, [account_id])
        return self.r.page(request, "account.html", user, enforced=enforced.get(account_id), **view)

    async def case_list(self, request: Request, user: User) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in (*cases.ACTIVE, cases.CONFIRMED, cases.DISMISSED):
            raise HttpError(400, f"unknown case status {status!r}")
        with self.store.begin() as conn:
            found = cases.listing(conn, self.store.t, status)
            counts = cases.counts(conn, self.store.t)
        return self.r.page(request, "cases.html", user, cases=found, wanted=status, counts=counts)

    async def audit_log(self, request: Request, user: User) -> Response:
        subject = request.query_params.get("subject") or None
        with self.store.begin() as conn:
            found = audit.entries(conn, self.store.t, subject, limit=500)
        return self.r.page(request, "audit.html", user, entries=found, subject=subject)

    async def intel_page(self, request: Request, user: User) -> Response:
        with self.store.begin() as conn:
            view = intel.view(conn, self.store.t)
        return self.r.page(request, "intel.html", user, **view)

    async def verdicts(self, request: Request, user: User) -> Response:
        with self.store.begin() as conn:
            lines = cases.verdict_lines(conn, self.store.t)
            audit.record(
                conn,
                self.store.t,
                user.name,
                "verdicts.export",
                "verdicts",
                None,
                accounts=len(lines),
            )
        return Response(
            b"".join(lines),
            media_type="application/x-ndjson",
            headers={"content-disposition": 'attachment; filename="verdicts.jsonl"'},
        )

    # -- actions --------------------------------------------------------------------------
    async def case_action(self, request: Request, user: User) -> Response:
        form: Form = request.state.form
        case_id, verb = request.path_params["case_id"], request.path_params["verb"]
        t = self.store.t
        with self.store.begin() as conn:
            case = cases.get(conn, t, case_id)
            if verb == "assign":
                cases.assign(conn, t, user.name, case_id, form.need("assignee"))
            elif verb == "escalate":
                cases.escalate(conn, t, user.name, case_id, form.get("reason"))
            elif verb in ("confirm", "dismiss"):
                verdict = cases.CONFIRMED if verb == "confirm" else cases.DISMISSED
                cases.decide(conn, t, user.name, case_id, verdict, form.get("reason"))
            else:
                raise HttpError(404, f"no case action {verb!r}")
        return redirect(_subject_url(case))

    async def open_case(self, request: Request, user: User) -> Response:
        form: Form = request.state.form
        account_id = form.need("account_id")
        with self.store.begin() as conn:
            pages.account(conn, self.store.t, account_id)  # must exist
            cases.open_case(
                conn, self.store.t, user.name, "account", account_id, None, form.get("reason")
            )
        return redirect("/accounts/" + quote(account_id, safe=""))

    async def enforce_account(self, request: Request, user: User) -> Response:
        form: Form = request.state.form
        account_id = form.need("account_id")
        with self.store.begin() as conn:
            pages.account(conn, self.store.t, account_id)
        await self._enforce(user, form, [account_id], f"account:{account_id}")
        return redirect("/accounts/" + quote(account_id, safe=""))

    async def enforce_campaign(self, request: Request, user: User) -> Response:
        form: Form = request.state.form
        scan_id, cid = request.path_params["scan_id"], request.path_params["campaign_id"]
        with self.store.begin() as conn:
            pages.campaign(conn, self.store.t, scan_id, cid)
            members = pages.campaign_members(conn, self.store.t, scan_id, cid)
        await self._enforce(user, form, members, f"campaign:{cid}")
        return redirect(f"/campaigns/{scan_id}/{quote(cid, safe='')}")

    async def _enforce(self, user: User, form: Form, accounts: list[str], subject: str) -> None:
        action, seconds = actions.parse_enforcement(form.need("action"), form.get("ttl", "1h"))
        reason = form.need("reason")[:2000]
        try:
            done = await actions.enforce(self.enforce_cfg, accounts, action, seconds, reason)
        except actions.PartlyEnforced as exc:  # what did change is audited all the same
            with self.store.begin() as conn:
                audit.record_each(
                    conn,
                    self.store.t,
                    user.name,
                    f"enforce.{action}",
                    [f"account:{a}" for a in exc.done],
                    reason,
                    via=subject,
                    failed_after=True,
                )
            raise
        with self.store.begin() as conn:
            audit.record(
                conn, self.store.t, user.name, f"enforce.{action}", subject, reason, **done
            )
            if subject.startswith("campaign:"):
                audit.record_each(
                    conn,
                    self.store.t,
                    user.name,
                    f"enforce.{action}",
                    [f"account:{a}" for a in accounts],
                    reason,
                    via=subject,
                )

    async def share_preview(self, request: Request, user: User) -> Response:
        scan_id, cid = request.path_params["scan_id"], request.path_params["campaign_id"]
        with self.store.begin() as conn:
            confirmed = [
                c
                for c in cases.for_subject(conn, self.store.t, "campaign", cid)
                if c.status == cases.CONFIRMED
            ]
            if not confirmed:
                raise HttpError(409, f"campaign {cid} has no confirmed case; confirm it first")
            path = pages.scan_path(conn, self.store.t, scan_id)
        preview = actions.share_preview(self.share_cfg, path, cid)
        with self.store.begin() as conn:
            audit.record(
                conn,
                self.store.t,
                user.name,
                "share.preview",
                f"campaign:{cid}",
                None,
                scan_id=scan_id,
                objects=preview.objects,
                clearance=preview.clearance,
                recipients=preview.recipients,
                skipped=preview.skipped,
            )
        return self.r.page(request, "share_preview.html", user, p=preview, scan_id=scan_id)

    # -- wiring ---------------------------------------------------------------------------
    def routes(self) -> list[Route | Mount]:
        g = self.guarded
        return [
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", g("viewer", self.logout, post=True), methods=["POST"]),
            Route("/", g("viewer", self.overview)),
            Route("/cases", g("viewer", self.case_list)),
            Route("/audit", g("viewer", self.audit_log)),
            Route("/intel", g("viewer", self.intel_page)),
            Route("/verdicts.jsonl", g("analyst", self.verdicts)),
            Route("/campaigns/{scan_id:int}/{campaign_id}", g("viewer", self.campaign)),
            Route(
                "/campaigns/{scan_id:int}/{campaign_id}/enforce",
                g("analyst", self.enforce_campaign, post=True),
                methods=["POST"],
            ),
            Route(
                "/campaigns/{scan_id:int}/{campaign_id}/share-preview",
                g("analyst", self.share_preview, post=True),
                methods=["POST"],
            ),
            Route(
                "/cases/{case_id:int}/{verb}",
                g("analyst", self.case_action, post=True),
                methods=["POST"],
            ),
            Route(
                "/account-actions/enforce",
                g("analyst", self.enforce_account, post=True),
                methods=["POST"],
            ),
            Route(
                "/account-actions/open-case",
                g("analyst", self.open_case, post=True),
                methods=["POST"],
            ),
            Route("/accounts/{account_id:path}", g("viewer", self.account)),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]


def _int(value: str | None, name: str, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 9:
        raise HttpError(400, f"query parameter {name!r} must be a non-negative integer")
    return int(value)


def _subject_url(case: cases.Case) -> str:
    if case.kind == "campaign":
        return f"/campaigns/{case.scan_id}/{quote(case.subject, safe='')}"
    return "/accounts/" + quote(case.subject, safe="")


def create_app(
    store: Store,
    enforce: EnforceConfig | None = None,
    share: ShareConfig | None = None,
    secure_cookies: bool = False,
) -> SecurityHeaders:
    console = Console(store, enforce or EnforceConfig(), share or ShareConfig(), secure_cookies)
    return SecurityHeaders(Starlette(routes=console.routes()))
