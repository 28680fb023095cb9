"""A function of tests/functions built with the SDK toolchain (``faasm build``) and run
in a wasm runtime of the test's own, called with its input as a mode string."""

from __future__ import annotations

from pathlib import Path

from faasm.calls import Call
from faasm.runtime.compile import upload_wasm
from faasm.runtime.executor import WasmRuntime
from faasm.settings import MiB, Settings
from faasm.storage import open_storage
from faasm_client.toolchain import build

FUNCTIONS = Path(__file__).parent / "functions"


def runner(tmp: Path, source: str, *, memory_limit: int = 64 * MiB, services=None,
           storage=None):
    """``call(mode) -> output`` of ``tests/functions/<source>``, uploaded as alice's; the
    storage it is kept in is ``call.storage``."""
    name = Path(source).stem
    storage = storage or open_storage(str(tmp / "storage"))
    upload_wasm(storage, "alice", name,
                build([FUNCTIONS / source], tmp / f"{name}.wasm").read_bytes(), epoch=True)
    settings = Settings().replace(data_dir=tmp / "data", memory_limit=memory_limit,
                                  timeout_mode="epoch")
    runtime = WasmRuntime(settings, storage, *([services] if services is not None else []))
    ids = iter(range(1, 10_000))

    def call(mode: str) -> bytes:
        return runtime.execute(Call(id=next(ids), user="alice", function=name,
                                    input=mode.encode())).output

    call.storage = storage
    return call
