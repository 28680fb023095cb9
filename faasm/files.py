"""Shared files: blobs under ``shared/`` in storage, seen by functions at ``faasm://``."""

from __future__ import annotations

from faasm.errors import NotFound
from faasm.names import shared_path
from faasm.storage import Storage

SHARED_PREFIX = "shared/"


def shared_key(path: str) -> str:
    return SHARED_PREFIX + shared_path(path)


class SharedFiles:
    def __init__(self, storage: Storage):
        self.storage = storage

    def put(self, path: str | None, data: bytes) -> None:
        self.storage.write(shared_key(path), data)

    def get(self, path: str | None) -> bytes:
        key = shared_key(path)
        try:
            return self.storage.read(key)
        except NotFound:
            raise NotFound(f"Shared file {key[len(SHARED_PREFIX):]} not found") from None


class CallFiles:
    """Shared files as running calls see them (``faasm://<path>``)."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def host_dir(self):
        """The local directory mounted at ``faasm://``, or None if storage is remote."""
        path = self.storage.local_path(SHARED_PREFIX.rstrip("/"))
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
        return path

    def read_for_call(self, path: str) -> bytes:
        return SharedFiles(self.storage).get(path)
