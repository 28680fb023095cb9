"""State host calls: the host's local tier and the global values in Redis.

Values placed in guest memory by the ``*_ptr`` calls stay there for the call:
the guest may change them through the pointer, so every host call on such a
key first reads the guest copy back, and after changing the local copy
writes it out again.
"""

from faasm.errors import NotFound
from faasm.runtime.host import CallContext, host_function


def _key(ctx: CallContext, ptr: int, what: str) -> str:
    return ctx.read_string(ptr, what)


def _sync_in(ctx: CallContext, key: str) -> None:
    """Refresh the local copy from guest memory if the guest holds a pointer to it."""
    if key in ctx.mapped:
        ptr, size = ctx.mapped[key]
        local = ctx.state.value(key)
        seen = ctx.read(ptr, size, "state pointer")
        if seen != local.data[:size]:
            local.data[:size] = seen
            local.modified = True  # kept for the next call on this host until pushed


def _sync_out(ctx: CallContext, key: str) -> None:
    if key in ctx.mapped:
        ptr, size = ctx.mapped[key]
        ctx.write(ptr, bytes(ctx.state.value(key).data[:size]), "state pointer")


def _map(ctx: CallContext, key: str, total_len: int) -> int:
    """The guest address of the key's local copy (placed on first use)."""
    local = ctx.state.value(key, total_len)
    mapped = ctx.mapped.get(key)
    if mapped is None or mapped[1] < len(local.data):
        ptr = ctx.place(bytes(local.data), "state pointer")
        ctx.mapped[key] = (ptr, len(local.data))
        return ptr
    _sync_in(ctx, key)
    return mapped[0]


@host_function("__faasm_read_state", "i32 i32 i32", "i32")
def read_state(ctx, key_ptr, buf, buf_len):
    key = _key(ctx, key_ptr, "__faasm_read_state")
    ctx.check(buf, buf_len, "__faasm_read_state")
    _sync_in(ctx, key)
    data = ctx.state.read(key)
    n = min(len(data), buf_len & 0xFFFFFFFF)
    ctx.write(buf, data[:n], "__faasm_read_state")
    return len(data)


@host_function("__faasm_read_state_ptr", "i32 i32", "i32")
def read_state_ptr(ctx, key_ptr, total_len):
    return _map(ctx, _key(ctx, key_ptr, "__faasm_read_state_ptr"), total_len)


@host_function("__faasm_write_state", "i32 i32 i32")
def write_state(ctx, key_ptr, data, length):
    key = _key(ctx, key_ptr, "__faasm_write_state")
    ctx.state.write(key, ctx.read(data, length, "__faasm_write_state"))
    ctx.mapped.pop(key, None)


@host_function("__faasm_write_state_offset", "i32 i32 i32 i32 i32")
def write_state_offset(ctx, key_ptr, total_len, offset, data, length):
    key = _key(ctx, key_ptr, "__faasm_write_state_offset")
    _sync_in(ctx, key)
    ctx.state.write_offset(key, total_len, offset,
                           ctx.read(data, length, "__faasm_write_state_offset"))
    _sync_out(ctx, key)


@host_function("__faasm_read_state_offset", "i32 i32 i32 i32 i32")
def read_state_offset(ctx, key_ptr, total_len, offset, buf, length):
    key = _key(ctx, key_ptr, "__faasm_read_state_offset")
    ctx.check(buf, length, "__faasm_read_state_offset")
    _sync_in(ctx, key)
    ctx.write(buf, ctx.state.read_offset(key, total_len, offset, length),
              "__faasm_read_state_offset")


@host_function("__faasm_read_state_offset_ptr", "i32 i32 i32 i32", "i32")
def read_state_offset_ptr(ctx, key_ptr, total_len, offset, length):
    key = _key(ctx, key_ptr, "__faasm_read_state_offset_ptr")
    ctx.state.read_offset(key, total_len, offset, length)  # checks the slice
    return _map(ctx, key, total_len) + offset


@host_function("__faasm_flag_state_dirty", "i32 i32")
def flag_state_dirty(ctx, key_ptr, total_len):
    ctx.state.flag_dirty(_key(ctx, key_ptr, "__faasm_flag_state_dirty"), total_len)


@host_function("__faasm_flag_state_offset_dirty", "i32 i32 i32 i32")
def flag_state_offset_dirty(ctx, key_ptr, total_len, offset, length):
    ctx.state.flag_offset_dirty(_key(ctx, key_ptr, "__faasm_flag_state_offset_dirty"),
                                total_len, offset, length)


@host_function("__faasm_push_state", "i32")
def push_state(ctx, key_ptr):
    key = _key(ctx, key_ptr, "__faasm_push_state")
    _sync_in(ctx, key)
    ctx.state.push(key)


@host_function("__faasm_push_state_partial", "i32")
def push_state_partial(ctx, key_ptr):
    key = _key(ctx, key_ptr, "__faasm_push_state_partial")
    _sync_in(ctx, key)
    ctx.state.push_partial(key)


def _mask_ranges(mask: bytes) -> list[tuple[int, int]]:
    """The [start, end) runs of non-zero bytes in ``mask``."""
    ranges, start = [], None
    for i, byte in enumerate(mask):
        if byte and start is None:
            start = i
        elif not byte and start is not None:
            ranges.append((start, i))
            start = None
    if start is not None:
        ranges.append((start, len(mask)))
    return ranges


@host_function("__faasm_push_state_partial_mask", "i32 i32")
def push_state_partial_mask(ctx, key_ptr, mask_key_ptr):
    """Push the bytes of the key's local copy whose byte in the mask value (the
    local copy of ``mask_key``) is non-zero, as Faasm does; the mask replaces
    the dirty flags, which are cleared."""
    what = "__faasm_push_state_partial_mask"
    key = _key(ctx, key_ptr, what)
    mask_key = _key(ctx, mask_key_ptr, what)
    _sync_in(ctx, key)
    _sync_in(ctx, mask_key)
    local = ctx.state.value(key)
    mask = bytes(ctx.state.value(mask_key).data[:len(local.data)])
    ranges = _mask_ranges(mask)
    if ranges:
        ctx.state.store.set_ranges(ctx.state.user, key,
                                   [(s, bytes(local.data[s:e])) for s, e in ranges])
    local.dirty.clear()


@host_function("__faasm_pull_state", "i32 i32")
def pull_state(ctx, key_ptr, total_len):
    key = _key(ctx, key_ptr, "__faasm_pull_state")
    ctx.state.pull(key, total_len)
    _sync_out(ctx, key)


@host_function("__faasm_append_state", "i32 i32 i32")
def append_state(ctx, key_ptr, data, length):
    ctx.state.append(_key(ctx, key_ptr, "__faasm_append_state"),
                     ctx.read(data, length, "__faasm_append_state"))


@host_function("__faasm_read_appended_state", "i32 i32 i32 i32")
def read_appended_state(ctx, key_ptr, buf, buf_len, n_elems):
    ctx.check(buf, buf_len, "__faasm_read_appended_state")
    data = ctx.state.read_appended(_key(ctx, key_ptr, "__faasm_read_appended_state"), n_elems)
    ctx.write(buf, data[: buf_len & 0xFFFFFFFF], "__faasm_read_appended_state")


@host_function("__faasm_write_state_from_file", "i32 i32", "i32")
def write_state_from_file(ctx, key_ptr, path_ptr):
    key = _key(ctx, key_ptr, "__faasm_write_state_from_file")
    path = ctx.read_string(path_ptr, "__faasm_write_state_from_file")
    if path.startswith("/"):  # in the call's own filesystem, as Faasm reads its runtime root
        if ctx.scratch is None:
            raise NotFound(f"File {path} not found (the function opens no files)")
        data = ctx.scratch.read(path, limit=ctx.services.state.max_value)
    else:  # a shared file: faasm://path, or a path relative to the shared root
        data = ctx.services.files.read_for_call(path)
    ctx.state.write(key, data)
    ctx.mapped.pop(key, None)
    return len(data)


def _key_only(name: str, method: str):
    """A host call ``name(key)`` that calls ``CallState.<method>(key)``."""

    def call(ctx, key_ptr):
        getattr(ctx.state, method)(_key(ctx, key_ptr, name))

    call.__name__ = method
    host_function(name, "i32")(call)


# The local locks guard a call's own copy: read and write share one re-entrant lock.
for _name, _method in (("__faasm_clear_appended_state", "clear_appended"),
                       ("__faasm_lock_state_global", "lock_global"),
                       ("__faasm_unlock_state_global", "unlock_global"),
                       ("__faasm_lock_state_read", "lock_local"),
                       ("__faasm_unlock_state_read", "unlock_local"),
                       ("__faasm_lock_state_write", "lock_local"),
                       ("__faasm_unlock_state_write", "unlock_local")):
    _key_only(_name, _method)
