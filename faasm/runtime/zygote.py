"""Zygotes: a function's ``_faasm_zygote`` run once per worker process, every later call
then starting from a module whose memory is what the zygote left.

Faasm runs a module's zygote once, snapshots the instance, and restores that
snapshot for each call. Here the first call of a module in a worker process
runs the zygote in its own fresh instance, before its entry. The memory the
zygote leaves (its globals, its heap, the pages it grew) is then written as
the data of a new module (:func:`faasm.runtime.wasmimage.preinitialised`),
compiled once, and every later call instantiates that module instead:
wasmtime maps its memory copy-on-write from the module's image, so a call
costs the same whatever the zygote filled, and never sees another call's
writes (docs/SNAPSHOTS.md). Only memory is carried over: the module's mutable
wasm globals are its stack pointer, which the zygote leaves where it found
it, and host-side state (open files, stdout) is each call's.

Running the zygote inside a real call's instance means the C library set-up
it triggers (the table of preopened directories, the environment) is made
with a call's own WASI configuration, which every call of the function
shares, so the image is valid for all of them.

The zygote sees an empty input and cannot set the output (main does); its
other host calls act as the call's (it may read state, for example). A
zygote returning non-zero, trapping or exiting non-zero fails the call, and
is tried again by the next call. A module whose image cannot be made (a shape
the rewriter does not handle) runs its zygote in every call, as does one
whose image is bigger than the whole budget.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import wasmtime

from faasm.errors import CallFailed, first_line
from faasm.runtime import host
from faasm.runtime.capi import call_entry
from faasm.runtime.wasmimage import NotImageable, data_segments, preinitialised

logger = logging.getLogger("faasm.runtime")

ZYGOTE_EXPORT = "_faasm_zygote"
PAGE = 65536
#: Bytes of zygote images (their non-zero memory) a worker process keeps, all modules
#: together. Past it the oldest are dropped (their zygote runs again on the module's
#: next call); an image bigger than all of it is not kept, so its zygote runs every call.
SNAPSHOT_BUDGET = 256 * 1024 * 1024


@dataclass(frozen=True)
class Snapshot:
    """A module rewritten to start where its zygote left it, ready to instantiate."""

    pages: int
    #: Bytes of non-zero memory in its image.
    size: int
    instance_pre: wasmtime.InstancePre


#: Builds the InstancePre of a rewritten module: (the loaded module, its new wasm bytes).
MakeInstancePre = Callable[[object, bytes], wasmtime.InstancePre]
#: The wasm bytes of a loaded module, or None if storage no longer holds them.
ReadWasm = Callable[[object, host.CallContext], "bytes | None"]


class Zygotes:
    """This process's zygote images, by module content hash."""

    def __init__(self, make_instance_pre: MakeInstancePre, read_wasm: ReadWasm,
                 budget: int = SNAPSHOT_BUDGET):
        self.make_instance_pre = make_instance_pre
        self.read_wasm = read_wasm
        self.budget = budget
        #: Images by module hash, oldest first.
        self._snapshots: dict[str, Snapshot] = {}
        self._running: set[str] = set()
        self._refused: set[str] = set()

    def flush(self) -> None:
        self._snapshots.clear()

    def instance_pre(self, loaded) -> wasmtime.InstancePre | None:
        """The InstancePre of ``loaded`` rewritten to start after its zygote, if this
        process has made it."""
        snapshot = self._snapshots.get(loaded.hash)
        return None if snapshot is None else snapshot.instance_pre

    def prepare(self, loaded, ctx: host.CallContext) -> None:
        """Run the zygote in the call's fresh instance (``ctx.store``, ``ctx.memory``), and
        keep an image of the memory it leaves for the module's later calls."""
        if loaded.hash in self._running:
            raise CallFailed(f"Zygote of {ctx.call.name} called its own function")
        self._running.add(loaded.hash)
        try:
            self._run(loaded, ctx)
        finally:
            self._running.discard(loaded.hash)
        if loaded.hash in self._refused:
            return
        memory = ctx.memory.read(ctx.store, 0, ctx.memory.data_len(ctx.store))
        size = sum(len(data) for _, data in data_segments(memory))
        if size > self.budget:
            return
        try:
            wasm = self.read_wasm(loaded, ctx)
            if wasm is None:
                return
            rewritten = preinitialised(wasm, memory)
            snapshot = Snapshot(len(memory) // PAGE, size,
                                self.make_instance_pre(loaded, rewritten))
        except (NotImageable, wasmtime.WasmtimeError, CallFailed) as exc:
            self._refused.add(loaded.hash)
            logger.warning("No zygote image for %s (its zygote runs in every call): %s",
                           ctx.call.name, first_line(exc, type(exc).__name__))
            return
        self._keep(loaded.hash, snapshot)

    def _keep(self, key: str, snapshot: Snapshot) -> None:
        used = sum(kept.size for kept in self._snapshots.values())
        while self._snapshots and used + snapshot.size > self.budget:
            used -= self._snapshots.pop(next(iter(self._snapshots))).size
        self._snapshots[key] = snapshot

    def _run(self, loaded, ctx: host.CallContext) -> None:
        store = ctx.store
        # The call's context (store, memory, captures, limits), with an empty input
        # and its own output, chained calls, state copies and failure.
        zygote_ctx = copy.copy(ctx)
        zygote_ctx.call = replace(ctx.call, input=b"")
        zygote_ctx.output, zygote_ctx.output_truncated, zygote_ctx.error = b"", False, None
        zygote_ctx.children, zygote_ctx.mapped, zygote_ctx._state = {}, {}, None
        host.push(zygote_ctx)
        try:
            returned = self._call(loaded, store, ctx.exports, zygote_ctx)
        finally:
            host.pop()
            zygote_ctx.close()
        if isinstance(returned, int) and returned != 0:
            raise CallFailed(f"Zygote of {ctx.call.name} returned {returned}")

    @staticmethod
    def _call(loaded, store, exports, ctx):
        target = exports[ZYGOTE_EXPORT]
        try:
            if ZYGOTE_EXPORT in loaded.results:
                return call_entry(store, target, loaded.results[ZYGOTE_EXPORT])
            return target(store)
        except wasmtime.ExitTrap as exc:
            if exc.code != 0:
                raise CallFailed(f"Zygote of {ctx.call.name} exited with code "
                                 f"{exc.code}") from None
            return 0
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            if ctx.error is not None:
                raise CallFailed(f"Zygote of {ctx.call.name} failed: "
                                 f"{ctx.error.reason}") from None
            raise CallFailed(f"Zygote of {ctx.call.name} failed: "
                             f"{first_line(exc, 'trap')}") from None
