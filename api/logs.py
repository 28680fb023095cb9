"""The invoke API's log routes: what a call printed, and a function's recent calls.

| request | answer |
|---|---|
| ``GET /logs/{id}`` | ``{id, user, function, status, stdout, stderr, error, seconds, finished}`` |
| ``GET /logs?user=U&function=F&after=POS`` | ``{"calls": [<as above>], "next": POS}`` |

A call's logs are kept for the result retention (faasm/calllog.py); before
it ends its status is QUEUED or RUNNING and its logs are empty. ``after=$``
answers no calls and the position of the newest: ``faasm logs --follow``
starts there and asks again with each ``next``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import falcon

from api.auth import IN_RESPONDER, principal
from faasm.calllog import CallLog
from faasm.calls import CallStatus, parse_call_id, text_or_base64
from faasm.errors import BadRequest

STATUS = {"success": CallStatus.SUCCESS.value, "failed": CallStatus.FAILED.value,
          "timeout": CallStatus.FAILED.value}
#: Most calls one follow request answers.
MAX_CALLS = 100


def _entry_json(entry: dict) -> dict:
    stdout, stdout_encoding = text_or_base64(entry["stdout"])
    stderr, stderr_encoding = text_or_base64(entry["stderr"])
    return {"id": entry["id"], "user": entry["user"], "function": entry["function"],
            "status": STATUS.get(entry["outcome"], CallStatus.FAILED.value),
            "outcome": entry["outcome"],
            "stdout": stdout, "stdout_encoding": stdout_encoding,
            "stderr": stderr, "stderr_encoding": stderr_encoding, "error": entry["error"],
            "seconds": round(entry["seconds"], 6),
            "finished": datetime.fromtimestamp(entry["finished"], UTC).isoformat()}


def call_log(deps) -> CallLog:
    """The calls' logs (faasm/calllog.py) over the invoke API's Redis."""
    settings = deps.settings
    return CallLog(deps.records.client, settings.key_prefix, settings.result_retention)


def printed(deps, call_id: int) -> dict:
    """What a call printed, as ``GET /status/{id}`` gives it (``stdout``, ``stderr`` and
    their encodings); empty if its logs are not stored (yet, or any more)."""
    entry = call_log(deps).get(call_id)
    if entry is None:
        return {}
    fields = {}
    for name in ("stdout", "stderr"):
        fields[name], fields[f"{name}_encoding"] = text_or_base64(entry[name])
    return fields


class _Logs:
    def __init__(self, deps):
        self.deps = deps

    @property
    def log(self) -> CallLog:
        return call_log(self.deps)


class CallLogs(_Logs):
    auth = IN_RESPONDER  # the call's record says whose call it is

    def on_get(self, req, resp, call_id: str) -> None:
        call_id = parse_call_id(call_id)
        record = self.deps.records.get(call_id)  # 404 never issued, 410 expired
        principal(req).require_user(record.get("user"), f"Call {call_id}")
        entry = self.log.get(call_id)
        if entry is not None:
            resp.media = _entry_json(entry)
            return
        status = self.deps.queue.status(call_id).status
        resp.media = {"id": call_id, "user": record.get("user"),
                      "function": record.get("function"), "status": status.value,
                      "outcome": None, "stdout": "", "stdout_encoding": "utf-8", "stderr": "",
                      "stderr_encoding": "utf-8", "error": None, "seconds": None,
                      "finished": None}


class FunctionLogs(_Logs):
    auth = IN_RESPONDER  # the query names the user

    def on_get(self, req, resp) -> None:
        user, function = req.get_param("user"), req.get_param("function")
        if not user or not function:
            raise BadRequest("Name the function: GET /logs?user=U&function=F")
        principal(req).require_user(user)
        after = req.get_param("after") or "0-0"
        if after != "$" and not _position(after):
            raise BadRequest(f"Bad after={after[:40]!r}: a position from `next`, 0-0 or $")
        log = self.log
        ids, position = log.recent(user, function, after, MAX_CALLS)
        calls = [_entry_json(entry) for entry in map(log.get, ids) if entry is not None]
        resp.media = {"calls": calls, "next": position}


def _position(text: str) -> bool:
    """A Redis stream ID: two unsigned 64-bit decimals joined by ``-``."""
    first, dash, second = text.partition("-")
    return bool(dash) and all(part.isascii() and part.isdigit() and int(part) < 2**64
                              for part in (first, second))


def add_logs_routes(app: falcon.App, deps) -> None:
    app.add_route("/logs/{call_id}", CallLogs(deps))
    app.add_route("/logs", FunctionLogs(deps))
