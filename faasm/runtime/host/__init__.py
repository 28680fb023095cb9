"""The Faasm host interface: functions a guest imports from module ``env``.

Each host function is a plain Python function ``impl(ctx, *args)`` registered
with :func:`host_function` under its Faasm name and wasm signature. ``ctx`` is
the :class:`CallContext` of the call running on this thread; it gives bounds-
checked access to guest memory. How the registry is bound to wasmtime lives in
:mod:`faasm.runtime.linking`, so the implementations stay binding-agnostic.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from dataclasses import dataclass

import wasmtime

from faasm.calls import Call
from faasm.errors import HostCallError
from faasm.runtime.capi import GuestMemory


@dataclass(frozen=True)
class HostFunction:
    module: str
    name: str
    params: tuple[str, ...]
    results: tuple[str, ...]
    impl: Callable


#: Every host function, by (import module, import name).
HOST_FUNCTIONS: dict[tuple[str, str], HostFunction] = {}

WASI = "wasi_snapshot_preview1"


def host_function(name: str, params: str = "", results: str = "", module: str = "env"):
    """Register ``impl`` as ``<module>.<name>``; signatures are space-separated wasm types.

    Functions registered under the WASI module replace wasmtime's own.
    """

    def register(impl: Callable) -> Callable:
        HOST_FUNCTIONS[(module, name)] = HostFunction(module, name, tuple(params.split()),
                                                      tuple(results.split()), impl)
        return impl

    return register


class CallContext:
    """What host functions of one running call can see and change."""

    #: Longest NUL-terminated string a host function will read from the guest.
    MAX_STRING = 64 * 1024

    def __init__(self, call: Call, *, output_limit: int, deadline: float,
                 conf_flags: frozenset = frozenset(), services=None):
        self.call = call
        self.output = b""
        self.output_limit = output_limit
        self.output_truncated = False
        #: time.monotonic() by which the call must end (for blocking host calls).
        self.deadline = deadline
        self.conf_flags = conf_flags
        #: Platform services (state, chaining, files): a faasm.runtime.services.Services.
        self.services = services
        self.store = None
        self.memory = None  # the instance's wasmtime.Memory, set by the executor
        self._guest_memory = None
        self.exports = None
        #: Calls this call chained, by ID (so awaiting one can run it inline).
        self.children: dict[int, Call] = {}
        #: State values placed in guest memory by the *_ptr calls: key -> (ptr, size).
        self.mapped: dict[str, tuple[int, int]] = {}
        self._state = None
        #: The failure a host call raised (it reaches the guest as a trap).
        self.error: Exception | None = None
        #: The guest's stdout and stderr captures (set by the executor).
        self.stdout = self.stderr = None
        #: The module is of an older Faasm generation (LoadedModule.older_generation).
        self.older_generation = False
        #: The call's own filesystem (a faasm.runtime.scratch.CallScratch), or None when
        #: its module opens no files.
        self.scratch = None

    @property
    def state(self):
        """This call's local state tier, made on first use."""
        if self._state is None:
            if self.services is None:
                raise HostCallError("state is not available here")
            from faasm.state import CallState

            self._state = CallState(self.services.state, self.call.user, self.deadline,
                                    tier=self.services.local_state)
        return self._state

    def close(self) -> None:
        """End of call: keep what the guest wrote through state pointers in the host's
        local copies, then release what the call still holds (global locks, copies)."""
        if self._state is None:
            return
        try:
            for key, (ptr, size) in self.mapped.items():
                local = self._state.values.get(key)
                if local is None:
                    continue
                try:
                    seen = self.read(ptr, size, "state pointer")
                except HostCallError:
                    continue  # the guest's memory is gone: nothing to keep
                if seen != local.data[:size]:
                    local.data[:size] = seen
                    local.modified = True
        finally:
            self._state.release()

    # -- guest memory -------------------------------------------------------
    def _located(self) -> GuestMemory:
        if self._guest_memory is None or self._guest_memory.memory is not self.memory:
            if self.memory is None:
                raise HostCallError("the function exports no memory")
            self._guest_memory = GuestMemory(self.store, self.memory)
        return self._guest_memory

    def _span(self, ptr: int, length: int, what: str) -> int:
        """The host address of guest [ptr, ptr+length), or HostCallError if out of bounds."""
        if self.memory is None:
            raise HostCallError(f"{what}: the function exports no memory")
        memory = self._located()
        size = memory.size()
        ptr &= 0xFFFFFFFF
        if length < 0 or ptr + length > size:
            raise HostCallError(
                f"{what}: pointer {ptr} + length {length} is outside guest memory ({size} bytes)")
        return memory.base() + ptr

    def check(self, ptr: int, length: int, what: str) -> None:
        """HostCallError unless guest [ptr, ptr+length) is inside memory (0 length is fine)."""
        length &= 0xFFFFFFFF
        if length:
            self._span(ptr, length, what)

    def read(self, ptr: int, length: int, what: str = "read") -> bytes:
        length &= 0xFFFFFFFF
        if length == 0:
            return b""
        return ctypes.string_at(self._span(ptr, length, what), length)

    def write(self, ptr: int, data: bytes, what: str = "write") -> None:
        if data:
            ctypes.memmove(self._span(ptr, len(data), what), data, len(data))

    def read_string(self, ptr: int, what: str = "string") -> str:
        """A NUL-terminated UTF-8 string from guest memory."""
        size = self._located().size() if self.memory is not None else 0
        ptr &= 0xFFFFFFFF
        available = min(size - ptr, self.MAX_STRING) if ptr < size else 0
        raw = self.read(ptr, available, what) if available > 0 else b""
        end = raw.find(b"\x00")
        if end < 0:
            raise HostCallError(f"{what}: no NUL-terminated string at pointer {ptr}")
        try:
            return raw[:end].decode("utf-8")
        except UnicodeDecodeError:
            raise HostCallError(f"{what}: string at pointer {ptr} is not UTF-8") from None

    def place(self, data: bytes, what: str) -> int:
        """Copy ``data`` into fresh guest memory and return its address.

        Uses the module's exported ``malloc`` when it has one; otherwise grows
        linear memory and uses the new pages (wasi-libc's allocator copes with
        memory grown behind its back). The copy lives as long as the call.
        """
        size = max(len(data), 1)
        malloc = self.exports.get("malloc") if self.exports is not None else None
        if isinstance(malloc, wasmtime.Func):
            ptr = malloc(self.store, size)
            if not ptr:
                raise HostCallError(f"{what}: the function's malloc({size}) returned NULL")
        else:
            if self.memory is None:
                raise HostCallError(f"{what}: the function exports no memory")
            pages = -(-size // 65536)
            try:
                ptr = self.memory.grow(self.store, pages) * 65536
            except wasmtime.WasmtimeError:
                raise HostCallError(f"{what}: cannot grow memory by {pages} pages "
                                    "(memory limit reached)") from None
        self.write(ptr, data, what)
        return ptr

    def set_output(self, data: bytes) -> None:
        if len(data) > self.output_limit:
            self.output_truncated = True
            data = data[: self.output_limit]
        else:
            self.output_truncated = False
        self.output = data


_local = threading.local()


def current() -> CallContext:
    """The context of the call running on this thread."""
    return _local.stack[-1]


def push(ctx: CallContext) -> None:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(ctx)


def pop() -> None:
    _local.stack.pop()


# Register the built-in host functions.
from faasm.runtime.host import chain, debug, io, s3, shared_mem, state, stdio  # noqa: E402,F401
