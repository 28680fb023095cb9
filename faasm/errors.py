"""The platform's one exception hierarchy.

Every error a client or a function can cause is a :class:`FaasmError` with a
one-line reason. The HTTP layer maps each class to a status code in one
table (``api/common.py``); anything else is a bug and is logged with a
traceback.
"""


class FaasmError(Exception):
    """Root of every expected error; ``str(err)`` is the one-line reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class BadRequest(FaasmError):
    """The client's input is malformed or not allowed."""


class Unauthorized(FaasmError):
    """The request carries no valid bearer token (with ``FAASM_AUTH`` on)."""


class Forbidden(FaasmError):
    """The token is valid, but its user may not touch what the request names."""


class NotFound(FaasmError):
    """The named function, state value, shared file or call does not exist."""


class Expired(FaasmError):
    """The call existed, but its record passed the retention period."""


class TooLarge(FaasmError):
    """A body is over the configured size limit."""


class Unavailable(FaasmError):
    """A service the platform needs (Redis, the broker) does not answer."""


class CallFailed(FaasmError):
    """A function call failed: trap, non-zero exit, limit, bad host call.

    Workers raise it from the Celery task, so the call shows as FAILURE in
    Flower and its reason is what status polling returns after ``FAILED:``.
    """


class CallTimedOut(CallFailed):
    """The call passed its wall-clock limit."""


class HostCallError(CallFailed):
    """A function misused a host call (bad pointer, bad argument)."""


class LimitExceeded(CallFailed):
    """The call passed a memory, output or other size limit."""
