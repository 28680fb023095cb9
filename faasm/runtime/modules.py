"""Compiling, precompiling and caching wasm modules.

The upload API compiles each module once to validate it and stores the
serialized machine code beside it (``artifacts/<sha256>-<engine key>``),
signed (:mod:`faasm.storage.artifacts`). Workers keep a per-process cache
keyed by content hash; a storage version check per call (one stat for
local storage) notices re-uploads, so no worker ever runs stale code. An
artifact is loaded only once its signature is verified; one that fails is
never run: the wasm is compiled again.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

import wasmtime

from faasm.errors import BadRequest, CallFailed, NotFound, first_line
from faasm.functions import artifact_key, check_wasm_header, content_hash, wasm_key
from faasm.runtime.compile import default_artifacts
from faasm.runtime.wasmbin import TABLE_EXPORT
from faasm.storage import Storage
from faasm.storage.artifacts import Artifacts

log = logging.getLogger("faasm.runtime.modules")


def compile_module(engine: wasmtime.Engine, data: bytes) -> wasmtime.Module:
    """Compile wasm bytes; BadRequest with wasmtime's reason if they are not valid."""
    check_wasm_header(data)
    try:
        return wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as exc:
        raise BadRequest(f"Invalid wasm: {first_line(exc, 'invalid module')}") from None


@dataclass
class LoadedModule:
    """A module ready to instantiate: compiled, linked, checked."""

    hash: str
    module: wasmtime.Module
    instance_pre: wasmtime.InstancePre
    exports: frozenset
    #: Entry points returning nothing or one i32: how many results (0 or 1).
    results: dict[str, int]
    #: Whether the module can open files (then calls mount the shared files).
    uses_files: bool
    #: Built by an older Faasm toolchain: main dispatches every entry index itself
    #: (it imports __faasm_get_idx and exports no _faasm_func_<n>), and its
    #: __faasm_await_call_output is the (call_id, buf, buf_len) form.
    older_generation: bool = False
    #: Name of the exported function table (chaining by pointer), if any.
    table_export: str | None = None


def _entry_results(exports) -> dict[str, int]:
    """Of the entry points (``_start``, ``_faasm_func_<n>``, the zygote), those taking
    nothing and returning nothing or one i32: how many results each returns."""
    i32 = wasmtime.ValType.i32()
    results = {}
    for export in exports:
        if export.name in ("_start", "_faasm_zygote") or export.name.startswith("_faasm_func_"):
            ty = export.type
            if isinstance(ty, wasmtime.FuncType) and not ty.params and ty.results in ([], [i32]):
                results[export.name] = len(ty.results)
    return results


class ModuleCache:
    """Per-process cache of linked modules, keyed by content hash."""

    def __init__(self, storage: Storage, engine: wasmtime.Engine, engine_key: str, linkers,
                 known_imports, artifacts: Artifacts | None = None):
        """``linkers(uses_files)`` gives the linker for a module that does or does not
        open files (they differ in how stdout is captured); ``artifacts`` verifies
        machine code before it is loaded (default: with the settings' key)."""
        self.storage = storage
        self.artifacts = artifacts or default_artifacts(storage)
        self.engine = engine
        self.engine_key = engine_key
        self.linkers = linkers
        self.known_imports = known_imports  # (module, name) -> bool
        self._by_hash: dict[str, LoadedModule] = {}
        self._by_function: dict[tuple[str, str], tuple[str, LoadedModule]] = {}
        self._lock = threading.Lock()

    def flush(self) -> None:
        with self._lock:
            self._by_hash.clear()
            self._by_function.clear()

    def get(self, user: str, function: str) -> LoadedModule:
        key = wasm_key(user, function)
        version = self.storage.version(key)
        if version is None:
            raise NotFound(f"Function {user}/{function} not found")
        cached = self._by_function.get((user, function))
        if cached is not None and cached[0] == version:
            return cached[1]
        data = self.storage.read(key)
        digest = content_hash(data)
        with self._lock:
            loaded = self._by_hash.get(digest)
            if loaded is None:
                loaded = self._by_hash[digest] = self._load(digest, data)
            self._by_function[(user, function)] = (version, loaded)
        return loaded

    def _load(self, digest: str, data: bytes) -> LoadedModule:
        module = self._artifact(digest)
        if module is None:
            try:
                module = compile_module(self.engine, data)
            except BadRequest as exc:
                raise CallFailed(str(exc)) from None
            key = artifact_key(digest, self.engine_key)
            log.info("Compiled %s from its wasm (no authentic artifact)", key)
            self.artifacts.put(key, bytes(module.serialize()), local=True)
        imports = [(imp.module, imp.name) for imp in module.imports]
        unknown = [f"{mod}.{name}" for mod, name in imports if not self.known_imports(mod, name)]
        if unknown:
            raise CallFailed("Function imports unknown host functions: " + ", ".join(unknown))
        uses_files = ("wasi_snapshot_preview1", "path_open") in imports
        try:
            instance_pre = self.linkers(uses_files).instantiate_pre(module)
        except wasmtime.WasmtimeError as exc:
            raise CallFailed(f"Cannot link function: {first_line(exc)}") from None
        exports = module.exports
        names = frozenset(e.name for e in exports)
        older = (("env", "__faasm_get_idx") in imports
                 and not any(name.startswith("_faasm_func_") for name in names))
        tables = [e.name for e in exports if isinstance(e.type, wasmtime.TableType)]
        table = TABLE_EXPORT if TABLE_EXPORT in tables else (tables[0] if tables else None)
        return LoadedModule(digest, module, instance_pre, names, _entry_results(exports),
                            uses_files, older, table)

    def _artifact(self, digest: str) -> wasmtime.Module | None:
        """The precompiled module, if storage holds one whose signature checks."""
        f = self.artifacts.open(artifact_key(digest, self.engine_key))
        if f is None:
            return None
        with f:
            try:
                if _PROC_FD and hasattr(f, "fileno"):
                    # The very file whose bytes were verified, mapped (shared by the
                    # host's processes) rather than copied.
                    return wasmtime.Module.deserialize_file(self.engine,
                                                            f"/proc/self/fd/{f.fileno()}")
                return wasmtime.Module.deserialize(self.engine, f.read())
            except wasmtime.WasmtimeError:
                return None  # made by another engine build: recompile


_PROC_FD = os.path.isdir("/proc/self/fd")
