"""``make run``: start every Procfile process under supervisord, which restarts
whichever dies while the others keep serving (docs/OPERATING.md, "Supervision").

The Procfile stays the list of processes: each line becomes one supervisord
program, written to ``<data dir>/supervisor/supervisord.conf``; supervisord
runs in the foreground and Ctrl-C stops every process. ``-c worker=3`` runs
three copies of a line, as honcho's flag does.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from faasm.settings import PROJECT_ROOT, Settings, get_settings

#: Seconds a process must stay up to count as started; one that dies sooner
#: is retried with a growing delay (1 s, 2 s, ...) up to START_RETRIES times.
START_SECONDS = 1
START_RETRIES = 100
#: Seconds supervisord waits after SIGTERM before SIGKILL. The worker gets
#: long enough to finish the calls it runs (its warm shutdown).
STOP_SECONDS = 15

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def banner(settings: Settings, conf: Path) -> str:
    s = settings
    host = "localhost" if s.bind_host in ("127.0.0.1", "0.0.0.0") else s.bind_host
    return f"""
faasm-py is starting under supervisord (Ctrl-C stops every process):
  upload API  http://{host}:{s.upload_port}
  invoke API  http://{host}:{s.invoke_port}
  Flower      http://{host}:{s.flower_port}
  Redis       {s.redis_url}
  logs        {s.data_dir / 'logs'}/<process>.log   (make logs)
  control     supervisorctl -c {conf} status
Try it (a function built from examples, or any wasm32-wasi module):
  curl -X PUT http://{host}:{s.upload_port}/f/demo/hello -T hello.wasm
  curl -X POST http://{host}:{s.invoke_port}/ -d '{{"user": "demo", "function": "hello"}}'
"""


def read_procfile(path: Path) -> list[tuple[str, str]]:
    """The Procfile's (name, command) lines, in order."""
    processes = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line.strip())
        if not match:
            sys.exit(f"{path}:{number}: not a 'name: command' line")
        processes.append((match.group(1), match.group(2)))
    return processes


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def supervisor_config(processes: list[tuple[str, str]], copies: dict[str, int],
                      settings: Settings, state_dir: Path, log_dir: Path) -> str:
    """supervisord's configuration for ``processes`` (every value escaped for it)."""
    def esc(text: object) -> str:  # supervisord expands %(name)s: a literal % is %%
        return str(text).replace("%", "%%")

    stop_worker = int(settings.max_call_timeout + 10)
    lines = [
        "[supervisord]", "nodaemon=true", "silent=false",
        f"logfile={esc(log_dir / 'supervisord.log')}", "logfile_maxbytes=10MB",
        f"pidfile={esc(state_dir / 'supervisord.pid')}", f"childlogdir={esc(log_dir)}",
        "[unix_http_server]", f"file={esc(state_dir / 'supervisor.sock')}", "chmod=0700",
        "[supervisorctl]", f"serverurl=unix://{esc(state_dir / 'supervisor.sock')}",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    ]
    for priority, (name, command) in enumerate(processes, 1):
        count = copies.get(name, 1)
        label = f"{name}.%(process_num)d" if count > 1 else name
        lines += [
            f"[program:{name}]",
            # A shell expands the Procfile's ${VAR:-default}s, then becomes the process.
            f"command=/bin/sh -c {esc(_quote('exec ' + command))}",
            f"directory={esc(PROJECT_ROOT)}",
            f"numprocs={count}", f"process_name={label if count > 1 else '%(program_name)s'}",
            f"environment=HONCHO_PROCESS_NAME={_quote(label)}",
            # Redis first; the others retry until it answers anyway.
            f"priority={priority * 10}",
            "autostart=true", "autorestart=true",
            f"startsecs={START_SECONDS}", f"startretries={START_RETRIES}",
            "stopsignal=TERM", "stopasgroup=true", "killasgroup=true",
            f"stopwaitsecs={stop_worker if name == 'worker' else STOP_SECONDS}",
            "redirect_stderr=true",
            f"stdout_logfile={esc(log_dir)}/{label}.log",
            "stdout_logfile_maxbytes=50MB", "stdout_logfile_backups=2",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.run", description=__doc__)
    parser.add_argument("-f", "--procfile", type=Path, default=PROJECT_ROOT / "Procfile")
    parser.add_argument("-c", "--concurrency", action="append", default=[],
                        metavar="NAME=N", help="run N copies of a Procfile line")
    args = parser.parse_args(argv)
    copies = {}
    for item in args.concurrency:
        name, _, count = item.partition("=")
        if not count.isdigit() or int(count) < 1:
            parser.error(f"-c wants NAME=N, got {item!r}")
        copies[name] = int(count)
    settings = get_settings()
    state_dir, log_dir = settings.data_dir / "supervisor", settings.data_dir / "logs"
    state_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    conf = state_dir / "supervisord.conf"
    conf.write_text(supervisor_config(read_procfile(args.procfile.resolve()), copies,
                                      settings, state_dir, log_dir))
    print(banner(settings, conf), flush=True)
    os.chdir(PROJECT_ROOT)
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    supervisord = os.path.join(bin_dir, "supervisord")
    os.execv(supervisord, [supervisord, "-n", "-c", str(conf)])


if __name__ == "__main__":
    main()
