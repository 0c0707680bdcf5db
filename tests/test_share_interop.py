"""Interoperability over real sockets: our server with the OASIS ``taxii2-client``, and our
client (publish and pull) against the OASIS reference server ``medallion``.

medallion 3.0.0 answers 500 on ``GET /objects/`` once an ``extension-definition`` object is
stored (it reads its ``version`` "1.0.0" as a timestamp), so ``share publish`` leaves the
extension-definition out for any server that is not a distillwatch hub: the default export
then round-trips through medallion. The issue's attacks are replayed with the OASIS client
against our hub too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from distillwatch.share.client import Source, publish, pull
from distillwatch.share.server.store import Store
from distillwatch.share.stixbase import member_identity
from distillwatch.share.vocabulary import clear
from test_share_export import export
from test_share_server import PW, indicator

COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
OPEN = "0c6d5a52-2f5c-4b8e-9a43-6f0f3c7d1a90"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {port}")


def start(args: list[str], port: int, cwd: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(port, proc)
    except Exception:
        proc.kill()
        raise
    return proc


def hub_config(path: Path, db: Path) -> Path:
    path.write_text(
        f"""
[server]
database = "sqlite:///{db}"
api_root = "isac"
audit_log = "{db.parent / "hub-audit.jsonl"}"
[members.member-a]
password_hash = "{PW}"
tlp = "amber"
[members.member-b]
password_hash = "{PW}"
tlp = "amber"
[collections.campaigns]
id = "{COLLECTION}"
read = ["*"]
write = ["member-a"]
[collections.open]
id = "{OPEN}"
read = ["*"]
write = ["*"]
"""
    )
    return path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("hub")
    port = free_port()
    exe = [sys.executable, "-m", "distillwatch.cli", "share", "serve"]
    proc = start(
        [
            *exe,
            "--config",
            str(hub_config(tmp / "hub.toml", tmp / "hub.sqlite")),
            "--port",
            str(port),
        ],
        port,
        tmp,
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def test_oasis_taxii2_client_against_our_server(hub: str) -> None:
    from taxii2client.v21 import Collection, Server, as_pages

    server = Server(f"{hub}/taxii2/", user="member-a", password="secret")
    assert server.title == "distillwatch sharing hub"
    (root,) = server.api_roots
    collection = next(c for c in root.collections if c.id == COLLECTION)
    assert collection.can_write
    status = collection.add_objects({"objects": [indicator(n) for n in range(25)]})
    assert status.status == "complete" and status.success_count == 25
    reader = Collection(collection.url, user="member-b", password="secret")
    assert reader.can_read and not reader.can_write
    # only this test's objects are counted: another test of the module may share the hub
    mine = {indicator(n)["id"] for n in range(25)}
    got = [
        o
        for page in as_pages(reader.get_objects, per_request=10)
        for o in page.get("objects", [])
        if o["id"] in mine
    ]
    assert len(got) == 25
    manifest = reader.get_manifest()
    assert len([m for m in manifest["objects"] if m["id"] in mine]) == 25
    versions = reader.object_versions(got[0]["id"])
    assert versions["versions"]
    one = reader.get_object(got[3]["id"])
    assert one["objects"][0]["id"] == got[3]["id"]
    from taxii2client.exceptions import TAXIIServiceException

    with pytest.raises((TAXIIServiceException, Exception)):
        reader.add_objects({"objects": [indicator(99)]})  # member-b may not write


def test_distillwatch_publish_and_pull_with_provenance(hub: str, tmp_path: Path) -> None:
    url = f"{hub}/isac/collections/{COLLECTION}/"
    # the identity share export sends (the same version with other content would be refused)
    identity = clear(member_identity("member-a"))
    assert identity["id"] == indicator(0)["created_by_ref"]
    # enough objects of its own for two pages of seven, whatever other tests of this module
    # (on this or another worker) have published to the hub
    mine = [identity, *(indicator(500 + i) for i in range(11))]
    status = publish(Source(url, "member-a", "secret"), {"objects": mine})
    assert status["success_count"] == 12
    store = Store(f"sqlite:///{tmp_path / 'imports.sqlite'}")
    first = pull(Source(url, "member-b", "secret"), store, page_size=7)
    assert first.new == first.fetched >= 12 and first.pages >= 2 and not first.rejected
    assert pull(Source(url, "member-b", "secret"), store).fetched == 0  # resumes after the last
    producers = {added_by for _, added_by, _ in store.latest(["indicator"])}
    assert producers == {"member-a"}


@pytest.fixture(scope="module")
def medallion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("medallion")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {
            "title": "medallion",
            "default": f"{base}/api1/",
            "api_roots": [f"{base}/api1/"],
        },
        "api1": {
            "information": {
                "title": "api1",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 9765625,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION,
                    "title": "campaigns",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    (tmp / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(tmp / "data.json"),
        },
        "users": {"member-a": "secret"},
        "taxii": {"max_page_size": 100},
    }
    (tmp / "config.json").write_text(json.dumps(config))
    exe = Path(sys.executable).with_name("medallion")
    proc = start([str(exe), "--port", str(port), str(tmp / "config.json")], port, tmp)
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.mark.skipif(os.environ.get("DISTILLWATCH_SKIP_MEDALLION") == "1", reason="asked to skip")
def test_distillwatch_client_against_medallion(medallion: str, tmp_path: Path) -> None:
    url = f"{medallion}/api1/collections/{COLLECTION}/"
    sent = [indicator(n) for n in range(12)]
    status = publish(Source(url, "member-a", "secret"), {"objects": sent})
    assert status["success_count"] == 12
    store = Store(f"sqlite:///{tmp_path / 'imports.sqlite'}")
    result = pull(Source(url, "member-a", "secret"), store, page_size=5)
    assert result.fetched == 12 and result.new == 12 and not result.rejected


def test_the_issues_attacks_through_the_oasis_client(hub: str) -> None:
    """B forges A's authorship, then revokes and deletes A's objects: all refused."""
    import requests
    from taxii2client.v21 import Collection

    url = f"{hub}/isac/collections/{OPEN}/"
    a = Collection(url, user="member-a", password="secret")
    b = Collection(url, user="member-b", password="secret")
    mine = indicator(700)
    assert a.add_objects({"objects": [mine]}).success_count == 1
    forged = {**indicator(701), "pattern": "[ipv4-addr:value ISSUBSET '0.0.0.0/0']"}
    status = b.add_objects({"objects": [forged]})  # claims member-a
    assert status.success_count == 0 and "created_by_ref" in status.failures[0]["message"]
    revoked = {
        **mine,
        "modified": "2026-11-09T00:00:00.000Z",
        "revoked": True,
        "created_by_ref": member_identity("member-b")["id"],
    }
    status = b.add_objects({"objects": [revoked]})
    assert status.success_count == 0 and "belongs to member-a" in status.failures[0]["message"]
    with pytest.raises(requests.HTTPError) as refused:
        b.delete_object(mine["id"])
    assert refused.value.response is not None and refused.value.response.status_code == 403
    got = a.get_objects()
    assert [o["id"] for o in got["objects"]] == [mine["id"]]
    assert "revoked" not in got["objects"][0]
    assert got["x_distillwatch_added_by"] == {mine["id"]: "member-a"}


def test_default_export_through_our_hub_keeps_the_extension(hub: str, tmp_path: Path) -> None:
    bundle = export(tmp_path).bundle
    url = f"{hub}/isac/collections/{OPEN}/"
    status = publish(Source(url, "member-a", "secret"), bundle)
    assert status["omitted"] == 0 and status["failure_count"] == 0, status["failures"]
    store = Store(f"sqlite:///{tmp_path / 'imports.sqlite'}")
    assert not pull(Source(url, "member-b", "secret"), store).rejected
    kinds = {o for _, _, o in store.latest(["extension-definition", "identity"])}
    assert len(kinds) == 3  # the extension, the project and member-a's identity


@pytest.mark.skipif(os.environ.get("DISTILLWATCH_SKIP_MEDALLION") == "1", reason="asked to skip")
def test_default_export_round_trips_through_medallion(medallion: str, tmp_path: Path) -> None:
    """medallion cannot serve a collection holding an extension-definition; publish leaves it
    out there by default, and everything else (fingerprints included) comes back."""
    bundle = export(tmp_path).bundle
    url = f"{medallion}/api1/collections/{COLLECTION}/"
    status = publish(Source(url, "member-a", "secret"), bundle)
    assert status["omitted"] == 1 and status["failure_count"] == 0
    store = Store(f"sqlite:///{tmp_path / 'imports.sqlite'}")
    result = pull(Source(url, "member-a", "secret"), store, page_size=20)
    assert not result.rejected and result.fetched >= len(bundle["objects"]) - 1
    producers = {who for _, who, _ in store.latest(["indicator", "distillwatch-fingerprint"])}
    assert producers == {"member-a (unattested)"}  # medallion attests nothing


def test_the_hub_stops_reading_a_body_at_the_limit(hub: str) -> None:
    """The 413 of a body over the limit closes the connection: the hub no longer reads (and
    discards) whatever the client goes on sending -- 200 MB took it a second before."""
    import http.client

    from test_share_hub_access import chunked_upload

    host, port = hub.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    status, connection, after = chunked_upload(conn, 10 * 1024 * 1024)
    assert (status, connection) == (413, "close")
    assert after < 32 * 2**20, f"the hub read {after / 2**20:.0f} MB after its 413"


def test_a_second_publish_waits_for_the_first(hub: str) -> None:
    """The hub validates one upload per member at a time (a second is a 429 with
    Retry-After); ``share publish`` waits and sends again instead of failing."""
    import threading

    url = f"{hub}/isac/collections/{OPEN}/"
    big: dict = {}
    first = threading.Thread(
        target=lambda: big.update(
            publish(
                Source(url, "member-a", "secret"),
                {"objects": [indicator(n) for n in range(2000, 2500)]},
            )
        )
    )
    first.start()
    time.sleep(0.5)  # the 500 objects are being validated (~10 ms each)
    small = publish(Source(url, "member-a", "secret"), {"objects": [indicator(2600)]})
    first.join()
    assert small["success_count"] == 1 and small["retries"] >= 1
    assert big["success_count"] == 500 and big["retries"] == 0
