"""Faasm's OpenMP shared-memory markup (``faasm/shared_mem.h``).

In Faasm these calls tell the runtime which variables OpenMP threads share
and how to merge them. A call here runs as one thread: every variable is
already the only copy, a reduction over one thread leaves its value as it
is, and a local critical section has nobody to exclude. So each call checks
its arguments (pointers inside guest memory, known types and operators) and
then has nothing left to do; that is the exact single-thread meaning.
"""

from faasm.runtime.host import CallContext, HostCallError, host_function

#: FAASM_TYPE_* -> bytes of one value (RAW has its size given).
TYPE_SIZES = {0: 1, 1: 1, 2: 4, 3: 4, 4: 4, 5: 8}
#: FAASM_OP_OVERWRITE .. FAASM_OP_MIN.
OPS = range(6)


def _var(ctx: CallContext, ptr: int, var_type: int, count: int, what: str) -> None:
    if var_type not in TYPE_SIZES:
        raise HostCallError(f"{what}: unknown variable type {var_type}")
    ctx.check(ptr, TYPE_SIZES[var_type] * max(count, 1), what)


@host_function("__faasm_sm_var", "i32 i32")
def sm_var(ctx, ptr, var_type):
    _var(ctx, ptr, var_type, 1, "__faasm_sm_var")


@host_function("__faasm_sm_array", "i32 i32 i32")
def sm_array(ctx, ptr, var_type, length):
    if length < 0:
        raise HostCallError(f"__faasm_sm_array: negative length {length}")
    _var(ctx, ptr, var_type, length, "__faasm_sm_array")


@host_function("__faasm_sm_raw", "i32 i32")
def sm_raw(ctx, ptr, size):
    if size < 0:
        raise HostCallError(f"__faasm_sm_raw: negative size {size}")
    ctx.check(ptr, size, "__faasm_sm_raw")


@host_function("__faasm_sm_reduce", "i32 i32 i32 i32")
def sm_reduce(ctx, ptr, var_type, op, current_batch):
    if op not in OPS:
        raise HostCallError(f"__faasm_sm_reduce: unknown reduction operator {op}")
    _var(ctx, ptr, var_type, 1, "__faasm_sm_reduce")


@host_function("__faasm_sm_critical_local")
def sm_critical_local(ctx):
    ctx.critical_depth = getattr(ctx, "critical_depth", 0) + 1


@host_function("__faasm_sm_critical_local_end")
def sm_critical_local_end(ctx):
    depth = getattr(ctx, "critical_depth", 0)
    if depth <= 0:
        raise HostCallError("__faasm_sm_critical_local_end without "
                            "__faasm_sm_critical_local")
    ctx.critical_depth = depth - 1
