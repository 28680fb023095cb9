"""The invoke API through real gunicorn, a real Celery worker and real Redis."""

import base64
import json
import time

import pytest
import requests

from tests import wat


def wait_for_end(invoke, call_id, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = invoke({"status": True, "id": call_id})
        assert r.status_code == 200, r.text
        if r.text != "RUNNING":
            return r.text
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} still RUNNING after {seconds} s")


def test_sync_call_returns_the_output_and_a_newline_as_faasm(invoke):
    r = invoke({"user": "demo", "function": "hello", "input_data": "abc"})
    assert r.status_code == 200
    assert r.content == b"out:abc\n"
    assert r.headers["Content-Type"].startswith("text/plain")
    # What Faasm's body leaves out is in headers: the ID, the status, stdout.
    assert r.headers["X-Faasm-Status"] == "SUCCESS"
    assert base64.b64decode(r.headers["X-Faasm-Stdout"]) == b"hello from wasm\n"
    assert r.headers["X-Faasm-Stdout-Length"] == "16"
    assert invoke({"status": True, "id": int(r.headers["X-Faasm-Call-Id"])}).text == \
        "SUCCESS: out:abc"


def test_binary_input(invoke, upload):
    upload("demo", "echo", wat.ECHO)
    data = bytes(range(256))
    r = invoke({"user": "demo", "function": "echo",
                "input_data_b64": base64.b64encode(data).decode()})
    assert r.content == data + b"\n"


def test_async_call_and_status(invoke):
    r = invoke({"user": "demo", "function": "hello", "input_data": "x", "async": True})
    assert r.status_code == 200 and r.text.isdigit() and int(r.text) > 0
    assert wait_for_end(invoke, int(r.text)) == "SUCCESS: out:x"
    # The ID may also be given as a string.
    assert invoke({"status": True, "id": r.text}).text.startswith("SUCCESS: ")


def test_call_ids_are_distinct_and_increasing(invoke):
    ids = [int(invoke({"user": "demo", "function": "hello", "async": True}).text)
           for _ in range(5)]
    assert ids == sorted(set(ids))


def test_call_id_is_the_celery_task_id(platform, invoke, redis_url):
    from celery import Celery

    from faasm.settings import Settings
    from workers.app import result_keyprefix

    call_id = int(invoke({"user": "demo", "function": "hello", "async": True}).text)
    wait_for_end(invoke, call_id)
    # A plain Celery app reads it, told the results' key prefix (docs/SECURITY.md).
    app = Celery(backend=redis_url)
    app.conf.result_backend_transport_options = {
        "global_keyprefix": result_keyprefix(Settings(redis_url=redis_url))}
    result = app.AsyncResult(str(call_id))
    assert result.state == "SUCCESS"
    assert base64.b64decode(json.loads(result.result)["output"]) == b"out:"


@pytest.mark.parametrize("wasm, timeout, reason", [
    (wat.EXIT_3, None, "FAILED: Function exited with code 3"),
    (wat.TRAP, None, "FAILED: Function trapped: wasm `unreachable` instruction executed"),
    (wat.LOOP, 3, "FAILED: Call timed out: exceeded its 3 s timeout"),
    (wat.GROW, None, "memory limit reached"),
    (wat.BAD_POINTER, None, "__faasm_write_output: pointer 2147418112 + length 16 is outside"),
    (wat.UNKNOWN_IMPORT, None, "unknown host functions: env.no_such_function"),
])
def test_failures_answer_as_faasm_and_the_worker_lives_on(invoke, upload, wasm, timeout,
                                                          reason):
    upload("demo", "bad", wasm)
    body = {"user": "demo", "function": "bad"}
    if timeout:
        body["timeout"] = timeout
    started = time.monotonic()
    r = invoke(body)
    # Faasm: 200, the call's output (for a failed call, its error) and a newline.
    reason = reason.removeprefix("FAILED: ")
    assert r.status_code == 200 and reason in r.text and r.text.endswith("\n")
    assert r.headers["X-Faasm-Status"] == "FAILED" and reason in r.headers["X-Faasm-Error"]
    if timeout:
        assert timeout <= time.monotonic() - started < timeout + 5
    # The same failure is what status polling reports for an async call.
    call_id = invoke(dict(body, **{"async": True})).text
    answer = wait_for_end(invoke, int(call_id), seconds=30)
    assert answer.startswith("FAILED: ") and reason in answer and not answer.endswith("\n")
    ok = invoke({"user": "demo", "function": "hello", "input_data": "after"})
    assert ok.status_code == 200 and ok.content.startswith(b"out:after")


def test_reupload_is_picked_up_by_the_next_call(invoke, upload):
    upload("demo", "changing", wat.IDX)
    assert invoke({"user": "demo", "function": "changing"}).content == b"0\n"
    upload("demo", "changing", wat.HELLO)
    for _ in range(4):  # whichever worker process takes it
        assert invoke({"user": "demo", "function": "changing"}).content.startswith(b"out:")


def test_conf_flag(invoke, upload):
    upload("demo", "flag", wat.CONF_FLAG)
    assert invoke({"user": "demo", "function": "flag", "input_data": "test_flag"}).text == "1\n"
    assert invoke({"user": "demo", "function": "flag", "input_data": "other"}).text == "0\n"


@pytest.mark.parametrize("body", [{"flush": True}, {"type": 3}])
def test_flush(invoke, body):
    r = invoke(body)  # Faasm: an empty body; the count of workers in a header
    assert (r.status_code, r.content, r.headers["X-Faasm-Flushed"]) == (200, b"", "1")
    assert invoke({"user": "demo", "function": "hello"}).status_code == 200


@pytest.mark.parametrize("body, status, text", [
    (b"", 400, "Empty request\n"),
    (b"{broken", 400, "Invalid JSON"),
    (b'{"function": "hello"}', 400, "Empty user\n"),
    (b'{"user": "demo"}', 400, "Empty function\n"),
    (b'{"user": "demo", "function": "nothing"}', 404, "Function demo/nothing not found\n"),
    (b'{"user": "demo", "function": "nothing", "async": true}', 404, "not found"),
    (b'{"user": "../x", "function": "f"}', 400, "Invalid user"),
    (b'{"user": "demo", "function": "hello", "timeout": "x"}', 400, "Invalid timeout"),
    (b'{"status": true, "id": 999999999}', 404, "Call 999999999 not found\n"),
    (b'{"status": true, "id": "nope"}', 400, "Invalid id"),
    (b'{"status": true}', 400, "Invalid id"),
])
def test_bad_requests(platform, body, status, text):
    r = requests.post(platform.invoke_url, data=body)
    assert r.status_code == status and text in r.text
    assert r.text.count("\n") == 1


def test_python_function_found_by_both_forms(platform, invoke):
    source = b"print('hi')\n"
    assert requests.put(f"{platform.upload_url}/p/pyuser/pyhello", data=source).ok
    direct = invoke({"user": "pyuser", "function": "pyhello"})
    faasm_form = invoke({"user": "python", "function": "py_func", "py_user": "pyuser",
                         "py_func": "pyhello", "python": True})
    # Both forms run the same Python function.
    assert (direct.status_code, direct.content) == (200, b"\n")  # no output; "hi" is stdout
    assert base64.b64decode(direct.headers["X-Faasm-Stdout"]) == b"hi\n"
    assert (faasm_form.status_code, faasm_form.content) == (200, b"\n")
    assert base64.b64decode(faasm_form.headers["X-Faasm-Stdout"]) == b"hi\n"
    missing = invoke({"user": "python", "function": "py_func", "py_user": "pyuser",
                      "py_func": "nothing", "python": True})
    assert missing.status_code == 404 and "Python function pyuser/nothing" in missing.text


@pytest.mark.parametrize("body", [{"flush": 0}, {"user": "demo", "function": "hello",
                                                 "async": 1}])
def test_flags_that_are_not_booleans_are_a_one_line_400(invoke, body):
    r = invoke(body)
    assert r.status_code == 400 and r.text.count("\n") == 1
    assert "is not a JSON boolean" in r.text
