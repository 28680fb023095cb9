"""The wasm runtime on its own: modules written in WAT, no Redis, no Celery."""

import pytest

from faasm.calls import Call
from faasm.errors import BadRequest, CallFailed, CallTimedOut, LimitExceeded, NotFound
from faasm.functions import artifact_key, content_hash
from faasm.runtime.compile import upload_wasm
from faasm.runtime.engine import engine_key
from faasm.runtime.executor import WasmRuntime
from faasm.settings import MiB, Settings
from faasm.storage import open_storage
from tests import wat


@pytest.fixture
def storage(tmp_path):
    return open_storage(str(tmp_path))


@pytest.fixture
def runtime(storage):
    # Epoch mode: in-process calls have no pool process to kill at their timeout.
    settings = Settings().replace(memory_limit=64 * MiB, stdout_limit=1000, output_limit=1000,
                                  conf_flags=frozenset({"fast"}), timeout_mode="epoch")
    return WasmRuntime(settings, storage)


def run(runtime, storage, wasm, input=b"", **call):
    upload_wasm(storage, "t", "f", wasm, epoch=True)
    return runtime.execute(Call(id=1, user="t", function="f", input=input, **call))


def test_output_and_stdout(runtime, storage):
    result = run(runtime, storage, wat.HELLO, b"abc")
    assert result.output == b"out:abc"
    assert result.stdout == b"hello from wasm\n"


def test_each_call_gets_fresh_stdout(runtime, storage):
    run(runtime, storage, wat.HELLO)
    assert runtime.execute(Call(id=2, user="t", function="f")).stdout == b"hello from wasm\n"


def test_upload_stores_precompiled_artifact(storage):
    upload_wasm(storage, "t", "f", wat.ECHO, epoch=True)
    assert storage.exists(artifact_key(content_hash(wat.ECHO), engine_key(True)))
    assert not storage.exists(artifact_key(content_hash(wat.ECHO), engine_key(False)))


@pytest.mark.parametrize("data, reason", [
    (b"not wasm at all", "magic number"),
    (wat.HELLO[:-10], "Invalid wasm"),
    (b"\x00asm\x01\x00\x00\x00\xff", "Invalid wasm"),
])
def test_upload_rejects_bad_wasm(storage, data, reason):
    with pytest.raises(BadRequest, match=reason):
        upload_wasm(storage, "t", "f", data, epoch=True)
    assert not storage.exists("functions/t/f/function.wasm")


def test_nonzero_exit(runtime, storage):
    with pytest.raises(CallFailed, match="exited with code 3"):
        run(runtime, storage, wat.EXIT_3)


def test_trap(runtime, storage):
    with pytest.raises(CallFailed, match="trapped.*unreachable"):
        run(runtime, storage, wat.TRAP)


def test_timeout(runtime, storage):
    with pytest.raises(CallTimedOut, match="0.2 s timeout"):
        run(runtime, storage, wat.LOOP, timeout=0.2)


def test_memory_limit(runtime, storage):
    with pytest.raises(LimitExceeded, match="memory limit"):
        run(runtime, storage, wat.GROW)


def test_out_of_bounds_pointer(runtime, storage):
    with pytest.raises(CallFailed, match="__faasm_write_output.*outside guest memory"):
        run(runtime, storage, wat.BAD_POINTER)


def test_stdout_is_bounded(runtime, storage):
    result = run(runtime, storage, wat.FLOOD)
    assert result.stdout.startswith(b"\x00" * 1000)
    assert result.stdout.endswith(b"[truncated: 1000 byte limit]\n")


def test_output_is_bounded(runtime, storage):
    result = run(runtime, storage, wat.ECHO, b"x" * 5000)
    assert result.output == b"x" * 1000 + b"\n[truncated: 1000 byte limit]\n"


def test_entry_index(runtime, storage):
    assert run(runtime, storage, wat.IDX).output == b"0"
    assert run(runtime, storage, wat.IDX, idx=1).output == b"1"
    with pytest.raises(CallFailed, match="no entry point _faasm_func_2"):
        run(runtime, storage, wat.IDX, idx=2)


def test_conf_flag(runtime, storage):
    assert run(runtime, storage, wat.CONF_FLAG, b"fast").output == b"1"
    assert run(runtime, storage, wat.CONF_FLAG, b"slow").output == b"0"


def test_unknown_imports_are_named(runtime, storage):
    with pytest.raises(CallFailed, match="env.no_such_function, other.thing"):
        run(runtime, storage, wat.UNKNOWN_IMPORT)


def test_reupload_runs_new_code(runtime, storage):
    assert run(runtime, storage, wat.IDX).output == b"0"
    assert run(runtime, storage, wat.HELLO, b"x").output == b"out:x"


def test_missing_function(runtime):
    with pytest.raises(NotFound):
        runtime.execute(Call(id=1, user="t", function="missing"))


def test_runtime_survives_failures(runtime, storage):
    for bad in (wat.TRAP, wat.BAD_POINTER, wat.EXIT_3):
        with pytest.raises(CallFailed):
            run(runtime, storage, bad)
        assert run(runtime, storage, wat.HELLO, b"ok").output == b"out:ok"


def test_stdout_of_modules_that_open_files(runtime, storage):
    result = run(runtime, storage, wat.HELLO_WITH_FILES)
    assert (result.output, result.stdout) == (b"hello", b"hello from wasm\n")
    assert run(runtime, storage, wat.HELLO_WITH_FILES).stdout == b"hello from wasm\n"


def test_stdout_flood_of_modules_that_open_files_is_bounded(runtime, storage):
    result = run(runtime, storage, wat.FLOOD_WITH_FILES)
    assert result.stdout == b"\x00" * 1000 + b"\n[truncated: 1000 byte limit]\n"


_POOL_SCRIPT = '''
import sys, wasmtime
from faasm.calls import Call
from faasm.errors import CallFailed
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.compile import upload_wasm
from faasm.settings import Settings
from faasm.storage import open_storage
from tests import wat
storage = open_storage(sys.argv[1])
upload_wasm(storage, "t", "f", wat.HELLO)
runtime = WasmRuntime(Settings(), storage)
for i in range(50):  # slots are reused call after call
    assert runtime.execute(Call(id=i, user="t", function="f")).output == b"out:"
held = [wasmtime.Store(runtime.engine) for _ in range(2)]
loaded = runtime.modules.get("t", "f")
live = [loaded.instance_pre.instantiate(store) for store in held]
try:
    runtime.execute(Call(id=99, user="t", function="f"))
except CallFailed as exc:
    print(exc.reason)
del live, held
print(runtime.execute(Call(id=100, user="t", function="f")).output.decode())
'''


def test_instance_pool_slots_are_reused_and_a_full_pool_fails_the_call(tmp_path):
    import os
    import subprocess
    import sys

    from deploy.processes import ROOT

    env = dict(os.environ, FAASM_INSTANCE_SLOTS="2", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _POOL_SCRIPT, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Call could not start: all 2 wasm instance slots of this worker process are in use "
        "(calls chained and run inline nest, one slot each; FAASM_INSTANCE_SLOTS sets how many)",
        "out:"]


def test_exports_are_found_by_name(storage):
    import wasmtime

    from faasm.runtime.capi import Exports

    upload_wasm(storage, "t", "f", wat.HELLO)
    runtime = WasmRuntime(Settings(), storage)
    store = wasmtime.Store(runtime.engine)
    store.set_wasi(wasmtime.WasiConfig())
    exports = Exports(store, runtime.modules.get("t", "f").instance_pre.instantiate(store))
    assert isinstance(exports["_start"], wasmtime.Func)
    assert isinstance(exports.get("memory"), wasmtime.Memory)
    assert exports.get("malloc") is None and exports.get("malloc", 0) == 0
    with pytest.raises(KeyError):
        exports["malloc"]


def test_modules_with_large_and_several_tables_fit_the_instance_pool(storage):
    # wasmtime's pool defaults (one table of 20,000 elements) would refuse this module.
    runtime = WasmRuntime(Settings(), storage)
    upload_wasm(storage, "t", "tables", wat.module('''
 (table 30000 funcref) (table $b 10 funcref)
 (func (export "_start")
   (if (i32.eq (table.grow $b (ref.null func) (i32.const 100000)) (i32.const -1))
     (then unreachable)))'''))
    assert runtime.execute(Call(id=1, user="t", function="tables")).output == b""


_CAPPED_SCRIPT = '''
import logging, sys
logging.basicConfig(level=logging.WARNING)
from faasm.calls import Call
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.compile import upload_wasm
from faasm.settings import Settings
from faasm.storage import open_storage
from tests import wat
storage = open_storage(sys.argv[1])
upload_wasm(storage, "t", "f", wat.HELLO)
print(WasmRuntime(Settings(), storage).execute(Call(id=1, user="t", function="f")).output)
'''


def test_a_capped_address_space_runs_calls_without_the_pool(tmp_path):
    import os
    import resource
    import subprocess
    import sys

    from deploy.processes import ROOT

    def cap():  # far below the 128-slot pool's ~570 GB, enough for wasmtime without it
        resource.setrlimit(resource.RLIMIT_AS, (20 << 30, 20 << 30))

    env = dict(os.environ, FAASM_INSTANCE_SLOTS="128", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _CAPPED_SCRIPT, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=60, preexec_fn=cap)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "b'out:'"
    assert "Address space is capped" in done.stderr
