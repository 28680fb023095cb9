"""The few wasmtime C-API calls the public wasmtime-py API makes slow.

- Host functions through ``wasmtime_linker_define_func_unchecked``: ~1.6 µs
  per host call instead of ~18 µs through ``Linker.define_func``.
- The pooling instance allocator (wasmtime-py exposes no setter for it):
  instances take pre-reserved memory slots that are reused, instead of an
  mmap and munmap of a 4 GiB reservation per call.
- Where a guest's memory is, in two plain calls per host-call access.
- An instance's exports looked up by name when asked: wasmtime-py's
  ``Instance.exports`` wraps every export of every new instance.
- A guest's entry point called with no per-call type query (wasmtime-py's
  ``Func.__call__`` asks wasmtime for the function's type every time).
- A guest's environment and argv from arrays built once, not per call.
- A guest's stdout/stderr written straight to a file descriptor by libc's
  ``write`` (its ABI matches WASI's custom-output callback when the callback
  data is the fd): no Python and no GIL per guest write.

A private ctypes handle on wasmtime's own shared library is used, so the
prototypes declared here never disturb wasmtime-py's.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
from ctypes import CFUNCTYPE, POINTER, c_char_p, c_size_t, c_ssize_t, c_void_p

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._extern import wrap_extern

_lib = ctypes.CDLL(ffi.dll._name)
_libc = ctypes.CDLL(None, use_errno=True)


def _proto(name: str, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


OUTPUT_CALLBACK = CFUNCTYPE(c_ssize_t, c_void_p, c_void_p, c_size_t)
FINALIZER = CFUNCTYPE(None, c_void_p)
UNCHECKED_CALLBACK = CFUNCTYPE(c_size_t, c_void_p, c_void_p,
                               POINTER(ffi.wasmtime_val_raw), c_size_t)

_set_stdout = _proto("wasi_config_set_stdout_custom", None, c_void_p, OUTPUT_CALLBACK,
                     c_void_p, FINALIZER)
_set_stderr = _proto("wasi_config_set_stderr_custom", None, c_void_p, OUTPUT_CALLBACK,
                     c_void_p, FINALIZER)
_define_unchecked = _proto("wasmtime_linker_define_func_unchecked", c_void_p, c_void_p,
                           c_char_p, c_size_t, c_char_p, c_size_t, c_void_p,
                           UNCHECKED_CALLBACK, c_void_p, FINALIZER)
_trap_new = _proto("wasmtime_trap_new", c_void_p, c_char_p, c_size_t)
_error_message = _proto("wasmtime_error_message", None, c_void_p, c_void_p)
_byte_vec_delete = _proto("wasm_byte_vec_delete", None, c_void_p)
_memory_data = _proto("wasmtime_memory_data", c_void_p, c_void_p, c_void_p)
_memory_data_size = _proto("wasmtime_memory_data_size", c_size_t, c_void_p, c_void_p)

_NO_FINALIZER = FINALIZER()
_LIBC_WRITE = OUTPUT_CALLBACK(ctypes.cast(_libc.write, c_void_p).value)
#: ctypes callbacks must outlive the linkers that call them.
_KEEP_ALIVE: list = []


def new_trap(message: str) -> int:
    """A wasm trap, owned by whoever it is returned to."""
    raw = message.encode("utf-8", "replace")
    return _trap_new(raw, len(raw))


def define_unchecked(linker: wasmtime.Linker, module: str, name: str, ty: wasmtime.FuncType,
                     callback) -> None:
    """Define ``module.name`` as ``callback(values)`` over the raw value array.

    ``values`` holds the parameters on entry and takes the results. The
    callback returns 0, or a trap from :func:`new_trap` to stop the guest.
    """
    def trampoline(env, caller, values, count):
        return callback(values)

    c_callback = UNCHECKED_CALLBACK(trampoline)
    _KEEP_ALIVE.append(c_callback)
    m, n = module.encode(), name.encode()
    error = _define_unchecked(ctypes.cast(linker.ptr(), c_void_p), m, len(m), n, len(n),
                              ctypes.cast(ty.ptr(), c_void_p), c_callback, None, _NO_FINALIZER)
    if error:
        vec = ffi.wasm_byte_vec_t()
        _error_message(error, ctypes.byref(vec))
        message = ctypes.string_at(vec.data, vec.size).decode("utf-8", "replace")
        _byte_vec_delete(ctypes.byref(vec))
        raise wasmtime.WasmtimeError(message)


class Exports:
    """The exports of one instance, each looked up when first asked for."""

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance):
        self._store = store
        self._instance = instance
        self._found: dict[str, object] = {}

    def get(self, name: str, default=None):
        if name not in self._found:
            item = ffi.wasmtime_extern_t()
            raw = name.encode()
            found = ffi.wasmtime_instance_export_get(
                self._store._context(), ctypes.byref(self._instance._instance), raw, len(raw),
                ctypes.byref(item))
            self._found[name] = wrap_extern(item) if found else None
        value = self._found[name]
        return default if value is None else value

    def __getitem__(self, name: str):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value


def call_entry(store: wasmtime.Store, func: wasmtime.Func, results: int) -> int | None:
    """Call a guest function that takes no parameters and returns ``results``
    (0 or 1) i32 values; raises wasmtime's Trap, ExitTrap or WasmtimeError."""
    out = (ffi.wasmtime_val_t * results)()
    trap = POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call(store._context(), ctypes.byref(func._func), None, 0,
                                   out, results, ctypes.byref(trap))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)
    return out[0].of.i32 if results else None


class GuestMemory:
    """Where an instance's linear memory is now: a ``memory.grow`` may move it,
    so its address and size are read at each access."""

    def __init__(self, store: wasmtime.Store, memory: wasmtime.Memory):
        self.store, self.memory = store, memory  # own what the addresses below point to
        self._at = (ctypes.cast(store._context(), c_void_p).value,
                    ctypes.addressof(memory._memory))

    def size(self) -> int:
        return _memory_data_size(*self._at)

    def base(self) -> int:
        return _memory_data(*self._at)


#: Exhausting the pool fails an instantiation with wasmtime's words containing this.
POOL_EXHAUSTED = "maximum concurrent limit"
#: Per pool slot: tables an instance may have, and elements a table may hold
#: (wasmtime's pool defaults, 1 and 20,000, would refuse modules that run
#: without the pool), and room for an instance's own data (globals, ...).
POOL_TABLES, POOL_TABLE_ELEMENTS, POOL_INSTANCE_SIZE = 4, 10_000_000, 16 << 20
#: Address space one slot reserves: its memory (4 GiB + guard pages), its
#: tables (8 bytes per element) and its instance data.
POOL_SLOT_BYTES = (4 << 30) + (64 << 20) + POOL_TABLES * POOL_TABLE_ELEMENTS * 8 \
    + POOL_INSTANCE_SIZE


def use_instance_pool(config: wasmtime.Config, slots: int) -> None:
    """Allocate instances of ``config``'s engine from a pool of ``slots`` reused slots.

    Each slot holds one instance, its memory (up to 4 GiB, wasm32's whole
    space, so no module is refused for its memory size: a call's own memory
    limit is the store's) and up to POOL_TABLES tables. Slots are address
    space reserved once (POOL_SLOT_BYTES each), not memory: the pages a call
    touched are given back when its slot is freed. Modules with more than
    one memory (multi-memory) do not fit a slot.
    """
    pool = ffi.wasmtime_pooling_allocation_config_new()
    try:
        for name, value in (("total_core_instances", slots), ("total_memories", slots),
                            ("total_tables", slots * POOL_TABLES),
                            ("max_tables_per_module", POOL_TABLES),
                            ("table_elements", POOL_TABLE_ELEMENTS),
                            ("max_core_instance_size", POOL_INSTANCE_SIZE),
                            ("max_memory_size", 4 << 30)):
            getattr(ffi, f"wasmtime_pooling_allocation_config_{name}_set")(pool, value)
        ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)
    finally:
        ffi.wasmtime_pooling_allocation_config_delete(pool)


class CStringArray:
    """Strings as a C ``char**``, built once: wasmtime copies them at each use, so one
    array serves every call (wasmtime-py's setters rebuild theirs, ~9 µs a call)."""

    def __init__(self, strings: list[str]):
        self.count = len(strings)
        self._encoded = [s.encode("utf-8") for s in strings]  # owned for the array's life
        self.array = (c_char_p * max(self.count, 1))(*self._encoded)
        self.pointer = ctypes.cast(self.array, POINTER(POINTER(ctypes.c_char)))


def set_env(wasi: wasmtime.WasiConfig, names: CStringArray, values: CStringArray) -> None:
    """The guest's environment variables, from arrays built once."""
    if not ffi.wasi_config_set_env(wasi.ptr(), names.count, names.pointer, values.pointer):
        raise wasmtime.WasmtimeError("failed to configure the environment")


def set_argv(wasi: wasmtime.WasiConfig, argv: CStringArray) -> None:
    """The guest's argv, from an array built once."""
    if not ffi.wasi_config_set_argv(wasi.ptr(), argv.count, argv.pointer):
        raise wasmtime.WasmtimeError("failed to configure argv")


def write_output_to(wasi: wasmtime.WasiConfig, stdout_fd: int, stderr_fd: int) -> None:
    """Send the guest's stdout/stderr to these descriptors through libc ``write``."""
    config = ctypes.cast(wasi.ptr(), c_void_p)
    _set_stdout(config, _LIBC_WRITE, stdout_fd, _NO_FINALIZER)
    _set_stderr(config, _LIBC_WRITE, stderr_fd, _NO_FINALIZER)


class BoundedCapture:
    """A memfd that holds at most ``limit`` bytes of one stream, reused call after call.

    The file is sized ``limit`` + one page and sealed against growing, so the
    kernel refuses writes past its end: a flooding guest can never use more
    than that much memory. The descriptor's offset counts what was written.
    """

    MARKER = b"\n[truncated: %d byte limit]\n"

    def __init__(self, name: str, limit: int):
        self.limit = limit
        self.fd = os.memfd_create(f"faasm-{name}", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(self.fd, limit + 4096)
        fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS,
                    fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)

    def reset(self) -> None:
        os.lseek(self.fd, 0, os.SEEK_SET)

    def take(self, limit: int | None = None) -> bytes:
        """What was written (at most ``limit`` bytes, then a truncation marker)."""
        limit = self.limit if limit is None else min(limit, self.limit)
        written = os.lseek(self.fd, 0, os.SEEK_CUR)
        if written <= limit:
            return os.pread(self.fd, written, 0)
        return os.pread(self.fd, limit, 0) + self.MARKER % limit

    def close(self) -> None:
        os.close(self.fd)
