"""Chaining host calls: start calls of this user's functions and await them."""

from faasm.runtime.host import CallContext, HostCallError, host_function


def _chaining(ctx: CallContext):
    if ctx.services is None or ctx.services.chaining is None:
        raise HostCallError("chaining is not available here")
    return ctx.services.chaining


def _chain(ctx: CallContext, what: str, input_ptr: int, input_len: int, **target) -> int:
    payload = ctx.read(input_ptr, input_len, what)
    call = _chaining(ctx).chain(ctx.call, input=payload, **target)
    ctx.children[call.id] = call
    return call.id


@host_function("__faasm_chain_name", "i32 i32 i32", "i32")
def chain_name(ctx, name_ptr, input_ptr, input_len):
    name = ctx.read_string(name_ptr, "__faasm_chain_name")
    return _chain(ctx, "__faasm_chain_name", input_ptr, input_len, function=name, python=None)


@host_function("__faasm_chain_function", "i32 i32 i32", "i32")
def chain_function(ctx, name_ptr, input_ptr, input_len):
    return chain_name(ctx, name_ptr, input_ptr, input_len)


@host_function("__faasm_chain_this", "i32 i32 i32", "i32")
def chain_this(ctx, idx, input_ptr, input_len):
    return _chain(ctx, "__faasm_chain_this", input_ptr, input_len,
                  function=ctx.call.function, idx=idx, python=ctx.call.python)


@host_function("__faasm_chain_ptr", "i32 i32 i32", "i32")
def chain_ptr(ctx, func_index, input_ptr, input_len):
    return _chain(ctx, "__faasm_chain_ptr", input_ptr, input_len,
                  function=ctx.call.function, func_ptr=func_index, python=False)


def _await(ctx: CallContext, call_id: int):
    call_id &= 0xFFFFFFFF
    return _chaining(ctx).await_call(ctx.call, call_id, ctx.deadline,
                                     ctx.children.get(call_id))


@host_function("__faasm_await_call", "i32", "i32")
def await_call(ctx, call_id):
    return 0 if _await(ctx, call_id).ok else 1


@host_function("__faasm_await_call_output", "i32 i32 i32", "i32")
def await_call_output(ctx, call_id, out_ptr_ptr, out_len_ptr):
    """Both of Faasm's forms have the wasm type (i32, i32, i32) -> i32; a module of
    the older generation (see LoadedModule.older_generation) gets the older one."""
    if ctx.older_generation:
        return _await_call_output_buffer(ctx, call_id, out_ptr_ptr, out_len_ptr)
    what = "__faasm_await_call_output"
    ctx.check(out_ptr_ptr, 4, what)
    ctx.check(out_len_ptr, 4, what)
    outcome = _await(ctx, call_id)
    output = outcome.result.output if outcome.ok else outcome.reason.encode()
    ptr = ctx.place(output, "__faasm_await_call_output")
    ctx.write(out_ptr_ptr, ptr.to_bytes(4, "little"), "__faasm_await_call_output")
    ctx.write(out_len_ptr, len(output).to_bytes(4, "little"), "__faasm_await_call_output")
    return 0 if outcome.ok else 1


def _await_call_output_buffer(ctx, call_id, buf, buf_len):
    """The older form ``(call_id, buf, buf_len)``: copy up to ``buf_len`` bytes of the
    output into ``buf``; 0 on success, 1 on failure."""
    ctx.check(buf, buf_len, "__faasm_await_call_output")
    outcome = _await(ctx, call_id)
    output = outcome.result.output if outcome.ok else outcome.reason.encode()
    ctx.write(buf, output[: buf_len & 0xFFFFFFFF], "__faasm_await_call_output")
    return 0 if outcome.ok else 1


@host_function("__faasm_chain_py", "i32 i32 i32", "i32")
def chain_py(ctx, name_ptr, input_ptr, input_len):
    """Chain the top-level function ``name`` of this call's Python function."""
    entry = ctx.read_string(name_ptr, "__faasm_chain_py")
    return _chain(ctx, "__faasm_chain_py", input_ptr, input_len,
                  function=ctx.call.function, entry=entry, python=True)
