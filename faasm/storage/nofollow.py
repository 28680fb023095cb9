"""Files below a directory, reached without ever following a symlink.

Guests write the shared files directory (WASI may let them make links
there), so any host code that opens a path under it must not trust a
single component of that path. Every operation here starts from a
directory file descriptor and opens one component at a time with
``O_NOFOLLOW`` (``openat``): a symlink anywhere on the way, made before or
during the operation, is refused, never followed. There is no
check-then-use window: the descriptor that was checked is the one used,
new directories are made relative to it, and a write's temp file is
renamed into place through it. docs/SECURITY.md says why.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO a guest made must not hang the host.
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class LinkRefused(OSError):
    """A component of the path is a symlink, or a file where a directory is needed."""


@contextmanager
def directory(base: int | str, parts: list[str], create: bool = False) -> Iterator[int]:
    """A descriptor of the directory ``base/parts...``, closed on exit.

    ``base`` is a trusted directory (a path the operator chose, or an open
    descriptor). With ``create``, missing components are made (mode 0755),
    each relative to its verified parent. Raises FileNotFoundError if a
    component is missing (and not created), LinkRefused if one is a symlink
    or not a directory.
    """
    fd = open_dir(base, parts, create)
    try:
        yield fd
    finally:
        os.close(fd)


def open_dir(base: int | str, parts: list[str], create: bool = False) -> int:
    """As :func:`directory`, but the caller closes the descriptor it returns."""
    if parts and not create and _openat2.works:
        return _beneath(base, parts, _DIR, "a link or not a directory")
    # a descriptor of its own, not a dup: a dup would share the base's offset in a listing
    fd = os.open(base if isinstance(base, str) else ".", _DIR & ~os.O_NOFOLLOW,
                 dir_fd=None if isinstance(base, str) else base)
    for part in parts:
        fd = _step(fd, part, create)  # closes the parent's descriptor, whatever happens
    return fd


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


class _Openat2:
    """``openat2(2)`` (Linux 5.6) with ``RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
    RESOLVE_BENEATH``: a whole path opened in one call, refusing a symlink in any component
    (ELOOP) and any way out of the base (EXDEV), as the one-component-at-a-time walk does.
    ``works`` turns False for good where the kernel (or a seccomp filter) refuses it."""

    SYSCALL = 437  # the same number on every architecture Linux gave it to
    RESOLVE = 0x02 | 0x04 | 0x08

    def __init__(self) -> None:
        self.works = sys.platform == "linux"
        self._syscall = None
        self._how: dict[int, ctypes.Structure] = {}  # by flags: the kernel only reads it

    def __call__(self, base: int, path: str, flags: int) -> int:
        if self._syscall is None:
            syscall = ctypes.CDLL(None, use_errno=True).syscall
            syscall.restype = ctypes.c_long
            # syscall(2) is variadic: every argument declared at its full width
            syscall.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_char_p, ctypes.c_void_p,
                                ctypes.c_size_t)
            self._syscall = syscall
        how = self._how.get(flags)
        if how is None:
            how = self._how[flags] = _OpenHow(flags, 0, self.RESOLVE)
        fd = self._syscall(self.SYSCALL, base, path.encode(), ctypes.addressof(how),
                           ctypes.sizeof(how))
        if fd < 0:
            code = ctypes.get_errno()
            if code in (errno.ENOSYS, errno.EPERM, errno.E2BIG):
                self.works = False
            raise OSError(code, os.strerror(code), path)
        return fd


_openat2 = _Openat2()


def _beneath(base: int | str, parts: list[str], flags: int, refused: str) -> int:
    """``base/parts...`` opened with ``flags`` by :data:`_openat2`; the walk's errors."""
    top = os.open(base, _DIR & ~os.O_NOFOLLOW) if isinstance(base, str) else base
    try:
        return _openat2(top, "/".join(parts), flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK, errno.EXDEV, errno.ENXIO):
            raise LinkRefused(errno.ELOOP, f"{'/'.join(parts)}: {refused}") from None
        if not _openat2.works:  # this kernel has none: the walk, from now on
            return (open_dir if flags == _DIR else _open_file_by_steps)(base, parts)
        raise
    finally:
        if top is not base:
            os.close(top)


def _step(fd: int, part: str, create: bool) -> int:
    """Open ``part`` below ``fd`` as a directory (closing ``fd``)."""
    try:
        for _ in range(2 if create else 0):
            try:
                return os.open(part, _DIR, dir_fd=fd)
            except FileNotFoundError:
                pass
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass  # made meanwhile; the open judges what it is (or it is gone again)
        return os.open(part, _DIR, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise LinkRefused(errno.ELOOP, f"{part} is a link or not a directory") from None
        raise
    finally:
        os.close(fd)


def open_file(base: int | str, parts: list[str]) -> int:
    """A read-only descriptor of the regular file ``base/parts...`` (the caller closes it).

    FileNotFoundError if absent; LinkRefused if any component is a symlink
    or the file is not a regular file (a directory, a FIFO, a device).
    """
    if _openat2.works:
        fd = _beneath(base, parts, _READ, "a link, or not a regular file")
    else:
        fd = _open_file_by_steps(base, parts)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LinkRefused(errno.EISDIR, f"{parts[-1]} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def _open_file_by_steps(base: int | str, parts: list[str]) -> int:
    parent = open_dir(base, parts[:-1])
    try:
        fd = os.open(parts[-1], _READ, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO):
            raise LinkRefused(errno.ELOOP, f"{parts[-1]} is a link") from None
        raise
    finally:
        os.close(parent)
    return fd


def read_file(base: int | str, parts: list[str]) -> bytes:
    fd = open_file(base, parts)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def stat_file(base: int | str, parts: list[str]) -> os.stat_result | None:
    """The file's own stat (a symlink is not followed), or None if nothing is there."""
    try:
        parent = open_dir(base, parts[:-1])
    except (FileNotFoundError, NotADirectoryError, LinkRefused):
        return None
    try:
        return os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    finally:
        os.close(parent)


def write_file(base: int | str, parts: list[str], data: bytes, temp_prefix: str,
               sync: bool = True) -> os.stat_result:
    """Store ``data`` at ``base/parts...`` atomically (temp file, then rename).

    Parents are made as needed. A symlink at the final name is replaced
    (rename never follows it); a directory there is IsADirectoryError.
    Returns the new file's stat.
    """
    with directory(base, parts[:-1], create=True) as parent:
        name = parts[-1]
        replaced = None
        try:
            replaced = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if stat.S_ISDIR(replaced.st_mode):
                raise IsADirectoryError(errno.EISDIR, f"{name} is a directory")
        except FileNotFoundError:
            pass
        tmp = f"{temp_prefix}{secrets.token_hex(8)}"
        fd = os.open(tmp, _CREATE, 0o644, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                st = os.fstat(f.fileno())
                if replaced is not None and st.st_mtime_ns <= replaced.st_mtime_ns:
                    # A version is (inode, mtime, size), and the replaced file's inode number
                    # is often the next temp file's: where the clock is coarse, two uploads
                    # in one tick would share a version. Each write of a key is later.
                    later = replaced.st_mtime_ns + 1
                    os.utime(f.fileno(), ns=(later, later))
                    st = os.fstat(f.fileno())
                if sync:
                    os.fsync(f.fileno())
            os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=parent)
            except FileNotFoundError:
                pass
            raise
        return st


def remove(base: int | str, parts: list[str]) -> None:
    """Unlink the file (or link) at ``base/parts...`` if present; directories stay."""
    try:
        with directory(base, parts[:-1]) as parent:
            if stat.S_ISDIR(os.stat(parts[-1], dir_fd=parent, follow_symlinks=False).st_mode):
                return
            os.unlink(parts[-1], dir_fd=parent)
    except (FileNotFoundError, NotADirectoryError, LinkRefused):
        pass


def remove_tree(base: int | str, parts: list[str]) -> None:
    """Remove the directory ``base/parts...`` and everything in it, following no link."""
    try:
        with directory(base, parts[:-1]) as parent:
            _rmtree_at(parent, parts[-1])
    except (FileNotFoundError, NotADirectoryError, LinkRefused):
        pass


def _rmtree_at(parent: int, name: str) -> None:
    try:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent)
        return
    fd = os.open(name, _DIR, dir_fd=parent)
    try:
        for entry in os.listdir(fd):
            _rmtree_at(fd, entry)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


#: Deepest directory :func:`walk_files` enters (one descriptor is open per level).
MAX_DEPTH = 256


def walk_files(base: int | str, parts: list[str], too_deep=None
               ) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry that is not a directory below ``base/parts...``: (relative path, lstat).

    Symlinks are yielded with their own lstat, never entered, whatever they
    point at: each directory is opened from its parent's descriptor with
    ``O_NOFOLLOW``, so a link swapped in meanwhile is skipped, not followed.
    Directories deeper than :data:`MAX_DEPTH` are not entered: ``too_deep(relative
    path)`` is called for each (it may raise). Callers keep the regular files.
    """
    try:
        top = open_dir(base, parts)
    except (FileNotFoundError, NotADirectoryError, LinkRefused):
        return
    stack = [(top, [], _entries(top))]
    try:
        while stack:
            fd, rel, entries = stack[-1]
            if not entries:
                os.close(fd)
                stack.pop()
                continue
            name, st = entries.pop()
            if not stat.S_ISDIR(st.st_mode):
                yield "/".join(rel + [name]), st
            elif len(stack) > MAX_DEPTH:
                if too_deep is not None:
                    too_deep("/".join(rel + [name]))
            else:
                try:
                    child = os.open(name, _DIR, dir_fd=fd)
                except OSError:
                    continue  # gone, or a link now
                stack.append((child, rel + [name], _entries(child)))
    finally:
        for fd, _, _ in stack:
            os.close(fd)


def _entries(fd: int) -> list[tuple[str, os.stat_result]]:
    """(name, lstat) of each entry of the directory ``fd`` (listed at once, so only
    the directory's own descriptor stays open)."""
    found = []
    with os.scandir(fd) as it:
        for entry in it:
            try:
                found.append((entry.name, entry.stat(follow_symlinks=False)))
            except FileNotFoundError:
                continue
    return found
