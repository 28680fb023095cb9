"""The local-directory storage backend (the default)."""

from __future__ import annotations

import os
import stat
import threading
import weakref
from pathlib import Path
from typing import BinaryIO

from faasm.errors import BadRequest, NotFound, TooLarge
from faasm.storage import Storage, check_key, check_prefix, nofollow
from faasm.storage.nofollow import LinkRefused

#: Name prefix of the temp files writes go through (never listed).
TEMP_PREFIX = ".upload-"


class LocalStorage(Storage):
    """Blobs as files under ``root``; writes go to a temp file and are renamed.

    ``shared/`` is also the guests' preopen, and a guest may make symlinks
    there (or swap one in while a request is served). Every operation opens
    the key one component at a time from ``root`` without following any
    symlink (:mod:`faasm.storage.nofollow`): a key whose path holds a link
    reads as absent and cannot be written, so no key resolves to another
    key's file or out of ``root``.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._held = (-1, -1)  # (process, descriptor of root)
        self._lock = threading.Lock()

    @property
    def _root(self) -> int:
        """A descriptor of ``root``, opened once per process, that every operation walks
        from (two system calls fewer each than opening the root's path). A forked child
        opens its own and leaves the inherited number alone: it may be closed or reused
        there. The root is the operator's: replacing the directory needs a restart."""
        pid, fd = self._held
        if pid != os.getpid():
            with self._lock:
                pid, fd = self._held
                if pid != os.getpid():
                    pid = os.getpid()
                    fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                    weakref.finalize(self, _close_in, pid, fd)
                    self._held = (pid, fd)
        return fd

    @staticmethod
    def _parts(key: str) -> list[str]:
        return check_key(key).split("/")

    def open(self, key: str) -> BinaryIO:
        try:
            return os.fdopen(nofollow.open_file(self._root, self._parts(key)), "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError, LinkRefused):
            raise NotFound(f"{key} not found") from None

    def read(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def write(self, key: str, data: bytes) -> None:
        try:
            nofollow.write_file(self._root, self._parts(key), data, TEMP_PREFIX)
        except LinkRefused:
            raise BadRequest(f"Cannot write {key}: a parent is a file or a link where a "
                             "directory is needed") from None
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise BadRequest(f"Cannot write {key}: it or a parent is a directory "
                             "where a file is needed, or the reverse") from None
        except FileNotFoundError:  # a parent removed while it was being made
            raise BadRequest(f"Cannot write {key}: a parent directory changed while it "
                             "was written") from None

    def version(self, key: str) -> str | None:
        st = nofollow.stat_file(self._root, self._parts(key))
        return None if st is None else _version(st)

    def delete(self, key: str) -> None:
        nofollow.remove(self._root, self._parts(key))

    def list(self, prefix: str) -> dict[str, str]:
        parts = check_prefix(prefix)[:-1].split("/")
        found = {}
        # Symlinks are neither followed nor listed: storage holds regular files.
        for rel, st in nofollow.walk_files(self._root, parts):
            version = _version(st)
            if version is not None and not rel.rsplit("/", 1)[-1].startswith(TEMP_PREFIX):
                found[prefix + rel] = version
        return found

    def size(self, key: str) -> int | None:
        st = nofollow.stat_file(self._root, self._parts(key))
        return st.st_size if st is not None and stat.S_ISREG(st.st_mode) else None

    def modified(self, key: str) -> float | None:
        st = nofollow.stat_file(self._root, self._parts(key))
        return st.st_mtime if st is not None and stat.S_ISREG(st.st_mode) else None

    def usage(self, prefix: str, recursive: bool = True) -> int:
        parts = check_prefix(prefix)[:-1].split("/")
        if recursive:
            def too_deep(rel: str) -> None:
                raise TooLarge(f"{prefix}{rel}: a directory nested over {nofollow.MAX_DEPTH} "
                               "levels deep, whose files cannot be measured for the "
                               "quota (FAASM_SHARED_FILE_QUOTA)")

            return sum(st.st_size for _, st in nofollow.walk_files(self._root, parts, too_deep)
                       if stat.S_ISREG(st.st_mode))
        try:
            with nofollow.directory(self._root, parts) as fd, os.scandir(fd) as entries:
                return sum(st.st_size for st in (e.stat(follow_symlinks=False) for e in entries)
                           if stat.S_ISREG(st.st_mode))
        except (FileNotFoundError, NotADirectoryError, LinkRefused):
            return 0

    def local_dir(self, prefix: str) -> Path | None:
        parts = check_prefix(prefix)[:-1].split("/")
        with nofollow.directory(self._root, parts, create=True):
            pass
        return self.root.joinpath(*parts)


def _close_in(pid: int, fd: int) -> None:
    if os.getpid() == pid:
        os.close(fd)


def _version(st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return None
    # An upload's inode number may be the replaced file's again, but its modification
    # time is always later (nofollow.write_file), so a re-upload always changes this.
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"
