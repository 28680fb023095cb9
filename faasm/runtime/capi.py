"""The few wasmtime C-API calls the public wasmtime-py API makes slow.

- Host functions through ``wasmtime_linker_define_func_unchecked``: ~1.6 µs
  per host call instead of ~18 µs through ``Linker.define_func``.
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
