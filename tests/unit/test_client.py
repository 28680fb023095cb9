"""faasm_client without a platform: requests answered by an in-process adapter."""

from __future__ import annotations

import base64
import io
import json
import threading
import time

import pytest
import requests

import faasm_client as api
from faasm import errors
from faasm_client import http


class _ClientTime:
    """The client module's own view of ``time``: what a test patches on it stays the
    client's. Patching the time module itself changed ``time.sleep`` for every thread of
    the test process (the wasm runtime's epoch ticker, started by earlier tests, then
    filled this module's list of sleeps with its own, and spun)."""

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture(autouse=True)
def client_time(monkeypatch):
    monkeypatch.setattr(http, "time", _ClientTime())


class FakeAdapter(requests.adapters.BaseAdapter):
    """Answers each request with ``handler(request) -> (status, body)``; records requests."""

    def __init__(self, handler):
        super().__init__()
        self.handler = handler
        self.requests: list[requests.PreparedRequest] = []
        self.bodies: list[bytes] = []

    def send(self, request, **kwargs):
        body = request.body
        if hasattr(body, "read"):
            chunks = []
            while chunk := body.read(16384):
                chunks.append(chunk)
            body = b"".join(chunks)
        self.requests.append(request)
        self.bodies.append(body.encode() if isinstance(body, str) else body or b"")
        outcome = self.handler(request)
        if isinstance(outcome, Exception):
            raise outcome
        status, content, *headers = outcome
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers[0] if headers else {})
        content = content.encode() if isinstance(content, str) else content
        response.raw = io.BytesIO(content)
        response.headers["Content-Length"] = str(len(content))
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def make_client(handler) -> tuple[api.Client, FakeAdapter]:
    adapter = FakeAdapter(handler)
    session = requests.Session()
    session.mount("http://", adapter)
    return api.Client("http://up.test", "http://in.test", session=session), adapter


@pytest.mark.parametrize("status, body, cls, core", [
    (400, "Empty user\n", api.BadRequest, errors.BadRequest),
    (404, "Function demo/x not found\n", api.NotFound, errors.NotFound),
    (410, "Call 3 expired (results are kept 86400 s)\n", api.Expired, errors.Expired),
    (413, "Body is over the 10 byte limit\n", api.TooLarge, errors.TooLarge),
    (503, "Broker unavailable: refused\n", api.Unavailable, errors.Unavailable),
    (500, "FAILED: Function exited with code 3\n", api.CallFailed, errors.CallFailed),
    (500, "Internal error: KeyError\n", api.ServerError, errors.FaasmError),
    (502, "", api.ServerError, errors.FaasmError),
    (405, "Method Not Allowed\n", api.ClientError, errors.FaasmError),
])
def test_errors_are_typed_and_carry_the_one_line_reason(status, body, cls, core):
    client, _ = make_client(lambda r: (status, body))
    with pytest.raises(cls) as raised:
        client.get_state("demo", "k")
    exc = raised.value
    assert type(exc) is cls and isinstance(exc, core) and isinstance(exc, api.ClientError)
    assert exc.status == status
    expected = body.strip().removeprefix("FAILED: ") or f"HTTP {status}"
    assert exc.reason == expected and "\n" not in exc.reason


def test_connection_failure_is_unreachable_with_a_short_reason():
    refused = requests.ConnectionError(
        "HTTPConnectionPool(host='in.test', port=80): Max retries exceeded with url: / "
        "(Caused by NewConnectionError('<urllib3.connection.HTTPConnection object>: "
        "Failed to establish a new connection: [Errno 111] Connection refused'))")
    client, _ = make_client(lambda r: refused)
    with pytest.raises(api.Unreachable) as raised:
        client.invoke("demo", "hello")
    assert raised.value.reason == "cannot reach http://in.test: Connection refused"
    assert raised.value.status is None


def test_a_real_closed_port_is_unreachable():
    from deploy.processes import free_port

    port = free_port()
    client = api.Client(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}")
    with pytest.raises(api.Unreachable, match="Connection refused"):
        client.ping()


@pytest.mark.parametrize("input, expected", [
    (b"", {"input_data": ""}),
    ("héllo", {"input_data": "héllo"}),
    (b"abc", {"input_data": "abc"}),
    (b"\xff\x00", {"input_data_b64": base64.b64encode(b"\xff\x00").decode()}),
])
def test_call_body_sends_text_when_it_can_else_base64(input, expected):
    body = api.Client.call_body("demo", "echo", input)
    assert body == {"user": "demo", "function": "echo", **expected}


def test_python_calls_use_faasms_form_and_timeouts_pass_through():
    body = api.Client.call_body("demo", "py", "x", python=True, timeout=2.5)
    assert body == {"user": "python", "function": "py_func", "python": True,
                    "py_user": "demo", "py_func": "py", "input_data": "x", "timeout": 2.5}


def test_invoke_async_status_and_flush_speak_faasms_json():
    # A flush's body is empty (Faasm's); the count comes in a header, or, from an
    # older platform, in the body.
    answers = {"async": "17", "status": "SUCCESS: out", "flush": "Flushed 3 workers\n"}

    def handler(request):
        body = json.loads(request.body)
        return 200, next(answers[key] for key in answers if key in body)

    client, adapter = make_client(handler)
    assert client.invoke_async("demo", "hello", "x") == 17
    assert client.status(17) == b"SUCCESS: out"
    assert client.flush() == 3
    assert json.loads(adapter.bodies[1]) == {"status": True, "id": 17}
    assert all(r.url == "http://in.test/" and r.method == "POST" for r in adapter.requests)


def report(status, **fields):
    return json.dumps({"id": 5, "status": status, "output": "", "output_encoding": "utf-8",
                       "stdout": "", "stdout_encoding": "utf-8", "error": None,
                       "timings": {}, "worker": None, **fields})


def test_wait_polls_with_growing_intervals_until_the_call_ends(monkeypatch):
    sleeps = []
    monkeypatch.setattr(http.time, "sleep", sleeps.append)
    answers = [report("RUNNING")] * 12 + [report(
        "SUCCESS", output=base64.b64encode(b"\xff").decode(), output_encoding="base64",
        stdout="hi\n", worker="w@h/1", timings={"run": 0.5})]
    client, adapter = make_client(lambda r: (200, answers.pop(0)))
    seen = []
    done = client.wait(5, on_poll=lambda rep, elapsed: seen.append(rep.status))
    assert (done.output, done.stdout, done.worker, done.timings) == (
        b"\xff", b"hi\n", "w@h/1", {"run": 0.5})
    assert done.ok and seen == ["RUNNING"] * 12 + ["SUCCESS"]
    assert sleeps[0] == http.POLL_FIRST and max(sleeps) == http.POLL_MAX
    assert sleeps == sorted(sleeps)
    assert adapter.requests[0].url == "http://in.test/status/5"


def test_wait_raises_call_failed_with_the_reason_and_id(monkeypatch):
    monkeypatch.setattr(http.time, "sleep", lambda s: None)
    client, _ = make_client(lambda r: (200, report("FAILED", error="Function trapped")))
    with pytest.raises(api.CallFailed) as raised:
        client.wait(5)
    assert raised.value.reason == "Function trapped" and raised.value.call_id == 5


def test_wait_gives_up_after_its_timeout(monkeypatch):
    clock = iter(range(1000))
    monkeypatch.setattr(http.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(http.time, "sleep", lambda s: None)
    client, _ = make_client(lambda r: (200, report("RUNNING")))
    with pytest.raises(api.WaitTimeout, match="still RUNNING"):
        client.wait(5, timeout=3)


def test_uploads_report_progress_and_send_a_content_length(tmp_path):
    client, adapter = make_client(lambda r: (200, "Function upload complete\n"))
    wasm = tmp_path / "f.wasm"
    wasm.write_bytes(b"\0asm" + bytes(300_000))
    seen = []
    answer = client.upload("demo", "f", wasm, progress=lambda done, total: seen.append(
        (done, total)))
    assert answer == "Function upload complete\n"
    request = adapter.requests[0]
    assert request.url == "http://up.test/f/demo/f" and request.method == "PUT"
    assert request.headers["Content-Length"] == str(300_004)
    assert adapter.bodies[0] == wasm.read_bytes()
    assert seen[-1] == (300_004, 300_004) and len(seen) > 2
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


@pytest.mark.parametrize("data, sent", [
    (b"\x00\x01", b"\x00\x01"), ("text", b"text"), (b"", b"")])
def test_state_and_files_take_bytes_or_text(data, sent):
    client, adapter = make_client(lambda r: (200, "ok\n"))
    client.put_state("demo", "k", data)
    client.put_file("dir/a.txt", data)
    assert adapter.bodies == [sent, sent]
    assert adapter.requests[1].headers["FilePath"] == "dir/a.txt"
    assert adapter.requests[1].url == "http://up.test/file"


def test_downloads_with_progress_stream_the_body():
    client, _ = make_client(lambda r: (200, b"x" * 200_000))
    seen = []
    assert client.get_file("a", progress=lambda d, t: seen.append(d)) == b"x" * 200_000
    assert seen[-1] == 200_000


def test_default_urls_follow_the_settings(monkeypatch):
    from faasm.settings import get_settings

    monkeypatch.setenv("FAASM_UPLOAD_PORT", "9002")
    monkeypatch.setenv("FAASM_INVOKE_PORT", "9080")
    monkeypatch.setenv("FAASM_BIND_HOST", "0.0.0.0")
    get_settings.cache_clear()
    try:
        client = api.Client()
        assert (client.upload_url, client.invoke_url) == (
            "http://127.0.0.1:9002", "http://127.0.0.1:9080")
    finally:
        get_settings.cache_clear()


def test_call_reads_faasms_body_and_the_platforms_headers():
    stdout = base64.b64encode(b"printed\n").decode()
    client, _ = make_client(lambda request: (200, b"out\n", {
        "X-Faasm-Call-Id": "9", "X-Faasm-Status": "SUCCESS", "X-Faasm-Stdout": stdout,
        "X-Faasm-Stdout-Length": "8"}))
    report = client.call("demo", "hello")
    assert (report.id, report.output, report.stdout) == (9, b"out", b"printed\n")
    assert client.invoke("demo", "hello") == b"outprinted\n"


def test_a_big_stdout_is_read_from_status():
    def handler(request):
        if request.method == "GET":
            return 200, report("SUCCESS", output="out", stdout="x" * 10_000)
        return 200, b"out\n", {"X-Faasm-Call-Id": "5", "X-Faasm-Status": "SUCCESS",
                                "X-Faasm-Stdout-Length": "10000"}

    client, adapter = make_client(handler)
    assert client.call("demo", "hello").stdout == b"x" * 10_000
    assert adapter.requests[-1].url == "http://in.test/status/5"


def test_a_failed_call_is_200_with_a_header_and_raises_call_failed():
    client, _ = make_client(lambda request: (200, b"Function exited with code 3\n", {
        "X-Faasm-Call-Id": "4", "X-Faasm-Status": "FAILED"}))
    with pytest.raises(api.CallFailed) as failed:
        client.invoke("demo", "exit3")
    assert (failed.value.reason, failed.value.call_id) == ("Function exited with code 3", 4)


def test_a_plain_faasm_endpoint_answer_is_the_output():
    client, _ = make_client(lambda request: (200, b"just output\n"))
    assert client.invoke("demo", "hello") == b"just output"


def test_flush_reads_the_header():
    client, _ = make_client(lambda request: (200, b"", {"X-Faasm-Flushed": "2"}))
    assert client.flush() == 2


def test_batches_are_one_planner_request_then_polls(monkeypatch):
    monkeypatch.setattr(http.time, "sleep", lambda s: None)
    polls = iter([
        {"appId": 77},
        {"appId": 77, "messageResults": [{"id": 1, "output_data": "A"}]},
        {"appId": 77, "finished": True, "messageResults": [
            {"id": 1, "output_data": "A", "executedHost": "w"},
            {"id": 2, "output_data": "boom", "returnValue": 1}]}])

    def handler(request):
        body = json.loads(request.body)
        if body["http_type"] == "EXECUTE_BATCH":
            return 200, '{"appId":77}'
        assert json.loads(body["payload"]) == {"appId": 77}
        return 200, json.dumps(next(polls))

    client, adapter = make_client(handler)
    assert client.invoke_batch("demo", "up", [b"a", "b", b"\xff"]) == 77
    sent = json.loads(json.loads(adapter.bodies[0])["payload"])
    assert (sent["user"], sent["function"], len(sent["messages"])) == ("demo", "up", 3)
    assert [base64.b64decode(m["input_data"]) for m in sent["messages"]] == \
        [b"a", b"b", b"\xff"]
    seen = []
    reports = client.wait_batch(77, on_poll=lambda ended, _: seen.append(ended))
    assert seen == [0, 1, 2]
    assert [(r.id, r.status, r.output, r.error) for r in reports] == [
        (1, "SUCCESS", b"A", None), (2, "FAILED", b"", "boom")]


def test_python_batches_use_faasms_form():
    client, adapter = make_client(lambda request: (200, '{"appId":1}'))
    client.invoke_batch("alice", "shout", ["x"], python=True)
    sent = json.loads(json.loads(adapter.bodies[0])["payload"])
    assert (sent["user"], sent["function"]) == ("python", "py_func")
    assert {k: sent["messages"][0][k] for k in ("python", "py_user", "py_func")} == \
        {"python": True, "py_user": "alice", "py_func": "shout"}


def test_draw_graph():
    from faasm_client.cli.commands import draw_graph

    leaf = {"id": 3, "user": "u", "function": "f", "status": "FAILED", "duration": None,
            "worker": None, "output_bytes": 4, "error": "boom", "children": []}
    mid = {"id": 2, "user": "u", "function": "f", "status": "SUCCESS", "duration": 0.002,
           "worker": "w", "output_bytes": 2048, "children": [leaf]}
    root = {"id": 1, "user": "u", "function": "f", "python": True, "status": "SUCCESS",
            "duration": 0.0105, "worker": "w", "output_bytes": 1, "children": [mid, leaf]}
    assert draw_graph(root) == [
        "call 1 u/f (python) SUCCESS 10.5 ms on w, 1 B out",
        "├─ call 2 u/f SUCCESS 2.0 ms on w, 2.0 KiB out",
        "│  └─ call 3 u/f FAILED - , 4 B out: boom".replace(" - ,", " -,"),
        "└─ call 3 u/f FAILED -, 4 B out: boom"]


def test_a_patched_client_sleep_is_the_clients_alone(monkeypatch):
    """Another thread sleeping while a test patches the client's sleep sleeps for real."""
    monkeypatch.setattr(http.time, "sleep", lambda s: None)
    slept = []
    thread = threading.Thread(target=lambda: slept.append(time.sleep(0.01) or True))
    started = time.monotonic()
    thread.start()
    thread.join()
    assert slept == [True] and time.monotonic() - started >= 0.01
