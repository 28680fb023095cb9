"""What each call printed and how it ended, kept in Redis for the result retention.

A worker stores one entry per finished call (``faasm logs ID``): its
captured stdout and stderr, the failure reason, the outcome and how long it
ran; and appends the call ID to its function's recent-calls stream, which
``faasm logs USER FUNCTION --follow`` reads. The per-function stream keeps
the last :data:`STREAM_LENGTH` calls.
"""

from __future__ import annotations

import time

import redis

from faasm.calls import b64decode, b64encode
from faasm.names import check_name
from faasm.redisdb import available

#: Calls each function's stream keeps.
STREAM_LENGTH = 200
#: Outcomes of a finished call.
OUTCOMES = ("success", "failed", "timeout")


class CallLog:
    def __init__(self, client: redis.Redis, prefix: str, retention: int):
        self.client = client
        self.prefix = prefix
        self.retention = retention

    def entry_key(self, call_id: int) -> str:
        return f"{self.prefix}:log:{int(call_id)}"

    def stream_key(self, user: str, function: str) -> str:
        return f"{self.prefix}:logstream:{check_name(user, 'user')}/" \
               f"{check_name(function, 'function')}"

    def add(self, pipe, call_id: int, user: str, function: str, outcome: str,
            seconds: float, stdout: bytes = b"", stderr: bytes = b"",
            reason: str | None = None) -> None:
        """Queue the writes of one finished call on ``pipe`` (a Redis pipeline)."""
        key = self.entry_key(call_id)
        pipe.hset(key, mapping={
            "user": user, "function": function, "outcome": outcome,
            "seconds": f"{seconds:.6f}", "finished": f"{time.time():.3f}",
            "stdout": b64encode(stdout or b""), "stderr": b64encode(stderr or b""),
            "error": reason or ""})
        pipe.expire(key, self.retention)
        stream = self.stream_key(user, function)
        pipe.xadd(stream, {"id": str(call_id), "outcome": outcome},
                  maxlen=STREAM_LENGTH, approximate=True)
        pipe.expire(stream, self.retention)

    def get(self, call_id: int) -> dict | None:
        """The call's entry, or None if it has not finished (or is past retention)."""
        with available():
            raw = self.client.hgetall(self.entry_key(call_id))
        if not raw:
            return None
        entry = {k.decode(): v.decode() for k, v in raw.items()}
        return {"id": int(call_id), "user": entry["user"], "function": entry["function"],
                "outcome": entry["outcome"], "seconds": float(entry["seconds"]),
                "finished": float(entry["finished"]),
                "stdout": b64decode(entry["stdout"]), "stderr": b64decode(entry["stderr"]),
                "error": entry["error"] or None}

    def recent(self, user: str, function: str, after: str = "0-0",
               count: int = 100) -> tuple[list[int], str]:
        """IDs of the function's calls that finished after stream position ``after``
        ("$" for "from now on"), oldest first, and the position to ask from next."""
        stream = self.stream_key(user, function)
        with available():
            if after == "$":
                last = self.client.xrevrange(stream, count=1)
                return [], last[0][0].decode() if last else "0-0"
            found = self.client.xrange(stream, min=f"({after}" if after != "0-0" else "-",
                                       count=count)
        ids = [int(fields[b"id"]) for _, fields in found]
        return ids, found[-1][0].decode() if found else after
