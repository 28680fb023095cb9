"""The current Faasm API: faabric's planner ``HttpMessage`` on ``POST /``.

faasmctl and today's Faasm clients send ``{"http_type": "EXECUTE_BATCH",
"payload": "<JSON>"}`` (the protobuf JSON of ``faabric.planner.HttpMessage``;
the parser also takes the field names ``type`` and ``payloadJson``, and the
enum by number). This module reads those messages and writes the answers'
JSON exactly as faabric's protobuf printer does (lowerCamelCase or the
field's ``json_name``, default values left out, enums as numbers, no spaces).
It knows nothing of HTTP or Celery: ``api/planner.py`` adapts it.
See docs/COMPATIBILITY.md for each type and every deliberate difference.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from enum import IntEnum

from faasm.calls import parse_cmdline
from faasm.errors import BadRequest
from faasm.names import check_name


class PlannerType(IntEnum):
    """``faabric.planner.HttpMessage.Type``, numbered as upstream."""

    NO_TYPE = 0
    RESET = 1
    FLUSH_AVAILABLE_HOSTS = 2
    FLUSH_EXECUTORS = 3
    FLUSH_SCHEDULING_STATE = 4
    GET_AVAILABLE_HOSTS = 5
    GET_CONFIG = 6
    GET_EXEC_GRAPH = 7
    GET_IN_FLIGHT_APPS = 8
    EXECUTE_BATCH = 10
    EXECUTE_BATCH_STATUS = 11
    PRELOAD_SCHEDULING_DECISION = 12
    SET_POLICY = 13
    GET_POLICY = 14
    SET_NEXT_EVICTED_VM = 15


#: What this platform serves; every other type is a 400 naming it.
SUPPORTED = frozenset({
    PlannerType.RESET, PlannerType.FLUSH_AVAILABLE_HOSTS, PlannerType.FLUSH_EXECUTORS,
    PlannerType.GET_AVAILABLE_HOSTS, PlannerType.GET_CONFIG, PlannerType.GET_EXEC_GRAPH,
    PlannerType.EXECUTE_BATCH, PlannerType.EXECUTE_BATCH_STATUS})

#: faabric's answers to the types that answer with a sentence.
ANSWERS = {PlannerType.RESET: "Planner fully reset!",
           PlannerType.FLUSH_AVAILABLE_HOSTS: "Flushed available hosts!",
           PlannerType.FLUSH_EXECUTORS: "Flushed executors!"}

#: Keys that only a planner message has (json_name first, then the field name).
_TYPE_KEYS = ("http_type", "type")
_PAYLOAD_KEYS = ("payload", "payloadJson")
#: Numbers the seed's Message ``type`` used: 0 CALL, 3 FLUSH (docs/COMPATIBILITY.md).
SEED_MESSAGE_TYPES = (0, 3)

#: Largest number of messages one EXECUTE_BATCH may carry.
MAX_BATCH = 10_000


@dataclass
class PlannerMessage:
    type: PlannerType
    payload: str = ""


def detect(data: object) -> PlannerMessage | None:
    """The planner message ``data`` is, or None when it is a seed-API body.

    A body is a planner message when it has ``http_type``, ``payload`` or
    ``payloadJson``, or a ``type`` given by name; a ``type`` given by number
    alone is one unless it is the seed's own Message type (0 call, 3 flush)
    in a body that is otherwise the seed's.
    """
    if not isinstance(data, dict):
        return None
    has_payload = any(k in data for k in _PAYLOAD_KEYS)
    if "http_type" not in data and not has_payload:
        kind = data.get("type")
        if not isinstance(kind, str) and not (
                isinstance(kind, int) and not isinstance(kind, bool)
                and kind not in SEED_MESSAGE_TYPES):
            return None
    kind = next((data[k] for k in _TYPE_KEYS if k in data), 0)
    payload = next((data[k] for k in _PAYLOAD_KEYS if k in data), "")
    if payload is None:
        payload = ""
    if not isinstance(payload, str):
        raise BadRequest("Bad JSON in request body: payload must be a JSON string")
    return PlannerMessage(_planner_type(kind), payload)


def _planner_type(kind: object) -> PlannerType:
    try:
        if isinstance(kind, str):
            return PlannerType[kind] if not kind.isdigit() else PlannerType(int(kind))
        if isinstance(kind, int) and not isinstance(kind, bool):
            return PlannerType(kind)
    except (KeyError, ValueError):
        pass
    raise BadRequest(f"Unrecognised message type: {str(kind)[:64]}")


def check_supported(msg: PlannerMessage) -> None:
    if msg.type not in SUPPORTED:
        raise BadRequest(f"Unsupported planner message type: {msg.type.name} "
                         "(this platform serves EXECUTE_BATCH, EXECUTE_BATCH_STATUS, "
                         "GET_EXEC_GRAPH, GET_AVAILABLE_HOSTS, GET_CONFIG, RESET, "
                         "FLUSH_AVAILABLE_HOSTS and FLUSH_EXECUTORS)")


def payload_object(msg: PlannerMessage, what: str = "request body") -> dict:
    """The payload parsed as a JSON object; faabric's 400 text when it is not one."""
    try:
        data = json.loads(msg.payload) if msg.payload.strip() else {}
    except (ValueError, RecursionError):
        raise BadRequest(f"Bad JSON in {what}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"Bad JSON in {what}")
    return data


def _field(data: dict, *names: str, default=None):
    """A protobuf JSON field by its json_name or its proto name."""
    for name in names:
        if name in data and data[name] is not None:
            return data[name]
    return default


def _int32(value: object, what: str) -> int:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
        raise BadRequest(f"Bad JSON in body's payload: {what} is not an int32")
    return value


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"Bad JSON in body's payload: {what} is not a bool")
    return value


@dataclass
class BatchMessage:
    """One ``faabric.Message`` of an EXECUTE_BATCH, as this platform will call it."""

    id: int  # the client's message id (0: the platform picks the call ID)
    user: str
    function: str
    input: bytes = b""
    python: bool = False
    #: The message's own fields, echoed in its result (user/function as sent).
    sent_user: str = ""
    sent_function: str = ""
    #: The guest's argv after ``function.wasm`` (Faasm's ``cmdline``).
    cmdline: str = ""


@dataclass
class Batch:
    app_id: int
    user: str
    function: str
    messages: list[BatchMessage] = field(default_factory=list)


def parse_message(data: dict) -> BatchMessage:
    """A ``faabric.Message`` (protobuf JSON) as a call of this platform."""
    user = _field(data, "user", default="")
    function = _field(data, "function", default="")
    if not isinstance(user, str) or not isinstance(function, str):
        raise BadRequest("Bad JSON in body's payload: user and function are strings")
    raw = _field(data, "input_data", "inputData", default="")
    if not isinstance(raw, str):
        raise BadRequest("Bad JSON in body's payload: input_data is base64 text")
    try:
        # Protobuf's JSON takes standard and URL-safe base64, padded or not.
        text = raw.replace("-", "+").replace("_", "/")
        payload = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Bad JSON in body's payload: input_data is not base64") from None
    python = _bool(_field(data, "python", "isPython", default=False), "python")
    real_user, real_function = user, function
    if python:
        # Faasm's form: user "python", function "py_func", the real one in py_user/py_func.
        real_user = _field(data, "py_user", "pythonUser", default="") or user
        real_function = _field(data, "py_func", "pythonFunction", default="") or function
    return BatchMessage(id=_int32(_field(data, "id", default=0), "id"),
                        user=check_name(real_user, "user"),
                        function=check_name(real_function, "function"),
                        input=payload, python=python, sent_user=user, sent_function=function,
                        cmdline=_cmdline(_field(data, "cmdline", default="")))


def _cmdline(value) -> str:
    try:
        return parse_cmdline(value)
    except BadRequest as exc:
        raise BadRequest(f"Bad JSON in body's payload: {exc.reason}") from None


def parse_batch(msg: PlannerMessage) -> Batch:
    """EXECUTE_BATCH's BatchExecuteRequest, checked as faabric checks it.

    Every message must carry the batch's user and app id and a function
    (faabric's ``isBatchExecRequestValid``); otherwise 400 ``Bad BatchExecRequest``.
    """
    data = payload_object(msg, "body's payload")
    raw_messages = _field(data, "messages", default=[])
    if not isinstance(raw_messages, list):
        raise BadRequest("Bad JSON in body's payload: messages is a list")
    if len(raw_messages) > MAX_BATCH:
        raise BadRequest(f"Bad BatchExecRequest: {len(raw_messages)} messages, at most "
                         f"{MAX_BATCH} in one batch")
    app_id = _int32(_field(data, "appId", default=0), "appId")
    user, function = _field(data, "user", default=""), _field(data, "function", default="")
    if not raw_messages or not user or not function:
        raise BadRequest("Bad BatchExecRequest: it needs a user, a function and messages")
    batch = Batch(app_id=app_id, user=user, function=function)
    for raw in raw_messages:
        if not isinstance(raw, dict):
            raise BadRequest("Bad JSON in body's payload: each message is an object")
        message = parse_message(raw)
        if (message.sent_user != user or not message.sent_function
                or _int32(_field(raw, "appId", default=0), "appId") != app_id):
            raise BadRequest("Bad BatchExecRequest: every message needs the batch's user "
                             "and appId, and a function")
        batch.messages.append(message)
    return batch


def status_app_id(msg: PlannerMessage) -> int:
    """EXECUTE_BATCH_STATUS's app id (its payload is a BatchExecuteRequestStatus)."""
    data = payload_object(msg)
    return _int32(_field(data, "appId", default=0), "appId")


def graph_call_id(msg: PlannerMessage) -> int:
    """GET_EXEC_GRAPH's call ID (its payload is a Message)."""
    data = payload_object(msg)
    call_id = _int32(_field(data, "id", default=0), "id")
    if call_id <= 0:
        raise BadRequest("Invalid id: expected a positive integer")
    return call_id


# -- answers -----------------------------------------------------------------

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass
class MessageResult:
    """What a finished call reports in ``messageResults[]`` (a ``faabric.Message``)."""

    id: int
    app_id: int
    user: str
    function: str
    output: bytes = b""
    return_value: int = 0
    start_ms: int = 0
    finish_ms: int = 0
    host: str = ""
    python: bool = False
    py_user: str = ""
    py_func: str = ""
    chained: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Protobuf JSON of the Message: json_names, defaults left out."""
        out = {"id": self.id, "appId": self.app_id, "user": self.user,
               "function": self.function,
               # outputData is a proto string: bytes that are not UTF-8 are replaced.
               "output_data": self.output.decode("utf-8", "replace"),
               "returnValue": self.return_value, "start_ts": str(self.start_ms),
               "executedHost": self.host, "finish_ts": str(self.finish_ms),
               "python": self.python, "py_user": self.py_user, "py_func": self.py_func,
               "chainedMsgIds": self.chained}
        # int64 fields print as strings; zero values are not printed at all.
        return {k: v for k, v in out.items() if v not in ("", 0, "0", False, [])}


def batch_status(app_id: int, results: list[MessageResult], finished: bool,
                 expected: int = 0) -> str:
    """A BatchExecuteRequestStatus as faabric prints it."""
    data: dict = {"appId": app_id} if app_id else {}
    if finished:
        data["finished"] = True
    if results:
        data["messageResults"] = [r.to_dict() for r in results]
    if expected:
        data["expectedNumMessages"] = expected
    return _compact(data)


def host_list(hosts: list[tuple[str, int, int]]) -> str:
    """AvailableHostsResponse from (name, slots, used slots) per worker."""
    entries = []
    for name, slots, used in hosts:
        entry = {"ip": name}
        if slots:
            entry["slots"] = slots
        if used:
            entry["usedSlots"] = used
        entries.append(entry)
    return _compact({"hosts": entries} if entries else {})


def planner_config(ip: str, host_timeout: int, http_threads: int) -> str:
    data = {"ip": ip, "hostTimeout": host_timeout, "numThreadsHttpServer": http_threads}
    return _compact({k: v for k, v in data.items() if v})
