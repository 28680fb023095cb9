"""Compiling an uploaded module within a budget, in a child process.

Compiling costs far more than the module's size: a 7.5 MB module took
9.7 s and 772 MB in the upload API. The upload API therefore never
compiles itself (and never loads wasmtime): it runs ``python -m
faasm.runtime.compile``, which caps its own data segment at the memory
budget, reads the wasm on stdin, and writes one JSON line (the engine key,
or the error) followed by the serialized machine code. The parent kills it
at the time budget. Either budget passed is a 413 with the reason; a module
wasmtime refuses is a 400 with wasmtime's first line.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

from faasm.errors import BadRequest, TooLarge
from faasm.functions import artifact_key, check_wasm_header, content_hash, wasm_key
from faasm.runtime.wasmbin import export_function_table
from faasm.settings import PROJECT_ROOT, get_settings
from faasm.storage import Storage
from faasm.storage.artifacts import Artifacts, host_secret

#: Headroom over the budget for what the interpreter and wasmtime map before compiling.
_START_BYTES = 256 * 1024 * 1024


def default_artifacts(storage: Storage) -> Artifacts:
    """The signed artifacts of ``storage``, with the key the process's settings name."""
    settings = get_settings()
    return Artifacts(storage, host_secret(settings.data_dir, settings.artifact_key))


def upload_wasm(storage: Storage, user: str, function: str, data: bytes,
                epoch: bool | None = None, artifacts: Artifacts | None = None,
                budget: tuple[float, int] | None = None) -> str:
    """Validate, precompile and store a function; returns its content hash.

    A module that does not export its function table is stored with it
    exported (:mod:`faasm.runtime.wasmbin`), so it can be chained by pointer.
    The module is compiled in a child process within ``budget`` (seconds,
    bytes; default: the settings' FAASM_COMPILE_TIMEOUT and _MEMORY), so
    this never loads wasmtime in the calling process. The artifact (signed
    with ``artifacts``' key; default: the settings') is written before the
    wasm, so a worker that sees the new wasm always finds its machine code
    ready.
    """
    key = wasm_key(user, function)  # validates the names first
    check_wasm_header(data)
    try:
        data = export_function_table(data)
    except ValueError as exc:
        raise BadRequest(f"Invalid wasm: {exc}") from None
    if budget is None:
        settings = get_settings()
        budget = settings.compile_timeout, settings.compile_memory
    engine, code = precompile(data, epoch, *budget)
    digest = content_hash(data)
    artifacts = artifacts or default_artifacts(storage)
    artifacts.put(artifact_key(digest, engine), code)
    storage.write(key, data)
    return digest


def precompile(data: bytes, epoch: bool | None, timeout: float, memory: int) -> tuple[str, bytes]:
    """``(engine key, serialized machine code)`` of ``data``, compiled in a child
    within ``timeout`` seconds and ``memory`` bytes of data."""
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", ""))
                           if p)
    env = dict(os.environ, PYTHONPATH=path)
    args = [sys.executable, "-m", "faasm.runtime.compile", str(memory),
            {None: "default", True: "epoch", False: "kill"}[epoch]]
    try:
        done = subprocess.run(args, input=data, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise TooLarge(f"Module too costly: compiling it took over {timeout:g} s "
                       "(FAASM_COMPILE_TIMEOUT)") from None
    header, _, code = done.stdout.partition(b"\n")
    try:
        answer = json.loads(header)
    except ValueError:
        answer = {}
    if done.returncode == 0 and "engine_key" in answer:
        return answer["engine_key"], code
    if answer.get("error") == "invalid":
        raise BadRequest(answer["reason"])
    raise TooLarge(f"Module too costly: compiling it needs over {memory} bytes of memory "
                   "(FAASM_COMPILE_MEMORY)")


def _main(memory: int, mode: str) -> int:
    limit = memory + _START_BYTES
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    from faasm.runtime.engine import engine_key, get_engine
    from faasm.runtime.modules import compile_module

    epoch = get_settings().timeout_mode == "epoch" if mode == "default" else mode == "epoch"
    data = sys.stdin.buffer.read()
    try:
        # No pool of reserved memory: the child compiles, never instantiates.
        module = compile_module(get_engine(epoch, slots=0), data)
    except BadRequest as exc:
        print(json.dumps({"error": "invalid", "reason": str(exc)}), flush=True)
        return 1
    code = bytes(module.serialize())
    sys.stdout.buffer.write(json.dumps({"engine_key": engine_key(epoch)}).encode() + b"\n")
    sys.stdout.buffer.write(code)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main(int(sys.argv[1]), sys.argv[2]))
