"""FAASM_ZYGOTE: run once per module per worker process; every call starts from its memory."""

import struct
import uuid
from pathlib import Path

import pytest
import redis

from faasm.calls import Call
from faasm.errors import CallFailed
from faasm.files import CallFiles
from faasm.runtime.compile import upload_wasm
from faasm.runtime.executor import WasmRuntime
from faasm.runtime.services import Services
from faasm.runtime.wasmimage import data_segments
from faasm.runtime.zygote import PAGE
from faasm.settings import MiB, Settings
from faasm.state import GlobalState
from faasm.storage import open_storage
from faasm_client.toolchain import build

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).parent.parent / "functions" / "zygote.c"


@pytest.fixture(scope="module")
def wasm(tmp_path_factory):
    out = tmp_path_factory.mktemp("zygote")
    return {"ok": build([SOURCE], out / "ok.wasm").read_bytes(),
            "fails": build([SOURCE], out / "fails.wasm", extra=["-DZYGOTE_FAILS=2"]).read_bytes()}


@pytest.fixture
def platform(tmp_path, redis_url):
    storage = open_storage(str(tmp_path))
    state = GlobalState(redis.Redis.from_url(redis_url), f"zygote-{uuid.uuid4().hex[:8]}")
    services = Services(state=state, files=CallFiles(storage))
    settings = Settings().replace(memory_limit=128 * MiB, timeout_mode="epoch")

    def runtime():
        return WasmRuntime(settings, storage, services)

    return storage, state, runtime


def zygote_runs(state) -> int:
    return struct.unpack("<i", state.get("u", "zygote_runs"))[0]


def test_every_call_starts_from_the_zygotes_memory(platform, wasm):
    storage, state, runtime = platform
    upload_wasm(storage, "u", "z", wasm["ok"], epoch=True)
    worker = runtime()
    outputs = [worker.execute(Call(id=i, user="u", function="z", input=b"x")).output
               for i in range(1, 4)]
    # Globals, heap and grown memory as the zygote left them, never a call's changes.
    assert outputs == [b"counter=6 text=made by the zygote big=1"] * 3
    assert zygote_runs(state) == 1


def test_zygote_output_is_not_the_calls(platform, wasm):
    storage, _, runtime = platform
    upload_wasm(storage, "u", "z", wasm["ok"], epoch=True)
    assert runtime().execute(Call(id=1, user="u", function="z", input=b"quiet")).output == b""


def test_zygote_runs_once_per_worker_process(platform, wasm):
    storage, state, runtime = platform
    upload_wasm(storage, "u", "z", wasm["ok"], epoch=True)
    first, second = runtime(), runtime()
    for worker in (first, second, first, second):
        worker.execute(Call(id=1, user="u", function="z"))
    assert zygote_runs(state) == 2


def test_reupload_runs_the_new_modules_zygote(platform, wasm):
    storage, state, runtime = platform
    worker = runtime()
    upload_wasm(storage, "u", "z", wasm["ok"], epoch=True)
    worker.execute(Call(id=1, user="u", function="z"))
    upload_wasm(storage, "u", "z", wasm["fails"], epoch=True)
    with pytest.raises(CallFailed, match="Zygote of u/z returned 2"):
        worker.execute(Call(id=2, user="u", function="z"))


def test_failing_zygote_fails_every_call(platform, wasm):
    storage, _, runtime = platform
    upload_wasm(storage, "u", "z", wasm["fails"], epoch=True)
    worker = runtime()
    for call_id in (1, 2):
        with pytest.raises(CallFailed, match="Zygote of u/z returned 2"):
            worker.execute(Call(id=call_id, user="u", function="z"))


def test_image_holds_only_the_non_zero_pages():
    memory = bytearray(4 * PAGE)
    memory[PAGE + 5] = 9
    memory[2 * PAGE] = 9
    memory[4 * PAGE - 1] = 1
    runs = data_segments(bytes(memory))
    assert [(offset, len(data)) for offset, data in runs] == [(PAGE, 4096),
                                                             (2 * PAGE, 4096),
                                                             (4 * PAGE - 4096, 4096)]


def test_later_calls_start_from_the_image_not_the_zygote(platform, wasm):
    storage, state, runtime = platform
    upload_wasm(storage, "u", "z", wasm["ok"], epoch=True)
    worker = runtime()
    worker.execute(Call(id=1, user="u", function="z"))
    (kept,) = worker.zygotes._snapshots.values()
    assert kept.size >= 8 << 20 and kept.pages * PAGE >= 8 << 20
    for call_id in (2, 3):
        assert worker.execute(Call(id=call_id, user="u", function="z")).output == \
            b"counter=6 text=made by the zygote big=1"
    assert zygote_runs(state) == 1


def test_snapshots_over_the_budget_are_not_kept(platform, wasm):
    """The zygote's pages (8 MiB and more) exceed a 1 MiB budget: it runs every call,
    and every call still starts from its memory."""
    storage, state, runtime = platform
    upload_wasm(storage, "u", "z", wasm["ok"], epoch=True)
    worker = runtime()
    worker.zygotes.budget = 1 << 20
    for call_id in (1, 2):
        result = worker.execute(Call(id=call_id, user="u", function="z"))
        assert result.output == b"counter=6 text=made by the zygote big=1"
    assert zygote_runs(state) == 2


def test_oldest_snapshot_is_dropped_for_a_new_one(platform, wasm):
    storage, state, runtime = platform
    worker = runtime()
    upload_wasm(storage, "u", "z", wasm["ok"], epoch=True)
    worker.execute(Call(id=1, user="u", function="z"))
    (kept,) = worker.zygotes._snapshots.values()
    worker.zygotes.budget = kept.size + 1  # room for one such snapshot only
    upload_wasm(storage, "u", "other", wasm["ok"] + b"\x00\x05\x04name", epoch=True)
    worker.execute(Call(id=2, user="u", function="other"))
    worker.execute(Call(id=3, user="u", function="z"))  # its snapshot was dropped: runs again
    assert zygote_runs(state) == 3
