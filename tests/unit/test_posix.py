"""What Faasm functions expect of POSIX beyond wasi-libc and of Faasm's runtime root:
users, isatty and waitpid from the SDK (sdk/lib/posix.c, tests/functions/posix.c),
and the older libc's names (__errno_location, integer clock IDs: sdk/posix/,
tests/functions/older_libc.cpp);
Faasm's /etc/hosts, /lib/python3.8 and state set from a file of the call's own
(tests/functions/runtime_root.c). Built with the SDK toolchain, run in the wasm
runtime."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis

from faasm.calls import Call
from faasm.errors import CallFailed
from faasm.files import CallFiles
from faasm.runtime.compile import upload_wasm
from faasm.runtime.environment import ETC_FILES
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.services import Services
from faasm.settings import Settings
from faasm.state import GlobalState
from faasm.storage import open_storage
from faasm_client.toolchain import build
from tests.sdkfunctions import runner

pytestmark = pytest.mark.slow

FUNCTIONS = Path(__file__).parent.parent / "functions"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return runner(tmp_path_factory.mktemp("posix"), "posix.c")


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


OWN_DEFINITIONS_C = r"""
#include <faasm/faasm.h>
#include <stdio.h>
#include <unistd.h>

uid_t getuid(void) { return 7; }
int isatty(int fd) { return fd == 42; }

int main(void)
{
    char out[32];
    int n = snprintf(out, sizeof(out), "%u %d %d %u", (unsigned)getuid(), isatty(1),
                     isatty(42), (unsigned)getgid());
    faasmSetOutput(out, n);
    return 0;
}
"""


def test_a_functions_own_definitions_win(tmp_path):
    """Ported code often defines these itself to build for WASI: it keeps its own."""
    source = tmp_path / "own.c"
    source.write_text(OWN_DEFINITIONS_C)
    storage = open_storage(str(tmp_path / "storage"))
    upload_wasm(storage, "alice", "own", build([source], tmp_path / "own.wasm").read_bytes())
    runtime = WasmRuntime(Settings().replace(data_dir=tmp_path / "data"), storage)
    assert runtime.execute(Call(id=1, user="alice", function="own")).output == b"7 0 1 1000"


@pytest.fixture(scope="module")
def root(tmp_path_factory, redis_url):
    """Runs tests/functions/runtime_root.c with state (a private Redis) and shared files."""
    tmp = tmp_path_factory.mktemp("root")
    storage = open_storage(str(tmp / "storage"))
    state = GlobalState(redis.Redis.from_url(redis_url), f"posix-{uuid.uuid4().hex[:8]}",
                        max_value=4096)
    # The /lib view is made in <data dir>/python-cache, once for the module.
    call = runner(tmp, "runtime_root.c", storage=storage,
                  services=Services(state=state, files=CallFiles(storage)))
    call.state = state
    return call


def test_etc_hosts_is_faasms(root):
    assert ETC_FILES["hosts"] == b"127.0.0.1\tlocalhost\n"
    assert root("hosts") == b"20:" + ETC_FILES["hosts"]


def test_etc_holds_the_files_of_faasms_runtime_root_and_no_others(root):
    # faasm/faasm's getdents test lists /etc and allows only these names.
    listed = root("etc").decode().rstrip(",").split(",")
    assert sorted(listed) == [".", "..", "hosts", "passwd", "resolv.conf"]


def test_lib_python_is_the_standard_library_read_only(root):
    dir_ok, encodings, multiprocessing, write = root("lib").decode().split()
    assert (dir_ok, write) == ("dir:ok", "write:refused")
    assert int(encodings.split(":")[1]) > 50 and int(multiprocessing.split(":")[1]) > 10


def test_state_from_a_file_of_the_calls_own(root):
    assert root("state:/tmp/state_file") == b"17:blah blah foo foo"
    assert root.state.get("alice", "from_file") == b"blah blah foo foo"
    assert root("state:/tmp/../tmp/./state_file") == b"17:blah blah foo foo"
    assert root("host:/etc/passwd") == str(len(ETC_FILES["passwd"])).encode()
    assert root.state.get("alice", "from_file") == ETC_FILES["passwd"]


def test_state_from_a_shared_file_is_unchanged(root):
    root.storage.write("shared/alice/in", b"shared bytes")
    assert root("host:alice/in") == b"12" and root("host:faasm://alice/in") == b"12"
    assert root.state.get("alice", "from_file") == b"shared bytes"


@pytest.mark.parametrize("path", [
    "/tmp/state_file",           # a file of an earlier call: gone with it
    "/../../../../etc/shadow",   # ".." stops at the call's "/"
    "/proc/self/environ",
    "/lib/python3.8",            # a directory
    "/etc/../../etc/shadow",
])
def test_state_from_a_file_sees_nothing_of_the_host(root, path):
    with pytest.raises(CallFailed, match="not found"):
        root(f"host:{path}")


def test_state_from_a_file_is_bounded_by_the_largest_value(root):
    with pytest.raises(CallFailed, match="typing.pyc is .*, over the limit of 4 KiB"):
        root("host:/lib/python3.8/typing.pyc")


def test_older_libc_names_errno_location_and_integer_clock_ids(tmp_path):
    # Faasm's older libc was musl's: __errno_location(), clockid_t an int.
    output = runner(tmp_path, "older_libc.cpp")("")
    assert output == (b"stat=-1 errno_location=1 bad_clock=-1 einval=1 mono=1 real=1 "
                      b"pointer=1 res=1")


def test_no_network_socket_calls_compile_and_fail_as_linux_answers(run):
    # Faasm's older functions open sockets (faasm/faasm v0.0.12's errors/socket).
    assert run("socket") == b"ok"
