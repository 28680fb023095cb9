"""Batches: 1,000 calls in one request, next to 1,000 requests and bare Celery.

On one platform (one worker, ``--concurrency`` 2, the machine's two CPUs),
each round times three ways of getting 1,000 trivial calls run:

- **batch**: one planner EXECUTE_BATCH request of 1,000 messages (faasmctl's
  API, docs/COMPATIBILITY.md) to the invoke API;
- **requests**: 1,000 separate async calls to the invoke API, one after the
  other from one client (Faasm's seed API);
- **bare**: 1,000 no-op ``faasm.ping`` Celery tasks sent straight to the
  same workers' queue, results stored too.

For each: the drain rate, (n - 1) / (last - first finish), read from the
results' ``date_done`` (what the workers sustain once calls are queued), and
the end-to-end rate, n / (from the first byte sent to the last result stored).
Rounds rotate the order; medians and ratios to bare are printed. Goal: the
batch drains at >= 0.9 of the bare Celery rate.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

from deploy.processes import Platform, private_redis
from tests import wat

N, ROUNDS, CONCURRENCY = 1000, 3, 2
#: A call that does nothing: the platform's own per-call cost, not the function's.
NOOP = wat.module('(func (export "_start"))')


class Bench:
    def __init__(self, platform: Platform, redis_url: str):
        from faasm import redisdb
        from faasm.batches import Batches
        from faasm.settings import Settings
        from workers.app import create_celery

        settings = Settings().replace(redis_url=redis_url)
        self.app = create_celery(settings)
        self.batches = Batches(redisdb.connect(settings), settings.key_prefix, 3600)
        self.platform = platform
        self.session = requests.Session()

    def batch(self, n: int) -> tuple[float, float]:
        messages = [{"user": "bench", "function": "noop",
                     "input_data": base64.b64encode(b"x").decode()} for _ in range(n)]
        body = json.dumps({"http_type": "EXECUTE_BATCH", "payload": json.dumps(
            {"user": "bench", "function": "noop", "messages": messages})})
        started = time.time()
        r = self.session.post(self.platform.invoke_url, data=body)
        assert r.status_code == 200, r.text
        app_id = json.loads(r.text)["appId"]
        ids = [str(c["id"]) for c in self.batches.get(app_id)["calls"]]
        return self._rates(ids, started)

    def requests(self, n: int) -> tuple[float, float]:
        body = {"user": "bench", "function": "noop", "input_data": "x", "async": True}
        started = time.time()
        ids = []
        for _ in range(n):
            r = self.session.post(self.platform.invoke_url, json=body)
            assert r.status_code == 200, r.text
            ids.append(r.text)
        return self._rates(ids, started)

    def bare(self, n: int) -> tuple[float, float]:
        from workers.app import ASYNC_QUEUE, PING_TASK

        started = time.time()
        with self.app.producer_or_acquire() as producer:
            ids = [self.app.send_task(PING_TASK, queue=ASYNC_QUEUE, producer=producer).id
                   for _ in range(n)]
        return self._rates(ids, started)

    def _rates(self, ids: list[str], started: float) -> tuple[float, float]:
        """(drain rate, end-to-end rate), waiting with one MGET every 20 ms."""
        backend = self.app.backend
        keys = [backend.get_key_for_task(i) for i in ids]
        deadline = time.monotonic() + 300
        while True:
            # A worker records STARTED when it takes a call: wait for the ends.
            stored = [raw for raw in backend.client.mget(keys) if raw is not None
                      and json.loads(raw)["status"] in ("SUCCESS", "FAILURE", "REVOKED")]
            if len(stored) == len(keys):
                ended = time.time()
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(keys) - len(stored)} of {len(keys)} unfinished")
            time.sleep(0.02)
        metas = [json.loads(raw) for raw in stored]
        failed = [m for m in metas if m["status"] != "SUCCESS"]
        if failed:
            raise RuntimeError(f"{len(failed)} failed, e.g. {failed[0]['result']}")
        done = sorted(datetime.fromisoformat(m["date_done"]) for m in metas)
        drain = (len(done) - 1) / max((done[-1] - done[0]).total_seconds(), 1e-9)
        return drain, len(ids) / (ended - started)


def main() -> None:
    print(f"Batches: {N} trivial calls, one worker of {CONCURRENCY} processes, "
          f"{os.cpu_count()} CPUs, median of {ROUNDS} rounds:")
    with private_redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        platform = Platform(redis_url, Path(tmp), concurrency=CONCURRENCY).start()
        try:
            assert requests.put(f"{platform.upload_url}/f/bench/noop", data=NOOP).ok
            bench = Bench(platform, redis_url)
            ways = {"batch (1 request)": bench.batch, f"requests ({N} async)": bench.requests,
                    "bare Celery": bench.bare}
            for way in ways.values():  # every pool process loads the module; warm up
                way(50)
            rates: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
            names = list(ways)
            for i in range(ROUNDS):
                for name in names[i % 3:] + names[:i % 3]:
                    rates[name].append(ways[name](N))
        finally:
            platform.stop()
    medians = {name: (statistics.median(r[0] for r in runs),
                      statistics.median(r[1] for r in runs)) for name, runs in rates.items()}
    bare_drain, bare_e2e = medians["bare Celery"]
    print(f"  {'way':<22} {'drain/s':>8} {'x bare':>7} {'end-to-end/s':>13} {'x bare':>7}")
    for name, (drain, e2e) in medians.items():
        print(f"  {name:<22} {drain:>8.0f} {drain / bare_drain:>7.2f} {e2e:>13.0f} "
              f"{e2e / bare_e2e:>7.2f}")
    ratio = medians["batch (1 request)"][0] / bare_drain
    print(f"  goal: the batch drains at >= 0.9 of bare Celery: {ratio:.2f} "
          f"({'met' if ratio >= 0.9 else 'NOT met'})")


if __name__ == "__main__":
    main()
