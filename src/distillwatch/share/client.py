"""Talking to a TAXII 2.1 server: publish a bundle, pull what is new.

Publishing goes through the OASIS ``taxii2-client`` (discovery, collection rights, add with
status), so what distillwatch sends is what any TAXII client would. Pulling reads pages with
``httpx`` directly: it needs the ``X-TAXII-Date-Added-Last`` header to know where to resume
(``taxii2-client`` hands back only the body) and raw bytes to parse with ``orjson`` at tens of
thousands of objects a second.

Every pulled object is re-checked structurally (``validate.structural_errors``),
de-duplicated by ``(id, version)`` and stored with its provenance: the source collection, the
member that uploaded it and when it arrived. The uploader is what the hub *attests*
(``x_distillwatch_added_by`` of each envelope: a distillwatch hub binds every object to the
member whose upload stored it), never the object's own ``created_by_ref``, which any member
can write. A server that attests nothing (another TAXII server) leaves only the object's
claim; it is kept as ``<name> (unattested)`` so trust settings and block reasons can tell.
"""

from __future__ import annotations

import hashlib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from distillwatch.share.server.store import Store
from distillwatch.share.server.taxii import ATTESTED
from distillwatch.share.trust import UNATTESTED
from distillwatch.share.validate import structural_errors

TAXII = "application/taxii+json;version=2.1"


class ShareClientError(RuntimeError):
    """A TAXII server refused or could not be reached; the message says which and why."""


@dataclass(frozen=True)
class Source:
    """One collection on one server, with this member's credentials."""

    url: str  # the collection URL: https://hub/api-root/collections/<id>/
    user: str
    password: str = field(repr=False)
    verify: str | bool = True  # TLS: a CA bundle file for a hub with its own CA, or the system's

    @property
    def key(self) -> str:
        """Short stable name of the source (stored with every object pulled from it)."""
        return "src-" + hashlib.sha256(self.url.rstrip("/").encode()).hexdigest()[:16]

    @property
    def tls(self) -> ssl.SSLContext | bool:
        """What ``httpx`` checks the server's certificate with."""
        if isinstance(self.verify, str):
            return ssl.create_default_context(cafile=self.verify)
        return self.verify

    @property
    def objects_url(self) -> str:
        return self.url.rstrip("/") + "/objects/"


@dataclass
class PullResult:
    fetched: int = 0
    new: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (id, why)
    pages: int = 0
    seconds: float = 0.0


def taxii_connection(source: Source) -> Any:
    """A ``taxii2-client`` connection that really checks against ``source.verify``.

    ``requests`` lets ``$REQUESTS_CA_BUNDLE``/``$CURL_CA_BUNDLE`` override a session's CA file,
    so with a CA file of its own the session ignores the environment (proxies included).
    """
    from taxii2client.common import _HTTPConnection

    conn = _HTTPConnection(source.user, source.password, source.verify, version="2.1")
    if isinstance(source.verify, str):
        conn.session.trust_env = False
    return conn


EXTENSION_MODES = ("auto", "include", "omit")


def _distillwatch_hub(conn: Any, source: Source) -> bool:
    """Does the server announce itself as a distillwatch hub (its API root's
    ``x_distillwatch``)? Only such a hub is known to store extension-definitions safely."""
    api_root = source.url.rstrip("/").rsplit("/collections/", 1)[0] + "/"
    info = conn.get(api_root)
    return isinstance(info, dict) and isinstance(info.get("x_distillwatch"), dict)


def publish(
    source: Source, bundle: dict[str, Any], timeout: float = 60.0, extension: str = "auto"
) -> dict[str, Any]:
    """Add the bundle's objects to the collection; the server's status resource (with
    ``omitted``: how many extension-definitions were left out).

    ``extension``: ``include`` sends the fingerprint's extension-definition, ``omit`` leaves
    it out (the OASIS reference server ``medallion`` reads its ``version`` "1.0.0" as a
    timestamp and then fails every read of the collection), ``auto`` includes it only when
    the server is a distillwatch hub. Fingerprint objects travel either way: a distillwatch
    puller knows their schema, others ignore an unknown type.
    """
    from taxii2client.exceptions import TAXIIServiceException
    from taxii2client.v21 import Collection

    if extension not in EXTENSION_MODES:
        raise ShareClientError(f"extension must be one of {', '.join(EXTENSION_MODES)}")
    objects = list(bundle["objects"])
    try:
        conn = taxii_connection(source)
        collection = Collection(source.url, conn=conn)
        if not collection.can_write:
            raise ShareClientError(f"{source.user} may not write to {source.url}")
        if extension == "omit" or (extension == "auto" and not _distillwatch_hub(conn, source)):
            objects = [o for o in objects if o.get("type") != "extension-definition"]
        status, retries = _add_when_free(collection, objects, timeout)
    except (TAXIIServiceException, OSError) as exc:
        raise ShareClientError(f"publishing to {source.url} failed: {exc}") from exc
    return {
        "retries": retries,
        "omitted": len(bundle["objects"]) - len(objects),
        "id": status.id,
        "status": status.status,
        "total_count": status.total_count,
        "success_count": status.success_count,
        "failure_count": status.failure_count,
        "failures": status.failures,
    }


def _add_when_free(collection: Any, objects: list[Any], timeout: float) -> tuple[Any, int]:
    """Add the objects; while the hub answers 429 (this member's previous upload is still
    being validated, or its request rate is spent) wait its ``Retry-After`` and try again,
    for at most ``timeout`` seconds. The status resource, and how many 429s were waited out.
    """
    import requests

    deadline = time.monotonic() + timeout
    retries = 0
    while True:
        try:
            status = collection.add_objects(
                {"objects": objects}, wait_for_completion=True, timeout=timeout
            )
            return status, retries
        except requests.HTTPError as exc:
            response = exc.response
            if response is None or response.status_code != 429:
                raise
            try:
                wait = min(max(float(response.headers.get("Retry-After", "1")), 0.1), 10.0)
            except ValueError:  # an HTTP date: not what this hub sends
                wait = 1.0
            if time.monotonic() + wait > deadline:
                raise
            time.sleep(wait)
            retries += 1


def _claimed(known: dict[str, str]) -> Callable[[dict[str, Any]], str]:
    """Provenance from a server that attests nothing: the object's own claim, marked so."""

    def who(obj: dict[str, Any]) -> str:
        ref = obj.get("created_by_ref") or (obj["id"] if obj.get("type") == "identity" else "")
        return known.get(ref, ref or "unknown") + UNATTESTED

    return who


def _sort(
    objects: list[Any], attested: Any, result: PullResult
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """The well-formed objects of a page, and the hub's uploader of each (None: unattested).

    On an attesting hub an object without an attested uploader is rejected: it came from
    somewhere the hub does not vouch for.
    """
    good = []
    uploaders = None
    if isinstance(attested, dict):
        uploaders = {str(k): v for k, v in attested.items() if isinstance(v, str) and v}
    for obj in objects:
        why = structural_errors(obj)
        if why is None and uploaders is not None and obj["id"] not in uploaders:
            why = "the hub did not attest who uploaded it"
        if why is None:
            good.append(obj)
        else:
            ident = obj.get("id") if isinstance(obj, dict) else obj
            result.rejected.append((str(ident)[:120], why))
    return good, uploaders


def _identities(store: Store) -> dict[str, str]:
    return {
        o["id"]: str(o.get("name", o["id"]))
        for o in (orjson.loads(body) for _, _, body in store.latest(["identity"]))
    }


def _fetch(
    http: httpx.Client, source: Source, added_after: str | None, nxt: str | None, page_size: int
) -> tuple[dict[str, Any], str | None]:
    """One page: the parsed envelope and its ``X-TAXII-Date-Added-Last``."""
    params: dict[str, Any] = {"limit": page_size}
    if added_after:
        params["added_after"] = added_after
    if nxt:
        params["next"] = nxt
    try:
        resp = http.get(
            source.objects_url,
            params=params,
            headers={"Accept": TAXII},
            auth=(source.user, source.password),
        )
    except httpx.HTTPError as exc:
        raise ShareClientError(f"cannot reach {source.objects_url}: {exc}") from exc
    if resp.status_code != 200:
        raise ShareClientError(
            f"{source.objects_url} answered {resp.status_code}: {resp.text[:200]}"
        )
    doc = orjson.loads(resp.content)
    if not isinstance(doc, dict):
        raise ShareClientError(f"{source.objects_url} did not answer with a TAXII envelope")
    return doc, resp.headers.get("X-TAXII-Date-Added-Last")


def pull(
    source: Source,
    store: Store,
    *,
    page_size: int = 1000,
    client: httpx.Client | None = None,
    unmarked_tlp: str = "amber",
) -> PullResult:
    """Fetch every object added to ``source`` since the last pull into ``store``.

    The next page is requested while the current one is being stored (one helper thread),
    so the network and the database work overlap.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    started = time.perf_counter()
    result = PullResult()
    state_key = f"pull:{source.key}:added_after"
    added_after = store.get_state(state_key)
    known = _identities(store)
    before = dict(known)
    own = client is None
    http = client or httpx.Client(timeout=30.0, verify=source.tls)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future | None = pool.submit(_fetch, http, source, added_after, None, page_size)
            while pending is not None:
                doc, last = pending.result()
                objects = doc.get("objects") or []
                nxt = doc.get("next")
                pending = None
                if doc.get("more") and objects:
                    if not nxt:  # a server without next tokens: resume from the last date_added
                        added_after = last or added_after
                    pending = pool.submit(_fetch, http, source, added_after, nxt, page_size)
                good, uploaders = _sort(objects, doc.get(ATTESTED), result)
                known.update(
                    {o["id"]: str(o.get("name", o["id"])) for o in good if o["type"] == "identity"}
                )
                if good:
                    producer = (
                        _claimed(known)
                        if uploaders is None
                        else (lambda o, u=uploaders: u[o["id"]])
                    )
                    result.new += store.add(source.key, good, producer, unmarked_tlp)[1]
                result.fetched += len(objects)
                result.pages += 1
                if last:
                    store.set_state(state_key, last)
    finally:
        if own:
            http.close()
    for ident, name in known.items():
        if ident not in before and name != ident:
            store.rename_added_by(ident + UNATTESTED, name + UNATTESTED)
    result.seconds = time.perf_counter() - started
    return result
