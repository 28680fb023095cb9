"""gunicorn's gthread worker, reading each request whole before a thread takes it.

Stock gthread hands a connection to a thread as soon as its first bytes
arrive; the thread then blocks reading the headers and the body. Clients that
send slowly (a byte every half second) each hold a thread that long, and 40
of them starved ``/ping`` and sync calls (docs/HARDENING.md, "Slow clients").

Here the worker's main loop, which already polls every connection, also reads
them: a request's bytes are buffered without blocking until its headers and
body are complete (Content-Length reached, or the last chunk of a chunked
body), and only then does a thread parse and serve it, reading from that
buffer. A request not complete within ``FAASM_REQUEST_READ_TIMEOUT`` seconds
is answered 408 and closed. Waiting clients then cost a socket and their bytes so far,
not a thread. Requests with ``Expect: 100-continue``, bodies past
``BUFFER_LIMIT``, and TLS connections go to a thread at once, as before.

Use: ``worker_class = "deploy.gunicorn.worker.BufferedThreadWorker"``.
"""

from __future__ import annotations

import errno
import re
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

from faasm.settings import get_settings

#: Seconds a client has to send a whole request (headers and body).
READ_TIMEOUT = get_settings().request_read_timeout
#: A body larger than this is read by its thread, as gthread does (bytes).
BUFFER_LIMIT = 8 * 1024 * 1024
#: Bytes one worker process buffers at most over all its connections.
BUFFER_TOTAL = 256 * 1024 * 1024
#: Headers larger than this are handed on for gunicorn to refuse (bytes).
HEADER_LIMIT = 64 * 1024

_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$",
                             re.IGNORECASE | re.MULTILINE)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*chunked", re.IGNORECASE | re.MULTILINE)
_EXPECT = re.compile(rb"^expect[ \t]*:[ \t]*100-continue", re.IGNORECASE | re.MULTILINE)
_TIMED_OUT = (b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s")


def request_complete(data: bytes | bytearray) -> bool:
    """Whether ``data`` holds a whole request (or enough to hand on: malformed,
    oversized, or a body to be read by a thread)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) > HEADER_LIMIT
    head, body = bytes(data[:end + 2]), memoryview(data)[end + 4:]
    if _EXPECT.search(head):
        return True
    if _CHUNKED.search(head):
        return _chunked_complete(body)
    length = _CONTENT_LENGTH.search(head)
    if length is None:
        return True
    size = int(length.group(1))
    return size > BUFFER_LIMIT or len(body) >= size


def _chunked_complete(body: memoryview) -> bool:
    """Whether a chunked body is whole: its zero-size chunk and trailers arrived."""
    data, at = body.tobytes(), 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return len(data) - at > 1024  # a size line this long is malformed
        try:
            size = int(data[at:line_end].split(b";", 1)[0].strip(), 16)
        except ValueError:
            return True  # malformed: gunicorn answers 400
        if size == 0:  # the last chunk: then trailers, ended by an empty line
            return data.find(b"\r\n\r\n", line_end) >= 0
        if at > BUFFER_LIMIT:
            return True
        at = line_end + 2 + size + 2
        if at > len(data):
            return False


class BufferedSocket:
    """A client socket whose first reads come from bytes the main loop read.

    gunicorn's parser then reads them as it reads a socket, a piece at a time
    (handing it the whole buffer at once makes its chunked-body parser copy
    the rest of the buffer once per chunk)."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = memoryview(b"")

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self.pending:
            data, self.pending = bytes(self.pending[:size]), self.pending[size:]
            return data
        return self.sock.recv(size, flags)

    def __getattr__(self, name):
        return getattr(self.sock, name)


class BufferedThreadWorker(ThreadWorker):
    def init_process(self):
        self.reading: dict = {}  # connection -> deadline
        self.buffered = 0
        super().init_process()

    # -- where gthread hands a connection to a thread, read it first -------
    def accept(self, listener):
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._read(TConn(self.cfg, client, address, listener.getsockname()))

    def on_client_socket_readable(self, conn, client):
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read(conn)

    def _read(self, conn) -> None:
        if self.cfg.is_ssl:
            self.enqueue_req(conn)
            return
        if not isinstance(conn.sock, BufferedSocket):
            conn.sock = BufferedSocket(conn.sock)
        conn.prebuf = bytearray()
        conn.sock.setblocking(False)
        self.reading[conn] = time.monotonic() + READ_TIMEOUT
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _on_bytes(self, conn, sock) -> None:
        try:
            data = conn.sock.sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._stop_reading(conn)
            self._close(conn)
            return
        conn.prebuf += data
        self.buffered += len(data)
        if request_complete(conn.prebuf) or self.buffered > BUFFER_TOTAL:
            self._stop_reading(conn)
            conn.data_ready = True
            self.enqueue_req(conn)

    def _stop_reading(self, conn) -> None:
        self.reading.pop(conn, None)
        self.buffered -= len(conn.prebuf)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _close(self, conn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        for conn, deadline in list(self.reading.items()):
            if deadline <= now:
                self._stop_reading(conn)
                text = b"Request not received within %g s\n" % READ_TIMEOUT
                try:
                    conn.sock.send(_TIMED_OUT % (len(text), text))
                except OSError:
                    pass
                self._close(conn)

    # -- in the thread: parse from the buffer ------------------------------
    def handle(self, conn):
        buffered = getattr(conn, "prebuf", None)
        if buffered:
            conn.prebuf = None
            conn.sock.pending = memoryview(bytes(buffered))
        keepalive = super().handle(conn)
        if isinstance(conn.sock, BufferedSocket) and conn.sock.pending:
            # Bytes of a next (pipelined) request: gthread serves what its parser
            # holds at once, instead of waiting for the socket to be readable.
            if keepalive and conn.parser is not None:
                conn.parser.unreader.unread(bytes(conn.sock.pending))
            conn.sock.pending = memoryview(b"")
        return keepalive
