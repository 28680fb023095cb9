"""Binding the host interface and WASI into one wasmtime Linker per engine."""

from __future__ import annotations

import wasmtime

from faasm.runtime.host import HOST_FUNCTIONS, current

WASI_MODULES = ("wasi_snapshot_preview1",)
_TYPES = {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64()}


def _bind(impl):
    def call(*args):
        return impl(current(), *args)

    return call


def build_linker(engine: wasmtime.Engine) -> wasmtime.Linker:
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    for fn in HOST_FUNCTIONS.values():
        ty = wasmtime.FuncType([_TYPES[p] for p in fn.params], [_TYPES[r] for r in fn.results])
        linker.define_func("env", fn.name, ty, _bind(fn.impl))
    return linker


def known_import(module: str, name: str) -> bool:
    """Whether the linker defines this import (WASI, or a Faasm host function)."""
    if module in WASI_MODULES:
        return True
    return module == "env" and name in HOST_FUNCTIONS
