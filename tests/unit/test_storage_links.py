"""Links in the shared files never lead storage anywhere (no network, real filesystem).

Each test plants what a guest could make in ``shared/`` (a symlink to
``..``, to artifacts, to another user's function, an absolute one, one in
an intermediate component, a hard link, a FIFO) and checks that no storage
operation follows it. The HTTP-level attacks are in
tests/integration/test_isolation.py.
"""

import logging
import os
import threading
import time

import pytest

from faasm.calls import Call
from faasm.errors import BadRequest, NotFound, TooLarge
from faasm.files import CallFiles, SharedFiles
from faasm.functions import Functions, artifact_key, content_hash
from faasm.runtime.compile import upload_wasm
from faasm.runtime.engine import engine_key
from faasm.runtime.executor import WasmRuntime
from faasm.settings import Settings
from faasm.storage import nofollow, open_storage
from faasm.storage.artifacts import TAG_SUFFIX, Artifacts, host_secret
from tests import wat

ALICE_PY = "functions/alice/secret/function.py"


@pytest.fixture(autouse=True, params=["openat2", "one component at a time"])
def resolution(request, monkeypatch):
    """Every test both ways paths are opened: by openat2 where the kernel has it, and by
    the walk other kernels get (faasm/storage/nofollow.py)."""
    if request.param == "openat2":
        if not nofollow._openat2.works:
            pytest.fail("this kernel has no openat2 (Linux >= 5.6)")
    else:
        monkeypatch.setattr(nofollow._openat2, "works", False)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "storage"


@pytest.fixture
def storage(root):
    storage = open_storage(str(root))
    Functions(storage).put_python("alice", "secret", b"TOKEN = 'alice'\n")
    storage.write("shared/alice/private", b"alice's file")
    storage.write("shared/bob/own", b"bob's file")
    return storage


LINKS = {  # name under shared/bob -> target, as a guest would write them
    "up": "..",
    "top": "../..",
    "artifacts": "../../artifacts",
    "functions": "../../functions/alice",
    "alice": "../alice",
    "abs": "/",
}


def plant(root, links=LINKS):
    for name, target in links.items():
        os.symlink(target, root / "shared/bob" / name)


def snapshot(root):
    """Every path under the storage root's parent with its bytes (files) or target (links)."""
    found = {}
    for dirpath, dirs, files in os.walk(root.parent):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                found[path] = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    found[path] = f.read()
    return found


def test_no_operation_follows_a_link(storage, root):
    plant(root)
    before = snapshot(root)
    files = SharedFiles(storage)
    for name in LINKS:
        for rest in ("secret/function.py", "private", "function.py", "etc/passwd", "x"):
            path = f"bob/{name}/{rest}"
            with pytest.raises(NotFound):
                files.get(path)
            with pytest.raises(BadRequest):
                files.put(path, b"evil")
            assert storage.version("shared/" + path) is None
            storage.delete("shared/" + path)
        with pytest.raises(NotFound):
            files.get(f"bob/{name}")  # the link itself is no file
    assert snapshot(root) == before
    assert set(storage.list("shared/")) == {"shared/alice/private", "shared/bob/own"}
    assert storage.read(ALICE_PY) == b"TOKEN = 'alice'\n"


def test_writing_over_a_link_replaces_the_link_not_its_target(storage, root):
    os.symlink("../alice/private", root / "shared/bob/innocent")
    SharedFiles(storage).put("bob/innocent", b"bob's bytes")
    assert not os.path.islink(root / "shared/bob/innocent")
    assert storage.read("shared/alice/private") == b"alice's file"


def test_a_hard_link_is_its_own_file(storage, root):
    os.link(root / "shared/alice/private", root / "shared/bob/hard")
    SharedFiles(storage).put("bob/hard", b"replaced")  # a rename: a new inode
    assert storage.read("shared/alice/private") == b"alice's file"


def test_special_files_are_not_read(storage, root):
    os.mkfifo(root / "shared/bob/fifo")
    started = time.monotonic()
    with pytest.raises(NotFound):
        SharedFiles(storage).get("bob/fifo")
    assert time.monotonic() - started < 1


def test_a_racing_repoint_never_writes_outside(storage, root, tmp_path):
    """A directory flipped to a link to outside and back while writes go on."""
    outside = tmp_path / "outside"
    outside.mkdir()
    target = root / "shared/bob/d"
    stop = threading.Event()

    def flip():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                os.mkdir(target)
                os.rename(target, root / f"shared/bob/old{n}")  # keeps what landed
                os.symlink(outside, target)
                os.unlink(target)
            except OSError:
                pass

    flipper = threading.Thread(target=flip)
    flipper.start()
    written = set()
    try:
        deadline = time.monotonic() + 3
        for i in range(400):
            if time.monotonic() > deadline:
                break
            try:
                storage.write(f"shared/bob/d/f{i}", b"x")
                written.add(f"f{i}")
            except BadRequest:
                pass
    finally:
        stop.set()
        flipper.join()
    assert list(outside.iterdir()) == []
    landed = {path.name for path in (root / "shared/bob").rglob("f*")}
    assert landed == written  # every write that succeeded is inside storage


def test_no_directory_is_made_outside(storage, root, tmp_path):
    os.symlink(tmp_path, root / "shared/bob/out")
    with pytest.raises(BadRequest):
        storage.write("shared/bob/out/new/deeper/f", b"x")
    assert not (tmp_path / "new").exists()


def test_long_and_strange_keys_are_bad_requests(storage):
    files = SharedFiles(storage)
    for path in ("bob/" + "a" * 256, "bob/" + "é" * 128, "bob/\x00x", "../x", "/etc/x",
                 "bob/../../x", "faasm://../x"):
        with pytest.raises(BadRequest):
            files.put(path, b"x")
    files.put("faasm://bob/%2e%2e/x", b"literal")  # a name, not an escape
    assert storage.read("shared/bob/%2e%2e/x") == b"literal"


def test_mirror_follows_no_link(tmp_path):
    """The remote backends' mirror: a link a guest left in it is removed, never followed."""
    storage = open_storage(str(tmp_path / "remote"))
    storage.write("shared/bob/d/f", b"remote")
    outside = tmp_path / "outside"
    outside.mkdir()

    class Remote:  # the local backend seen as remote, so calls get a mirror
        def __getattr__(self, name):
            return getattr(storage, name)

        is_remote = True
        cache_dir = tmp_path / "cache"

    files = CallFiles(Remote(), mirror_root=tmp_path / "mirrors")
    with files.mount() as mount:
        os.rename(mount.path / "bob/d", mount.path / "bob/was-d")
        os.symlink(outside, mount.path / "bob/d")
        os.symlink(outside, mount.path / "bob/e")
        mount.commit()
        mirror_dir = mount.path
    assert set(storage.list("shared/")) == {"shared/bob/was-d/f"}  # the links: not stored
    storage.write("shared/bob/d/f", b"remote again")
    os.symlink(outside, mirror_dir / "bob/d")  # left between calls
    with files.mount() as mount:  # the sync places bob/d/f in a real directory
        assert (mount.path / "bob/d/f").read_bytes() == b"remote again"
        assert not (mount.path / "bob/d").is_symlink() and not (mount.path / "bob/e").exists()
    assert list(outside.iterdir()) == []


def test_shared_file_quota(storage):
    files = SharedFiles(storage, quota=100)
    files.put("carol/a", b"x" * 60)
    files.put("carol/a", b"x" * 90)  # a replaced file counts once
    with pytest.raises(TooLarge, match="FAASM_SHARED_FILE_QUOTA"):
        files.put("carol/b", b"x" * 20)
    files.put("dave/b", b"x" * 100)  # each owner has their own
    files.put("top", b"x" * 100)
    with pytest.raises(TooLarge, match="top level"):
        files.put("top2", b"x")


# -- machine code ------------------------------------------------------------------

@pytest.fixture
def runtime(tmp_path):
    storage = open_storage(str(tmp_path / "storage"))
    settings = Settings().replace(data_dir=tmp_path, timeout_mode="epoch")
    artifacts = Artifacts(storage, host_secret(tmp_path))
    return WasmRuntime(settings, storage), storage, artifacts


def test_a_tampered_artifact_is_recompiled_not_run(runtime, caplog):
    rt, storage, artifacts = runtime
    upload_wasm(storage, "t", "f", wat.HELLO, epoch=True, artifacts=artifacts)
    key = artifact_key(content_hash(wat.HELLO), engine_key(True))
    genuine = storage.read(key)
    # Another module's genuine machine code, planted under this one's name.
    upload_wasm(storage, "t", "g", wat.ECHO, epoch=True, artifacts=artifacts)
    other = storage.read(artifact_key(content_hash(wat.ECHO), engine_key(True)))
    storage.write(key, other)
    with caplog.at_level(logging.INFO):
        result = rt.execute(Call(id=1, user="t", function="f", input=b"x"))
    assert result.output == b"out:x"
    assert "failed authentication" in caplog.text and "Compiled" in caplog.text
    assert storage.read(key) != other and len(genuine) > 0


def test_an_artifact_without_its_tag_is_not_loaded(runtime):
    rt, storage, artifacts = runtime
    key = artifact_key(content_hash(wat.HELLO), engine_key(True))
    upload_wasm(storage, "t", "f", wat.HELLO, epoch=True, artifacts=artifacts)
    storage.delete(key + TAG_SUFFIX)
    assert artifacts.open(key) is None
    assert rt.execute(Call(id=1, user="t", function="f", input=b"y")).output == b"out:y"
    assert artifacts.open(key) is not None  # recompiled and signed


def test_another_key_does_not_verify(tmp_path):
    storage = open_storage(str(tmp_path / "s"))
    Artifacts(storage, b"k" * 32).put("artifacts/a.cwasm", b"code")
    assert Artifacts(storage, b"j" * 32).open("artifacts/a.cwasm") is None
    assert Artifacts(storage, b"k" * 32).open("artifacts/a.cwasm").read() == b"code"
    assert host_secret(tmp_path) == host_secret(tmp_path) != host_secret(tmp_path, "x" * 32)
    assert oct(os.stat(tmp_path / "keys/artifact.key").st_mode & 0o777) == "0o600"


def test_nofollow_walk_lists_links_without_entering(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d/f").write_bytes(b"1")
    os.symlink("/", tmp_path / "d/root")
    found = dict(nofollow.walk_files(str(tmp_path), ["d"]))
    assert set(found) == {"f", "root"}


def test_a_forked_child_walks_from_a_root_of_its_own(tmp_path):
    """The root's descriptor is per process: a child that closed what it inherited (as a
    pool may) still reads, and never closes the number it inherited."""
    from faasm.storage.local import LocalStorage

    storage = LocalStorage(tmp_path)
    storage.write("a/b", b"1")
    inherited = storage._root
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        os.close(inherited)
        reused = os.open(tmp_path, os.O_RDONLY)  # the lowest free number: the inherited one
        ok = storage.read("a/b") == b"1" and storage._root != inherited
        del storage
        import gc

        gc.collect()
        os._exit(0 if ok and os.fstat(reused) else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert storage.read("a/b") == b"1" and storage._root == inherited


def test_each_write_of_a_key_is_a_new_version_even_where_the_clock_is_coarse(tmp_path):
    """A version is (inode, mtime, size), and an upload's temp file often gets the replaced
    file's inode number: each write's mtime is later than the one it replaces, so a clock
    that has not moved (a coarse one, simulated by a replaced file from the future) still
    gives a new version."""
    from faasm.storage.local import LocalStorage

    storage = LocalStorage(tmp_path)
    key, path = "functions/u/f/function.py", tmp_path / "functions/u/f/function.py"
    storage.write(key, b"print('A')")
    future = time.time_ns() + 10**10  # every later write's clock reads before this instant
    os.utime(path, ns=(future, future))
    versions = [storage.version(key)]
    for data in (b"print('B')", b"print('C')"):
        storage.write(key, data)
        versions.append(storage.version(key))
    assert len(set(versions)) == 3, versions
    assert os.stat(path).st_mtime_ns == future + 2
