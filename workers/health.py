"""The platform's health as ``GET /health`` reports it: Redis, the broker, the live
workers and the queues they consume, and how many calls wait in each queue."""

from __future__ import annotations

import time

from faasm.errors import first_line
from workers.app import ASYNC_QUEUE, SYNC_QUEUE

QUEUES = (SYNC_QUEUE, ASYNC_QUEUE)


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer here, not an error
        text = first_line(exc, type(exc).__name__)
        return {"ok": False, "error": f"{type(exc).__name__}: {text}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def queue_depths(app) -> dict[str, int]:
    """Calls waiting in each queue (not yet taken by a worker)."""
    from kombu.exceptions import ChannelError

    depths = {}
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:  # never declared, or empty (a Redis list that is gone)
                depths[queue] = 0
    return depths


def platform_health(queue) -> dict:
    """The report of ``GET /health`` for a :class:`workers.app.CallQueue`; ``ok`` is
    whether Redis and the broker answer and some worker consumes every queue."""
    from faasm import redisdb

    report: dict = {"redis": _timed(lambda: redisdb.connect(queue.settings).ping())}
    depths: dict[str, int] = {}

    def broker() -> None:
        depths.update(queue_depths(queue.app))

    report["broker"] = _timed(broker)
    try:
        workers = queue.registry.live() if report["redis"]["ok"] else []
    except Exception:  # noqa: BLE001 - Redis going away mid-report: no workers to list
        workers = []
    report["workers"] = [{"name": w["name"], "queues": w.get("queues", []),
                          "concurrency": w.get("concurrency"),
                          "seen_seconds_ago": round(time.time() - w["seen"], 1)}
                         for w in workers]
    report["queues"] = {name: {"depth": depths.get(name),
                               "consumers": sum(name in w.get("queues", ()) for w in workers)}
                        for name in QUEUES}
    problems = []
    if not report["redis"]["ok"]:
        problems.append(f"Redis does not answer: {report['redis']['error']}")
    if not report["broker"]["ok"]:
        problems.append(f"The broker does not answer: {report['broker']['error']}")
    for name, q in report["queues"].items():
        if report["redis"]["ok"] and not q["consumers"]:
            problems.append(f"No worker consumes {name}: calls sent there wait (start a worker: "
                            "`make run` does)")
    report["problems"] = problems
    report["ok"] = not problems
    return {"ok": report.pop("ok"), **report}
