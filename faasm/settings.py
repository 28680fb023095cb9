"""Every setting of the platform, read once from the environment.

Each setting is a field of :class:`Settings` with its environment variable,
its default and what it means. The defaults run the whole platform on one
machine with no configuration. The README's settings table is this module.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

#: The repository root: the default data directory lives under it, so every
#: process started from the Procfile agrees on it whatever its working dir.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

MiB = 1024 * 1024
GiB = 1024 * MiB
#: The shortest FAASM_ADMIN_TOKEN accepted: it is a password to everything.
MIN_SECRET_LENGTH = 32
#: Defaults of the budgets docs/SECURITY.md lists (also used where no settings are given).
MAX_PYTHON_BYTES = 512 * 1024
PYTHON_PARSE_MEMORY = 256 * MiB
PYTHON_PARSE_TIMEOUT = 10.0
STATE_MAX_VALUE = 256 * MiB
STATE_USER_LIMIT = GiB
COMPILE_TIMEOUT = 60.0
COMPILE_MEMORY = 2 * GiB
SHARED_FILE_QUOTA = 256 * MiB
SCRATCH_QUOTA = 64 * MiB


def _env(name: str, help: str, default, parse=str, shown: str | None = None,
         secret: bool = False):
    """A settings field read from ``FAASM_<NAME>``; ``help`` documents it.

    A ``secret`` (a token) is left out of the settings' repr and of error messages.
    """

    def read():
        raw = os.environ.get(f"FAASM_{name}")
        if raw is None or raw == "":
            return default() if callable(default) else default
        try:
            return parse(raw)
        except ValueError as exc:
            value = "<hidden>" if secret else repr(raw)
            raise ValueError(f"FAASM_{name}={value} is invalid: {exc}") from None

    shown = shown or repr(default)
    return field(default_factory=read, repr=not secret,
                 metadata={"env": f"FAASM_{name}", "help": help, "default": shown})


def _bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true/false")


def _choice(raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise ValueError(f"expected one of {', '.join(allowed)}")
    return raw


def _strong_secret(raw: str) -> str:
    if len(raw) < MIN_SECRET_LENGTH:
        raise ValueError(f"use at least {MIN_SECRET_LENGTH} random characters, e.g. "
                         "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return raw


def _between(low: int, high: int):
    def checked(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value

    return checked


def _positive(parse):
    def checked(raw: str):
        value = parse(raw)
        if value <= 0:
            raise ValueError("must be positive")
        return value

    return checked


@dataclass(frozen=True)
class Settings:
    """The platform's configuration. Build one with :func:`get_settings`."""

    redis_url: str = _env(
        "REDIS_URL", "Redis for call IDs, call records and global state",
        "redis://127.0.0.1:6379/0")
    broker_url: str = _env(
        "BROKER_URL", "Celery broker (redis:// or amqp://); defaults to FAASM_REDIS_URL", "")
    result_backend_url: str = _env(
        "RESULT_BACKEND", "Celery result backend (redis://); defaults to FAASM_REDIS_URL", "")
    broker_visibility_timeout: int = _env(
        "BROKER_VISIBILITY_TIMEOUT", "Redis broker: seconds after which a call taken by a "
        "worker that vanished (host lost, worker killed) is delivered again; keep it above "
        "the longest call", 0, _positive(int), shown="FAASM_MAX_CALL_TIMEOUT + 60")
    redis_sentinel_master: str = _env(
        "REDIS_SENTINEL_MASTER", "master name, when FAASM_REDIS_URL (and the broker/backend "
        "URLs) are Redis Sentinel URLs: `sentinel://h1:26379;sentinel://h2:26379/0`", "")
    key_prefix: str = _env(
        "KEY_PREFIX", "prefix of every Redis key the platform writes (results: "
        "`<prefix>:<db>:`); it does not separate two platforms on one database "
        "(docs/SECURITY.md)", "faasm")
    data_dir: Path = _env(
        "DATA_DIR", "local data: shared storage, private Redis, caches",
        lambda: PROJECT_ROOT / "data", Path, shown="<repo>/data")
    storage_url: str = _env(
        "STORAGE", "shared storage for functions and files: a directory path, "
        "`s3://bucket/prefix`, or `http://upload-host:8002` (fileserver mode: workers read "
        "through the upload API); defaults to <data dir>/storage", "")
    request_read_timeout: float = _env(
        "REQUEST_READ_TIMEOUT", "seconds a client has to send a whole request (headers and "
        "body) to an API before it is answered 408; while it sends, it holds no thread",
        60.0, _positive(float))
    call_id_floor_path: str = _env(
        "CALL_ID_FLOOR", "file keeping a floor above every call ID issued, raised in blocks, "
        "so that no ID is issued twice when Redis loses data (docs/HARDENING.md); every "
        "process issuing IDs must see the same file; `off` = none; defaults to <data "
        "dir>/call-id-floor", "")
    redis_fsync: str = _env(
        "REDIS_FSYNC", "fsync policy of the private Redis's append-only file: `always` (an "
        "accepted call survives a crash), `everysec` (up to 1 s of writes lost), `no`",
        "always", lambda raw: _choice(raw, ("always", "everysec", "no")))
    s3_endpoint_url: str = _env(
        "S3_ENDPOINT_URL", "endpoint of an S3-compatible service for s3:// storage (MinIO, "
        "Ceph...); empty = AWS. Credentials come from the standard AWS variables", "")
    python_cache_path: str = _env(
        "PYTHON_CACHE", "compiled Python runtime (CPython for WASI, compiled once per machine: "
        "~75 s, ~2.3 GB); defaults to <data dir>/python-cache", "")
    python_snapshots: bool = _env(
        "PYTHON_SNAPSHOTS", "start each Python call from an image of its function (CPython "
        "started, its imports done; made on a version's first call, docs/SNAPSHOTS.md) "
        "instead of starting CPython afresh", True, _bool)
    bind_host: str = _env(
        "BIND_HOST", "address the APIs and Flower listen on (0.0.0.0 for other hosts)",
        "127.0.0.1")
    upload_port: int = _env("UPLOAD_PORT", "port of the upload API", 8002, int)
    invoke_port: int = _env("INVOKE_PORT", "port of the invoke API", 8080, int)
    flower_port: int = _env("FLOWER_PORT", "port of the Flower dashboard", 5555, int)
    worker_concurrency: int = _env(
        "WORKER_CONCURRENCY", "calls a worker runs at once (Celery prefork processes); "
        "`--concurrency` overrides it", lambda: os.cpu_count() or 2, _positive(int),
        shown="number of CPUs")
    max_upload_bytes: int = _env(
        "MAX_UPLOAD_BYTES", "largest upload body accepted (413 beyond)",
        64 * MiB, _positive(int))
    call_timeout: float = _env(
        "CALL_TIMEOUT", "default wall-clock limit of a call, seconds", 60.0, _positive(float))
    max_call_timeout: float = _env(
        "MAX_CALL_TIMEOUT", "cap on a call's own `timeout` field, seconds",
        300.0, _positive(float))
    queue_grace: float = _env(
        "QUEUE_GRACE", "how long a sync call may wait in the queue before its limit "
        "starts counting, seconds", 30.0, _positive(float))
    timeout_mode: str = _env(
        "TIMEOUT_MODE", "how a call's wall clock is enforced: `kill` (the worker's pool "
        "process is killed at the limit; no cost while running) or `epoch` (wasmtime epoch "
        "checks in the code; works in any pool, slows tight loops up to 3x)", "kill",
        lambda raw: _choice(raw, ("kill", "epoch")))
    memory_limit: int = _env(
        "MEMORY_LIMIT", "linear memory a call may use, bytes", GiB, _positive(int))
    instance_slots: int = _env(
        "INSTANCE_SLOTS", "wasm instances each worker process keeps in a pool of reserved, "
        "reused memory (one per call running in the process; calls chained and run inline "
        "nest, one slot each; ~4.5 GB of address space per slot, not memory); 0 = map fresh "
        "memory for every call", 128, _between(0, 4096))
    output_limit: int = _env(
        "OUTPUT_LIMIT", "largest output a call may set, bytes (truncated beyond)",
        4 * MiB, _positive(int))
    stdout_limit: int = _env(
        "STDOUT_LIMIT", "captured stdout (and stderr) per call, bytes (truncated beyond)",
        4 * MiB, _positive(int))
    result_retention: int = _env(
        "RESULT_RETENTION", "how long results and call records stay pollable, seconds",
        24 * 3600, _positive(int))
    flush_timeout: float = _env(
        "FLUSH_TIMEOUT", "how long a flush (or a list of hosts) waits for workers to "
        "answer, seconds; it ends once every worker that announced itself has",
        3.0, _positive(float))
    conf_flags: frozenset = _env(
        "CONF_FLAGS", "comma-separated platform flags that __faasm_conf_flag reports on",
        frozenset(), shown="''",
        parse=lambda raw: frozenset(f.strip() for f in raw.split(",") if f.strip()))
    auth: bool = _env(
        "AUTH", "per-user bearer tokens (docs/AUTH.md): `on` makes every request but /ping, "
        "/openapi.json and OPTIONS need a token, and keeps each user to their own namespace",
        False, _bool)
    admin_token: str = _env(
        "ADMIN_TOKEN", "with FAASM_AUTH on: a token that acts for every user and alone may "
        "flush and use the internal /storage routes (32+ characters); empty = no admin",
        "", _strong_secret, secret=True)
    max_python_bytes: int = _env(
        "MAX_PYTHON_BYTES", "largest Python function source accepted at upload, bytes "
        "(413 beyond; parsing costs ~250 bytes of memory and ~4 µs per byte)",
        MAX_PYTHON_BYTES, _positive(int))
    python_parse_memory: int = _env(
        "PYTHON_PARSE_MEMORY", "memory the upload API may spend parsing one Python source "
        "over 64 KiB, bytes (done in a child process; the upload is refused beyond)",
        PYTHON_PARSE_MEMORY, _positive(int))
    python_parse_timeout: float = _env(
        "PYTHON_PARSE_TIMEOUT", "time the upload API may spend parsing one Python source, "
        "seconds (the upload is refused beyond)", PYTHON_PARSE_TIMEOUT, _positive(float))
    shared_file_quota: int = _env(
        "SHARED_FILE_QUOTA", "bytes of shared files each user may keep (the files under "
        "`<user>/`; with auth off, under each top-level directory, top-level files counting "
        "together); a write past it is refused (413), a call that passes it fails",
        SHARED_FILE_QUOTA, _positive(int))
    state_max_value: int = _env(
        "STATE_MAX_VALUE", "largest state value, bytes (a write or size past it is refused: "
        "413 from the API, a failed call from a function)", STATE_MAX_VALUE, _positive(int))
    state_user_limit: int = _env(
        "STATE_USER_LIMIT", "bytes of state each user may keep in Redis, values and appended "
        "elements together (a write past it is refused like one past FAASM_STATE_MAX_VALUE)",
        STATE_USER_LIMIT, _positive(int))
    compile_timeout: float = _env(
        "COMPILE_TIMEOUT", "time the upload API may spend compiling one wasm module, seconds "
        "(done in a child process; the upload is refused beyond: 413)", COMPILE_TIMEOUT,
        _positive(float))
    compile_memory: int = _env(
        "COMPILE_MEMORY", "memory the upload API may spend compiling one wasm module, bytes "
        "(the upload is refused beyond: 413)", COMPILE_MEMORY, _positive(int))
    scratch_quota: int = _env(
        "SCRATCH_QUOTA", "bytes a call may write to its own scratch filesystem (its working "
        "directory `/`, `/tmp`, `$HOME`; removed when the call ends); past it the call fails",
        SCRATCH_QUOTA, _positive(int))
    python_packages: str = _env(
        "PYTHON_PACKAGES", "a host directory of pure-Python packages that Python functions "
        "may import, seen read-only at /lib/python3.X/site-packages; empty = Faasm's "
        "packages (deploy/python-packages.txt, installed by the set-up step into <python "
        "cache>/packages); `none` = no packages", "")
    chain_max_depth: int = _env(
        "CHAIN_MAX_DEPTH", "how deep a chain of calls may go below the request's first call "
        "(a call chained past it fails, and the first call's status says so; awaited calls "
        "run inline nest this deep)", 32, _between(1, 64))
    chain_max_fanout: int = _env(
        "CHAIN_MAX_FANOUT", "calls one call may chain", 1000, _positive(int))
    chain_max_calls: int = _env(
        "CHAIN_MAX_CALLS", "calls one request may start in all, chained at any depth",
        10_000, _positive(int))
    artifact_key: str = _env(
        "ARTIFACT_KEY", "secret that signs precompiled machine code (docs/SECURITY.md); "
        "give every host the same one (32+ characters) so workers load what the upload API "
        "compiled; empty = a random key per host in <data dir>/keys (each host then "
        "compiles once for itself)", "", _strong_secret, secret=True)
    token: str = _env(
        "TOKEN", "bearer token the `faasm` CLI and the Python client send (`--token` "
        "overrides it); not read by the platform", "", secret=True)
    worker_wait: float = _env(
        "WORKER_WAIT", "seconds a sync call waits for some worker to consume the sync queue "
        "before it fails with 503 (no worker is running); 0 = fail at once",
        10.0, float)
    metrics: bool = _env(
        "METRICS", "serve Prometheus metrics at GET /metrics on both APIs", True, _bool)
    tracing: bool = _env(
        "TRACING", "trace calls from HTTP to worker with OpenTelemetry (Falcon and Celery "
        "instrumentation; needs the opentelemetry packages; exporter from the standard "
        "OTEL_* variables, console by default)", False, _bool)
    debug: bool = _env("DEBUG", "log at debug level", False, _bool)

    @property
    def broker(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def result_backend(self) -> str:
        return self.result_backend_url or self.redis_url

    @property
    def visibility_timeout(self) -> int:
        return self.broker_visibility_timeout or int(self.max_call_timeout) + 60

    @property
    def storage(self) -> str:
        return self.storage_url or str(self.data_dir / "storage")

    @property
    def call_id_floor(self) -> Path | None:
        if self.call_id_floor_path == "off":
            return None
        return Path(self.call_id_floor_path) if self.call_id_floor_path else (
            self.data_dir / "call-id-floor")

    @property
    def python_cache(self) -> Path:
        return Path(self.python_cache_path) if self.python_cache_path else (
            self.data_dir / "python-cache")

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings()


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting: the documented table."""
    return [(f.metadata["env"], f.metadata["default"], f.metadata["help"])
            for f in dataclasses.fields(Settings)]


#: Settings whose empty value means another's: the property giving the value in effect.
_IN_EFFECT = {"broker_url": "broker", "result_backend_url": "result_backend",
              "broker_visibility_timeout": "visibility_timeout", "storage_url": "storage",
              "python_cache_path": "python_cache"}


def in_force(settings: Settings | None = None) -> list[dict]:
    """Every setting as this process has it: variable, value, and whether it came from
    the environment or is the default. Secrets show only whether they are set."""
    settings = settings or get_settings()
    rows = []
    for f in dataclasses.fields(Settings):
        env = f.metadata["env"]
        value = getattr(settings, f.name)
        if f.name in _IN_EFFECT:  # empty means "derived": show what is in effect
            value = getattr(settings, _IN_EFFECT[f.name])
        if not f.repr:  # a secret
            value = "<set>" if value else ""
        rows.append({"variable": env, "value": str(value),
                     "source": "environment" if os.environ.get(env) else "default"})
    return rows


def _main(argv: list[str]) -> int:
    if argv[:1] == ["--defaults"]:  # the documented table (README "Settings")
        for env, default, meaning in describe():
            print(f"| `{env}` | `{default}` | {meaning} |")
        return 0
    if argv:
        print("usage: python -m faasm.settings [--defaults]\n  the settings in force here "
              "(--defaults: every setting's default and meaning, as a Markdown table)")
        return 2
    try:
        rows = in_force()
    except ValueError as exc:
        print(f"faasm.settings: {exc}")
        return 2
    width = max(len(row["variable"]) for row in rows)
    for row in rows:
        mark = "" if row["source"] == "default" else "  (from the environment)"
        print(f"{row['variable']:<{width}}  {row['value']}{mark}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
