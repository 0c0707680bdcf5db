"""The TAXII 2.1 server as a FastAPI application (``distillwatch share serve``).

Endpoints (one API root, named by the config): discovery, API root information, status,
collections, a collection, its manifest, its objects (get with ``added_after``,
``match[id|type|version|spec_version]``, ``limit``/``next`` pagination; add with a status
resource), one object, its versions, delete. Every request is authenticated (HTTP Basic per
member) and rate-limited; reading needs the collection's read right and shows only objects
at or below the member's TLP clearance; writing needs the write right, and every object is
validated (structure, then the OASIS validator) -- an invalid one is answered with the reason
in the status resource's ``failures`` and never stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPBasic
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from distillwatch.share import tlp
from distillwatch.share.auditlog import ChainedLog
from distillwatch.share.server import checker, taxii
from distillwatch.share.server.config import Collection, Member, ServerConfig
from distillwatch.share.server.guard import Guard, LoginGate
from distillwatch.share.server.provenance import admit
from distillwatch.share.server.store import NotOwner, Store, new_status_id
from distillwatch.share.server.taxii import TAXII, TaxiiError, taxii_response


class _BasicScheme(HTTPBasic):
    """Declares HTTP Basic in the OpenAPI document and parses nothing: the guard reads the
    header itself. FastAPI's parser answered 401 at once, before the login throttle, to
    credentials that were not ASCII or had no colon: a member whose password is not ASCII
    could never log in, and such guesses were not counted."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_basic = _BasicScheme(auto_error=False, description="Member name and password.")

_ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["objects"],
    "properties": {
        "objects": {"type": "array", "items": {"type": "object"}},
        "more": {"type": "boolean"},
    },
}
_TAXII_BODY = {"content": {TAXII: {"schema": _ENVELOPE_SCHEMA}}}


def _collection_info(c: Collection, member: Member) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "alias": c.alias,
        "can_read": c.can_read(member.name),
        "can_write": c.can_write(member.name),
        "media_types": [taxii.STIX],
    }


def create_app(config: ServerConfig, store: Store | None = None) -> FastAPI:
    """A ready TAXII 2.1 app over ``store`` (default: the config's database)."""
    store = store or Store(config.database)
    log = ChainedLog(Path(config.audit_log))
    guard = Guard(config, log.append)
    uploads = checker.Uploads()
    root = f"/{config.api_root}"

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(checker.warm_up)
        yield  # the worker outlives the app: tests build many apps in one process

    app = FastAPI(
        title=config.title,
        description=config.description,
        version="2.1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.audit = log
    app.add_middleware(LoginGate, guard=guard)

    @app.exception_handler(TaxiiError)
    async def _taxii_error(_: Request, err: TaxiiError) -> Response:
        return taxii.error_response(err)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, err: RequestValidationError) -> Response:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()[:5])
        return taxii.error_response(TaxiiError(400, "invalid request", where))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, err: StarletteHTTPException) -> Response:
        return taxii.error_response(TaxiiError(err.status_code, str(err.detail), ""))

    def member(request: Request, _: Any = Depends(_basic)) -> Member:
        found = guard.member(
            request.headers.get("authorization"), request.client.host if request.client else "-"
        )
        if not taxii.acceptable(request.headers.get("accept")):
            raise TaxiiError(406, "not acceptable", f"this server answers {TAXII}")
        return found

    def visible(cid: str, who: Member) -> Collection:
        """The collection, if ``who`` may read or write it; otherwise it does not exist (404)."""
        c = config.collection(cid)
        if c is None or not (c.can_read(who.name) or c.can_write(who.name)):
            raise TaxiiError(
                404, "no such collection", f"{cid!r:.80} is not a collection you can see"
            )
        return c

    def readable(cid: str, who: Member) -> Collection:
        c = visible(cid, who)
        if not c.can_read(who.name):
            raise TaxiiError(
                403, "read not permitted", f"{who.name} may not read collection {c.alias}"
            )
        return c

    @app.get("/taxii2/", summary="Server discovery")
    def discovery(who: Member = Depends(member)) -> Response:
        return taxii_response(
            {
                "title": config.title,
                "description": config.description,
                "contact": config.contact,
                "default": f"{root}/",
                "api_roots": [f"{root}/"],
            }
        )

    @app.get(f"{root}/", summary="API root information")
    def api_root(who: Member = Depends(member)) -> Response:
        return taxii_response(
            {
                "title": config.title,
                "versions": [TAXII],
                "max_content_length": config.max_content_length,
                "x_distillwatch": taxii.HUB_FEATURES,
            }
        )

    @app.get(f"{root}/status/{{status_id}}/", summary="Status of an add request")
    def status(status_id: str, who: Member = Depends(member)) -> Response:
        found = store.load_status(status_id, who.name) if taxii.is_uuid(status_id) else None
        if found is None:
            raise TaxiiError(404, "no such status", f"{status_id!r:.80} is not a status of yours")
        return taxii_response(found)

    @app.get(f"{root}/collections/", summary="Collections this member can see")
    def collections(who: Member = Depends(member)) -> Response:
        visible = [
            _collection_info(c, who)
            for c in config.collections.values()
            if c.can_read(who.name) or c.can_write(who.name)
        ]
        return taxii_response({"collections": visible} if visible else {})

    @app.get(f"{root}/collections/{{cid}}/", summary="One collection")
    def collection(cid: str, who: Member = Depends(member)) -> Response:
        c = config.collection(cid)
        if c is None or not (c.can_read(who.name) or c.can_write(who.name)):
            raise TaxiiError(
                404, "no such collection", f"{cid!r:.80} is not a collection you can see"
            )
        return taxii_response(_collection_info(c, who))

    def _page(cid: str, who: Member, with_body: bool, **filters: Any) -> tuple[Collection, Any]:
        c = readable(cid, who)
        page = store.query(
            c.id,
            max_rank=tlp.rank(who.clearance),
            added_after_us=taxii.added_after_us(filters["added_after"]),
            ids=taxii.ids(filters["match_id"]),
            types=taxii.types(filters["match_type"]),
            versions=taxii.versions(filters["match_version"]),
            spec_versions=taxii.spec_versions(filters["match_spec_version"]),
            limit=taxii.page_limit(filters["limit"], config.page_size),
            after=taxii.cursor(filters["next"]),
            with_body=with_body,
        )
        return c, page

    @app.get(f"{root}/collections/{{cid}}/manifest/", summary="Manifest of a collection")
    def get_manifest(
        cid: str, who: Member = Depends(member), f: dict = Depends(_filters)
    ) -> Response:
        _, page = _page(cid, who, False, **f)
        body = taxii.manifest(page.rows, page.more, page.next)
        return taxii_response(body, headers=taxii.date_headers(page.rows))

    @app.get(f"{root}/collections/{{cid}}/objects/", summary="Objects of a collection")
    def get_objects(
        cid: str, who: Member = Depends(member), f: dict = Depends(_filters)
    ) -> Response:
        _, page = _page(cid, who, True, **f)
        body = taxii.envelope(page.rows, page.more, page.next)
        return taxii_response(body, headers=taxii.date_headers(page.rows))

    @app.post(
        f"{root}/collections/{{cid}}/objects/",
        summary="Add objects to a collection",
        status_code=202,
        openapi_extra={"requestBody": {"required": True, **_TAXII_BODY}},
    )
    async def add_objects(cid: str, request: Request, who: Member = Depends(member)) -> Response:
        c = visible(cid, who)
        if not c.can_write(who.name):
            why = f"{who.name} may not write to collection {c.alias}"
            audit_refusal(log, who, c, "no-write-right", "add", why)
            raise TaxiiError(403, "write not permitted", why)
        if not taxii.json_content(request.headers.get("content-type")):
            raise TaxiiError(415, "unsupported media type", f"send the envelope as {TAXII}")
        async with uploads.slot(who.name):  # before reading: a refused body is not read
            body = await taxii.read_limited(request, config.max_content_length)
            doc = await run_in_threadpool(_envelope, body)
            problems = await checker.check(body, config.strict)
            result = await run_in_threadpool(_add, store, config, c, who, doc, problems, log)
        return taxii_response(result, 202)

    @app.get(f"{root}/collections/{{cid}}/objects/{{object_id}}/", summary="One object")
    def get_object(
        cid: str, object_id: str, who: Member = Depends(member), f: dict = Depends(_filters)
    ) -> Response:
        _, page = _page(cid, who, True, **{**f, "match_id": object_id, "match_type": None})
        if not page.rows and f["next"] is None:
            raise TaxiiError(404, "no such object", f"{object_id!r:.80} is not in this collection")
        body = taxii.envelope(page.rows, page.more, page.next)
        return taxii_response(body, headers=taxii.date_headers(page.rows))

    @app.delete(f"{root}/collections/{{cid}}/objects/{{object_id}}/", summary="Delete an object")
    def delete_object(
        cid: str, object_id: str, who: Member = Depends(member), f: dict = Depends(_filters)
    ) -> Response:
        c = readable(cid, who)
        if not c.can_write(who.name):
            why = f"{who.name} may not write to {c.alias}"
            audit_refusal(log, who, c, "no-write-right", "delete", why, object_id[:300])
            raise TaxiiError(403, "delete not permitted", why)
        taxii.ids(object_id)  # 400 for what cannot be an object id
        versions = taxii.versions(f["match_version"]) if f["match_version"] else ["all"]
        try:
            deleted = store.delete(c.id, object_id, versions, tlp.rank(who.clearance), who.name)
        except NotOwner as exc:
            why = f"{object_id:.80} belongs to {exc.owner}: only its author may delete it"
            audit_refusal(log, who, c, "not-owner", "delete", why, object_id)
            raise TaxiiError(403, "delete not permitted", why) from exc
        if not deleted:
            raise TaxiiError(404, "no such object", f"{object_id!r:.80} is not in this collection")
        return taxii_response(b"", 200)

    @app.get(
        f"{root}/collections/{{cid}}/objects/{{object_id}}/versions/",
        summary="Versions of an object",
    )
    def object_versions(
        cid: str, object_id: str, who: Member = Depends(member), f: dict = Depends(_filters)
    ) -> Response:
        mine = {**f, "match_id": object_id, "match_type": None, "match_version": "all"}
        _, page = _page(cid, who, False, **mine)
        if not page.rows and f["next"] is None:
            raise TaxiiError(404, "no such object", f"{object_id!r:.80} is not in this collection")
        body: dict[str, Any] = {"more": page.more, "versions": [r.version for r in page.rows]}
        if page.next:
            body["next"] = page.next
        return taxii_response(body, headers=taxii.date_headers(page.rows))

    return app


def _filters(
    added_after: str | None = Query(None, description="Only objects added after this time."),
    limit: int | None = Query(None, description="Most objects in one page."),
    next: str | None = Query(None, description="The 'next' token of the previous page."),
    match_id: str | None = Query(None, alias="match[id]", description="Comma-separated ids."),
    match_type: str | None = Query(None, alias="match[type]", description="Comma-separated types."),
    match_version: str | None = Query(
        None, alias="match[version]", description="last (default), first, all or timestamps."
    ),
    match_spec_version: str | None = Query(None, alias="match[spec_version]"),
) -> dict[str, Any]:
    """The TAXII filter parameters, shared by the listing endpoints."""
    return {
        "added_after": added_after,
        "limit": limit,
        "next": next,
        "match_id": match_id,
        "match_type": match_type,
        "match_version": match_version,
        "match_spec_version": match_spec_version,
    }


def audit_refusal(
    log: ChainedLog,
    who: Member,
    c: Collection,
    rule: str,
    request: str,
    reason: str,
    object_id: str | None = None,
    version: str | None = None,
) -> None:
    """One line of the hub's audit log for a request or object refused."""
    event: dict[str, Any] = {"action": "refused", "rule": rule, "member": who.name}
    event |= {"collection": c.alias, "request": request, "reason": reason}
    if object_id is not None:
        event["object_id"] = object_id[:300]
    if version is not None:
        event["version"] = version
    log.append(event)


def _envelope(body: bytes) -> dict[str, Any]:
    """The parsed TAXII envelope of an add request, or 400."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise TaxiiError(400, "invalid JSON", str(exc)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        raise TaxiiError(
            400, "invalid envelope", 'the body must be a TAXII envelope {"objects": [...]}'
        )
    return doc


def _add(
    store: Store,
    config: ServerConfig,
    c: Collection,
    who: Member,
    doc: dict[str, Any],
    problems: list[str | None],
    log: ChainedLog,
) -> dict[str, Any]:
    """Store an envelope's valid objects (``problems``: why each one is not, or None) under
    the provenance rules; the status resource of the request."""
    requested = datetime.now(UTC)
    good, failures = [], []
    for obj, why in zip(doc["objects"], problems, strict=True):
        if why is None:
            good.append(obj)
        else:
            ident = obj.get("id") if isinstance(obj, dict) else None
            failure: dict[str, Any] = {
                "id": str(ident or "<no id>"),
                "message": f"invalid STIX 2.1: {why}",
            }
            if isinstance(obj, dict) and isinstance(obj.get("modified"), str):
                failure["version"] = obj["modified"]
            failures.append(failure)
    identities = {m.name: m.identity_id for m in config.members.values()}
    unmarked = tlp.rank(config.unmarked_tlp)

    def decide(heads: dict) -> tuple[list[dict[str, Any]], dict[str, str], Any]:
        got = admit(good, who.name, identities, heads, unmarked)
        return got.accepted, got.owners, got.refused

    stored, refused = (
        store.add_admitted(c.id, good, decide, config.unmarked_tlp) if good else ([], [])
    )
    for r in refused:
        failures.append(r.failure())
        audit_refusal(log, who, c, r.rule, "add", r.message, r.object_id, r.version)
    result = {
        "id": new_status_id(),
        "status": "complete",
        "request_timestamp": requested.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "total_count": len(doc["objects"]),
        "success_count": len(stored),
        "successes": [{"id": i, "version": v, "message": "stored"} for i, v in stored],
        "failure_count": len(failures),
        "failures": failures,
        "pending_count": 0,
    }
    store.save_status(c.id, who.name, result)
    return result
