import os

import pytest

from deploy.processes import private_redis


@pytest.fixture(scope="session")
def redis_url():
    """A real Redis: FAASM_TEST_REDIS_URL if set, else a private redis-server."""
    url = os.environ.get("FAASM_TEST_REDIS_URL")
    if url:
        yield url
        return
    with private_redis() as url:
        yield url
