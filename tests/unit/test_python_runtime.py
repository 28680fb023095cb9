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
from faasm.chaining import Chaining, MemoryDispatcher
from faasm.errors import CallFailed, CallTimedOut, LimitExceeded, NotFound
from faasm.files import CallFiles, SharedFiles
from faasm.functions import Functions
from faasm.records import CallRecords
from faasm.runtime.compile import upload_wasm
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.python import PythonRuntime
from faasm.runtime.services import Services
from faasm.settings import PROJECT_ROOT, MiB, Settings
from faasm.state import GlobalState
from faasm.storage import open_storage
from tests import wat

CACHE = os.environ.get("FAASM_PYTHON_CACHE") or str(PROJECT_ROOT / "data" / "python-cache")


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
    python = python_runtime = PythonRuntime(settings, storage, services)
    wasm = WasmRuntime(settings, storage, services)
    dispatcher = MemoryDispatcher()

    def execute(call: Call):
        return (python if call.python else wasm).execute(call)

    records = CallRecords(client, prefix, 3600)
    services.chaining = Chaining(records, Functions(storage), dispatcher, execute,
                                 lambda call: 60.0)

    class Platform:
        state = services.state
        python = python_runtime
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
    "open('faasm://../../../../etc/shadow').read()",
    "open('/etc/shadow').read()",
    "open('/../../../../../etc/shadow').read()",
    "open('/usr/local/lib/../../../etc/shadow').read()",
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


# -- the runtime environment: a call's own filesystem, Faasm's environment ---------
def test_own_filesystem_cwd_tmp_and_etc(platform):
    result = platform.run('''
import os
from pyfaasm.core import set_output
open("here.txt", "w").write("in cwd")
os.makedirs("/tmp/a/b")
open("/tmp/a/b/c.txt", "w").write("in tmp")
os.rename("/tmp/a", "/tmp/z")
hosts = open("/etc/hosts").read()
passwd = open("/etc/passwd").read()
lib = os.path.isdir("/lib/python3.15")
set_output("|".join([os.getcwd(), ",".join(sorted(os.listdir("/"))), open("here.txt").read(),
                     open("/tmp/z/b/c.txt").read(), str("localhost" in hosts),
                     passwd.split(":")[0], str(os.isatty(1)), str(lib)]))
''')
    assert result.output == b"/|etc,here.txt,lib,tmp|in cwd|in tmp|True|root|False|True"


def test_etc_and_lib_are_read_only(platform):
    result = platform.run('''
import errno
from pyfaasm.core import set_output
refused = []
for path in ("/etc/hosts", "/etc/new", "/lib/python3.15/x.py"):
    try:
        open(path, "w").write("evil")
    except OSError as exc:
        refused.append(errno.errorcode[exc.errno])
set_output(",".join(refused))
''')
    assert result.output == b"EROFS,EROFS,EROFS"


def test_the_standard_library_is_listed_and_read_where_faasm_shows_it(platform):
    # Faasm's functions list and open /lib/python3.8 (faasm/faasm's listdir test lists it
    # and compares with the native folder): the sandbox's own library is there, read-only.
    result = platform.run('''
import errno, importlib.util, os
from pyfaasm.core import set_output
names = os.listdir("/lib/python3.8")
with open("/lib/python3.8/json/decoder.pyc", "rb") as f:
    magic = f.read(4) == importlib.util.MAGIC_NUMBER
refused = []
for attempt in (lambda: open("/lib/python3.8/os.pyc", "wb"),
                lambda: os.mkdir("/lib/python3.8/mine"),
                lambda: os.listdir("/lib/python3.8/os.pyc"),
                lambda: open("/lib/python3.8/os.pyc/x")):
    try:
        attempt()
    except OSError as exc:
        refused.append(errno.errorcode[exc.errno])
set_output("|".join([str("os.pyc" in names), str("json" in names), str("numpy" in names),
                     str(os.path.isdir("/lib/python3.8/json")), str(magic),
                     ",".join(sorted(os.listdir("/lib"))), ",".join(refused)]))
''')
    assert result.output == (b"True|True|False|True|True|python3.15,python3.8|"
                             b"EROFS,EROFS,ENOTDIR,ENOTDIR")


def test_nothing_a_call_writes_reaches_the_next_call(platform):
    platform.run('open("/tmp/left.txt", "w").write("x"); open("mine.txt", "w").write("y")')
    result = platform.run('''
import os
from pyfaasm.core import set_output
set_output(",".join(sorted(os.listdir("/tmp")) + sorted(os.listdir("/"))))
''')
    assert result.output == b"etc,lib,tmp"


def test_scratch_is_bounded(platform, monkeypatch):
    result = platform.run('''
from pyfaasm.core import set_output
block = b"x" * (1 << 20)
written = 0
try:
    for i in range(100):
        with open(f"/tmp/f{i}", "wb") as f:
            f.write(block)
        written += 1
except OSError as exc:
    set_output(f"{written} {exc.strerror}")
''')
    written, reason = result.output.decode().split(" ", 1)
    assert int(written) == 64 and reason == "No space left on device"  # the 64 MiB default


def test_links_are_refused(platform):
    result = platform.run('''
import os
from pyfaasm.core import set_output
out = []
open("a", "w").write("a")
for make in (lambda: os.symlink("/etc/passwd", "s"), lambda: os.link("a", "b")):
    try:
        make()
        out.append("made")
    except OSError:
        out.append("refused")
set_output(",".join(out))
''')
    assert result.output == b"refused,refused"


def test_sys_argv_comes_from_cmdline(platform):
    result = platform.run("import sys\nfrom pyfaasm.core import set_output\n"
                          "set_output('|'.join(sys.argv))", cmdline="-n 3")
    assert result.output == b"function.wasm|-n|3"


def test_faasm_environment_variables(platform):
    result = platform.run('''
import os
from pyfaasm.core import set_output
names = ("PYTHONWASM", "PYTHONHASHSEED", "LANG", "TMPDIR", "HOME", "PYTHON_LOCAL_CHAINING")
set_output(",".join(f"{n}={os.environ.get(n)}" for n in names))
''')
    assert result.output == (b"PYTHONWASM=1,PYTHONHASHSEED=0,LANG=en_GB.UTF-8,TMPDIR=/tmp,"
                             b"HOME=/,PYTHON_LOCAL_CHAINING=None")


def test_stderr_is_captured_apart(platform):
    result = platform.run('import sys\nprint("out")\nprint("err", file=sys.stderr)')
    assert result.stdout == b"out\n" and result.stderr == b"err\n"


# -- faasm_main's return code and pyfaasm's other modules ---------------------------
@pytest.mark.parametrize("returned, reason", [("1", "Function returned 1"),
                                              ("-3", "Function returned -3"),
                                              ("True", "Function returned True")])
def test_non_zero_return_fails_the_call(platform, returned, reason):
    with pytest.raises(CallFailed, match=f"^{reason}$"):
        platform.run(f"def faasm_main():\n    print('ran')\n    return {returned}\n")


@pytest.mark.parametrize("returned", ["0", "None", "'text'", "False"])
def test_zero_or_non_integer_return_succeeds(platform, returned):
    assert platform.run(f"def faasm_main():\n    return {returned}\n").output == b""


def test_chained_entry_return_code_fails_the_child(platform):
    result = platform.run('''
from pyfaasm.core import chain, await_call, set_output

def child(data):
    return 2 if data == b"fail" else 0

def faasm_main():
    ok, bad = chain(child, b"fine"), chain(child, b"fail")
    set_output(f"{await_call(ok)} {await_call(bad)}")
''')
    assert result.output == b"0 1"


def test_get_output_get_state_size_and_local_modes(platform):
    platform.state.set("u", "sized", b"12345")
    result = platform.run('''
from pyfaasm import core, config, objects
from pyfaasm.core import (get_output, get_state_size, set_local_chaining,
                          set_local_input_output, write_output, chain, await_call)

seen = []

def helper(data):
    seen.append(data)

def faasm_main():
    assert get_output() is None
    set_local_input_output(True)
    write_output(b"kept here only")
    local = get_output()
    set_local_input_output(False)
    set_local_chaining(True)
    status = await_call(chain(helper, b"ran inline"))
    write_output(b"|".join([local, str(get_state_size("sized")).encode(), seen[0],
                            str(status).encode(), config.RESULT_MATRIX_KEY.encode(),
                            objects.Dictionary.__name__.encode()]))
''')
    assert result.output == b"kept here only|5|ran inline|0|result_matrix|Dictionary"


def test_emulator_functions_say_what_they_are(platform):
    with pytest.raises(CallFailed, match="emulator functions only exist in its native test"):
        platform.run("from pyfaasm.core import set_emulator_message\nset_emulator_message('{}')")


def test_matrix_multiplication_over_state(platform):
    """pyfaasm.matrix multiplies two 8x8 matrices, whole and split once (8 chained
    products, each a call that imports numpy)."""
    source = '''
import numpy as np
import pyfaasm.matrix as mat
from pyfaasm.config import MatrixConf, RESULT_MATRIX_KEY, SUBMATRICES_KEY_A, SUBMATRICES_KEY_B
from pyfaasm.core import read_state, set_output, get_input

def distributed_divide_and_conquer(input_bytes):
    mat.distributed_divide_and_conquer(input_bytes)

def faasm_main():
    size, splits = 8, int(get_input() or b"2")
    a = np.arange(size * size, dtype=np.float32).reshape(size, size) / 7
    b = (np.arange(size * size, dtype=np.float32).reshape(size, size) % 5) - 2
    conf = MatrixConf(size, splits)
    mat.write_matrix_params_to_state(size, splits)
    mat.subdivide_matrix_into_state(conf, a, SUBMATRICES_KEY_A)
    mat.subdivide_matrix_into_state(conf, b, SUBMATRICES_KEY_B)
    assert np.array_equal(mat.reconstruct_matrix_from_submatrices(conf, SUBMATRICES_KEY_A), a)
    mat.divide_and_conquer()
    got = np.frombuffer(read_state(RESULT_MATRIX_KEY, conf.bytes_per_matrix), np.float32)
    diff = float(np.abs(got.reshape(size, size) - a @ b).max())
    set_output(str(diff < 1e-3) if diff < 1e-3 else f"max difference {diff}")
'''
    for splits in (b"0", b"1"):
        assert platform.run(source, input=splits).output == b"True"


def test_configured_packages_are_importable_and_read_only(warm, storage, tmp_path):
    packages = tmp_path / "site"
    (packages / "greeting").mkdir(parents=True)
    (packages / "greeting" / "__init__.py").write_text("WORD = 'hello from a package'\n")
    settings = Settings().replace(python_cache_path=CACHE, python_packages=str(packages))
    runtime = PythonRuntime(settings, storage)
    Functions(storage).put_python("u", "pkg", b'''
import errno
import greeting
from pyfaasm.core import set_output
try:
    open("/lib/python3.15/site-packages/greeting/evil.py", "w")
    refused = "written"
except OSError as exc:
    refused = errno.errorcode[exc.errno]
set_output(f"{greeting.WORD}|{greeting.__file__}|{refused}")
''')
    result = runtime.execute(Call(id=1, user="u", function="pkg", python=True))
    word, where, refused = result.output.decode().split("|")
    assert (word, where) == ("hello from a package",
                             "/lib/python3.15/site-packages/greeting/__init__.py")
    assert refused in ("EROFS", "EPERM", "EACCES"), refused
    assert sorted(p.name for p in packages.rglob("*")) == ["__init__.py", "greeting"]


def test_one_huge_file_is_refused_and_nothing_is_kept(platform):
    result = platform.run('''
import os
from pyfaasm.core import set_output
try:
    with open("/tmp/huge", "wb") as f:
        f.write(b"x" * (100 << 20))
    outcome = "kept"
except OSError as exc:
    outcome = exc.strerror
set_output(f"{outcome} {os.path.exists('/tmp/huge') and os.path.getsize('/tmp/huge')}")
''')
    assert result.output == b"No space left on device 0"  # created empty at open, no more


def test_the_older_camel_case_api_and_chaining_by_index(platform):
    result = platform.run('''
from pyfaasm.core import (awaitCall, chainThisWithInput, getFunctionIdx, getInput, getState,
                          setOutput, setState)

def faasm_main():
    if getFunctionIdx() == 0:
        status = awaitCall(chainThisWithInput(2, b"abc"))
        setOutput(b"main saw " + getState("older_k", 5) + b" status " + str(status).encode())
    else:
        setState("older_k", getInput().upper() + str(getFunctionIdx()).encode() + b"!")
''')
    assert result.output == b"main saw ABC2! status 0"


def test_the_older_api_local_chaining_by_registered_index(platform):
    result = platform.run('''
from pyfaasm.core import (chainThisWithInput, registerFunction, setLocalChaining,
                          setOutput)

seen = []
registerFunction(1, seen.append)
setLocalChaining(True)
chainThisWithInput(1, b"ran here")
setOutput(seen[0])
''')
    assert result.output == b"ran here"
