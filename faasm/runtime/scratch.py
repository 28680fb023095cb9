"""A wasm call's own filesystem: a scratch directory seen as ``/``, read-only ``/etc`` and ``/lib``.

Each call of a module that opens files gets an empty directory (holding only
an empty ``tmp``) under ``<data dir>/scratch/<pid>-<random>/``, preopened as
the guest's ``/`` (so its working directory, ``/tmp`` and ``$HOME`` are in
it), the process's ``etc`` directory of /etc basics preopened read-only
at ``/etc``, and the Python runtime's standard library read-only at
``/lib/python3.8`` (faasm/runtime/python_lib.py). Host calls that take a
guest's absolute path read it through the same views (:meth:`CallScratch.read`),
following no link. Whatever the call wrote is removed when it ends, whatever the
outcome, before the directory serves another call of this process; the
directories of a process that was killed (a timeout in ``kill`` mode) are
removed by the next worker process that starts on the host.

Nothing there reaches another call: wasmtime resolves every path inside its
preopen (``..`` and absolute paths stop at the scratch root), links cannot be
made (``path_symlink``/``path_link`` answer EPERM, see linking.py), and a
directory is emptied before it is used again. Size is bounded by
FAASM_SCRATCH_QUOTA: a watchdog thread measures the directories of the calls
in flight every TICK seconds; past the quota the call is failed and its files
are truncated at every tick until it ends, so the disk holds at most the
quota plus what a guest writes in one tick.
"""

from __future__ import annotations

import os
import posixpath
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from faasm.errors import LimitExceeded, NotFound
from faasm.runtime.environment import ETC_FILES
from faasm.runtime.limits import describe_bytes
from faasm.runtime.python_lib import library_root
from faasm.storage import nofollow

#: Seconds between two measures of a call's scratch directory.
TICK = 0.02
#: Most files and directories a call's scratch may hold.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class View:
    """A host directory a call sees at ``guest`` (a wasm preopen)."""

    guest: str
    host: Path
    writable: bool


class ScratchSpace:
    """This process's scratch root: one directory per call in flight.

    Directories are reused: a call that wrote nothing leaves its directory as it
    found it (checked by listing it, ~30 µs), and one that wrote is emptied when
    it ends, so no call sees another's files and no call pays a directory's
    creation and removal (1-15 ms each on a busy disk). One watchdog thread per
    process measures the directories of the calls in flight.
    """

    def __init__(self, base: Path, quota: int, python_cache: Path | None = None):
        self.base = Path(base)
        self.quota = quota
        self.root = self.base / f"{os.getpid()}-{secrets.token_hex(4)}"
        self.etc = self.root / "etc"
        #: Where the /lib view is made (python_lib.py); None: no /lib view.
        self.python_cache = python_cache
        #: The read-only views every call of this process sees.
        self.views: tuple[View, ...] = ()
        self._made = False
        self._count = 0
        self._free: list[Path] = []
        self._active: dict[Path, CallScratch] = {}
        self._lock = threading.Lock()
        self._watchdog_pid = 0

    def _prepare(self) -> None:
        if self._made and self.root.is_dir():
            return
        self.base.mkdir(parents=True, exist_ok=True)
        sweep(self.base)
        self.etc.mkdir(parents=True, exist_ok=True)
        for name, data in ETC_FILES.items():
            (self.etc / name).write_bytes(data)
        lib = library_root(self.python_cache) if self.python_cache is not None else None
        self.views = (View("/etc", self.etc, False),) + ((View("/lib", lib, False),) if lib else ())
        self._free.clear()
        self._made = True

    def open(self, call_id: int) -> CallScratch:
        """A clean directory for a call (made, or reused from an earlier call)."""
        self._prepare()
        with self._lock:
            path = self._free.pop() if self._free else None
            if path is None:
                self._count += 1
                path = self.root / f"call-{self._count}"
            scratch = self._active[path] = CallScratch(path, self.quota, self)
        if not path.is_dir():
            path.mkdir()
            _restore(path)
        self._ensure_watchdog()
        return scratch

    def _ensure_watchdog(self) -> None:
        if self._watchdog_pid == os.getpid():
            return
        with self._lock:
            if self._watchdog_pid != os.getpid():
                threading.Thread(target=self._watch, name="faasm-scratch", daemon=True).start()
                self._watchdog_pid = os.getpid()

    def _watch(self) -> None:
        while True:
            time.sleep(TICK)
            with self._lock:
                active = list(self._active.values())
            for scratch in active:
                scratch.check()

    def _closed(self, scratch: CallScratch, reusable: bool) -> None:
        with self._lock:
            self._active.pop(scratch.path, None)
            if reusable:
                self._free.append(scratch.path)


class CallScratch:
    """One call's scratch directory, kept within the quota by its space's watchdog."""

    def __init__(self, path: Path, quota: int, space: ScratchSpace | None = None):
        self.path = path
        self.quota = quota
        self.space = space
        self.exceeded: str | None = None
        self.closed = False
        self._lock = threading.Lock()
        #: What the call sees: its directory at "/", then its space's read-only views.
        self.views = (View("/", path, True),) + (space.views if space is not None else ())

    def read(self, path: str, limit: int) -> bytes:
        """The bytes of the regular file at the guest's absolute ``path``, as the guest
        would open it: through the view with the longest matching guest path, no
        component a link. NotFound if there is no such file; LimitExceeded past
        ``limit`` bytes (a sparse file may claim far more than the quota holds)."""
        view, parts = self._locate(path)
        try:
            fd = nofollow.open_file(str(view.host), parts)
        except (FileNotFoundError, NotADirectoryError, nofollow.LinkRefused):
            raise NotFound(f"File {path} not found") from None
        except OSError as exc:  # a name too long, ...
            raise NotFound(f"File {path} not found ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > limit:
                raise LimitExceeded(f"File {path} is {describe_bytes(size)}, over the limit "
                                    f"of {describe_bytes(limit)}")
            return file.read(limit + 1)[:limit]

    def _locate(self, path: str) -> tuple[View, list[str]]:
        # normpath of an absolute path never climbs above "/"; "//x" is kept by POSIX rules.
        norm = "/" + posixpath.normpath(path).lstrip("/")
        for view in sorted(self.views, key=lambda v: len(v.guest), reverse=True):
            inside = view.guest.rstrip("/") + "/"
            if norm == view.guest or norm.startswith(inside):
                parts = [p for p in norm[len(inside):].split("/") if p]
                if parts:
                    return view, parts
                break
        raise NotFound(f"File {path} not found")

    def check(self) -> None:
        """Measure the directory; past the quota, note why and empty every file."""
        with self._lock:
            if self.closed:  # the directory may be another call's by now
                return
            used, entries = usage(self.path)
            if self.exceeded is None:
                if used > self.quota:
                    self.exceeded = (f"scratch filesystem quota exceeded: the function wrote "
                                     f"over {describe_bytes(self.quota)} (FAASM_SCRATCH_QUOTA)")
                elif entries > MAX_ENTRIES:
                    self.exceeded = (f"scratch filesystem quota exceeded: over {MAX_ENTRIES} "
                                     "files and directories")
            if self.exceeded is not None:
                _empty(self.path)

    def close(self) -> None:
        """End of call: a final measure, then the directory is emptied for the next call
        (or removed, if it cannot be)."""
        if self.space is not None:
            self.space._closed(self, reusable=False)  # the watchdog leaves it alone now
        self.check()
        with self._lock:
            self.closed = True
        reusable = self.space is not None
        if not _is_clean(self.path):
            try:
                _empty(self.path)
                _restore(self.path)
                reusable = reusable and _is_clean(self.path)
            except OSError:
                reusable = False
        if reusable:
            self.space._closed(self, reusable=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def failure(self) -> LimitExceeded | None:
        return LimitExceeded(f"Call failed: {self.exceeded}") if self.exceeded else None


#: What a clean scratch directory holds: an empty tmp, and an empty etc and lib
#: (only for listings of "/": the read-only /etc and /lib preopens are what
#: /etc/... and /lib/... open).
FIXED = {"tmp": 0o755, "etc": 0o555, "lib": 0o555}


def _is_clean(path: Path) -> bool:
    """Whether ``path`` holds exactly the FIXED directories, each empty (~30 µs)."""
    try:
        with os.scandir(path) as it:
            entries = {e.name: e for e in it}
        if set(entries) != set(FIXED):
            return False
        for entry in entries.values():
            if not entry.is_dir(follow_symlinks=False):
                return False
            with os.scandir(entry.path) as inner:
                if next(inner, None) is not None:
                    return False
        return True
    except OSError:
        return False


def _restore(path: Path) -> None:
    for name, mode in FIXED.items():
        entry = path / name
        if not entry.is_dir() or entry.is_symlink():
            entry.mkdir(mode=mode)


def usage(path: Path) -> tuple[int, int]:
    """Bytes the files take on disk (allocated blocks: a sparse file counts what it
    holds) and the number of entries, directories included."""
    used = entries = 0
    stack = [str(path)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)  # bounded by their number, MAX_ENTRIES
                    else:
                        used += st.st_blocks * 512
        except OSError:
            continue
    return used, entries


def _empty(path: Path) -> None:
    """Truncate every file (open descriptors keep nothing) and remove every entry."""
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            try:
                if not os.path.islink(full):
                    os.truncate(full, 0)
                os.unlink(full)
            except OSError:
                pass
        for name in dirnames:
            try:
                os.rmdir(os.path.join(dirpath, name))
            except OSError:
                pass


def sweep(base: Path) -> None:
    """Remove the scratch roots of processes that no longer run (killed mid-call)."""
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        pid = entry.name.split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's

