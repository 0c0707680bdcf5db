"""The TAXII 2.1 server: protocol, access control, validation, storage (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import dataclasses
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from distillwatch.share import tlp
from distillwatch.share.server import Store, create_app
from distillwatch.share.server.config import ConfigError, ServerConfig, hash_password, parse_config
from distillwatch.share.server.guard import take
from distillwatch.share.stixbase import member_identity

TAXII = "application/taxii+json;version=2.1"
PW = hash_password("secret")  # scrypt once per test session


def config(db: str, **server: Any) -> ServerConfig:
    audit = str(Path(tempfile.mkdtemp(prefix="hub-audit-")) / "audit.jsonl")
    return parse_config(
        {
            "server": {
                "database": db,
                "api_root": "isac",
                "page_size": 50,
                "audit_log": audit,
                **server,
            },
            "members": {
                "member-a": {"password_hash": PW, "tlp": "amber"},
                "member-b": {"password_hash": PW, "tlp": "green"},
                "member-c": {"password_hash": PW, "tlp": "red"},
            },
            "collections": {
                "campaigns": {"read": ["*"], "write": ["member-a", "member-c"]},
                "a-private": {"read": ["member-a"], "write": ["member-a"]},
                "drop-box": {"read": [], "write": ["member-b"]},
            },
        },
        "test.toml",
    )


def headers(member: str, password: str = "secret", **extra: str) -> dict[str, str]:
    token = base64.b64encode(f"{member}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": TAXII, **extra}


def indicator(
    n: int, level: str = "green", modified: str = "2026-11-01T00:00:00.000Z", by: str = "member-a"
) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": "2026-11-01T00:00:00.000Z",
        "modified": modified,
        "created_by_ref": member_identity(by)["id"],
        "name": f"proxy prefix {n}",
        "description": "test indicator",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value ISSUBSET '198.18.{n % 250}.0/24']",
        "pattern_type": "stix",
        "valid_from": "2026-11-01T00:00:00.000Z",
        "object_marking_refs": [tlp.marking_id(level)],
    }


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(config(f"sqlite:///{tmp_path / 'hub.sqlite'}"))
    with TestClient(app) as c:
        yield c


def cid(client: TestClient, alias: str, member: str = "member-a") -> str:
    r = client.get("/isac/collections/", headers=headers(member))
    return next(c["id"] for c in r.json()["collections"] if c["alias"] == alias)


def add(client: TestClient, collection: str, objects: list[dict], member: str = "member-a") -> Any:
    return client.post(
        f"/isac/collections/{collection}/objects/",
        content=orjson.dumps({"objects": objects}),
        headers=headers(member, **{"Content-Type": TAXII}),
    )


def test_discovery_api_root_and_media_types(client: TestClient) -> None:
    r = client.get("/taxii2/", headers=headers("member-a"))
    assert r.status_code == 200 and r.headers["content-type"] == TAXII
    assert r.json()["api_roots"] == ["/isac/"]
    info = client.get("/isac/", headers=headers("member-a")).json()
    assert info["versions"] == [TAXII]
    r = client.get("/taxii2/", headers=headers("member-a", Accept="application/xml"))
    assert r.status_code == 406 and r.json()["http_status"] == "406"
    assert "/isac/collections/{cid}/objects/" in client.get("/openapi.json").json()["paths"]


def test_unauthenticated_and_unauthorised_requests_are_refused(client: TestClient) -> None:
    assert client.get("/taxii2/").status_code == 401
    assert client.get("/taxii2/", headers=headers("member-a", "wrong")).status_code == 401
    assert client.get("/taxii2/", headers=headers("nobody")).status_code == 401
    private = cid(client, "a-private")
    # member-b cannot see member-a's private collection at all, nor write to campaigns
    seen = [
        c["alias"]
        for c in client.get("/isac/collections/", headers=headers("member-b")).json()["collections"]
    ]
    assert seen == ["campaigns", "drop-box"]
    assert (
        client.get(f"/isac/collections/{private}/objects/", headers=headers("member-b")).status_code
        == 404
    )
    assert add(client, private, [indicator(1)], "member-b").status_code == 404
    assert add(client, cid(client, "campaigns"), [indicator(1)], "member-b").status_code == 403
    drop = cid(client, "drop-box", "member-b")
    assert (
        client.get(f"/isac/collections/{drop}/objects/", headers=headers("member-b")).status_code
        == 403
    )
    assert add(client, drop, [indicator(1)], "member-b").status_code == 202


def test_invalid_stix_is_rejected_with_a_reason_and_never_stored(client: TestClient) -> None:
    c = cid(client, "campaigns")
    bad_pattern = {**indicator(2), "pattern": "[ipv4-addr:value = "}
    no_id = {"type": "indicator", "spec_version": "2.1"}
    r = add(client, c, [indicator(1), bad_pattern, no_id])
    status = r.json()
    assert r.status_code == 202 and status["success_count"] == 1 and status["failure_count"] == 2
    reasons = {f["id"]: f["message"] for f in status["failures"]}
    assert "Pattern failed to validate" in reasons[bad_pattern["id"]]
    assert "missing 'type' or 'id'" in reasons["<no id>"]
    ids = [
        o["id"]
        for o in client.get(f"/isac/collections/{c}/objects/", headers=headers("member-a")).json()[
            "objects"
        ]
    ]
    assert ids == [indicator(1)["id"]]
    assert client.get(f"/isac/status/{status['id']}/", headers=headers("member-a")).json() == status
    assert (
        client.get(f"/isac/status/{status['id']}/", headers=headers("member-c")).status_code == 404
    )
    r = client.post(
        f"/isac/collections/{c}/objects/",
        content=b"{nope",
        headers=headers("member-a", **{"Content-Type": TAXII}),
    )
    assert r.status_code == 400 and r.json()["title"] == "invalid JSON"
    r = client.post(
        f"/isac/collections/{c}/objects/",
        content=b"{}",
        headers=headers("member-a", **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 415


def test_tlp_visibility_follows_member_clearance(client: TestClient) -> None:
    c = cid(client, "campaigns")
    sent = [indicator(1, "green", by="member-c"), indicator(2, "amber", by="member-c")]
    add(client, c, [*sent, indicator(3, "red", by="member-c")], "member-c")

    def names(member: str) -> list[str]:
        got = client.get(f"/isac/collections/{c}/objects/", headers=headers(member)).json()[
            "objects"
        ]
        return sorted(o["name"] for o in got)

    assert names("member-b") == ["proxy prefix 1"]
    assert names("member-a") == ["proxy prefix 1", "proxy prefix 2"]
    assert names("member-c") == ["proxy prefix 1", "proxy prefix 2", "proxy prefix 3"]


def test_filters_pagination_manifest_versions_and_delete(client: TestClient) -> None:
    c = cid(client, "campaigns")
    url = f"/isac/collections/{c}/objects/"
    add(client, c, [indicator(n) for n in range(120)])
    first = client.get(url, headers=headers("member-a"), params={"limit": 100})
    page = first.json()
    assert len(page["objects"]) == 50 and page["more"] is True  # page_size caps limit
    seen = [o["id"] for o in page["objects"]]
    while page["more"]:
        page = client.get(url, headers=headers("member-a"), params={"next": page["next"]}).json()
        seen += [o["id"] for o in page["objects"]]
    assert len(seen) == len(set(seen)) == 120
    cut = first.headers["X-TAXII-Date-Added-Last"]
    rest = client.get(
        url, headers=headers("member-a"), params={"added_after": cut, "limit": 200}
    ).json()
    assert [o["id"] for o in rest["objects"]] == seen[50:100]
    one = indicator(7)
    newer = indicator(7, modified="2026-11-02T00:00:00.000Z")
    add(client, c, [newer, newer])  # a second version, sent twice: stored once
    got = client.get(url, headers=headers("member-a"), params={"match[id]": one["id"]}).json()[
        "objects"
    ]
    assert [o["modified"] for o in got] == ["2026-11-02T00:00:00.000Z"]  # last version by default
    got = client.get(
        url, headers=headers("member-a"), params={"match[id]": one["id"], "match[version]": "all"}
    ).json()
    assert len(got["objects"]) == 2
    got = client.get(
        url, headers=headers("member-a"), params={"match[id]": one["id"], "match[version]": "first"}
    ).json()
    assert [o["modified"] for o in got["objects"]] == ["2026-11-01T00:00:00.000Z"]
    assert (
        client.get(url, headers=headers("member-a"), params={"match[type]": "campaign"}).json()[
            "objects"
        ]
        == []
    )
    versions = client.get(f"{url}{one['id']}/versions/", headers=headers("member-a")).json()[
        "versions"
    ]
    assert versions == ["2026-11-01T00:00:00.000000Z", "2026-11-02T00:00:00.000000Z"]
    manifest = client.get(
        f"/isac/collections/{c}/manifest/", headers=headers("member-a"), params={"limit": 3}
    ).json()
    assert manifest["more"] and {"id", "date_added", "version", "media_type"} <= set(
        manifest["objects"][0]
    )
    assert (
        client.get(f"{url}{one['id']}/", headers=headers("member-a"))
        .json()["objects"][0]["modified"]
        .startswith("2026-11-02")
    )
    assert (
        client.get(
            url, headers=headers("member-a"), params={"added_after": "yesterday"}
        ).status_code
        == 400
    )
    assert (
        client.get(url, headers=headers("member-a"), params={"next": "garbage"}).status_code == 400
    )
    assert client.get(url, headers=headers("member-a"), params={"limit": 0}).status_code == 400
    assert client.delete(f"{url}{one['id']}/", headers=headers("member-b")).status_code == 403
    assert (
        client.delete(
            f"{url}{one['id']}/",
            headers=headers("member-a"),
            params={"match[version]": "2026-11-02T00:00:00.000Z"},
        ).status_code
        == 200
    )
    got = client.get(f"{url}{one['id']}/", headers=headers("member-a")).json()["objects"]
    assert [o["modified"] for o in got] == ["2026-11-01T00:00:00.000Z"]  # the older is latest again
    assert (
        client.get(f"{url}indicator--{uuid.uuid4()}/", headers=headers("member-a")).status_code
        == 404
    )


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    app = create_app(config(f"sqlite:///{tmp_path / 'hub.sqlite'}", rate=1.0, burst=3))
    with TestClient(app) as c:
        codes = [c.get("/taxii2/", headers=headers("member-a")).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[-1] == 429
        r = c.get("/taxii2/", headers=headers("member-a"))
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert c.get("/taxii2/", headers=headers("member-b")).status_code == 200  # per member


def test_token_bucket_refills() -> None:
    ok, left = take(0.5, 0.0, 1.0, rate=1.0, burst=3)
    assert ok and left == pytest.approx(0.5)
    assert take(0.2, 0.0, 0.1, rate=1.0, burst=3)[0] is False


def test_config_errors_name_file_and_key() -> None:
    with pytest.raises(
        ConfigError, match=r"test.toml: \[collections.x\] names unknown member\(s\) ghost"
    ):
        parse_config({"members": {}, "collections": {"x": {"read": ["ghost"]}}}, "test.toml")
    with pytest.raises(ConfigError, match=r"\[server\] rate: wrong type str"):
        parse_config({"server": {"rate": "fast"}}, "test.toml")
    with pytest.raises(ConfigError, match="unknown TLP level"):
        parse_config({"members": {"m": {"password_hash": PW, "tlp": "blue"}}}, "test.toml")


def _postgres_url() -> str:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    try:
        import psycopg

        psycopg.connect(
            "host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3
        ).close()
    except Exception as exc:  # the local service is part of the test environment
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}")
    return url


def test_postgresql_store_round_trip() -> None:
    url = _postgres_url()
    schema = f"share_test_{uuid.uuid4().hex[:8]}"
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        store = Store(url, schema=schema)
        cfg = dataclasses.replace(config(url), database=url)
        with TestClient(create_app(cfg, store)) as client:
            c = cid(client, "campaigns")
            add(
                client,
                c,
                [indicator(n) for n in range(60)]
                + [indicator(3, modified="2026-11-05T00:00:00.000Z")],
            )
            page = client.get(f"/isac/collections/{c}/objects/", headers=headers("member-a")).json()
            assert page["more"] and len(page["objects"]) == 50
            rest = client.get(
                f"/isac/collections/{c}/objects/",
                headers=headers("member-a"),
                params={"next": page["next"]},
            ).json()
            assert len(page["objects"]) + len(rest["objects"]) == 60
            versions = client.get(
                f"/isac/collections/{c}/objects/{indicator(3)['id']}/versions/",
                headers=headers("member-a"),
            ).json()
            assert len(versions["versions"]) == 2
        store.drop()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
