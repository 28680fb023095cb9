"""The upload API (port 8002): functions, Python sources, state, shared files.

Run it with ``gunicorn 'api.upload:get_app()'``.
"""

from __future__ import annotations

from dataclasses import dataclass

import falcon

from api.auth import IN_RESPONDER, principal, tokens_for
from api.common import OpenAPIDocument, Ping, create_falcon_app, plain, read_body, utf8_header
from api.health import add_health_routes, default_queue
from api.hints import add_wrong_port_hints
from api.inventory import add_inventory_routes
from api.metrics import add_metrics_routes
from api.openapi import upload_document
from api.storage import add_storage_routes
from faasm import redisdb
from faasm.auth import Tokens
from faasm.errors import BadRequest
from faasm.files import SharedFiles
from faasm.functions import Functions, PythonBudget
from faasm.inventory import Inventory
from faasm.settings import Settings, get_settings
from faasm.state import GlobalState
from faasm.storage import open_storage


@dataclass
class UploadDeps:
    settings: Settings
    functions: Functions
    files: SharedFiles
    state: GlobalState
    tokens: Tokens | None = None  # FAASM_AUTH on: check requests against these

    @property
    def inventory(self) -> Inventory:
        return Inventory(self.functions.storage, self.state)


def _nonempty(data: bytes, what: str, example: str) -> bytes:
    """An empty body is a mistake (a wrong curl flag), never a function or a no-op."""
    if not data:
        raise BadRequest(f"Invalid {what}: the body is empty; send the file as the body "
                         f"(e.g. curl -T {example} URL)")
    return data


class WasmFunction:
    def __init__(self, deps: UploadDeps):
        self.deps = deps

    def on_put(self, req, resp, user: str, function: str) -> None:
        from faasm.runtime.compile import upload_wasm
        from faasm.storage.artifacts import Artifacts, host_secret

        data = _nonempty(read_body(req, self.deps.settings.max_upload_bytes),
                         "wasm", "hello.wasm")
        settings, storage = self.deps.settings, self.deps.functions.storage
        artifacts = Artifacts(storage, host_secret(settings.data_dir, settings.artifact_key))
        upload_wasm(storage, user, function, data, artifacts=artifacts,
                    budget=(settings.compile_timeout, settings.compile_memory))
        plain(resp, "Function upload complete\n")

    def on_get(self, req, resp, user: str, function: str) -> None:
        resp.data = self.deps.functions.get_wasm(user, function)
        resp.content_type = "application/wasm"

    def on_delete(self, req, resp, user: str, function: str) -> None:
        self.deps.inventory.delete_function(user, function, "wasm")
        plain(resp, "Function deleted\n")


class PythonFunction:
    def __init__(self, deps: UploadDeps):
        self.deps = deps

    def on_put(self, req, resp, user: str, function: str) -> None:
        source = _nonempty(read_body(req, self.deps.settings.max_upload_bytes),
                           "Python", "hello.py")
        self.deps.functions.put_python(user, function, source)
        plain(resp, "Python function upload complete\n")

    def on_get(self, req, resp, user: str, function: str) -> None:
        plain(resp, self.deps.functions.get_python(user, function))

    def on_delete(self, req, resp, user: str, function: str) -> None:
        self.deps.inventory.delete_function(user, function, "python")
        plain(resp, "Python function deleted\n")


class StateValue:
    def __init__(self, deps: UploadDeps):
        self.deps = deps

    def on_put(self, req, resp, user: str, key: str) -> None:
        self.deps.state.set(user, key, read_body(req, self.deps.settings.max_upload_bytes))
        plain(resp, "State upload complete\n")

    def on_get(self, req, resp, user: str, key: str) -> None:
        resp.data = self.deps.state.get(user, key)
        resp.content_type = "application/octet-stream"

    def on_delete(self, req, resp, user: str, key: str) -> None:
        self.deps.inventory.delete_state(user, key)
        plain(resp, "State deleted\n")


class SharedFile:
    auth = IN_RESPONDER  # the FilePath says whose file it is

    def __init__(self, deps: UploadDeps):
        self.deps = deps

    def on_put(self, req, resp) -> None:
        path = utf8_header(req, "FilePath")
        principal(req).require_shared_path(path)
        self.deps.files.put(path, read_body(req, self.deps.settings.max_upload_bytes))
        plain(resp, "Shared file uploaded\n")

    def on_get(self, req, resp) -> None:
        path = utf8_header(req, "FilePath")
        principal(req).require_shared_path(path)
        resp.data = self.deps.files.get(path)
        resp.content_type = "application/octet-stream"

    def on_delete(self, req, resp) -> None:
        path = utf8_header(req, "FilePath")
        principal(req).require_shared_path(path)
        self.deps.inventory.delete_file(path)
        plain(resp, "Shared file deleted\n")


def create_app(deps: UploadDeps) -> falcon.App:
    app = create_falcon_app(deps.tokens if deps is not None else None)
    app.add_route("/f/{user}/{function}", WasmFunction(deps))
    app.add_route("/p/{user}/{function}", PythonFunction(deps))
    app.add_route("/s/{user}/{key}", StateValue(deps))
    app.add_route("/file", SharedFile(deps))
    app.add_route("/ping", Ping())
    app.add_route("/openapi.json", OpenAPIDocument(upload_document()))
    add_storage_routes(app, deps)
    add_inventory_routes(app, deps)
    add_health_routes(app, default_queue)
    add_metrics_routes(app, default_queue)
    add_wrong_port_hints(app, "upload")
    return app


def get_app(settings: Settings | None = None) -> falcon.App:
    """The app as configured from the environment (gunicorn's entry point)."""
    from workers.tracing import start_tracing

    settings = settings or get_settings()
    start_tracing("faasm-upload", falcon=True)
    storage = open_storage(settings.storage, settings)
    client = redisdb.connect(settings)
    return create_app(UploadDeps(
        settings=settings, functions=Functions(storage, PythonBudget.from_settings(settings)),
        files=SharedFiles(storage, settings.shared_file_quota),
        state=GlobalState.from_settings(client, settings), tokens=tokens_for(settings, client)))
