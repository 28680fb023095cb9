"""Input, output and identity: ``__faasm_read_input`` and friends."""

from faasm.runtime.host import CallContext, host_function


@host_function("__faasm_read_input", "i32 i32", "i32")
def read_input(ctx: CallContext, buf: int, buf_len: int) -> int:
    data = ctx.call.input
    ctx.check(buf, buf_len, "__faasm_read_input")
    n = min(len(data), buf_len & 0xFFFFFFFF)
    if n:
        ctx.write(buf, data[:n], "__faasm_read_input")
    return len(data)


@host_function("__faasm_write_output", "i32 i32")
def write_output(ctx: CallContext, ptr: int, length: int) -> None:
    ctx.set_output(ctx.read(ptr, length, "__faasm_write_output"))


@host_function("__faasm_get_idx", "", "i32")
def get_idx(ctx: CallContext) -> int:
    return ctx.call.idx


@host_function("__faasm_conf_flag", "i32", "i32")
def conf_flag(ctx: CallContext, key: int) -> int:
    return int(ctx.read_string(key, "__faasm_conf_flag") in ctx.conf_flags)


def _write_string(ctx: CallContext, buf: int, buf_len: int, text: str, what: str) -> None:
    """Copy ``text`` NUL-terminated into [buf, buf+buf_len), truncating to fit."""
    buf_len &= 0xFFFFFFFF
    if buf_len:
        ctx.write(buf, text.encode()[: buf_len - 1] + b"\x00", what)


@host_function("__faasm_get_py_user", "i32 i32")
def get_py_user(ctx: CallContext, buf: int, buf_len: int) -> None:
    _write_string(ctx, buf, buf_len, ctx.call.user, "__faasm_get_py_user")


@host_function("__faasm_get_py_func", "i32 i32")
def get_py_func(ctx: CallContext, buf: int, buf_len: int) -> None:
    _write_string(ctx, buf, buf_len, ctx.call.function, "__faasm_get_py_func")


#: The entry a Python call starts at unless it was chained to another.
PY_DEFAULT_ENTRY = "faasm_main"


@host_function("__faasm_get_py_entry", "i32 i32")
def get_py_entry(ctx: CallContext, buf: int, buf_len: int) -> None:
    entry = getattr(ctx.call, "entry", None) or PY_DEFAULT_ENTRY
    _write_string(ctx, buf, buf_len, entry, "__faasm_get_py_entry")
