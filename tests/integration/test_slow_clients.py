"""Slow clients hold no thread (deploy/gunicorn/worker.py): 40 connections sending a
body a byte at a time to the invoke API and 24 sending headers slowly to the upload
API, while /ping, sync calls and uploads are probed; and a request not sent whole
within FAASM_REQUEST_READ_TIMEOUT is answered 408."""

import socket
import time

import pytest
import requests

from bench.slow_clients import SLOW_BODIES, SLOW_HEADERS, slow_load
from deploy.processes import Platform, private_redis
from tests import wat

READ_TIMEOUT = 3


@pytest.fixture(scope="module")
def slow_platform(tmp_path_factory):
    # Its own Redis: a worker of the session's platform must not take its calls.
    with private_redis() as url:
        plat = Platform(url, tmp_path_factory.mktemp("slow"), concurrency=1,
                        FAASM_REQUEST_READ_TIMEOUT=str(READ_TIMEOUT)).start()
        yield from _serving(plat)


def _serving(plat):
    try:
        assert requests.put(f"{plat.upload_url}/f/slow/hello", data=wat.HELLO).ok
        for _ in range(100):
            if requests.post(plat.invoke_url, json={"user": "slow", "function": "hello"}).ok:
                break
        yield plat
    finally:
        plat.stop()


def test_slow_clients_do_not_starve_the_apis(slow_platform):
    results = slow_load(slow_platform, seconds=6)
    assert results.pop("slow connections opened") == SLOW_BODIES + SLOW_HEADERS
    for name, (times, failed) in results.items():
        assert failed == 0, (name, failed)
        assert len(times) >= 10, (name, len(times))
        assert max(times) < 2.0, (name, max(times))


def test_a_request_not_sent_whole_in_time_is_408(slow_platform):
    with socket.create_connection(("127.0.0.1", slow_platform.invoke_port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"us")
        started = time.monotonic()
        answer = sock.recv(4096)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"Request not received within 3 s" in answer
    assert READ_TIMEOUT - 0.5 < waited < READ_TIMEOUT + 2.5


def test_a_body_sent_in_pieces_within_the_timeout_is_served(slow_platform):
    body = b'{"user": "slow", "function": "hello"}'
    with socket.create_connection(("127.0.0.1", slow_platform.invoke_port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 8):
            sock.sendall(body[i:i + 8])
            time.sleep(0.1)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
