"""OpenAPI operations of the day-two routes: inventory and removal (upload API),
health and metrics (both APIs). :mod:`api.openapi` merges them into its documents."""

from __future__ import annotations


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
