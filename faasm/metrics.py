"""Counters of finished calls, kept in Redis so every API process reports the same
numbers: calls by function and outcome, and a histogram of call durations.

Workers add to them as calls end (``workers/tasks.py``); ``GET /metrics``
(``api/metrics.py``) turns a :meth:`CallMetrics.snapshot` into Prometheus
metrics. A histogram is kept per function as counts per bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from faasm.redisdb import available

#: Upper bounds of the call duration buckets, seconds (+Inf is implied).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                    60.0, 120.0, 300.0)


@dataclass
class Snapshot:
    #: (function, outcome) -> calls
    calls: dict[tuple[str, str], int] = field(default_factory=dict)
    #: function -> calls per bucket (not cumulative; the last is past every bound)
    buckets: dict[str, list[int]] = field(default_factory=dict)
    #: function -> total seconds
    seconds: dict[str, float] = field(default_factory=dict)


class CallMetrics:
    def __init__(self, client: redis.Redis, prefix: str):
        self.client = client
        self.key = f"{prefix}:metrics"

    def add(self, pipe, function: str, outcome: str, seconds: float) -> None:
        """Queue the counting of one finished call on ``pipe`` (a Redis pipeline)."""
        bucket = next((i for i, bound in enumerate(DURATION_BUCKETS) if seconds <= bound),
                      len(DURATION_BUCKETS))
        pipe.hincrby(self.key, f"calls|{function}|{outcome}", 1)
        pipe.hincrby(self.key, f"bucket|{function}|{bucket}", 1)
        pipe.hincrbyfloat(self.key, f"seconds|{function}", seconds)

    def snapshot(self) -> Snapshot:
        with available():
            raw = self.client.hgetall(self.key)
        snap = Snapshot()
        for name, value in raw.items():
            kind, _, rest = name.decode().partition("|")
            if kind == "calls":
                function, _, outcome = rest.rpartition("|")
                snap.calls[(function, outcome)] = int(value)
            elif kind == "bucket":
                function, _, index = rest.rpartition("|")
                counts = snap.buckets.setdefault(function, [0] * (len(DURATION_BUCKETS) + 1))
                if index.isdigit() and int(index) < len(counts):
                    counts[int(index)] = int(value)
            elif kind == "seconds":
                snap.seconds[rest] = float(value)
        return snap
