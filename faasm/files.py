"""Shared files: blobs under ``shared/`` in storage, seen by functions at ``faasm://``."""

from __future__ import annotations

import os
import shutil
import stat
import weakref
from pathlib import Path
from typing import Self

from faasm.errors import LimitExceeded, NotFound, TooLarge
from faasm.names import shared_path
from faasm.storage import SHARED_PREFIX, Storage
from faasm.storage.mirror import FileStat, Mirror, process_dir


def shared_key(path: str) -> str:
    return SHARED_PREFIX + shared_path(path)


def quota_owner(rel: str) -> str:
    """Whose quota a shared file counts against: its first path component (the
    user, with auth on); files at the top level count together, as ``""``."""
    first, sep, _ = rel.partition("/")
    return first if sep else ""


def _over_quota(owner: str, used: int, quota: int) -> str:
    whose = f"{owner}/" if owner else "the top level"
    return (f"Shared files under {whose} would use {used} bytes, over the {quota} byte "
            "quota (FAASM_SHARED_FILE_QUOTA)")


class SharedFiles:
    def __init__(self, storage: Storage, quota: int | None = None):
        """``quota``: bytes of shared files each owner (:func:`quota_owner`) may keep."""
        self.storage = storage
        self.quota = quota

    def put(self, path: str | None, data: bytes) -> None:
        rel = shared_path(path)
        if self.quota is not None:
            owner = quota_owner(rel)
            used = self.usage(owner) - (self.storage.size(SHARED_PREFIX + rel) or 0)
            if used + len(data) > self.quota:
                raise TooLarge(_over_quota(owner, used + len(data), self.quota))
        self.storage.write(SHARED_PREFIX + rel, data)

    def usage(self, owner: str) -> int:
        """Bytes of the shared files counted against ``owner``'s quota."""
        if owner:
            return self.storage.usage(f"{SHARED_PREFIX}{owner}/")
        return self.storage.usage(SHARED_PREFIX, recursive=False)

    def get(self, path: str | None) -> bytes:
        key = shared_key(path)
        try:
            return self.storage.read(key)
        except NotFound:
            raise NotFound(f"Shared file {key[len(SHARED_PREFIX):]} not found") from None


class SharedMount:
    """The shared files of one call: a local directory to preopen at ``faasm://``.

    Use it as ``mount = files.mount()`` before the call, ``mount.commit()``
    once the call succeeded, and ``mount.close()`` always (or ``with``, which
    closes). With local storage the directory IS the storage (writes land at
    once, whatever the call's outcome) and commit does nothing. With remote
    storage it is this process's mirror (:mod:`faasm.storage.mirror`), and
    only a call that succeeds writes its changes back, at commit.

    A runtime that sees the guest's file calls may mount with ``touched_later``
    and call :meth:`touch` before the first one that reaches the mount: with local
    storage, a call that never touches it costs no measure of its owner's files.
    """

    def __init__(self, path: Path, mirror: Mirror | None = None, quota_check=None):
        self.path = path
        self._mirror = mirror
        self._before = mirror.begin() if mirror is not None else None
        self._quota_check = quota_check

    def touch(self) -> None:
        """The guest is about to reach the mount (with ``touched_later``: before its first
        file call there, which may change files)."""
        begin = getattr(self._quota_check, "begin", None)
        if begin is not None:
            begin()

    def commit(self) -> None:
        """End a successful call: LimitExceeded if its files put an owner over quota
        (then, with remote storage, nothing is written back)."""
        if self._mirror is not None and self._before is not None:
            self._mirror.commit(self._before, self._quota_check)
            self._before = None
        elif self._quota_check is not None:
            self._quota_check(None, None)

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.end()
            self._mirror = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _LocalQuota:
    """With local storage a guest writes storage itself: the caller's own files are
    measured before and after the call, which fails if it grew them past the quota (a
    guest's writes elsewhere are not measured: docs/SECURITY.md). The first measure is
    taken at :meth:`begin`; a call that never began changed nothing, and is not measured."""

    def __init__(self, files: SharedFiles, user: str, quota: int):
        self.files, self.user, self.quota = files, user, quota
        self.before: int | None = None

    def begin(self) -> None:
        if self.before is None:
            try:
                self.before = self.files.usage(self.user)
            except TooLarge:  # unmeasurable (too deep): the call may only end within quota
                self.before = 0

    def __call__(self, after, changed) -> None:
        if self.before is None:
            return
        try:
            used = self.files.usage(self.user)
        except TooLarge as exc:
            raise LimitExceeded(exc.reason) from None
        if used > self.quota and used > self.before:
            raise LimitExceeded(_over_quota(self.user, used, self.quota))


#: Each process's mirror of each remote storage (re-made in a forked child).
_mirrors: weakref.WeakKeyDictionary[Storage, tuple[int, Mirror]] = weakref.WeakKeyDictionary()


class CallFiles:
    """Shared files as running calls see them (``faasm://<path>``)."""

    def __init__(self, storage: Storage, mirror_root: Path | None = None,
                 quota: int | None = None):
        """``mirror_root``: where this process mirrors remote shared files
        (default ``<remote storage's cache dir>/mirrors``); ``quota``: bytes of shared
        files each owner may keep (checked when a call ends)."""
        self.storage = storage
        self.mirror_root = mirror_root
        self.quota = quota
        self._host_dir: Path | None = None

    def host_dir(self) -> Path | None:
        """The local directory mounted at ``faasm://``, or None if storage is remote. Made
        (and its path checked for links) once: guests write below it, never it."""
        if self.storage.is_remote:
            return None
        known = self._host_dir
        if known is None or not _is_real_dir(known):
            known = self._host_dir = self.storage.local_dir(SHARED_PREFIX)
        return known

    def mount(self, user: str | None = None, touched_later: bool = False) -> SharedMount:
        """The shared files for a call of ``user`` about to run (see :class:`SharedMount`);
        ``touched_later``: the caller calls :meth:`SharedMount.touch` before the guest's
        first file call that may reach them."""
        local = self.host_dir()
        if local is not None:
            if self.quota is None or user is None:
                return SharedMount(local)
            quota = _LocalQuota(SharedFiles(self.storage), user, self.quota)
            if not touched_later:
                quota.begin()
            return SharedMount(local, quota_check=quota)
        mirror = self._mirror()
        return SharedMount(mirror.dir, mirror, self._mirror_quota())

    def _mirror_quota(self):
        """With remote storage, the owners of every file the call changed are measured
        in the mirror before anything is written back."""
        if self.quota is None:
            return None

        def check(after: dict[str, FileStat], changed: set[str]) -> None:
            used: dict[str, int] = {}
            for rel, st in after.items():
                owner = quota_owner(rel)
                used[owner] = used.get(owner, 0) + st[1]
            for owner in {quota_owner(rel) for rel in changed}:
                if used.get(owner, 0) > self.quota:
                    raise LimitExceeded(_over_quota(owner, used[owner], self.quota))

        return check

    def _mirror(self) -> Mirror:
        entry = _mirrors.get(self.storage)
        if entry is None or entry[0] != os.getpid():
            root = self.mirror_root or Path(self.storage.cache_dir) / "mirrors"
            entry = _mirrors[self.storage] = (
                os.getpid(), Mirror(self.storage, SHARED_PREFIX, process_dir(root) / "shared"))
        return entry[1]

    def flush(self) -> None:
        """Drop this process's copy of remote shared files (fetched again when next used)."""
        entry = _mirrors.pop(self.storage, None)
        if entry is not None and entry[0] == os.getpid():
            shutil.rmtree(entry[1].dir, ignore_errors=True)

    def read_for_call(self, path: str) -> bytes:
        """A shared file's bytes as the running call sees them (its own writes included)."""
        if self.storage.is_remote:
            entry = _mirrors.get(self.storage)
            if entry is not None and entry[0] == os.getpid():
                local = entry[1].open_local(shared_path(path))
                if local is not None:
                    with local:
                        return local.read()
        return SharedFiles(self.storage).get(path)


def _is_real_dir(path: Path) -> bool:
    """A directory, not a link to one (one ``lstat``)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
