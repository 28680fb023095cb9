"""Throughput: async calls drained by 1, 2 and 4 worker processes, next to bare Celery.

For each worker size (one Celery worker, ``--concurrency`` 1, 2, 4) and each
broker (Redis; RabbitMQ too when one answers at ``FAASM_BENCH_AMQP_URL``,
default the local guest account), it measures two drains on the same worker:

- **calls**: async calls of a trivial wasm function, each issued like the
  invoke API does (call ID + record in Redis, ``CallQueue.submit``) and its
  result stored in the result backend;
- **bare**: no-op ``faasm.ping`` Celery tasks, results stored too.

The worker stops consuming (Celery's ``cancel_consumer``) while a batch is
queued, then resumes; the rate is (n - 1) / (last - first finish time), read
from the results' ``date_done``, so neither the producer nor the worker's
start-up is timed. Rounds alternate calls and bare drains; the medians and
their ratio are printed (goal >= 0.8).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from deploy.processes import Platform, private_redis
from tests import wat
from workers.app import ASYNC_QUEUE, SYNC_QUEUE

SIZES = (1, 2, 4)
BATCH, ROUNDS = 1000, 5


def _answers(url: str) -> bool:
    import kombu
    import kombu.exceptions

    try:
        with kombu.Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except (OSError, kombu.exceptions.KombuError):
        return False


class Drain:
    """Fills the async queue while the worker does not consume it, then times the drain."""

    def __init__(self, app, settings, records):
        from workers.app import CallQueue

        self.app = app
        self.queue = CallQueue(app, settings)
        self.records = records

    def _paused(self, fill) -> list:
        self.app.control.cancel_consumer(ASYNC_QUEUE, reply=True, timeout=2)
        try:
            results = fill()
        finally:
            self.app.control.add_consumer(ASYNC_QUEUE, reply=True, timeout=2)
        return results

    def calls(self, n: int) -> float:
        def fill():
            fields = {"user": "bench", "function": "hello", "input": b"x", "python": False}
            return [self.queue.submit(self.records.issue(fields), sync=False)
                    for _ in range(n)]
        return self._rate(self._paused(fill))

    def bare(self, n: int) -> float:
        from workers.app import PING_TASK

        return self._rate(self._paused(
            lambda: [self.app.send_task(PING_TASK, queue=ASYNC_QUEUE) for _ in range(n)]))

    def _rate(self, results: list) -> float:
        """Tasks per second between the first and the last result stored.

        Waits by reading all the stored results in one MGET every 50 ms rather
        than awaiting each: the bench shares the CPUs with the worker, and
        awaiting results one by one cost ~0.5 ms of CPU per task.
        """
        backend = self.app.backend
        keys = [backend.get_key_for_task(r.id) for r in results]
        deadline = time.monotonic() + 300
        while True:
            stored = [raw for raw in backend.client.mget(keys) if raw is not None]
            if len(stored) == len(keys):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(keys) - len(stored)} of {len(keys)} tasks unfinished")
            time.sleep(0.05)
        metas = [json.loads(raw) for raw in stored]
        failed = [meta for meta in metas if meta["status"] != "SUCCESS"]
        if failed:
            raise RuntimeError(f"{len(failed)} tasks failed, e.g. {failed[0]['result']}")
        done = sorted(datetime.fromisoformat(meta["date_done"]) for meta in metas)
        return (len(done) - 1) / max((done[-1] - done[0]).total_seconds(), 1e-9)


def measure(redis_url: str, data: Path, concurrency: int, broker_env: dict) -> tuple:
    """(calls/s, bare/s) medians on one worker of ``concurrency`` processes."""
    import requests

    from faasm import redisdb
    from faasm.records import CallRecords
    from faasm.settings import Settings
    from workers.app import create_celery

    platform = Platform(redis_url, data, concurrency=concurrency, **broker_env).start()
    try:
        assert requests.put(f"{platform.upload_url}/f/bench/hello", data=wat.HELLO).ok
        settings = Settings().replace(redis_url=redis_url,
                                      broker_url=broker_env.get("FAASM_BROKER_URL", ""))
        app = create_celery(settings)
        drain = Drain(app, settings, CallRecords(redisdb.connect(settings),
                                                 settings.key_prefix, 3600))
        drain.calls(50)  # every pool process loads the module, connections warm up
        drain.bare(50)
        calls, bare = [], []
        for _ in range(ROUNDS):
            calls.append(drain.calls(BATCH))
            bare.append(drain.bare(BATCH))
        return statistics.median(calls), statistics.median(bare)
    finally:
        platform.stop()


def main() -> None:
    amqp = os.environ.get("FAASM_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
    brokers = {"redis": {}}
    if amqp and _answers(amqp):
        brokers["rabbitmq"] = {"FAASM_BROKER_URL": amqp}
    print(f"Throughput: async calls of a trivial function drained by one worker "
          f"(batches of {BATCH}, median of {ROUNDS}; {os.cpu_count()} CPUs):")
    print(f"  {'broker':<9} {'processes':>9} {'calls/s':>9} {'bare/s':>9} {'ratio':>6}")
    ratios = []
    with private_redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        for broker, env in brokers.items():
            if env:
                _purge(env["FAASM_BROKER_URL"])
            for size in SIZES:
                started = time.monotonic()
                calls, bare = measure(redis_url, Path(tmp) / f"{broker}{size}", size, env)
                ratios.append(calls / bare)
                print(f"  {broker:<9} {size:>9} {calls:>9.0f} {bare:>9.0f} "
                      f"{calls / bare:>6.2f}   ({time.monotonic() - started:.0f} s)", flush=True)
    print(f"  goal: calls/bare >= 0.8; lowest measured {min(ratios):.2f}")


def _purge(url: str) -> None:
    """Drop calls left in RabbitMQ's queues by an earlier run."""
    import kombu

    with kombu.Connection(url) as conn:
        for name in (SYNC_QUEUE, ASYNC_QUEUE):
            kombu.Queue(name, channel=conn.default_channel).purge()


if __name__ == "__main__":
    main()
