"""Compiling an upload within FAASM_COMPILE_TIMEOUT and FAASM_COMPILE_MEMORY, in a child."""

import subprocess
import sys

import pytest

from deploy.processes import ROOT
from faasm.errors import BadRequest, TooLarge
from faasm.functions import artifact_key, content_hash
from faasm.runtime.compile import precompile, upload_wasm
from faasm.runtime.engine import engine_key
from faasm.settings import GiB, MiB
from faasm.storage import open_storage
from tests import wat


def many_functions(n: int) -> bytes:
    """A module of ``n`` small functions: compiling it costs ~50 µs and ~1 KB each."""
    return wat.module("".join(
        f"(func $f{i} (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))\n"
        for i in range(n)))


@pytest.fixture(scope="module")
def big():
    return many_functions(200_000)  # 4 MB: ~10 s and over 300 MB to compile


def test_a_module_within_the_budget_is_compiled_and_stored(tmp_path):
    storage = open_storage(str(tmp_path))
    upload_wasm(storage, "t", "f", wat.HELLO, epoch=True, budget=(60, 256 * MiB))
    assert storage.exists(artifact_key(content_hash(wat.HELLO), engine_key(True)))
    assert storage.read("functions/t/f/function.wasm") == wat.HELLO


def test_past_the_time_budget_the_upload_is_refused_and_nothing_stored(tmp_path, big):
    storage = open_storage(str(tmp_path))
    with pytest.raises(TooLarge, match=r"compiling it took over 1 s \(FAASM_COMPILE_TIMEOUT\)"):
        upload_wasm(storage, "t", "f", big, epoch=True, budget=(1, 2 * GiB))
    assert not storage.exists("functions/t/f/function.wasm")


def test_past_the_memory_budget_the_upload_is_refused(big):
    with pytest.raises(TooLarge, match=r"needs over 67108864 bytes of memory "
                                       r"\(FAASM_COMPILE_MEMORY\)"):
        precompile(big, True, 120, 64 * MiB)


def test_an_invalid_module_is_a_400_with_wasmtimes_reason():
    with pytest.raises(BadRequest, match="Invalid wasm"):
        precompile(b"\x00asm\x01\x00\x00\x00\xff", True, 60, GiB)


def test_the_upload_api_never_loads_wasmtime(tmp_path):
    """Compiling happens in a child: the upload API process, having taken a wasm
    upload, holds no wasmtime (and so no pool of reserved instance memory)."""
    (tmp_path / "f.wasm").write_bytes(wat.HELLO)
    probe = f"""
import sys
from falcon import testing
from api.upload import get_app
from pathlib import Path
from faasm.settings import Settings
settings = Settings().replace(data_dir=Path({str(tmp_path)!r}),
                              redis_url="redis://127.0.0.1:1/0")
wasm = Path({str(tmp_path / "f.wasm")!r}).read_bytes()
r = testing.TestClient(get_app(settings)).simulate_put("/f/t/f", body=wasm)
assert r.status_code == 200, r.text
print(any(name.startswith("wasmtime") for name in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
