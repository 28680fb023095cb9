"""``make run`` supervises: a process killed with SIGKILL (the worker's main
process, an API's gunicorn master, the private Redis) is started again, and
the others keep running and serving. The platform is ``python -m deploy.run``
itself, on free ports and a private Redis."""

import os
import signal
import time

import pytest
import requests

from deploy.processes import SupervisedPlatform
from tests import wat

PROCESSES = ("redis", "upload", "invoke", "worker", "flower")


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    plat = SupervisedPlatform(tmp_path_factory.mktemp("supervised"),
                              FAASM_WORKER_CONCURRENCY="1").start()
    try:
        assert answer(lambda: requests.put(f"{plat.upload_url}/f/sup/hello", data=wat.HELLO,
                                           timeout=10)).ok
        assert call_works(plat), plat.log("worker")
        yield plat
    finally:
        plat.stop()


def answer(request, seconds=30):
    """The first 2xx/4xx answer of ``request`` within ``seconds`` (retrying others)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            r = request()
            if r.status_code < 500 or time.monotonic() > deadline:
                return r
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def call_works(plat, seconds=60) -> bool:
    r = answer(lambda: requests.post(plat.invoke_url, json={"user": "sup", "function": "hello"},
                                     timeout=30), seconds)
    return r.status_code == 200 and r.headers.get("X-Faasm-Status") == "SUCCESS"


def wait_restarted(plat, name, old_pid, seconds=30) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid = plat.pid(name)
        if pid and pid != old_pid and "RUNNING" in plat.ctl("status", name):
            return pid
        time.sleep(0.2)
    raise AssertionError(f"{name} not restarted:\n{plat.ctl('status')}\n{plat.log('run')}")


@pytest.mark.parametrize("victim", ["worker", "invoke", "redis", "upload"])
def test_a_killed_process_is_restarted_and_the_others_keep_running(supervised, victim):
    before = {name: supervised.pid(name) for name in PROCESSES}
    assert all(before.values()), supervised.ctl("status")
    os.kill(before[victim], signal.SIGKILL)
    wait_restarted(supervised, victim, before[victim])
    after = {name: supervised.pid(name) for name in PROCESSES}
    assert {n: p for n, p in after.items() if n != victim} == \
        {n: p for n, p in before.items() if n != victim}
    if victim != "upload":  # meanwhile the upload API answered (never refused)
        r = answer(lambda: requests.get(f"{supervised.upload_url}/ping", timeout=5), 1)
        assert r.status_code == 200
    assert call_works(supervised), supervised.log("worker")
    # What was stored before the kill is still there.
    assert requests.get(f"{supervised.upload_url}/f/sup/hello", timeout=10).content == \
        wat.HELLO


def test_the_procfile_is_the_list_of_processes(supervised):
    status = supervised.ctl("status")
    assert sorted(line.split()[0] for line in status.splitlines()) == sorted(PROCESSES)


def test_a_graceful_worker_restart_loses_no_sync_call(supervised):
    """``supervisorctl restart worker`` (SIGTERM: Celery's warm shutdown) while sync
    calls run: the calls it was running finish, the ones it had taken but not
    started go back to the queue, and every caller gets its result."""
    import threading

    assert answer(lambda: requests.put(f"{supervised.upload_url}/f/sup/sleep", data=wat.SLEEP,
                                       timeout=10)).ok
    answers, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            try:
                r = requests.post(supervised.invoke_url, json={"user": "sup", "function": "sleep"},
                                  timeout=90)
                answers.append((r.status_code, r.text))
            except requests.RequestException as exc:
                answers.append((0, str(exc)))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    old = supervised.pid("worker")
    assert "started" in supervised.ctl("restart", "worker")
    assert supervised.pid("worker") not in (0, old)
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    assert len(answers) >= 6, answers
    assert all(a == (200, "slept\n") for a in answers), \
        [a for a in answers if a != (200, "slept\n")][:3]


def test_flower_remembers_calls_across_its_restart(supervised):
    """Flower runs persistent (its state in the data dir): a call made before a
    restart is still listed after it."""
    flower = f"http://127.0.0.1:{supervised.flower_port}"
    call_id = requests.post(supervised.invoke_url, json={"user": "sup", "function": "hello",
                                                         "async": True}, timeout=30).text
    task_id = str(call_id)

    def listed() -> bool:  # Flower's page of a task it does not know is a 404
        r = answer(lambda: requests.get(f"{flower}/task/{task_id}", timeout=5), 30)
        return r.status_code == 200 and task_id in r.text

    deadline = time.monotonic() + 30
    while not listed() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert listed(), "Flower never saw the call"
    old = supervised.pid("flower")
    assert "started" in supervised.ctl("restart", "flower")
    wait_restarted(supervised, "flower", old)
    assert listed(), "Flower forgot the call across its restart"
