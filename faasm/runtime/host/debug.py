"""Debugging, test and migration host calls of Faasm's newest libfaasm."""

import os

import wasmtime

from faasm.runtime.host import CallContext, HostCallError, host_function

#: Test numbers of __faasm_host_interface_test (sdk: faasm/host_interface_test.h).
NO_TEST, EXCEPTION_PROPAGATION_TEST = 0, 1


@host_function("__faasm_backtrace", "i32")
def backtrace(ctx: CallContext, depth: int) -> None:
    """Faasm logs the wasm call stack. wasmtime shows a host call no frames of
    the guest's stack, so this writes what the host knows to the call's stderr."""
    call = ctx.call
    _write_stderr(ctx, f"[faasm] backtrace requested (depth {depth}) in {call.name} call "
                       f"{call.id}, entry {call.idx}: wasm frames are not visible to host "
                       "calls on this platform\n".encode())


def _write_stderr(ctx: CallContext, data: bytes) -> None:
    """Append to the call's stderr: a capture object, or a memfd (modules that open
    files), which refuses writes past its limit."""
    if hasattr(ctx.stderr, "write"):
        ctx.stderr.write(data)
        return
    try:
        os.write(ctx.stderr.fd, data)
    except OSError:
        pass  # the capture is full: the limit wins, as for the guest's own writes


@host_function("__faasm_host_interface_test", "i32")
def host_interface_test(ctx: CallContext, test_num: int) -> None:
    if test_num == NO_TEST:
        return
    if test_num == EXCEPTION_PROPAGATION_TEST:
        raise HostCallError("Host interface test: exception propagation")
    raise HostCallError(f"__faasm_host_interface_test: unknown test number {test_num}")


@host_function("__faasm_migrate_point", "i32 i32")
def migrate_point(ctx: CallContext, entry: int, arg: int) -> None:
    """A point where Faasm may move the call to another host. Calls here never
    migrate (each runs to its end where it started), so the call goes on; the
    entry is still checked to be a function of the module's table, when the
    module exports its table."""
    table = ctx.exports.get("__indirect_function_table") if ctx.exports else None
    if isinstance(table, wasmtime.Table):
        index = entry & 0xFFFFFFFF
        target = table.get(ctx.store, index) if index < table.size(ctx.store) else None
        if not isinstance(target, wasmtime.Func):
            raise HostCallError(f"__faasm_migrate_point: {index} is not a function of "
                                "the module's table")
