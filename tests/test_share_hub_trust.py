"""The hub binds every object version to its uploader (issue 12's attacks, one test each).

Members are competitors: nothing one sends may speak for another (forged ``created_by_ref``),
alter another's objects (new versions, revocation, deletion), lower a marking, or read past
a granular marking. Every refusal is in the status resource and in the hub's audit log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from distillwatch.share import tlp
from distillwatch.share.auditlog import read
from distillwatch.share.server import create_app
from distillwatch.share.server.config import ConfigError, ServerConfig, parse_config
from distillwatch.share.stixbase import PROJECT_IDENTITY, member_identity
from distillwatch.share.vocabulary import project_identity
from test_share_server import PW, TAXII, headers

T0 = "2026-11-01T00:00:00.000Z"
T1 = "2026-11-02T00:00:00.000Z"


def hub_config(tmp: Path) -> ServerConfig:
    return parse_config(
        {
            "server": {
                "database": f"sqlite:///{tmp / 'hub.sqlite'}",
                "api_root": "isac",
                "audit_log": str(tmp / "hub-audit.jsonl"),
            },
            "members": {
                "member-a": {"password_hash": PW, "tlp": "amber"},
                "member-b": {"password_hash": PW, "tlp": "amber"},
                "member-c": {"password_hash": PW, "tlp": "green"},
                "member-d": {"password_hash": PW, "tlp": "red"},
            },
            "collections": {
                "campaigns": {"read": ["*"], "write": ["*"]},
                "archive": {"read": ["*"], "write": ["*"]},
            },
        },
        "hub.toml",
    )


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(hub_config(tmp_path))) as c:
        yield c


def by(member: str) -> str:
    return str(member_identity(member)["id"])


def sdo(kind: str, n: int, author: str, level: str | None = "green", **props: Any) -> dict:
    obj: dict[str, Any] = {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{uuid.UUID(int=n, version=4)}",
        "created": T0,
        "modified": T0,
        "created_by_ref": by(author),
        "description": f"test {kind}",
    }
    if level:
        obj["object_marking_refs"] = [tlp.marking_id(level)]
    return {**obj, **props}


def match_all(author: str, claims: str, n: int = 1) -> dict:
    """The issue's attack indicator: every IPv4 address, confidence 100, TLP:CLEAR."""
    return sdo(
        "indicator",
        n,
        claims,
        "clear",
        name="proxy exits",
        indicator_types=["malicious-activity"],
        pattern="[ipv4-addr:value ISSUBSET '0.0.0.0/0']",
        pattern_type="stix",
        valid_from=T0,
        confidence=100,
    )


def indicator(n: int, author: str, level: str = "green", **props: Any) -> dict:
    return sdo(
        "indicator",
        n,
        author,
        level,
        **{
            "name": f"proxy prefix {n}",
            "indicator_types": ["malicious-activity"],
            "pattern": f"[ipv4-addr:value ISSUBSET '198.18.{n}.0/24']",
            "pattern_type": "stix",
            "valid_from": T0,
            **props,
        },
    )


URL = "/isac/collections/campaigns/objects/"


def add(hub: TestClient, member: str, *objects: dict) -> dict:
    r = hub.post(
        URL,
        content=orjson.dumps({"objects": list(objects)}),
        headers=headers(member, **{"Content-Type": TAXII}),
    )
    assert r.status_code == 202, r.text
    body: dict = r.json()
    return body


def get(hub: TestClient, member: str, **params: str) -> list[dict]:
    r = hub.get(URL, headers=headers(member), params=params)
    assert r.status_code == 200, r.text
    objects: list[dict] = r.json()["objects"]
    return objects


def refusals(hub: TestClient) -> list[dict]:
    return [e for e in read(Path(hub.app.state.audit.path)) if e["action"] == "refused"]  # type: ignore[attr-defined]


def test_forged_authorship_is_refused_and_audited(hub: TestClient) -> None:
    """Attack 1: member B sends a match-all indicator claiming to be member A."""
    status = add(hub, "member-b", match_all("member-b", claims="member-a"))
    assert status["success_count"] == 0 and status["failure_count"] == 1
    assert "created_by_ref must be your identity" in status["failures"][0]["message"]
    assert get(hub, "member-d") == []
    unsigned = {k: v for k, v in indicator(2, "member-b").items() if k != "created_by_ref"}
    assert add(hub, "member-b", unsigned)["failure_count"] == 1  # no author is no author
    a_identity = {**member_identity("member-a"), "description": "B speaking as A"}
    assert "identity of member-a" in add(hub, "member-b", a_identity)["failures"][0]["message"]
    assert [e["rule"] for e in refusals(hub)] == ["forged-author", "forged-author", "identity"]
    assert {e["member"] for e in refusals(hub)} == {"member-b"}
    # the same objects under B's own name are fine, and the hub attests who uploaded them
    assert add(hub, "member-b", indicator(3, "member-b"))["success_count"] == 1
    r = hub.get(URL, headers=headers("member-d"))
    assert r.json()["x_distillwatch_added_by"] == {indicator(3, "member-b")["id"]: "member-b"}


def test_only_the_author_adds_versions_revokes_or_deletes(hub: TestClient) -> None:
    """Attack 2: B revokes A's indicator with a newer version and deletes A's sighting."""
    ind = indicator(1, "member-a")
    sighting = sdo("sighting", 2, "member-a", sighting_of_ref=ind["id"], count=40)
    assert add(hub, "member-a", ind, sighting)["success_count"] == 2
    for claim in ("member-b", "member-a"):  # as itself (not the owner) or as A (forged)
        revoked = {**ind, "modified": T1, "revoked": True, "created_by_ref": by(claim)}
        assert add(hub, "member-b", revoked)["failure_count"] == 1
    assert [o.get("revoked", False) for o in get(hub, "member-d")] == [False, False]
    r = hub.delete(f"{URL}{sighting['id']}/", headers=headers("member-b"))
    assert r.status_code == 403 and "belongs to member-a" in r.json()["description"]
    assert len(get(hub, "member-d")) == 2
    assert [e["rule"] for e in refusals(hub)] == ["not-owner", "forged-author", "not-owner"]
    assert refusals(hub)[-1]["request"] == "delete"
    # the author may revoke and delete its own objects
    assert add(hub, "member-a", {**ind, "modified": T1, "revoked": True})["success_count"] == 1
    assert hub.delete(f"{URL}{sighting['id']}/", headers=headers("member-a")).status_code == 200
    assert [o.get("revoked") for o in get(hub, "member-d")] == [True]


def test_a_new_version_may_not_lower_tlp_or_drop_markings(hub: TestClient) -> None:
    """Attack 3a: B re-posts A's AMBER campaign as CLEAR; A itself may not lower it either."""
    campaign = sdo("campaign", 5, "member-a", "amber", name="hydra cluster")
    add(hub, "member-a", campaign)
    as_clear = {**campaign, "modified": T1, "object_marking_refs": [tlp.marking_id("clear")]}
    assert add(hub, "member-b", {**as_clear, "created_by_ref": by("member-b")})["failures"]
    failures = add(hub, "member-a", as_clear)["failures"]
    assert "may not lower the TLP" in failures[0]["message"]
    assert get(hub, "member-c") == []  # the GREEN member still cannot read it
    marked = {
        **campaign,
        "modified": T1,
        "granular_markings": [{"marking_ref": tlp.marking_id("amber"), "selectors": ["name"]}],
    }
    assert add(hub, "member-a", marked)["success_count"] == 1
    unmarked = {**campaign, "modified": "2026-11-03T00:00:00.000Z"}
    failures = add(hub, "member-a", unmarked)["failures"]
    assert "drops marking" in failures[0]["message"] and "on name" in failures[0]["message"]
    assert [e["rule"] for e in refusals(hub)] == ["not-owner", "lowers-tlp", "drops-marking"]


def test_granular_markings_are_honoured_on_read(hub: TestClient) -> None:
    """Attack 3b: an object whose only marking is a granular RED on ``pattern``."""
    secret = indicator(9, "member-a", level="green")
    del secret["object_marking_refs"]
    secret["granular_markings"] = [{"marking_ref": tlp.marking_id("red"), "selectors": ["pattern"]}]
    assert add(hub, "member-a", secret)["success_count"] == 1
    assert get(hub, "member-b") == []  # AMBER: the whole object is withheld
    assert [o["id"] for o in get(hub, "member-d")] == [secret["id"]]  # RED reads it
    one = hub.get(f"{URL}{secret['id']}/", headers=headers("member-b"))
    assert one.status_code == 404


def test_shared_vocabulary_only_in_canonical_form_and_owned_by_nobody(hub: TestClient) -> None:
    assert add(hub, "member-a", project_identity())["success_count"] == 1
    assert add(hub, "member-b", PROJECT_IDENTITY)["success_count"] == 1  # the older form
    altered = {**project_identity(), "name": "member-b's distillwatch", "modified": T1}
    assert "canonical form" in add(hub, "member-b", altered)["failures"][0]["message"]
    r = hub.delete(f"{URL}{PROJECT_IDENTITY['id']}/", headers=headers("member-a"))
    assert r.status_code == 403
    assert [o["id"] for o in get(hub, "member-c")] == [PROJECT_IDENTITY["id"]]  # CLEAR


def test_our_own_export_passes_and_green_members_see_who_made_it(
    hub: TestClient, tmp_path: Path
) -> None:
    """Attack 6b: identities used to travel unmarked (AMBER at the hub), so GREEN members saw
    bare ids as sources. The whole default export is accepted and its identities are CLEAR."""
    from test_share_export import export

    objects = export(tmp_path).objects
    status = add(hub, "member-a", *objects)
    assert status["failure_count"] == 0, status["failures"]
    seen = {o["id"]: o for o in get(hub, "member-c", **{"match[type]": "identity"})}
    assert set(seen) == {PROJECT_IDENTITY["id"], by("member-a")}
    assert all(o["object_marking_refs"] == [tlp.marking_id("clear")] for o in seen.values())


def test_a_configured_identity_is_the_one_bound_to_the_member(tmp_path: Path) -> None:
    """A member whose tooling has its own identity id names it in the config."""
    own = f"identity--{uuid.UUID(int=4242, version=4)}"
    cfg = hub_config(tmp_path)
    doc_members = {
        name: {"password_hash": PW, "tlp": m.clearance} for name, m in cfg.members.items()
    }
    doc_members["member-a"]["identity"] = own
    cfg = parse_config(
        {
            "server": {"database": cfg.database, "api_root": "isac", "audit_log": cfg.audit_log},
            "members": doc_members,
            "collections": {"campaigns": {"read": ["*"], "write": ["member-a"]}},
        }
    )
    with TestClient(create_app(cfg)) as hub:
        assert add(hub, "member-a", {**indicator(1, "member-a"), "created_by_ref": own})[
            "success_count"
        ]
        assert add(hub, "member-a", indicator(2, "member-a"))["failure_count"] == 1
        r = hub.post(
            URL, content=b'{"objects": []}', headers=headers("member-b", **{"Content-Type": TAXII})
        )
        assert r.status_code == 403
        assert [e["rule"] for e in refusals(hub)] == ["forged-author", "no-write-right"]
    doc_members["member-b"]["identity"] = own
    with pytest.raises(ConfigError, match="share identity"):
        parse_config({"members": doc_members})


def test_a_definition_its_author_marked_keeps_its_marking(hub: TestClient) -> None:
    """Definitions used to be readable by every clearance whatever their marking: a RED
    statement marking (``A tracks account 12345``) reached a GREEN member."""
    statement = sdo(
        "marking-definition", 20, "member-a", "red", definition_type="statement",
        definition={"statement": "member-a tracks account 12345"}, name="A's internal note",
    )  # fmt: skip
    del statement["modified"], statement["description"]
    unmarked = {**statement, "id": sdo("marking-definition", 21, "member-a")["id"]}
    del unmarked["object_marking_refs"]
    assert add(hub, "member-a", statement, unmarked)["success_count"] == 2
    ids = lambda member: {o["id"] for o in get(hub, member)}  # noqa: E731
    assert ids("member-c") == ids("member-b") == {unmarked["id"]}  # unmarked: readable by all
    assert ids("member-d") == {statement["id"], unmarked["id"]}  # RED reads the RED one


def hostile_shapes() -> dict[str, dict]:
    """Objects that once made the hub answer 500 (or slip past its checks)."""
    deep: dict = {"source_name": "x", "description": "d"}
    for _ in range(500):
        deep = {"source_name": "x", "description": "d", "x_next": deep}
    base = indicator(30, "member-b")
    ors = " OR ".join(f"[ipv4-addr:value = '10.0.{n // 250}.{n % 250}']" for n in range(1000))
    return {
        "trailing newline in id": {**base, "id": base["id"] + "\n"},
        "trailing newline in modified": {**indicator(31, "member-b"), "modified": T1 + "\n"},
        "500 levels of nesting": {**indicator(32, "member-b"), "external_references": [deep]},
        "pattern of 1,000 ORs": {**indicator(33, "member-b"), "pattern": ors},
        "500 nested parentheses": {
            **indicator(34, "member-b"),
            "pattern": "(" * 500 + "[ipv4-addr:value = '10.0.0.1']" + ")" * 500,
        },
    }


def test_hostile_shapes_are_refused_with_a_reason_never_a_500(hub: TestClient) -> None:
    shapes = hostile_shapes()
    body = json.dumps({"objects": [*shapes.values(), indicator(35, "member-b")]})  # orjson: 255
    r = hub.post(URL, content=body, headers=headers("member-b", **{"Content-Type": TAXII}))
    assert r.status_code == 202, r.text
    status = r.json()
    assert status["success_count"] == 1 and status["failure_count"] == len(shapes)
    reasons = [f["message"] for f in status["failures"]]
    assert all(r.startswith("invalid STIX 2.1: ") for r in reasons), reasons
    assert "nested more than 32 levels" in reasons[2]
    assert "too deeply nested to validate" in reasons[3] + reasons[4]
    assert [o["id"] for o in get(hub, "member-d")] == [indicator(35, "member-b")["id"]]


def test_names_and_ids_with_a_trailing_newline_are_refused() -> None:
    """``$`` in a Python pattern matches before a final newline: "member-a\\n" and an identity
    id with one passed as well-formed."""
    with pytest.raises(ConfigError, match="member name"):
        parse_config({"members": {"member-a\n": {"password_hash": PW}}})
    with pytest.raises(ConfigError, match="identity must be"):
        parse_config({"members": {"member-a": {"password_hash": PW, "identity": by("x") + "\n"}}})


def test_no_member_squats_or_mimics_an_identity(hub: TestClient) -> None:
    """B registers the identity a future member-e will derive from its name (the first
    uploader would own it), and names its own identity like member A."""
    squat = {**member_identity("member-e"), "created_by_ref": by("member-b")}
    assert "sends only its own identity" in add(hub, "member-b", squat)["failures"][0]["message"]
    for lookalike in ("MEMBER-A", "member_a", "ｍｅｍｂｅｒ－ａ", "member a"):  # fullwidth too
        named = {**member_identity("member-b"), "name": lookalike}
        failures = add(hub, "member-b", named)["failures"]
        assert "named like member member-a" in failures[0]["message"], lookalike
    assert add(hub, "member-b", member_identity("member-b"))["success_count"] == 1
    assert [e["rule"] for e in refusals(hub)] == ["identity"] * 5


def test_a_stored_version_is_not_resent_with_other_content(hub: TestClient) -> None:
    """A re-sending its AMBER campaign's version as CLEAR into another collection made a
    copy GREEN members could read (the same version counted as already stored)."""
    campaign = sdo("campaign", 40, "member-a", "amber", name="hydra cluster")
    assert add(hub, "member-a", campaign)["success_count"] == 1
    as_clear = {**campaign, "object_marking_refs": [tlp.marking_id("clear")]}
    r = hub.post(
        "/isac/collections/archive/objects/",
        content=orjson.dumps({"objects": [as_clear]}),
        headers=headers("member-a", **{"Content-Type": TAXII}),
    )
    assert "stored with other content" in r.json()["failures"][0]["message"]
    archive = hub.get("/isac/collections/archive/objects/", headers=headers("member-c"))
    assert archive.json()["objects"] == []
    assert add(hub, "member-a", dict(reversed(campaign.items())))["success_count"] == 1  # same
    assert [e["rule"] for e in refusals(hub)] == ["changes-version"]


def test_definitions_stored_by_an_older_hub_are_reranked_once(tmp_path: Path) -> None:
    """A hub that stored a member's RED statement marking at rank 0 (readable by all) gives
    it its rank when it next starts; shared vocabulary stays readable by all."""
    import sqlalchemy as sa

    from distillwatch.share.server.store import Store
    from distillwatch.share.vocabulary import VOCABULARY_OWNER

    url = f"sqlite:///{tmp_path / 'old-hub.sqlite'}"
    statement = sdo("marking-definition", 50, "member-a", "red", definition_type="statement")
    store = Store(url)
    store.add("c", [statement], "member-a", "amber")
    store.add("c", [tlp.marking_definition("red")], VOCABULARY_OWNER, "amber")
    with store.engine.begin() as conn:  # as the older hub left them
        conn.execute(store.objects.update().values(tlp_rank=0))
        conn.execute(store.state.delete())
    reopened = Store(url)
    with reopened.engine.connect() as conn:
        t = reopened.objects
        ranks = {
            str(oid): int(rank)
            for oid, rank in conn.execute(sa.select(t.c.object_id, t.c.tlp_rank))
        }
    assert ranks == {statement["id"]: 4, tlp.marking_id("red"): 0}
