"""Two platforms on two databases of one Redis server (as two deployments, or a staging
and a production one, may share a server): neither ever sees the other's calls."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from deploy.processes import Platform
from tests import fresh_database, wat


@pytest.fixture(scope="module")
def two(redis_url, tmp_path_factory):
    platforms = []
    try:
        for name in ("alpha", "beta"):
            platforms.append(Platform(fresh_database(redis_url), tmp_path_factory.mktemp(name),
                                      concurrency=1).start())
        yield [p.wait_ready() for p in platforms]
    finally:
        for p in platforms:
            p.stop()


def status(platform, call_id: int) -> dict:
    r = requests.get(f"{platform.invoke_url}/status/{call_id}", timeout=10)
    return r.json() if r.status_code == 200 else {"http": r.status_code}


def test_a_sync_caller_is_never_answered_with_another_platforms_result(two):
    """Both platforms number calls from 1. A result's notification is published on a
    channel every client of the server hears, whatever its database: alice's sync call
    on alpha, still running, was answered with bob's output from beta's call of the
    same number until the channel carried the database (workers.app.result_keyprefix)."""
    alpha, beta = two
    assert requests.put(f"{alpha.upload_url}/f/alice/loop", data=wat.LOOP).ok
    assert requests.put(f"{beta.upload_url}/f/bob/echo", data=wat.ECHO).ok
    answers = {}

    def alice():
        answers["alice"] = requests.post(alpha.invoke_url, timeout=60, json={
            "user": "alice", "function": "loop", "timeout": 3})

    waiting = threading.Thread(target=alice)
    waiting.start()
    deadline = time.monotonic() + 30
    while status(alpha, 1).get("status") != "RUNNING":
        assert time.monotonic() < deadline, "alice's call never started"
        time.sleep(0.05)
    bob = requests.post(beta.invoke_url, timeout=60, json={
        "user": "bob", "function": "echo", "input_data": "bob's secret"})
    assert (bob.status_code, bob.text.strip()) == (200, "bob's secret")
    assert status(beta, 1)["user"] == "bob"
    waiting.join(60)
    assert "bob's secret" not in answers["alice"].text
    assert "exceeded its 3 s timeout" in answers["alice"].text, answers["alice"].text
