"""The upload API's inventory routes: what a user keeps, as JSON, and removing it.

| request | answer |
|---|---|
| ``GET /functions/{user}`` | ``{"user", "functions": [F]}`` |
| ``GET /functions/{user}/{function}`` | ``{"user", "function", "kinds": [F]}``; 404 |
| ``GET /state/{user}`` | ``{"user", "keys": [{key, size}]}`` |
| ``GET /files?prefix=dir`` | ``{"prefix", "files": [{path, size, modified}], "truncated"}`` |

where each ``F`` is ``{function, kind, size, uploaded, sha256}``.

Removal is ``DELETE`` on the upload routes themselves (``/f``, ``/p``, ``/s``,
``/file``), in :mod:`api.upload`. With FAASM_AUTH on a user lists only
their own namespace, and shared files under ``<user>/``.
"""

from __future__ import annotations

import falcon

from api.auth import IN_RESPONDER, principal
from faasm.inventory import Inventory


class FunctionList:
    def __init__(self, deps):
        self.deps = deps

    @property
    def inventory(self) -> Inventory:
        return self.deps.inventory

    def on_get(self, req, resp, user: str) -> None:
        resp.media = {"user": user, "functions": self.inventory.functions(user)}


class FunctionInfo:
    def __init__(self, deps):
        self.deps = deps

    @property
    def inventory(self) -> Inventory:
        return self.deps.inventory

    def on_get(self, req, resp, user: str, function: str) -> None:
        resp.media = {"user": user, "function": function,
                      "kinds": self.inventory.function(user, function)}


class StateList:
    def __init__(self, deps):
        self.deps = deps

    @property
    def inventory(self) -> Inventory:
        return self.deps.inventory

    def on_get(self, req, resp, user: str) -> None:
        resp.media = {"user": user, "keys": self.inventory.state_keys(user)}


class FileList:
    auth = IN_RESPONDER  # the prefix says whose files are listed

    def __init__(self, deps):
        self.deps = deps

    @property
    def inventory(self) -> Inventory:
        return self.deps.inventory

    def on_get(self, req, resp) -> None:
        prefix = (req.get_param("prefix") or "").strip("/")
        who = principal(req)
        if not who.admin:
            prefix = prefix or who.user or ""
            who.require_shared_path(f"{prefix}/-")
        files, truncated = self.inventory.files(prefix)
        resp.media = {"prefix": prefix, "files": files, "truncated": truncated}


def add_inventory_routes(app: falcon.App, deps) -> None:
    """``deps``: anything with an ``inventory`` (:class:`api.upload.UploadDeps`)."""
    app.add_route("/functions/{user}", FunctionList(deps))
    app.add_route("/functions/{user}/{function}", FunctionInfo(deps))
    app.add_route("/state/{user}", StateList(deps))
    app.add_route("/files", FileList(deps))
