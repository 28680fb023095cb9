"""The SDK's allocator (sdk/lib/malloc.c): freed memory is reused as Faasm's
dlmalloc reuses it, which faasm/faasm's and faasm/cpp's `malloc` demos check,
and it stays a correct allocator under churn (tests/functions/allocator.c).
Built with the SDK toolchain, run in the wasm runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasm.calls import Call
from faasm.runtime.compile import upload_wasm
from faasm.runtime.executor import WasmRuntime
from faasm.settings import MiB, Settings
from faasm.storage import open_storage
from faasm_client.toolchain import BuildError, build

pytestmark = pytest.mark.slow

FUNCTIONS = Path(__file__).parent.parent / "functions"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("allocator")
    storage = open_storage(str(tmp / "storage"))
    upload_wasm(storage, "alice", "allocator",
                build([FUNCTIONS / "allocator.c"], tmp / "allocator.wasm").read_bytes(),
                epoch=True)
    settings = Settings().replace(data_dir=tmp / "data", memory_limit=256 * MiB,
                                  timeout_mode="epoch")
    runtime = WasmRuntime(settings, storage)
    ids = iter(range(1, 10_000))

    def call(mode: str) -> bytes:
        return runtime.execute(Call(id=next(ids), user="alice", function="allocator",
                                    input=mode.encode())).output

    return call


def test_small_blocks_freed_are_reused_at_the_first_address(run):
    assert run("reuse") == b"reused=1"


def test_a_big_block_freed_is_reused(run):
    assert run("big") == b"reused=1"


def test_contents_survive_allocation_churn(run):
    assert run("churn") == b"bad=0"


def test_aligned_allocations(run):
    assert run("aligned") == b"bad=0"


def test_a_function_with_its_own_allocator_builds_with_the_opt_out(tmp_path):
    source = tmp_path / "own_malloc.c"
    source.write_text(
        "#include <stddef.h>\n"
        "static char heap[1 << 16]; static size_t used;\n"
        "void* malloc(size_t n) { void* p = heap + used; used += (n + 15) & ~15u; return p; }\n"
        "void free(void* p) { (void)p; }\n"
        "int main(void) { return malloc(1) == NULL; }\n")
    with pytest.raises(BuildError, match="FAASM_LIBC_MALLOC"):
        build([source], tmp_path / "own.wasm")
    assert build([source], tmp_path / "own.wasm", extra=["-DFAASM_LIBC_MALLOC"]).exists()
