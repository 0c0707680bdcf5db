"""Access hardening of ``share serve``: TLS, login throttling, unknown members, body limits.

A real hub process serves HTTPS with a self-signed certificate made for the test with
``cryptography`` (:mod:`distillwatch.share.server.tlscert`); the OASIS ``taxii2-client`` and
distillwatch's publish/pull talk to it checking that certificate. Password guessing is
throttled per source and per member without locking out a member already logged in; a huge
chunked upload is abandoned at the limit (the hub's peak memory does not grow with it).
"""

from __future__ import annotations

import base64
import http.client
import ssl
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from distillwatch.share.auditlog import read
from distillwatch.share.client import Source, publish, pull
from distillwatch.share.server.config import parse_config
from distillwatch.share.server.guard import Guard
from distillwatch.share.server.store import Store
from distillwatch.share.server.taxii import TaxiiError
from distillwatch.share.server.tlscert import self_signed
from test_share_interop import COLLECTION, free_port, start
from test_share_server import PW, TAXII, indicator

LIMIT = 1_000_000


def hub_toml(tmp: Path) -> Path:
    path = tmp / "hub.toml"
    path.write_text(
        f"""
[server]
database = "sqlite:///{tmp / "hub.sqlite"}"
api_root = "isac"
audit_log = "{tmp / "hub-audit.jsonl"}"
max_content_length = {LIMIT}
login_failures = 5
member_login_failures = 50
[members.member-a]
password_hash = "{PW}"
[members.member-b]
password_hash = "{PW}"
[members.member-c]
password_hash = "{PW}"
[collections.campaigns]
id = "{COLLECTION}"
read = ["*"]
write = ["*"]
"""
    )
    return path


class Hub:
    def __init__(self, url: str, ca: Path, pid: int, audit: Path) -> None:
        self.url, self.ca, self.pid, self.audit = url, ca, pid, audit

    def peak_rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("tls-hub")
    cert, key = self_signed(tmp)
    port = free_port()
    exe = [sys.executable, "-m", "distillwatch.cli", "share", "serve", "--port", str(port)]
    args = [*exe, "--config", str(hub_toml(tmp)), "--tls-cert", str(cert), "--tls-key", str(key)]
    proc = start(args, port, tmp)
    yield Hub(f"https://127.0.0.1:{port}", cert, proc.pid, tmp / "hub-audit.jsonl")
    proc.terminate()
    proc.wait(10)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": TAXII}


def test_oasis_client_and_distillwatch_over_tls(hub: Hub, tmp_path: Path) -> None:
    from taxii2client.v21 import Server

    from distillwatch.share.client import taxii_connection

    conn = taxii_connection(Source(hub.url, "member-a", "secret", str(hub.ca)))
    server = Server(f"{hub.url}/taxii2/", conn=conn)
    assert server.title == "distillwatch sharing hub"
    url = f"{hub.url}/isac/collections/{COLLECTION}/"
    sent = publish(Source(url, "member-a", "secret", str(hub.ca)), {"objects": [indicator(40)]})
    assert sent["success_count"] == 1
    store = Store(f"sqlite:///{tmp_path / 'imports.sqlite'}")
    assert pull(Source(url, "member-b", "secret", str(hub.ca)), store).new >= 1
    with pytest.raises(httpx.ConnectError):  # an unknown CA is refused, not trusted
        httpx.get(f"{hub.url}/taxii2/", headers=basic("member-a", "secret"))
    plain = hub.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):  # and nothing is served in clear
        httpx.get(f"{plain}/taxii2/", headers=basic("member-a", "secret"), timeout=5)


def test_failed_logins_are_throttled_per_source_without_locking_out_members(hub: Hub) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=hub.ca), timeout=30) as http:
        url = f"{hub.url}/taxii2/"
        assert http.get(url, headers=basic("member-a", "secret")).status_code == 200
        codes = [
            http.get(url, headers=basic("member-c", f"guess-{n}")).status_code for n in range(8)
        ]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        r = http.get(url, headers=basic("member-c", "secret"))  # this address is spent
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert http.get(url, headers=basic("member-a", "secret")).status_code == 200  # logged in
    actions = [e["action"] for e in read(hub.audit) if e["action"].startswith("login")]
    assert actions.count("login-failed") == 5 and "login-throttled" in actions
    assert all("secret" not in str(e) and "guess" not in str(e) for e in read(hub.audit))


def connect(hub: Hub, timeout: float) -> http.client.HTTPSConnection:
    host, port = hub.url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(hub.ca))
    return http.client.HTTPSConnection(host, int(port), context=context, timeout=timeout)


def chunked_upload(conn: http.client.HTTPConnection, limit: int) -> tuple[int, str, int]:
    """Post a chunked body of twice ``limit``; read the answer; then go on sending up to 200
    MB: ``(status, Connection header, bytes the hub took after answering)``. ``conn``'s
    timeout is how long a blocked send waits (the hub no longer reads)."""
    conn.putrequest("POST", f"/isac/collections/{COLLECTION}/objects/")
    for k, v in {**basic("member-a", "secret"), "Content-Type": TAXII}.items():
        conn.putheader(k, v)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    piece = 256 * 1024
    filler = b"%x\r\n%s\r\n" % (piece, b" " * piece)

    def send(most: int) -> int:
        sent = 0
        try:
            while sent < most:
                conn.send(filler)
                sent += piece
        except OSError:  # blocked or reset: nobody reads any more
            pass
        return sent

    try:
        conn.send(b'd\r\n{"objects": [\r\n')
        send(2 * limit)
        response = conn.getresponse()
        response.read()
        return response.status, str(response.getheader("Connection")), send(200 * 2**20)
    finally:
        conn.close()


def test_a_huge_chunked_upload_is_abandoned_at_the_limit(hub: Hub) -> None:
    """A chunked body over the limit gets a 413 that closes the connection; the hub's peak
    memory stays put. (Over TLS, Python's TLS shutdown still reads and discards what the
    client sends for up to 30 s; over plain HTTP the hub stops reading at once:
    ``test_share_interop.py``.)"""
    before = hub.peak_rss_kb()
    status, connection, _ = chunked_upload(connect(hub, timeout=5), LIMIT)
    assert (status, connection) == (413, "close")
    grown_mb = (hub.peak_rss_kb() - before) / 1024
    assert grown_mb < 16, f"the hub's peak memory grew {grown_mb:.0f} MB"


def test_a_declared_length_over_the_limit_is_refused_before_reading(hub: Hub) -> None:
    conn = connect(hub, timeout=10)
    conn.putrequest("POST", f"/isac/collections/{COLLECTION}/objects/")
    for k, v in {**basic("member-a", "secret"), "Content-Type": TAXII}.items():
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(10 * LIMIT))
    conn.endheaders(b'{"objects": [')  # then nothing: the hub must not wait for the rest
    r = conn.getresponse()
    assert r.status == 413 and b"over 1000000 bytes" in r.read()
    conn.close()


def guard(**server: object) -> Guard:
    cfg = parse_config(
        {
            "server": server,
            "members": {"member-a": {"password_hash": PW}, "member-b": {"password_hash": PW}},
        }
    )
    return Guard(cfg)


def auth(user: str, password: str) -> str:
    return basic(user, password)["Authorization"]


def test_a_member_name_is_throttled_from_all_sources_together() -> None:
    g = guard(login_failures=100, member_login_failures=4)
    codes = []
    for n in range(6):  # a botnet: every guess from another address
        try:
            g.member(auth("member-b", f"guess-{n}"), f"198.51.100.{n}")
        except TaxiiError as err:
            codes.append(err.status)
    assert codes == [401, 401, 401, 401, 429, 429]
    with pytest.raises(TaxiiError) as refused:  # even the right password waits now ...
        g.member(auth("member-b", "secret"), "192.0.2.1")
    assert refused.value.status == 429
    assert g.member(auth("member-a", "secret"), "192.0.2.1").name == "member-a"  # ... B only


def test_unknown_members_cost_as_much_as_known_ones() -> None:
    """A dummy scrypt hash is checked for unknown names: CPU time does not tell them apart."""
    g = guard(login_failures=1000, member_login_failures=1000)

    def cost(user: str) -> float:
        spent = []
        for n in range(5):
            t = time.process_time()
            with pytest.raises(TaxiiError):
                g.member(auth(user, f"guess-{n}"), "203.0.113.9")
            spent.append(time.process_time() - t)
        return statistics.median(spent)

    known, unknown = cost("member-a"), cost("no-such-member")
    assert unknown > 0.3 * known, (known, unknown)  # without the dummy hash: ~0.01


def test_login_budgets_stay_bounded_whatever_names_are_tried() -> None:
    from distillwatch.share.server.guard import MAX_KEYS

    g = guard(login_failures=10**6, member_login_failures=5)
    long_name = "x" * 50_000
    for n in range(MAX_KEYS + 50):
        g._by_name.set(f"name:{n}", 0.0, time.monotonic())
    g._reserve("192.0.2.7", long_name, None)
    assert len(g._by_name._state) <= MAX_KEYS
    assert all(len(k) < 100 for k in g._by_name._state)  # names are kept hashed


def test_one_upload_per_member_at_a_time() -> None:
    """A member's second upload while its first is being validated is a 429 (before its body
    is read); another member is not held up, and the slot is free again afterwards."""
    import asyncio

    from distillwatch.share.server.checker import Uploads

    async def scenario() -> list[int]:
        uploads, codes = Uploads(), []
        async with uploads.slot("member-b"):
            try:
                async with uploads.slot("member-b"):
                    codes.append(202)
            except TaxiiError as err:
                codes.append(err.status)
            async with uploads.slot("member-a"):
                codes.append(202)
        async with uploads.slot("member-b"):
            codes.append(202)
        return codes

    assert asyncio.run(scenario()) == [429, 202, 202]


def test_a_killed_validation_worker_is_replaced(hub: Hub) -> None:
    """Uploads are validated in a worker process; if it dies (out of memory, killed by hand)
    the next upload starts another instead of failing for good."""
    import os
    import signal

    def worker() -> int:
        for p in Path("/proc").iterdir():
            if p.name.isdigit() and p.name != str(hub.pid):
                try:
                    stat = (p / "stat").read_text().rsplit(")", 1)[1].split()
                    cmdline = (p / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"forkserver" in cmdline and int(stat[1]) != hub.pid:  # forked by the server
                    parent = (Path("/proc") / stat[1] / "stat").read_text().rsplit(")", 1)[1]
                    if int(parent.split()[1]) == hub.pid:
                        return int(p.name)
        raise AssertionError("no validation worker under the hub")

    os.kill(worker(), signal.SIGKILL)
    url = f"{hub.url}/isac/collections/{COLLECTION}/"
    sent = publish(Source(url, "member-a", "secret", str(hub.ca)), {"objects": [indicator(41)]})
    assert sent["success_count"] == 1
    assert worker() > 0


def test_credentials_that_are_not_ascii_reach_the_guard(tmp_path: Path) -> None:
    """FastAPI's Basic parser refused non-ASCII credentials (and ones without a colon) with a
    quick 401 of its own: a member with a non-ASCII password could never log in, and such
    guesses cost nothing against the login budgets. Now the guard sees them all."""
    from fastapi.testclient import TestClient

    from distillwatch.share.server import create_app
    from distillwatch.share.server.config import hash_password

    cfg = parse_config(
        {
            "server": {
                "database": f"sqlite:///{tmp_path / 'hub.sqlite'}",
                "audit_log": str(tmp_path / "audit.jsonl"),
                "login_failures": 3,
            },
            "members": {"member-a": {"password_hash": hash_password("pässwörd-ünïcode")}},
        }
    )

    def get(user: str, password: str) -> int:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        r = client.get("/taxii2/", headers={"Authorization": f"Basic {token}", "Accept": TAXII})
        return r.status_code

    with TestClient(create_app(cfg)) as client:
        assert get("member-a", "pässwörd-ünïcode") == 200
        no_colon = base64.b64encode(b"member-a").decode()
        r = client.get("/taxii2/", headers={"Authorization": f"Basic {no_colon}"})
        assert r.status_code == 401
        assert [get("member-а", "x"), get("member-a", "wrönġ")] == [401, 401]  # Cyrillic а
        assert get("member-a", "wrong") == 429  # all three spent this address's budget
    failed = [e for e in read(tmp_path / "audit.jsonl") if e["action"] == "login-failed"]
    assert len(failed) == 3
