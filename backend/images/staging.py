"""Uploaded bytes copied to temporary files, hashed as they go, under one byte budget per request.

Nothing of an upload is held in memory whole: every file and every unpacked zip entry is streamed to disk in
chunks, and the budget counts the bytes actually read (never the sizes an archive declares), so an upload stops
as soon as it passes MAX_UPLOAD_BYTES.
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from backend.common.errors import TooLarge

CHUNK_BYTES = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class UploadBudget:
    """The bytes one request may bring in, over all its files and unpacked zip entries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    def take(self, size: int, name: str) -> None:
        self.used += size
        if self.used > self.limit:
            raise TooLarge(
                f"The upload passed {self.limit:,} bytes (MAX_UPLOAD_BYTES, counted over every file and unpacked "
                f"zip entry of one request) while reading {name}; nothing was stored.",
                code="upload_too_large",
            )


@dataclass(frozen=True)
class StagedFile:
    name: str
    path: Path
    size: int
    sha256: str


def stage(*, name: str, source: Readable, directory: Path, budget: UploadBudget) -> StagedFile:
    """Copy `source` to a new file in `directory`, chunk by chunk, taking each chunk from the budget."""
    digest = hashlib.sha256()
    size = 0
    handle, path = tempfile.mkstemp(dir=directory, suffix=".upload")
    with os.fdopen(handle, "wb") as out:
        while chunk := source.read(CHUNK_BYTES):
            budget.take(len(chunk), name)
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return StagedFile(name=name, path=Path(path), size=size, sha256=digest.hexdigest())
