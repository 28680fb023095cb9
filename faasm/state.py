"""State: one byte array per (user, key), in Faasm's two tiers.

:class:`GlobalState` is the global tier, held in Redis: the upload API's
``/s/`` endpoints and every function of a user read and write the same
values. :class:`CallState` is a call's local tier: its own copies of the
values it touches, read and written through the host interface and moved to
and from the global tier explicitly (push/pull), as in Faasm.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis
from redis.exceptions import LockError

from faasm.errors import BadRequest, CallTimedOut, NotFound
from faasm.names import check_name
from faasm.redisdb import available

#: Largest state value a function may create (its total_len).
MAX_STATE_BYTES = 512 * 1024 * 1024


class GlobalState:
    def __init__(self, client: redis.Redis, prefix: str):
        self.client = client
        self.prefix = prefix

    def key(self, user: str, key: str) -> str:
        return f"{self.prefix}:state:{check_name(user, 'user')}:{check_name(key, 'key')}"

    def _appended_key(self, user: str, key: str) -> str:
        return f"{self.prefix}:appended:{check_name(user, 'user')}:{check_name(key, 'key')}"

    def _lock_key(self, user: str, key: str) -> str:
        return f"{self.prefix}:lock:{check_name(user, 'user')}:{check_name(key, 'key')}"

    def get(self, user: str, key: str) -> bytes:
        value = self.get_or_none(user, key)
        if value is None:
            raise NotFound(f"State {user}/{key} not found")
        return value

    def get_or_none(self, user: str, key: str) -> bytes | None:
        name = self.key(user, key)
        with available():
            return self.client.get(name)

    def set(self, user: str, key: str, value: bytes) -> None:
        name = self.key(user, key)
        with available():
            self.client.set(name, bytes(value))

    def set_ranges(self, user: str, key: str, ranges: list[tuple[int, bytes]]) -> None:
        """Write slices in place (one round trip); the value grows as needed."""
        name = self.key(user, key)
        with available():
            pipe = self.client.pipeline(transaction=True)
            for offset, data in ranges:
                pipe.setrange(name, offset, bytes(data))
            pipe.execute()

    def append(self, user: str, key: str, element: bytes) -> None:
        name = self._appended_key(user, key)
        with available():
            self.client.rpush(name, bytes(element))

    def read_appended(self, user: str, key: str, n_elems: int) -> list[bytes]:
        name = self._appended_key(user, key)
        if n_elems <= 0:
            return []
        with available():
            return self.client.lrange(name, 0, n_elems - 1)

    def clear_appended(self, user: str, key: str) -> None:
        name = self._appended_key(user, key)
        with available():
            self.client.delete(name)

    def keys(self, user: str) -> list[tuple[str, int]]:
        """Every state key of ``user`` with its value's size, sorted by key."""
        head = self.key(user, "x")[:-1]
        with available():
            pattern = "".join("\\" + c if c in "*?[]\\" else c for c in head) + "*"
            names = sorted(self.client.scan_iter(match=pattern, count=1000))
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.strlen(name)
            sizes = pipe.execute() if names else []
        return [(name.decode()[len(head):], size) for name, size in zip(names, sizes)]

    def delete(self, user: str, key: str) -> bool:
        """Remove the value and its appended list; whether there was a value."""
        with available():
            removed = self.client.delete(self.key(user, key))
            self.client.delete(self._appended_key(user, key))
        return bool(removed)

    def lock(self, user: str, key: str, hold_for: float) -> redis.lock.Lock:
        """A cluster-wide lock on the key; it expires after ``hold_for`` s if never released."""
        return self.client.lock(self._lock_key(user, key), timeout=hold_for, sleep=0.005,
                                thread_local=False)


@dataclass
class LocalValue:
    """A call's copy of one state value, and which slices of it changed."""

    data: bytearray
    dirty: list[tuple[int, int]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def mark_dirty(self, offset: int, length: int) -> None:
        if length > 0:
            self.dirty.append((offset, offset + length))

    def dirty_ranges(self) -> list[tuple[int, int]]:
        """The dirty slices, merged."""
        merged: list[list[int]] = []
        for start, end in sorted(self.dirty):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return [(s, e) for s, e in merged]


def _check_span(total_len: int, offset: int, length: int, what: str) -> None:
    if total_len < 0 or offset < 0 or length < 0 or offset + length > total_len:
        raise BadRequest(f"{what}: slice [{offset}, {offset}+{length}) is outside the "
                         f"value's {total_len} bytes")
    if total_len > MAX_STATE_BYTES:
        raise BadRequest(f"{what}: {total_len} bytes is over the {MAX_STATE_BYTES} byte "
                         "state limit")


class CallState:
    """The local tier of one call: copies of its user's state values.

    ``deadline`` (a time.monotonic() value) bounds how long a global lock may
    be waited for; global locks still held when the call ends are released.
    """

    def __init__(self, store: GlobalState, user: str, deadline: float):
        self.store = store
        self.user = user
        self.deadline = deadline
        self.values: dict[str, LocalValue] = {}
        self._global_locks: dict[str, redis.lock.Lock] = {}

    # -- local copies ------------------------------------------------------
    def value(self, key: str, total_len: int | None = None) -> LocalValue:
        """The local copy, pulled on first use (a missing value is empty), sized
        to at least ``total_len`` when given."""
        local = self.values.get(key)
        if local is None:
            pulled = self.store.get_or_none(self.user, key)
            local = self.values[key] = LocalValue(bytearray(pulled or b""))
        if total_len is not None:
            _check_span(total_len, 0, 0, f"state {key}")
            if len(local.data) < total_len:
                local.data.extend(bytes(total_len - len(local.data)))
        return local

    def size(self, key: str) -> int:
        return len(self.value(key).data)

    def read(self, key: str) -> bytes:
        return bytes(self.value(key).data)

    def read_offset(self, key: str, total_len: int, offset: int, length: int) -> bytes:
        _check_span(total_len, offset, length, f"read of state {key}")
        return bytes(self.value(key, total_len).data[offset:offset + length])

    def write(self, key: str, data: bytes) -> None:
        """Set the whole value, locally and globally."""
        local = self.values.get(key)
        if local is None:
            local = self.values[key] = LocalValue(bytearray())
        local.data[:] = data
        local.dirty.clear()
        self.store.set(self.user, key, local.data)

    def write_offset(self, key: str, total_len: int, offset: int, data: bytes) -> None:
        _check_span(total_len, offset, len(data), f"write to state {key}")
        local = self.value(key, total_len)
        local.data[offset:offset + len(data)] = data
        local.mark_dirty(offset, len(data))

    def flag_dirty(self, key: str, total_len: int) -> None:
        local = self.value(key, total_len)
        local.mark_dirty(0, len(local.data))

    def flag_offset_dirty(self, key: str, total_len: int, offset: int, length: int) -> None:
        _check_span(total_len, offset, length, f"dirty flag on state {key}")
        self.value(key, total_len).mark_dirty(offset, length)

    # -- moving between tiers ---------------------------------------------
    def push(self, key: str) -> None:
        local = self.value(key)
        self.store.set(self.user, key, local.data)
        local.dirty.clear()

    def push_partial(self, key: str) -> None:
        local = self.value(key)
        ranges = local.dirty_ranges()
        if ranges:
            self.store.set_ranges(self.user, key,
                                  [(s, bytes(local.data[s:e])) for s, e in ranges])
        local.dirty.clear()

    def pull(self, key: str, total_len: int | None = None) -> None:
        pulled = self.store.get_or_none(self.user, key)
        local = self.values.get(key)
        if local is None:
            local = self.values[key] = LocalValue(bytearray())
        local.data[:] = pulled or b""
        local.dirty.clear()
        if total_len is not None:
            self.value(key, total_len)

    # -- append-only lists -------------------------------------------------
    def append(self, key: str, element: bytes) -> None:
        self.store.append(self.user, key, element)

    def read_appended(self, key: str, n_elems: int) -> bytes:
        elements = self.store.read_appended(self.user, key, n_elems)
        if len(elements) < n_elems:
            raise BadRequest(f"state {key} has {len(elements)} appended elements, "
                             f"not {n_elems}")
        return b"".join(elements)

    def clear_appended(self, key: str) -> None:
        self.store.clear_appended(self.user, key)

    # -- locks ---------------------------------------------------------------
    def lock_global(self, key: str) -> None:
        if key in self._global_locks:
            raise BadRequest(f"global lock on state {key} is already held by this call")
        remaining = self.deadline - time.monotonic()
        lock = self.store.lock(self.user, key, hold_for=max(remaining, 1.0) + 5.0)
        with available():
            if not lock.acquire(blocking=True, blocking_timeout=max(remaining, 0.001)):
                raise CallTimedOut(f"Call timed out waiting for the global lock on {key}")
        self._global_locks[key] = lock

    def unlock_global(self, key: str) -> None:
        lock = self._global_locks.pop(key, None)
        if lock is None:
            raise BadRequest(f"global lock on state {key} is not held by this call")
        try:
            with available():
                lock.release()
        except LockError:
            pass  # it expired: someone else may hold it now; nothing of ours to release

    def lock_local(self, key: str) -> None:
        self.value(key).lock.acquire()

    def unlock_local(self, key: str) -> None:
        try:
            self.value(key).lock.release()
        except RuntimeError:
            raise BadRequest(f"local lock on state {key} is not held") from None

    def release(self) -> None:
        """End of call: release every global lock still held."""
        for key in list(self._global_locks):
            self.unlock_global(key)
