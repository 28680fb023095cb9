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


#: Redis databases for the platforms test modules start (the session's is 0, or the one
#: FAASM_TEST_REDIS_URL names: see module_database).
_DATABASES = itertools.cycle(range(2, 16))
#: The database a module gets in place of one that is the session's own (none names 1).
STAND_IN = 1


def module_database(redis_url: str, number: int) -> str:
    """The URL of database ``number`` of ``redis_url``'s server, emptied, for one test
    module's platform. FAASM_TEST_REDIS_URL may name any database for the session: a
    module that names the session's own gets :data:`STAND_IN` instead, so a module's
    platform never flushes or serves the session's keys."""
    import redis

    session = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs.get("db", 0)
    url = f"{redis_url.rsplit('/', 1)[0]}/{STAND_IN if number == int(session) else number}"
    redis.Redis.from_url(url).flushdb()
    return url


def fresh_database(redis_url: str) -> str:
    """The URL of another database of ``redis_url``'s server, emptied
    (:func:`module_database`).

    Each platform a test module starts gets its own, so nothing one leaves (a
    counter, a worker's announcement, a queue) is seen by the next. Module
    platforms live one at a time, so fourteen are plenty.
    """
    return module_database(redis_url, next(_DATABASES))
