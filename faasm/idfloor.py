"""A floor above every call ID ever issued, kept in a file outside Redis.

Call IDs come from a Redis counter; a Redis that loses data (a crash before
its last fsync, a restore from an old snapshot, a new empty server) would
count again from a lower number and issue an ID twice. The floor is raised in
blocks before the IDs of a block are issued, so after any restart the counter
continues from the floor (docs/HARDENING.md, "Call IDs").
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

#: IDs reserved per raise: one file write (fsync) per this many calls.
BLOCK = 10_000


class IdFloor:
    """The floor file: a decimal number; every ID issued is below it."""

    def __init__(self, path: Path, block: int = BLOCK):
        self.path = Path(path)
        self.block = block

    def read(self) -> int:
        try:
            return int(self.path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock over raising the floor (every process on the host)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def raise_above(self, value: int) -> tuple[int, int]:
        """Write max(floor, ``value``) + a block, durably; (old floor, new floor).

        Call it holding :meth:`locked`, so that the floor only ever rises.
        """
        old = self.read()
        new = max(old, value) + self.block
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as out:
            out.write(f"{new}\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return old, new
