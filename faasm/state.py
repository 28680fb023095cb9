"""Global state: one byte array per (user, key), held in Redis.

This is the global tier of Faasm's two-tier state model. The upload API's
``/s/`` endpoints and every function of a user read and write the same values.
"""

from __future__ import annotations

import redis

from faasm.errors import NotFound
from faasm.names import check_name
from faasm.redisdb import available


class GlobalState:
    def __init__(self, client: redis.Redis, prefix: str):
        self.client = client
        self.prefix = f"{prefix}:state:"

    def key(self, user: str, key: str) -> str:
        return f"{self.prefix}{user}:{key}"

    def get(self, user: str, key: str) -> bytes:
        check_name(user, "user"), check_name(key, "key")
        with available():
            value = self.client.get(self.key(user, key))
        if value is None:
            raise NotFound(f"State {user}/{key} not found")
        return value

    def set(self, user: str, key: str, value: bytes) -> None:
        check_name(user, "user"), check_name(key, "key")
        with available():
            self.client.set(self.key(user, key), value)
