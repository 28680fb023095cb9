"""Sync invoke latency against the architecture's floor, and the worker's own cost.

Prints, from one run on one machine:
- sync invoke p50/p99 of a trivial function through the real platform;
- the floor: a minimal Falcon endpoint under the same gunicorn settings
  awaiting a no-op Celery task over the same Redis (bench/floor.py);
- a bare Celery round trip from Python (send_task + get);
- the ratio invoke/floor (goal <= 1.2x);
- the worker's own per-call cost: fresh instance + run + captured stdout
  (goal <= 0.2 ms median).
Invoke and floor are measured in alternating rounds so drift hits both alike.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import requests

from bench.stats import p, row, sample
from deploy.processes import Platform, free_port, private_redis
from tests import wat

ROUNDS, PER_ROUND = 5, 200


def worker_cost(data_dir: Path) -> tuple[list[float], list[float]]:
    """In-process: (whole execute incl. module lookup, instance+run+stdout only)."""
    from faasm.calls import Call
    from faasm.runtime.compile import upload_wasm
    from faasm.runtime.executor import WasmRuntime
    from faasm.settings import Settings
    from faasm.storage import open_storage

    storage = open_storage(str(data_dir / "inproc"))
    upload_wasm(storage, "bench", "hello", wat.HELLO)
    runtime = WasmRuntime(Settings(), storage)
    call = Call(id=1, user="bench", function="hello", input=b"x" * 1024)
    whole, run_only = [], []
    for _ in range(3000):
        result = runtime.execute(call)
        whole.append(result.timings["load"] + result.timings["run"])
        run_only.append(result.timings["run"])
    return whole[500:], run_only[500:]


def main() -> None:
    with private_redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        os.environ["FAASM_REDIS_URL"] = redis_url  # for the bare Celery round trip
        platform = Platform(redis_url, data, concurrency=1).start()
        try:
            floor_port = free_port()
            platform.gunicorn("floor", "bench.floor:get_app()", floor_port)
            session = requests.Session()
            assert session.put(f"{platform.upload_url}/f/bench/hello", data=wat.HELLO).ok
            body = {"user": "bench", "function": "hello", "input_data": "x"}

            def invoke():
                r = session.post(platform.invoke_url, json=body)
                assert r.headers.get("X-Faasm-Status") == "SUCCESS", r.text

            def floor():
                r = session.post(f"http://127.0.0.1:{floor_port}/", json=body)
                assert r.text == "pong", r.text

            from workers.app import PING_TASK, SYNC_QUEUE, app

            def bare():
                app.send_task(PING_TASK, queue=SYNC_QUEUE).get(timeout=30)

            inv, flo, bar = [], [], []
            for _ in range(ROUNDS):
                inv += sample(invoke, PER_ROUND)
                flo += sample(floor, PER_ROUND)
                bar += sample(bare, PER_ROUND)
        finally:
            platform.stop()
        whole, run_only = worker_cost(data)

    print("Sync invoke of a trivial function (1 worker process, sequential):")
    print(row("invoke API (faasm-py)", inv))
    print(row("floor: Falcon + gunicorn + no-op Celery task", flo))
    print(row("bare Celery round trip from Python", bar))
    print(f"  ratio invoke/floor: p50 {p(inv, .5) / p(flo, .5):.2f}x   "
          f"p99 {p(inv, .99) / p(flo, .99):.2f}x   (goal <= 1.2x at p50)")
    print("Worker's own per-call cost (in process, 1 KB input, prints a line):")
    print(row("fresh instance + run + captured stdout", run_only, "us"))
    print(row("the same plus module lookup (storage stat)", whole, "us"))
    print(f"  goal: <= 200 us median; measured {p(run_only, .5) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
