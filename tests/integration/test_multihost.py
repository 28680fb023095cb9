"""Many hosts on one machine: Celery workers in network namespaces.

Each "host" is a network namespace joined to a bridge by a veth pair, on a
private /24 (10.77.N.0/24) made for this test and removed after it; all its
traffic stays on those veths. A host runs one Celery worker (``-n
worker@hostN``) with its own data directory, and shares nothing with the
others but Redis (broker, results, state) and the storage service: the
upload API in fileserver mode, listening on the bridge. The invoke API and
the test itself stay on the loopback.

Needs root (``ip netns``); skipped, saying why, where that is not permitted, unless
FAASM_TEST_REQUIRE is on (CI): then it fails.
"""

from __future__ import annotations

import collections
import os
import shutil
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from deploy.processes import Platform, wait_for_port
from deploy.redis import server_binary
from tests import require_or_skip, wat

HOSTS = 2
#: A dead host's calls come back after this (Redis broker; the default is minutes).
VISIBILITY_TIMEOUT = 4
CELERY = str(Path(sys.executable).parent / "celery")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


class Hosts:
    """A bridge on 10.77.N.1 and ``count`` namespaces at 10.77.N.11, .12, ..."""

    def __init__(self, count: int):
        self.tag = f"fz{os.getpid() % 100000}"
        used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True,
                              check=True).stdout
        self.net = next(n for n in range(10, 250) if f" 10.77.{n}." not in used)
        self.bridge_ip = f"10.77.{self.net}.1"
        self.bridge = f"{self.tag}br"
        self.names = [f"{self.tag}h{i}" for i in range(1, count + 1)]

    def create(self) -> Hosts:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.bridge_ip}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, ns in enumerate(self.names, 1):
            outside, inside = f"{self.tag}v{i}", f"{self.tag}p{i}"
            _ip("netns", "add", ns)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", ns)
            _ip("link", "set", outside, "master", self.bridge, "up")
            _ip("-n", ns, "addr", "add", f"10.77.{self.net}.{10 + i}/24", "dev", inside)
            _ip("-n", ns, "link", "set", inside, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        return self

    def remove(self) -> None:
        for ns in self.names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)


@pytest.fixture(scope="module")
def hosts():
    if shutil.which("ip") is None:
        require_or_skip("no `ip` command (iproute2): cannot make network namespaces")
    probe = f"fzprobe{os.getpid() % 100000}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True,
                          check=False)
    if made.returncode != 0:
        require_or_skip(f"`ip netns add` is not permitted here: {made.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    net = Hosts(HOSTS)
    try:
        yield net.create()
    finally:
        net.remove()


@pytest.fixture(scope="module")
def cluster(hosts, examples, tmp_path_factory):
    """Redis + both APIs on this machine, one worker per namespace host."""
    data = tmp_path_factory.mktemp("multihost")
    redis_port = _free_port()
    redis_server = subprocess.Popen(
        [server_binary(), "--port", str(redis_port), "--bind", "127.0.0.1", hosts.bridge_ip,
         "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", str(data)],
        stdout=subprocess.DEVNULL)
    wait_for_port(redis_port, redis_server)
    plat = Platform(f"redis://127.0.0.1:{redis_port}/0", data / "apis", fileserver=True,
                    bind_hosts=(hosts.bridge_ip,),
                    FAASM_BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
    try:
        plat.start_apis()
        for name, wasm in (("hello", wat.HELLO), ("sleep", wat.SLEEP),
                           *((n, examples[n]) for n in ("state_counter", "chain_recursive",
                                                        "fanout", "shared_file"))):
            assert requests.put(f"{plat.upload_url}/f/mh/{name}", data=wasm).ok
        for i, ns in enumerate(hosts.names, 1):
            start_host(plat, hosts, i, ns, redis_port)
        _wait_for_hosts(plat, HOSTS)
        yield plat
    finally:
        plat.stop()
        redis_server.terminate()
        redis_server.wait(10)


def start_host(plat: Platform, hosts: Hosts, i: int, ns: str, redis_port: int) -> None:
    """host<i>'s worker, seeing only the bridge: Redis and the upload API (storage)."""
    url = f"redis://{hosts.bridge_ip}:{redis_port}/0"
    plat.spawn(f"host{i}", ["ip", "netns", "exec", ns, CELERY, "-A", "workers.tasks", "worker",
                            "-E", "-n", f"worker@host{i}",
                            "-c", "2", "--without-mingle", "--without-gossip",
                            "--loglevel=INFO"],
               FAASM_REDIS_URL=url, FAASM_STORAGE=f"http://{hosts.bridge_ip}:{plat.upload_port}",
               FAASM_DATA_DIR=str(plat.data_dir.parent / f"host{i}"))


def _free_port() -> int:
    from deploy.processes import free_port

    return free_port()


def _wait_for_hosts(plat: Platform, count: int, seconds: float = 60) -> None:
    """Until ``count`` hosts ran a call each."""
    seen, deadline = set(), time.monotonic() + seconds
    while len(seen) < count and time.monotonic() < deadline:
        ids = [submit(plat, "hello") for _ in range(4 * count)]
        seen |= {host_of(report) for report in (plat.wait_for_call(i) for i in ids)}
    assert len(seen) >= count, f"hosts that answered: {seen}\n" + "".join(
        plat.log(f"host{i}")[-2000:] for i in range(1, count + 1))


def submit(plat: Platform, function: str, input_data: str = "") -> int:
    r = requests.post(plat.invoke_url, timeout=30, json={
        "user": "mh", "function": function, "input_data": input_data, "async": True})
    assert r.status_code == 200, r.text
    return int(r.text)


def host_of(report: dict) -> str:
    """``worker@host2/1234`` -> ``host2``; a chained call its caller ran inline
    (while awaiting it) records no worker of its own."""
    if not report.get("worker"):
        return "inline in caller"
    return report["worker"].split("@", 1)[1].split("/", 1)[0]


def show(capsys, title: str, reports: list[dict]) -> None:
    per_host = collections.Counter(host_of(r) for r in reports)
    with capsys.disabled():
        print(f"\n  {title}: " + ", ".join(f"{h} {n}" for h, n in sorted(per_host.items())))


def test_calls_spread_over_hosts_and_all_succeed(cluster, capsys):
    requests.put(f"{cluster.upload_url}/s/mh/counter", data=struct.pack("<i", 0))
    work = ([("hello", str(i)) for i in range(16)] + [("state_counter", "")] * 10
            + [("chain_recursive", "3")] * 4 + [("fanout", "")] * 3
            + [("shared_file", f"from call {i}") for i in range(4)] + [("sleep", "")] * 6)
    ids = [submit(cluster, f, arg) for f, arg in work]
    reports = [cluster.wait_for_call(i) for i in ids]
    failed = [(w, r) for w, r in zip(work, reports, strict=True) if r["status"] != "SUCCESS"]
    assert not failed, failed
    counts = sorted(int(r["output"]) for w, r in zip(work, reports, strict=True)
                    if w[0] == "state_counter")
    assert counts == list(range(1, 11))  # the global lock held across hosts
    state = requests.get(f"{cluster.upload_url}/s/mh/counter").content
    assert struct.unpack("<i", state) == (10,)
    for (f, _), r in zip(work, reports, strict=True):
        if f == "chain_recursive":
            assert r["output"].startswith("3 2 1 0")
        elif f == "fanout":
            assert r["output"].startswith("sum of squares of 0..11 = 506")
    # Shared files written on any host land in the storage service.
    written = requests.get(f"{cluster.upload_url}/file",
                           headers={"FilePath": "examples_shared.txt"}).text
    assert written.startswith("from call ")
    # Chained children are calls too: count them with their parents.
    import redis

    last = int(redis.Redis.from_url(cluster.env["FAASM_REDIS_URL"]).get("faasm:call-id"))
    children = [cluster.wait_for_call(i) for i in range(min(ids), last + 1) if i not in ids]
    assert len(children) == 4 * 3 + 3 * 12
    everything = reports + children
    assert all(r["status"] == "SUCCESS" for r in children)
    show(capsys, f"{len(everything)} calls (incl. {len(children)} chained) per host",
         everything)
    assert {host_of(r) for r in reports} == {f"host{i}" for i in range(1, HOSTS + 1)}


def test_killing_one_hosts_workers_mid_run_loses_no_call(cluster, capsys):
    ids = [submit(cluster, "sleep") for _ in range(24)] + [
        submit(cluster, "chain_recursive", "2") for _ in range(4)]
    time.sleep(1.0)  # both hosts are busy with the sleeps
    cluster.stop_process(f"host{HOSTS}", 9)  # SIGKILL: the whole worker, pool and all
    killed_at = datetime.now(UTC)  # after: a call it ended while being killed is its own
    reports = [cluster.wait_for_call(i, seconds=60) for i in ids]
    bad = [(i, r["status"], r["error"]) for i, r in zip(ids, reports, strict=True)
           if r["status"] != "SUCCESS"]
    assert not bad, bad
    log = cluster.log(f"host{HOSTS}")
    # Held when killed: taken there, and ended after the kill. (Its log is no witness of
    # the end: a call can store its result and be killed before its "succeeded" line.)
    lost = [i for i in ids if f"faasm.call[{i}] received" in log
            and datetime.fromisoformat(reports[ids.index(i)]["finished"]) > killed_at]
    show(capsys, f"{len(ids)} calls, host{HOSTS} killed holding {len(lost)}; per host", reports)
    assert lost, f"host{HOSTS} held no call when killed: nothing was tested"
    assert all(host_of(reports[ids.index(i)]) != f"host{HOSTS}" for i in lost)
