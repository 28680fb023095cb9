"""The platform's one exception hierarchy.

Every error a client or a function can cause is a :class:`FaasmError` with a
one-line reason and the HTTP status it is answered with (``status``): the
APIs answer with it, and the client and the fileserver storage read it back
into the same class (:func:`error_for_status`). Anything else is a bug and
is logged with a traceback.
"""


def first_line(text: object, default: str = "") -> str:
    """The first line of ``text`` (an error, a message), stripped; ``default`` if empty.

    Errors are answered in one line: a library's multi-line message (wasmtime's
    backtraces, Redis's) is cut to its first.
    """
    lines = str(text).strip().splitlines()
    return lines[0].strip() if lines else default


class FaasmError(Exception):
    """Root of every expected error; ``str(err)`` is the one-line reason."""

    #: The HTTP status this error is answered with.
    status = 500

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class BadRequest(FaasmError):
    """The client's input is malformed or not allowed."""

    status = 400


class Unauthorized(FaasmError):
    """The request carries no valid bearer token (with ``FAASM_AUTH`` on)."""

    status = 401


class Forbidden(FaasmError):
    """The token is valid, but its user may not touch what the request names."""

    status = 403


class NotFound(FaasmError):
    """The named function, state value, shared file or call does not exist."""

    status = 404


class Expired(FaasmError):
    """The call existed, but its record passed the retention period."""

    status = 410


class TooLarge(FaasmError):
    """A body is over the configured size limit."""

    status = 413


class Unavailable(FaasmError):
    """A service the platform needs (Redis, the broker) does not answer."""

    status = 503


class CallFailed(FaasmError):
    """A function call failed: trap, non-zero exit, limit, bad host call.

    Workers raise it from the Celery task, so the call shows as FAILURE in
    Flower and its reason is what status polling returns after ``FAILED:``.
    """

    status = 500


class CallTimedOut(CallFailed):
    """The call passed its wall-clock limit."""


class HostCallError(CallFailed):
    """A function misused a host call (bad pointer, bad argument)."""


class LimitExceeded(CallFailed):
    """The call passed a memory, output or other size limit."""


def error_for_status(status: int) -> type[FaasmError] | None:
    """The error class an answer of ``status`` stands for (None: no single one)."""
    return _BY_STATUS.get(status)


_BY_STATUS = {cls.status: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound,
                                          Expired, TooLarge, Unavailable)}
