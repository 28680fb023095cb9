"""Python functions run in the WebAssembly sandbox, with a real Redis for state and chaining.

The compiled runtime is shared by every test run of the machine
(``FAASM_PYTHON_CACHE``, else ``<repo>/data/python-cache``): the first run on a
fresh clone compiles it once, in about 75 s.
"""

import os
import time
import uuid

import pytest
import redis

from faasm.calls import Call
from faasm.chaining import Chaining, Outcome
from faasm.errors import CallFailed, CallTimedOut, LimitExceeded, NotFound
from faasm.files import CallFiles, SharedFiles
from faasm.functions import Functions
from faasm.records import CallRecords
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.compile import upload_wasm
from faasm.runtime.python import PythonRuntime
from faasm.runtime.services import Services
from faasm.settings import PROJECT_ROOT, MiB, Settings
from faasm.state import GlobalState
from faasm.storage import open_storage
from tests import wat

CACHE = os.environ.get("FAASM_PYTHON_CACHE") or str(PROJECT_ROOT / "data" / "python-cache")


class InlineDispatcher:
    """No queue: chained calls wait until awaited, and awaiting runs them inline."""

    def __init__(self):
        self.submitted: list[Call] = []
        self.outcomes: dict[int, Outcome] = {}

    def submit(self, call: Call) -> None:
        self.submitted.append(call)

    def wait(self, call_id: int, timeout: float) -> Outcome | None:
        if call_id not in self.outcomes:
            time.sleep(timeout)
        return self.outcomes.get(call_id)

    def store(self, call_id: int, outcome: Outcome) -> None:
        self.outcomes[call_id] = outcome


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """Load (or, once per machine, compile) the runtime before any test runs a call."""
    settings = Settings().replace(python_cache_path=CACHE)
    PythonRuntime(settings, open_storage(str(tmp_path_factory.mktemp("warm")))).prewarm()


@pytest.fixture
def storage(tmp_path):
    return open_storage(str(tmp_path))


@pytest.fixture
def platform(warm, storage, redis_url):
    """Both runtimes wired to one Redis, under a key prefix of the test's own."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings().replace(
        redis_url=redis_url, key_prefix=prefix, python_cache_path=CACHE,
        memory_limit=256 * MiB, output_limit=1000, stdout_limit=1000, call_timeout=30.0)
    client = redis.Redis.from_url(redis_url)
    services = Services(state=GlobalState(client, prefix), files=CallFiles(storage))
    python = PythonRuntime(settings, storage, services)
    wasm = WasmRuntime(settings, storage, services)
    dispatcher = InlineDispatcher()

    def execute(call: Call):
        return (python if call.python else wasm).execute(call)

    records = CallRecords(client, prefix, 3600)
    services.chaining = Chaining(records, Functions(storage), dispatcher, execute,
                                 lambda call: 60.0)

    class Platform:
        state = services.state
        files = SharedFiles(storage)
        issue = records.issue

        @staticmethod
        def upload(source: str, function: str = "f") -> None:
            Functions(storage).put_python("u", function, source.encode())

        @staticmethod
        def run(source: str, input: bytes = b"", **call):
            Platform.upload(source)
            issued = records.issue(dict(user="u", function="f", input=input, python=True,
                                        **call))
            return python.execute(issued)

    return Platform


def test_input_output_and_print(platform):
    result = platform.run('''
from pyfaasm.core import get_input, get_input_len, read_input, set_output

def faasm_main():
    print("got", get_input_len(), read_input(2))
    set_output(get_input()[::-1] + bytes(range(256)))
''', b"abc\x00\xff")
    assert result.output == b"\xff\x00cba" + bytes(range(256))
    assert result.stdout == b"got 5 b'ab'\n"


def test_top_level_code_runs_as_main(platform):
    result = platform.run('''
print("top level")
if __name__ == "__main__":
    print("as a script")
''')
    assert result.stdout == b"top level\nas a script\n"


def test_state_whole_values(platform):
    platform.state.set("u", "uploaded", b"from the API")
    result = platform.run('''
from pyfaasm.core import *

def faasm_main():
    print(read_state_size("uploaded"), read_state("uploaded"), read_state("uploaded", 4))
    write_state("k", b"\\x00binary\\xff")
    print(read_state("k"), read_state("missing"))
''')
    assert result.stdout == (b"12 b'from the API' b'from'\n"
                             b"b'\\x00binary\\xff' b''\n")
    assert platform.state.get("u", "k") == b"\x00binary\xff"


def test_state_offsets_push_and_pull(platform):
    platform.state.set("u", "v", b"0123456789")
    result = platform.run('''
from pyfaasm.core import *

def faasm_main():
    write_state_offset("v", 10, 2, b"ab")
    print(read_state_offset("v", 10, 0, 5))
    push_state_partial("v")
    write_state_offset("v", 10, 8, b"zz")
    pull_state("v", 10)
    print(read_state("v"))
    write_state_offset("v", 10, 0, b"X")
    push_state("v")
''')
    assert result.stdout == b"b'01ab4'\nb'01ab456789'\n"
    assert platform.state.get("u", "v") == b"X1ab456789"


def test_state_append(platform):
    result = platform.run('''
from pyfaasm.core import *

def faasm_main():
    append_state("list", b"ab")
    append_state("list", b"cd")
    print(read_appended_state("list", 2))
    clear_appended_state("list")
    try:
        read_appended_state("list", 1)
    except HostError as exc:
        print("refused:", exc)
''')
    assert result.stdout == (b"b'abcd'\n"
                             b"refused: state list has 0 appended elements, not 1\n")


def test_bad_state_key_raises_host_error(platform):
    with pytest.raises(CallFailed, match=r"Uncaught HostError: Invalid key .no/slashes.*line 2"):
        platform.run('''from pyfaasm.core import read_state
read_state("no/slashes")
''')


def test_chain_this_file_and_await_output(platform):
    result = platform.run('''
from pyfaasm.core import await_call, await_call_output, chain, chain_this_with_input, set_output

def double(data):
    print("not captured by the caller")
    set_output(data * 2)

def fails(data):
    exit(1)

def no_input():
    set_output(b"none")

def faasm_main():
    a = chain_this_with_input(double, b"ab")
    b = chain("no_input")
    c = chain(fails, b"")
    print(await_call_output(a), await_call_output(b))
    print(await_call(c), await_call_output(c))
''')
    assert result.stdout == (b"(0, b'abab') (0, b'none')\n"
                             b"1 (1, b'Function exited with code 1')\n")


def test_timeout_while_awaiting_cannot_be_caught(platform):
    queued = platform.issue({"user": "u", "function": "f", "python": True})  # never runs
    with pytest.raises(CallTimedOut, match=f"awaiting call {queued.id}"):
        platform.run(f'''from pyfaasm.core import await_call
try:
    await_call({queued.id})
except Exception:
    pass
while True:
    pass
''', timeout=1.0)


def test_chain_rejects_functions_not_in_the_file(platform):
    with pytest.raises(CallFailed, match="ValueError: chain.. needs a top-level function"):
        platform.run('''from pyfaasm.core import chain
chain("nowhere", b"")
''')


def test_chain_named_python_and_wasm(platform, storage):
    platform.upload('''from pyfaasm.core import get_input, set_output
set_output(b"py:" + get_input())
''', function="other")
    upload_wasm(storage, "u", "hello", wat.HELLO)
    result = platform.run('''
from pyfaasm.core import await_call_output, chain_named, set_output

def faasm_main():
    py = chain_named("other", b"1")
    wasm = chain_named("hello", b"2")
    _, out_py = await_call_output(py)
    _, out_wasm = await_call_output(wasm)
    set_output(out_py + b" " + out_wasm)
''')
    assert result.output == b"py:1 out:2"


def test_chain_named_unknown_function(platform):
    with pytest.raises(CallFailed, match="HostError: Function u/nope not found"):
        platform.run('''from pyfaasm.core import chain_named
chain_named("nope", b"")
''')


def test_uncaught_exception_fails_with_its_traceback(platform):
    with pytest.raises(CallFailed) as failed:
        platform.run('''
def helper():
    return 1 / 0

def faasm_main():
    print("before")
    helper()
''')
    assert failed.value.reason == (
        "Uncaught ZeroDivisionError: division by zero (u/f.py, line 3, in helper)")


@pytest.mark.parametrize("source, reason", [
    ("import sys; sys.exit(3)", "Function exited with code 3"),
    ("import sys; sys.exit('bye')", "Function exited: bye"),
    ("def faasm_main(x): pass", "TypeError: faasm_main.. missing 1 required"),
])
def test_exits_and_bad_entry_points(platform, source, reason):
    with pytest.raises(CallFailed, match=reason):
        platform.run(source)


def test_exit_zero_is_success(platform):
    assert platform.run("import sys\nprint('ok')\nsys.exit(0)").stdout == b"ok\n"


def test_numpy(platform):
    result = platform.run('''
import numpy as np
print(int(np.arange(10).sum()), np.__version__ > "1")
''')
    assert result.stdout == b"45 True\n"


@pytest.mark.parametrize("source", [
    "open('/etc/passwd').read()",
    "open('faasm://../../../../etc/passwd').read()",
    "import os; os.listdir('/')",
    "import socket; socket.socket()",
    "import socket; socket.create_connection(('127.0.0.1', 6379))",
    "import subprocess; subprocess.run(['ls'])",
])
def test_sandbox_keeps_the_host_out_of_reach(platform, source):
    with pytest.raises(CallFailed, match="Uncaught (FileNotFoundError|OSError|AttributeError|"
                                         "PermissionError)"):
        platform.run(source)


def test_timeout(platform):
    started = time.monotonic()
    with pytest.raises(CallTimedOut, match="exceeded its 1 s timeout"):
        platform.run("while True: pass", timeout=1.0)
    assert time.monotonic() - started < 5


def test_memory_limit(platform):
    with pytest.raises(LimitExceeded, match="MemoryError.*256 MiB memory limit"):
        platform.run("x = bytearray(512 * 1024 * 1024)")


def test_stdout_and_output_are_truncated(platform):
    result = platform.run('''from pyfaasm.core import set_output
print("x" * 5000)
set_output(b"y" * 5000)
''')
    assert result.stdout == b"x" * 1000 + b"\n[truncated: 1000 byte limit]\n"
    assert result.output == b"y" * 1000 + b"\n[truncated: 1000 byte limit]\n"


def test_shared_files(platform):
    platform.files.put("in/data.txt", b"shared input")
    platform.run('''
from pyfaasm.core import shared_path
import pathlib

data = open("faasm://in/data.txt", "rb").read()
pathlib.Path("faasm://out").mkdir()
with open(shared_path("faasm://out/result.txt"), "wb") as f:
    f.write(data.upper())
left_open = open("faasm://in/unclosed.txt", "w")   # flushed when the call ends
left_open.write("written")
''')
    assert platform.files.get("out/result.txt") == b"SHARED INPUT"
    assert platform.files.get("in/unclosed.txt") == b"written"


def test_missing_function(warm, storage):
    runtime = PythonRuntime(Settings().replace(python_cache_path=CACHE), storage)
    with pytest.raises(NotFound, match="Python function u/nope not found"):
        runtime.execute(Call(id=1, user="u", function="nope", python=True))


def test_runtime_survives_failures(platform):
    for source in ("1/0", "while True: pass", "x = bytearray(512 * 1024 * 1024)"):
        with pytest.raises(CallFailed):
            platform.run(source, timeout=0.5)
    assert platform.run("print('still here')").stdout == b"still here\n"
