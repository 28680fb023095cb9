"""Per-user bearer tokens, and what the holder of one may touch.

With ``FAASM_AUTH`` on, every request to the APIs names a token; the token
names a user (or is the admin token, ``FAASM_ADMIN_TOKEN``), and that user
may touch their own namespace only: functions, state and calls of that
user, and shared files under ``<user>/``. :class:`Tokens` keeps the tokens
(in Redis, hashed); :class:`Principal` is who a request acts as, and decides
what it may do. The HTTP layer (``api/auth.py``) only reads the header and
calls these. docs/AUTH.md is the user's side of this module.

A token reads ``faasm_<id>_<secret>``: the id is public (``faasm token
list`` shows it, and revoking names it), the secret is 256 random bits that
the platform never stores.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import redis

from faasm.errors import BadRequest, Forbidden, NotFound, Unauthorized
from faasm.names import check_name, shared_path
from faasm.redisdb import available

TOKEN_PREFIX = "faasm"
#: The only hashing scheme so far; stored with each token so another can follow.
SCHEME = "hmac-sha256"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: one user, or the admin (every user)."""

    user: str | None
    admin: bool = False

    def require_user(self, owner: str | None, what: str | None = None) -> None:
        """Forbidden unless this principal may act in ``owner``'s namespace.

        ``what`` names the thing when the client did not name its owner
        itself (a call by ID), so the answer does not tell whose it is.
        """
        if self.admin or (owner is not None and owner == self.user):
            return
        if what is not None:
            raise Forbidden(f"{what} is not one of user {self.user}'s")
        raise Forbidden(f"The token of user {self.user} may not act for user {owner}")

    def require_admin(self, action: str) -> None:
        if not self.admin:
            raise Forbidden(f"{action} needs the admin token")

    def require_shared_path(self, path: str | None) -> None:
        """Users keep to shared files under ``<user>/``; the admin reaches every one.

        The path is normalised as storage will use it, so ``./alice/x`` or
        ``faasm://alice//x`` count as ``alice/x``, and a path that would leave
        the shared root is a BadRequest before any permission is decided.
        """
        if self.admin:
            return
        parts = shared_path(path).split("/")
        if len(parts) < 2 or parts[0] != self.user:
            raise Forbidden(f"User {self.user} may only use shared files under {self.user}/")


#: With FAASM_AUTH off every request acts as this: no check refuses anything.
OPEN = Principal(user=None, admin=True)
#: The holder of FAASM_ADMIN_TOKEN: acts for every user.
ADMIN = Principal(user=None, admin=True)
#: No verdict yet: may do nothing.
NOBODY = Principal(user=None)


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a token besides its secret."""

    id: str
    user: str
    created: float


def _digest(salt: bytes, secret: str) -> str:
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def _parse(token: str) -> tuple[str, str]:
    """(id, secret) of a token; Unauthorized if it cannot be one of ours."""
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not token_id or not secret or \
            not all(c in "0123456789abcdef" for c in token_id):
        raise Unauthorized("Invalid bearer token")
    return token_id, secret


class Tokens:
    """Bearer tokens in Redis: ``<prefix>:auth:token:<id>`` (a hash), indexed by a set.

    Only an HMAC-SHA256 of each secret is stored, keyed with a random salt of
    that token. Tokens are not passwords: their secret is 256 bits from
    :mod:`secrets`, so nobody can guess it back from a stolen hash whatever
    the hash costs, and a slow KDF (scrypt, PBKDF2) would buy nothing but tens
    of milliseconds on every request. The salt makes each stored digest
    unrelated to the token's other traces, so no table computed in advance
    fits. A request's token is found by its public id and its digest compared
    in constant time (:func:`hmac.compare_digest`).

    The admin token (``FAASM_ADMIN_TOKEN``) is not stored: it is a setting,
    compared the same constant-time way.
    """

    def __init__(self, client: redis.Redis, prefix: str, admin_token: str = ""):
        self.client = client
        self.token_prefix = f"{prefix}:auth:token:"
        self.index_key = f"{prefix}:auth:tokens"
        self._admin_digest = (hashlib.sha256(admin_token.encode()).digest()
                              if admin_token else None)

    def issue(self, user: str) -> tuple[TokenInfo, str]:
        """A new token for ``user``: its info, and the token itself (shown once, never stored)."""
        check_name(user, "user")
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        info = TokenInfo(id=token_id, user=user, created=time.time())
        with available():
            pipe = self.client.pipeline()
            pipe.hset(self.token_prefix + token_id, mapping={
                "user": user, "created": repr(info.created), "scheme": SCHEME,
                "salt": salt.hex(), "digest": _digest(salt, secret)})
            pipe.sadd(self.index_key, token_id)
            pipe.execute()
        return info, f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def verify(self, token: str) -> str:
        """The user ``token`` belongs to; Unauthorized if it is not a live token."""
        token_id, secret = _parse(token)
        with available():
            record = self.client.hgetall(self.token_prefix + token_id)
        if not record or record.get(b"scheme") != SCHEME.encode():
            raise Unauthorized("Invalid bearer token")
        digest = _digest(bytes.fromhex(record[b"salt"].decode()), secret)
        if not hmac.compare_digest(digest.encode(), record[b"digest"]):
            raise Unauthorized("Invalid bearer token")
        return record[b"user"].decode()

    def authenticate(self, token: str | None) -> Principal:
        """Who ``token`` acts as: the admin, or the user it was issued to."""
        if not token:
            raise Unauthorized("Missing bearer token: send Authorization: Bearer <token>")
        if self._admin_digest is not None and hmac.compare_digest(
                hashlib.sha256(token.encode()).digest(), self._admin_digest):
            return ADMIN
        return Principal(user=self.verify(token))

    def list(self, user: str | None = None) -> list[TokenInfo]:
        """Every token (of ``user``, if given), oldest first."""
        with available():
            ids = sorted(i.decode() for i in self.client.smembers(self.index_key))
            pipe = self.client.pipeline(transaction=False)
            for token_id in ids:
                pipe.hmget(self.token_prefix + token_id, "user", "created")
            rows = pipe.execute()
        found = [TokenInfo(token_id, row[0].decode(), float(row[1]))
                 for token_id, row in zip(ids, rows, strict=True) if row[0] is not None]
        return sorted((t for t in found if user is None or t.user == user),
                      key=lambda t: t.created)

    def revoke(self, token_or_id: str) -> TokenInfo:
        """Revoke one token, named by its id or by the whole token; NotFound if none."""
        token_id = token_or_id
        if token_or_id.startswith(TOKEN_PREFIX + "_"):
            try:
                token_id = _parse(token_or_id)[0]
            except Unauthorized:
                raise BadRequest("Not a token or a token id") from None
        key = self.token_prefix + token_id
        with available():
            pipe = self.client.pipeline()
            pipe.hmget(key, "user", "created")
            pipe.delete(key)
            pipe.srem(self.index_key, token_id)
            (user, created), _, _ = pipe.execute()
        if user is None:
            raise NotFound(f"No token {token_id}")
        return TokenInfo(token_id, user.decode(), float(created))

    def revoke_user(self, user: str) -> list[TokenInfo]:
        """Revoke every token of ``user``; the ones revoked."""
        revoked = []
        for info in self.list(check_name(user, "user")):
            try:
                revoked.append(self.revoke(info.id))
            except NotFound:  # revoked meanwhile by someone else
                pass
        return revoked
