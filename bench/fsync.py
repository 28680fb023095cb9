"""What the private Redis's fsync policy (FAASM_REDIS_FSYNC) costs a call.

For each policy (append-only file off, `no`, `everysec`, `always`), one run
of the real platform (both APIs, a worker of 2 processes) on a fresh Redis:
sequential sync calls, then async submits from 8 clients for a few seconds
(each writes the call's record and its message; the worker drains them
meanwhile). Prints rates and
p50/p99 in one table, so the ratios come from one run on one machine.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.stats import p, sample
from deploy.processes import Platform, RedisServer
from tests import wat

POLICIES = ("off", "no", "everysec", "always")
CLIENTS, SECONDS, SYNC_CALLS = 8, 5.0, 200


def async_submits(url: str) -> tuple[float, list[float]]:
    """(submits per second, each submit's seconds) from CLIENTS threads."""
    times: list[float] = []
    stop = time.monotonic() + SECONDS
    body = {"user": "bench", "function": "hello", "async": True}

    def client():
        with requests.Session() as session:
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = session.post(url, json=body, timeout=30)
                times.append(time.perf_counter() - t)
                assert r.ok, r.text

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(times) / SECONDS, times


def redis_writes(url: str, n: int = 1000) -> list[float]:
    """Seconds per write like a submit's (a record HSET + EXPIRE + a message LPUSH)."""
    import redis

    client = redis.Redis.from_url(url)

    def write():
        pipe = client.pipeline(transaction=False)
        pipe.hset("bench:record", mapping={"user": "bench", "function": "hello"})
        pipe.expire("bench:record", 60)
        pipe.lpush("bench:queue", b"x" * 600)
        pipe.execute()

    return sample(write, n)


def redis_only(policy: str, root: Path) -> str:
    server = RedisServer(root, durable=policy != "off", fsync="no" if policy == "off" else policy)
    root.mkdir(parents=True)
    server.start()
    try:
        times = redis_writes(server.url)
        return f"  {policy:<9} p50 {p(times, .5) * 1e6:8.1f} us   p99 {p(times, .99) * 1e6:8.1f} us"
    finally:
        server.stop()


def measure(policy: str, root: Path) -> str:
    server = RedisServer(root / "redis", durable=policy != "off",
                         fsync="no" if policy == "off" else policy)
    (root / "redis").mkdir(parents=True)
    server.start()
    plat = Platform(server.url, root / "platform", concurrency=2).start()
    try:
        assert requests.put(f"{plat.upload_url}/f/bench/hello", data=wat.HELLO).ok
        session = requests.Session()
        call = {"user": "bench", "function": "hello"}
        sync = sample(lambda: session.post(plat.invoke_url, json=call), SYNC_CALLS, warmup=30)
        rate, times = async_submits(plat.invoke_url)
        return (f"  {policy:<9} async {rate:7.1f}/s  p50 {p(times, .5) * 1e3:6.2f} ms  "
                f"p99 {p(times, .99) * 1e3:6.2f} ms | sync p50 {p(sync, .5) * 1e3:6.2f} ms  "
                f"p99 {p(sync, .99) * 1e3:6.2f} ms")
    finally:
        plat.stop()
        server.stop()


def main() -> None:
    print(f"Private Redis fsync policy: {SYNC_CALLS} sequential sync calls, then {CLIENTS} "
          f"clients of async submits for {SECONDS:g} s")
    with tempfile.TemporaryDirectory(prefix="faasm-fsync-") as tmp:
        print("Redis alone: one submit's writes (HSET + EXPIRE + LPUSH, one round trip)")
        for policy in POLICIES:
            print(redis_only(policy, Path(tmp) / f"alone-{policy}"), flush=True)
        if "--redis-only" in sys.argv:
            return
        print("Through the platform:")
        for policy in POLICIES:
            print(measure(policy, Path(tmp) / policy), flush=True)


if __name__ == "__main__":
    main()
