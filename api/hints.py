"""One-line answers for requests sent to the wrong API (a common first mistake):
invoke JSON posted to the upload port, or an upload sent to the invoke port."""

from __future__ import annotations

import falcon

from faasm.errors import BadRequest

TO_INVOKE = ("This is the upload API (default port 8002): send calls, status polls and "
             "flushes to the invoke API, POST http://HOST:8080/")
TO_UPLOAD = ("This is the invoke API (default port 8080): send uploads (/f, /p, /s, /file) "
             "and listings to the upload API, http://HOST:8002")


def _sink(message: str, methods: tuple[str, ...]):
    def sink(req: falcon.Request, resp: falcon.Response, **_) -> None:
        if req.method not in methods:
            raise falcon.HTTPNotFound()
        raise BadRequest(message)
    return sink


def add_wrong_port_hints(app: falcon.App, api: str) -> None:
    """Sinks (after every route): on the upload API, ``POST /``; on the invoke API,
    the upload API's paths."""
    if api == "upload":
        app.add_sink(_sink(TO_INVOKE, ("POST",)), r"^/$")
    else:
        app.add_sink(_sink(TO_UPLOAD, ("GET", "PUT", "DELETE", "HEAD")),
                     r"^/(f|p|s|functions|state)/|^/files?$")
