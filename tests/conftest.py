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


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3-compatible server (moto's server mode) with a bucket ``faasm``.

    Sets fake AWS credentials in this process's environment, which the
    platforms started afterwards inherit; yields the endpoint URL.
    """
    import subprocess
    import sys
    from pathlib import Path

    from deploy.processes import free_port, wait_for_port

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H",
                             "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="faasm")
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)
