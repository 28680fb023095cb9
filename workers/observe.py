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

from billiard.einfo import ExceptionWithTraceback
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, task_postrun, worker_ready, worker_shutdown
from celery.worker.request import Request

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
                    logger.debug("could not announce worker %s", self.name, exc_info=True)
                self.stop.wait(BEAT)
            try:
                registry.leave(self.name)
            except Exception:  # it ages out of the registry instead
                logger.debug("could not remove worker %s", self.name, exc_info=True)

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
    threading.Thread(target=_adopt_unprefixed_results, args=(sender.app,),
                     name="faasm-adopt-results", daemon=True).start()


def _adopt_unprefixed_results(app) -> None:
    """Results a platform of before keys carried the database stored stay pollable."""
    from workers.backend import adopt_unprefixed

    if not hasattr(app.backend, "task_keyprefix") or not hasattr(app.backend, "client"):
        return  # not a Redis result backend
    try:
        renamed = adopt_unprefixed(app.backend)
    except Exception:  # Redis away: they expire unread, as any result past retention
        logger.warning("could not rename results stored under old keys", exc_info=True)
        return
    if renamed:
        logger.info("renamed %d results stored under old keys (celery-task-meta-*)", renamed)


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
            from workers.app import REDIS_TRANSPORT, app

            settings = get_settings()
            self.client = redisdb.connect(settings)
            self.logs = CallLog(self.client, settings.key_prefix, settings.result_retention)
            self.metrics = CallMetrics(self.client, settings.key_prefix)
            # Over the Redis broker the worker's main process marks a call taken.
            self.marked_by_broker = app.conf.broker_transport == REDIS_TRANSPORT
            self.pid = os.getpid()

    def started(self, call: Call) -> None:
        """Mark the call taken (faasm.records.started_key): QUEUED becomes RUNNING.

        Over the Redis broker the worker's main process marked it already, with the
        broker's record of the message taken (workers/transport.py)."""
        try:
            self._ready()
            if self.marked_by_broker:
                return
            from faasm.records import started_key

            settings = get_settings()
            self.client.set(started_key(settings.key_prefix, call.id), b"1",
                            ex=settings.result_retention)
        except Exception:
            logger.warning("could not mark call %s started", call.id,
                           exc_info=get_settings().debug)

    def finished(self, call: Call, outcome: str, seconds: float, stdout: bytes = b"",
                 stderr: bytes = b"", reason: str | None = None, riding=None) -> None:
        """Store the call's logs and count it. ``riding``: the backend that will store
        the call's result (:func:`riding_backend`), whose round trip that stores it
        takes the writes too (workers/backend.py); None: written now."""
        try:
            self._ready()

            def write(pipe) -> None:
                self.logs.add(pipe, call.id, call.user, call.function, outcome, seconds,
                              stdout, stderr, reason)
                self.metrics.add(pipe, call.name, outcome, seconds)

            if riding is not None:
                riding.ride(str(call.id), write)
                return
            pipe = self.client.pipeline(transaction=False)
            write(pipe)
            pipe.execute()
        except Exception:
            logger.warning("could not store the logs and metrics of call %s", call.id,
                           exc_info=get_settings().debug)


def riding_backend(backend=None):
    """``backend`` (by default the app's, in this thread) if writes can go with its
    results (it is workers.backend's, on the records' Redis), else None."""
    from workers.app import app

    settings = get_settings()
    backend = app.backend if backend is None else backend
    if hasattr(backend, "ride") and settings.result_backend == settings.redis_url:
        return backend
    return None


@task_postrun.connect
def _flush_riders(task_id=None, task=None, **_):
    """Writes left waiting for a result that was never stored (an ignored task), on
    the backend they wait on: the task's."""
    backend = riding_backend(getattr(task, "backend", None))
    if backend is not None and task_id:
        try:
            backend.flush_riders(task_id)
        except Exception:
            logger.warning("could not store the logs and metrics of call %s", task_id,
                           exc_info=get_settings().debug)


observer = _Observer()


_counted: dict[str, None] = {}  # the last call IDs killed at their limit, oldest first


class CallRequest(Request):
    """A call's request in the worker's main process: a call past its hard time limit
    has its logs and metrics stored in the round trip that stores its failure, so
    whoever that failure wakes finds them written. Celery stores that failure when the
    pool reports the job failed (``on_failure``) or at the limit (``on_timeout``),
    whichever comes first, and again at the other."""

    def on_timeout(self, soft: bool, timeout: float) -> None:
        if soft:
            return super().on_timeout(soft, timeout)
        self._riding(TimeLimitExceeded(timeout), super().on_timeout, soft, timeout)

    def on_failure(self, exc_info, *args, **kwargs) -> None:
        exception = getattr(exc_info, "exception", None)
        if isinstance(exception, ExceptionWithTraceback):  # as the pool reports it
            exception = exception.exc
        if not isinstance(exception, TimeLimitExceeded):
            return super().on_failure(exc_info, *args, **kwargs)
        self._riding(exception, super().on_failure, exc_info, *args, **kwargs)

    def _riding(self, exception: TimeLimitExceeded, store, *args, **kwargs) -> None:
        # The backend the failure is stored by (not always the app's, in this thread).
        backend = riding_backend(self.task.backend)
        _count_timeout(self.id, self.kwargs, exception, backend)
        try:
            store(*args, **kwargs)
        finally:
            if backend is not None:  # a failure not stored (a cold shutdown): on their own
                _flush_riders(task_id=self.id, task=self.task)


@task_failure.connect
def _killed_at_its_limit(sender=None, task_id=None, exception=None, kwargs=None, **_):
    """A call past its hard time limit is killed with its pool process: the worker's
    main process counts it (its logs keep the reason only). Counted by CallRequest
    already, unless the task was run without it."""
    if isinstance(exception, TimeLimitExceeded):
        _count_timeout(task_id, kwargs, exception, None)


def _count_timeout(task_id, kwargs, exception: TimeLimitExceeded, backend) -> None:
    """Count a call killed at its limit, once; its writes ride with its failure when
    ``backend`` (the one that stores it) can take them."""
    # Celery reports a hard time limit twice (at the limit, and when the pool sees
    # the process gone), besides the signal: count it once.
    if not kwargs or task_id in _counted:
        return
    _counted[task_id] = None
    while len(_counted) > 1000:
        _counted.pop(next(iter(_counted)))
    from workers.app import failure_reason

    try:
        call = Call.from_message(kwargs)
    except Exception:  # noqa: BLE001 - a task that is not a call has no call to count
        return
    limit = float(exception.args[0]) if exception.args else 0.0
    observer.finished(call, "timeout", limit, reason=failure_reason(exception, "FAILURE"),
                      riding=backend)


class ExpectedFailures(logging.Filter):
    """A call that runs past its timeout is the user's doing, not the platform's: Celery
    logs it as three ERRORs, one with a traceback (its handler, the hard limit, the pool
    process killed). Say it once, at INFO, without a traceback (docs/OPERATING.md)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.startswith("Task handler raised error: TimeLimitExceeded"):
            return False  # "Hard time limit ... exceeded" says the same, with the call ID
        if text.startswith("Hard time limit"):
            record.msg, record.args = "%s: a call past its timeout, killed (expected)", (text,)
        elif "exited with 'signal 9 (SIGKILL)'" in text:
            record.msg, record.args = ("%s: a call killed at its timeout or cancelled "
                                       "(expected; otherwise the kernel's OOM killer?)", (text,))
        else:
            return True
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info = record.exc_text = None
        return True


for _name in ("celery.worker.request", "multiprocessing"):
    logging.getLogger(_name).addFilter(ExpectedFailures())
