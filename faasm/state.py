"""State: one byte array per (user, key), in Faasm's two tiers.

:class:`GlobalState` is the global tier, held in Redis: the upload API's
``/s/`` endpoints and every function of a user read and write the same
values. :class:`LocalTier` is a worker process's local tier, one copy of
each value shared by the calls that run there, read and written through the
host interface and moved to and from the global tier explicitly (push/pull),
as in Faasm; :class:`CallState` is what one call sees of both.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis
from redis.exceptions import LockError

from faasm.errors import BadRequest, CallTimedOut, LimitExceeded, NotFound, TooLarge
from faasm.names import check_name
from faasm.redisdb import available
from faasm.settings import STATE_MAX_VALUE, STATE_USER_LIMIT, GiB

#: Bytes of changed, unpushed copies a worker process keeps when no call uses them.
LOCAL_TIER_BYTES = 512 * 1024 * 1024

#: Stores ``ARGV[3..]`` (a whole value, or offset/bytes pairs written in place)
#: unless the value would pass ``ARGV[1]`` bytes (-1) or the user's state
#: would pass ``ARGV[2]`` bytes (-2, the usage counter in KEYS[2] field ARGV[4]).
#: Returns the value's new size.
_WRITE = """
local old = redis.call('STRLEN', KEYS[1])
local new = old
local whole = ARGV[3] == 'set'
if whole then
  new = string.len(ARGV[5])
else
  for i = 5, #ARGV, 2 do
    local finish = tonumber(ARGV[i]) + string.len(ARGV[i + 1])
    if finish > new then new = finish end
  end
end
if new > tonumber(ARGV[1]) then return -1 end
local used = tonumber(redis.call('HGET', KEYS[2], ARGV[4]) or '0')
if new > old and used + new - old > tonumber(ARGV[2]) then return -2 end
if whole then
  redis.call('SET', KEYS[1], ARGV[5])
else
  for i = 5, #ARGV, 2 do redis.call('SETRANGE', KEYS[1], tonumber(ARGV[i]), ARGV[i + 1]) end
end
if used + new - old <= 0 then redis.call('HDEL', KEYS[2], ARGV[4])
else redis.call('HSET', KEYS[2], ARGV[4], used + new - old) end
return new
"""

#: Appends ARGV[4] to the list KEYS[1] (its byte count in KEYS[3]) unless the
#: element passes ARGV[1] bytes (-1) or the user's usage would pass ARGV[2] (-2).
_APPEND = """
local size = string.len(ARGV[4])
if size > tonumber(ARGV[1]) then return -1 end
local used = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
if used + size > tonumber(ARGV[2]) then return -2 end
redis.call('RPUSH', KEYS[1], ARGV[4])
redis.call('INCRBY', KEYS[3], size)
redis.call('HSET', KEYS[2], ARGV[3], used + size)
return size
"""

#: Deletes KEYS[1] (a value, counted by its length), KEYS[2] (the byte count of
#: a list) and KEYS[4..], and gives their bytes back to user ARGV[1]'s usage in KEYS[3].
_DELETE = """
local freed = 0
if KEYS[1] ~= '' then freed = freed + redis.call('STRLEN', KEYS[1]) end
if KEYS[2] ~= '' then freed = freed + tonumber(redis.call('GET', KEYS[2]) or '0') end
local existed = 0
for i = 1, #KEYS do
  if i ~= 3 and KEYS[i] ~= '' then existed = existed + redis.call('DEL', KEYS[i]) end
end
local used = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0') - freed
if used <= 0 then redis.call('HDEL', KEYS[3], ARGV[1])
else redis.call('HSET', KEYS[3], ARGV[1], used) end
return existed
"""

#: The value, or its size when over ARGV[1] bytes (so it never crosses the wire).
_GET_WITHIN = """
local size = redis.call('STRLEN', KEYS[1])
if size > tonumber(ARGV[1]) then return size end
return redis.call('GET', KEYS[1])
"""


class GlobalState:
    """The global tier: values and appended lists in Redis, within budgets.

    ``max_value`` bounds one value (and one appended element), ``user_limit``
    the bytes a user keeps in all (values and appended elements; kept in a
    usage hash updated by the same script as each write), ``call_memory`` the
    bytes of copies one call may hold (:class:`CallState`; FAASM_MEMORY_LIMIT).
    Writes past a budget raise :class:`~faasm.errors.TooLarge`.
    """

    def __init__(self, client: redis.Redis, prefix: str, *, max_value: int = STATE_MAX_VALUE,
                 user_limit: int = STATE_USER_LIMIT, call_memory: int = GiB):
        self.client = client
        self.prefix = prefix
        self.max_value = max_value
        self.user_limit = user_limit
        self.call_memory = call_memory
        self._usage_key = f"{prefix}:state-bytes"
        self._write = client.register_script(_WRITE)
        self._append = client.register_script(_APPEND)
        self._delete = client.register_script(_DELETE)
        self._get_within = client.register_script(_GET_WITHIN)

    @classmethod
    def from_settings(cls, client: redis.Redis, settings) -> GlobalState:
        return cls(client, settings.key_prefix, max_value=settings.state_max_value,
                   user_limit=settings.state_user_limit, call_memory=settings.memory_limit)

    def key(self, user: str, key: str) -> str:
        return f"{self.prefix}:state:{check_name(user, 'user')}:{check_name(key, 'key')}"

    def _appended_key(self, user: str, key: str) -> str:
        return f"{self.prefix}:appended:{check_name(user, 'user')}:{check_name(key, 'key')}"

    def _lock_key(self, user: str, key: str) -> str:
        return f"{self.prefix}:lock:{check_name(user, 'user')}:{check_name(key, 'key')}"

    def check_size(self, size: int, what: str) -> None:
        """TooLarge if a value of ``size`` bytes is over the largest value."""
        if size > self.max_value:
            raise TooLarge(f"{what}: {size} bytes is over the {self.max_value} byte "
                           "state value limit (FAASM_STATE_MAX_VALUE)")

    def usage(self, user: str) -> int:
        """Bytes of state ``user`` keeps (values and appended elements)."""
        with available():
            return int(self.client.hget(self._usage_key, user) or 0)

    def get(self, user: str, key: str) -> bytes:
        value = self.get_or_none(user, key)
        if value is None:
            raise NotFound(f"State {user}/{key} not found")
        return value

    def get_or_none(self, user: str, key: str, limit: int | None = None) -> bytes | None:
        """The value (None if missing); with ``limit``, TooLarge instead of fetching a
        value over ``limit`` bytes."""
        name = self.key(user, key)
        with available():
            if limit is None:
                return self.client.get(name)
            value = self._get_within(keys=[name], args=[limit])
        if isinstance(value, int):
            raise TooLarge(f"state {key}: its {value} bytes would pass the call's "
                           f"{limit} byte memory limit (FAASM_MEMORY_LIMIT)")
        return value

    def set(self, user: str, key: str, value: bytes) -> None:
        self._store(user, key, ["set", bytes(value)])

    def set_ranges(self, user: str, key: str, ranges: list[tuple[int, bytes]]) -> None:
        """Write slices in place (one round trip); the value grows as needed."""
        args = ["ranges"]
        for offset, data in ranges:
            args += [offset, bytes(data)]
        self._store(user, key, args)

    def _store(self, user: str, key: str, args: list) -> None:
        name = self.key(user, key)
        with available():
            done = self._write(keys=[name, self._usage_key],
                               args=[self.max_value, self.user_limit, args[0], user, *args[1:]])
        self._refused(done, f"state {user}/{key}")

    def _refused(self, done: int, what: str) -> None:
        if done == -1:
            raise TooLarge(f"{what}: over the {self.max_value} byte state value limit "
                           "(FAASM_STATE_MAX_VALUE)")
        if done == -2:
            raise TooLarge(f"{what}: the user's state would pass its {self.user_limit} bytes "
                           "(FAASM_STATE_USER_LIMIT)")

    def delete(self, user: str, key: str) -> bool:
        """Remove the value and the appended list of ``key``; whether either existed."""
        appended = self._appended_key(user, key)
        with available():
            existed = self._delete(keys=[self.key(user, key), f"{appended}:bytes",
                                         self._usage_key, appended], args=[user])
        return existed > 0

    def append(self, user: str, key: str, element: bytes) -> None:
        name = self._appended_key(user, key)
        with available():
            done = self._append(keys=[name, self._usage_key, f"{name}:bytes"],
                                args=[self.max_value, self.user_limit, user, bytes(element)])
        self._refused(done, f"append to state {user}/{key}")

    def read_appended(self, user: str, key: str, n_elems: int) -> list[bytes]:
        name = self._appended_key(user, key)
        if n_elems <= 0:
            return []
        with available():
            return self.client.lrange(name, 0, n_elems - 1)

    def clear_appended(self, user: str, key: str) -> None:
        appended = self._appended_key(user, key)
        with available():
            self._delete(keys=["", f"{appended}:bytes", self._usage_key, appended], args=[user])

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
        return [(name.decode()[len(head):], size) for name, size in zip(names, sizes, strict=True)]

    def lock(self, user: str, key: str, hold_for: float) -> redis.lock.Lock:
        """A cluster-wide lock on the key; it expires after ``hold_for`` s if never released."""
        return self.client.lock(self._lock_key(user, key), timeout=hold_for, sleep=0.005,
                                thread_local=False)


@dataclass
class LocalValue:
    """A host's copy of one state value, and which slices of it changed."""

    data: bytearray
    dirty: list[tuple[int, int]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: Changed here and not pushed since (kept across calls; never refreshed over).
    modified: bool = False
    #: Calls of this process using it now.
    users: int = 0

    def mark_dirty(self, offset: int, length: int) -> None:
        if length > 0:
            self.dirty.append((offset, offset + length))
            self.modified = True

    def dirty_ranges(self) -> list[tuple[int, int]]:
        """The dirty slices, merged."""
        merged: list[list[int]] = []
        for start, end in sorted(self.dirty):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return [(s, e) for s, e in merged]


class LocalTier:
    """One worker process's local copies of state values, shared by all its calls
    (Faasm's host tier): a value changed here (an offset write, a write through
    ``faasmReadStatePtr``) and not pushed is what the next call on this process
    sees. A clean copy (equal to what was last pulled or pushed) is refreshed from
    the global value the first time each call touches it, so the upload API's and
    other hosts' pushes are seen without a pull; a changed one is kept until it is
    pushed or pulled over. Clean copies are dropped when no call uses them; changed
    ones are kept up to ``max_bytes`` in all, the oldest dropped beyond (as a
    restarted host would lose them).
    """

    def __init__(self, max_bytes: int = LOCAL_TIER_BYTES):
        self.max_bytes = max_bytes
        self.values: dict[tuple[str, str], LocalValue] = {}
        self.lock = threading.Lock()

    def take(self, user: str, key: str, pull) -> LocalValue:
        """The shared copy for a call that starts using it: made or refreshed with
        ``pull()`` (the global bytes, or None) unless it holds local changes."""
        with self.lock:
            local = self.values.get((user, key))
            if local is None:
                local = self.values[(user, key)] = LocalValue(bytearray())
                local.modified = True  # not pulled yet: nobody refreshes it under us
                fresh = True
            else:
                fresh = not local.modified
            local.users += 1
        if fresh:
            try:
                with local.lock:
                    local.data[:] = pull() or b""
                    local.dirty.clear()
                    local.modified = False
            except BaseException:
                self.give_back(user, key, local)
                raise
        return local

    def clear(self) -> None:
        """Drop every copy no call is using, unpushed changes included (a flush)."""
        with self.lock:
            for name, value in list(self.values.items()):
                if not value.users:
                    del self.values[name]

    def give_back(self, user: str, key: str, local: LocalValue) -> None:
        """A call stopped using ``local``: drop it if clean and unused; keep the total small."""
        with self.lock:
            local.users = max(0, local.users - 1)
            if self.values.get((user, key)) is not local or local.users:
                return
            if not local.modified:
                del self.values[(user, key)]
                return
            total = sum(len(v.data) for v in self.values.values())
            for name, value in list(self.values.items()):  # oldest first
                if total <= self.max_bytes:
                    break
                if not value.users:
                    del self.values[name]
                    total -= len(value.data)


def _check_span(size: int, offset: int, length: int, what: str) -> None:
    if size < 0 or offset < 0 or length < 0 or offset + length > size:
        raise BadRequest(f"{what}: slice [{offset}, {offset}+{length}) is outside the "
                         f"value's {size} bytes")


class CallState:
    """What one call sees of its user's state: the process's local copies (a
    :class:`LocalTier`; without one, the call has copies of its own) and the
    global values.

    ``deadline`` (a time.monotonic() value) bounds how long a global lock may
    be waited for; global locks still held when the call ends are released.
    The copies the call uses together may hold at most the store's
    ``call_memory`` bytes (a pull or a size past it fails the call:
    LimitExceeded).

    A ``total_len`` names the size a value is made with: a value already
    bigger keeps its size (a read of its first bytes reads them), a smaller
    one is zero-padded to it, as in Faasm.
    """

    def __init__(self, store: GlobalState, user: str, deadline: float,
                 tier: LocalTier | None = None):
        self.store = store
        self.user = user
        self.deadline = deadline
        self.tier = tier if tier is not None else LocalTier()
        #: The local copies this call uses, by key.
        self.values: dict[str, LocalValue] = {}
        self._global_locks: dict[str, redis.lock.Lock] = {}

    def held(self) -> int:
        """Bytes the call's copies hold."""
        return sum(len(local.data) for local in self.values.values())

    def _room(self, key: str) -> int:
        """Bytes the copy of ``key`` may have within the call's memory."""
        own = self.values.get(key)
        return self.store.call_memory - self.held() + (len(own.data) if own else 0)

    def _hold(self, key: str, size: int) -> None:
        """LimitExceeded unless the copy of ``key`` may grow to ``size`` bytes."""
        self.store.check_size(size, f"state {key}")
        room = self._room(key)
        if size > room:
            raise LimitExceeded(
                f"state {key}: {size} bytes would take the call's state copies past its "
                f"{self.store.call_memory} byte memory limit (FAASM_MEMORY_LIMIT)")

    def _pull(self, key: str) -> bytes | None:
        try:
            return self.store.get_or_none(self.user, key, limit=self._room(key))
        except TooLarge as exc:
            raise LimitExceeded(exc.reason) from None

    # -- local copies ------------------------------------------------------
    def _take(self, key: str, pull: bool = True) -> LocalValue:
        """The call's local copy of ``key``: the tier's, pulled on this call's first use
        unless it holds local changes (or, with ``pull`` False, emptied instead)."""
        local = self.values.get(key)
        if local is None:
            check_name(key, "key")
            local = self.tier.take(self.user, key,
                                   (lambda: self._pull(key)) if pull else (lambda: None))
            self.values[key] = local
            if self.held() > self.store.call_memory:  # a copy changed by earlier calls
                raise LimitExceeded(
                    f"state {key}: {len(local.data)} bytes would take the call's state copies "
                    f"past its {self.store.call_memory} byte memory limit (FAASM_MEMORY_LIMIT)")
        return local

    def value(self, key: str, total_len: int | None = None) -> LocalValue:
        """The local copy (pulled on this call's first use unless it holds local
        changes; a missing value is empty), sized to at least ``total_len``."""
        local = self._take(key)
        if total_len is not None:
            if total_len < 0:
                raise BadRequest(f"state {key}: a value's size cannot be {total_len}")
            if len(local.data) < total_len:
                self._hold(key, total_len)
                local.data.extend(bytes(total_len - len(local.data)))
        return local

    def size(self, key: str) -> int:
        return len(self.value(key).data)

    def read(self, key: str) -> bytes:
        return bytes(self.value(key).data)

    def read_offset(self, key: str, total_len: int, offset: int, length: int) -> bytes:
        local = self.value(key, total_len)
        _check_span(len(local.data), offset, length, f"read of state {key}")
        return bytes(local.data[offset:offset + length])

    def write(self, key: str, data: bytes) -> None:
        """Set the whole value, locally and globally."""
        local = self._take(key, pull=False)
        self._hold(key, len(data))
        self.store.set(self.user, key, data)
        local.data[:] = data
        local.dirty.clear()
        local.modified = False

    def write_offset(self, key: str, total_len: int, offset: int, data: bytes) -> None:
        local = self.value(key, total_len)
        _check_span(len(local.data), offset, len(data), f"write to state {key}")
        local.data[offset:offset + len(data)] = data
        local.mark_dirty(offset, len(data))

    def flag_dirty(self, key: str, total_len: int) -> None:
        local = self.value(key, total_len)
        local.mark_dirty(0, len(local.data))

    def flag_offset_dirty(self, key: str, total_len: int, offset: int, length: int) -> None:
        local = self.value(key, total_len)
        _check_span(len(local.data), offset, length, f"dirty flag on state {key}")
        local.mark_dirty(offset, length)

    # -- moving between tiers ---------------------------------------------
    def push(self, key: str) -> None:
        local = self.value(key)
        self.store.set(self.user, key, local.data)
        local.dirty.clear()
        local.modified = False

    def push_partial(self, key: str) -> None:
        local = self.value(key)
        ranges = local.dirty_ranges()
        if ranges:
            self.store.set_ranges(self.user, key,
                                  [(s, bytes(local.data[s:e])) for s, e in ranges])
        local.dirty.clear()
        local.modified = False

    def pull(self, key: str, total_len: int | None = None) -> None:
        local = self._take(key, pull=False)
        kept = bytes(local.data)
        local.data[:] = b""  # the room for the pull is the call's memory without it
        try:
            pulled = self._pull(key)
        except BaseException:
            local.data[:] = kept
            raise
        local.data[:] = pulled or b""
        local.dirty.clear()
        local.modified = False
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
        """End of call: release every global lock still held, and the local copies."""
        try:
            for key in list(self._global_locks):
                self.unlock_global(key)
        finally:
            for key, local in self.values.items():
                self.tier.give_back(self.user, key, local)
            self.values = {}
