"""Guest code that misuses the host: each failure is the call's alone."""

import time

import pytest
import redis
import wasmtime

from faasm.calls import Call
from faasm.errors import CallFailed
from faasm.files import CallFiles
from faasm.runtime.compile import upload_wasm
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.host import HOST_FUNCTIONS, WASI
from faasm.runtime.services import Services
from faasm.settings import MiB, Settings
from faasm.state import GlobalState
from faasm.storage import open_storage
from tests import wat

BAD = 0xFFFFFFF0  # an address past the end of any 32-bit guest's memory


@pytest.fixture
def storage(tmp_path):
    return open_storage(str(tmp_path))


@pytest.fixture
def runtime(storage, redis_url):
    settings = Settings().replace(memory_limit=64 * MiB, timeout_mode="epoch",
                                  key_prefix="hostile")
    services = Services(state=GlobalState(redis.Redis.from_url(redis_url), "hostile"),
                        files=CallFiles(storage))
    return WasmRuntime(settings, storage, services)


def run(runtime, storage, wasm, **call):
    upload_wasm(storage, "t", "f", wasm, epoch=True)
    return runtime.execute(Call(id=1, user="t", function="f", **call))


def calling(name: str, params: tuple, results: tuple, args: list[int]) -> bytes:
    sig = "".join(f" (param {p})" for p in params) + "".join(f" (result {r})" for r in results)
    call = f"(call $h {' '.join(f'(i32.const {a})' for a in args)})"
    if results:
        call = f"(drop {call})"
    return wasmtime.wat2wasm(f'''(module
      (import "env" "{name}" (func $h{sig}))
      (memory (export "memory") 1)
      (data (i32.const 16) "key\\00")
      (func (export "_start") {call}))''')


#: Host calls whose arguments are all numbers, no pointer into guest memory.
NUMBERS_ONLY = {"__faasm_backtrace", "__faasm_migrate_point"}
POINTER_CALLS = sorted(n for (m, n), fn in HOST_FUNCTIONS.items()
                       if m == "env" and fn.params and "chain" not in n and "await" not in n
                       and n not in NUMBERS_ONLY)


@pytest.mark.parametrize("name", POINTER_CALLS)
def test_out_of_bounds_pointers_fail_only_the_call(runtime, storage, name):
    fn = HOST_FUNCTIONS[("env", name)]
    # Every argument is a huge pointer/length: whichever the call reads, it is out of bounds.
    args = [BAD] * len(fn.params)
    with pytest.raises(CallFailed, match=name):
        run(runtime, storage, calling(name, fn.params, fn.results, args))
    assert run(runtime, storage, wat.HELLO, input=b"ok").output == b"out:ok"


@pytest.mark.parametrize("name", ["__faasm_read_input", "__faasm_write_output",
                                  "__faasm_read_state", "__faasm_write_state",
                                  "__faasm_append_state"])
def test_out_of_bounds_buffers_are_named(runtime, storage, name):
    fn = HOST_FUNCTIONS[("env", name)]
    args = [16] * len(fn.params)  # key pointer is valid ...
    args[-1] = 4096               # ... the length is not small ...
    args[-2] = BAD                # ... and the buffer is out of bounds
    with pytest.raises(CallFailed, match=f"{name}.*outside guest memory"):
        run(runtime, storage, calling(name, fn.params, fn.results, args), input=b"x" * 100)


def test_unterminated_string_fails_cleanly(runtime, storage):
    wasm = wasmtime.wat2wasm('''(module
      (import "env" "__faasm_conf_flag" (func $f (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (memory.fill (i32.const 0) (i32.const 65) (i32.const 65536))
        (drop (call $f (i32.const 65000)))))''')
    with pytest.raises(CallFailed, match="no NUL-terminated string"):
        run(runtime, storage, wasm)


def test_deep_recursion_is_a_stack_overflow(runtime, storage):
    wasm = wasmtime.wat2wasm('''(module (memory (export "memory") 1)
      (func $r (param i32) (result i32) (call $r (i32.add (local.get 0) (i32.const 1))))
      (func (export "_start") (drop (call $r (i32.const 0)))))''')
    with pytest.raises(CallFailed, match="stack overflow"):
        run(runtime, storage, wasm)
    assert run(runtime, storage, wat.HELLO).output == b"out:"


def test_huge_allocation_is_refused(runtime, storage):
    wasm = wasmtime.wat2wasm('''(module (memory (export "memory") 1)
      (func (export "_start")
        (if (i32.ne (memory.grow (i32.const 65535)) (i32.const -1)) (then unreachable))))''')
    run(runtime, storage, wasm)  # the grow is refused (-1) and the guest carries on


def test_infinite_loop_is_stopped(runtime, storage):
    started = time.monotonic()
    with pytest.raises(CallFailed, match="timed out"):
        run(runtime, storage, wat.LOOP, timeout=0.3)
    assert time.monotonic() - started < 3


def test_forged_shared_paths_stay_inside(runtime, storage, tmp_path):
    """path_open of faasm://../.. or an absolute path cannot leave the shared root."""
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    for path in ("../secret.txt", "../../secret.txt", str(secret)):
        data = path.encode() + b"\x00"
        wasm = wasmtime.wat2wasm(f'''(module
          (import "{WASI}" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32)
            (result i32)))
          (import "env" "__faasm_write_output" (func $out (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "{data[:-1].decode()}")
          (func (export "_start")
            ;; fd 3 is the faasm: preopen; store errno as the output byte
            (i32.store8 (i32.const 0)
              (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const {len(path)})
                (i32.const 0) (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 8)))
            (call $out (i32.const 0) (i32.const 1))))''')
        output = run(runtime, storage, wasm).output
        assert output != b"\x00", f"{path} was opened"
