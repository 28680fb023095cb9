"""Upload-time rewrite of modules (function table export) and older-generation entry."""

import pytest
import wasmtime

from faasm.calls import Call
from faasm.errors import BadRequest, CallFailed
from faasm.runtime.compile import upload_wasm
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.wasmbin import TABLE_EXPORT, export_function_table
from faasm.settings import Settings
from faasm.storage import open_storage


def exports(wasm: bytes) -> dict[str, object]:
    return {e.name: e.type for e in wasmtime.Module(wasmtime.Engine(), wasm).exports}


def wat(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


TABLE_NO_EXPORTS = wat('''(module (table 3 funcref) (func $f) (elem (i32.const 1) $f)
  (global i32 (i32.const 5)) (start $f))''')
TABLE_OTHER_EXPORTS = wat('''(module (memory (export "memory") 1) (table 2 funcref)
  (func $f (export "f")) (elem (i32.const 0) $f) (data (i32.const 0) "x"))''')
IMPORTED_TABLE = wat('''(module (import "env" "t" (table 1 funcref))
  (import "env" "g" (global i32)) (import "env" "m" (memory 1))
  (func (export "_start")))''')


@pytest.mark.parametrize("wasm", [TABLE_NO_EXPORTS, TABLE_OTHER_EXPORTS, IMPORTED_TABLE])
def test_table_gets_exported_and_nothing_else_changes(wasm):
    before = exports(wasm)
    rewritten = export_function_table(wasm)
    after = exports(rewritten)
    assert isinstance(after.pop(TABLE_EXPORT), wasmtime.TableType)
    assert after.keys() == before.keys()
    assert export_function_table(rewritten) == rewritten  # idempotent


def test_modules_without_a_table_or_with_one_exported_are_unchanged():
    no_table = wat('(module (func (export "_start")))')
    exported = wat('(module (table (export "tbl") 1 funcref))')
    assert export_function_table(no_table) == no_table
    assert export_function_table(exported) == exported


def test_truncated_module_is_a_bad_request(tmp_path):
    storage = open_storage(str(tmp_path))
    with pytest.raises(BadRequest, match="Invalid wasm"):
        upload_wasm(storage, "u", "f", TABLE_NO_EXPORTS[:-3], epoch=True)


#: An older-generation module: main reads __faasm_get_idx and dispatches; no
#: _faasm_func_<n> exports. Entry n answers "entry <n>"; unknown ones exit 99.
OLDER = wat('''(module
  (import "env" "__faasm_get_idx" (func $idx (result i32)))
  (import "env" "__faasm_write_output" (func $out (param i32 i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "entry 0entry 1")
  (func (export "_start")
    (if (i32.eqz (call $idx)) (then (call $out (i32.const 0) (i32.const 7)) (return)))
    (if (i32.eq (call $idx) (i32.const 1))
        (then (call $out (i32.const 7) (i32.const 7)) (return)))
    (call $exit (i32.const 99))))''')


@pytest.fixture
def run(tmp_path):
    storage = open_storage(str(tmp_path))
    runtime = WasmRuntime(Settings().replace(timeout_mode="epoch"), storage)
    upload_wasm(storage, "u", "older", OLDER, epoch=True)
    return lambda idx: runtime.execute(Call(id=1, user="u", function="older", idx=idx))


def test_older_generation_module_dispatches_from_main(run):
    assert run(0).output == b"entry 0"
    assert run(1).output == b"entry 1"
    with pytest.raises(CallFailed, match="exited with code 99"):
        run(5)


def test_newer_module_without_the_entry_still_fails(tmp_path):
    storage = open_storage(str(tmp_path))
    runtime = WasmRuntime(Settings().replace(timeout_mode="epoch"), storage)
    upload_wasm(storage, "u", "f", wat('''(module (memory (export "memory") 1)
      (func (export "_start")) (func (export "_faasm_func_1") (result i32) (i32.const 0)))'''),
                epoch=True)
    with pytest.raises(CallFailed, match="no entry point _faasm_func_2"):
        runtime.execute(Call(id=1, user="u", function="f", idx=2))
