"""faasm-py's tests: ``unit/`` (the core) and ``integration/`` (real processes)."""

import itertools
import os

import pytest


def services_required() -> bool:
    """FAASM_TEST_REQUIRE=1 (set by .ci/run): a missing service fails the run."""
    return os.environ.get("FAASM_TEST_REQUIRE", "").lower() in ("1", "true", "yes", "on")


def require_or_skip(reason: str) -> None:
    """Skip a test whose service is missing, or fail it where services are required."""
    if services_required():
        pytest.fail(f"{reason} (FAASM_TEST_REQUIRE is on: every service must be present)",
                    pytrace=False)
    pytest.skip(reason)


#: Redis databases for the platforms test modules start (0, or the database
#: FAASM_TEST_REDIS_URL names, is the session's).
_DATABASES = itertools.cycle(range(2, 16))


def fresh_database(redis_url: str) -> str:
    """The URL of another database of ``redis_url``'s server, emptied.

    Each platform a test module starts gets its own, so nothing one leaves (a
    counter, a worker's announcement, a queue) is seen by the next. Module
    platforms live one at a time, so fourteen are plenty.
    """
    import redis

    session = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs.get("db", 0)
    number = next(_DATABASES)
    if number == session:  # FAASM_TEST_REDIS_URL may name any database: never that one
        number = next(_DATABASES)
    url = f"{redis_url.rsplit('/', 1)[0]}/{number}"
    redis.Redis.from_url(url).flushdb()
    return url
