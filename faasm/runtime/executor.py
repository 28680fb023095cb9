"""Running one call of a wasm function: fresh store and instance, captured stdio."""

from __future__ import annotations

import gc
import time

import wasmtime

from faasm.calls import Call, CallResult
from faasm.errors import CallFailed, CallTimedOut, LimitExceeded, first_line
from faasm.files import CallFiles
from faasm.functions import content_hash, wasm_key
from faasm.runtime import host
from faasm.runtime.capi import (
    POOL_EXHAUSTED,
    BoundedCapture,
    CStringArray,
    Exports,
    call_entry,
    set_argv,
    set_env,
    write_output_to,
)
from faasm.runtime.engine import engine_key, get_engine, pool_slots
from faasm.runtime.environment import ARGV0, guest_argv, guest_env
from faasm.runtime.host.stdio import StreamCapture
from faasm.runtime.limits import EpochTicker, Limits, describe_bytes
from faasm.runtime.linking import build_linker, known_import
from faasm.runtime.modules import LoadedModule, ModuleCache
from faasm.runtime.scratch import ScratchSpace
from faasm.runtime.zygote import ZYGOTE_EXPORT, Zygotes
from faasm.settings import Settings
from faasm.storage import Storage
from faasm.storage.artifacts import Artifacts, host_secret

TRUNCATED = StreamCapture.MARKER
#: Guest name of the shared-files directory: C's fopen("faasm://x") opens x in it.
SHARED_PREOPEN = "faasm:"
#: Every wasm call's environment variables (faasm.runtime.environment), and the argv of
#: a call without a cmdline, as C arrays built once.
_ENV = sorted(guest_env(python=False).items())
GUEST_ENV = (CStringArray([k for k, _ in _ENV]), CStringArray([v for _, v in _ENV]))
PLAIN_ARGV = CStringArray([ARGV0])


class WasmRuntime:
    """Runs wasm calls in this process. Build it after the process forks."""

    def __init__(self, settings: Settings, storage: Storage, services=None):
        self.settings = settings
        self.services = services
        self.epoch = settings.timeout_mode == "epoch"
        self.slots = pool_slots(settings.instance_slots)
        self.engine = get_engine(self.epoch, self.slots)
        # Modules that open files keep wasmtime's whole WASI (see host/stdio.py).
        self.linkers = {False: build_linker(self.engine),
                        True: build_linker(self.engine, override_wasi=False)}
        artifacts = Artifacts(storage, host_secret(settings.data_dir, settings.artifact_key))
        self.modules = ModuleCache(storage, self.engine, engine_key(self.epoch),
                                   self.linkers.__getitem__, known_import, artifacts)
        self.files = CallFiles(storage, quota=settings.shared_file_quota)
        self.ticker = EpochTicker(self.engine)
        self.scratch = ScratchSpace(settings.data_dir / "scratch", settings.scratch_quota,
                                    settings.python_cache)
        self.zygotes = Zygotes(self._zygote_instance_pre, self._read_wasm)
        self._file_captures: list[tuple[BoundedCapture, BoundedCapture]] = []

    def flush(self) -> None:
        """Drop cached modules and this process's copy of remote shared files."""
        self.modules.flush()
        self.files.flush()
        self.zygotes.flush()

    def execute(self, call: Call) -> CallResult:
        """Run ``call`` to completion; raises CallFailed (or a subclass) if it fails."""
        started = time.perf_counter()
        loaded = self.modules.get(call.user, call.function)
        entry = self._entry(call, loaded)
        limits = Limits.for_call(self.settings, call.timeout)
        loaded_at = time.perf_counter()

        store = wasmtime.Store(self.engine)
        store.set_limits(memory_size=limits.memory)
        if self.epoch:
            self.ticker.ensure_running()
            store.set_epoch_deadline(limits.deadline_ticks())
        # Otherwise the worker's pool process is killed at the limit (workers/app.py).
        wasi = wasmtime.WasiConfig()
        if call.cmdline:
            wasi.argv = guest_argv(call)
        else:
            set_argv(wasi, PLAIN_ARGV)
        set_env(wasi, *GUEST_ENV)
        memfds = mount = scratch = None
        if loaded.uses_files:
            scratch = self.scratch.open(call.id)
            for view in scratch.views:  # "/", then the read-only /etc and /lib
                wasi.preopen_dir(str(view.host), view.guest, fs_mutable=view.writable)
            mount = self.files.mount(call.user)  # remote storage: synced to a local mirror
            wasi.preopen_dir(str(mount.path), SHARED_PREOPEN)
            memfds = self._take_memfds()
            write_output_to(wasi, memfds[0].fd, memfds[1].fd)
        store.set_wasi(wasi)

        ctx = host.CallContext(call, output_limit=limits.output,
                               deadline=time.monotonic() + limits.timeout,
                               conf_flags=self.settings.conf_flags, services=self.services)
        ctx.store = store
        ctx.older_generation = loaded.older_generation
        ctx.scratch = scratch
        ctx.stdout, ctx.stderr = stdout, stderr = memfds or (StreamCapture(limits.stdout),
                                                             StreamCapture(limits.stdout))
        host.push(ctx)
        try:
            try:
                self._run(ctx, loaded, entry, limits, stderr)
            except CallFailed as exc:
                # What the call printed before it failed goes to its logs.
                exc.stdout, exc.stderr = stdout.take(limits.stdout), stderr.take(limits.stdout)
                raise
            finally:
                if scratch is not None:
                    scratch.close()
            if scratch is not None and scratch.failure() is not None:
                failure = scratch.failure()
                failure.stdout, failure.stderr = (stdout.take(limits.stdout),
                                                  stderr.take(limits.stdout))
                raise failure
            if mount is not None:
                mount.commit()  # remote storage: write back the files the call changed
            finished = time.perf_counter()
            output = ctx.output
            if ctx.output_truncated:
                output += TRUNCATED % limits.output
            return CallResult(output=output, stdout=stdout.take(limits.stdout),
                              stderr=stderr.take(limits.stdout),
                              timings={"load": loaded_at - started, "run": finished - loaded_at})
        except CallFailed as exc:
            failure = scratch.failure() if scratch is not None else None
            if failure is not None and failure.reason != exc.reason:
                # The quota is the cause of whatever the guest did next.
                failure.stdout = getattr(exc, "stdout", b"")
                failure.stderr = getattr(exc, "stderr", b"")
                raise failure from None
            raise
        finally:
            host.pop()
            ctx.close()
            if mount is not None:
                mount.close()
            if memfds is not None:
                self._file_captures.append(memfds)

    def _zygote_instance_pre(self, loaded: LoadedModule, wasm: bytes) -> wasmtime.InstancePre:
        """A module rewritten after its zygote, compiled and linked as ``loaded`` is."""
        module = wasmtime.Module(self.engine, wasm)
        return self.linkers[loaded.uses_files].instantiate_pre(module)

    def _read_wasm(self, loaded: LoadedModule, ctx: host.CallContext) -> bytes | None:
        """The bytes ``loaded`` was compiled from, unless the function was re-uploaded since."""
        data = self.modules.storage.read(wasm_key(ctx.call.user, ctx.call.function))
        return data if content_hash(data) == loaded.hash else None

    def _take_memfds(self) -> tuple[BoundedCapture, BoundedCapture]:
        """Sealed memfds for the stdio of a module that opens files (reused; one pair
        per call in flight, as inline chained calls nest)."""
        if self._file_captures:
            pair = self._file_captures.pop()
        else:
            limit = self.settings.stdout_limit
            pair = (BoundedCapture("stdout", limit), BoundedCapture("stderr", limit))
        pair[0].reset()
        pair[1].reset()
        return pair

    def _entry(self, call: Call, loaded: LoadedModule) -> str:
        if call.func_ptr is not None:
            if loaded.table_export is None:
                raise CallFailed(f"Function {call.name} has no function table to chain "
                                 "by pointer into")
            return loaded.table_export
        entry = "_start" if call.idx == 0 else f"_faasm_func_{call.idx}"
        if entry not in loaded.exports and loaded.older_generation:
            return "_start"  # main reads __faasm_get_idx and dispatches itself
        if entry not in loaded.exports:
            raise CallFailed(f"Function {call.name} has no entry point {entry}")
        return entry

    def _run(self, ctx: host.CallContext, loaded: LoadedModule, entry: str, limits: Limits,
             stderr) -> None:
        store = ctx.store
        try:
            zygote = ZYGOTE_EXPORT in loaded.exports
            # After its first call, a module with a zygote starts from the zygote's image.
            after_zygote = self.zygotes.instance_pre(loaded) if zygote else None
            instance = self._instantiate(after_zygote or loaded.instance_pre, store)
            ctx.exports = exports = Exports(store, instance)
            ctx.memory = exports.get("memory")
            if zygote and after_zygote is None and ctx.memory is not None:
                self.zygotes.prepare(loaded, ctx)
            target = exports[entry]
            if ctx.call.func_ptr is not None:
                target = target.get(store, ctx.call.func_ptr)
                if not isinstance(target, wasmtime.Func):
                    raise CallFailed(f"Function table has no function at {ctx.call.func_ptr}")
            if ctx.call.func_ptr is None and entry in loaded.results:
                returned = call_entry(store, target, loaded.results[entry])
            else:
                returned = target(store)
            if isinstance(returned, int) and returned != 0:  # a FAASM_FUNC's return code
                raise CallFailed(self._reason(f"Function returned {returned}", ctx, limits,
                                              stderr))
        except wasmtime.ExitTrap as exc:
            if exc.code != 0:
                raise CallFailed(self._reason(f"Function exited with code {exc.code}",
                                              ctx, limits, stderr)) from None
        except CallFailed:
            raise
        except wasmtime.Trap as exc:
            if ctx.error is not None:
                raise ctx.error from None
            if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
                raise CallTimedOut(
                    f"Call timed out: exceeded its {limits.timeout:g} s timeout") from None
            raise CallFailed(self._reason(_trap_reason(exc), ctx, limits, stderr)) from None
        except wasmtime.WasmtimeError as exc:
            if ctx.error is not None:
                raise ctx.error from None
            raise CallFailed(self._reason(f"Function failed: {_first_line(exc)}",
                                          ctx, limits, stderr)) from None

    def _instantiate(self, instance_pre: wasmtime.InstancePre,
                     store: wasmtime.Store) -> wasmtime.Instance:
        """A new instance in a free slot of the instance pool.

        A slot is freed when its store is: a store kept alive by a reference
        cycle only frees it at the next garbage collection, so a full pool
        is collected once before the call is failed.
        """
        for attempt in range(2):
            try:
                return instance_pre.instantiate(store)
            except wasmtime.WasmtimeError as exc:
                if POOL_EXHAUSTED not in str(exc):
                    raise
            if attempt == 0:
                gc.collect()
        raise CallFailed(
            f"Call could not start: all {self.slots} wasm instance slots "
            "of this worker process are in use (calls chained and run inline nest, one slot "
            "each; FAASM_INSTANCE_SLOTS sets how many)")

    def _reason(self, reason: str, ctx: host.CallContext, limits: Limits,
                stderr) -> str:
        """Add what explains a failure: a memory limit hit, the last line of stderr."""
        if ctx.memory is not None:
            used = ctx.memory.data_len(ctx.store)
            # memory.grow returns -1 at the limit; the guest then fails its own way.
            if used + min(16 << 20, limits.memory // 16) > limits.memory:
                raise LimitExceeded(
                    f"{reason}: memory limit reached ({describe_bytes(used)} of the "
                    f"{describe_bytes(limits.memory)} memory limit in use)")
        last = stderr.take(4096).strip().splitlines()
        if last:
            reason += f" ({last[-1].decode('utf-8', 'replace')[:200]})"
        return reason


def _first_line(exc: Exception) -> str:
    return first_line(exc, type(exc).__name__)


def _trap_reason(trap: wasmtime.Trap) -> str:
    """wasmtime's own words for the trap ("wasm trap: ..."), without the backtrace."""
    if trap.trap_code == wasmtime.TrapCode.STACK_OVERFLOW:
        return "Function trapped: call stack exhausted (stack overflow)"
    lines = [line.strip() for line in trap.message.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("wasm trap:"):
            return f"Function trapped: {line[len('wasm trap:'):].strip()}"
    code = trap.trap_code
    detail = code.name.lower().replace("_", " ") if code is not None else (lines or ["trap"])[-1]
    return f"Function trapped: {detail}"
