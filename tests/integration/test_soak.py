"""Soak: a steady mix of sync and async calls for 30 s (FAASM_SOAK_SECONDS), loopback only.

Every call echoes a unique input, so a lost, duplicated or crossed call shows.
Memory of the API and worker processes is reported at start and end.
"""

import collections
import concurrent.futures
import os
import re
import time

import psutil
import pytest
import requests

from deploy.processes import Platform
from tests import fresh_database, wat

SECONDS = float(os.environ.get("FAASM_SOAK_SECONDS", "30"))
RATE = 40  # calls per second, half sync, half async


def rss_mib(proc) -> float:
    root = psutil.Process(proc.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


@pytest.fixture(scope="module")
def soak_platform(redis_url, tmp_path_factory):
    plat = Platform(fresh_database(redis_url), tmp_path_factory.mktemp("soak"),
                    concurrency=2).start()
    try:
        assert requests.put(f"{plat.upload_url}/f/soak/echo", data=wat.ECHO).ok
        yield plat
    finally:
        plat.stop()


def test_soak(soak_platform):
    plat = soak_platform
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=16)
    session.mount("http://", adapter)

    def call(i: int):
        body = {"user": "soak", "function": "echo", "input_data": f"call-{i}",
                "async": i % 2 == 1}
        r = session.post(plat.invoke_url, json=body, timeout=60)
        return i, r.status_code, r.text

    # Warm up (workers also load the Python runtime in the background), then measure.
    for i in range(200):
        assert call(-1 - i)[1] == 200
    time.sleep(3)
    procs = {name: plat.procs[name] for name in ("invoke", "upload", "worker")}
    start_rss = {name: rss_mib(p) for name, p in procs.items()}

    results, futures = [], []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        i = 0
        while time.monotonic() - started < SECONDS:
            futures.append(pool.submit(call, i))
            i += 1
            time.sleep(max(0.0, started + i / RATE - time.monotonic()))
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - started

    sync_ok = [r for r in results if r[0] % 2 == 0 and r[1] == 200 and r[2] == f"call-{r[0]}\n"]
    async_ids = {int(text): i for i, status, text in results if i % 2 == 1 and status == 200}
    assert len(sync_ok) == len([r for r in results if r[0] % 2 == 0]), \
        [r for r in results if r[0] % 2 == 0 and r not in sync_ok][:5]
    assert len(async_ids) == len([r for r in results if r[0] % 2 == 1])  # IDs are unique

    pending = dict(async_ids)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for call_id, i in list(pending.items()):
            r = session.post(plat.invoke_url, json={"status": True, "id": call_id})
            if r.text != "RUNNING":
                assert r.text == f"SUCCESS: call-{i}", (call_id, r.text)
                del pending[call_id]
        time.sleep(0.2)
    assert not pending, f"{len(pending)} async calls never resolved"

    # Each call ran exactly once: the worker log names every successful task once (its
    # line is written just after the result a poll read: wait for the last ones).
    deadline = time.monotonic() + 15
    while True:
        runs = collections.Counter(re.findall(r"Task faasm\.call\[(\d+)\] succeeded",
                                              plat.log("worker")))
        if all(runs[str(cid)] for cid in async_ids) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not [cid for cid, n in runs.items() if n > 1]
    assert all(runs[str(cid)] == 1 for cid in async_ids)

    end_rss = {name: rss_mib(p) for name, p in procs.items()}
    print(f"\nsoak: {len(results)} calls in {elapsed:.0f} s ({len(results) / elapsed:.0f}/s), "
          f"{len(sync_ok)} sync + {len(async_ids)} async, lost 0, duplicated 0")
    for name in procs:
        print(f"  RSS {name:<7} start {start_rss[name]:7.1f} MiB   end {end_rss[name]:7.1f} MiB")
    for name in procs:
        assert end_rss[name] < start_rss[name] * 1.25 + 30, (name, start_rss, end_rss)
