"""What a worker tells about itself and its calls, besides their results.

- The announcer puts the worker in the registry of live workers every few
  seconds (faasm/fleet.py), from its main process.
- The observer stores each finished call's logs and counts it in the metrics
  (faasm/calllog.py, faasm/metrics.py), from the pool process that ran it,
  or from the main process for a call killed at its hard time limit.
"""

from __future__ import annotations

import logging
import os
import threading

from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, worker_ready, worker_shutdown

from faasm.calls import Call
from faasm.settings import get_settings

logger = logging.getLogger("faasm.worker")


class _Announcer:
    """Announces this worker in the registry (faasm/fleet.py) every few seconds."""

    def __init__(self):
        self.stop = threading.Event()
        self.name = None

    def start(self, consumer) -> None:
        from faasm import redisdb
        from faasm.fleet import BEAT, WorkerRegistry

        registry = WorkerRegistry(redisdb.connect(get_settings()), get_settings().key_prefix)
        self.name = consumer.hostname
        queues = [q.name for q in consumer.task_consumer.queues]
        concurrency = getattr(consumer.controller, "concurrency", 0) or 0

        def beat() -> None:
            while not self.stop.is_set():
                try:
                    registry.announce(self.name, queues, concurrency, os.getpid())
                except Exception:  # Redis away: announce again next beat
                    pass
                self.stop.wait(BEAT)
            try:
                registry.leave(self.name)
            except Exception:
                pass

        self.thread = threading.Thread(target=beat, name="faasm-announce", daemon=True)
        self.thread.start()

    def end(self) -> None:
        if self.name is not None:
            self.stop.set()
            self.thread.join(5)


announcer = _Announcer()


@worker_ready.connect
def _announce(sender=None, **_):
    announcer.start(sender)


@worker_shutdown.connect
def _leave(**_):
    announcer.end()


class _Observer:
    """Stores each finished call's logs and counts it in the metrics, in one round trip
    (faasm/calllog.py, faasm/metrics.py); never fails the call."""

    def __init__(self):
        self.pid = 0

    def _ready(self) -> None:
        if self.pid != os.getpid():
            from faasm import redisdb
            from faasm.calllog import CallLog
            from faasm.metrics import CallMetrics

            settings = get_settings()
            self.client = redisdb.connect(settings)
            self.logs = CallLog(self.client, settings.key_prefix, settings.result_retention)
            self.metrics = CallMetrics(self.client, settings.key_prefix)
            self.pid = os.getpid()

    def finished(self, call: Call, outcome: str, seconds: float, stdout: bytes = b"",
                 stderr: bytes = b"", reason: str | None = None) -> None:
        try:
            self._ready()
            pipe = self.client.pipeline(transaction=False)
            self.logs.add(pipe, call.id, call.user, call.function, outcome, seconds,
                          stdout, stderr, reason)
            self.metrics.add(pipe, call.name, outcome, seconds)
            pipe.execute()
        except Exception:
            logger.warning("could not store the logs and metrics of call %s", call.id,
                           exc_info=get_settings().debug)


observer = _Observer()


_counted: dict[str, None] = {}  # the last call IDs killed at their limit, oldest first


@task_failure.connect
def _killed_at_its_limit(sender=None, task_id=None, exception=None, kwargs=None, **_):
    """A call past its hard time limit is killed with its pool process: the worker's
    main process counts it (its logs keep the reason only)."""
    if not isinstance(exception, TimeLimitExceeded) or not kwargs or task_id in _counted:
        return
    # Celery reports a hard time limit twice (at the limit, and when the pool sees
    # the process gone): count it once.
    _counted[task_id] = None
    while len(_counted) > 1000:
        _counted.pop(next(iter(_counted)))
    from workers.app import failure_reason

    try:
        call = Call.from_message(kwargs)
    except Exception:
        return
    limit = float(exception.args[0]) if exception.args else 0.0
    observer.finished(call, "timeout", limit, reason=failure_reason(exception, "FAILURE"))
