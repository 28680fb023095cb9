"""Running one call of a wasm function: fresh store and instance, captured stdio."""

from __future__ import annotations

import os
import threading
import time

import wasmtime

from faasm.calls import Call, CallResult
from faasm.errors import CallFailed, CallTimedOut, LimitExceeded
from faasm.runtime import host
from faasm.runtime.engine import get_engine
from faasm.runtime.limits import EpochTicker, Limits, describe_bytes
from faasm.runtime.linking import build_linker, known_import
from faasm.runtime.modules import ModuleCache
from faasm.settings import Settings
from faasm.storage import Storage

TRUNCATED = b"\n[truncated: %d byte limit]\n"


class _Capture:
    """A memfd a call's stdout or stderr goes to, reused call after call on one thread."""

    def __init__(self, name: str):
        self.fd = os.memfd_create(f"faasm-{name}", os.MFD_CLOEXEC)
        self.path = f"/proc/self/fd/{self.fd}"

    def reset(self) -> None:
        os.ftruncate(self.fd, 0)

    def take(self, limit: int) -> bytes:
        data = os.pread(self.fd, limit + 1, 0)
        if len(data) > limit:
            data = data[:limit] + TRUNCATED % limit
        return data


class WasmRuntime:
    """Runs wasm calls in this process. Build it after the process forks."""

    def __init__(self, settings: Settings, storage: Storage, services=None):
        self.settings = settings
        self.services = services
        self.engine = get_engine()
        self.linker = build_linker(self.engine)
        self.modules = ModuleCache(storage, self.engine, self.linker, known_import)
        self.ticker = EpochTicker(self.engine)
        self._local = threading.local()

    def flush(self) -> None:
        self.modules.flush()

    def _captures(self) -> tuple[_Capture, _Capture]:
        caps = getattr(self._local, "captures", None)
        if caps is None:
            caps = self._local.captures = (_Capture("stdout"), _Capture("stderr"))
        return caps

    def execute(self, call: Call) -> CallResult:
        """Run ``call`` to completion; raises CallFailed (or a subclass) if it fails."""
        started = time.perf_counter()
        loaded = self.modules.get(call.user, call.function)
        entry = "_start" if call.idx == 0 else f"_faasm_func_{call.idx}"
        if entry not in loaded.exports:
            raise CallFailed(f"Function {call.name} has no entry point {entry}")
        limits = Limits.for_call(self.settings, call.timeout)
        loaded_at = time.perf_counter()

        self.ticker.ensure_running()
        store = wasmtime.Store(self.engine)
        store.set_limits(memory_size=limits.memory)
        store.set_epoch_deadline(limits.deadline_ticks())
        stdout, stderr = self._captures()
        stdout.reset()
        stderr.reset()
        wasi = wasmtime.WasiConfig()
        wasi.argv = [call.function]
        wasi.stdout_file = stdout.path
        wasi.stderr_file = stderr.path
        store.set_wasi(wasi)

        ctx = host.CallContext(call, output_limit=limits.output,
                               conf_flags=self.settings.conf_flags, services=self.services)
        ctx.store = store
        host.push(ctx)
        try:
            instance = loaded.instance_pre.instantiate(store)
            exports = instance.exports(store)
            ctx.memory = exports.get("memory")
            exports[entry](store)
        except wasmtime.ExitTrap as exc:
            if exc.code != 0:
                raise CallFailed(self._reason(f"Function exited with code {exc.code}",
                                              ctx, limits, stderr)) from None
        except CallFailed:
            raise
        except wasmtime.Trap as exc:
            if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
                raise CallTimedOut(
                    f"Call timed out: exceeded its {limits.timeout:g} s timeout") from None
            raise CallFailed(self._reason(_trap_reason(exc), ctx, limits, stderr)) from None
        except wasmtime.WasmtimeError as exc:
            raise CallFailed(self._reason(f"Function failed: {_first_line(exc)}",
                                          ctx, limits, stderr)) from None
        finally:
            host.pop()
        finished = time.perf_counter()
        output = ctx.output
        if ctx.output_truncated:
            output += TRUNCATED % limits.output
        return CallResult(output=output, stdout=stdout.take(limits.stdout),
                          timings={"load": loaded_at - started, "run": finished - loaded_at})

    def _reason(self, reason: str, ctx: host.CallContext, limits: Limits,
                stderr: _Capture) -> str:
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
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
