"""Chaining: a call starting other calls and awaiting them, without deadlock.

A chained call is a real call (its own ID, record, Celery task). Awaiting it
must never deadlock, whatever the worker concurrency: if the awaited call is
still queued, the awaiting worker claims it and runs it inline, on its own
thread, nested inside the waiting call. The claim (see CallRecords.claim)
makes sure it runs exactly once: the worker that later receives its message
sees the claim and only waits for the result.

The queue itself is behind the :class:`Dispatcher` protocol, implemented with
Celery in ``workers/``: this module imports no Celery.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

from faasm.calls import Call, CallResult, Outcome
from faasm.errors import BadRequest, CallFailed, CallTimedOut, FaasmError
from faasm.functions import Functions
from faasm.records import CallRecords, ChainBudget


class Dispatcher(Protocol):
    def submit(self, call: Call) -> None:
        """Queue ``call`` for any worker."""

    def wait(self, call_id: int, timeout: float) -> Outcome | None:
        """The call's outcome, or None if it has not ended within ``timeout`` s."""

    def store(self, call_id: int, outcome: Outcome) -> None:
        """Record the outcome of a call run inline, for pollers and waiters."""


class MemoryDispatcher:
    """A :class:`Dispatcher` in this process's memory: calls are queued in
    ``submitted`` (nothing runs them unless awaited inline), outcomes kept in a
    dict, and a waiter wakes as soon as one is stored. For tests and tools; the
    contract suite (tests/integration/test_dispatchers.py) holds it and the
    Celery one to the same behaviour."""

    def __init__(self):
        self.submitted: list[Call] = []
        self.outcomes: dict[int, Outcome] = {}
        self._stored = threading.Condition()

    def submit(self, call: Call) -> None:
        self.submitted.append(call)

    def wait(self, call_id: int, timeout: float) -> Outcome | None:
        with self._stored:
            self._stored.wait_for(lambda: call_id in self.outcomes, max(timeout, 0.0))
            return self.outcomes.get(call_id)

    def store(self, call_id: int, outcome: Outcome) -> None:
        with self._stored:
            self.outcomes[call_id] = outcome
            self._stored.notify_all()


class Chaining:
    """Chain and await calls on behalf of running calls."""

    def __init__(self, records: CallRecords, functions: Functions, dispatcher: Dispatcher,
                 execute: Callable[[Call], CallResult], claim_ttl: Callable[[Call], float],
                 budget: ChainBudget | None = None):
        self.budget = budget or ChainBudget()
        self.records = records
        self.functions = functions
        self.dispatcher = dispatcher
        self.execute = execute
        self.claim_ttl = claim_ttl

    def chain(self, parent: Call, function: str, input: bytes, *, idx: int = 0,
              entry: str | None = None, func_ptr: int | None = None,
              python: bool | None = None) -> Call:
        """Issue and queue a call of ``function`` (of the parent's user).

        ``python`` None: whatever kind of function is uploaded under that name.
        """
        if python is None:
            python = self.functions.resolve(parent.user, function, None)
        call = self.records.issue(dict(
            user=parent.user, function=function, input=input, idx=idx, entry=entry,
            func_ptr=func_ptr, python=python,
            timeout=parent.timeout, parent=parent.id, root=parent.root_id,
            depth=parent.depth + 1), self.budget)
        self.dispatcher.submit(call)
        return call

    def await_call(self, caller: Call, call_id: int, deadline: float,
                   known: Call | None = None) -> Outcome:
        """Wait for ``call_id`` to end, running it inline if nobody has started it.

        ``known`` is the call itself when the caller chained it (so it can run
        inline); ``deadline`` is the caller's own time.monotonic() limit.
        """
        record = self.records.get(call_id)
        if record.get("user") != caller.user:
            raise BadRequest(f"call {call_id} belongs to another user")
        if known is not None:
            won, _ = self.records.claim(call_id, CallRecords.INLINE, self.claim_ttl(known))
            if won:
                return self._run_inline(known, deadline)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CallTimedOut(f"Call timed out awaiting call {call_id}")
            outcome = self.dispatcher.wait(call_id, min(remaining, 1.0))
            if outcome is not None:
                return outcome

    def _run_inline(self, call: Call, deadline: float) -> Outcome:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CallTimedOut(f"Call timed out before running call {call.id}")
        if call.timeout is None or call.timeout > remaining:
            call.timeout = remaining
        try:
            result = self.execute(call)
            result.worker = result.worker or f"inline@{socket.gethostname()}/{os.getpid()}"
            outcome = Outcome(result=result)
        except CallFailed as exc:
            outcome = Outcome(reason=exc.reason)
        except FaasmError as exc:
            outcome = Outcome(reason=exc.reason)
        except RecursionError:
            # The depth budget keeps inline nesting well under Python's stack; if a
            # deployment raises it too far, the deepest call still fails cleanly.
            outcome = Outcome(reason="Call failed: chained calls nested too deeply to run "
                                     "inline (lower FAASM_CHAIN_MAX_DEPTH)")
        self.dispatcher.store(call.id, outcome)
        return outcome
