"""The Celery implementation of faasm.chaining.Dispatcher, used inside workers."""

from __future__ import annotations

import celery
from celery import states
from celery.result import AsyncResult

from faasm.calls import Call, CallResult
from faasm.chaining import Outcome
from faasm.errors import CallFailed
from workers.app import CallQueue, await_result, failure_reason


class CeleryDispatcher:
    def __init__(self, app: celery.Celery, queue: CallQueue):
        self.app = app
        self.queue = queue

    def submit(self, call: Call) -> None:
        self.queue.submit(call, sync=False)

    def wait(self, call_id: int, timeout: float) -> Outcome | None:
        result = AsyncResult(str(call_id), app=self.app)
        if not await_result(result, timeout):
            return None
        if result.state == states.SUCCESS:
            return Outcome(result=CallResult.from_message(result.result))
        return Outcome(reason=failure_reason(result.result, result.state))

    def store(self, call_id: int, outcome: Outcome) -> None:
        backend = self.app.backend
        if outcome.ok:
            backend.store_result(str(call_id), outcome.result.to_message(), states.SUCCESS)
        else:
            backend.mark_as_failure(str(call_id), CallFailed(outcome.reason))


