"""The worker's tasks: thin adapters from Celery messages to the core runtime.

Start a worker with ``celery -A workers.tasks worker -Q faasm-sync,faasm-async``.
"""

from __future__ import annotations

import multiprocessing
import os

from celery.signals import worker_process_init
from celery.worker.control import control_command

from faasm.calls import Call
from faasm.errors import CallFailed
from faasm.settings import get_settings
from faasm.storage import open_storage
from workers.app import CALL_TASK, FLUSH_COMMAND, PING_TASK, app

#: Bumped by a flush in the worker's main process; pool children (forked
#: after this is created) compare it before each call and drop their caches.
_flush_generation = multiprocessing.RawValue("L", 0)


class _Runtime:
    """This process's runtime, built lazily after the fork."""

    def __init__(self):
        self.pid = 0
        self.generation = 0
        self.wasm = None

    def get(self):
        if self.pid != os.getpid():
            from faasm.runtime.executor import WasmRuntime

            settings = get_settings()
            self.wasm = WasmRuntime(settings, open_storage(settings.storage))
            self.pid, self.generation = os.getpid(), _flush_generation.value
        elif self.generation != _flush_generation.value:
            self.wasm.flush()
            self.generation = _flush_generation.value
        return self.wasm


runtime = _Runtime()


@worker_process_init.connect
def _warm_up(**_):
    runtime.get()


@app.task(name=CALL_TASK, bind=True, throws=(CallFailed,))
def call(self, **message) -> dict:
    """Run one call; a failed call raises CallFailed, so Celery records FAILURE."""
    parsed = Call.from_message(message)
    if parsed.python:
        raise CallFailed("Python functions cannot run yet on this platform version")
    result = runtime.get().execute(parsed)
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

