"""Call IDs and call records.

A call ID is a positive integer from one Redis counter, so IDs are unique
across the cluster; it is also the call's Celery task id. Each issued ID has
a small record (who, what, when) kept for the result retention, so that
status polling can tell "never issued" and "expired" from "queued".

With a floor (``FAASM_CALL_ID_FLOOR``, faasm/idfloor.py) an ID is never
issued twice even when Redis loses data: the counter is used only below a
ceiling written to the floor file first, and only on the Redis run that set
it; a restarted Redis makes the next issue continue from the floor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import redis

from faasm.calls import Call
from faasm.errors import BadRequest, CallFailed, Expired, NotFound, Unavailable
from faasm.idfloor import IdFloor
from faasm.redisdb import available


@dataclass(frozen=True)
class ChainBudget:
    """How far one request may chain (docs/CHAINING.md); settings FAASM_CHAIN_*."""

    max_depth: int = 32
    max_fanout: int = 1000
    max_calls: int = 10_000


#: Lua: whether the ID counter may be used as it is. With the floor on
#: (ARGV[1] = '1'), the counter is trusted only on the Redis server run that
#: last raised it above the floor: a restarted Redis (new run_id) may have lost
#: writes, so the first issue after it re-bases the counter on the floor.
_RUN_ID = "string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')"
_GUARD = f"""
if ARGV[1] == '1' and redis.call('GET', KEYS[2]) ~= {_RUN_ID} then return -4 end
"""
#: Lua, after the INCR: an ID at or past the reserved block's end is not issued.
_IN_BLOCK = """
if ARGV[1] == '1' and id >= tonumber(redis.call('GET', KEYS[3]) or '0') then return -5 end
"""


#: Times an issuer raises the floor before giving up (only ever more than once
#: when other processes use up whole blocks in the meantime).
RAISE_ATTEMPTS = 10


def claim_key(prefix: str, call_id: int) -> str:
    """Set by whoever runs a chained call (a worker's task, or the call awaiting it)."""
    return f"{prefix}:call:{int(call_id)}:claim"


def started_key(prefix: str, call_id: int) -> str:
    """Set by the worker that takes a call: its status is then RUNNING, not QUEUED."""
    return f"{prefix}:call:{int(call_id)}:started"


class CallRecords:
    #: KEYS = counter, floor's run, floor's ceiling; ARGV = floor on, record
    #: prefix, retention, fields... INCR the counter and write the new call's
    #: record, in one round trip.
    _ISSUE = _GUARD + """
    local id = redis.call('INCR', KEYS[1])
    while redis.call('EXISTS', ARGV[2] .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
    """ + _IN_BLOCK + """
    local key = ARGV[2] .. id
    redis.call('HSET', key, unpack(ARGV, 4))
    redis.call('EXPIRE', key, ARGV[3])
    return id
    """
    #: The same for a chained call, within its root request's budgets, in one
    #: round trip: KEYS = counter, floor's run and ceiling, root's tree, parent's
    #: child count, cancel flag; ARGV = floor on, record prefix, retention, max
    #: calls per root, max fan-out, fields... Returns the ID, or -1 (cancelled),
    #: -2 (calls per root), -3 (fan-out), -4/-5 (the floor must be raised).
    _ISSUE_CHAINED = _GUARD + """
    if redis.call('EXISTS', KEYS[6]) == 1 then return -1 end
    if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[4]) then return -2 end
    local children = redis.call('INCR', KEYS[5])
    redis.call('EXPIRE', KEYS[5], ARGV[3])
    if children > tonumber(ARGV[5]) then return -3 end
    local id = redis.call('INCR', KEYS[1])
    while redis.call('EXISTS', ARGV[2] .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
    """ + _IN_BLOCK.replace("then return -5 end",
                            "then redis.call('DECR', KEYS[5]) return -5 end") + """
    local key = ARGV[2] .. id
    redis.call('HSET', key, unpack(ARGV, 6))
    redis.call('EXPIRE', key, ARGV[3])
    redis.call('SADD', KEYS[4], id)
    redis.call('EXPIRE', KEYS[4], ARGV[3])
    return id
    """
    #: KEYS = counter, floor's run, floor's ceiling; ARGV = old floor, new floor.
    #: Every ID issued is below the old floor: the counter continues from it.
    _REBASE = f"""
    if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then
        redis.call('SET', KEYS[1], ARGV[1])
    end
    if tonumber(redis.call('GET', KEYS[3]) or '0') < tonumber(ARGV[2]) then
        redis.call('SET', KEYS[3], ARGV[2])
    end
    redis.call('SET', KEYS[2], {_RUN_ID})
    """

    #: Issue many calls in one round trip, each under the ID its client chose when
    #: that ID is free (no live record), else a fresh one. The counter skips IDs
    #: that have a record (a chosen one), here and in the two scripts above, so it
    #: never issues a chosen ID while that call is kept. KEYS = counter, floor's
    #: run and ceiling; ARGV = floor on, record prefix, retention, number of
    #: calls, fields per call, strict, then per call: the chosen ID (0 = none)
    #: and its fields. Strict: a taken ID answers {-1}. With the floor on,
    #: nothing is written unless every ID it may issue is below the ceiling
    #: ({-5}: raise the floor above ARGV[7], the highest chosen ID, and above the
    #: counter plus the number of calls).
    _ISSUE_MANY = _GUARD.replace("return -4", "return {-4}") + """
    local n, nf, strict = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
    if ARGV[1] == '1' and math.max(tonumber(ARGV[7]), n + tonumber(redis.call('GET', KEYS[1])
        or '0')) >= tonumber(redis.call('GET', KEYS[3]) or '0') then return {-5} end
    local ids = {}
    for i = 1, n do
      local base = 8 + (i - 1) * (nf + 1)
      local wanted = tonumber(ARGV[base])
      local id
      if wanted > 0 and redis.call('EXISTS', ARGV[2] .. wanted) == 0 then
        id = wanted
      elseif wanted > 0 and strict then
        return {-1}
      else
        id = redis.call('INCR', KEYS[1])
        while redis.call('EXISTS', ARGV[2] .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
      end
      local key = ARGV[2] .. id
      redis.call('HSET', key, unpack(ARGV, base + 1, base + nf))
      redis.call('EXPIRE', key, ARGV[3])
      ids[i] = id
    end
    return ids
    """

    def __init__(self, client: redis.Redis, prefix: str, retention: int,
                 floor: Path | IdFloor | None = None):
        self.client = client
        self.counter_key = f"{prefix}:call-id"
        self.floor_keys = [f"{prefix}:call-id:run", f"{prefix}:call-id:ceiling"]
        self.record_prefix = f"{prefix}:call:"
        self.retention = retention
        #: Keeps IDs unique across Redis data loss (faasm/idfloor.py); None = off.
        self.floor = IdFloor(floor) if isinstance(floor, Path) else floor
        self._issue = client.register_script(self._ISSUE)
        self._issue_chained = client.register_script(self._ISSUE_CHAINED)
        self._rebase = client.register_script(self._REBASE)
        self._issue_many = client.register_script(self._ISSUE_MANY)

    def _issued(self, script, keys: list[str], args: list, above: tuple[int, int] = (0, 0)):
        """Run an issue script; raise the floor when it asks for it (above
        ``above`` = (an ID, a count): that ID, and the counter plus that count)
        and retry. Its answer: an ID, or a list of them."""
        flag = "1" if self.floor else "0"
        keys = [keys[0], *self.floor_keys, *keys[1:]]

        def run():
            answer = script(keys=keys, args=[flag, *args])
            first = int(answer[0]) if isinstance(answer, list) and answer else answer
            return answer, first in (-4, -5)

        with available():
            answer, again = run()
            if not again:
                return answer
            with self.floor.locked():
                # Retried under the lock: another process may have raised the floor
                # meanwhile, and others may use up a new block before this one does.
                for _ in range(RAISE_ATTEMPTS):
                    answer, again = run()
                    if not again:
                        return answer
                    self._raise_floor(keys[:3], above)
        raise Unavailable("Call IDs unavailable: the ID floor could not be raised")

    def _raise_floor(self, keys: list[str], above: tuple[int, int] = (0, 0)) -> None:
        counter = max(int(self.client.get(self.counter_key) or 0) + above[1], above[0])
        try:
            old, new = self.floor.raise_above(counter)
        except OSError as exc:
            raise Unavailable(f"Call IDs unavailable: cannot write the ID floor "
                              f"{self.floor.path}: {exc.strerror}") from None
        self._rebase(keys=keys, args=[old, new])

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
                call.id = int(self._issued(self._issue, [self.counter_key],
                                           [self.record_prefix, self.retention, *flat]))
                return call
            budget = budget or ChainBudget()
            if call.depth > budget.max_depth:
                self._refuse(call, f"chain depth limit reached: {budget.max_depth} "
                             "(FAASM_CHAIN_MAX_DEPTH)")
            answer = self._issued(
                self._issue_chained,
                [self.counter_key, self.tree_key(call.root),
                 f"{self.record_prefix}{call.parent}:children", self.cancel_key(call.root)],
                [self.record_prefix, self.retention, budget.max_calls, budget.max_fanout,
                 *flat])
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
        highest = max(int(w) for w in wanted) if wanted else 0
        ids = self._issued(self._issue_many, [self.counter_key], [
            self.record_prefix, self.retention, len(calls), width, int(strict), highest, *args],
            above=(highest, len(calls)))
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
        key = f"{self.record_prefix}{call_id}:claim"  # claim_key()
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
