"""Which workers are alive and which queues they consume: a registry in Redis.

Each worker's main process announces itself every :data:`BEAT` seconds
(``workers/tasks.py``); an entry not refreshed for :data:`STALE_AFTER`
seconds (a worker killed or its host lost) no longer counts. Reading it is
one Redis round trip, so the invoke API can check before each sync call that
some worker consumes the sync queue, and ``GET /health`` can list them,
without broadcasting to the workers.
"""

from __future__ import annotations

import json
import time

import redis

from faasm.redisdb import available

#: Seconds between a worker's announcements, and after which an entry is stale.
BEAT = 5.0
STALE_AFTER = 3 * BEAT


class WorkerRegistry:
    def __init__(self, client: redis.Redis, prefix: str):
        self.client = client
        self.key = f"{prefix}:workers"

    def announce(self, name: str, queues: list[str], concurrency: int, pid: int) -> None:
        """Record worker ``name`` as alive now, consuming ``queues``."""
        entry = {"name": name, "queues": sorted(queues), "concurrency": concurrency,
                 "pid": pid, "seen": time.time()}
        with available():
            self.client.hset(self.key, name, json.dumps(entry))

    def leave(self, name: str) -> None:
        with available():
            self.client.hdel(self.key, name)

    def live(self, now: float | None = None) -> list[dict]:
        """Every worker seen within :data:`STALE_AFTER` seconds, by name; stale entries
        are dropped."""
        now = time.time() if now is None else now
        with available():
            entries = self.client.hgetall(self.key)
        found, stale = [], []
        for name, raw in entries.items():
            try:
                entry = json.loads(raw)
            except ValueError:
                stale.append(name)
                continue
            if now - float(entry.get("seen", 0)) > STALE_AFTER:
                stale.append(name)
            else:
                found.append(entry)
        if stale:
            with available():
                self.client.hdel(self.key, *stale)
        return sorted(found, key=lambda e: e["name"])

    def consumers(self, queue: str) -> int:
        """How many live workers consume ``queue``."""
        return sum(queue in entry.get("queues", ()) for entry in self.live())

    def wait_for_consumer(self, queue: str, seconds: float) -> bool:
        """Whether a live worker consumes ``queue``, waiting up to ``seconds`` for one
        to announce itself (a worker starting with the platform)."""
        deadline = time.monotonic() + seconds
        while True:
            if self.consumers(queue):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.25, max(deadline - time.monotonic(), 0)))
