"""Compiled Hyperscan databases kept on disk, so a process loads them instead of compiling.

Compiling the signals' pattern set takes about 0.7 CPU s; every scan (in its workers'
forkserver), every ``replay`` and every online signal worker paid it again for the same
patterns. Hyperscan can serialise a compiled database (``hyperscan.dumpb``) and load it back
in well under a millisecond (``loadb``). Here a database is stored under a name that is the
SHA-256 of everything its bytecode depends on -- the patterns, their flags and ids, the
mode, the Hyperscan version, and the CPU (its bytecode uses the instructions the CPU has) --
so a changed pattern, an upgrade or another machine sharing the home directory simply
misses, and compiles.

The cache is only trusted as far as the code is: it lives in this user's cache directory
(``$XDG_CACHE_HOME`` or ``~/.cache``, or ``DISTILLWATCH_CACHE``), and a directory or file
that is a link, not this user's, or writable by others is not read. Each file starts with
the SHA-256 of the rest, so a damaged file (a full disk, a crash in mid-write) is noticed
and replaced; files are written under a temporary name and renamed into place.
``DISTILLWATCH_CACHE=0`` turns it off. Any failure to read or write only means compiling,
as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import stat
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

#: Bumped when the file layout changes.
_LAYOUT = b"distillwatch-hyperscan-1"
_DIGEST = 32


def cache_dir() -> Path | None:
    """Where compiled databases are kept, or None when the cache is turned off."""
    setting = os.environ.get("DISTILLWATCH_CACHE")
    if setting == "0":
        return None
    if setting:
        return Path(setting) / "hyperscan"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "distillwatch" / "hyperscan"


@cache
def _cpu() -> bytes:
    """What of the CPU a compiled database may depend on: its model name and flags."""
    try:
        info = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        info = []
    kept = [line for line in info if line.startswith(("flags", "model name"))][:2]
    return "\n".join([platform.machine(), *kept]).encode()


def key(
    expressions: Sequence[bytes], flags: Sequence[int], ids: Sequence[int], mode: int, version: str
) -> str:
    """The name of a compiled database: a hash of everything its bytecode depends on."""
    digest = hashlib.sha256(_LAYOUT)
    for part in (version.encode(), str(mode).encode(), _cpu()):
        digest.update(len(part).to_bytes(8, "little") + part)
    for expression, flag, ident in zip(expressions, flags, ids, strict=True):
        digest.update(len(expression).to_bytes(8, "little") + expression)
        digest.update(flag.to_bytes(8, "little") + ident.to_bytes(8, "little", signed=True))
    return digest.hexdigest()


def _private(path: Path, is_dir: bool) -> bool:
    """Whether ``path`` is this user's own, not a link, and not writable by others."""
    try:
        info = path.lstat()
    except OSError:
        return False
    kind = stat.S_ISDIR(info.st_mode) if is_dir else stat.S_ISREG(info.st_mode)
    return kind and info.st_uid == os.getuid() and not info.st_mode & 0o022


def read(directory: Path, name: str) -> bytes | None:
    """The stored database ``name``, or None (missing, untrusted or damaged)."""
    path = directory / name
    if not _private(directory, True) or not _private(path, False):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    body = data[_DIGEST:]
    if len(data) <= _DIGEST or hashlib.sha256(body).digest() != data[:_DIGEST]:
        return None
    return body


def write(directory: Path, name: str, body: bytes) -> bool:
    """Store ``body`` as ``name`` (atomically); whether it was stored."""
    tmp = ""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(directory, True):
            return False
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with open(fd, "wb") as handle:
            handle.write(hashlib.sha256(body).digest() + body)
        os.replace(tmp, directory / name)
    except OSError:
        with contextlib.suppress(OSError):
            if tmp:
                os.unlink(tmp)
        return False
    return True


def compiled(
    hyperscan: Any,
    expressions: Sequence[bytes],
    flags: Sequence[int],
    mode: int,
    compile_database: Callable[[], Any],
) -> Any:
    """The database of ``expressions`` (ids = positions): loaded from the cache when it
    holds it, else ``compile_database()``, stored for next time. Errors of the compilation
    itself propagate (the caller decides what a refused pattern means)."""
    directory = cache_dir()
    ids = list(range(len(expressions)))
    name = key(expressions, flags, ids, mode, str(getattr(hyperscan, "__version__", "")))
    if directory is not None:
        body = read(directory, name)
        if body is not None:
            with contextlib.suppress(Exception):  # unloadable: compile instead
                database = hyperscan.loadb(body, mode)
                database.scratch = hyperscan.Scratch(database)
                return database
    database = compile_database()
    if directory is not None:
        with contextlib.suppress(Exception):
            write(directory, name, hyperscan.dumpb(database))
    return database
