"""Sync calls through faasm-py next to their floor, side by side in one run.

Both sides run as the Procfile runs the platform, each over its own Redis:

- **faasm-py**: the invoke API (gunicorn, ``deploy/gunicorn/invoke.py``), the
  upload API, a worker (``celery -A workers.tasks worker -E``, prefork, one
  process per CPU) and Flower, calling a trivial wasm function;
- **floor**: one Falcon resource that sends a no-op task and awaits its
  ``AsyncResult``, under the same gunicorn settings, with a plain Celery
  app, a worker of the same pool and flags, and Flower (``bench/floor.py``).

Each phase (sequential; 16 and 64 concurrent keep-alive clients) runs in
rounds that alternate the two sides, so load from elsewhere on the machine
hits both alike; the calls/s ratio is the median of the rounds' ratios.
Printed: p50/p99 latency and calls/s with their ratios,
the machine's state, CPU per call in each process (``psutil``), Redis round
trips per call (the server's read events), and which Redis commands each
process sends per call (``MONITOR``, in a short untimed run). With
``--py-spy DIR`` and py-spy on PATH, each process is also sampled during the
first 16-client round and its hottest functions are printed.

Run: ``python -m bench.sync_floor [--rounds 4] [--seconds 4] [--py-spy DIR]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
import requests

from bench import floor, load
from bench.stats import p, scale, scaled
from deploy.processes import Platform, RedisServer, free_port
from tests import wat

SEQUENTIAL_CALLS = 400
CLIENTS = (16, 64)
MONITORED_CALLS = 200
BODY = b'{"user": "bench", "function": "hello", "input_data": "x"}'
#: The acceptance targets of issue 17 (docs/SCALING.md).
TARGET_P50, TARGET_P99, TARGET_RATE = 1.1, 1.3, 0.9


@dataclass
class Side:
    """One side's processes, the request it answers, and what it measured."""

    name: str
    processes: Platform
    redis_server: RedisServer
    port: int
    ok: bytes
    loads: dict[str, list[load.Load]] = field(default_factory=lambda: defaultdict(list))
    cpu: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    reads: Counter = field(default_factory=Counter)

    def roles(self) -> dict[str, list[psutil.Process]]:
        """This side's processes by role: the API (gunicorn master and workers), the
        worker's main process, its pool, Flower, Redis, and anything else started."""
        found: dict[str, list[psutil.Process]] = defaultdict(list)
        for name, proc in self.processes.procs.items():
            root = psutil.Process(proc.pid)
            children = root.children(recursive=True)
            if name == "worker":
                found["worker main"].append(root)
                found["worker pool"] += children
            else:
                role = {"invoke": "API", "api": "API"}.get(name, name)
                found[role] += [root, *children]
        found["Redis"].append(psutil.Process(self.redis_server.proc.pid))
        return found

    def cpu_seconds(self) -> Counter:
        seconds = Counter()
        for role, procs in self.roles().items():
            for proc in procs:
                try:
                    times = proc.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                seconds[role] += times.user + times.system
        return seconds

    def redis_reads(self) -> int:
        """Read events the Redis server processed: one per round trip of a client
        (a pipeline's commands arrive in one read)."""
        info = redis.Redis(port=self.redis_server.port).info("stats")
        return int(info["total_reads_processed"])

    def measure(self, phase: str, clients: int, seconds: float, spy: Path | None) -> None:
        request = load.post("/", BODY)
        cpu, reads, client = self.cpu_seconds(), self.redis_reads(), time.process_time()
        spies = _py_spy(self, spy, seconds) if spy else []
        if clients == 1:
            result = load.run(self.port, request, self.ok, 1, seconds=600,
                              calls=scaled(SEQUENTIAL_CALLS), warmup=0.3)
        else:
            result = load.run(self.port, request, self.ok, clients, seconds=seconds)
        client = time.process_time() - client
        used = self.cpu_seconds()
        used.subtract(cpu)
        used["bench client"] = client
        self.cpu[phase].update(used)
        self.cpu[phase]["calls"] += result.answered
        self.reads[phase] += self.redis_reads() - reads
        self.loads[phase].append(result)
        for proc in spies:
            proc.wait(seconds + 30)
        if result.failures:
            raise RuntimeError(f"{self.name}: {len(result.failures)} calls failed, e.g. "
                               f"{result.failures[0]!r}")


def start_platform(data: Path, concurrency: int) -> Side:
    server = RedisServer(data / "redis").start()
    platform = Platform(server.url, data / "platform", concurrency=concurrency).start()
    platform.start_flower(free_port())
    platform.wait_ready()
    assert requests.put(f"{platform.upload_url}/f/bench/hello", data=wat.HELLO).ok
    return Side("faasm-py", platform, server, platform.invoke_port, b"x-faasm-status: SUCCESS")


def start_floor(data: Path, concurrency: int, bare: bool = False) -> Side:
    server = RedisServer(data / "floor-redis").start()
    processes = Platform(server.url, data / "floor", concurrency=concurrency)
    port = free_port()
    floor.start(processes, port, free_port(), concurrency, bare)
    floor.wait_ready(f"http://127.0.0.1:{port}/")
    return Side("floor", processes, server, port, b"pong")


def run(rounds: int, seconds: float, spy: Path | None,
        bare: bool = False) -> tuple[Side, Side, dict]:
    concurrency = os.cpu_count() or 2
    machine = {"cores": os.cpu_count(), "load before": os.getloadavg(),
               "concurrency": concurrency, "bare": bare}
    with tempfile.TemporaryDirectory(prefix="faasm-bench-") as tmp:
        data = Path(tmp)
        (data / "redis").mkdir()
        (data / "floor-redis").mkdir()
        sides: list[Side] = []
        try:
            sides.append(start_platform(data, concurrency))
            sides.append(start_floor(data, concurrency, bare))
            for side in sides:  # module loaded, connections and pool processes warm
                load.run(side.port, load.post("/", BODY), side.ok, 16, seconds=1.0)
            busy, ours = psutil.cpu_times(), _ours(sides)
            started = time.monotonic()
            phases = [("sequential", 1)] + [(f"{n} clients", n) for n in CLIENTS]
            for phase, clients in phases:
                for number in range(rounds):
                    order = sides if number % 2 == 0 else sides[::-1]
                    for side in order:
                        sampled = spy if (spy and clients == 16 and number == 0) else None
                        side.measure(phase, clients, seconds, sampled)
            wall = time.monotonic() - started
            machine["others"] = _others(busy, ours, sides, wall)
            machine["load after"] = os.getloadavg()
            machine["commands"] = {(side.name, clients): monitored(side, clients)
                                   for clients in (1, 16) for side in sides}
        finally:
            for side in sides:
                side.processes.stop()
                side.redis_server.stop()
    return sides[0], sides[1], machine


def _ours(sides: list[Side]) -> float:
    return sum(sum(side.cpu_seconds().values()) for side in sides) + time.process_time()


def _others(busy_before, ours_before: float, sides: list[Side], wall: float) -> float:
    """Cores' worth of CPU that processes other than these used during the run."""
    def total(t):
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    machine = total(psutil.cpu_times()) - total(busy_before)
    return max(machine - (_ours(sides) - ours_before), 0.0) / wall


def monitored(side: Side, clients: int) -> dict[str, Counter]:
    """Redis commands per role over MONITORED_CALLS calls from ``clients`` clients
    (``MONITOR``). Commands run inside a Lua script count under "(in scripts)"."""
    ports = {}
    for role, procs in side.roles().items():
        for proc in procs:
            try:
                conns = proc.net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            for conn in conns:
                if conn.raddr and conn.raddr.port == side.redis_server.port:
                    ports[conn.laddr.port] = role
    client = redis.Redis(port=side.redis_server.port)
    counts: dict[str, Counter] = defaultdict(Counter)
    stop = threading.Event()

    def watch():
        with client.monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                if stop.is_set():
                    return
                if command.get("client_type") == "lua":
                    role = "(in scripts)"
                else:
                    role = ports.get(int(command.get("client_port") or 0), "other")
                counts[role][command["command"].split(" ", 1)[0].upper()] += 1

    ready = threading.Event()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.2)
    result = load.run(side.port, load.post("/", BODY), side.ok, clients, seconds=600,
                      calls=MONITORED_CALLS, warmup=0.0)
    time.sleep(0.3)
    stop.set()
    client.ping()  # wakes the monitor
    thread.join(5)
    counts["calls"]["n"] = result.answered
    return counts


def _py_spy(side: Side, spy: Path, seconds: float) -> list[subprocess.Popen]:
    binary = shutil.which("py-spy")
    if binary is None:
        return []
    spy.mkdir(parents=True, exist_ok=True)
    procs = []
    for role, members in side.roles().items():
        if role == "Redis":
            continue
        for proc in members:
            out = spy / f"{side.name}-{role.replace(' ', '-')}-{proc.pid}.txt"
            procs.append(subprocess.Popen(
                [binary, "record", "--nonblocking", "-r", "200", "-d", str(int(seconds + 1)),
                 "-f", "raw", "-o", str(out), "-p", str(proc.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def hottest(path: Path, top: int = 12) -> list[tuple[float, str]]:
    """(share of samples, function) with the most samples anywhere on the stack."""
    totals: Counter = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples += int(count)
        for frame in set(stack.split(";")):
            totals[frame] += int(count)
    return [(n / samples, frame) for frame, n in totals.most_common(top)] if samples else []


def report(plat: Side, flo: Side, machine: dict, spy: Path | None) -> None:
    print("Sync calls: faasm-py next to its floor, side by side in one run "
          "(rounds alternate the two sides)")
    print(f"  machine: {machine['cores']} cores; load average "
          f"{' '.join(f'{x:.2f}' for x in machine['load before'])} before, "
          f"{' '.join(f'{x:.2f}' for x in machine['load after'])} after; other processes "
          f"used {machine['others']:.2f} cores on average during the timed rounds")
    if machine["bare"]:
        print(f"  faasm-py as the Procfile runs it (prefork -c{machine['concurrency']}, events, "
              "Flower); the floor bare: gunicorn gthread 2 x 8, a solo worker, no events, "
              "no Flower (issue 17's held-out floor)")
    else:
        print(f"  both: gunicorn deploy/gunicorn/invoke.py, Celery prefork "
              f"-c{machine['concurrency']}, task events on, Flower consuming them")
    print(f"  {'':<12} {'faasm-py':>26} {'floor':>26}   {'ratio':>20}")
    print(f"  {'':<12} {'p50 ms':>8} {'p99 ms':>8} {'calls/s':>8} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'calls/s':>8}   {'p50':>6} {'p99':>6} {'calls/s':>7}")
    ratios = {}
    for phase in plat.loads:
        a, b = _summary(plat.loads[phase]), _summary(flo.loads[phase])
        ratio = (a[0] / b[0], a[1] / b[1], _paired(plat.loads[phase], flo.loads[phase]))
        ratios[phase] = ratio
        print(f"  {phase:<12} {a[0] * 1e3:8.2f} {a[1] * 1e3:8.2f} {a[2]:8.0f} "
              f"{b[0] * 1e3:8.2f} {b[1] * 1e3:8.2f} {b[2]:8.0f}   "
              f"{ratio[0]:5.2f}x {ratio[1]:5.2f}x {ratio[2]:6.2f}x")
    print("  calls/s: each side's median round; its ratio is the median of the rounds' "
          "ratios (each round's two sides ran back to back):")
    for phase in plat.loads:
        per_round = [x.rate / y.rate
                     for x, y in zip(plat.loads[phase], flo.loads[phase], strict=True)]
        print(f"    {phase}: " + " ".join(f"{r:.2f}" for r in per_round))
    seq = ratios["sequential"]
    checks = [(f"sequential p50 <= {TARGET_P50}x", seq[0], seq[0] <= TARGET_P50),
              (f"sequential p99 <= {TARGET_P99}x", seq[1], seq[1] <= TARGET_P99)]
    checks += [(f"calls/s at {n} clients >= {TARGET_RATE}x", ratios[f"{n} clients"][2],
                ratios[f"{n} clients"][2] >= TARGET_RATE) for n in CLIENTS]
    for name, value, met in checks:
        print(f"  target {name}: {value:.2f}x, {'met' if met else 'NOT met'}")

    print("CPU per call by process (µs; psutil user+system over the timed rounds):")
    phases = list(plat.loads)
    print(f"  {'':<14}" + "".join(f"{ph:>24}" for ph in phases))
    print(f"  {'':<14}" + "".join(f"{'faasm-py':>12}{'floor':>12}" for _ in phases))
    roles = sorted({r for side in (plat, flo) for ph in phases for r in side.cpu[ph]} - {"calls"},
                   key=_role_order)
    for role in [*roles, "all"]:
        cells = []
        for ph in phases:
            for side in (plat, flo):
                used = side.cpu[ph]
                total = sum(v for k, v in used.items() if k != "calls") if role == "all" \
                    else used.get(role, 0.0)
                cells.append(f"{total / max(used['calls'], 1) * 1e6:12.0f}")
        print(f"  {role:<14}" + "".join(cells))
    print(f"  {'Redis trips':<14}" + "".join(
        f"{side.reads[ph] / max(side.cpu[ph]['calls'], 1):12.1f}"
        for ph in phases for side in (plat, flo)) + "   (server read events per call)")

    print(f"Redis commands per call by process (MONITOR, {MONITORED_CALLS} calls, untimed):")
    for (name, clients), counts in machine["commands"].items():
        n = max(counts.pop("calls")["n"], 1)
        for role in sorted(counts, key=_role_order):
            per_call = {cmd: c / n for cmd, c in counts[role].most_common() if c / n >= 0.05}
            total = sum(counts[role].values()) / n
            if total < 0.05:
                continue
            print(f"  {name:<9} {clients:>2} {role:<13} {total:5.1f}  " + ", ".join(
                f"{cmd} {c:.1f}" if c != 1 else cmd for cmd, c in per_call.items()))

    if spy and shutil.which("py-spy"):
        print(f"Hottest functions per process (py-spy, first 16-client round; {spy}):")
        for path in sorted(spy.glob("*.txt")):
            print(f"  {path.stem}:")
            for share, frame in hottest(path, 8):
                print(f"    {share:6.1%}  {frame[:110]}")


def _summary(loads: list[load.Load]) -> tuple[float, float, float]:
    """(p50, p99) over every round's latencies, and the median round's calls/s."""
    latencies = [t for one in loads for t in one.latencies]
    return p(latencies, 0.5), p(latencies, 0.99), statistics.median(one.rate for one in loads)


def _paired(ours: list[load.Load], floors: list[load.Load]) -> float:
    """The median of the rounds' calls/s ratios: a round's two sides ran back to back,
    so load from elsewhere that comes and goes cancels out of each ratio."""
    return statistics.median(x.rate / y.rate for x, y in zip(ours, floors, strict=True))


def _role_order(role: str) -> tuple[int, str]:
    order = ["API", "worker main", "worker pool", "flower", "Redis", "upload",
             "bench client", "(in scripts)", "other"]
    return (order.index(role) if role in order else len(order), role)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=None,
                        help="length of each concurrent round, per side (default 4, "
                        "times FAASM_BENCH_SCALE when that is below 1, at least 1)")
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                        help="sample every process with py-spy (if on PATH) into DIR")
    parser.add_argument("--bare-floor", action="store_true",
                        help="compare with issue 17's held-out floor instead: gunicorn "
                        "gthread 2 x 8, a solo worker, no task events, no Flower")
    args = parser.parse_args(argv)
    seconds = args.seconds or max(1.0, 4.0 * min(1.0, scale()))
    plat, flo, machine = run(scaled(args.rounds), seconds, args.py_spy, args.bare_floor)
    report(plat, flo, machine, args.py_spy)


if __name__ == "__main__":
    main()
