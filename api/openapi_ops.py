"""OpenAPI operations of the day-two routes: inventory and removal (upload API),
health and metrics (both APIs). :mod:`api.openapi` merges them into its documents."""

from __future__ import annotations

from faasm.calls import CallStatus


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict:
    return {code: {"$ref": f"#/components/responses/Error{code}"} for code in codes}


def _text(description: str, example: str) -> dict:
    return {"description": description,
            "content": {"text/plain": {"schema": {"type": "string", "example": example}}}}


_STAMP = {"type": ["string", "null"], "format": "date-time"}
_FUNCTION = {"type": "object", "properties": {
    "function": {"type": "string"}, "kind": {"type": "string", "enum": ["wasm", "python"]},
    "size": {"type": "integer", "minimum": 0}, "uploaded": _STAMP,
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}


def _delete(summary: str, op_id: str, answer: str, tag: str = "upload") -> dict:
    return {"summary": summary, "tags": [tag], "operationId": op_id,
            "responses": {"200": _text("Removed", answer), **_errors("400", "404", "503")}}


def add_upload_operations(paths: dict, name_param) -> dict:
    """``paths`` with the DELETE operations and the inventory routes added."""
    paths["/f/{user}/{function}"]["delete"] = _delete(
        "Remove a wasm function (its precompiled machine code stays: it is shared by "
        "content)", "deleteFunction", "Function deleted\n")
    paths["/p/{user}/{function}"]["delete"] = _delete(
        "Remove a Python function", "deletePythonFunction", "Python function deleted\n")
    paths["/s/{user}/{key}"]["delete"] = _delete(
        "Remove a global state value (and its appended list)", "deleteState",
        "State deleted\n")
    paths["/file"]["delete"] = _delete("Remove a shared file", "deleteSharedFile",
                                       "Shared file deleted\n")
    user = name_param("user", "the user")
    paths["/functions/{user}"] = {"parameters": [user], "get": {
        "summary": "A user's functions, wasm and Python: size, upload time, SHA-256",
        "tags": ["upload"], "operationId": "listFunctions",
        "responses": {"200": _json("The functions", {"type": "object", "properties": {
            "user": {"type": "string"}, "functions": {"type": "array", "items": _FUNCTION}}}),
            **_errors("400", "503")}}}
    paths["/functions/{user}/{function}"] = {
        "parameters": [user, name_param("function", "the function")], "get": {
            "summary": "One function: each kind uploaded under its name",
            "tags": ["upload"], "operationId": "describeFunction",
            "responses": {"200": _json("The function", {"type": "object", "properties": {
                "user": {"type": "string"}, "function": {"type": "string"},
                "kinds": {"type": "array", "items": _FUNCTION}}}),
                **_errors("400", "404", "503")}}}
    paths["/state/{user}"] = {"parameters": [user], "get": {
        "summary": "A user's global state keys and their sizes",
        "tags": ["upload"], "operationId": "listState",
        "responses": {"200": _json("The keys", {"type": "object", "properties": {
            "user": {"type": "string"}, "keys": {"type": "array", "items": {
                "type": "object", "properties": {"key": {"type": "string"},
                                                 "size": {"type": "integer"}}}}}}),
            **_errors("400", "503")}}}
    paths["/files"] = {"get": {
        "summary": "Shared files under a directory (with FAASM_AUTH on, a user's own "
                   "under <user>/)", "tags": ["upload"], "operationId": "listSharedFiles",
        "parameters": [{"name": "prefix", "in": "query", "required": False,
                        "schema": {"type": "string"},
                        "description": "a directory under the shared root (default: all, "
                                       "or the token's user's)"}],
        "responses": {"200": _json("The files", {"type": "object", "properties": {
            "prefix": {"type": "string"}, "truncated": {"type": "boolean"},
            "files": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string"}, "size": {"type": "integer"},
                "modified": _STAMP}}}}}), **_errors("400", "503")}}}
    return paths


_CHECK = {"type": "object", "properties": {
    "ok": {"type": "boolean"}, "ms": {"type": "number"}, "error": {"type": "string"}}}
_HEALTH = {"type": "object", "required": ["ok", "redis", "broker", "workers", "queues",
                                          "problems"], "properties": {
    "ok": {"type": "boolean"}, "redis": _CHECK, "broker": _CHECK,
    "workers": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "queues": {"type": "array", "items": {"type": "string"}},
        "concurrency": {"type": ["integer", "null"]},
        "seen_seconds_ago": {"type": "number"}}}},
    "queues": {"type": "object", "additionalProperties": {"type": "object", "properties": {
        "depth": {"type": ["integer", "null"]}, "consumers": {"type": "integer"}}}},
    "problems": {"type": "array", "items": {"type": "string"}}}}


def operations_of_both(tag: str) -> dict:
    """``/health`` (and ``/metrics``), served by both APIs without a token."""
    return {
        "/health": {"get": {
            "summary": "Health: Redis, the broker, workers consuming each queue, queue "
                       "depths", "tags": [tag], "operationId": f"{tag}Health", "security": [],
            "responses": {"200": _json("All is well", _HEALTH),
                          "503": _json("Something is wrong: `problems` says what", _HEALTH)}}},
        "/metrics": {"get": {
            "summary": "Prometheus metrics of the platform: calls by function and outcome, "
                       "call durations, queue depths, live workers (FAASM_METRICS)",
            "tags": [tag], "operationId": f"{tag}Metrics", "security": [],
            "responses": {"200": {"description": "Prometheus text format", "content": {
                "text/plain": {"schema": {"type": "string"}}}},
                **_errors("404", "503")}}},
    }


_LOGS = {"type": "object", "properties": {
    "id": {"type": "integer"}, "user": {"type": ["string", "null"]},
    "function": {"type": ["string", "null"]},
    "status": {"type": "string", "enum": [s.value for s in CallStatus]},
    "outcome": {"type": ["string", "null"], "enum": ["success", "failed", "timeout", None]},
    "stdout": {"type": "string"}, "stdout_encoding": {"type": "string",
                                                      "enum": ["utf-8", "base64"]},
    "stderr": {"type": "string"}, "stderr_encoding": {"type": "string",
                                                      "enum": ["utf-8", "base64"]},
    "error": {"type": ["string", "null"]}, "seconds": {"type": ["number", "null"]},
    "finished": _STAMP}}


def add_invoke_operations(paths: dict, name_param) -> dict:
    """``paths`` with the log routes added."""
    paths["/logs/{call_id}"] = {"get": {
        "summary": "What a call printed (stdout, stderr) and why it failed, kept for the "
                   "result retention", "tags": ["invoke"], "operationId": "getCallLogs",
        "parameters": [{"name": "call_id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                        "description": "the call ID"}],
        "responses": {"200": _json("The call's logs", _LOGS),
                      **_errors("400", "404", "410", "503")}}}
    user, function = name_param("user", "the user"), name_param("function", "the function")
    user["in"] = function["in"] = "query"
    paths["/logs"] = {
        "get": {"summary": "The logs of a function's calls that finished after a position "
                           "(follow with each answer's `next`)", "tags": ["invoke"],
                "operationId": "getFunctionLogs",
                "parameters": [user, function, {"name": "after", "in": "query", "required": False,
                                "schema": {"type": "string", "pattern": r"^(\$|\d+-\d+)$"},
                                "description": "`next` of the last answer; `$` = from now; "
                                               "default: the oldest kept"}],
                "responses": {"200": _json("The calls", {"type": "object", "properties": {
                    "calls": {"type": "array", "items": _LOGS},
                    "next": {"type": "string"}}}), **_errors("400", "503")}}}
    return paths
