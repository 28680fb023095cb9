"""A wasm call's own filesystem: a scratch directory seen as ``/``, and read-only ``/etc``.

Each call of a module that opens files gets a fresh, empty directory under
``<data dir>/scratch/<pid>-<random>/``, preopened as the guest's ``/`` (so its
working directory, ``/tmp`` and ``$HOME`` are in it), and the process's
``etc`` directory of /etc basics preopened read-only at ``/etc``. The
scratch directory is removed when the call ends, whatever the outcome; one
left by a process that was killed (a timeout in ``kill`` mode) is removed by
the next worker process that starts on the host.

Nothing there reaches another call: wasmtime resolves every path inside its
preopen (``..`` and absolute paths stop at the scratch root), links cannot be
made (``path_symlink``/``path_link`` answer EPERM, see linking.py), and each
call's directory is new. Size is bounded by FAASM_SCRATCH_QUOTA: a watchdog
thread measures the directory every TICK seconds; past the quota the call is
failed and the files are truncated at every tick until it ends, so the disk
holds at most the quota plus what a guest writes in one tick.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from pathlib import Path

from faasm.errors import LimitExceeded
from faasm.runtime.environment import ETC_FILES
from faasm.runtime.limits import describe_bytes

#: Seconds between two measures of a call's scratch directory.
TICK = 0.02
#: Most files and directories a call's scratch may hold.
MAX_ENTRIES = 10_000


class ScratchSpace:
    """This process's scratch root: one directory per call in flight."""

    def __init__(self, base: Path, quota: int):
        self.base = Path(base)
        self.quota = quota
        self.root = self.base / f"{os.getpid()}-{secrets.token_hex(4)}"
        self.etc = self.root / "etc"
        self._made = False
        self._count = 0

    def _prepare(self) -> None:
        if self._made and self.root.is_dir():
            return
        self.base.mkdir(parents=True, exist_ok=True)
        sweep(self.base)
        self.etc.mkdir(parents=True, exist_ok=True)
        for name, data in ETC_FILES.items():
            (self.etc / name).write_bytes(data)
        self._made = True

    def open(self, call_id: int) -> CallScratch:
        self._prepare()
        self._count += 1
        path = self.root / f"call-{call_id}-{self._count}"
        path.mkdir()
        (path / "tmp").mkdir()
        # Only for listings of "/": the read-only /etc preopen is what /etc/... opens.
        (path / "etc").mkdir(mode=0o555)
        return CallScratch(path, self.quota)


class CallScratch:
    """One call's scratch directory and the watchdog that keeps it within the quota."""

    def __init__(self, path: Path, quota: int):
        self.path = path
        self.quota = quota
        self.exceeded: str | None = None
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="faasm-scratch", daemon=True)
        self._watchdog.start()

    def _watch(self) -> None:
        while not self._stop.wait(TICK):
            self.check()

    def check(self) -> None:
        """Measure the directory; past the quota, note why and empty every file."""
        used, entries = usage(self.path)
        if self.exceeded is None:
            if used > self.quota:
                self.exceeded = (f"scratch filesystem quota exceeded: the function wrote over "
                                 f"{describe_bytes(self.quota)} (FAASM_SCRATCH_QUOTA)")
            elif entries > MAX_ENTRIES:
                self.exceeded = (f"scratch filesystem quota exceeded: over {MAX_ENTRIES} "
                                 "files and directories")
        if self.exceeded is not None:
            _empty(self.path)

    def close(self) -> None:
        """Stop the watchdog and remove the directory."""
        self._stop.set()
        self._watchdog.join()
        if self.exceeded is None:
            self.check()  # what was written since the last tick
        shutil.rmtree(self.path, ignore_errors=True)

    def failure(self) -> LimitExceeded | None:
        return LimitExceeded(f"Call failed: {self.exceeded}") if self.exceeded else None


def usage(path: Path) -> tuple[int, int]:
    """Bytes on disk (allocated blocks: a sparse file counts what it holds) and entries."""
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
                    used += st.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue
    return used, entries


def _empty(path: Path) -> None:
    """Truncate every file (open descriptors keep nothing) and remove the entries."""
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for name in filenames:
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

