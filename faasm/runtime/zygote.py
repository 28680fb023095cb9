"""Zygotes: a function's ``_faasm_zygote`` run once per worker process, every call
then starting from the memory it left.

Faasm runs a module's zygote once, snapshots the instance, and restores that
snapshot for each call. Here the first call of a module in a worker process
runs the zygote in its own fresh instance, before its entry; what the zygote
changed in linear memory (its globals, its heap, the pages it grew) is kept
as runs of changed 64 KiB pages. Every later call's fresh instance gets those
pages written in before its entry runs. Only memory is carried over: the
module's mutable wasm globals are its stack pointer, which the zygote leaves
where it found it, and host-side state (open files, stdout) is each call's.

Running the zygote inside a real call's instance means the C library set-up
it triggers (the table of preopened directories, the environment) is made
with a call's own WASI configuration, which every call of the function
shares, so the snapshot is valid for all of them.

The zygote sees an empty input and cannot set the output (main does); its
other host calls act as the call's (it may read state, for example). A
zygote returning non-zero, trapping or exiting non-zero fails the call, and
is tried again by the next call.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import wasmtime

from faasm.errors import CallFailed, first_line
from faasm.runtime import host
from faasm.runtime.capi import call_entry

ZYGOTE_EXPORT = "_faasm_zygote"
PAGE = 65536
#: Bytes of snapshots a worker process keeps, all modules together. Past it the
#: oldest are dropped (their zygote runs again on the module's next call); a
#: snapshot bigger than all of it is not kept, so its zygote runs for every call.
SNAPSHOT_BUDGET = 256 * 1024 * 1024


@dataclass(frozen=True)
class Snapshot:
    """Linear memory after a zygote: its size in pages and the runs of pages that
    differ from a fresh instance's, as (byte offset, bytes)."""

    pages: int
    changed: tuple[tuple[int, bytes], ...]

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.changed)

    def restore(self, store: wasmtime.Store, memory: wasmtime.Memory) -> None:
        missing = self.pages - memory.size(store)
        if missing > 0:
            memory.grow(store, missing)
        for offset, data in self.changed:
            memory.write(store, data, offset)


def diff_pages(before: bytes, after: bytes) -> tuple[tuple[int, bytes], ...]:
    """Runs of 64 KiB pages of ``after`` that differ from ``before`` (or lie past it)."""
    runs: list[list] = []
    for offset in range(0, len(after), PAGE):
        page = after[offset:offset + PAGE]
        if before[offset:offset + PAGE] == page:
            continue
        if runs and runs[-1][0] + len(runs[-1][1]) == offset:
            runs[-1][1] += page
        else:
            runs.append([offset, bytearray(page)])
    return tuple((offset, bytes(data)) for offset, data in runs)


class Zygotes:
    """This process's zygote snapshots, by module content hash."""

    def __init__(self, budget: int = SNAPSHOT_BUDGET):
        self.budget = budget
        #: Snapshots by module hash, oldest first.
        self._snapshots: dict[str, Snapshot] = {}
        self._running: set[str] = set()

    def flush(self) -> None:
        self._snapshots.clear()

    def prepare(self, loaded, ctx: host.CallContext) -> None:
        """Bring the call's fresh instance (``ctx.store``, ``ctx.memory``) to the
        memory its zygote leaves: from this process's snapshot, or by running the
        zygote now and keeping the snapshot."""
        snapshot = self._snapshots.get(loaded.hash)
        if snapshot is not None:
            snapshot.restore(ctx.store, ctx.memory)
            return
        if loaded.hash in self._running:
            raise CallFailed(f"Zygote of {ctx.call.name} called its own function")
        self._running.add(loaded.hash)
        try:
            self._keep(loaded.hash, self._run(loaded, ctx))
        finally:
            self._running.discard(loaded.hash)

    def _keep(self, key: str, snapshot: Snapshot) -> None:
        if snapshot.size > self.budget:
            return
        used = sum(kept.size for kept in self._snapshots.values())
        while self._snapshots and used + snapshot.size > self.budget:
            used -= self._snapshots.pop(next(iter(self._snapshots))).size
        self._snapshots[key] = snapshot

    def _run(self, loaded, ctx: host.CallContext) -> Snapshot:
        store, memory = ctx.store, ctx.memory
        # The call's context (store, memory, captures, limits), with an empty input
        # and its own output, chained calls, state copies and failure.
        zygote_ctx = copy.copy(ctx)
        zygote_ctx.call = replace(ctx.call, input=b"")
        zygote_ctx.output, zygote_ctx.output_truncated, zygote_ctx.error = b"", False, None
        zygote_ctx.children, zygote_ctx.mapped, zygote_ctx._state = {}, {}, None
        fresh = bytes(memory.read(store, 0, memory.data_len(store)))
        host.push(zygote_ctx)
        try:
            returned = self._call(loaded, store, ctx.exports, zygote_ctx)
        finally:
            host.pop()
            zygote_ctx.close()
        if isinstance(returned, int) and returned != 0:
            raise CallFailed(f"Zygote of {ctx.call.name} returned {returned}")
        after = bytes(memory.read(store, 0, memory.data_len(store)))
        return Snapshot(memory.size(store), diff_pages(fresh, after))

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
