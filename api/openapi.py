"""The OpenAPI 3.1 documents of both APIs, served at ``GET /openapi.json``.

Written by hand next to the routes they describe; a test checks that every
route and method registered in each Falcon app appears in its document and
that the documents validate.
"""

from __future__ import annotations

import copy

from api.openapi_ops import add_invoke_operations, add_upload_operations, operations_of_both
from faasm.calls import CallStatus
from faasm.names import NAME_PATTERN

VERSION = "0.1.0"

_CORS = ("Every answer carries permissive CORS headers and `OPTIONS` on any path "
         "answers 200. Every error is a status code with a one-line `text/plain` reason.")


def _text(description: str, example: str | None = None) -> dict:
    schema = {"type": "string"}
    if example is not None:
        schema["example"] = example
    return {"description": description, "content": {"text/plain": {"schema": schema}}}


def _binary(description: str, media_type: str = "application/octet-stream") -> dict:
    return {"description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}


def _name(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "pattern": NAME_PATTERN}}


_ERRORS = {
    "400": _text("Bad request: a bad name, path, body or field (the reason says which)"),
    "401": {**_text("FAASM_AUTH is on and the request has no valid bearer token",
                    "Invalid bearer token"),
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"},
                                             "description": 'Bearer realm="faasm"'}}},
    "403": _text("The token's user may not touch another user's namespace (or needs the "
                 "admin token)", "The token of user alice may not act for user bob"),
    "404": _text("Not found: no such route, function, state value, shared file or call"),
    "410": _text("The call's record passed the result retention", "Call 7 expired"),
    "413": _text("The body is over FAASM_MAX_UPLOAD_BYTES"),
    "500": _text("The call failed", "FAILED: Function exited with code 3"),
    "503": {**_text("Redis or the broker does not answer; retry later"),
            "headers": {"Retry-After": {"schema": {"type": "integer"},
                                        "description": "seconds to wait"}}},
}


def _errors(*codes: str) -> dict:
    return {code: {"$ref": f"#/components/responses/Error{code}"} for code in codes}


def _operation(summary: str, responses: dict, tag: str, **extra) -> dict:
    return {"summary": summary, "tags": [tag], "responses": responses, **extra}


def _common_paths(tag: str) -> dict:
    return {
        "/ping": {"get": _operation(
            "Health check of the API process", {"200": _text("The API answers", "PONG")},
            tag, operationId=f"{tag}Ping", security=[])},
        "/openapi.json": {"get": _operation(
            "This document", {"200": {"description": "The OpenAPI document",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}}},
            tag, operationId=f"{tag}OpenAPI", security=[])},
        **operations_of_both(tag),
    }


#: docs/AUTH.md: with FAASM_AUTH on, every operation but the public ones needs a token.
_BEARER = {"type": "http", "scheme": "bearer",
           "description": "Per-user token (`faasm token create USER`) or FAASM_ADMIN_TOKEN; "
                          "only checked with FAASM_AUTH on. A user's token reaches that "
                          "user's functions, state, calls and shared files under `<user>/`; "
                          "flush and /storage need the admin token."}


def _with_auth(paths: dict) -> dict:
    """Every operation that needs a token (no ``security`` of its own) may answer 401/403."""
    for item in paths.values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op and "security" not in op:
                for code, ref in _errors("401", "403").items():
                    op["responses"].setdefault(code, ref)  # keep a route's own 403
    return paths


def _document(title: str, description: str, tag: str, paths: dict, schemas: dict) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": VERSION, "description": f"{description} {_CORS}"},
        "tags": [{"name": tag}],
        "paths": _with_auth({**paths, **_common_paths(tag)}),
        # The empty requirement: with FAASM_AUTH off (the default) no token is needed.
        "security": [{"bearerAuth": []}, {}],
        "components": {
            "responses": {f"Error{code}": response for code, response in _ERRORS.items()},
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": _BEARER},
        },
    }


def _upload_paths() -> dict:
    fn = [_name("user", "the function's user"), _name("function", "the function's name")]
    state = [_name("user", "the state value's user"), _name("key", "the state key")]
    file_path = [{"name": "FilePath", "in": "header", "required": True,
                  "description": "path of the shared file, relative to the shared root "
                                 "(a `faasm://` prefix is accepted; `..`, absolute paths, "
                                 "backslashes and NUL are refused)",
                  "schema": {"type": "string", "minLength": 1, "maxLength": 4096,
                             "pattern": r"^(faasm://)?[^/\\\x00][^\\\x00]*$"}}]
    up = "upload"
    return {
        "/f/{user}/{function}": {"parameters": fn, "put": _operation(
            "Upload a wasm function (validated, stored, precompiled)",
            {"200": _text("Stored", "Function upload complete\n"),
             **_errors("400", "413", "503")}, up, operationId="putFunction",
            requestBody={"required": True, "description": "a wasm32-wasi module (the bytes, "
                         "whatever the Content-Type; an empty body is a 400)", "content": {
                             kind: {"schema": {"type": "string", "format": "binary",
                                               "minLength": 8}}
                             for kind in ("application/wasm", "application/octet-stream")}}),
            "get": _operation("Download a wasm function as uploaded",
                              {"200": _binary("The wasm bytes", "application/wasm"),
                               **_errors("400", "404")}, up, operationId="getFunction")},
        "/p/{user}/{function}": {"parameters": fn, "put": _operation(
            "Upload a Python function (UTF-8 source, syntax-checked)",
            {"200": _text("Stored", "Python function upload complete\n"),
             **_errors("400", "413", "503")}, up, operationId="putPythonFunction",
            requestBody={"required": True, "description": "Python source (UTF-8; an empty "
                         "body is a 400)", "content": {"text/plain": {
                             "schema": {"type": "string", "minLength": 1}}}}),
            "get": _operation("Download a Python function's source as uploaded",
                              {"200": _text("The source"), **_errors("400", "404")}, up,
                              operationId="getPythonFunction")},
        "/s/{user}/{key}": {"parameters": state, "put": _operation(
            "Set a global state value (binary-safe, may be empty)",
            {"200": _text("Stored", "State upload complete\n"),
             **_errors("400", "413", "503")}, up, operationId="putState",
            requestBody={"required": False, **_binary("the value's bytes")}),
            "get": _operation("Read a global state value",
                              {"200": _binary("The value's bytes"),
                               **_errors("400", "404", "503")}, up, operationId="getState")},
        "/file": {"parameters": file_path, "put": _operation(
            "Store a shared file (functions see it at faasm://<path>)",
            {"200": _text("Stored", "Shared file uploaded\n"), **_errors("400", "413")}, up,
            operationId="putSharedFile",
            requestBody={"required": False, **_binary("the file's bytes")}),
            "get": _operation("Read a shared file",
                              {"200": _binary("The file's bytes"), **_errors("400", "404")},
                              up, operationId="getSharedFile")},
        **_storage_paths(up),
    }


def _storage_paths(tag: str) -> dict:
    """The internal routes workers in fileserver mode read storage through (api/storage.py)."""
    key = [{"name": "key", "in": "query", "required": True, "schema": {"type": "string"},
            "description": "a raw storage key: functions/<user>/<function>/function.wasm, "
                           "artifacts/<sha256>-<engine>.cwasm, shared/<path>"}]
    etag = {"ETag": {"schema": {"type": "string"}, "description": "the blob's version"}}
    return {
        "/storage/blob": {"parameters": key, "get": _operation(
            "Internal (fileserver mode): a storage blob's bytes and version",
            {"200": {**_binary("The blob's bytes"), "headers": etag},
             **_errors("400", "404", "503")}, tag, operationId="getStorageBlob"),
            "head": _operation(
                "Internal (fileserver mode): a storage blob's version",
                {"200": {"description": "The blob exists", "headers": etag},
                 **_errors("400", "404", "503")}, tag, operationId="headStorageBlob"),
            "put": _operation(
                "Internal (fileserver mode): write a shared file (shared/ keys only)",
                {"200": _text("Stored", "Stored\n"), "403": _text("Not a shared/ key"),
                 **_errors("400", "413", "503")}, tag, operationId="putStorageBlob",
                requestBody={"required": False, **_binary("the file's bytes")}),
            "delete": _operation(
                "Internal (fileserver mode): delete a shared file (shared/ keys only)",
                {"200": _text("Deleted", "Deleted\n"), "403": _text("Not a shared/ key"),
                 **_errors("400", "503")}, tag, operationId="deleteStorageBlob")},
        "/storage/list": {"get": _operation(
            "Internal (fileserver mode): every blob under a prefix, with its version",
            {"200": {"description": "key -> version", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"blobs": {
                    "type": "object", "additionalProperties": {"type": "string"}}}}}}},
             **_errors("400", "503")}, tag, operationId="listStorage",
            parameters=[{"name": "prefix", "in": "query", "required": True,
                         "schema": {"type": "string"},
                         "description": "a key prefix ending with /, e.g. shared/"}])},
    }


_INVOKE_REQUEST = {
    "type": "object",
    "description": "Faasm's invoke request; unknown fields are ignored. Exactly one of: a "
                   "call (user + function; `id` chooses its call ID), a status poll "
                   "(status + id), an execution graph (exec_graph + id), a flush "
                   "(flush, or the seed's `type: 3`). A body with `http_type`/`type` "
                   "and `payload`/`payloadJson` is a planner HttpMessage instead.",
    "properties": {
        "user": {"type": "string", "pattern": NAME_PATTERN},
        "function": {"type": "string", "pattern": NAME_PATTERN},
        "input_data": {"type": "string", "description": "input as UTF-8 text"},
        "input_data_b64": {"type": "string", "contentEncoding": "base64",
                           "description": "input as base64 (binary-safe)"},
        "async": {"type": "boolean", "description": "answer the call ID at once"},
        "timeout": {"type": "number", "exclusiveMinimum": 0,
                    "description": "wall-clock limit, seconds (capped by the platform)"},
        "status": {"type": "boolean", "description": "poll the call `id`"},
        "exec_graph": {"type": "boolean",
                       "description": "the execution graph of the call `id`"},
        "id": {"oneOf": [{"type": "integer", "minimum": 1},
                         {"type": "string", "pattern": r"^\d+$"}]},
        "python": {"type": "boolean", "description": "Faasm's form of a Python call"},
        "py_user": {"type": "string", "pattern": NAME_PATTERN},
        "py_func": {"type": "string", "pattern": NAME_PATTERN},
        "flush": {"type": "boolean", "description": "drop every worker's caches"},
    },
    "anyOf": [{"required": ["user", "function"]}, {"required": ["status", "id"]},
              {"required": ["flush"]}, {"required": ["python", "py_user", "py_func"]}],
    "examples": [{"user": "demo", "function": "hello", "input_data": "hi"},
                 {"user": "demo", "function": "hello", "async": True},
                 {"status": True, "id": 1}, {"flush": True}],
}

_BYTES_FIELD = {"type": "string", "description": "text, or base64 when not UTF-8"}
_ENCODING = {"type": "string", "enum": ["utf-8", "base64"]}

_CALL_REPORT = {
    "type": "object",
    "required": ["id", "status", "output", "output_encoding", "stdout", "stdout_encoding",
                 "stderr", "stderr_encoding", "error", "timings", "worker"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "user": {"type": ["string", "null"]},
        "function": {"type": ["string", "null"]},
        "python": {"type": "boolean"},
        "status": {"type": "string", "enum": [s.value for s in CallStatus],
                   "description": "QUEUED until a worker takes the call"},
        "output": _BYTES_FIELD, "output_encoding": _ENCODING,
        "stdout": _BYTES_FIELD, "stdout_encoding": _ENCODING,
        "stderr": _BYTES_FIELD, "stderr_encoding": _ENCODING,
        "error": {"type": ["string", "null"], "description": "the failure's reason"},
        "timings": {"type": "object", "additionalProperties": {"type": "number"},
                    "description": "seconds spent in each phase (load, run, ...)"},
        "worker": {"type": ["string", "null"], "description": "<hostname>/<pid> that ran it"},
        "submitted": {"type": ["string", "null"], "format": "date-time"},
        "finished": {"type": ["string", "null"], "format": "date-time"},
        "parent": {"type": ["integer", "null"], "description": "the call that chained it"},
        "root": {"type": "integer", "description": "the request's first call"},
        "limit": {"type": ["string", "null"],
                  "description": "a chain budget the request ran into, if any"},
    },
}


def _invoke_paths() -> dict:
    tag = "invoke"
    return {
        "/": {"post": _operation(
            "Call a function (sync or async), poll a call's status, or flush the workers",
            {"200": _text("As Faasm answers (docs/COMPATIBILITY.md). Sync call: the output "
                          "and a newline (a failed call: its error and a newline, with "
                          "header X-Faasm-Status: FAILED). Async call: the call ID. Status: "
                          "`RUNNING`, `SUCCESS: <output>` or `FAILED: <error>`. Flush: empty "
                          "(header X-Faasm-Flushed: N). exec_graph: the call's execution "
                          "graph. A planner HttpMessage (faasmctl): faabric's planner "
                          "answer."),
             **_errors("400", "404", "410", "413", "500", "503")}, tag,
            operationId="invoke",
            requestBody={"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/InvokeRequest"}}}})},
        "/status/{call_id}": {
            "get": _operation(
                "A call's status as JSON, with output, stdout, error, timings and worker",
                {"200": {"description": "The call's status", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/CallReport"}}}},
                 **_errors("400", "404", "410", "503")}, tag, operationId="getCallStatus",
                parameters=[_CALL_ID]),
            "delete": _operation(
                "Cancel the call's request: its first call and every call it started "
                "(queued ones never run, running ones are stopped)",
                {"200": {"description": "How many calls the request had and how many "
                                        "were stopped", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "root": {"type": "integer"}, "calls": {"type": "integer"},
                        "cancelled": {"type": "integer"}}}}}},
                 **_errors("400", "404", "410", "503")}, tag, operationId="cancelCall",
                parameters=[_CALL_ID])},
        "/status/{call_id}/graph": {
            "get": _operation(
                "The call's execution graph: the tree of calls it chained, each with its "
                "function, status, worker, start and end times and output size",
                {"200": {"description": "{calls: N, root: node}; a node has id, user, "
                                        "function, python, status, worker, submitted, "
                                        "start, end, duration, output_bytes, error, "
                                        "children", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "calls": {"type": "integer"}, "root": {"type": "object"}}}}}},
                 **_errors("400", "404", "410", "503")}, tag, operationId="getCallGraph",
                parameters=[_CALL_ID])},
    }


_CALL_ID = {"name": "call_id", "in": "path", "required": True,
            "description": "the call ID an async call answered",
            "schema": {"type": "integer", "minimum": 1}}


def upload_document() -> dict:
    """The upload API's document (a fresh copy each time)."""
    return copy.deepcopy(_document(
        "faasm-py upload API", "Functions (wasm and Python), global state and shared files.",
        "upload", add_upload_operations(_upload_paths(), _name), {}))


def invoke_document() -> dict:
    """The invoke API's document (a fresh copy each time)."""
    return copy.deepcopy(_document(
        "faasm-py invoke API", "Faasm's invoke endpoint, plus JSON status by call ID.",
        "invoke", add_invoke_operations(_invoke_paths(), _name),
        {"InvokeRequest": _INVOKE_REQUEST, "CallReport": _CALL_REPORT}))
