"""The APIs under slow clients: connections that send a body, or their headers,
a byte at a time, while probes measure ``/ping`` and sync calls.

``python -m bench.slow_clients [SECONDS]`` starts the real platform, opens 40
slow-body connections to the invoke API and 24 slow-header connections to the
upload API, and prints each probe's p50 / max latency and how many failed
(no answer within 5 s).
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.stats import p
from deploy.processes import Platform, private_redis
from tests import wat

SLOW_BODIES, SLOW_HEADERS = 40, 24
PROBE_TIMEOUT = 5.0


def slow_client(port: int, head: bytes, trickle: bytes, stop: threading.Event,
                opened: list) -> None:
    """Send ``head`` at once, then ``trickle`` a byte every 0.5 s until ``stop``."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return
    opened.append(sock)
    try:
        sock.sendall(head)
        i = 0
        while not stop.wait(0.5):
            sock.sendall(trickle[i % len(trickle):i % len(trickle) + 1])
            i += 1
    except OSError:
        pass  # the server closed it: that is allowed
    finally:
        sock.close()


def probe(name: str, request, stop: threading.Event, results: dict) -> None:
    times, failed = [], 0
    while not stop.is_set():
        t = time.perf_counter()
        try:
            ok = request().status_code == 200
        except requests.RequestException:
            ok = False
        elapsed = time.perf_counter() - t
        if ok:
            times.append(elapsed)
        else:
            failed += 1
        stop.wait(0.2)
    results[name] = (times, failed)


def slow_load(plat, seconds: float) -> dict:
    """Run the slow clients and the probes for ``seconds``; {probe: (times, failed)}."""
    stop, opened, results = threading.Event(), [], {}
    body_head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100000\r\n\r\n{")
    threads = [threading.Thread(target=slow_client, args=(
        plat.invoke_port, body_head, b" ", stop, opened)) for _ in range(SLOW_BODIES)]
    threads += [threading.Thread(target=slow_client, args=(
        plat.upload_port, b"PUT /s/slow/key HTTP/1.1\r\nHost: x\r\n", b"X-Slow: aaaa\r\n",
        stop, opened)) for _ in range(SLOW_HEADERS)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # every slow client connected and sending
    call = {"user": "slow", "function": "hello"}
    probes = {
        "invoke /ping": lambda: requests.get(f"{plat.invoke_url}/ping", timeout=PROBE_TIMEOUT),
        "invoke sync call": lambda: requests.post(plat.invoke_url, json=call,
                                                  timeout=PROBE_TIMEOUT),
        "upload /ping": lambda: requests.get(f"{plat.upload_url}/ping", timeout=PROBE_TIMEOUT),
        "upload state PUT": lambda: requests.put(f"{plat.upload_url}/s/slow/probe", data=b"v",
                                                 timeout=PROBE_TIMEOUT),
    }
    probers = [threading.Thread(target=probe, args=(name, fn, stop, results))
               for name, fn in probes.items()]
    for t in probers:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in probers + threads:
        t.join()
    results["slow connections opened"] = len(opened)
    return results


def report(results: dict) -> None:
    for name, value in results.items():
        if isinstance(value, int):
            print(f"  {name}: {value}")
            continue
        times, failed = value
        if times:
            print(f"  {name:<18} ok {len(times):4d}  p50 {p(times, .5) * 1e3:7.1f} ms  "
                  f"max {max(times) * 1e3:7.1f} ms  failed {failed}")
        else:
            print(f"  {name:<18} ok    0  failed {failed}")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
    with private_redis() as url, tempfile.TemporaryDirectory() as tmp:
        plat = Platform(url, Path(tmp)).start()
        try:
            assert requests.put(f"{plat.upload_url}/f/slow/hello", data=wat.HELLO).ok
            for _ in range(50):
                if requests.post(plat.invoke_url, json={"user": "slow", "function": "hello"}).ok:
                    break
            print(f"{SLOW_BODIES} slow bodies (invoke API), {SLOW_HEADERS} slow headers "
                  f"(upload API), {seconds:g} s:")
            report(slow_load(plat, seconds))
        finally:
            plat.stop()


if __name__ == "__main__":
    main()
