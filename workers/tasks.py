"""The worker's tasks: thin adapters from Celery messages to the core runtime.

Start a worker with ``celery -A workers.tasks worker`` (it consumes both
queues, the app's ``task_queues``).
"""

from __future__ import annotations

import multiprocessing
import os
import time

from celery.exceptions import Ignore
from celery.signals import worker_process_init
from celery.worker.control import control_command

from faasm.calls import Call
from faasm.errors import CallFailed, CallTimedOut
from faasm.settings import get_settings
from workers.app import CALL_TASK, FLUSH_COMMAND, PING_TASK, CallQueue, app
from workers.dispatch import CeleryDispatcher
from workers.observe import observer, riding_backend

#: Bumped by a flush in the worker's main process; pool children (forked
#: after this is created) compare it before each call and drop their caches.
_flush_generation = multiprocessing.RawValue("L", 0)
#: Seconds before a chained call's message, received while the call awaiting it
#: runs it inline, is looked at again.
REDELIVER_AFTER = 5


class _ProcessRunner:
    """This process's CallRunner, built lazily after the fork."""

    def __init__(self):
        self.pid = 0
        self.generation = 0
        self.runner = None

    def get(self):
        if self.pid != os.getpid():
            from faasm.runtime.worker import CallRunner

            settings = get_settings()
            dispatcher = CeleryDispatcher(app, CallQueue(app, settings))
            self.runner = CallRunner(settings, dispatcher)
            self.pid, self.generation = os.getpid(), _flush_generation.value
        elif self.generation != _flush_generation.value:
            self.runner.flush()
            self.generation = _flush_generation.value
        return self.runner


runner = _ProcessRunner()


@worker_process_init.connect
def _warm_up(**_):
    from workers.tracing import start_tracing

    start_tracing("faasm-worker")
    runner.get()


@app.task(name=CALL_TASK, bind=True, throws=(CallFailed,), Request="workers.observe:CallRequest")
def call(self, **message) -> str:
    """Run one call; a failed call raises CallFailed, so Celery records FAILURE."""
    parsed = Call.from_message(message)
    current = runner.get()
    if parsed.parent:
        taken = current.take(parsed)
        if taken == "later":
            # Running inline in the call awaiting it: come back then, without
            # holding this pool process (docs/CHAINING.md).
            self.apply_async(kwargs=message, task_id=self.request.id,
                             countdown=REDELIVER_AFTER,
                             time_limit=(self.request.timelimit or (None,))[0],
                             queue=(self.request.delivery_info or {}).get("routing_key"))
            raise Ignore()
        if taken == "done":
            raise Ignore()  # an awaiting call ran it inline and stored its outcome
    observer.started(parsed)
    started = time.monotonic()
    try:
        result = current.execute(parsed)
    except CallFailed as exc:
        outcome = "timeout" if isinstance(exc, CallTimedOut) else "failed"
        observer.finished(parsed, outcome, time.monotonic() - started,
                          getattr(exc, "stdout", b""), getattr(exc, "stderr", b""), exc.reason,
                          riding=riding_backend(self.backend))
        raise
    observer.finished(parsed, "success", time.monotonic() - started, result.stdout,
                      result.stderr, riding=riding_backend(self.backend))
    result.worker = f"{self.request.hostname}/{os.getpid()}"
    return result.to_message()


@app.task(name=PING_TASK)
def ping() -> str:
    """Does nothing: a worker health check, and the benchmarks' round-trip floor."""
    return "pong"


@control_command(name=FLUSH_COMMAND)
def flush(state) -> dict:
    """Drop every cached module and shared file in this worker's processes."""
    _flush_generation.value += 1
    return {"ok": "flushed"}
