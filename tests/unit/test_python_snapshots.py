"""Python calls from images (docs/SNAPSHOTS.md): isolation, staleness, fallback.

The rest of the Python suite (test_python_runtime.py) runs on the same path: its
runtimes use images by default, which ``test_the_suite_runs_from_images`` checks.
"""

import logging
import time
import uuid

import pytest
import redis

from faasm.calls import Call
from faasm.errors import CallFailed, CallTimedOut, LimitExceeded, NotFound
from faasm.files import CallFiles
from faasm.functions import Functions
from faasm.runtime.python import PythonRuntime
from faasm.runtime.python import snapshot as snapshot_module
from faasm.runtime.services import Services
from faasm.settings import MiB, Settings
from faasm.state import GlobalState
from faasm.storage import open_storage
from tests.unit.test_python_runtime import CACHE, platform, storage  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    runtime = PythonRuntime(Settings().replace(python_cache_path=CACHE),
                            open_storage(str(tmp_path_factory.mktemp("warm"))))
    runtime.prewarm()
    if runtime.snapshots is None:
        pytest.fail("images are unavailable: the set-up step (python -m "
                    "faasm.runtime.python) compiles the code module")


@pytest.fixture
def py(warm, tmp_path, redis_url):
    store = open_storage(str(tmp_path / "store"))
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings().replace(redis_url=redis_url, key_prefix=prefix,
                                  python_cache_path=CACHE, memory_limit=256 * MiB,
                                  stdout_limit=1000, call_timeout=30.0)
    services = Services(state=GlobalState(redis.Redis.from_url(redis_url), prefix),
                        files=CallFiles(store))
    runtime = PythonRuntime(settings, store, services)
    ids = iter(range(1, 1 << 30))

    class Py:
        state = services.state

        @staticmethod
        def upload(source: str, function: str = "f") -> None:
            Functions(store).put_python("u", function, source.encode())

        @staticmethod
        def call(function: str = "f", **call):
            return runtime.execute(Call(id=next(ids), user="u", function=function,
                                        python=True, **call))

    Py.runtime = runtime
    return Py


def made_images(monkeypatch) -> list:
    """The file names of the images made or loaded from disk from now on."""
    made = []
    real = snapshot_module.Snapshots._load_or_make

    def counting(self, key, source, filename):
        made.append(filename)
        return real(self, key, source, filename)

    monkeypatch.setattr(snapshot_module.Snapshots, "_load_or_make", counting)
    return made


def test_calls_start_from_one_image_per_version(py, monkeypatch):
    made = made_images(monkeypatch)
    py.upload('import json\nprint(json.dumps([1]))')
    assert [py.call().stdout for _ in range(3)] == [b"[1]\n"] * 3
    assert made == ["u/f.py"]
    assert py.runtime.snapshots._kept


def test_a_calls_writes_are_never_seen_by_the_next(py):
    py.upload('''
import json, os, sys
from pyfaasm.core import set_output
seen = [getattr(json, "left_by_a_call", None), os.environ.get("LEFT"), os.getcwd(),
        sorted(os.listdir("/tmp")), "leftover" in sys.modules]
json.left_by_a_call = "yes"
os.environ["LEFT"] = "yes"
sys.modules["leftover"] = json
open("/tmp/left.txt", "w").write("x")
os.mkdir("/tmp/d")
os.chdir("/tmp/d")
set_output(repr(seen))
''')
    outputs = {py.call().output for _ in range(3)}
    assert outputs == {b"[None, None, '/', [], False]"}


def test_stdout_and_stderr_are_captured_however_written(py):
    py.upload('''import os, sys
os.write(1, b"raw\\n")
print("printed", flush=True)
os.write(2, b"err\\n")
print("late", file=sys.stderr)
''')
    for _ in range(2):
        result = py.call()
        assert (result.stdout, result.stderr) == (b"raw\nprinted\n", b"err\nlate\n")


def test_a_closed_stdout_is_wasmtimes_again(py):
    py.upload('''import errno, os, sys
print("before", flush=True)
os.close(1)
try:
    os.write(1, b"after\\n")
except OSError as exc:
    print(exc.errno == errno.EBADF, file=sys.stderr)
''')
    result = py.call()
    assert result.stdout == b"before\n"
    assert result.stderr == b"True\n"  # as wasmtime answers a closed descriptor


def test_inputs_too_big_for_the_turn_come_through_the_door(py):
    from faasm.runtime.python.door import INLINE_CALL

    py.upload('''from pyfaasm.core import get_input, set_output
set_output(get_input()[::-1])
''')
    for size in (0, 10, INLINE_CALL, INLINE_CALL + 1, 4 * INLINE_CALL):
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        assert py.call(input=data).output == data[::-1]


def test_random_numbers_differ_between_calls(py):
    py.upload('''import random
import numpy as np
from pyfaasm.core import set_output
set_output(f"{random.random()} {np.random.random()}")
''')
    outputs = [py.call().output for _ in range(3)]
    assert len(set(outputs)) == 3


def test_a_reupload_is_never_run_from_the_old_image(py):
    py.upload('print("one")')
    assert py.call().stdout == b"one\n"
    py.upload('print("two")')
    assert py.call().stdout == b"two\n"
    py.upload('print("one")')
    assert py.call().stdout == b"one\n"


def test_state_chaining_stdout_and_limits_hold(platform):  # noqa: F811 - the fixture
    platform.state.set("u", "k", b"value")
    source = '''
import sys
from pyfaasm.core import await_call_output, chain, read_state, set_output, write_state

def child(data):
    set_output(data.upper())

def faasm_main():
    print("x" * 2000)
    print("err", file=sys.stderr)
    write_state("written", read_state("k") + b"!")
    set_output(await_call_output(chain(child, b"chained"))[1])
'''
    result = platform.run(source)
    assert result.output == b"CHAINED"
    assert result.stdout == b"x" * 1000 + b"\n[truncated: 1000 byte limit]\n"
    assert result.stderr == b"err\n"
    assert platform.state.get("u", "written") == b"value!"
    started = time.monotonic()
    with pytest.raises(CallTimedOut, match="exceeded its 1 s timeout"):
        platform.run("while True: pass", timeout=1.0)
    assert time.monotonic() - started < 5
    with pytest.raises(LimitExceeded, match="256 MiB memory limit"):
        platform.run("x = bytearray(512 * 1024 * 1024)")
    assert platform.run(source).output == b"CHAINED"
    assert platform.python.snapshots is not None and platform.python.snapshots._kept


def test_an_image_that_cannot_be_made_falls_back(warm, tmp_path, caplog):
    packages = tmp_path / "site"
    packages.mkdir()
    (packages / "leaky.py").write_text("KEPT = open('/tmp/kept', 'w')\n")
    store = open_storage(str(tmp_path / "store"))
    runtime = PythonRuntime(Settings().replace(python_cache_path=CACHE,
                                               python_packages=str(packages)), store)
    Functions(store).put_python("u", "leaks", b"import leaky\nprint('ran')\n")
    with caplog.at_level(logging.WARNING, logger="faasm.runtime.python"):
        results = [runtime.execute(Call(id=i, user="u", function="leaks", python=True))
                   for i in (1, 2)]
    assert [r.stdout for r in results] == [b"ran\n"] * 2
    warnings = [r.getMessage() for r in caplog.records if "No image" in r.getMessage()]
    assert len(warnings) == 1 and "file(s) open" in warnings[0], warnings


def kept_instances(py) -> list:
    """The instances kept, once those of the calls made are put back (after each result)."""
    warm = py.runtime.snapshots.sandbox.warm
    assert warm.settled()
    return [i for idle in warm._idle.values() for i in idle]


def test_a_kept_instance_is_its_image_again_after_each_call(py):
    import ctypes

    from faasm.runtime.python.sandbox import _address

    py.upload('''import sys
from pyfaasm.core import get_input, set_output
kept = sys.modules.setdefault("kept", [])
kept.append(bytearray(get_input() * 50000))  # pages written across the heap
if get_input() == b"raise":
    raise ValueError("no")
set_output(str(len(kept)).encode())
''')
    assert py.call(input=b"ab").output == b"1"
    (instance,) = kept_instances(py)
    for data in (b"cd", b"efgh"):
        assert py.call(input=data).output == b"1"  # nothing of the last call is seen
        assert kept_instances(py) == [instance]  # the same store and instance, reused
    with pytest.raises(CallFailed):
        py.call(input=b"raise")
    # Its traceback read the runner's source (a file of wasmtime's): that instance is not
    # kept (test_descriptor_numbers_say_nothing_of_earlier_calls), the next call's is.
    assert py.call(input=b"ij").output == b"1"
    (instance,) = kept_instances(py)
    store, memory = instance.store, instance.memory
    size = memory.data_len(store)
    assert size == instance.pristine.size
    assert ctypes.string_at(_address(memory, store), size) == \
        ctypes.string_at(instance.pristine.address, size)
    assert [g.value(store) for g, _ in instance.pristine.globals] == \
        [value for _, value in instance.pristine.globals]


@pytest.mark.parametrize("ending", [
    "while True:\n    pass",  # stopped at its timeout: a trap
    "import os\nos.close(1)",
    "import os\nos.close(3)",  # a grant's descriptor
    "import sys\nsys.modules['f'] = open('faasm://left-open', 'w')",
    "import sys\nsys.modules['big'] = bytearray(64 << 20)",  # the memory grows
    # a number of wasmtime's, opened and closed
    "import os\nos.close(os.open(\"/opt/faasm/pyfaasm/core.py\", os.O_RDONLY))",
])
def test_an_instance_a_call_leaves_changed_is_not_kept(py, ending):
    py.upload(f"print('one', flush=True)\n{ending}\n")
    if "while" in ending:
        with pytest.raises(CallTimedOut):
            py.call(timeout=1.0)
    else:
        py.call()
    assert kept_instances(py) == []
    py.upload('print("next")')
    assert py.call().stdout == b"next\n"
    assert len(kept_instances(py)) == 1


def test_concurrent_calls_each_start_from_the_image(py):
    """Calls of one function on several threads at once: instances are taken, made and put
    back concurrently (several scans and copies at the same time), and no call sees
    another's writes."""
    from concurrent.futures import ThreadPoolExecutor

    py.upload('''import sys
from pyfaasm.core import get_input, set_output
kept = sys.modules.setdefault("kept", [])
kept.append(bytearray(get_input() * 20000))
set_output(str(len(kept)).encode())
''')
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda i: py.call(input=b"%d" % i).output, range(24)))
    assert outputs == [b"1"] * 24
    assert 1 <= len(kept_instances(py)) <= 4


def test_descriptor_numbers_say_nothing_of_earlier_calls(py):
    """wasmtime hands freed descriptor numbers out again, highest first: a call that opened
    and closed files must not change the numbers the next call gets (found by an attack on
    kept instances: the numbers carried how many files an earlier call held)."""
    py.upload('''import os
from pyfaasm.core import get_input, set_output
held = [os.open("/opt/faasm/pyfaasm/core.py", os.O_RDONLY) for _ in range(int(get_input()))]
for fd in held:
    os.close(fd)
fd = os.open("/opt/faasm/pyfaasm/core.py", os.O_RDONLY)
os.close(fd)
set_output(str(fd).encode())
''')
    first = py.call(input=b"0").output
    for held in (b"7", b"0", b"3", b"0"):
        py.call(input=held)
        assert py.call(input=b"0").output == first


def test_a_failed_calls_traceback_is_in_its_stderr_once(py):
    py.upload('import sys\ndef faasm_main():\n    print("before", file=sys.stderr)\n'
              '    raise ValueError("boom")\n')
    with pytest.raises(CallFailed) as failed:
        py.call()
    assert failed.value.stderr.startswith(b"before\n")
    assert failed.value.stderr.count(b"ValueError: boom") == 1


def test_a_call_measures_its_owners_files_for_the_quota_only_once_it_reaches_them(
        warm, tmp_path, monkeypatch):
    from faasm.files import SharedFiles

    store = open_storage(str(tmp_path / "store"))
    runtime = PythonRuntime(Settings().replace(python_cache_path=CACHE, memory_limit=256 * MiB,
                                               shared_file_quota=100_000), store)
    measured = []
    usage = SharedFiles.usage
    monkeypatch.setattr(SharedFiles, "usage",
                        lambda self, owner: measured.append(owner) or usage(self, owner))
    Functions(store).put_python("u", "quiet", b'print("hi")\n')
    Functions(store).put_python("u", "writes", b'''
import os
from pyfaasm.core import get_input
size = int(get_input())
os.makedirs("faasm://u", exist_ok=True)
with open("faasm://u/big", "wb") as f:
    f.write(b"x" * size)
''')
    ids = iter(range(1, 1 << 30))

    def run(function, data=b""):
        return runtime.execute(Call(id=next(ids), user="u", function=function, python=True,
                                    input=data))

    assert run("quiet").stdout == b"hi\n" and measured == []
    run("writes", b"1000")
    assert measured == ["u", "u"]  # before its first file call there, and after
    assert (tmp_path / "store/shared/u/big").stat().st_size == 1000
    with pytest.raises(LimitExceeded, match="FAASM_SHARED_FILE_QUOTA"):
        run("writes", b"200000")
    run("writes", b"10")  # over the quota before, and it shrank them: it succeeds
    measured.clear()
    assert run("quiet").stdout == b"hi\n" and measured == []


def test_a_source_is_read_again_only_when_its_version_changed(py, monkeypatch):
    reads = []
    get_python = Functions.get_python
    monkeypatch.setattr(Functions, "get_python",
                        lambda self, *name: reads.append(name) or get_python(self, *name))
    py.upload('print("one")')
    assert [py.call().stdout for _ in range(3)] == [b"one\n"] * 3
    assert reads == [("u", "f")]
    py.upload('print("two")')
    assert py.call().stdout == b"two\n" and len(reads) == 2
    with pytest.raises(NotFound):
        py.call("missing")


def test_the_trap_handler_check_runs_in_full_only_once_a_handler_changed(warm, monkeypatch):
    from faasm.runtime.python import sandbox

    handlers = sandbox._TrapHandlers()
    installed = handlers._addresses()
    assert installed is not None and len(installed) == 3 and installed[0]  # wasmtime's
    full, answer, addresses = [], [None], [installed]
    monkeypatch.setattr(sandbox._platform.PLATFORM, "trap_handlers_ready",
                        lambda: full.append(1) or answer[0])
    monkeypatch.setattr(handlers, "_addresses", lambda: addresses[0])
    assert [handlers.not_ready() for _ in range(3)] == [None] * 3 and len(full) == 1
    addresses[0], answer[0] = (installed[0] + 8, *installed[1:]), "SIGSEGV"  # replaced
    assert [handlers.not_ready() for _ in range(2)] == ["SIGSEGV"] * 2 and len(full) == 3
    addresses[0], answer[0] = installed, None  # put back
    assert [handlers.not_ready() for _ in range(2)] == [None] * 2 and len(full) == 4


def test_files_nested_too_deep_to_measure_fail_the_call_that_leaves_them(warm, tmp_path):
    """The quota's walk enters at most nofollow.MAX_DEPTH levels: a call that leaves a
    deeper directory fails (its files cannot be counted), as does an upload meanwhile; a
    call that removes it ends within quota again."""
    from faasm.errors import TooLarge
    from faasm.files import SharedFiles
    from faasm.storage.nofollow import MAX_DEPTH

    store = open_storage(str(tmp_path / "store"))
    runtime = PythonRuntime(Settings().replace(python_cache_path=CACHE, memory_limit=256 * MiB,
                                               shared_file_quota=100_000), store)
    Functions(store).put_python("u", "deep", b'''
import os, shutil
from pyfaasm.core import get_input
depth, size = map(int, get_input().split())
top = "faasm://u/d"
if depth:
    path = top + "/d" * depth
    os.makedirs(path, exist_ok=True)
    with open(path + "/big", "wb") as f:
        f.write(b"x" * size)
else:
    shutil.rmtree(top)
''')
    ids = iter(range(1, 1 << 30))

    def run(data):
        return runtime.execute(Call(id=next(ids), user="u", function="deep", python=True,
                                    input=data))

    with pytest.raises(LimitExceeded, match="nested over .*FAASM_SHARED_FILE_QUOTA"):
        run(f"{MAX_DEPTH + 20} 1000000".encode())
    with pytest.raises(TooLarge, match="nested over"):
        SharedFiles(store, quota=100_000).put("u/small", b"x")
    run(b"0 0")  # removes the tree
    assert SharedFiles(store).usage("u") == 0
    run(b"5 1000")
