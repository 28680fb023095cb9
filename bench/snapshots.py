"""Calls from memory images (docs/SNAPSHOTS.md), each next to the path without them.

1. A worker's own cost per call (CPU of the process, all threads; and wall) of a Python
   hello and of a function importing numpy: from its image vs. CPython started afresh.
   Goals: hello <= 1 ms median, numpy <= 3 ms.
2. End to end, sync, through the platform (invoke API, Celery, Redis): Python hello vs.
   wasm hello. Goal: <= 1.3x.
3. A wasm function whose zygote fills 64 MiB vs. the same module without a zygote, per
   call in the worker. Goal: within 1.5x.
4. Resident memory added per concurrent call (calls held open by a sleep): from an
   image vs. a fresh CPython.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import timeit
from pathlib import Path

import wasmtime

from bench.stats import p, row, sample
from faasm.calls import Call
from faasm.functions import Functions
from faasm.runtime.compile import upload_wasm
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.python import PythonRuntime
from faasm.runtime.python.sandbox import WarmInstances
from faasm.settings import MiB, get_settings
from faasm.storage import open_storage

HELLO = b'print("hello")\n'
NUMPY = b'''import numpy as np

def faasm_main():
    print(int(np.arange(10).sum()))
'''
SLEEPS = b'''import time

def faasm_main():
    time.sleep(2.0)
'''
ZYGOTE_PAGES = 1024  # 64 MiB
ZYGOTE_WAT = f'''(module
  (memory (export "memory") 1)
  (func (export "_faasm_zygote") (result i32)
    (drop (memory.grow (i32.const {ZYGOTE_PAGES})))
    (memory.fill (i32.const 65536) (i32.const 7) (i32.const {ZYGOTE_PAGES * 65536}))
    (i32.const 0))
  (func (export "_start")
    (i32.store8 (i32.const 65536) (i32.const 1))))'''
PLAIN_WAT = '''(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store8 (i32.const 100) (i32.const 1))))'''


def cpu_and_wall(fn, n: int, warmup: int = 3) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        fn()
    cpu, wall = [], []
    for _ in range(n):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return cpu, wall


def python_runtimes(storage):
    base = get_settings().replace(memory_limit=512 * MiB)
    fresh = PythonRuntime(base.replace(python_snapshots=False), storage)
    imaged = PythonRuntime(base.replace(python_snapshots=True), storage)
    fresh.prewarm()
    imaged.prewarm()
    if imaged.snapshots is None:
        raise SystemExit("images are unavailable: run `python -m faasm.runtime.python` first")
    return fresh, imaged


def worker_cost(fresh, imaged, functions) -> None:
    """Each function's calls on three paths in interleaved rounds: CPython started afresh,
    a new instance of its image, and the image's instance kept from the call before."""
    ids = iter(range(1, 1 << 30))
    sandbox = imaged.snapshots.sandbox
    kept, none_kept = sandbox.warm, WarmInstances(None, 0)
    paths = (("fresh", fresh, none_kept), ("image", imaged, none_kept),
             ("kept", imaged, kept))
    print("Worker's own cost per Python call (CPU of the process, and wall); "
          "fresh: CPython started afresh, image: a new instance of the function's image, "
          "kept: the image's instance kept from the call before:")
    for name, source, rounds in (("hello", HELLO, 40), ("numpy", NUMPY, 10)):
        functions.put_python("bench", name, source)

        def once(runtime, name=name):
            result = runtime.execute(Call(id=next(ids), user="bench", function=name,
                                          python=True))
            assert result.stdout.strip(), result

        imaged_build = time.perf_counter()
        once(imaged)  # makes the image
        imaged_build = time.perf_counter() - imaged_build
        got = {label: ([], []) for label, _, _ in paths}
        totals = {label: [0.0, 0] for label, _, _ in paths}
        for _ in range(3):  # interleaved rounds
            for label, runtime, warm in paths:
                sandbox.warm = warm
                start = time.process_time()
                cpu, wall = cpu_and_wall(lambda r=runtime: once(r), rounds)
                warm.settled()  # a kept instance is put back after its call's result
                totals[label][0] += time.process_time() - start
                totals[label][1] += rounds + 3
                got[label][0].extend(cpu)
                got[label][1].extend(wall)
        sandbox.warm = kept
        print(f"  {name}: first call (makes the image) {imaged_build * 1e3:.0f} ms")
        for label, _, _ in paths:
            print(row(f"{name}, {label}, CPU", got[label][0]))
            print(row(f"{name}, {label}, wall", got[label][1]))
        print("  mean CPU per call over whole rounds (all threads, puts-back included): "
              + ", ".join(f"{label} {total / count * 1e3:.2f} ms"
                          for label, (total, count) in totals.items()))
        medians = {label: p(got[label][0], .5) for label in got}
        print(f"  {name}: kept {medians['kept'] * 1e3:.2f} ms CPU median, "
              f"{medians['image'] / medians['kept']:.2f}x less than a new instance of the "
              f"image, {medians['fresh'] / medians['kept']:.0f}x less than fresh")
    kept.settled()
    instances = [instance for idle in kept._idle.values() for instance in idle]
    # exact: the pages of each kept memory the process holds its own copy of (the put-back
    # copies these after every call); the process's own counts below move with malloc too
    held = [sum(end - start for start, end in kept.pages.written(
        instance.address, instance.memory.data_len(instance.store))) for instance in instances]
    private, rss = _private_dirty(), _rss()
    count = len(instances)
    kept.clear()
    print(f"  pages of its memory each kept instance holds its own copy of: "
          f"{', '.join(f'{size // 4096} ({size / MiB:.2f} MiB)' for size in held)}")
    print(f"  the process's memory the {count} kept instances held (with their stores, "
          f"and whatever malloc gave back meanwhile): "
          f"{(private - _private_dirty()) / max(count, 1) / MiB:.2f} MiB private, "
          f"{(rss - _rss()) / max(count, 1) / MiB:.2f} MiB resident each")


def resident_per_call(fresh, imaged, functions, concurrent: int = 8) -> None:
    functions.put_python("bench", "sleeps", SLEEPS)
    ids = iter(range(1 << 30, 1 << 31))
    print(f"Resident memory added per concurrent call ({concurrent} calls sleeping 2 s):")
    for label, runtime in (("fresh CPython", fresh), ("from image", imaged)):
        runtime.execute(Call(id=next(ids), user="bench", function="sleeps", python=True))
        before, private_before = _rss(), _private_dirty()
        threads = [threading.Thread(target=runtime.execute, args=(
            Call(id=next(ids), user="bench", function="sleeps", python=True),))
            for _ in range(concurrent)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        during, private_during = _rss(), _private_dirty()
        for t in threads:
            t.join()
        print(f"  {label:<16} RSS {(during - before) / concurrent / MiB:6.2f} MiB per call, "
              f"of which private {(private_during - private_before) / concurrent / MiB:6.2f}"
              " MiB")


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _private_dirty() -> int:
    """Pages this process alone holds and wrote (copy-on-write copies, heap): what a call
    really adds, where RSS also counts each mapping of the shared image pages it read."""
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no Private_Dirty")


def zygote_cost(tmp: Path) -> None:
    storage = open_storage(str(tmp / "zygote"))
    settings = get_settings().replace(memory_limit=256 * MiB)
    runtime = WasmRuntime(settings, storage)
    epoch = settings.timeout_mode == "epoch"
    upload_wasm(storage, "bench", "zygote", wasmtime.wat2wasm(ZYGOTE_WAT), epoch=epoch)
    upload_wasm(storage, "bench", "plain", wasmtime.wat2wasm(PLAIN_WAT), epoch=epoch)
    ids = iter(range(1, 1 << 30))
    times = {"zygote": [], "plain": []}
    for _ in range(5):
        for name in times:
            times[name] += sample(lambda n=name: runtime.execute(
                Call(id=next(ids), user="bench", function=n)), 200, warmup=5)
    print("wasm call in the worker, zygote filling 64 MiB vs. none:")
    for name, label in (("zygote", "zygote filling 64 MiB"), ("plain", "no zygote")):
        print(row(label, times[name], "us"))
    print(f"  zygote/no zygote at p50: {p(times['zygote'], .5) / p(times['plain'], .5):.2f}x "
          "(goal <= 1.5x)")


def end_to_end() -> None:
    from bench.python import python_and_wasm

    python, wasm = python_and_wasm(per_round=40)
    print("Sync call end to end (1 worker process):")
    print(row("Python (from its image)", python))
    print(row("wasm", wasm))
    print(f"  Python/wasm at p50: {p(python, .5) / p(wasm, .5):.2f}x (goal <= 1.3x)")


def main() -> None:
    reference = min(timeit.repeat("sum(range(10000))", number=200, repeat=5)) / 200
    print(f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"reference loop (sum(range(10000)) in the worker's Python) {reference * 1e6:.0f} µs "
          "(this machine's speed varies by a third from hour to hour: compare the ratios)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        storage = open_storage(str(tmp / "storage"))
        functions = Functions(storage)
        fresh, imaged = python_runtimes(storage)
        worker_cost(fresh, imaged, functions)
        print()
        resident_per_call(fresh, imaged, functions)
        print()
        zygote_cost(tmp)
        print()
        end_to_end()


if __name__ == "__main__":
    main()
