"""The platform's HTTP API from Python: the upload API and the invoke API.

    from faasm_client import Client

    client = Client()                        # 127.0.0.1 and the configured ports
    client.upload("demo", "hello", Path("hello.wasm"))
    client.invoke("demo", "hello", "hi")     # -> b"..." (output, then stdout)
    client.call("demo", "hello", "hi")       # -> CallReport: output, stdout apart
    app = client.invoke_batch("demo", "hello", [b"a", b"b"])   # one request, N calls
    client.wait_batch(app)                   # -> [CallReport, ...] in input order
    call_id = client.invoke_async("demo", "hello")
    client.wait(call_id).output              # polls GET /status/{id} with backoff

A failed request raises a :class:`~faasm_client.errors.ClientError` (see
``faasm_client/errors.py``).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import PurePath
from typing import BinaryIO

import requests

from faasm import errors
from faasm_client.errors import (
    CallFailed,
    ClientError,
    ServerError,
    WaitTimeout,
    error_for,
    unreachable,
)
from faasm_client.reports import CallReport, batch_report

#: Bytes to send: bytes as they are, str as UTF-8 text, a Path's file, or an open binary file.
Data = bytes | str | PurePath | BinaryIO
#: ``progress(done_bytes, total_bytes)``, called as a body is sent or received.
Progress = Callable[[int, int], None]

CONNECT_TIMEOUT = 5.0
#: How long an answer may take (not sync calls: the platform bounds those itself).
READ_TIMEOUT = 30.0
#: Uploads are validated and precompiled before the answer: a big module takes a while.
UPLOAD_READ_TIMEOUT = 300.0
#: ``wait``'s polling interval: from the first to the last, growing by the factor.
POLL_FIRST, POLL_FACTOR, POLL_MAX = 0.05, 1.5, 1.0
CHUNK = 64 * 1024
_DEFAULT = object()  # "the client's read timeout", as None means "no read timeout"
#: Headers in which the platform says more than Faasm's bodies (docs/COMPATIBILITY.md).
HEADER_CALL_ID, HEADER_STATUS = "X-Faasm-Call-Id", "X-Faasm-Status"
HEADER_STDOUT, HEADER_STDOUT_LENGTH = "X-Faasm-Stdout", "X-Faasm-Stdout-Length"
HEADER_FLUSHED = "X-Faasm-Flushed"


def _error(response: requests.Response) -> ClientError:
    """The typed error for a failed answer, with the server's one-line reason."""
    text = response.content.decode("utf-8", "replace").strip()
    reason = errors.first_line(text, response.reason or f"HTTP {response.status_code}")
    return error_for(response.status_code, reason, response.url)


def _header_text(value: str) -> str | bytes:
    """A header value as UTF-8 (requests would send a str as latin-1)."""
    return value if value.isascii() else value.encode("utf-8")


def default_urls() -> tuple[str, str]:
    """(upload URL, invoke URL) of the platform as this machine's settings place it."""
    from faasm.settings import get_settings

    settings = get_settings()
    host = settings.bind_host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return (f"http://{host}:{settings.upload_port}", f"http://{host}:{settings.invoke_port}")


class _Reader:
    """A body requests sends with a Content-Length, reporting each chunk it reads."""

    def __init__(self, stream: BinaryIO, total: int, progress: Progress):
        self.stream, self.total, self.progress, self.sent = stream, total, progress, 0

    def __len__(self) -> int:
        return self.total

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(CHUNK if size is None or size < 0 else size)
        self.sent += len(chunk)
        self.progress(self.sent, self.total)
        return chunk


def _open(data: Data) -> tuple[BinaryIO, int, bool]:
    """(stream, size, whether we opened it) for any :data:`Data`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(data), len(data), False
    if isinstance(data, PurePath):
        stream = open(data, "rb")  # noqa: SIM115 - the caller closes it (third item)
        return stream, os.fstat(stream.fileno()).st_size, True
    try:
        size = os.fstat(data.fileno()).st_size - data.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        content = data.read()
        return io.BytesIO(content), len(content), False
    return data, size, False


class Client:
    """The platform's HTTP API from Python. URLs default to :func:`default_urls`.

    ``token`` (default: ``FAASM_TOKEN``) is sent as ``Authorization: Bearer``
    on every request, for a platform with FAASM_AUTH on; "" sends none.

    The upload API keeps functions, state values and shared files (``upload``,
    ``put_state``, ``put_file``, their ``list_*``/``delete_*``); the invoke API
    runs calls (``call``, ``invoke_async``, ``wait``, ``invoke_batch``,
    ``graph``, ``logs``) and answers on the platform (``health``, ``ping``).
    """

    def __init__(self, upload_url: str | None = None, invoke_url: str | None = None, *,
                 session: requests.Session | None = None, timeout: float = READ_TIMEOUT,
                 token: str | None = None):
        if upload_url is None or invoke_url is None:
            default_upload, default_invoke = default_urls()
            upload_url, invoke_url = upload_url or default_upload, invoke_url or default_invoke
        self.upload_url = upload_url.rstrip("/")
        self.invoke_url = invoke_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        if token is None:
            from faasm.settings import get_settings

            token = get_settings().token
        self.token = token.strip()  # a token read from a file keeps its newline

    def _request(self, method: str, url: str, *, timeout: float | None | object = _DEFAULT,
                 allow: tuple[int, ...] = (), **kwargs) -> requests.Response:
        read = self.timeout if timeout is _DEFAULT else timeout
        if self.token:
            kwargs["headers"] = {**(kwargs.get("headers") or {}),
                                 "Authorization": f"Bearer {self.token}"}
        try:
            response = self.session.request(method, url, timeout=(CONNECT_TIMEOUT, read),
                                            **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise unreachable(url, exc) from None
        if response.status_code >= 400 and response.status_code not in allow:
            raise _error(response)
        return response

    def _put(self, url: str, data: Data, progress: Progress | None = None,
             headers: dict | None = None) -> str:
        stream, size, opened = _open(data)
        try:
            body = _Reader(stream, size, progress) if progress else stream.read()
            return self._request("PUT", url, data=body, headers=headers,
                                 timeout=UPLOAD_READ_TIMEOUT).text
        finally:
            if opened:
                stream.close()

    def _get(self, url: str, progress: Progress | None = None,
             headers: dict | None = None) -> bytes:
        if progress is None:
            return self._request("GET", url, headers=headers).content
        with self._request("GET", url, headers=headers, stream=True) as response:
            total = int(response.headers.get("Content-Length") or 0)
            chunks, received = [], 0
            for chunk in response.iter_content(CHUNK):
                chunks.append(chunk)
                received += len(chunk)
                progress(received, total)
            return b"".join(chunks)

    def _invoke(self, body: dict, timeout: float | None | object = _DEFAULT
                ) -> requests.Response:
        return self._request("POST", self.invoke_url + "/", json=body, timeout=timeout)

    def upload(self, user: str, function: str, wasm: Data,
               progress: Progress | None = None) -> str:
        """Upload a wasm function; the server's answer (``Function upload complete``)."""
        return self._put(f"{self.upload_url}/f/{user}/{function}", wasm, progress)

    def download(self, user: str, function: str, progress: Progress | None = None) -> bytes:
        """The wasm of a function, exactly as uploaded."""
        return self._get(f"{self.upload_url}/f/{user}/{function}", progress)

    def upload_python(self, user: str, function: str, source: Data,
                      progress: Progress | None = None) -> str:
        """Upload a Python function's source."""
        return self._put(f"{self.upload_url}/p/{user}/{function}", source, progress)

    def download_python(self, user: str, function: str) -> bytes:
        """A Python function's source, exactly as uploaded."""
        return self._get(f"{self.upload_url}/p/{user}/{function}")

    def put_state(self, user: str, key: str, value: Data,
                  progress: Progress | None = None) -> str:
        """Set the global state value of ``(user, key)``."""
        return self._put(f"{self.upload_url}/s/{user}/{key}", value, progress)

    def get_state(self, user: str, key: str, progress: Progress | None = None) -> bytes:
        """The global state value of ``(user, key)``."""
        return self._get(f"{self.upload_url}/s/{user}/{key}", progress)

    def put_file(self, path: str, data: Data, progress: Progress | None = None) -> str:
        """Store a shared file at ``path`` (functions see it at ``faasm://<path>``)."""
        return self._put(f"{self.upload_url}/file", data, progress,
                         {"FilePath": _header_text(path)})

    def get_file(self, path: str, progress: Progress | None = None) -> bytes:
        """The shared file at ``path``."""
        return self._get(f"{self.upload_url}/file", progress, {"FilePath": _header_text(path)})

    def list_functions(self, user: str) -> list[dict]:
        """``user``'s functions: [{function, kind, size, uploaded, sha256}]."""
        return self._request("GET", f"{self.upload_url}/functions/{user}").json()["functions"]

    def describe_function(self, user: str, function: str) -> list[dict]:
        """Each kind (wasm, python) uploaded as ``user/function``; NotFound if none."""
        return self._request("GET", f"{self.upload_url}/functions/{user}/{function}"
                             ).json()["kinds"]

    def list_state(self, user: str) -> list[dict]:
        """``user``'s global state keys: [{key, size}]."""
        return self._request("GET", f"{self.upload_url}/state/{user}").json()["keys"]

    def list_files(self, prefix: str = "") -> dict:
        """Shared files under ``prefix``: {prefix, files: [{path, size, modified}], truncated}."""
        return self._request("GET", f"{self.upload_url}/files",
                             params={"prefix": prefix} if prefix else None).json()

    def delete_function(self, user: str, function: str, python: bool = False) -> str:
        """Remove the wasm (or, with ``python``, the Python) function ``user/function``."""
        kind = "p" if python else "f"
        return self._request("DELETE", f"{self.upload_url}/{kind}/{user}/{function}").text

    def delete_state(self, user: str, key: str) -> str:
        return self._request("DELETE", f"{self.upload_url}/s/{user}/{key}").text

    def delete_file(self, path: str) -> str:
        return self._request("DELETE", f"{self.upload_url}/file",
                             headers={"FilePath": _header_text(path)}).text

    @staticmethod
    def call_body(user: str, function: str, input: bytes | str = b"", *,
                  python: bool = False, timeout: float | None = None) -> dict:
        """Faasm's JSON for a call (Python functions in Faasm's own form)."""
        if python:
            body = {"user": "python", "function": "py_func", "python": True,
                    "py_user": user, "py_func": function}
        else:
            body = {"user": user, "function": function}
        if isinstance(input, str):
            body["input_data"] = input
        else:
            try:
                body["input_data"] = bytes(input).decode("utf-8")
            except UnicodeDecodeError:
                body["input_data_b64"] = base64.b64encode(input).decode("ascii")
        if timeout is not None:
            body["timeout"] = timeout
        return body

    def invoke(self, user: str, function: str, input: bytes | str = b"", *,
               python: bool = False, timeout: float | None = None) -> bytes:
        """Call and wait: the output followed by captured stdout. CallFailed if it fails."""
        report = self.call(user, function, input, python=python, timeout=timeout)
        return report.output + report.stdout

    def call(self, user: str, function: str, input: bytes | str = b"", *,
             python: bool = False, timeout: float | None = None) -> CallReport:
        """Call and wait: the call's report (output, stdout); CallFailed if it fails.

        Faasm's answer is the output and a newline, whatever happened; this
        platform adds the call's ID, status, error and stdout in headers
        (docs/COMPATIBILITY.md), and a stdout too big for its header is read
        from ``GET /status/{id}``.
        """
        body = self.call_body(user, function, input, python=python, timeout=timeout)
        response = self._invoke(body, timeout=None)  # the platform bounds the wait
        output = response.content
        if output.endswith(b"\n"):
            output = output[:-1]  # Faasm's endpoint appends one newline
        call_id = response.headers.get(HEADER_CALL_ID)
        call_id = int(call_id) if call_id and call_id.isdigit() else 0
        status = response.headers.get(HEADER_STATUS, "SUCCESS")
        if status == "FAILED":
            raise CallFailed(output.decode("utf-8", "replace"), response.status_code,
                             response.url, call_id or None)
        report = CallReport(id=call_id, status="SUCCESS", output=output)
        length = int(response.headers.get(HEADER_STDOUT_LENGTH) or 0)
        if HEADER_STDOUT in response.headers:
            report.stdout = base64.b64decode(response.headers[HEADER_STDOUT])
        elif length and call_id:
            report.stdout = self.call_status(call_id).stdout
        return report

    def invoke_async(self, user: str, function: str, input: bytes | str = b"", *,
                     python: bool = False, timeout: float | None = None) -> int:
        """Start a call; its call ID."""
        body = self.call_body(user, function, input, python=python, timeout=timeout)
        body["async"] = True
        return int(self._invoke(body).text.strip())

    def status(self, call_id: int) -> bytes:
        """Faasm's status answer: ``RUNNING``, ``SUCCESS: <output>`` or ``FAILED: <reason>``."""
        return self._invoke({"status": True, "id": call_id}).content

    def status_json(self, call_id: int) -> dict:
        """``GET /status/{id}`` as the platform answers it (JSON)."""
        return self._request("GET", f"{self.invoke_url}/status/{call_id}").json()

    def cancel(self, call_id: int) -> dict:
        """Cancel the call's request (``DELETE /status/{id}``): {root, calls, cancelled}."""
        return self._request("DELETE", f"{self.invoke_url}/status/{call_id}").json()

    def call_status(self, call_id: int) -> CallReport:
        """The call's status, output, stdout, error, timings and worker (``/status/{id}``)."""
        return CallReport.from_json(self.status_json(call_id))

    def wait(self, call_id: int, timeout: float | None = None,
             on_poll: Callable[[CallReport, float], None] | None = None) -> CallReport:
        """Poll until the call ends, with backoff; its report if it succeeded.

        Raises CallFailed (with ``call_id``) if it failed, WaitTimeout after
        ``timeout`` seconds (None waits as long as the call runs). ``on_poll``
        gets each report and the seconds elapsed.
        """
        started = time.monotonic()
        interval = POLL_FIRST
        while True:
            report = self.call_status(call_id)
            elapsed = time.monotonic() - started
            if on_poll is not None:
                on_poll(report, elapsed)
            if report.status == "FAILED":
                raise CallFailed(report.error or "call failed", 500,
                                 f"{self.invoke_url}/status/{call_id}", call_id)
            if report.done:
                return report
            if timeout is not None and elapsed + interval > timeout:
                raise WaitTimeout(f"call {call_id} still RUNNING after {elapsed:.1f} s",
                                  None, f"{self.invoke_url}/status/{call_id}")
            time.sleep(interval)
            interval = min(interval * POLL_FACTOR, POLL_MAX)

    def invoke_batch(self, user: str, function: str, inputs: list[bytes | str], *,
                     python: bool = False) -> int:
        """Start one call per input in one request; the batch's app id.

        Sent as faabric's planner EXECUTE_BATCH (docs/COMPATIBILITY.md): the
        platform issues and queues every call in one go.
        """
        if python:
            sent_user, sent_function = "python", "py_func"
        else:
            sent_user, sent_function = user, function
        messages = []
        for data in inputs:
            data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            message = {"user": sent_user, "function": sent_function,
                       "input_data": base64.b64encode(data).decode("ascii")}
            if python:
                message.update(python=True, py_user=user, py_func=function)
            messages.append(message)
        request = {"user": sent_user, "function": sent_function, "messages": messages}
        answer = self._planner("EXECUTE_BATCH", request)
        return int(answer["appId"])

    def batch_status(self, app_id: int) -> dict:
        """EXECUTE_BATCH_STATUS as the platform answers it (faabric's JSON, parsed)."""
        return self._planner("EXECUTE_BATCH_STATUS", {"appId": app_id})

    def wait_batch(self, app_id: int, timeout: float | None = None,
                   on_poll: Callable[[int, float], None] | None = None
                   ) -> list[CallReport]:
        """Poll until every call of the batch ended; one report per call, in order.

        Failed calls are reports with status FAILED (nothing is raised for them);
        ``on_poll(ended, elapsed)`` sees the progress. Outputs are text
        (faabric's ``output_data`` is a string); a call's exact bytes are at
        :meth:`call_status`.
        """
        started = time.monotonic()
        interval = POLL_FIRST
        while True:
            status = self.batch_status(app_id)
            results = status.get("messageResults") or []
            elapsed = time.monotonic() - started
            if on_poll is not None:
                on_poll(len(results), elapsed)
            if status.get("finished"):
                return [batch_report(result) for result in results]
            if timeout is not None and elapsed + interval > timeout:
                raise WaitTimeout(f"batch {app_id}: {len(results)} calls ended after "
                                  f"{elapsed:.1f} s", None, self.invoke_url)
            time.sleep(interval)
            interval = min(interval * POLL_FACTOR, POLL_MAX)

    def graph(self, call_id: int) -> dict:
        """``GET /status/{id}/graph``: {calls, root} where root is the tree of calls."""
        return self._request("GET", f"{self.invoke_url}/status/{call_id}/graph").json()

    def _planner(self, kind: str, payload: dict) -> dict:
        body = json.dumps({"http_type": kind, "payload": json.dumps(payload)})
        response = self._request("POST", self.invoke_url + "/", data=body)
        return json.loads(response.text)

    def flush(self) -> int:
        """Drop every worker's cached modules and files; how many workers answered."""
        response = self._invoke({"flush": True})
        found = re.search(r"\d+", response.headers.get(HEADER_FLUSHED) or response.text)
        return int(found.group(0)) if found else 0

    def logs(self, call_id: int) -> dict:
        """What the call printed: ``GET /logs/{id}`` (stdout, stderr, error, status ...)."""
        return self._request("GET", f"{self.invoke_url}/logs/{call_id}").json()

    def function_logs(self, user: str, function: str, after: str = "0-0") -> dict:
        """Logs of the function's calls that finished after position ``after``
        ("$": none, just the newest position): {calls, next}."""
        return self._request("GET", f"{self.invoke_url}/logs", params={
            "user": user, "function": function, "after": after}).json()

    def metrics(self) -> str:
        """The invoke API's ``GET /metrics`` (Prometheus text)."""
        return self._request("GET", f"{self.invoke_url}/metrics").text

    def health(self, api: str = "invoke") -> dict:
        """``GET /health`` of the ``api`` ("invoke" or "upload"): Redis, broker, workers
        and queues; ``ok`` False (HTTP 503) when something is wrong."""
        base = self.invoke_url if api == "invoke" else self.upload_url
        response = self._request("GET", f"{base}/health", allow=(503,), timeout=15.0)
        try:
            return response.json()
        except ValueError:
            raise ServerError(f"{base}/health answered {response.text[:60]!r}, not JSON",
                              response.status_code, base) from None

    def ping(self) -> dict[str, float]:
        """Round-trip seconds of ``GET /ping`` on each API; Unreachable if one is down."""
        times = {}
        for name, base in (("upload", self.upload_url), ("invoke", self.invoke_url)):
            started = time.perf_counter()
            text = self._request("GET", f"{base}/ping", timeout=5.0).text
            if text.strip() != "PONG":
                raise ServerError(f"{base}/ping answered {text[:40]!r}, not PONG", 200, base)
            times[name] = time.perf_counter() - started
        return times
