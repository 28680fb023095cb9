"""Shared storage: where functions, precompiled artifacts and shared files live.

The upload API writes it and every worker reads it. :class:`Storage` is the
interface; :mod:`faasm.storage.local` is the default backend (a directory,
shared by all processes on one host). Keys are relative POSIX paths; the
layout of keys is owned by :mod:`faasm.functions` and :mod:`faasm.files`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path


class Storage(ABC):
    """A flat store of byte blobs under relative path keys."""

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The blob's bytes; raises :class:`~faasm.errors.NotFound` if absent."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Store ``data`` atomically: readers see the old blob or the new one."""

    @abstractmethod
    def version(self, key: str) -> str | None:
        """A cheap fingerprint that changes whenever the blob is rewritten, or None."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob if present."""

    def exists(self, key: str) -> bool:
        return self.version(key) is not None

    def local_path(self, key: str) -> Path | None:
        """A local file holding the blob, when the backend has one (for mmap)."""
        return None


def open_storage(url: str) -> Storage:
    """The storage backend named by a ``FAASM_STORAGE`` value."""
    from faasm.storage.local import LocalStorage

    if url.startswith("file://"):
        url = url[len("file://"):]
    if "://" in url:
        raise ValueError(f"unsupported storage URL {url!r}")
    return LocalStorage(Path(url))
