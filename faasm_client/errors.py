"""The client's errors: a failed request as a typed exception.

Every error is a :class:`ClientError` carrying the HTTP status and the
server's one-line reason; :class:`CallFailed` when the function failed,
:class:`Unreachable` when nothing answers at the API's address. Each class
also derives from the core error of the same name (``faasm.errors.NotFound``
...) and takes its HTTP status from it, so one ``except`` catches a failure
wherever it was raised, and the status is stated once, on the core class.
"""

from __future__ import annotations

import re

import requests

from faasm import errors


class ClientError(errors.FaasmError):
    """A request failed; ``status`` is the HTTP status (None if no answer came)."""

    def __init__(self, reason: str, status: int | None = None, url: str = ""):
        super().__init__(reason)
        self.status = status
        self.url = url


class BadRequest(ClientError, errors.BadRequest):
    """400: a bad name, path, body or field."""


class NotFound(ClientError, errors.NotFound):
    """404: no such function, state value, shared file or call."""


class Expired(ClientError, errors.Expired):
    """410: the call's record passed the platform's result retention."""


class TooLarge(ClientError, errors.TooLarge):
    """413: the body is over the platform's upload limit."""


class Unauthorized(ClientError, errors.Unauthorized):
    """401: the platform has FAASM_AUTH on and the request had no valid token."""


class Forbidden(ClientError, errors.Forbidden):
    """403: the token's user may not touch that (another user's namespace, a flush)."""


class Unavailable(ClientError, errors.Unavailable):
    """503: the API answers, but Redis or the broker behind it does not."""


class ServerError(ClientError):
    """Any other 5xx: a bug or a crash on the platform's side."""


class CallFailed(ClientError, errors.CallFailed):
    """The function failed (trap, non-zero exit, limit, timeout); ``reason`` says how."""

    def __init__(self, reason: str, status: int | None = 500, url: str = "",
                 call_id: int | None = None):
        super().__init__(reason, status, url)
        self.call_id = call_id


class Unreachable(ClientError):
    """Nothing answered at the API's address (connection refused, timed out)."""


class WaitTimeout(ClientError, TimeoutError):
    """:meth:`~faasm_client.Client.wait` gave up before the call ended (the call goes on)."""


#: The client's error for each status, read from the class (which has it from the core's).
_BY_STATUS = {cls.status: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound,
                                          Expired, TooLarge, Unavailable)}

#: How Faasm's sync answer starts when the function failed (HTTP 500).
FAILED_PREFIX = "FAILED: "


def error_for(status: int, reason: str, url: str = "") -> ClientError:
    """The typed error for an answer of ``status`` with the one-line ``reason``."""
    if status == errors.CallFailed.status and reason.startswith(FAILED_PREFIX):
        return CallFailed(reason[len(FAILED_PREFIX):], status, url)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ClientError
    return cls(reason, status, url)


def unreachable(url: str, exc: requests.RequestException) -> Unreachable:
    """Unreachable with a short reason (requests' own messages run to lines of repr)."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
    if found:
        detail = found.group(1).strip()
    elif isinstance(exc, requests.Timeout):
        detail = "timed out"
    else:
        detail = type(exc).__name__
    base = re.match(r"https?://[^/]+", url)
    return Unreachable(f"cannot reach {base.group(0) if base else url}: {detail}", None, url)
