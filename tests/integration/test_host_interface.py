"""The host interface through the platform, with the C/C++ examples built by the SDK."""

import concurrent.futures
import struct
import time

import pytest
import requests

from deploy.processes import Platform
from tests import fresh_database


def call(platform, user, function, input_data="", **extra):
    body = {"user": user, "function": function, "input_data": input_data, **extra}
    return requests.post(platform.invoke_url, json=body, timeout=120)


@pytest.fixture(scope="module")
def functions(platform, examples):
    for name, wasm in examples.items():
        r = requests.put(f"{platform.upload_url}/f/hi/{name}", data=wasm)
        assert r.ok, r.text
    return platform


def test_hello_c_and_cpp(functions):
    r = call(functions, "hi", "hello")
    assert r.status_code == 200 and r.content.startswith(b"Hello faasm!")
    r = call(functions, "hi", "hello_cpp", "Bob")
    assert r.status_code == 200 and r.content.startswith(b"Hello Bob!")


def test_echo_is_binary_safe(functions):
    import base64

    data = bytes(range(256)) * 4
    r = call(functions, "hi", "echo", input_data_b64=base64.b64encode(data).decode())
    assert r.content == data + b"\n"  # Faasm's sync answer: the output and a newline


def test_state_counter_under_global_lock_loses_no_update(functions):
    url = f"{functions.upload_url}/s/hi/counter"
    requests.put(url, data=struct.pack("<i", 0))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(functions, "hi", "state_counter"), range(20)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sorted(int(a.text) for a in answers) == list(range(1, 21))
    assert struct.unpack("<i", requests.get(url).content) == (20,)


def test_state_offset_pushes_only_the_slice(functions):
    url = f"{functions.upload_url}/s/hi/offset_state"
    requests.put(url, data=b"0123456789abcdef")
    r = call(functions, "hi", "state_offset", "4:WXYZ")
    assert r.status_code == 200, r.text
    assert requests.get(url).content == b"0123WXYZ89abcdef"


def test_state_append_read_clear(functions):
    assert call(functions, "hi", "state_append", "clear").text == "cleared\n"
    for word in ("one", "two", "three"):
        assert call(functions, "hi", "state_append", word).ok
    r = call(functions, "hi", "state_append", "read:3")
    assert r.content == b"one.....two.....three...\n"
    assert call(functions, "hi", "state_append", "clear").ok


def test_chain_by_name(functions):
    r = call(functions, "hi", "chain_named", "hi")
    assert r.status_code == 200 and r.content.startswith(b"echo said: hi"), r.text


def test_chain_by_index(functions):
    r = call(functions, "hi", "chain_index", "7")
    assert r.status_code == 200 and r.content.startswith(b"chained index 1: OK"), r.text


def test_chain_by_pointer_with_output(functions):
    r = call(functions, "hi", "chain_output", "hello")
    assert r.status_code == 200 and r.content.startswith(b"HELLO"), r.text


def test_fan_out_of_12(functions):
    r = call(functions, "hi", "fanout")
    assert r.status_code == 200 and r.content.startswith(b"sum of squares of 0..11 = 506")


def test_chained_calls_are_real_calls(functions):
    r = call(functions, "hi", "chain_recursive", "2", **{"async": True})
    parent = int(r.text)
    for _ in range(200):
        status = requests.post(functions.invoke_url, json={"status": True, "id": parent}).text
        if status != "RUNNING":
            break
    assert status.startswith("SUCCESS: 2 1 0")
    # Its children got the next IDs and are pollable like any call.
    for child in (parent + 1, parent + 2):
        r = requests.post(functions.invoke_url, json={"status": True, "id": child})
        assert r.status_code == 200 and r.text.startswith("SUCCESS: ")


def test_shared_files(functions):
    r = requests.put(f"{functions.upload_url}/file", data=b"from upload",
                     headers={"FilePath": "examples_shared.txt"})
    assert r.ok
    r = call(functions, "hi", "shared_file", "written by wasm")
    assert r.status_code == 200 and r.content.startswith(b"written by wasm"), r.text
    r = requests.get(f"{functions.upload_url}/file", headers={"FilePath": "examples_shared.txt"})
    assert r.content == b"written by wasm"


@pytest.fixture(scope="module")
def single_worker(redis_url, examples, tmp_path_factory):
    """A platform of its own (own Redis DB) whose only worker has concurrency 1."""
    plat = Platform(fresh_database(redis_url), tmp_path_factory.mktemp("single"),
                    concurrency=1).start()
    try:
        for name in ("chain_recursive", "fanout"):
            assert requests.put(f"{plat.upload_url}/f/hi/{name}", data=examples[name]).ok
        yield plat
    finally:
        plat.stop()


def test_deep_chain_on_one_worker_of_concurrency_1(single_worker):
    r = call(single_worker, "hi", "chain_recursive", "6")
    assert r.status_code == 200 and r.content.startswith(b"6 5 4 3 2 1 0"), r.text


def test_concurrent_chains_on_one_worker_of_concurrency_1(single_worker):
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(
            lambda _: call(single_worker, "hi", "chain_recursive", "3"), range(6)))
    assert [a.content[:7] for a in answers] == [b"3 2 1 0"] * 6, [a.text for a in answers]


def test_fan_out_on_one_worker_of_concurrency_1(single_worker):
    r = call(single_worker, "hi", "fanout")
    assert r.status_code == 200 and r.content.startswith(b"sum of squares of 0..11 = 506")


def test_inline_run_calls_leave_no_message_behind(single_worker):
    """Messages of calls run inline are acknowledged, never redelivered to run again."""
    import time

    import redis

    assert call(single_worker, "hi", "fanout").ok
    broker = redis.Redis.from_url(single_worker.env["FAASM_REDIS_URL"])
    for _ in range(100):
        if broker.hlen("unacked") == 0 and broker.llen("faasm-async") == 0:
            break
        time.sleep(0.05)
    assert broker.hlen("unacked") == 0 and broker.llen("faasm-async") == 0


def test_inline_run_calls_show_as_succeeded_in_task_events(single_worker):
    """Flower learns of calls run inline from the same task events a worker sends."""
    import threading

    from celery import Celery

    app = Celery(broker=single_worker.env["FAASM_REDIS_URL"])
    succeeded, hearing = set(), threading.Event()

    done = threading.Event()

    def listen():
        with app.connection() as conn:
            receiver = app.events.Receiver(conn, handlers={
                "task-succeeded": lambda event: succeeded.add(event["uuid"]),
                "*": lambda event: hearing.set()})
            try:
                for _ in receiver.itercapture(limit=None, timeout=5, wakeup=False):
                    if done.is_set():
                        break
            except TimeoutError:  # the capture times out once the test has what it needs
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    # Events are published to whoever subscribes at that moment: the call starts only
    # once the receiver hears (an inline call's events are sent at once, and were
    # lost when the call ran before the receiver had subscribed).
    with app.connection_for_write() as conn:
        probe = app.events.Dispatcher(conn, hostname="probe@test", enabled=True)
        deadline = time.monotonic() + 10
        while not hearing.wait(0.1) and time.monotonic() < deadline:
            probe.send("test-probe")
    assert hearing.is_set(), "the event receiver heard nothing in 10 s"
    r = call(single_worker, "hi", "chain_recursive", "2", **{"async": True})
    root = int(r.text)
    deadline = time.monotonic() + 15
    # The root's event comes from the worker's main process, after the children's.
    while time.monotonic() < deadline and not {str(root + i) for i in range(3)} <= succeeded:
        time.sleep(0.1)
    done.set()
    assert {str(root), str(root + 1), str(root + 2)} <= succeeded
