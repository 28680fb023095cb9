"""Shared files: blobs under ``shared/`` in storage, seen by functions at ``faasm://``."""

from __future__ import annotations

import os
import shutil
import weakref
from pathlib import Path
from typing import Self

from faasm.errors import NotFound
from faasm.names import shared_path
from faasm.storage import Storage
from faasm.storage.mirror import Mirror, process_dir

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


class SharedMount:
    """The shared files of one call: a local directory to preopen at ``faasm://``.

    Use it as ``mount = files.mount()`` before the call, ``mount.commit()``
    once the call succeeded, and ``mount.close()`` always (or ``with``, which
    closes). With local storage the directory IS the storage (writes land at
    once, whatever the call's outcome) and commit does nothing. With remote
    storage it is this process's mirror (:mod:`faasm.storage.mirror`), and
    only a call that succeeds writes its changes back, at commit.
    """

    def __init__(self, path: Path, mirror: Mirror | None = None):
        self.path = path
        self._mirror = mirror
        self._before = mirror.begin() if mirror is not None else None

    def commit(self) -> None:
        if self._mirror is not None and self._before is not None:
            self._mirror.commit(self._before)
            self._before = None

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.end()
            self._mirror = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: Each process's mirror of each remote storage (re-made in a forked child).
_mirrors: weakref.WeakKeyDictionary[Storage, tuple[int, Mirror]] = weakref.WeakKeyDictionary()


class CallFiles:
    """Shared files as running calls see them (``faasm://<path>``)."""

    def __init__(self, storage: Storage, mirror_root: Path | None = None):
        """``mirror_root``: where this process mirrors remote shared files
        (default ``<remote storage's cache dir>/mirrors``)."""
        self.storage = storage
        self.mirror_root = mirror_root

    def host_dir(self) -> Path | None:
        """The local directory mounted at ``faasm://``, or None if storage is remote."""
        if self.storage.is_remote:
            return None
        return self.storage.local_dir(SHARED_PREFIX)

    def mount(self) -> SharedMount:
        """The shared files for a call about to run (see :class:`SharedMount`)."""
        local = self.host_dir()
        if local is not None:
            return SharedMount(local)
        mirror = self._mirror()
        return SharedMount(mirror.dir, mirror)

    def _mirror(self) -> Mirror:
        entry = _mirrors.get(self.storage)
        if entry is None or entry[0] != os.getpid():
            root = self.mirror_root or Path(self.storage.cache_dir) / "mirrors"
            entry = _mirrors[self.storage] = (
                os.getpid(), Mirror(self.storage, SHARED_PREFIX, process_dir(root) / "shared"))
        return entry[1]

    def flush(self) -> None:
        """Drop this process's copy of remote shared files (fetched again when next used)."""
        entry = _mirrors.pop(self.storage, None)
        if entry is not None and entry[0] == os.getpid():
            shutil.rmtree(entry[1].dir, ignore_errors=True)

    def read_for_call(self, path: str) -> bytes:
        """A shared file's bytes as the running call sees them (its own writes included)."""
        if self.storage.is_remote:
            entry = _mirrors.get(self.storage)
            if entry is not None and entry[0] == os.getpid():
                local = entry[1].open_local(shared_path(path))
                if local is not None:
                    with local:
                        return local.read()
        return SharedFiles(self.storage).get(path)
