"""faasm-py's tests: ``unit/`` (the core) and ``integration/`` (real processes)."""

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
