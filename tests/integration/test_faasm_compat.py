"""Functions from Faasm's toolchains run unchanged: older chaining, tables not exported."""

from pathlib import Path

import pytest
import requests
import wasmtime

from faasm_client.toolchain import build

FUNCTIONS = Path(__file__).parent.parent / "functions"

#: A module as Faasm's own toolchain links it: a function table, not exported.
#: Main chains table entry 1 by pointer, awaits it, and answers with the child's
#: output (newer __faasm_await_call_output form, no malloc: the host grows memory).
CHAIN_BY_POINTER = wasmtime.wat2wasm('''(module
  (import "env" "__faasm_chain_ptr" (func $chain (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_await_call_output" (func $await (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $out (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "from pointer")
  (table 2 funcref)
  (elem (i32.const 1) $child)
  (func $child (result i32) (call $out (i32.const 16) (i32.const 12)) (i32.const 0))
  (func (export "_start")
    (if (call $await (call $chain (i32.const 1) (i32.const 0) (i32.const 0))
                     (i32.const 0) (i32.const 4))
        (then unreachable))
    (call $out (i32.load (i32.const 0)) (i32.load (i32.const 4)))))''')


def call(platform, function, input_data="", **extra):
    body = {"user": "compat", "function": function, "input_data": input_data, **extra}
    return requests.post(platform.invoke_url, json=body, timeout=120)


def upload(platform, function, wasm):
    r = requests.put(f"{platform.upload_url}/f/compat/{function}", data=wasm)
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def older(tmp_path_factory):
    out = tmp_path_factory.mktemp("older")
    return build([FUNCTIONS / "older_generation.c"], out / "older.wasm").read_bytes()


def test_older_generation_dispatch_and_await_output_buffer(platform, older):
    exports = {e.name for e in wasmtime.Module(wasmtime.Engine(), older).exports}
    assert not any(name.startswith("_faasm_func_") for name in exports)
    upload(platform, "older", older)
    r = call(platform, "older", "shouting")
    assert r.status_code == 200, r.text
    # Entry 1 ran through main's own dispatch; its output came back through the
    # buffer form, truncated to the 8-byte buffer.
    assert r.content.startswith(b"main got SHOUTING (0)")
    r = call(platform, "older", "a much longer input")
    assert r.content.startswith(b"main got A MUCH L (0)")


def test_chain_by_pointer_into_a_table_exported_at_upload(platform):
    module = wasmtime.Module(wasmtime.Engine(), CHAIN_BY_POINTER)
    assert not [e for e in module.exports if isinstance(e.type, wasmtime.TableType)]
    upload(platform, "by_pointer", CHAIN_BY_POINTER)
    stored = requests.get(f"{platform.upload_url}/f/compat/by_pointer").content
    stored_exports = {e.name for e in wasmtime.Module(wasmtime.Engine(), stored).exports}
    assert "__indirect_function_table" in stored_exports
    r = call(platform, "by_pointer")
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"from pointer")


@pytest.mark.parametrize("cxx", [False, True], ids=["c", "cpp"])
def test_older_c_api_builds_and_runs(platform, tmp_path, cxx):
    wasm = build([FUNCTIONS / "older_api.c"], tmp_path / "older_api.wasm", cxx=cxx)
    upload(platform, "older_api", wasm.read_bytes())
    r = call(platform, "older_api")
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"aXYd Yd ad 0 246")
