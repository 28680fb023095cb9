"""What the remote backends (S3, fileserver) share: the blob API over a few
primitives, and a local cache of immutable blobs on each host.

Keys under ``artifacts/`` are content-addressed (``<sha256>-<engine key>``,
see :func:`faasm.functions.artifact_key`): their bytes never change, so a
host may keep a copy forever. :class:`RemoteStorage` owns that cache: it
fetches such a blob once per host into ``<cache dir>/blobs`` and serves it
from there (:meth:`~RemoteStorage.open` gives a real file, so workers map
machine code as with local storage). Every other key is read from the
remote side each time; its :meth:`~faasm.storage.Storage.version` is one
request. A backend supplies five primitives: ``_get``, ``_put``, ``_head``,
``_remove`` and ``_list``.

Nothing in the cache is trusted for being there: machine code is
authenticated before it is loaded (:mod:`faasm.storage.artifacts`).
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from pathlib import Path
from typing import BinaryIO

from faasm.errors import NotFound
from faasm.storage import ARTIFACTS_PREFIX, Storage, check_key, check_prefix
from faasm.storage.local import LocalStorage

#: Key prefixes whose blobs never change once written.
IMMUTABLE_PREFIXES = (ARTIFACTS_PREFIX,)


def is_immutable(key: str) -> bool:
    return key.startswith(IMMUTABLE_PREFIXES)


class RemoteStorage(Storage):
    """A backend on another host, with a per-host cache under ``cache_dir``."""

    #: Whether immutable blobs written here are stored remotely too (else this host only).
    shares_immutable = True

    def __init__(self, url: str, cache_dir: Path):
        self.url = url
        # One cache per storage URL, so two platforms on one host never mix blobs.
        self.cache_dir = Path(cache_dir) / hashlib.sha256(url.encode()).hexdigest()[:16]
        self._blobs: LocalStorage | None = None

    # The primitives a backend supplies (keys are already checked).

    @abstractmethod
    def _get(self, key: str) -> bytes:
        """The remote blob's bytes; NotFound if absent."""

    @abstractmethod
    def _put(self, key: str, data: bytes) -> None:
        """Store the blob remotely, atomically."""

    @abstractmethod
    def _head(self, key: str) -> str | None:
        """The remote blob's version, or None if absent."""

    @abstractmethod
    def _remove(self, key: str) -> None:
        """Delete the remote blob if present."""

    @abstractmethod
    def _list(self, prefix: str) -> dict[str, str]:
        """Every remote blob under ``prefix``: key -> version."""

    # The blob API, with the cache of immutable blobs.

    @property
    def is_remote(self) -> bool:
        return True

    @property
    def blobs(self) -> LocalStorage:
        """This host's copies of immutable blobs."""
        if self._blobs is None:
            self._blobs = LocalStorage(self.cache_dir / "blobs")
        return self._blobs

    def read(self, key: str) -> bytes:
        if is_immutable(check_key(key)):
            with self.open(key) as f:
                return f.read()
        return self._get(key)

    def open(self, key: str) -> BinaryIO:
        if not is_immutable(check_key(key)):
            return super().open(key)
        try:
            return self.blobs.open(key)
        except NotFound:
            self.blobs.write(key, self._get(key))  # NotFound if absent remotely too
            return self.blobs.open(key)

    def version(self, key: str) -> str | None:
        if is_immutable(check_key(key)):
            local = self.blobs.version(key)
            if local is not None:
                return local
        return self._head(key)

    def write(self, key: str, data: bytes) -> None:
        if is_immutable(check_key(key)):
            self.blobs.write(key, data)
            if not self.shares_immutable:
                return
        self._put(key, data)

    def keep_local(self, key: str, data: bytes) -> None:
        if is_immutable(check_key(key)):
            self.blobs.write(key, data)
        else:
            self.write(key, data)

    def delete(self, key: str) -> None:
        if is_immutable(check_key(key)):
            self.blobs.delete(key)
            if not self.shares_immutable:
                return
        self._remove(key)

    def list(self, prefix: str) -> dict[str, str]:
        return self._list(check_prefix(prefix))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

