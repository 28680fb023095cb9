"""The SDK's allocator (sdk/lib/malloc.c): freed memory is reused as Faasm's
dlmalloc reuses it, which faasm/faasm's and faasm/cpp's `malloc` demos check,
and it stays a correct allocator under churn (tests/functions/allocator.c).
Built with the SDK toolchain, run in the wasm runtime."""

from __future__ import annotations

import pytest

from faasm.settings import MiB
from faasm_client.toolchain import BuildError, build
from tests.sdkfunctions import runner

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return runner(tmp_path_factory.mktemp("allocator"), "allocator.c", memory_limit=256 * MiB)


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
