"""What Faasm functions expect of POSIX beyond wasi-libc: users, isatty and waitpid
from the SDK (sdk/lib/posix.c), built with the SDK toolchain and run in the wasm
runtime (tests/functions/posix.c)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasm.calls import Call
from faasm.runtime.compile import upload_wasm
from faasm.runtime.environment import ETC_FILES
from faasm.runtime.executor import WasmRuntime
from faasm.settings import MiB, Settings
from faasm.storage import open_storage
from faasm.toolchain import build

pytestmark = pytest.mark.slow

FUNCTIONS = Path(__file__).parent.parent / "functions"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("posix")
    storage = open_storage(str(tmp / "storage"))
    upload_wasm(storage, "alice", "posix", build([FUNCTIONS / "posix.c"],
                                                 tmp / "posix.wasm").read_bytes(), epoch=True)
    settings = Settings().replace(data_dir=tmp / "data", memory_limit=64 * MiB,
                                  timeout_mode="epoch")
    runtime = WasmRuntime(settings, storage)
    ids = iter(range(1, 10_000))

    def call(mode: str) -> bytes:
        return runtime.execute(Call(id=next(ids), user="alice", function="posix",
                                    input=mode.encode())).output

    return call


def test_one_user_as_in_faasm(run):
    assert run("ids") == b"uid=1000 euid=1000 gid=1000 egid=1000"


def test_getpwuid_knows_the_users_of_etc_passwd(run):
    passwd = ETC_FILES["passwd"]
    names = ",".join(line.split(b":")[0].decode() for line in passwd.splitlines())
    assert "faasm" in names.split(",")
    assert run(f"users:{names}") == passwd


def test_unknown_users_are_not_found(run):
    assert run("unknown") == b"none"


def test_stdio_are_terminals_as_in_faasm(run):
    assert run("tty") == b"1 1 1 0"


def test_waitpid_answers_as_faasm(run):
    assert run("wait") == b"ok"
