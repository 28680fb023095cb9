"""When the APIs' gunicorn worker (deploy/gunicorn/worker.py) holds a whole request."""

import pytest

from deploy.gunicorn.worker import BUFFER_LIMIT, BufferedSocket, request_complete

HEAD = b"POST / HTTP/1.1\r\nHost: x\r\n"
CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("data, whole", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n", False),               # headers still coming
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),            # no body
    (HEAD + b"Content-Length: 5\r\n\r\nabc", False),
    (HEAD + b"Content-Length: 5\r\n\r\nabcde", True),
    (HEAD + b"content-length:   5  \r\n\r\nabcde", True),
    (CHUNKED + b"3\r\nabc\r\n", False),
    (CHUNKED + b"3\r\nabc\r\n0\r\n", False),                 # trailers not ended
    (CHUNKED + b"3\r\nabc\r\n0\r\n\r\n", True),
    (CHUNKED + b"3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", True),
    (CHUNKED + b"3\r\nabc\r\n0\r\nX-T: 1\r\n", False),
    (HEAD + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n", True),  # its thread says 100
    (HEAD + b"Content-Length: %d\r\n\r\n" % (BUFFER_LIMIT + 1), True),   # read by a thread
    (CHUNKED + b"zz\r\n", True),                             # malformed: gunicorn answers 400
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000, True),        # oversized headers: refused there
])
def test_request_complete(data, whole):
    assert request_complete(data) is whole


def test_a_large_chunked_body_is_judged_quickly():
    import time

    body = b"".join(b"3e8\r\n" + b"x" * 1000 + b"\r\n" for _ in range(8000)) + b"0\r\n\r\n"
    started = time.perf_counter()
    assert request_complete(CHUNKED + body)
    assert not request_complete(CHUNKED + body[:-2])
    assert time.perf_counter() - started < 1


def test_buffered_socket_hands_out_its_bytes_then_the_socket():
    class Sock:
        def recv(self, size, flags=0):
            return b"from socket"

    sock = BufferedSocket(Sock())
    sock.pending = memoryview(b"0123456789")
    assert [sock.recv(4), sock.recv(4), sock.recv(4), sock.recv(4)] == \
        [b"0123", b"4567", b"89", b"from socket"]
