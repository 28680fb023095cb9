"""The call model: what a call is, how it travels to a worker, what it returns.

A :class:`Call` is built by the invoke API from a request (or by a function
that chains another), sent to a worker as a JSON message, and answered with
a :class:`CallResult`. Bytes travel base64-encoded, since Celery's JSON
serializer is the only one the platform accepts.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from enum import Enum

from faasm.errors import BadRequest
from faasm.names import check_name


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def text_or_base64(data: bytes) -> tuple[str, str]:
    """(text, "utf-8") when ``data`` decodes as UTF-8, else (base64, "base64"): how
    the JSON answers carry bytes."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return b64encode(data), "base64"


def b64decode(text: str, what: str = "data") -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise BadRequest(f"Invalid {what}: not base64") from None


@dataclass
class Call:
    """One invocation of one function."""

    id: int
    user: str
    function: str
    input: bytes = b""
    python: bool = False
    #: Entry point: 0 is main; n > 0 enters at export ``_faasm_func_<n>``.
    idx: int = 0
    #: For Python functions chained by name: the top-level function to run.
    entry: str | None = None
    #: Entry by function-table index (``__faasm_chain_ptr``) instead of ``idx``.
    func_ptr: int | None = None
    #: This call's wall-clock limit in seconds (already capped), or None for the default.
    timeout: float | None = None
    #: The call that chained this one, if any.
    parent: int | None = None
    #: The request's first call (None for that call itself) and how deep this
    #: call is below it: chain budgets count per root (docs/CHAINING.md).
    root: int | None = None
    depth: int = 0
    #: Faasm's ``cmdline``: the guest's argv after ``function.wasm``, split at spaces.
    cmdline: str = ""

    @property
    def root_id(self) -> int:
        return self.root or self.id

    @property
    def name(self) -> str:
        return f"{self.user}/{self.function}"

    def to_message(self) -> dict:
        msg = {"id": self.id, "user": self.user, "function": self.function,
               "input": b64encode(self.input)}
        for key in ("python", "idx", "entry", "func_ptr", "timeout", "parent", "root",
                    "depth", "cmdline"):
            value = getattr(self, key)
            if value:
                msg[key] = value
        return msg

    @classmethod
    def from_message(cls, msg: dict) -> Call:
        return cls(id=int(msg["id"]), user=msg["user"], function=msg["function"],
                   input=b64decode(msg.get("input", "")), python=bool(msg.get("python")),
                   idx=int(msg.get("idx", 0)), entry=msg.get("entry"),
                   func_ptr=msg.get("func_ptr"),
                   timeout=msg.get("timeout"), parent=msg.get("parent"),
                   root=msg.get("root"), depth=int(msg.get("depth", 0)),
                   cmdline=str(msg.get("cmdline") or ""))


_compact_json = json.JSONEncoder(separators=(",", ":")).encode


@dataclass
class CallResult:
    """What a successful call produced. Failures are raised as CallFailed instead."""

    output: bytes = b""
    stdout: bytes = b""
    #: Seconds spent in each phase ("load", "run", ...), for /status and benchmarks.
    timings: dict = field(default_factory=dict)
    worker: str = ""
    #: Captured stderr: in the call's logs (faasm/calllog.py) and /status/{id} (when not
    #: empty, it travels in the result), never in Faasm's plain answers.
    stderr: bytes = b""
    #: When the call started and ended running (epoch seconds; 0 if unknown).
    started: float = 0.0
    finished: float = 0.0

    def to_message(self) -> str:
        """The Celery result of a call: one JSON text, not a dict.

        Celery repr()s every result twice, in the pool process (the log line)
        and in the worker's main process (the task-succeeded event), with a
        pure-Python walker that takes ~24 µs for this small dict and ~2 µs
        for a string; the text also travels and is stored as one value.
        """
        message = {"output": b64encode(self.output), "stdout": b64encode(self.stdout),
                   "timings": self.timings, "worker": self.worker}
        preview = _preview(self.output)
        if preview is not None:
            # First, for people: Flower shows this text as the call's result.
            message = {"output_text": preview, **message}
        if self.started:
            message.update(started=self.started, finished=self.finished)
        if self.stderr:
            message["stderr"] = b64encode(self.stderr)
        return _compact_json(message)

    @classmethod
    def from_message(cls, msg: str | dict) -> CallResult:
        if isinstance(msg, str):
            msg = json.loads(msg)
        return cls(output=b64decode(msg.get("output", "")),
                   stdout=b64decode(msg.get("stdout", "")),
                   stderr=b64decode(msg.get("stderr", "")),
                   timings=msg.get("timings", {}), worker=msg.get("worker", ""),
                   started=msg.get("started", 0.0), finished=msg.get("finished", 0.0))

    def response_body(self) -> bytes:
        """The output followed by captured stdout (what `faasm invoke` prints)."""
        return self.output + self.stdout


#: Characters of a call's output shown as text in its result (Flower's result column).
PREVIEW_CHARS = 200


def _preview(data: bytes) -> str | None:
    """The start of ``data`` as text when it is UTF-8 (else None: base64 says it all)."""
    head = data[:PREVIEW_CHARS * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut at the end of the slice is fine; anything else is not text.
        if len(head) == len(data) or exc.start < len(head) - 3:
            return None
        text = head[:exc.start].decode("utf-8")
    return text[:PREVIEW_CHARS]


class CallStatus(str, Enum):
    #: Sent, not yet taken by a worker (Faasm's plain-text status says RUNNING).
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Outcome:
    """Where a call is: QUEUED or RUNNING, or how it ended: SUCCESS with its
    result, FAILED with the reason. ``finished``: when it ended (ISO 8601, UTC),
    if known. ``Outcome(result=r)`` and ``Outcome(reason=...)`` are the two ends."""

    result: CallResult | None = None
    reason: str = ""
    status: CallStatus | None = None
    finished: str | None = None

    def __post_init__(self):
        if self.status is None:
            ended = CallStatus.SUCCESS if self.result is not None else CallStatus.FAILED
            object.__setattr__(self, "status", ended)

    @property
    def ok(self) -> bool:
        return self.status is CallStatus.SUCCESS

    @property
    def ended(self) -> bool:
        return self.status in (CallStatus.SUCCESS, CallStatus.FAILED)


class RequestKind(str, Enum):
    CALL = "call"
    STATUS = "status"
    FLUSH = "flush"
    GRAPH = "exec_graph"


@dataclass
class InvokeRequest:
    """A parsed body of ``POST /`` on the invoke API."""

    kind: RequestKind
    user: str = ""
    function: str = ""
    input: bytes = b""
    is_async: bool = False
    python: bool | None = None  # None: decide by what is uploaded
    timeout: float | None = None
    #: The call polled (status, exec_graph), or the ID a call's client chose (0: none).
    call_id: int = 0
    cmdline: str = ""


#: A call ID a client chooses fits faabric's int32 message id (and the host
#: interface's 32-bit call IDs).
MAX_CHOSEN_ID = 2**31 - 1
#: The seed's Message ``type`` that asks for a flush (faabric's MessageType FLUSH).
SEED_FLUSH_TYPE = 3


def _flag(body: dict, key: str) -> bool:
    """A JSON boolean (absent or null is false). 1, 0 and strings are refused rather
    than guessed: ``"flush": 0`` must not flush every worker."""
    value = body.get(key, False)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise BadRequest(f"Invalid {key}: {json.dumps(value)[:40]} is not a JSON boolean; "
                     f"send \"{key}\": true or false")


def parse_call_id(value: object) -> int:
    """A call ID from JSON or a URL: a positive integer or its decimal string."""
    if isinstance(value, bool) or value is None:
        raise BadRequest("Invalid id: expected a positive integer")
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only: str.isdigit() and int() also take "²" and "١٢".
        if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
            raise BadRequest("Invalid id: expected a positive integer")
        value = int(text)
    if not isinstance(value, int) or value <= 0 or value >= 2**63:
        raise BadRequest("Invalid id: expected a positive integer")
    return value


def parse_timeout(value: object, maximum: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise BadRequest("Invalid timeout: expected a positive number of seconds")
    return min(float(value), maximum)


def parse_invoke(body: bytes, max_timeout: float) -> InvokeRequest:
    """Parse and validate an invoke request; raises BadRequest with Faasm's messages."""
    if not body or not body.strip():
        raise BadRequest("Empty request")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Invalid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("Invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequest("Invalid request: expected a JSON object")

    if _flag(data, "flush") or (data.get("type") == SEED_FLUSH_TYPE
                                and not isinstance(data.get("type"), bool)):
        return InvokeRequest(RequestKind.FLUSH)
    if _flag(data, "status"):
        return InvokeRequest(RequestKind.STATUS, call_id=parse_call_id(data.get("id")))
    if _flag(data, "exec_graph"):
        return InvokeRequest(RequestKind.GRAPH, call_id=parse_call_id(data.get("id")))

    python = _flag(data, "python") or None
    user, function = data.get("user"), data.get("function")
    if python:
        # Faasm's form: the python runner is named, the real function is py_user/py_func.
        user = data.get("py_user") or (user if user != "python" else None)
        function = data.get("py_func") or (function if function != "py_func" else None)
    user = check_name(user, "user")
    function = check_name(function, "function")

    if "input_data_b64" in data:
        if not isinstance(data["input_data_b64"], str):
            raise BadRequest("Invalid input_data_b64: expected a base64 string")
        payload = b64decode(data["input_data_b64"], "input_data_b64")
    else:
        text = data.get("input_data", "")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise BadRequest("Invalid input_data: expected a string")
        payload = text.encode("utf-8", "surrogatepass")
    chosen = data.get("id")
    chosen = 0 if chosen in (None, 0, "", "0") else parse_call_id(chosen)
    if chosen > MAX_CHOSEN_ID:
        raise BadRequest(f"Invalid id: a call ID a client chooses is at most {MAX_CHOSEN_ID}")
    return InvokeRequest(RequestKind.CALL, user=user, function=function, input=payload,
                         is_async=_flag(data, "async"), python=python,
                         timeout=parse_timeout(data.get("timeout"), max_timeout),
                         cmdline=parse_cmdline(data.get("cmdline")), call_id=chosen)


#: Longest ``cmdline`` accepted, characters.
MAX_CMDLINE = 64 * 1024


def parse_cmdline(value: object) -> str:
    """Faasm's ``cmdline`` field: a string of space-separated arguments (may be absent)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("Invalid cmdline: expected a string")
    if len(value) > MAX_CMDLINE:
        raise BadRequest(f"Invalid cmdline: longer than {MAX_CMDLINE} characters")
    if "\x00" in value:
        raise BadRequest("Invalid cmdline: contains a NUL character")
    return value
