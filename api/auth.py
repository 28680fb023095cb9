"""Bearer-token authentication of both APIs (``FAASM_AUTH``), as Falcon middleware.

The middleware reads ``Authorization: Bearer <token>`` once a request is
routed, asks the core (:mod:`faasm.auth`) who it acts as, and leaves that
in ``req.context.principal`` (:data:`faasm.auth.OPEN` with auth off). It
decides at once where the route says whose namespace it touches:

- a resource marked ``auth = PUBLIC`` (``/ping``, ``/openapi.json``) needs no token;
- a route with a ``{user}`` field is that user's (``/f``, ``/p``, ``/s``);
- a resource marked ``auth = IN_RESPONDER`` learns the owner only from the
  request (an invoke body, a call's record, a ``FilePath``), and its
  responder asks the principal itself;
- anything else is internal (``/storage``): the admin's alone.

``OPTIONS`` (CORS preflight) and unknown paths pass untouched.
"""

from __future__ import annotations

import falcon
import redis

from faasm.auth import NOBODY, OPEN, Principal, Tokens
from faasm.errors import Unauthorized
from faasm.settings import Settings

#: Values of a resource's ``auth`` attribute.
PUBLIC, IN_RESPONDER = "public", "in-responder"


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization`` header (None if absent)."""
    if header is None or not header.strip():
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <token>'")
    return token.strip()


class AuthMiddleware:
    def __init__(self, tokens: Tokens | None):
        """``tokens`` None: auth is off, every request acts as :data:`OPEN`."""
        self.tokens = tokens

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        # Fail closed: with auth on, a responder reached without a verdict may do nothing.
        req.context.principal = OPEN if self.tokens is None else NOBODY

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource,
                         params: dict) -> None:
        rule = getattr(resource, "auth", None)
        if self.tokens is None or resource is None or req.method == "OPTIONS" \
                or rule == PUBLIC:
            return
        principal: Principal = self.tokens.authenticate(
            bearer_token(req.get_header("Authorization")))
        req.context.principal = principal
        if rule == IN_RESPONDER:
            return
        if "user" in params:
            principal.require_user(params["user"])
        else:
            principal.require_admin(f"{req.path} (internal)")


def tokens_for(settings: Settings, client: redis.Redis) -> Tokens | None:
    """The token store an API checks requests against, or None with FAASM_AUTH off."""
    if not settings.auth:
        return None
    return Tokens(client, settings.key_prefix, settings.admin_token)


def principal(req: falcon.Request) -> Principal:
    """Who the request acts as (the middleware's verdict)."""
    return getattr(req.context, "principal", NOBODY)
