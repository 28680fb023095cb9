"""Binding the host interface and WASI into one wasmtime Linker per engine.

Host functions are bound through the C API's unchecked path (see capi.py):
each call decodes the raw i32 parameters, runs the registered Python
implementation with the thread's current CallContext, and stores the result.
An exception becomes a trap; the exception itself is kept on the context, so
the executor reports its reason rather than the trap's.
"""

from __future__ import annotations

import logging

import wasmtime

from faasm.errors import CallFailed, FaasmError, HostCallError
from faasm.runtime.capi import define_unchecked, new_trap
from faasm.runtime.host import HOST_FUNCTIONS, WASI, HostFunction, current

log = logging.getLogger("faasm.runtime.linking")

_TYPES = {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64()}
#: WASI calls that make links, refused in every linker (WASI's errno ``perm``):
#: a link in the shared files could lead host code that follows it anywhere in
#: storage. The storage tier follows no link either; this is the second wall.
REFUSED_WASI = {"path_symlink": 5, "path_link": 7}
WASI_EPERM = 63


def _callback(fn: HostFunction):
    impl, n_params, has_result = fn.impl, len(fn.params), bool(fn.results)
    field = fn.params[0] if fn.params else "i32"  # all Faasm host calls use one type

    def call(values) -> int:
        ctx = current()
        try:
            result = impl(ctx, *[getattr(values[i], field) for i in range(n_params)])
            if has_result:
                setattr(values[0], fn.results[0], result)
            return 0
        except CallFailed as exc:
            ctx.error = exc
        except FaasmError as exc:
            ctx.error = HostCallError(f"{fn.name}: {exc.reason}")
        except Exception as exc:  # a bug of ours: fail the call, keep the worker
            log.exception("host call %s of call %s failed", fn.name, ctx.call.id)
            ctx.error = HostCallError(f"{fn.name} failed: {type(exc).__name__}: {exc}")
        return new_trap(str(ctx.error))

    return call


def build_linker(engine: wasmtime.Engine, override_wasi: bool = True) -> wasmtime.Linker:
    """WASI, with the registered host functions defined beside it.

    With ``override_wasi``, the registered WASI functions (stdio capture)
    replace wasmtime's own; without, wasmtime's WASI is used whole.
    """
    linker = wasi_linker(engine)
    linker.allow_shadowing = True
    for fn in HOST_FUNCTIONS.values():
        if fn.module == WASI and not override_wasi:
            continue
        ty = wasmtime.FuncType([_TYPES[p] for p in fn.params], [_TYPES[r] for r in fn.results])
        define_unchecked(linker, fn.module, fn.name, ty, _callback(fn))
    refuse_links(linker)
    return linker


def refuse_links(linker: wasmtime.Linker) -> None:
    """Shadow WASI's ``path_symlink`` and ``path_link`` with calls that answer EPERM."""
    i32 = _TYPES["i32"]
    for name, n_params in REFUSED_WASI.items():
        linker.define_func(WASI, name, wasmtime.FuncType([i32] * n_params, [i32]),
                           lambda *args: WASI_EPERM)


def wasi_linker(engine: wasmtime.Engine) -> wasmtime.Linker:
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    return linker


def known_import(module: str, name: str) -> bool:
    """Whether the linker defines this import (WASI, or a Faasm host function)."""
    return module == WASI or (module, name) in HOST_FUNCTIONS
