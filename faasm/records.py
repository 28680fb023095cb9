"""Call IDs and call records.

A call ID is a positive integer from one Redis counter, so IDs are unique
across the cluster; it is also the call's Celery task id. Each issued ID has
a small record (who, what, when) kept for the result retention, so that
status polling can tell "never issued" and "expired" from "queued".
"""

from __future__ import annotations

import time

import redis

from dataclasses import dataclass

from faasm.calls import Call
from faasm.errors import BadRequest, CallFailed, Expired, NotFound
from faasm.redisdb import available


@dataclass(frozen=True)
class ChainBudget:
    """How far one request may chain (docs/CHAINING.md); settings FAASM_CHAIN_*."""

    max_depth: int = 32
    max_fanout: int = 1000
    max_calls: int = 10_000


class CallRecords:
    #: INCR the counter and write the new call's record, in one round trip.
    _ISSUE = """
    local id = redis.call('INCR', KEYS[1])
    while redis.call('EXISTS', ARGV[1] .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
    local key = ARGV[1] .. id
    redis.call('HSET', key, unpack(ARGV, 3))
    redis.call('EXPIRE', key, ARGV[2])
    return id
    """
    #: The same for a chained call, within its root request's budgets, in one
    #: round trip: KEYS = counter, root's tree, parent's child count, cancel flag;
    #: ARGV = record prefix, retention, max calls per root, max fan-out, fields...
    #: Returns the ID, or -1 (cancelled), -2 (calls per root), -3 (fan-out).
    _ISSUE_CHAINED = """
    if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
    if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[3]) then return -2 end
    local children = redis.call('INCR', KEYS[3])
    redis.call('EXPIRE', KEYS[3], ARGV[2])
    if children > tonumber(ARGV[4]) then return -3 end
    local id = redis.call('INCR', KEYS[1])
    while redis.call('EXISTS', ARGV[1] .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
    local key = ARGV[1] .. id
    redis.call('HSET', key, unpack(ARGV, 5))
    redis.call('EXPIRE', key, ARGV[2])
    redis.call('SADD', KEYS[2], id)
    redis.call('EXPIRE', KEYS[2], ARGV[2])
    return id
    """

    #: Issue many calls in one round trip, each under the ID its client chose when
    #: that ID is free (no live record), else a fresh one. The counter skips IDs
    #: that have a record (a chosen one), here and in the two scripts above, so it
    #: never issues a chosen ID while that call is kept. ARGV = record prefix,
    #: retention, number of calls, fields per call, strict, then per call: the
    #: chosen ID (0 = none) and its fields. Strict: a taken ID answers {-1}.
    _ISSUE_MANY = """
    local n, nf, strict = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
    local ids = {}
    for i = 1, n do
      local base = 6 + (i - 1) * (nf + 1)
      local wanted = tonumber(ARGV[base])
      local id
      if wanted > 0 and redis.call('EXISTS', ARGV[1] .. wanted) == 0 then
        id = wanted
      elseif wanted > 0 and strict then
        return {-1}
      else
        id = redis.call('INCR', KEYS[1])
        while redis.call('EXISTS', ARGV[1] .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
      end
      local key = ARGV[1] .. id
      redis.call('HSET', key, unpack(ARGV, base + 1, base + nf))
      redis.call('EXPIRE', key, ARGV[2])
      ids[i] = id
    end
    return ids
    """

    def __init__(self, client: redis.Redis, prefix: str, retention: int):
        self.client = client
        self.counter_key = f"{prefix}:call-id"
        self.record_prefix = f"{prefix}:call:"
        self.retention = retention
        self._issue = client.register_script(self._ISSUE)
        self._issue_chained = client.register_script(self._ISSUE_CHAINED)
        self._issue_many = client.register_script(self._ISSUE_MANY)

    def issue(self, call_fields: dict, budget: ChainBudget | None = None) -> Call:
        """A new call with a fresh ID, recorded; the record expires with the retention.

        A chained call (one with a ``parent``) is issued within ``budget``: past
        its depth, its root request's call count or its parent's fan-out, or once
        the root request is cancelled, it is refused with CallFailed and the
        reason is written on the root call's record (its /status says so).
        """
        call = Call(id=0, **call_fields)
        fields = {"user": call.user, "function": call.function,
                  "python": int(call.python), "submitted": time.time()}
        if call.parent:
            fields.update(parent=call.parent, root=call.root, depth=call.depth)
        flat = [str(item) for pair in fields.items() for item in pair]
        with available():
            if not call.parent:
                call.id = int(self._issue(keys=[self.counter_key],
                                          args=[self.record_prefix, self.retention, *flat]))
                return call
            budget = budget or ChainBudget()
            if call.depth > budget.max_depth:
                self._refuse(call, f"chain depth limit reached: {budget.max_depth} "
                             "(FAASM_CHAIN_MAX_DEPTH)")
            answer = int(self._issue_chained(
                keys=[self.counter_key, self.tree_key(call.root),
                      f"{self.record_prefix}{call.parent}:children",
                      self.cancel_key(call.root)],
                args=[self.record_prefix, self.retention, budget.max_calls,
                      budget.max_fanout, *flat]))
        if answer == -1:
            raise CallFailed(f"Call {call.root} was cancelled")
        if answer == -2:
            self._refuse(call, f"calls per request limit reached: {budget.max_calls} "
                         "(FAASM_CHAIN_MAX_CALLS)")
        if answer == -3:
            self._refuse(call, f"fan-out limit reached: call {call.parent} may chain "
                         f"{budget.max_fanout} calls (FAASM_CHAIN_MAX_FANOUT)")
        call.id = answer
        return call

    def issue_many(self, calls_fields: list[dict], wanted: list[int] | None = None,
                   strict: bool = False, extra: dict | None = None) -> list[Call]:
        """New calls for a whole batch, recorded in one round trip.

        ``wanted[i]`` is the ID the client chose for call ``i`` (0: none). A
        chosen ID in use (or repeated) gets a fresh ID instead, or, with
        ``strict``, raises BadRequest. ``extra`` fields go on every record.
        """
        calls = [Call(id=0, **f) for f in calls_fields]
        wanted = wanted or [0] * len(calls)
        now = str(time.time())
        args: list[str] = []
        width = 0
        for call, chosen in zip(calls, wanted, strict=True):
            fields = {"user": call.user, "function": call.function,
                      "python": int(call.python), "submitted": now, **(extra or {})}
            flat = [str(item) for pair in fields.items() for item in pair]
            width = len(flat)
            args += [str(max(0, int(chosen))), *flat]
        with available():
            ids = self._issue_many(keys=[self.counter_key], args=[
                self.record_prefix, self.retention, len(calls), width, int(strict), *args])
        if ids and int(ids[0]) == -1:
            raise BadRequest(f"Call id {wanted[0]} is in use: choose another (or none)")
        for call, call_id in zip(calls, ids, strict=True):
            call.id = int(call_id)
        return calls

    def tree(self, root: int) -> dict[int, dict]:
        """The records of ``root`` and every call its request started, by ID."""
        with available():
            members = sorted({root, *(int(m) for m in self.client.smembers(self.tree_key(root)))})
            pipe = self.client.pipeline(transaction=False)
            for call_id in members:
                pipe.hgetall(f"{self.record_prefix}{call_id}")
            found = pipe.execute()
        return {call_id: {k.decode(): v.decode() for k, v in record.items()}
                for call_id, record in zip(members, found, strict=True) if record}

    def _refuse(self, call: Call, reason: str) -> None:
        """Refuse a chained call: the root's record keeps the first reason."""
        key = f"{self.record_prefix}{call.root}"
        with available():
            pipe = self.client.pipeline(transaction=False)
            pipe.hsetnx(key, "limit", reason)
            pipe.expire(key, self.retention)
            pipe.execute()
        raise CallFailed(f"Chain refused: {reason}")

    # -- whole requests: a root call and every call it started ---------------
    def tree_key(self, root: int) -> str:
        return f"{self.record_prefix}{root}:tree"

    def cancel_key(self, root: int) -> str:
        return f"{self.record_prefix}{root}:cancelled"

    def cancel(self, root: int) -> list[int]:
        """Mark ``root``'s request cancelled (no call of it may chain or start);
        returns the IDs of every call it started, the root first."""
        with available():
            pipe = self.client.pipeline(transaction=False)
            pipe.set(self.cancel_key(root), 1, ex=self.retention)
            pipe.smembers(self.tree_key(root))
            _, members = pipe.execute()
        return [root, *sorted(int(m) for m in members)]

    def cancelled(self, root: int) -> bool:
        with available():
            return bool(self.client.exists(self.cancel_key(root)))

    def get(self, call_id: int) -> dict:
        """The record of ``call_id``; NotFound if never issued, Expired if too old."""
        with available():
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(f"{self.record_prefix}{call_id}")
            pipe.get(self.counter_key)
            record, last = pipe.execute()
        if record:
            return {k.decode(): v.decode() for k, v in record.items()}
        if last is not None and call_id <= int(last):
            raise Expired(f"Call {call_id} expired (results are kept "
                          f"{self.retention} s)")
        raise NotFound(f"Call {call_id} not found")

    # -- claims: who runs a call -------------------------------------------
    # A call runs exactly once: either a worker takes its message, or a call
    # awaiting it runs it inline (so awaiting can never deadlock). Whoever
    # sets the claim first runs it; the claim says which kind of runner.
    TASK, INLINE = "task", "inline"

    def claim(self, call_id: int, runner: str, ttl: float) -> tuple[bool, str]:
        """Try to claim ``call_id`` for ``runner``: (won, kind of the holder)."""
        key = f"{self.record_prefix}{call_id}:claim"
        with available():
            pipe = self.client.pipeline(transaction=False)
            pipe.set(key, runner, nx=True, ex=max(1, int(ttl)))
            pipe.get(key)
            won, holder = pipe.execute()
        return bool(won), holder.decode() if holder else ""

    def reclaim(self, call_id: int, runner: str, ttl: float) -> None:
        """Take over a claim whose runner is known to be gone."""
        with available():
            self.client.set(f"{self.record_prefix}{call_id}:claim", runner,
                            ex=max(1, int(ttl)))
