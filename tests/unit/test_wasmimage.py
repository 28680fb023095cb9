"""Memory images written back into wasm: the split code and image modules, and a module
rewritten to start where a captured instance was."""

import wasmtime

from faasm.runtime.wasmimage import (
    IMAGE_MODULE,
    image_module,
    initial_memory,
    preinitialised,
    split_code,
)

MODULE = wasmtime.wat2wasm('''(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 100))
  (global $k i32 (i32.const 7))
  (data (i32.const 16) "hello")
  (func (export "read") (result i32)
    (i32.add (i32.load8_u (i32.const 16)) (i32.add (global.get $g) (global.get $k))))
  (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.store8 (i32.const 16) (i32.const 0x7a))))''')


def run(instance, store, name):
    return instance.exports(store)[name](store)


def split_instance(engine, store, memory, globals_):
    image = wasmtime.Instance(store, wasmtime.Module(engine, image_module(memory, globals_)),
                              [])
    code = wasmtime.Module(engine, split_code(MODULE))
    provided = image.exports(store)
    assert {i.module for i in code.imports} == {IMAGE_MODULE}
    return wasmtime.Instance(store, code, [provided[i.name] for i in code.imports]), provided


def test_split_code_runs_as_the_original_from_its_initial_image():
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    original = wasmtime.Instance(store, wasmtime.Module(engine, MODULE), [])
    memory, globals_ = initial_memory(MODULE)
    split, _ = split_instance(engine, store, memory, globals_)
    assert run(split, store, "read") == run(original, store, "read") == ord("h") + 107


def test_a_captured_instance_is_where_each_new_one_starts():
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    memory, globals_ = initial_memory(MODULE)
    first, provided = split_instance(engine, store, memory, globals_)
    run(first, store, "bump")
    captured = provided["memory"].read(store, 0, provided["memory"].data_len(store))
    values = [(0x7F, True, provided["g0"].value(store)), (0x7F, False, 7)]
    for _ in range(2):  # each fresh instance of the image starts from the capture
        again, _ = split_instance(engine, store, captured, values)
        assert run(again, store, "read") == 0x7A + 108
        run(again, store, "bump")
    whole = wasmtime.Module(engine, preinitialised(MODULE, captured, [101, None]))
    rewritten = wasmtime.Instance(store, whole, [])
    assert run(rewritten, store, "read") == 0x7A + 108
    kept_globals = wasmtime.Instance(store, wasmtime.Module(engine, preinitialised(
        MODULE, captured)), [])
    assert run(kept_globals, store, "read") == 0x7A + 107  # memory only
