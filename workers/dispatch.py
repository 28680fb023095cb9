"""The Celery implementation of faasm.chaining.Dispatcher, used inside workers."""

from __future__ import annotations

import logging
import socket
import threading

import celery
from celery import states
from celery.result import AsyncResult

from faasm.calls import Call, Outcome
from faasm.errors import CallFailed
from workers.app import CallQueue, await_result, outcome_of

log = logging.getLogger("faasm.worker")


class CeleryDispatcher:
    def __init__(self, app: celery.Celery, queue: CallQueue):
        self.app = app
        self.queue = queue
        self._events = None
        self._events_lock = threading.Lock()

    def submit(self, call: Call) -> None:
        self.queue.submit(call, sync=False)

    def wait(self, call_id: int, timeout: float) -> Outcome | None:
        result = AsyncResult(str(call_id), app=self.app)
        if not await_result(result, timeout):
            return None
        return outcome_of(result.state, result.result)

    def store(self, call_id: int, outcome: Outcome) -> None:
        backend = self.app.backend
        if outcome.ok:
            backend.store_result(str(call_id), outcome.result.to_message(), states.SUCCESS)
        else:
            backend.mark_as_failure(str(call_id), CallFailed(outcome.reason))
        self._announce(call_id, outcome)

    def _announce(self, call_id: int, outcome: Outcome) -> None:
        """Tell Flower a call run inline started and ended, as a worker would have.

        The worker that later receives its message only acknowledges it.
        """
        if not self.app.conf.worker_send_task_events:
            return
        uuid = str(call_id)
        try:
            with self._events_lock:
                if self._events is None:
                    self._events = self.app.events.Dispatcher(
                        self.app.connection_for_write(),
                        hostname=f"inline@{socket.gethostname()}", enabled=True)
                self._events.send("task-started", uuid=uuid)
                if outcome.ok:
                    self._events.send(
                        "task-succeeded", uuid=uuid,
                        runtime=sum(outcome.result.timings.values()),
                        result=f"{len(outcome.result.output)} bytes of output")
                else:
                    self._events.send("task-failed", uuid=uuid, exception=outcome.reason)
        except Exception:  # events are for the dashboard: never fail a call over them
            log.warning("could not send task events for inline call %s", uuid, exc_info=True)


