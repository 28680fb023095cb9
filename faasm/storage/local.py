"""The local-directory storage backend (the default)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from faasm.errors import BadRequest, NotFound
from faasm.storage import Storage, check_key, check_prefix

#: Name prefix of the temp files writes go through (never listed).
TEMP_PREFIX = ".upload-"


class LocalStorage(Storage):
    """Blobs as files under ``root``; writes go to a temp file and are renamed.

    Reads and writes resolve symlinks and refuse any that lead out of
    ``root``: the ``shared/`` directory is also a guest's preopen, and a guest
    can create symlinks there.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = os.path.realpath(self.root)
        self._root = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _inside(self, path: Path | str) -> bool:
        real = os.path.realpath(path)
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            if not self._inside(path):
                raise FileNotFoundError(key)
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(f"{key} not found") from None

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise IsADirectoryError(key)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise BadRequest(f"Cannot write {key}: it or a parent is a directory "
                             "where a file is needed, or the reverse") from None
        if not self._inside(path.parent):
            raise BadRequest(f"Cannot write {key}: a parent is a symlink out of the storage")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def version(self, key: str) -> str | None:
        try:  # asked before every call: a plain string path, no pathlib
            st = os.stat(os.path.join(self._root, check_key(key)))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return _version(st)

    def delete(self, key: str) -> None:
        path = self._path(key)
        if not self._inside(path.parent):
            return
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass

    def list(self, prefix: str) -> dict[str, str]:
        top = self.root / check_prefix(prefix)
        found = {}
        # Symlinks are neither followed nor listed: storage holds regular files.
        for dirpath, _, files in os.walk(top):
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    continue
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                version = _version(st)
                if version is not None:
                    found[f"{rel}/{name}"] = version
        return found

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def _version(st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return None
    # A rename gives a new inode, so a re-upload always changes this.
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"
