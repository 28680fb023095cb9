"""Faasm's S3 host calls, over the platform's storage (:mod:`faasm.buckets`).

Every bucket and key is the calling user's own. Lists are written as Faasm
writes them: the guest passes an array of pointers and an array of int
lengths, sized by the matching ``get_num`` call; the host places the names
(not NUL-terminated) in guest memory and fills both arrays.
"""

from __future__ import annotations

import struct

from faasm.errors import NotFound
from faasm.runtime.host import CallContext, HostCallError, host_function


def _buckets(ctx: CallContext, what: str):
    buckets = getattr(ctx.services, "buckets", None) if ctx.services else None
    if buckets is None:
        raise HostCallError(f"{what}: S3 calls are not available here")
    return buckets


def _write_list(ctx: CallContext, names: list[str], ptrs: int, lens: int, what: str) -> None:
    """Place ``names`` in guest memory; fill the pointer and length arrays."""
    encoded = [name.encode() for name in names]
    ctx.check(ptrs, 4 * len(encoded), what)
    ctx.check(lens, 4 * len(encoded), what)
    if not encoded:
        return
    base = ctx.place(b"".join(encoded), what)
    addresses, offset = [], base
    for name in encoded:
        addresses.append(offset)
        offset += len(name)
    ctx.write(ptrs, struct.pack(f"<{len(encoded)}I", *addresses), what)
    ctx.write(lens, struct.pack(f"<{len(encoded)}i", *(len(n) for n in encoded)), what)


@host_function("__faasm_s3_get_num_buckets", "", "i32")
def get_num_buckets(ctx):
    return len(_buckets(ctx, "__faasm_s3_get_num_buckets").buckets(ctx.call.user))


@host_function("__faasm_s3_list_buckets", "i32 i32")
def list_buckets(ctx, ptrs, lens):
    what = "__faasm_s3_list_buckets"
    _write_list(ctx, _buckets(ctx, what).buckets(ctx.call.user), ptrs, lens, what)


def _keys(ctx, bucket_ptr, prefix_ptr, what):
    bucket = ctx.read_string(bucket_ptr, what)
    prefix = ctx.read_string(prefix_ptr, what) if prefix_ptr is not None else ""
    return _buckets(ctx, what).keys(ctx.call.user, bucket, prefix)


@host_function("__faasm_s3_get_num_keys", "i32", "i32")
def get_num_keys(ctx, bucket_ptr):
    return len(_keys(ctx, bucket_ptr, None, "__faasm_s3_get_num_keys"))


@host_function("__faasm_s3_get_num_keys_with_prefix", "i32 i32", "i32")
def get_num_keys_with_prefix(ctx, bucket_ptr, prefix_ptr):
    return len(_keys(ctx, bucket_ptr, prefix_ptr, "__faasm_s3_get_num_keys_with_prefix"))


@host_function("__faasm_s3_list_keys", "i32 i32 i32")
def list_keys(ctx, bucket_ptr, ptrs, lens):
    what = "__faasm_s3_list_keys"
    _write_list(ctx, _keys(ctx, bucket_ptr, None, what), ptrs, lens, what)


@host_function("__faasm_s3_list_keys_with_prefix", "i32 i32 i32 i32")
def list_keys_with_prefix(ctx, bucket_ptr, prefix_ptr, ptrs, lens):
    what = "__faasm_s3_list_keys_with_prefix"
    _write_list(ctx, _keys(ctx, bucket_ptr, prefix_ptr, what), ptrs, lens, what)


@host_function("__faasm_s3_add_key_bytes", "i32 i32 i32 i32 i32", "i32")
def add_key_bytes(ctx, bucket_ptr, key_ptr, data_ptr, data_len, overwrite):
    """0 when stored; -1 when the key exists and ``overwrite`` is false."""
    what = "__faasm_s3_add_key_bytes"
    bucket = ctx.read_string(bucket_ptr, what)
    key = ctx.read_string(key_ptr, what)
    if data_len < 0:
        raise HostCallError(f"{what}: negative length {data_len}")
    data = ctx.read(data_ptr, data_len, what)
    stored = _buckets(ctx, what).put(ctx.call.user, bucket, key, data, overwrite=bool(overwrite))
    return 0 if stored else -1


@host_function("__faasm_s3_get_key_bytes", "i32 i32 i32 i32 i32", "i32")
def get_key_bytes(ctx, bucket_ptr, key_ptr, out_ptr_ptr, out_len_ptr, tolerate_missing):
    """Points ``*out_ptr_ptr`` at a guest copy of the bytes, ``*out_len_ptr`` = their
    length; 0. A missing key fails the call, or with ``tolerate_missing`` sets
    both to 0 and returns -1."""
    what = "__faasm_s3_get_key_bytes"
    bucket = ctx.read_string(bucket_ptr, what)
    key = ctx.read_string(key_ptr, what)
    ctx.check(out_ptr_ptr, 4, what)
    ctx.check(out_len_ptr, 4, what)
    try:
        data = _buckets(ctx, what).get(ctx.call.user, bucket, key)
    except NotFound:
        if not tolerate_missing:
            raise
        ctx.write(out_ptr_ptr, bytes(4), what)
        ctx.write(out_len_ptr, bytes(4), what)
        return -1
    ptr = ctx.place(data, what) if data else 0
    ctx.write(out_ptr_ptr, struct.pack("<I", ptr), what)
    ctx.write(out_len_ptr, struct.pack("<i", len(data)), what)
    return 0
