"""What the remote backends (S3, fileserver) share: a local cache on each host.

Keys under ``artifacts/`` are content-addressed (``<sha256>-<engine key>``,
see :func:`faasm.functions.artifact_key`): their bytes never change, so a
host may keep a copy forever. :meth:`RemoteStorage.local_path` fetches such
a blob once per host into ``<cache dir>/blobs`` and gives its path, so
workers load machine code with ``Module.deserialize_file`` (mmap, shared by
the host's pool processes) as with local storage. Every other key is read
from the remote side each time; its :meth:`~faasm.storage.Storage.version`
is one request.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from faasm.errors import NotFound
from faasm.storage import Storage, check_key
from faasm.storage.local import LocalStorage

#: Key prefixes whose blobs never change once written.
IMMUTABLE_PREFIXES = ("artifacts/",)


def is_immutable(key: str) -> bool:
    return key.startswith(IMMUTABLE_PREFIXES)


class RemoteStorage(Storage):
    """A backend on another host, with a per-host cache under ``cache_dir``."""

    def __init__(self, url: str, cache_dir: Path):
        self.url = url
        # One cache per storage URL, so two platforms on one host never mix blobs.
        self.cache_dir = Path(cache_dir) / hashlib.sha256(url.encode()).hexdigest()[:16]
        self._blobs: LocalStorage | None = None

    @property
    def is_remote(self) -> bool:
        return True

    @property
    def blobs(self) -> LocalStorage:
        """This host's copies of immutable blobs."""
        if self._blobs is None:
            self._blobs = LocalStorage(self.cache_dir / "blobs")
        return self._blobs

    def local_path(self, key: str) -> Path | None:
        if not is_immutable(check_key(key)):
            return None
        path = self.blobs.local_path(key)
        if not path.is_file():
            try:
                self.blobs.write(key, self.read(key))
            except NotFound:
                pass  # absent: the caller finds no file there
        return path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
