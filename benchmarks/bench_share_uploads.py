"""A member's reads while another member floods the hub with large valid uploads.

Members are competitors: one of them may try to starve the others without sending a single
invalid byte. Validating an object with the OASIS validator costs ~10 ms of CPU; validated
in the hub's own process, a few concurrent 2,000-object uploads held its interpreter and
every other member's request waited. The hub now validates in a worker process and takes
one upload per member at a time (another is a 429).

Starts ``distillwatch share serve`` (plain HTTP, SQLite) as its own process. Member A sends a
paced ``GET …/objects/?limit=10`` every 50 ms, first alone, then while ``--uploaders``
threads of member B post envelopes of ``--objects`` valid indicators back to back for
``--seconds``. Prints A's latency (median / p95) alone and during the flood, the ratio, B's
answers, and the CPU seconds of the hub's process tree during the flood. ``--hub-path``
runs the hub from another source tree (e.g. an older commit's ``src``, unpacked with
``git archive``) to compare.

    .venv/bin/python benchmarks/bench_share_uploads.py                # prints one table row
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from distillwatch.share import tlp
from distillwatch.share.server.config import hash_password
from distillwatch.share.stixbase import member_identity

COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
TAXII = "application/taxii+json;version=2.1"
T0 = "2026-11-01T00:00:00.000Z"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path) -> Path:
    pw = hash_password("pw")
    path = tmp / "hub.toml"
    path.write_text(
        f'[server]\ndatabase = "sqlite:///{tmp / "hub.sqlite"}"\napi_root = "isac"\n'
        f'audit_log = "{tmp / "audit.jsonl"}"\n'
        f'[members.member-a]\npassword_hash = "{pw}"\n'
        f'[members.member-b]\npassword_hash = "{pw}"\n'
        f'[collections.campaigns]\nid = "{COLLECTION}"\nread = ["*"]\nwrite = ["*"]\n'
    )
    return path


def _tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and every live descendant (the validation worker's parent is
    the forkserver, not the hub, so ``cutime`` would miss it)."""
    parent, cpu = {}, {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d.name)] = int(fields[1])
        cpu[int(d.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def under(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parent.get(pid, 0)
        return False

    return sum(c for pid, c in cpu.items() if under(pid))


def _indicators(n: int) -> bytes:
    by = member_identity("member-b")["id"]
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": T0,
            "modified": T0,
            "created_by_ref": by,
            "name": f"proxy prefix {k}",
            "description": "flood",
            "indicator_types": ["malicious-activity"],
            "pattern": f"[ipv4-addr:value ISSUBSET '198.18.{k % 250}.0/24']",
            "pattern_type": "stix",
            "valid_from": T0,
            "object_marking_refs": [tlp.marking_id("green")],
        }
        for k in range(n)
    ]
    return orjson.dumps({"objects": objects})


def _reads(url: str, seconds: float) -> list[float]:
    out = []
    with httpx.Client(auth=("member-a", "pw"), timeout=60) as http:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.perf_counter()
            r = http.get(url, params={"limit": 10}, headers={"Accept": TAXII})
            out.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t)))
    return out


def _flood(url: str, objects: int, stop: threading.Event, answers: Counter) -> None:
    headers = {"Accept": TAXII, "Content-Type": TAXII}
    with httpx.Client(auth=("member-b", "pw"), timeout=600) as http:
        while not stop.is_set():
            r = http.post(url, content=_indicators(objects), headers=headers)
            answers[r.status_code] += 1
            if r.status_code == 429:
                time.sleep(float(r.headers.get("Retry-After", "1")))


@dataclass
class Result:
    alone: tuple[float, float]  # median, p95 ms
    during: tuple[float, float]
    answers: Counter
    cpu: float


def run(args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as name:
        tmp = Path(name)
        port = _port()
        env = dict(os.environ)
        if args.hub_path:
            env["PYTHONPATH"] = args.hub_path
        cmd = [sys.executable, "-m", "distillwatch.cli", "share", "serve", "--port", str(port)]
        hub = subprocess.Popen(
            [*cmd, "--config", str(_config(tmp))], cwd=tmp, env=env, stdout=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/isac/collections/{COLLECTION}/objects/"
        try:
            for _ in range(600):
                try:
                    httpx.get(f"{base}/taxii2/", auth=("member-a", "pw"), timeout=5)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            alone = _reads(url, args.seconds)
            stop, answers = threading.Event(), Counter[int]()
            flood = [
                threading.Thread(target=_flood, args=(url, args.objects, stop, answers))
                for _ in range(args.uploaders)
            ]
            cpu = _tree_cpu(hub.pid)
            for t in flood:
                t.start()
            time.sleep(2)  # the uploads are under way
            during = _reads(url, args.seconds)
            cpu = _tree_cpu(hub.pid) - cpu
            stop.set()
            for t in flood:
                t.join()
        finally:
            hub.terminate()
            hub.wait(30)

    def stats(ms: list[float]) -> tuple[float, float]:
        return statistics.median(ms), sorted(ms)[int(0.95 * (len(ms) - 1))]

    return Result(stats(alone), stats(during), answers, cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uploaders", type=int, default=4)
    ap.add_argument("--objects", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--hub-path", help="PYTHONPATH of the hub process (another source tree)")
    ap.add_argument("--label", default="this tree")
    args = ap.parse_args()
    r = run(args)
    (a50, a95), (d50, d95) = r.alone, r.during
    answers = ", ".join(f"{n}× {code}" for code, n in sorted(r.answers.items()))
    print(
        f"| {args.label} | {a50:.1f} / {a95:.1f} ms | {d50:.1f} / {d95:.1f} ms | "
        f"**{d50 / a50:.2f}× / {d95 / a95:.2f}×** | {answers} | {r.cpu:.1f} s |"
    )


if __name__ == "__main__":
    main()
