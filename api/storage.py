"""The upload API's internal ``/storage`` routes, for workers in fileserver mode.

Workers on other hosts set ``FAASM_STORAGE=http://upload-host:8002`` and read
functions, precompiled machine code and shared files here
(:mod:`faasm.storage.fileserver`). Keys are raw storage keys
(``functions/<user>/<function>/function.wasm``, ``artifacts/...``,
``shared/<path>``); every blob answer carries its version as ``ETag``.

| request | answer |
|---|---|
| ``GET /storage/blob?key=K`` | 200 the bytes, ``ETag``; 404 |
| ``HEAD /storage/blob?key=K`` | 200 with ``ETag`` only; 404 |
| ``PUT /storage/blob?key=shared/...`` body = bytes | 200; a shared file (calls' writes) |
| ``DELETE /storage/blob?key=shared/...`` | 200 |
| ``GET /storage/list?prefix=shared/`` | 200 ``{"blobs": {key: version}}`` |

Only ``shared/`` keys are writable, as through ``PUT /file``: functions go
through the validating routes, and machine code is never accepted from a
client.
"""

from __future__ import annotations

import falcon

from api.common import plain, read_body
from faasm.errors import BadRequest, Forbidden, NotFound
from faasm.storage import SHARED_PREFIX, check_key, check_prefix


def _param(req: falcon.Request, name: str) -> str:
    value = req.get_param(name)
    if value is None:
        raise BadRequest(f"Missing query parameter {name}")
    return value


class StorageBlob:
    def __init__(self, deps):
        self.deps = deps

    def on_get(self, req, resp) -> None:
        # The version first: a reader caching (version, bytes) never keeps stale bytes.
        key = self._version(req, resp)
        resp.data = self.deps.functions.storage.read(key)
        resp.content_type = "application/octet-stream"

    def on_head(self, req, resp) -> None:
        self._version(req, resp)

    def _version(self, req, resp) -> str:
        key = check_key(_param(req, "key"))
        version = self.deps.functions.storage.version(key)
        if version is None:
            raise NotFound(f"{key} not found")
        resp.set_header("ETag", f'"{version}"')
        return key

    def on_put(self, req, resp) -> None:
        key = self._writable(req)
        # Through the shared files, as PUT /file: the same quota holds.
        self.deps.files.put(key[len(SHARED_PREFIX):],
                            read_body(req, self.deps.settings.max_upload_bytes))
        plain(resp, "Stored\n")

    def on_delete(self, req, resp) -> None:
        self.deps.functions.storage.delete(self._writable(req))
        plain(resp, "Deleted\n")

    @staticmethod
    def _writable(req) -> str:
        key = check_key(_param(req, "key"))
        if not key.startswith(SHARED_PREFIX):
            raise Forbidden(f"Forbidden: only {SHARED_PREFIX} keys are writable")
        return key


class StorageList:
    def __init__(self, deps):
        self.deps = deps

    def on_get(self, req, resp) -> None:
        prefix = check_prefix(_param(req, "prefix"))
        resp.media = {"blobs": self.deps.functions.storage.list(prefix)}


def add_storage_routes(app: falcon.App, deps) -> None:
    """Serve the upload API's own storage under ``/storage``."""
    if deps is not None and type(deps.functions.storage).__name__ == "FileserverStorage":
        raise RuntimeError("The upload API cannot use fileserver storage (it would read "
                           "from itself): give it a directory or an s3:// URL")
    app.add_route("/storage/blob", StorageBlob(deps))
    app.add_route("/storage/list", StorageList(deps))
