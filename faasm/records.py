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
    def __init__(self, client: redis.Redis, prefix: str, retention: int):
        self.client = client
        self.counter_key = f"{prefix}:call-id"
        self.record_prefix = f"{prefix}:call:"
        self.retention = retention

    def next_id(self) -> int:
        with available():
            return int(self.client.incr(self.counter_key))

    def record(self, call: Call) -> None:
        """Remember that ``call`` was issued; expires with the result retention."""
        key = f"{self.record_prefix}{call.id}"
        fields = {"user": call.user, "function": call.function,
                  "python": int(call.python), "submitted": time.time()}
        if call.parent:
            fields["parent"] = call.parent
        with available():
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.retention)
            pipe.execute()

    def issue(self, call_fields: dict) -> Call:
        """A new call with a fresh ID, recorded."""
        call = Call(id=self.next_id(), **call_fields)
        self.record(call)
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
