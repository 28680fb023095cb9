"""The SDK as a superset of Faasm's libfaasm: helper headers and the newest host calls.

Functions of our own (tests/functions) built with the SDK toolchain run in
the wasm runtime with real services: state in a private Redis, buckets and
shared files in a temporary local storage.
"""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import pytest
import redis
import wasmtime

from faasm.buckets import Buckets
from faasm.calls import Call
from faasm.errors import BadRequest, CallFailed, HostCallError
from faasm.files import CallFiles
from faasm.runtime.compile import upload_wasm
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.services import Services
from faasm.settings import MiB, Settings
from faasm.state import GlobalState
from faasm.storage import open_storage
from faasm_client.toolchain import BuildError, build

pytestmark = pytest.mark.slow

FUNCTIONS = Path(__file__).parent.parent / "functions"


@pytest.fixture(scope="module")
def wasm(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("compat")
    return {src.name: build([src], out / f"{src.name}.wasm").read_bytes()
            for src in (FUNCTIONS / "libfaasm_headers.cpp", FUNCTIONS / "s3.c",
                        FUNCTIONS / "mman.c")}


@pytest.fixture
def env(tmp_path, redis_url):
    storage = open_storage(str(tmp_path / "storage"))
    prefix = f"compat-{uuid.uuid4().hex[:8]}"
    state = GlobalState(redis.Redis.from_url(redis_url), prefix)
    services = Services(state=state, files=CallFiles(storage),
                        buckets=Buckets(storage, quota=4096))
    settings = Settings().replace(memory_limit=128 * MiB, timeout_mode="epoch")
    runtime = WasmRuntime(settings, storage, services)
    ids = iter(range(1, 10_000))

    def run(source: bytes, input: bytes = b"", user: str = "alice", **call):
        upload_wasm(storage, user, "f", source, epoch=True)
        return runtime.execute(Call(id=next(ids), user=user, function="f", input=input,
                                    **call))

    run.state, run.storage = state, storage
    return run


def test_helper_headers(env, wasm):
    result = env(wasm["libfaasm_headers.cpp"], b"helpers")
    assert result.output == b"n=42 ok"
    # compareArrays prints both arrays when they differ (print.h's format).
    assert b"Arrays not equal: A=[1, 2] B=[1, 3]" in result.stdout


def test_typed_input_reads_binary_values(env, wasm):
    assert env(wasm["libfaasm_headers.cpp"], b"typed").output == b"%x" % struct.unpack(
        "<i", b"type")[0]


def test_counter_array_and_partial_mask(env, wasm):
    result = env(wasm["libfaasm_headers.cpp"], b"state")
    assert result.output == b"count=12 atomic=6"
    assert struct.unpack("<i", env.state.get("alice", "atomic")) == (6,)
    assert struct.unpack("<4i", env.state.get("alice", "array")) == (0, 11, 0, 33)
    # Only the masked element reached the global value.
    assert struct.unpack("<3d", env.state.get("alice", "doubles")) == (1.5, 2.5, 9.25)


def test_files_header_reads_a_shared_file(env, wasm):
    assert env(wasm["libfaasm_headers.cpp"], b"files").output == b"file contents"


def test_mmap_accepts_what_faasm_accepts(env, wasm):
    result = env(wasm["mman.c"])
    assert result.output == b"XbcdefgY", result.stdout
    assert env.storage.read("shared/mapped.txt") == b"XbcdefgY"


def test_shared_memory_markup_runs_single_threaded(env, wasm):
    # A one-thread reduction keeps the value; the atomics add 1 and 10.
    assert env(wasm["libfaasm_headers.cpp"], b"shared_mem").output == b"total=16"


@pytest.mark.parametrize("mode, reason", [
    (b"exception", "Host interface test: exception propagation"),
    (b"bad-reduce", "__faasm_sm_reduce: unknown reduction operator 99"),
    (b"unbalanced-critical", "__faasm_sm_critical_local_end without"),
])
def test_host_errors_fail_the_call_with_their_reason(env, wasm, mode, reason):
    with pytest.raises(HostCallError, match=reason):
        env(wasm["libfaasm_headers.cpp"], mode)


def test_backtrace_goes_to_stderr(env, wasm):
    # A failed call's reason ends with the last line of its stderr.
    with pytest.raises(CallFailed, match=r"exited with code 3 \(\[faasm\] backtrace requested "
                                         r"\(depth 2\) in alice/f call \d+, entry 0"):
        env(wasm["libfaasm_headers.cpp"], b"backtrace-fail")


def test_backtrace_migrate_point_and_python_entry(env, wasm):
    result = env(wasm["libfaasm_headers.cpp"], b"misc")
    assert result.output == b"faasm_main"
    chained = env(wasm["libfaasm_headers.cpp"], b"misc", entry="other_entry")
    assert chained.output == b"other_entry"


def test_migrate_point_checks_its_entry_is_a_table_function(env):
    wasm = wasmtime.wat2wasm('''(module
      (import "env" "__faasm_migrate_point" (func $m (param i32 i32)))
      (memory (export "memory") 1)
      (table (export "__indirect_function_table") 2 funcref)
      (func $entry (param i32))
      (elem (i32.const 1) $entry)
      (func (export "_start") (call $m (i32.const 1) (i32.const 0))
                              (call $m (i32.const 7) (i32.const 0))))''')
    with pytest.raises(HostCallError, match="__faasm_migrate_point: 7 is not a function"):
        env(wasm)


def test_s3_put_get_and_overwrite(env, wasm):
    assert env(wasm["s3.c"], b"put b1 k1").output == b"0 -1 0"
    assert env(wasm["s3.c"], b"get b1 k1").output == b"value-of-k1"
    assert env.storage.read("s3/alice/b1/k1") == b"value-of-k1"


def test_s3_listing(env, wasm):
    for key in ("k1", "dir/a", "dir/b"):
        env(wasm["s3.c"], f"put b1 {key}".encode())
    env(wasm["s3.c"], b"put b2 other")
    env(wasm["s3.c"], b"put theirs k", user="bob")  # another user's bucket
    assert env(wasm["s3.c"], b"list").output == (
        b"buckets:2:b1,b2,|keys:3:dir/a,dir/b,k1,|prefixed:2:dir/a,dir/b,")


def test_s3_missing_key(env, wasm):
    assert env(wasm["s3.c"], b"maybe b1 nothing").output == b"missing -1 0 1"
    with pytest.raises(CallFailed, match="S3 key b1/nothing not found"):
        env(wasm["s3.c"], b"get b1 nothing")


def test_s3_is_per_user(env, wasm):
    env(wasm["s3.c"], b"put b1 k1", user="bob")
    assert env(wasm["s3.c"], b"maybe b1 k1").output == b"missing -1 0 1"


@pytest.mark.parametrize("bucket, key, reason", [
    ("b1", "../../bob/b1/k1", "Bad S3 key"),
    ("b1", "/etc/passwd", "Bad S3 key"),
    ("b1", "a//b", "Bad S3 key"),
    ("..", "k", "Invalid S3 bucket"),
    ("a/b", "k", "Invalid S3 bucket"),
])
def test_s3_names_cannot_leave_the_users_namespace(env, wasm, bucket, key, reason):
    env(wasm["s3.c"], b"put b1 k1", user="bob")
    with pytest.raises(CallFailed, match=reason):
        env(wasm["s3.c"], f"get {bucket} {key}".encode())
    with pytest.raises(CallFailed, match=reason):
        env(wasm["s3.c"], f"put {bucket} {key}".encode())
    assert sorted(env.storage.list("s3/")) == ["s3/bob/b1/k1"]


def test_s3_quota(env, wasm):
    env.storage.write("s3/alice/big/blob", bytes(4090))
    with pytest.raises(CallFailed, match="over the 4096 byte quota"):
        env(wasm["s3.c"], b"put b1 k1")


def test_buckets_validate_names_directly(tmp_path):
    buckets = Buckets(open_storage(str(tmp_path)))
    with pytest.raises(BadRequest):
        buckets.put("alice", "b", "x/../../y", b"")
    with pytest.raises(BadRequest):
        buckets.keys("../alice", "b")
    assert buckets.buckets("alice") == [] and buckets.keys("alice", "b") == []


EIGEN = Path("/usr/include/eigen3")

MATRIX_CPP = """\
#include <faasm/faasm.h>
#include <faasm/matrix.h>
#include <string>
int main() {
    Eigen::MatrixXd m(2, 3);
    m << 1, 2, 3, 4, 5, 6;
    faasm::writeMatrixToState("m", m);
    Eigen::MatrixXd back = faasm::readMatrixFromState("m", 2, 3);
    Eigen::MatrixXd cols = faasm::readMatrixColumnsFromState("m", 3, 1, 2, 2, true);
    Eigen::SparseMatrix<double> sparse = faasm::randomSparseMatrix(10, 20, 0.5);
    Eigen::MatrixXd prod = faasm::randomDenseMatrix(1, 10) * sparse;
    std::string out = std::to_string(back(1, 2)) + " " + std::to_string(cols(0, 0))
                      + " " + std::to_string(faasm::calculateMse(m, back))
                      + " " + std::to_string(faasm::calculateRootMeanSquaredError(m, back))
                      + " " + std::to_string(prod.cols());
    faasmSetOutput(out.c_str(), out.size());
    return 0;
}
"""


def test_matrix_header_without_eigen_says_what_is_missing(tmp_path):
    source = tmp_path / "matrix.cpp"
    source.write_text(MATRIX_CPP)
    with pytest.raises(BuildError) as caught:
        build([source], tmp_path / "m.wasm")
    assert "faasm/matrix.h needs the Eigen headers" in caught.value.stderr


@pytest.mark.skipif(not (EIGEN / "Eigen").is_dir(), reason="Eigen headers not installed")
def test_matrix_header_with_eigen(env, tmp_path):
    source = tmp_path / "matrix.cpp"
    source.write_text(MATRIX_CPP)
    wasm = build([source], tmp_path / "m.wasm", extra=[f"-I{EIGEN}"]).read_bytes()
    assert env(wasm).output == b"6.000000 2.000000 0.000000 0.000000 20"
    assert struct.unpack("<6d", env.state.get("alice", "m")) == (1, 4, 2, 5, 3, 6)
