"""What both APIs share: the error table, CORS, raw bodies, plain-text answers."""

from __future__ import annotations

import logging

import falcon

from api.auth import PUBLIC, AuthMiddleware
from faasm.auth import Tokens
from faasm.errors import BadRequest, CallFailed, FaasmError, TooLarge

log = logging.getLogger("faasm.api")

def plain(resp: falcon.Response, text: str | bytes, status: str = falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_TEXT
    resp.data = text.encode("utf-8") if isinstance(text, str) else text


def _faasm_error(req, resp, exc: FaasmError, params) -> None:
    status = falcon.code_to_http_status(exc.status)
    text = f"FAILED: {exc.reason}" if isinstance(exc, CallFailed) else exc.reason
    if status == falcon.HTTP_503:
        resp.set_header("Retry-After", "1")
    if status == falcon.HTTP_401:
        resp.set_header("WWW-Authenticate", 'Bearer realm="faasm"')
    plain(resp, text.replace("\n", " ") + "\n", status)


def _http_error(req, resp, exc: falcon.HTTPError, params) -> None:
    """Falcon's own errors (404 route, 405 method, ...) as one plain line too."""
    text = exc.title if not exc.description else f"{exc.title}: {exc.description}"
    for name, value in (exc.headers or {}).items():
        resp.set_header(name, value)
    plain(resp, text + "\n", exc.status)


def _unexpected(req, resp, exc: Exception, params) -> None:
    log.exception("unexpected error on %s %s", req.method, req.path)
    plain(resp, f"Internal error: {type(exc).__name__}\n", falcon.HTTP_500)


class CORSMiddleware:
    """Permissive CORS on every answer, and 200 to every OPTIONS preflight."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.method == "OPTIONS":
            resp.complete = True
            resp.status = falcon.HTTP_200

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        resp.set_header("Access-Control-Allow-Origin", "*")
        resp.set_header("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE, OPTIONS")
        # A wildcard does not cover Authorization (Fetch standard): it is named.
        resp.set_header("Access-Control-Allow-Headers", "Authorization, *")
        # What the invoke API says beyond Faasm's bodies, readable by a browser's script.
        resp.set_header("Access-Control-Expose-Headers", "X-Faasm-Call-Id, X-Faasm-Status, "
                        "X-Faasm-Error, X-Faasm-Stdout, X-Faasm-Stdout-Length, X-Faasm-Flushed")


def create_falcon_app(tokens: Tokens | None = None) -> falcon.App:
    """An app with the error table and CORS; ``tokens`` turns authentication on."""
    app = falcon.App(middleware=[CORSMiddleware(), AuthMiddleware(tokens)], cors_enable=False)
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(FaasmError, _faasm_error)
    return app


def read_body(req: falcon.Request, limit: int) -> bytes:
    """The request body as raw bytes, whatever its Content-Type; TooLarge past ``limit``.

    A ``Transfer-Encoding: chunked`` body (``curl -T -``) has no Content-Length:
    it is read to its end from a server that de-chunks it and says so
    (``wsgi.input_terminated``, as gunicorn does), and refused with 411
    otherwise, never taken for an empty body (docs/HARDENING.md).
    """
    if req.content_length is not None:
        if req.content_length > limit:
            raise TooLarge(f"Body of {req.content_length} bytes is over the {limit} byte limit")
        data = req.bounded_stream.read(limit + 1)
    elif "chunked" in (req.get_header("Transfer-Encoding") or "").lower():
        if not req.env.get("wsgi.input_terminated"):
            raise falcon.HTTPLengthRequired(
                description="a chunked body needs Content-Length on this server")
        data = _read_to_end(req.stream, limit + 1)
    else:
        return b""
    if len(data) > limit:
        raise TooLarge(f"Body is over the {limit} byte limit")
    return data


def _read_to_end(stream, most: int) -> bytes:
    """Up to ``most`` bytes of ``stream``, read until it ends (a de-chunked body)."""
    parts, size = [], 0
    while size < most:
        part = stream.read(min(most - size, 1 << 20))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def utf8_header(req: falcon.Request, name: str) -> str | None:
    """A header's value read as UTF-8 (WSGI hands every header over as latin-1)."""
    value = req.get_header(name)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadRequest(f"Invalid {name} header: not UTF-8") from None


class Ping:
    """``GET /ping`` → ``PONG``: the API process answers (it checks nothing behind it)."""

    auth = PUBLIC

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        plain(resp, "PONG")


class OpenAPIDocument:
    """``GET /openapi.json``: the API's OpenAPI document (built once, by the factory)."""

    auth = PUBLIC

    def __init__(self, document: dict):
        self.document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document
