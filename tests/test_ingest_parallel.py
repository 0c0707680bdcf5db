"""The ingest pool: order kept, and no worker outlives a killed scan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from distillwatch.ingest.parallel import ordered_map


def _square(x: int) -> int:
    return x * x


def test_results_come_back_in_input_order() -> None:
    assert list(ordered_map(_square, range(40), workers=2, window=3)) == [x * x for x in range(40)]


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie or a reused pid of another program counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.split(") ", 1)[1][0] != "Z" and b"python" in cmdline


def test_workers_end_when_the_scan_is_killed(tmp_path: Path) -> None:
    """SIGKILL to the parent (an OOM kill, a CI timeout) must not leave workers burning CPU."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import os, time
        from distillwatch.ingest.parallel import ordered_map

        def spin(i):
            with open({str(pids)!r}, "a") as f:
                f.write(f"{{os.getpid()}}\\n")
            end = time.monotonic() + 120
            while time.monotonic() < end:  # a chunk that takes minutes
                pass
            return i

        if __name__ == "__main__":
            for _ in ordered_map(spin, range(4), workers=2):
                pass
        """
    )
    (tmp_path / "scan.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "scan.py")], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if pids.exists() and len(set(pids.read_text().split())) >= 2:
                break
            time.sleep(0.1)
        workers = {int(p) for p in pids.read_text().split()}
        assert len(workers) == 2 and all(_alive(p) for p in workers)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"workers {left} outlived their killed parent"


def test_chunks_are_whole_lines_that_add_up_to_the_file(tmp_path: Path) -> None:
    """The units of parallel work: whole lines, in order, numbered, nothing lost or doubled,
    whatever the block size -- lines longer than a block, blocks ending on a newline, a
    last line without one, plain and compressed."""
    import zstandard

    from distillwatch.ingest.readers import read_chunks
    from distillwatch.ingest.sources import discover

    lines = [b"x" * n for n in (0, 1, 5, 7, 8, 9, 31, 2, 64, 3, 0, 0, 15, 16, 17)]
    body = b"\n".join(lines) + b"\ntail without newline"
    plain = tmp_path / "log.jsonl"
    plain.write_bytes(body)
    packed = tmp_path / "log.jsonl.zst"
    packed.write_bytes(zstandard.ZstdCompressor().compress(body))
    for path in (plain, packed):
        source = discover([path])[0][0]
        for block in (1, 2, 8, 9, 16, 17, 1000):
            chunks = [p.chunk for p in read_chunks(source, chunk_bytes=block)]
            assert b"".join(c.data for c in chunks) == body  # type: ignore[union-attr]
            line = 1
            for chunk in chunks:
                assert chunk.first_line == line
                assert chunk is chunks[-1] or chunk.data.endswith(b"\n")  # type: ignore[union-attr]
                line += chunk.data.count(b"\n")  # type: ignore[union-attr]
