"""The C/C++ toolchain: examples build into valid modules importing the host ABI.

The first C build on a machine compiles wasi-libc into zig's cache (~30 s),
and the first C++ build libc++ (~35 s more); later builds take well under a
second. The cache lives under the data directory, so CI pays this once.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import wasmtime

from faasm.settings import PROJECT_ROOT
from faasm_client import toolchain
from faasm_client.toolchain import BuildError, build

pytestmark = pytest.mark.slow

EXAMPLES = PROJECT_ROOT / "examples"

#: docs/HOST_INTERFACE.md: each host import's (parameter count, result count); all i32.
HOST_ABI = {
    "__faasm_read_input": (2, 1),
    "__faasm_write_output": (2, 0),
    "__faasm_get_idx": (0, 1),
    "__faasm_conf_flag": (1, 1),
    "__faasm_chain_name": (3, 1),
    "__faasm_chain_function": (3, 1),
    "__faasm_chain_this": (3, 1),
    "__faasm_chain_ptr": (3, 1),
    "__faasm_await_call": (1, 1),
    "__faasm_await_call_output": (3, 1),
    "__faasm_read_state": (3, 1),
    "__faasm_read_state_ptr": (2, 1),
    "__faasm_write_state": (3, 0),
    "__faasm_write_state_offset": (5, 0),
    "__faasm_read_state_offset": (5, 0),
    "__faasm_read_state_offset_ptr": (4, 1),
    "__faasm_flag_state_dirty": (2, 0),
    "__faasm_flag_state_offset_dirty": (4, 0),
    "__faasm_push_state": (1, 0),
    "__faasm_push_state_partial": (1, 0),
    "__faasm_pull_state": (2, 0),
    "__faasm_append_state": (3, 0),
    "__faasm_read_appended_state": (4, 0),
    "__faasm_clear_appended_state": (1, 0),
    "__faasm_write_state_from_file": (2, 1),
    "__faasm_lock_state_global": (1, 0),
    "__faasm_unlock_state_global": (1, 0),
    "__faasm_lock_state_read": (1, 0),
    "__faasm_unlock_state_read": (1, 0),
    "__faasm_lock_state_write": (1, 0),
    "__faasm_unlock_state_write": (1, 0),
    "__faasm_get_py_user": (2, 0),
    "__faasm_get_py_func": (2, 0),
    "__faasm_chain_py": (3, 1),
    "__faasm_get_py_entry": (2, 0),
    "__faasm_push_state_partial_mask": (2, 0),
    "__faasm_backtrace": (1, 0),
    "__faasm_host_interface_test": (1, 0),
    "__faasm_migrate_point": (2, 0),
    "__faasm_sm_array": (3, 0),
    "__faasm_sm_raw": (2, 0),
    "__faasm_sm_reduce": (4, 0),
    "__faasm_sm_var": (2, 0),
    "__faasm_sm_critical_local": (0, 0),
    "__faasm_sm_critical_local_end": (0, 0),
    "__faasm_s3_get_num_buckets": (0, 1),
    "__faasm_s3_list_buckets": (2, 0),
    "__faasm_s3_get_num_keys": (1, 1),
    "__faasm_s3_get_num_keys_with_prefix": (2, 1),
    "__faasm_s3_list_keys": (3, 0),
    "__faasm_s3_list_keys_with_prefix": (4, 0),
    "__faasm_s3_add_key_bytes": (5, 1),
    "__faasm_s3_get_key_bytes": (5, 1),
}

#: Each example and the host calls it should import, no more, no fewer.
EXAMPLE_IMPORTS = {
    "hello.c": {"__faasm_write_output"},
    "echo.c": {"__faasm_read_input", "__faasm_write_output"},
    "state_counter.c": {"__faasm_lock_state_global", "__faasm_unlock_state_global",
                        "__faasm_read_state", "__faasm_write_state",
                        "__faasm_write_output"},
    "state_offset.c": {"__faasm_read_input", "__faasm_write_output", "__faasm_read_state",
                       "__faasm_write_state", "__faasm_write_state_offset",
                       "__faasm_push_state_partial", "__faasm_read_state_offset_ptr",
                       "__faasm_pull_state", "__faasm_read_state_offset"},
    "state_append.c": {"__faasm_read_input", "__faasm_write_output", "__faasm_append_state",
                       "__faasm_read_appended_state", "__faasm_clear_appended_state"},
    "chain_named.c": {"__faasm_read_input", "__faasm_write_output", "__faasm_chain_name",
                      "__faasm_await_call_output"},
    "chain_index.c": {"__faasm_read_input", "__faasm_write_output", "__faasm_get_idx",
                      "__faasm_chain_this", "__faasm_await_call"},
    "chain_output.c": {"__faasm_read_input", "__faasm_write_output", "__faasm_chain_ptr",
                       "__faasm_await_call_output"},
    "fanout.c": {"__faasm_read_input", "__faasm_write_output", "__faasm_chain_this",
                 "__faasm_await_call_output"},
    "chain_recursive.c": {"__faasm_read_input", "__faasm_write_output",
                          "__faasm_chain_this", "__faasm_await_call_output"},
    "shared_file.c": {"__faasm_read_input", "__faasm_write_output"},
    "matmul.c": {"__faasm_read_input", "__faasm_write_output"},
    "hello.cpp": {"__faasm_read_input", "__faasm_write_output"},
}

#: Examples with FAASM_FUNC(name, 1): they export entry 1 as well as 0.
TWO_ENTRIES = {"chain_index.c", "chain_output.c", "fanout.c"}

#: A C source using every call of the API, so every import is declared right.
ALL_CALLS_C = textwrap.dedent("""\
    #include <faasm/faasm.h>
    #include <faasm/shared_mem.h>

    FAASM_FUNC(other, 1) { return faasmGetCurrentIdx(); }

    FAASM_MAIN_FUNC()
    {
        uint8_t buf[16] = {0};
        uint8_t* out = 0;
        long len = 0;
        unsigned int id;
        const char* k = "key";

        len = faasmGetInputSize();
        faasmGetInput(buf, sizeof(buf));
        faasmSetOutput(buf, len);
        if (getConfFlag("flag")) { return 2; }

        id = faasmChainNamed("echo", buf, 1);
        id += faasmChainFunction("echo") + faasmChainFunctionInput("echo", buf, 1);
        id += faasmChainThis(1) + faasmChainThisInput(1, buf, 1);
        id += faasmChain(other, buf, 1) + faasmChainPtr(other, buf, 1);
        id += faasmChainPy("py", buf, 1) + __faasm_chain_function("echo", buf, 1);
        id += faasmAwaitCall(id) + faasmAwaitCallOutput(id, &out, &len);
        id += faasmAwaitCallOutputBuffer(id, buf, sizeof(buf));
        id += faasmChainBatch(other, "x", 2);

        len += faasmReadState(k, buf, sizeof(buf)) + (long)faasmReadStateSize(k);
        out = faasmReadStatePtr(k, 16);
        out = faasmReadStateOffsetPtr(k, 16, 0, 4);
        faasmReadStateOffset(k, 16, 0, buf, 4);
        faasmWriteState(k, buf, 16);
        faasmWriteStateOffset(k, 16, 0, buf, 4);
        len += (long)faasmWriteStateFromFile(k, "faasm://f");
        faasmFlagStateDirty(k, 16);
        faasmFlagStateOffsetDirty(k, 16, 0, 4);
        faasmPushState(k);
        faasmPushStatePartial(k);
        faasmPullState(k, 16);
        faasmAppendState(k, buf, 4);
        faasmReadAppendedState(k, buf, 8, 2);
        faasmClearAppendedState(k);
        faasmLockStateGlobal(k);
        faasmUnlockStateGlobal(k);
        faasmLockStateRead(k);
        faasmUnlockStateRead(k);
        faasmLockStateWrite(k);
        faasmUnlockStateWrite(k);

        faasmPushStatePartialMask(k, "mask");

        char* user = faasmGetPythonUser();
        char* func = faasmGetPythonFunc();
        char* entry = faasmGetPythonEntry();
        free(user);
        free(func);
        free(entry);

        faasmBacktrace(1);
        __faasm_host_interface_test(0);
        __faasm_migrate_point(0, 0);
        FAASM_REDUCE(len, FAASM_TYPE_INT, FAASM_OP_SUM)
        FAASM_CRITICAL_LOCAL(len++)
        __faasm_sm_var(&len, FAASM_TYPE_INT);
        __faasm_sm_raw(&len, 4);
        __faasm_sm_array(&len, FAASM_TYPE_INT, 1);

        char* names[4];
        int lens[4];
        uint8_t* bytes = 0;
        int n_bytes = 0;
        len += __faasm_s3_get_num_buckets() + __faasm_s3_get_num_keys("b")
               + __faasm_s3_get_num_keys_with_prefix("b", "p");
        __faasm_s3_list_buckets(names, lens);
        __faasm_s3_list_keys("b", names, lens);
        __faasm_s3_list_keys_with_prefix("b", "p", names, lens);
        len += __faasm_s3_add_key_bytes("b", "k", buf, 4, true)
               + __faasm_s3_get_key_bytes("b", "k", &bytes, &n_bytes, false);
        return (int)(id + len + out[0]);
    }
    """)


def env_imports(module: wasmtime.Module) -> dict[str, tuple[list[str], list[str]]]:
    """``{name: (param types, result types)}`` of the module's ``env`` imports."""
    found = {}
    for imp in module.imports:
        if imp.module == "wasi_snapshot_preview1":
            continue
        assert imp.module == "env", f"unexpected import module {imp.module}.{imp.name}"
        found[imp.name] = ([str(t) for t in imp.type.params],
                           [str(t) for t in imp.type.results])
    return found


def assert_abi_signatures(imports: dict[str, tuple[list[str], list[str]]]) -> None:
    for name, (params, results) in imports.items():
        assert name in HOST_ABI, f"{name} is not in docs/HOST_INTERFACE.md"
        n_params, n_results = HOST_ABI[name]
        assert (params, results) == (["i32"] * n_params, ["i32"] * n_results), name


def load(path: Path, engine: wasmtime.Engine | None = None) -> wasmtime.Module:
    return wasmtime.Module(engine or wasmtime.Engine(), path.read_bytes())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Every example, built once (the first build fills zig's cache)."""
    out = tmp_path_factory.mktemp("wasm")
    return {name: build([EXAMPLES / name], out / f"{name}.wasm") for name in EXAMPLE_IMPORTS}


@pytest.mark.parametrize("name", sorted(EXAMPLE_IMPORTS))
def test_example_builds_to_valid_module_with_expected_imports(built, name):
    module = load(built[name])
    imports = env_imports(module)
    assert set(imports) == EXAMPLE_IMPORTS[name]
    assert_abi_signatures(imports)

    exports = {e.name: e.type for e in module.exports}
    assert {"memory", "_start", "_faasm_func_0", "__indirect_function_table"} <= set(exports)
    entries = {n for n in exports if n.startswith("_faasm_func_")}
    assert entries == ({"_faasm_func_0", "_faasm_func_1"} if name in TWO_ENTRIES
                       else {"_faasm_func_0"})
    for entry in entries:
        assert [str(t) for t in exports[entry].params] == []
        assert [str(t) for t in exports[entry].results] == ["i32"]


def run_with_io(path: Path, entry: str, input: bytes = b"") -> tuple[object, list[bytes]]:
    """Run one export with stub input/output host calls: (result, outputs set)."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.inherit_stdout()
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    outputs = []

    def read_input(caller, ptr, length):
        caller["memory"].write(caller, input[:length], ptr)
        return len(input)

    def write_output(caller, ptr, length):
        outputs.append(bytes(caller["memory"].read(caller, ptr, ptr + length)))

    i32 = wasmtime.ValType.i32()
    linker.define_func("env", "__faasm_read_input", wasmtime.FuncType([i32, i32], [i32]),
                       read_input, access_caller=True)
    linker.define_func("env", "__faasm_write_output", wasmtime.FuncType([i32, i32], []),
                       write_output, access_caller=True)
    instance = linker.instantiate(store, load(path, engine))
    return instance.exports(store)[entry](store), outputs


def test_entry_runs_the_function_body_and_flushes_stdout(built, capfd):
    """Entering at _faasm_func_0 (not _start) runs the body, libc set up and flushed."""
    assert run_with_io(built["hello.c"], "_faasm_func_0") == (0, [b"Hello faasm!"])
    assert capfd.readouterr().out == "Hello faasm!\n"


def test_cpp_example_runs(built, capfd):
    assert run_with_io(built["hello.cpp"], "_start", b"C++") == (None, [b"Hello C++!"])
    assert capfd.readouterr().out == "Hello C++!\n"


def test_every_api_call_imports_the_abi_name_and_signature(tmp_path):
    source = tmp_path / "all_calls.c"
    source.write_text(ALL_CALLS_C)
    imports = env_imports(load(build([source], tmp_path / "all_calls.wasm")))
    assert set(imports) == set(HOST_ABI)
    assert_abi_signatures(imports)


def test_strips_custom_sections(built):
    assert custom_sections(built["hello.c"].read_bytes()) == []


def test_compile_error_raises_build_error_with_compiler_messages(tmp_path):
    source = tmp_path / "broken.c"
    source.write_text("#include <faasm/faasm.h>\nFAASM_MAIN_FUNC() { return nope; }\n")
    with pytest.raises(BuildError) as caught:
        build([source], tmp_path / "broken.wasm")
    assert caught.value.reason == "compiling broken.c failed"
    assert "nope" in caught.value.stderr
    assert "nope" in str(caught.value)
    assert not (tmp_path / "broken.wasm").exists()


def test_undefined_symbol_is_named_in_the_reason(tmp_path):
    source = tmp_path / "undefined.c"
    source.write_text("extern int not_a_host_call(void);\n"
                      "int main(void) { return not_a_host_call(); }\n")
    with pytest.raises(BuildError, match="undefined not_a_host_call"):
        build([source], tmp_path / "undefined.wasm")


def test_missing_source_and_bad_level_are_build_errors(tmp_path):
    with pytest.raises(BuildError, match="no such source file"):
        build([tmp_path / "absent.c"], tmp_path / "x.wasm")
    (tmp_path / "f.c").write_text("int main(void) { return 0; }\n")
    with pytest.raises(BuildError, match="optimisation level"):
        build([tmp_path / "f.c"], tmp_path / "x.wasm", opt="-O9")


def test_command_line(tmp_path, capsys):
    source = tmp_path / "echo.c"
    shutil.copy(EXAMPLES / "echo.c", source)

    assert toolchain.main([str(source), "-O3", "-DUNUSED=1"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "echo.wasm")
    assert set(env_imports(load(tmp_path / "echo.wasm"))) == EXAMPLE_IMPORTS["echo.c"]

    source.write_text("syntax error\n")
    assert toolchain.main([str(source), "-o", str(tmp_path / "bad.wasm")]) == 1
    assert "compiling echo.c failed" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("cc") is None, reason="no native C compiler")
def test_cpu_example_builds_natively_and_agrees_with_wasm(built, tmp_path):
    binary = tmp_path / "matmul"
    subprocess.run(["cc", "-O2", "-I", str(toolchain.SDK_INCLUDE), str(EXAMPLES / "matmul.c"),
                    str(EXAMPLES / "native" / "faasm_native.c"), "-o", str(binary)],
                   check=True)
    native = subprocess.run([str(binary)], input=b"64", capture_output=True, check=True)
    _, wasm_outputs = run_with_io(built["matmul.c"], "_faasm_func_0", b"64")
    assert native.stdout.startswith(b"matmul 64 checksum ")
    assert [native.stdout.rstrip(b"\n")] == wasm_outputs


def custom_sections(wasm: bytes) -> list[str]:
    """Names of the custom sections (debug info, names) in a wasm binary."""

    def leb128(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = wasm[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, at

    names, at = [], 8  # past magic and version
    while at < len(wasm):
        section_id = wasm[at]
        size, body = leb128(at + 1)
        if section_id == 0:
            name_len, name_at = leb128(body)
            names.append(wasm[name_at:name_at + name_len].decode())
        at = body + size
    return names


POSIX_C = textwrap.dedent("""\
    #include <faasm/faasm.h>
    #include <signal.h>
    #include <stdio.h>
    #include <string.h>
    #include <sys/mman.h>
    #include <time.h>
    #include <unistd.h>

    int main(void)
    {
        char* region = mmap(NULL, 200000, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) {
            return 1;
        }
        strcpy(region, "mapped");
        signal(SIGINT, SIG_IGN);
        printf("%s %d %d\\n", region, getpid() > 0, clock() >= 0);
        faasmSetOutput(region, 6);
        return munmap(region, 200000);
    }
    """)


def test_wasi_emulations_let_posix_code_build_and_run(tmp_path, capfd):
    """mmap/munmap, signal, clock and getpid compile, as with Faasm's toolchain."""
    source = tmp_path / "posix.c"
    source.write_text(POSIX_C)
    assert run_with_io(build([source], tmp_path / "posix.wasm"), "_start") == (None,
                                                                                [b"mapped"])
    assert capfd.readouterr().out == "mapped 1 1\n"


def test_builds_export_the_allocator(built):
    exports = {e.name for e in load(built["hello.c"]).exports}
    assert {"malloc", "free"} <= exports
