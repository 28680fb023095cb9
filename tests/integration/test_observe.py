"""Metrics and logs of calls made for real: /metrics scraped before and after, and
checked against the calls made; `faasm logs` of a call and --follow of a function."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from deploy.processes import ROOT
from tests import wat
from tests.integration.test_cli import run_faasm

#: Prints "to stdout" on stdout and "to stderr" on stderr, then exits with code 4.
NOISY = wat.module('''
 (data (i32.const 100) "to stdout\\n")
 (data (i32.const 200) "to stderr\\n")
 (func (export "_start")
   (call $print (i32.const 100) (i32.const 10))
   (i32.store (i32.const 0) (i32.const 200)) (i32.store (i32.const 4) (i32.const 10))
   (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 12)))
   (call $proc_exit (i32.const 4)))
''')


def samples(base: str) -> dict[tuple[str, tuple], float]:
    r = requests.get(f"{base}/metrics", timeout=20)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def difference(before: dict, after: dict, name: str, **labels) -> float:
    """How much a sample grew from one scrape to the next."""
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture(scope="module")
def functions(platform):
    for name, wasm in (("ok", wat.HELLO), ("bad", wat.EXIT_3), ("slow", wat.LOOP),
                       ("noisy", NOISY)):
        assert requests.put(f"{platform.upload_url}/f/obs/{name}", data=wasm).ok
    return platform


def test_metrics_count_the_calls_made(functions, invoke):
    plat = functions
    before = samples(plat.invoke_url)
    for _ in range(3):
        assert invoke({"user": "obs", "function": "ok"}).status_code == 200
    for _ in range(2):
        # Faasm answers a failed call 200 with its error; the header says FAILED.
        assert invoke({"user": "obs", "function": "bad"}).headers["X-Faasm-Status"] == "FAILED"
    r = invoke({"user": "obs", "function": "slow", "timeout": 1})
    assert r.headers["X-Faasm-Status"] == "FAILED" and "timed out" in r.text
    # The timeout's count was stored with its failure (workers.observe.CallRequest).
    for base in (plat.invoke_url, plat.upload_url):  # every API process answers the same
        after = samples(base)
        delta = functools.partial(difference, before, after)
        assert delta("faasm_calls_total", function="obs/ok", outcome="success") == 3
        assert delta("faasm_calls_total", function="obs/bad", outcome="failed") == 2
        assert delta("faasm_calls_total", function="obs/slow", outcome="timeout") == 1
        assert delta("faasm_call_duration_seconds_count", function="obs/ok") == 3
        assert delta("faasm_call_duration_seconds_bucket", function="obs/ok", le="+Inf") == 3
        assert delta("faasm_call_duration_seconds_bucket", function="obs/slow", le="0.5") == 0
        assert delta("faasm_call_duration_seconds_sum", function="obs/slow") >= 1.0
        assert value(after, "faasm_workers_live") >= 1
        assert value(after, "faasm_workers", queue="faasm-sync") >= 1
        assert ("faasm_queue_depth", (("queue", "faasm-async"),)) in after


def test_logs_of_a_call(functions, invoke):
    plat = functions
    urls = (plat.upload_url, plat.invoke_url)
    call_id = int(invoke({"user": "obs", "function": "noisy", "async": True}).text)
    deadline = time.monotonic() + 30
    while requests.get(f"{plat.invoke_url}/logs/{call_id}").json()["status"] in (
            "QUEUED", "RUNNING"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    entry = requests.get(f"{plat.invoke_url}/logs/{call_id}").json()
    assert (entry["status"], entry["outcome"]) == ("FAILED", "failed")
    assert (entry["stdout"], entry["stderr"]) == ("to stdout\n", "to stderr\n")
    assert entry["error"].startswith("Function exited with code 4")
    r = run_faasm("logs", str(call_id), urls=urls)
    assert r.returncode == 1
    assert r.stdout == b"to stdout\n"
    assert r.stderr.decode().splitlines() == ["to stderr", f"FAILED: {entry['error']}"]
    assert json.loads(run_faasm("logs", str(call_id), "--json", urls=urls).stdout) == entry

    ok = int(invoke({"user": "obs", "function": "ok", "input_data": "x", "async": True}).text)
    time.sleep(0.2)
    r = run_faasm("logs", str(ok), urls=urls)
    deadline = time.monotonic() + 30
    while b"no logs until it ends" in r.stderr and time.monotonic() < deadline:
        r = run_faasm("logs", str(ok), urls=urls)
    assert (r.returncode, r.stdout) == (0, b"hello from wasm\n"), r.stderr
    assert requests.get(f"{plat.invoke_url}/logs/999999999").status_code == 404
    assert run_faasm("logs", "999999999", urls=urls).returncode == 2


def test_follow_a_function(functions, invoke):
    plat = functions
    flags = ["--upload-url", plat.upload_url, "--invoke-url", plat.invoke_url]
    follower = subprocess.Popen(
        [sys.executable, "-m", "faasm", *flags, "logs", "obs", "noisy", "--follow",
         "--count", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        # It starts from the newest call, and says so once it knows where that is: the
        # calls made after that line are new to it.
        guard = threading.Timer(60, follower.kill)  # a follower that never says: no hang
        guard.start()
        first = follower.stderr.readline()
        guard.cancel()
        assert first == b"following obs/noisy (Ctrl-C stops)\n", first
        ids = [int(invoke({"user": "obs", "function": "noisy", "async": True}).text)
               for _ in range(2)]
        out, err = follower.communicate(timeout=60)
        err = first + err
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    headers = [line for line in out.decode().splitlines() if line.startswith("---")]
    # In the order the calls ended (two worker processes: either may end first).
    assert sorted(int(h.split()[2]) for h in headers) == sorted(ids)
    assert all(re.fullmatch(r"--- call \d+ obs/noisy: FAILED, [\d.]+ s ---", h) for h in headers)
    assert out.decode().count("to stdout\n") == 2
    assert err.decode().count("\nto stderr\nFAILED: Function exited with code 4") == 2
    r = requests.get(f"{plat.invoke_url}/logs", params={"user": "obs", "function": "noisy",
                                                        "after": "nope"})
    assert r.status_code == 400


def test_a_timeout_is_logged_once_quietly(functions, invoke):
    plat = functions
    seen = len(plat.log("worker"))
    r = invoke({"user": "obs", "function": "slow", "timeout": 1})
    assert r.headers["X-Faasm-Status"] == "FAILED" and "timed out" in r.text, r.text
    time.sleep(1.5)  # the pool process is replaced, and that is logged too
    new = plat.log("worker")[seen:]
    assert "killed (expected)" in new
    assert "ERROR" not in new and "Traceback" not in new, new
