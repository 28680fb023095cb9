"""Call IDs and call records.

A call ID is a positive integer from one Redis counter, so IDs are unique
across the cluster; it is also the call's Celery task id. Each issued ID has
a small record (who, what, when) kept for the result retention, so that
status polling can tell "never issued" and "expired" from "queued".
"""

from __future__ import annotations

import time

import redis

from faasm.calls import Call
from faasm.errors import Expired, NotFound
from faasm.redisdb import available


class CallRecords:
    #: INCR the counter and write the new call's record, in one round trip.
    _ISSUE = """
    local id = redis.call('INCR', KEYS[1])
    local key = ARGV[1] .. id
    redis.call('HSET', key, unpack(ARGV, 3))
    redis.call('EXPIRE', key, ARGV[2])
    return id
    """

    def __init__(self, client: redis.Redis, prefix: str, retention: int):
        self.client = client
        self.counter_key = f"{prefix}:call-id"
        self.record_prefix = f"{prefix}:call:"
        self.retention = retention
        self._issue = client.register_script(self._ISSUE)

    def issue(self, call_fields: dict) -> Call:
        """A new call with a fresh ID, recorded; the record expires with the retention."""
        call = Call(id=0, **call_fields)
        fields = {"user": call.user, "function": call.function,
                  "python": int(call.python), "submitted": time.time()}
        if call.parent:
            fields["parent"] = call.parent
        flat = [str(item) for pair in fields.items() for item in pair]
        with available():
            call.id = int(self._issue(keys=[self.counter_key],
                                      args=[self.record_prefix, self.retention, *flat]))
        return call

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
