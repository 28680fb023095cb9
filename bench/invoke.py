"""The worker's own per-call cost: fresh instance + run + captured stdout, in process
(goal <= 0.2 ms median). Sync invoke latency and throughput next to the
architecture's floor are ``bench/sync_floor.py``'s.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.stats import p, row, scaled
from tests import wat


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
    for _ in range(scaled(3000)):
        result = runtime.execute(call)
        whole.append(result.timings["load"] + result.timings["run"])
        run_only.append(result.timings["run"])
    warm = scaled(500)
    return whole[warm:], run_only[warm:]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        whole, run_only = worker_cost(Path(tmp))
    print("Worker's own per-call cost (in process, 1 KB input, prints a line):")
    print(row("fresh instance + run + captured stdout", run_only, "us"))
    print(row("the same plus module lookup (storage stat)", whole, "us"))
    print(f"  goal: <= 200 us median; measured {p(run_only, .5) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
