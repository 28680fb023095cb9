"""The Redis connection shared by call IDs, call records and global state."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis

from faasm.errors import Unavailable
from faasm.settings import Settings


def connect(settings: Settings) -> redis.Redis:
    """A client for ``FAASM_REDIS_URL`` (thread-safe; it pools connections).

    A ``sentinel://host:26379;sentinel://host2:26379/0`` URL (Celery's form)
    asks those Sentinels for the master named ``FAASM_REDIS_SENTINEL_MASTER``,
    and follows it when they fail over.
    """
    options = {"socket_connect_timeout": 2, "socket_timeout": 10, "health_check_interval": 30}
    if settings.redis_url.startswith("sentinel://"):
        return sentinel_master(settings.redis_url, settings.redis_sentinel_master, **options)
    return redis.Redis.from_url(settings.redis_url, **options)


def sentinel_master(url: str, master: str, **options) -> redis.Redis:
    """The master behind the Sentinels of ``url`` (``;``-separated sentinel:// URLs;
    the password and database of the first one apply to the master)."""
    from urllib.parse import unquote, urlparse

    from redis.sentinel import Sentinel

    if not master:
        raise ValueError("a sentinel:// Redis URL needs FAASM_REDIS_SENTINEL_MASTER")
    parts = [urlparse(part) for part in url.split(";") if part]
    first = parts[0]
    db = int(first.path.strip("/") or 0)
    password = unquote(first.password) if first.password else None
    sentinels = Sentinel([(p.hostname, p.port or 26379) for p in parts],
                         sentinel_kwargs={"socket_timeout": 2})
    return sentinels.master_for(master, db=db, password=password, **options)


@contextlib.contextmanager
def available(what: str = "Redis") -> Iterator[None]:
    """Turn a lost Redis connection into :class:`Unavailable` (503 at the API)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise Unavailable(f"{what} unavailable: {exc}") from None
