"""The Redis connection shared by call IDs, call records and global state."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis

from faasm.errors import Unavailable
from faasm.settings import Settings


def connect(settings: Settings) -> redis.Redis:
    """A client for ``FAASM_REDIS_URL`` (thread-safe; it pools connections)."""
    return redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2,
                                socket_timeout=10, health_check_interval=30)


@contextlib.contextmanager
def available(what: str = "Redis") -> Iterator[None]:
    """Turn a lost Redis connection into :class:`Unavailable` (503 at the API)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise Unavailable(f"{what} unavailable: {exc}") from None
