"""A local copy of the blobs under one storage prefix, for the calls of one process.

WASI opens files through a preopened host directory, so a guest cannot
fetch a remote file when it opens it: with remote storage, each worker
process keeps a mirror of ``shared/`` in a directory of its own and mounts
that at ``faasm://``. The protocol, per call:

1. :meth:`Mirror.begin` lists the prefix (one request) and makes the
   mirror equal to it: blobs whose version changed, or whose local copy a
   call modified without committing, are downloaded again; local files the
   storage does not have are removed. Then it snapshots every local file
   (mtime, size, inode).
2. The call runs on the mirror.
3. On success, :meth:`Mirror.commit` writes back each file that is new or
   whose (mtime, size, inode) changed, and deletes from storage each file
   that disappeared. A failed call commits nothing; the next
   :meth:`~Mirror.begin` puts back what it changed.

Cost per call: one listing request plus a stat of every mirrored file,
before and after the call, plus a download of each file that changed since
(and, once, of each file a call of this process wrote back). Chained calls
run inline share their caller's mirror and do not re-sync.

Two calls on different hosts that write the same file: the last commit
wins, as two uploads would. Symlinks and other special files a guest makes
in the mirror are deleted (never followed, never uploaded); empty
directories are not stored. Every path in the mirror is opened one
component at a time without following links (:mod:`faasm.storage.nofollow`),
so a link a guest left, or swaps in, never leads a sync or a commit out of it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import stat
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

from faasm.errors import NotFound
from faasm.storage import Storage, nofollow

#: Name prefix of the temp files placed in the mirror (never scanned as files).
TEMP_PREFIX = ".mirror-"

#: A local file's identity: (mtime in ns, size, inode).
FileStat = tuple[int, int, int]


class Mirror:
    """The mirror of ``storage``'s ``prefix`` in ``directory`` (one per process)."""

    def __init__(self, storage: Storage, prefix: str, directory: Path):
        self.storage = storage
        self.prefix = prefix
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._dir = str(self.dir)
        #: relative path -> (storage version it holds, its FileStat when written).
        self._copies: dict[str, tuple[str, FileStat]] = {}
        self._depth = 0
        self._lock = threading.RLock()

    def begin(self) -> dict[str, FileStat]:
        """Start a call: sync (unless a call is already running here), snapshot."""
        with self._lock:
            if self._depth == 0:
                self._sync()
            self._depth += 1
            return self._scan()

    def end(self) -> None:
        with self._lock:
            self._depth = max(0, self._depth - 1)

    def commit(self, before: dict[str, FileStat], check=None) -> None:
        """Write back what changed since ``before`` (the call succeeded).

        ``check(after, changed)`` may refuse the changes by raising, before
        anything is written back.
        """
        with self._lock:
            after = self._scan()
            if check is not None:
                check(after, {rel for rel, st in after.items() if before.get(rel) != st})
            for rel, st in after.items():
                if before.get(rel) != st:
                    self.storage.write(self.prefix + rel, self._read_local(rel))
                    # Its storage version is unknown (another host may write it next):
                    # the next sync downloads it once rather than trust a guess.
                    self._copies[rel] = ("", st)
            for rel in before.keys() - after.keys():
                self.storage.delete(self.prefix + rel)
                self._copies.pop(rel, None)

    def _sync(self) -> None:
        remote = {key[len(self.prefix):]: version
                  for key, version in self.storage.list(self.prefix).items()}
        local = self._scan()
        for rel in local.keys() - remote.keys():
            nofollow.remove(self._dir, rel.split("/"))
        for rel, version in remote.items():
            copy = self._copies.get(rel)
            if copy is not None and copy[0] == version and local.get(rel) == copy[1]:
                continue
            try:
                data = self.storage.read(self.prefix + rel)
            except NotFound:  # deleted since the listing
                nofollow.remove(self._dir, rel.split("/"))
                continue
            self._copies[rel] = (version, self._place(rel, data))
        for rel in self._copies.keys() - remote.keys():
            del self._copies[rel]

    def _place(self, rel: str, data: bytes) -> FileStat:
        """Write ``data`` at ``rel`` atomically, clearing whatever is in the way.

        Every component is opened without following links (a guest may have
        left one, or swap one in): whatever is not a directory where one is
        needed is removed, and nothing outside the mirror is ever touched.
        """
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            st = nofollow.stat_file(self._dir, parts[:depth])
            if st is not None and not stat.S_ISDIR(st.st_mode):
                nofollow.remove(self._dir, parts[:depth])
        st = nofollow.stat_file(self._dir, parts)
        if st is not None and stat.S_ISDIR(st.st_mode):
            nofollow.remove_tree(self._dir, parts)
        return _file_stat(nofollow.write_file(self._dir, parts, data, TEMP_PREFIX, sync=False))

    def _read_local(self, rel: str) -> bytes:
        return nofollow.read_file(self._dir, rel.split("/"))

    def _scan(self) -> dict[str, FileStat]:
        """Every regular file in the mirror; anything else but directories is deleted."""
        found = {}
        for rel, st in nofollow.walk_files(self._dir, []):
            if not stat.S_ISREG(st.st_mode):
                nofollow.remove(self._dir, rel.split("/"))
            elif not rel.rsplit("/", 1)[-1].startswith(TEMP_PREFIX):
                found[rel] = _file_stat(st)
        return found

    def open_local(self, rel: str) -> BinaryIO | None:
        """The mirrored file at ``rel`` while a call runs, if it is a regular file
        reached through no link."""
        with self._lock:
            if self._depth == 0:
                return None
            try:
                return os.fdopen(nofollow.open_file(self._dir, rel.split("/")), "rb")
            except (FileNotFoundError, NotADirectoryError, nofollow.LinkRefused):
                return None


def _file_stat(st: os.stat_result) -> FileStat:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def process_dir(root: Path) -> Path:
    """A fresh directory for this process under ``root``, removed at exit; the
    directories of dead processes of this host are removed first."""
    root.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    for old in root.glob(f"{host}-*"):
        try:
            pid = int(old.name.split("-")[-2])
        except (ValueError, IndexError):
            continue
        if not _alive(pid):
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(dir=root, prefix=f"{host}-{os.getpid()}-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
