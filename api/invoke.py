"""The invoke API (port 8080): ``POST /`` with Faasm's JSON, for calls, status, flush,
execution graphs, and faabric's planner messages (``api/planner.py``).

Run it with ``gunicorn 'api.invoke:get_app()'``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import falcon

from api.auth import IN_RESPONDER, principal, tokens_for
from api.common import OpenAPIDocument, Ping, create_falcon_app, plain, read_body
from api.health import add_health_routes
from api.hints import add_wrong_port_hints
from api.logs import add_logs_routes, printed
from api.metrics import add_metrics_routes
from api.openapi import invoke_document
from api.planner import Planner, exec_graph
from faasm import graph, planner, redisdb
from faasm.auth import Tokens
from faasm.batches import Batches
from faasm.calls import (
    CallStatus,
    InvokeRequest,
    Outcome,
    RequestKind,
    b64encode,
    parse_call_id,
    parse_invoke,
    text_or_base64,
)
from faasm.errors import CallFailed
from faasm.functions import Functions
from faasm.records import CallRecords
from faasm.settings import Settings, get_settings
from faasm.storage import open_storage

#: An invoke request is JSON with the input inline; uploads have their own limit.
MAX_REQUEST_BYTES_FLOOR = 1024 * 1024

#: What this platform says beyond Faasm's bodies (docs/COMPATIBILITY.md): the call's
#: ID, its status, its error, its captured stdout (base64, when it fits), how many
#: workers a flush reached.
HEADER_CALL_ID = "X-Faasm-Call-Id"
HEADER_STATUS = "X-Faasm-Status"
HEADER_ERROR = "X-Faasm-Error"
HEADER_STDOUT = "X-Faasm-Stdout"
HEADER_STDOUT_LENGTH = "X-Faasm-Stdout-Length"
HEADER_FLUSHED = "X-Faasm-Flushed"
#: Larger stdout is read from GET /status/{id} (proxies cap header sizes at 4-8 KiB).
MAX_STDOUT_HEADER = 4096


@dataclass
class InvokeDeps:
    settings: Settings
    functions: Functions
    records: CallRecords
    queue: object  # workers.app.CallQueue (duck-typed so tests may pass another)
    tokens: Tokens | None = None  # FAASM_AUTH on: check requests against these
    batches: Batches | None = None  # the planner API's EXECUTE_BATCH apps


class Invoke:
    auth = IN_RESPONDER  # the body names the user (or the call, or a flush)

    def __init__(self, deps: InvokeDeps):
        self.deps = deps
        self.planner = Planner(deps)

    def on_post(self, req, resp) -> None:
        settings = self.deps.settings
        body = read_body(req, max(settings.max_upload_bytes, MAX_REQUEST_BYTES_FLOOR))
        message = planner.detect(_json_or_none(body))
        if message is not None:  # the current Faasm API (faasmctl): docs/COMPATIBILITY.md
            self.planner.answer(req, resp, message)
            return
        request = parse_invoke(body, settings.max_call_timeout)
        if request.kind is RequestKind.FLUSH:
            principal(req).require_admin("Flushing the workers")
            # Faasm answers a flush with an empty body; how many workers answered
            # goes in a header (docs/COMPATIBILITY.md).
            resp.set_header(HEADER_FLUSHED, str(self.deps.queue.flush()))
            plain(resp, b"")
        elif request.kind is RequestKind.STATUS:
            self._status(req, resp, request.call_id)
        elif request.kind is RequestKind.GRAPH:
            plain(resp, graph.seed_json(exec_graph(self.deps, req, request.call_id)))
        else:
            self._call(req, resp, request)

    def _status(self, req, resp, call_id: int) -> None:
        record = self.deps.records.get(call_id)  # 404 never issued, 410 expired
        principal(req).require_user(record.get("user"), f"Call {call_id}")
        outcome = self.deps.queue.status(call_id)
        resp.set_header(HEADER_STATUS, outcome.status.value)
        if outcome.ok:
            plain(resp, b"SUCCESS: " + outcome.result.output)
        elif outcome.ended:
            plain(resp, f"FAILED: {outcome.reason}")  # a failed call's output is its error
        else:
            plain(resp, "RUNNING")

    def _call(self, req, resp, request: InvokeRequest) -> None:
        principal(req).require_user(request.user)
        python = self.deps.functions.resolve(request.user, request.function, request.python)
        fields = dict(user=request.user, function=request.function, input=request.input,
                      python=python, timeout=request.timeout, cmdline=request.cmdline)
        if request.call_id:  # the client chose the ID, as Faasm allows
            call = self.deps.records.issue_many([fields], [request.call_id], strict=True)[0]
        else:
            call = self.deps.records.issue(fields)
        sent = self.deps.queue.submit(call, sync=not request.is_async)
        resp.set_header(HEADER_CALL_ID, str(call.id))
        if request.is_async:
            plain(resp, str(call.id))
            return
        try:
            result = self.deps.queue.wait(call, sent,
                                          request.timeout or self.deps.settings.call_timeout)
        except CallFailed as exc:
            # Faasm answers a failed call as any other: 200, its output (the error)
            # and a newline. The status header tells this platform's clients.
            resp.set_header(HEADER_STATUS, CallStatus.FAILED.value)
            resp.set_header(HEADER_ERROR, _header_safe(exc.reason))
            plain(resp, exc.reason.encode("utf-8") + b"\n")
            return
        resp.set_header(HEADER_STATUS, CallStatus.SUCCESS.value)
        resp.set_header(HEADER_STDOUT_LENGTH, str(len(result.stdout)))
        encoded = b64encode(result.stdout)
        if len(encoded) <= MAX_STDOUT_HEADER:
            resp.set_header(HEADER_STDOUT, encoded)
        plain(resp, result.output + b"\n")


class CallReport:
    """``GET /status/{call_id}``: the call's status as JSON (beyond Faasm's API)."""

    auth = IN_RESPONDER  # the call's record says whose call it is

    def __init__(self, deps: InvokeDeps):
        self.deps = deps

    def on_get(self, req, resp, call_id: str) -> None:
        call_id = parse_call_id(call_id)
        record = self.deps.records.get(call_id)  # 404 never issued, 410 expired
        principal(req).require_user(record.get("user"), f"Call {call_id}")
        resp.media = {"id": call_id, "user": record.get("user"),
                      "function": record.get("function"),
                      "python": record.get("python") == "1",
                      "submitted": _iso(record.get("submitted")),
                      "parent": _int(record.get("parent")),
                      "root": _int(record.get("root")) or call_id,
                      # A chain budget this request ran into (docs/CHAINING.md).
                      "limit": record.get("limit")}
        outcome = self.deps.queue.status(call_id)
        resp.media.update(outcome_json(outcome))
        if outcome.status is CallStatus.FAILED:
            # A failed call's stored result is its reason alone; what it printed
            # before failing is in its logs.
            resp.media.update(printed(self.deps, call_id))

    def on_delete(self, req, resp, call_id: str) -> None:
        """Cancel the request this call belongs to: its first call and every call
        it started (docs/CHAINING.md)."""
        call_id = parse_call_id(call_id)
        record = self.deps.records.get(call_id)
        principal(req).require_user(record.get("user"), f"Call {call_id}")
        root = _int(record.get("root")) or call_id
        calls = self.deps.records.cancel(root)
        stopped = self.deps.queue.cancel(calls)
        resp.media = {"root": root, "calls": len(calls), "cancelled": stopped}


def outcome_json(outcome: Outcome) -> dict:
    """A call's outcome as ``GET /status/{id}`` gives it.

    ``output``, ``stdout`` and ``stderr`` are text when they are UTF-8, else
    base64 (``output_encoding``, ``stdout_encoding``, ``stderr_encoding`` say
    which); ``timings`` and ``worker`` come from the stored result, ``finished`` is
    when the result was stored (ISO 8601, UTC).
    """
    report = {"status": outcome.status.value, "output": "", "output_encoding": "utf-8",
              "stdout": "", "stdout_encoding": "utf-8",
              "stderr": "", "stderr_encoding": "utf-8", "error": None,
              "timings": {}, "worker": None, "finished": outcome.finished}
    if outcome.ok:
        for name in ("output", "stdout", "stderr"):
            report[name], report[f"{name}_encoding"] = text_or_base64(
                getattr(outcome.result, name))
        report.update(timings=outcome.result.timings, worker=outcome.result.worker or None)
    elif outcome.ended:
        report["error"] = outcome.reason
    return report


def _header_safe(text: str) -> str:
    """One line of ASCII: WSGI headers are latin-1, and a newline would end them."""
    return text.replace("\r", " ").replace("\n", " ").encode(
        "ascii", "backslashreplace").decode("ascii")[:1024]


def _json_or_none(body: bytes) -> object:
    """The body as JSON when it is an object that may be a planner message, else None
    (parse_invoke then reads it, and answers its errors)."""
    if b"type" not in body and b"payload" not in body:
        return None  # the seed's bodies: no second parse
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


class CallGraph:
    """``GET /status/{call_id}/graph``: the tree of calls this call chained, as JSON."""

    auth = IN_RESPONDER

    def __init__(self, deps: InvokeDeps):
        self.deps = deps

    def on_get(self, req, resp, call_id: str) -> None:
        root = exec_graph(self.deps, req, parse_call_id(call_id))
        resp.media = {"calls": root.count(), "root": root.to_json()}


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def _iso(timestamp: str | None) -> str | None:
    if not timestamp:
        return None
    return datetime.fromtimestamp(float(timestamp), UTC).isoformat()


def create_app(deps: InvokeDeps) -> falcon.App:
    app = create_falcon_app(deps.tokens if deps is not None else None)
    app.add_route("/", Invoke(deps))
    app.add_route("/status/{call_id}", CallReport(deps))
    app.add_route("/status/{call_id}/graph", CallGraph(deps))
    app.add_route("/ping", Ping())
    app.add_route("/openapi.json", OpenAPIDocument(invoke_document()))
    add_health_routes(app, lambda: deps.queue)
    add_metrics_routes(app, lambda: deps.queue)
    add_logs_routes(app, deps)
    add_wrong_port_hints(app, "invoke")
    return app


def get_app(settings: Settings | None = None) -> falcon.App:
    """The app as configured from the environment (gunicorn's entry point)."""
    from workers.app import CallQueue
    from workers.app import app as celery_app
    from workers.tracing import start_tracing

    settings = settings or get_settings()
    start_tracing("faasm-invoke", falcon=True)
    client = redisdb.connect(settings)
    return create_app(InvokeDeps(
        settings=settings, functions=Functions(open_storage(settings.storage, settings)),
        records=CallRecords(client, settings.key_prefix, settings.result_retention,
                            floor=settings.call_id_floor),
        queue=CallQueue(celery_app, settings), tokens=tokens_for(settings, client),
        batches=Batches(client, settings.key_prefix, settings.result_retention)))
