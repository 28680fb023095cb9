"""Health with no worker, then with one: GET /health, `faasm doctor`, a sync call that
fails fast with 503, and QUEUED told from RUNNING (real gunicorn, Celery, Redis)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from deploy.processes import Platform
from tests import fresh_database, wat
from tests.integration.test_cli import run_faasm


@pytest.fixture(scope="module")
def bare(redis_url, tmp_path_factory):
    """Both APIs, no worker yet (own Redis DB); a sync call waits 1 s for a worker."""
    plat = Platform(fresh_database(redis_url), tmp_path_factory.mktemp("health"), concurrency=1,
                    FAASM_WORKER_WAIT="1").start_apis()
    try:
        assert requests.put(f"{plat.upload_url}/f/demo/hello", data=wat.HELLO).ok
        assert requests.put(f"{plat.upload_url}/f/demo/loop", data=wat.LOOP).ok
        yield plat
    finally:
        plat.stop()


def doctor(plat, *args):
    return run_faasm("doctor", *args, urls=(plat.upload_url, plat.invoke_url))


def test_without_a_worker(bare):
    for base in (bare.upload_url, bare.invoke_url):
        r = requests.get(f"{base}/health", timeout=20)
        assert r.status_code == 503
        report = r.json()
        assert report["ok"] is False and report["redis"]["ok"] and report["broker"]["ok"]
        assert report["workers"] == []
        assert report["queues"]["faasm-sync"]["consumers"] == 0
        assert any("No worker consumes faasm-sync" in p for p in report["problems"])

    started = time.monotonic()
    r = requests.post(bare.invoke_url, json={"user": "demo", "function": "hello"}, timeout=30)
    assert r.status_code == 503 and time.monotonic() - started < 5
    assert r.text.startswith("No worker consumes the faasm-sync queue") and \
        r.text.count("\n") == 1
    assert r.headers["Retry-After"] == "1"

    call_id = requests.post(bare.invoke_url, json={"user": "demo", "function": "hello",
                                                   "async": True}, timeout=30).text
    assert requests.get(f"{bare.invoke_url}/status/{call_id}").json()["status"] == "QUEUED"
    # Faasm's own status answer keeps saying RUNNING.
    assert requests.post(bare.invoke_url, json={"status": True, "id": call_id}).text == \
        "RUNNING"
    depth = requests.get(f"{bare.invoke_url}/health").json()["queues"]["faasm-async"]["depth"]
    assert depth == 1

    r = doctor(bare)
    assert r.returncode == 1, r.stderr
    out = r.stdout.decode()
    assert "!! workers" in out and "hint: start one" in out and "ok Redis" in out
    checks = json.loads(doctor(bare, "--json").stdout)["checks"]
    assert {c["check"]: c["ok"] for c in checks}["workers"] is False


def test_with_a_worker(bare):
    queued = requests.post(bare.invoke_url, json={"user": "demo", "function": "loop",
                                                  "timeout": 3, "async": True}).text
    bare.start_worker()
    # The call queued before the worker came is taken and RUNNING, then ends.
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.get(f"{bare.invoke_url}/status/{queued}").json()["status"]
        seen.add(status)
        if status == "FAILED":
            break
        time.sleep(0.05)
    assert {"QUEUED", "RUNNING", "FAILED"} <= seen, seen
    r = requests.get(f"{bare.invoke_url}/health", timeout=20)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["ok"] and report["problems"] == []
    assert [w["queues"] for w in report["workers"]] == [["faasm-async", "faasm-sync"]]
    assert report["queues"]["faasm-sync"] == {"depth": 0, "consumers": 1}
    r = requests.post(bare.invoke_url, json={"user": "demo", "function": "hello"}, timeout=60)
    assert r.status_code == 200 and r.content.startswith(b"out:"), r.text
    r = doctor(bare)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "!!" not in r.stdout.decode()


def test_doctor_with_nothing_running():
    r = run_faasm("doctor", urls=("http://127.0.0.1:9", "http://127.0.0.1:9"))
    assert r.returncode == 3 and b"hint: start the platform" in r.stdout


def test_no_gunicorn_shares_a_control_socket(bare):
    for name in ("upload", "invoke"):
        log = bare.log(name)
        assert "Control socket" not in log and "Address already in use" not in log, log[-2000:]


def test_each_queue_gets_its_own_calls(redis_url):
    """A sync call waits in faasm-sync and an async one in faasm-async, each once,
    with both queues declared as a worker declares them."""
    import redis

    from faasm.settings import Settings
    from workers.app import ASYNC_QUEUE, PING_TASK, SYNC_QUEUE, create_celery

    url = fresh_database(redis_url)
    app = create_celery(Settings(redis_url=url))
    with app.connection_for_write() as connection:
        for queue in app.amqp.queues.values():
            queue(connection.default_channel).declare()
    for queue in (SYNC_QUEUE, SYNC_QUEUE, ASYNC_QUEUE):
        app.send_task(PING_TASK, queue=queue)
    db = redis.Redis.from_url(url)
    assert (db.llen(SYNC_QUEUE), db.llen(ASYNC_QUEUE)) == (2, 1)
    # Through each queue's own exchange and key, too: one message, one queue.
    with app.producer_or_acquire() as producer:
        for queue in app.amqp.queues.values():
            producer.publish({"x": 1}, exchange=queue.exchange, routing_key=queue.routing_key)
    assert (db.llen(SYNC_QUEUE), db.llen(ASYNC_QUEUE)) == (3, 2)
