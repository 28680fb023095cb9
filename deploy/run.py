"""``make run``: print where everything is, then start every Procfile process with honcho."""

from __future__ import annotations

import os
import sys

from faasm.settings import PROJECT_ROOT, get_settings


def banner() -> str:
    s = get_settings()
    host = "localhost" if s.bind_host in ("127.0.0.1", "0.0.0.0") else s.bind_host
    return f"""
faasm-py is starting (Ctrl-C stops every process):
  upload API  http://{host}:{s.upload_port}
  invoke API  http://{host}:{s.invoke_port}
  Flower      http://{host}:{s.flower_port}
  Redis       {s.redis_url}
Try it (a function built from examples, or any wasm32-wasi module):
  curl -X PUT http://{host}:{s.upload_port}/f/demo/hello -T hello.wasm
  curl -X POST http://{host}:{s.invoke_port}/ -d '{{"user": "demo", "function": "hello"}}'
"""


def main() -> None:
    print(banner(), flush=True)
    os.chdir(PROJECT_ROOT)
    honcho = os.path.join(os.path.dirname(sys.executable), "honcho")
    os.execv(honcho, [honcho, "start", "-f", str(PROJECT_ROOT / "Procfile")])


if __name__ == "__main__":
    main()
