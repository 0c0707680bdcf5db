"""The one exception ingest raises when it cannot go on."""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """Ingest could not run (missing or unreadable input, damaged stream, strict violation).

    ``file``, ``line`` and ``reason`` are set when the cause is one place in one file, so a
    caller can point the user at it; the message always names them too.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = None if file is None else str(file)
        self.line = line
        self.reason = reason
