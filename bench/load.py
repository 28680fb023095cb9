"""A closed-loop HTTP/1.1 load generator: N keep-alive clients, one thread.

Each client sends one request, waits for the whole answer, and sends the
next at once. It is a few lines of ``selectors`` over raw sockets rather
than ``requests`` or threads, because it shares the machine's two CPUs with
what it measures: it costs ~20-40 µs of CPU per call, where ``requests``
costs ~300 µs (which would flatten every ratio it reports).
"""

from __future__ import annotations

import re
import selectors
import socket
import time
from dataclasses import dataclass, field

#: A run stops at this many bad answers (a broken server answers fast, for ever).
MAX_FAILURES = 10
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)\r\n", re.IGNORECASE)


@dataclass
class Load:
    """What one run saw: the latency of every call sent and answered in the window
    (seconds), how many answers arrived in it, how long it was, and the answers
    that were not ``ok``."""

    latencies: list[float] = field(default_factory=list)
    answered: int = 0
    seconds: float = 0.0
    failures: list[bytes] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Calls per second: answers in the window over its length (a closed loop
        in its steady state, so the edges cost nothing)."""
        return self.answered / self.seconds if self.seconds else 0.0


def post(path: str, body: bytes, host: str = "127.0.0.1") -> bytes:
    """A keep-alive ``POST`` request with a JSON body, as bytes on the wire."""
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class _Client:
    def __init__(self, port: int, request: bytes):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = request
        self.buffer = b""
        self.sent = 0.0

    def send(self) -> None:
        self.sent = time.perf_counter()
        self.sock.sendall(self.request)

    def answer(self) -> bytes | None:
        """The whole answer once it arrived (head and body), else None."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = _LENGTH.search(self.buffer, 0, end + 2)
        if length is None:
            raise RuntimeError(f"answer without Content-Length: {self.buffer[:200]!r}")
        total = end + 4 + int(length.group(1))
        if len(self.buffer) < total:
            return None
        answer, self.buffer = self.buffer[:total], self.buffer[total:]
        return answer


def run(port: int, request: bytes, ok: bytes, clients: int = 1, seconds: float = 5.0,
        calls: int | None = None, warmup: float = 0.5) -> Load:
    """Drive ``clients`` keep-alive connections for ``warmup`` + ``seconds`` (or until
    ``calls`` answers were timed). An answer is good when it is a 200 containing
    ``ok``; the calls answered in the window are timed, and the rate is theirs."""
    selector = selectors.DefaultSelector()
    conns = [_Client(port, request) for _ in range(clients)]
    load = Load()
    started = time.perf_counter()
    window = started + warmup
    stop = window + seconds
    try:
        for conn in conns:
            selector.register(conn.sock, selectors.EVENT_READ, conn)
            conn.send()
        busy = len(conns)
        while busy:
            events = selector.select(timeout=30)
            if not events:
                raise RuntimeError(f"no answer within 30 s ({busy} calls outstanding)")
            for key, _ in events:
                conn: _Client = key.data
                data = conn.sock.recv(65536)
                if not data:
                    raise RuntimeError("the server closed a keep-alive connection")
                conn.buffer += data
                answer = conn.answer()
                if answer is None:
                    continue
                now = time.perf_counter()
                if not answer.startswith(b"HTTP/1.1 200") or ok not in answer:
                    load.failures.append(answer[:300])
                    if len(load.failures) >= MAX_FAILURES:
                        raise RuntimeError(f"{len(load.failures)} calls failed, e.g. "
                                           f"{load.failures[0]!r}")
                elif window <= now <= stop:
                    load.answered += 1
                    if window <= conn.sent:
                        load.latencies.append(now - conn.sent)
                done = now >= stop or (calls is not None and len(load.latencies) >= calls)
                if done:
                    selector.unregister(conn.sock)
                    busy -= 1
                else:
                    conn.send()
        load.seconds = max(min(time.perf_counter(), stop) - window, 0.0)
    finally:
        selector.close()
        for conn in conns:
            conn.sock.close()
    return load
