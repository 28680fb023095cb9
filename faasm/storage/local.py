"""The local-directory storage backend (the default)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from faasm.errors import BadRequest, NotFound
from faasm.storage import Storage


class LocalStorage(Storage):
    """Blobs as files under ``root``; writes go to a temp file and are renamed."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = os.path.realpath(self.root)

    def _path(self, key: str) -> Path:
        # Keys come from faasm.names-validated parts; refuse anything else loudly.
        if key.startswith("/") or ".." in key.split("/") or "\x00" in key:
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key

    def _inside(self, path: Path) -> bool:
        """Whether ``path`` resolves inside the root: functions can create symlinks in
        the shared directory, and none may lead a reader to another host file."""
        real = os.path.realpath(path)
        return real.startswith(self._real_root + os.sep)

    def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            if not self._inside(path):
                raise FileNotFoundError(key)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError, OSError):
            raise NotFound(f"{key} not found") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotFound(f"{key} not found")
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            if not self._inside(path):
                raise BadRequest(f"Cannot write {key}: a parent is a link out of storage")
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise IsADirectoryError(key)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise BadRequest(f"Cannot write {key}: it or a parent is a directory "
                             "where a file is needed, or the reverse") from None
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
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
        path = self._path(key)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not self._inside(path):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        # A rename gives a new inode, so a re-upload always changes this.
        return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
