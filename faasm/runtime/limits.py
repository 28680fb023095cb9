"""Per-call limits: wall clock (epoch interruption), memory, output sizes."""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

import wasmtime

from faasm.settings import Settings

#: Epoch tick: the granularity of the wall-clock limit.
TICK_SECONDS = 0.01


@dataclass(frozen=True)
class Limits:
    timeout: float
    memory: int
    output: int
    stdout: int

    @classmethod
    def for_call(cls, settings: Settings, timeout: float | None) -> Limits:
        chosen = settings.call_timeout if timeout is None else timeout
        return cls(timeout=min(chosen, settings.max_call_timeout),
                   memory=settings.memory_limit, output=settings.output_limit,
                   stdout=settings.stdout_limit)

    def deadline_ticks(self) -> int:
        return max(1, math.ceil(self.timeout / TICK_SECONDS))


class EpochTicker:
    """A daemon thread advancing the engine's epoch every TICK_SECONDS.

    Started on first use in the process that runs calls (never before a fork).
    """

    def __init__(self, engine: wasmtime.Engine):
        self.engine = engine
        self._pid = 0
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                threading.Thread(target=self._run, name="faasm-epoch", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            self.engine.increment_epoch()


def describe_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"
