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
directories are not stored.
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

from faasm.errors import NotFound
from faasm.storage import Storage

#: A local file's identity: (mtime in ns, size, inode).
FileStat = tuple[int, int, int]


class Mirror:
    """The mirror of ``storage``'s ``prefix`` in ``directory`` (one per process)."""

    def __init__(self, storage: Storage, prefix: str, directory: Path):
        self.storage = storage
        self.prefix = prefix
        self.dir = Path(directory)
        self.staging = self.dir.parent / (self.dir.name + ".staging")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
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

    def commit(self, before: dict[str, FileStat]) -> None:
        """Write back what changed since ``before`` (the call succeeded)."""
        with self._lock:
            after = self._scan()
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
            _unlink(self.dir / rel)
        for rel, version in remote.items():
            copy = self._copies.get(rel)
            if copy is not None and copy[0] == version and local.get(rel) == copy[1]:
                continue
            try:
                data = self.storage.read(self.prefix + rel)
            except NotFound:  # deleted since the listing
                _unlink(self.dir / rel)
                continue
            self._copies[rel] = (version, self._place(rel, data))
        for rel in self._copies.keys() - remote.keys():
            del self._copies[rel]

    def _place(self, rel: str, data: bytes) -> FileStat:
        """Write ``data`` at ``rel`` atomically, clearing whatever is in the way."""
        target = self.dir / rel
        parent = self.dir
        for part in rel.split("/")[:-1]:
            parent = parent / part
            if os.path.lexists(parent) and not parent.is_dir():
                _unlink(parent)
        parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        fd, tmp = tempfile.mkstemp(dir=self.staging)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
        return _file_stat(os.lstat(target))

    def _read_local(self, rel: str) -> bytes:
        fd = os.open(self.dir / rel, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def _scan(self) -> dict[str, FileStat]:
        """Every regular file in the mirror; anything else but directories is deleted."""
        found = {}
        for dirpath, dirs, files in os.walk(self.dir):
            rel_dir = os.path.relpath(dirpath, self.dir)
            for name in list(dirs):
                if os.path.islink(os.path.join(dirpath, name)):
                    _unlink(Path(dirpath, name))
                    dirs.remove(name)
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    _unlink(Path(path))
                    continue
                rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
                found[rel] = _file_stat(st)
        return found

    def local_file(self, rel: str) -> Path | None:
        """The mirrored file at ``rel`` while a call runs, if it exists there."""
        with self._lock:
            if self._depth == 0:
                return None
            path = (self.dir / rel).resolve()
            if not path.is_relative_to(self.dir.resolve()) or not path.is_file():
                return None
            return path


def _file_stat(st: os.stat_result) -> FileStat:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _unlink(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


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
