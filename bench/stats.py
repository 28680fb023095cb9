"""Timing helpers for the benchmarks."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def scale() -> float:
    """FAASM_BENCH_SCALE: how much of each sample to take (default 1; the test of
    `faasm bench` runs a twentieth)."""
    return float(os.environ.get("FAASM_BENCH_SCALE", "1"))


def scaled(n: int) -> int:
    """``n`` times :func:`scale`, at least 1."""
    return max(1, round(n * scale()))


def sample(fn: Callable[[], object], n: int, warmup: int = 20) -> list[float]:
    """Seconds taken by each of ``scaled(n)`` calls of ``fn`` (after ``warmup``
    untimed ones)."""
    n = scaled(n)
    for _ in range(min(warmup, n)):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, times: list[float], unit: str = "ms") -> str:
    scale = {"ms": 1e3, "us": 1e6}[unit]
    return (f"  {name:<44} p50 {p(times, 0.5) * scale:8.3f} {unit}   "
            f"p99 {p(times, 0.99) * scale:8.3f} {unit}   (n={len(times)})")


def median(times: list[float]) -> float:
    return statistics.median(times)
