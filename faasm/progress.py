"""Progress on stderr for the command line: a live status line, and bytes sent.

On a terminal a :class:`StatusLine` redraws one line in place (a spinner, a
message, the time elapsed) from a background thread. Anywhere else (a pipe,
a CI log) it prints a line only when the message changes and, while it
does not, every :data:`QUIET_EVERY` seconds, so logs stay short.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from typing import Self, TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_FRAMES = "|/-\\"
#: Redraws per second on a terminal.
RATE = 10
#: Off a terminal, how often an unchanged message is printed again, seconds.
QUIET_EVERY = 10.0


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class StatusLine:
    """A status message that stays current on stderr while long work runs.

    Use it as a context manager; :meth:`update` changes the message,
    :meth:`finish` replaces the line with a final one that stays.
    """

    def __init__(self, message: str, stream: TextIO | None = None, enabled: bool = True,
                 delay: float = 0.0):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self.message = message
        #: On a terminal, draw nothing before this many seconds (quick work stays silent).
        self.delay = delay
        encoding = (getattr(self.stream, "encoding", None) or "ascii").lower()
        self.frames = FRAMES if encoding.replace("-", "") == "utf8" else ASCII_FRAMES
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._printed: tuple[str, float] | None = None  # (message, when), off a terminal
        self._drawn = False

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self) -> Self:
        self.started = time.monotonic()
        if self.live:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        elif self.enabled and not self.delay:
            self._print_line()
        return self

    def __exit__(self, *exc) -> None:
        self._halt()

    def update(self, message: str) -> None:
        with self._lock:
            self.message = message
        if self.enabled and not self.live:
            last = self._printed
            if last is None or last[0] != message or time.monotonic() - last[1] >= QUIET_EVERY:
                self._print_line()

    def stop(self) -> None:
        """Stop the live line and clear it."""
        self._halt()

    def finish(self, message: str) -> None:
        """Stop and leave ``message`` as the last line (printed even off a terminal)."""
        self._halt()
        if self.enabled:
            self.stream.write(message + "\n")
            self.stream.flush()

    def above(self, target: TextIO) -> TextIO:
        """A stream writing to ``target`` that first clears the live line (redrawn later),
        for others' output while the line spins (``contextlib.redirect_stdout``)."""
        return _Above(self, target)

    def _print_line(self) -> None:
        self._printed = (self.message, time.monotonic())
        self.stream.write(f"{self.message} ({self.elapsed:.1f} s)\n")
        self.stream.flush()

    def _spin(self) -> None:
        frame = 0
        while not self._stop.wait(1 / RATE):
            if self.elapsed < self.delay:
                continue
            with self._lock:
                text = f"\r\x1b[2K{self.frames[frame % len(self.frames)]} {self.message}" \
                       f"  {self.elapsed:.1f} s"
                self.stream.write(text)
                self.stream.flush()
                self._drawn = True
            frame += 1

    def _halt(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            if self._drawn:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
                self._drawn = False


class _Above(io.TextIOBase):
    def __init__(self, line: StatusLine, target: TextIO):
        self.line, self.target = line, target

    def write(self, text: str) -> int:
        with self.line._lock:
            if self.line._drawn:
                self.line.stream.write("\r\x1b[2K")
                self.line.stream.flush()
                self.line._drawn = False
            self.target.write(text)
            self.target.flush()
        return len(text)

    def isatty(self) -> bool:
        return self.target.isatty()


class BytesProgress:
    """A ``progress(done, total)`` callback that shows a transfer on a StatusLine.

    Meant for a live line: off a terminal every chunk would print a line.
    """

    def __init__(self, line: StatusLine, verb: str, name: str, then: str = ""):
        self.line, self.verb, self.name, self.then = line, verb, name, then

    def __call__(self, done: int, total: int) -> None:
        if total and done >= total and self.then:
            self.line.update(self.then)
            return
        if total:
            text = f"{self.verb} {self.name}: {human_bytes(done)} / {human_bytes(total)} " \
                   f"({100 * done // total}%)"
        else:
            text = f"{self.verb} {self.name}: {human_bytes(done)}"
        self.line.update(text)
