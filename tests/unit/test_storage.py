"""The storage contract, run against every backend."""

import threading

import pytest

from faasm.errors import BadRequest, NotFound
from faasm.storage import open_storage


@pytest.fixture(params=["local"])
def storage(request, tmp_path):
    return open_storage(str(tmp_path / "storage"))


def test_write_read_version(storage):
    assert storage.version("a/b.bin") is None
    storage.write("a/b.bin", b"\x00one")
    first = storage.version("a/b.bin")
    assert storage.read("a/b.bin") == b"\x00one" and first is not None
    storage.write("a/b.bin", b"\x00one")  # same bytes, still a new version
    assert storage.version("a/b.bin") != first
    assert storage.exists("a/b.bin")


def test_missing_is_not_found(storage):
    with pytest.raises(NotFound):
        storage.read("nope")
    storage.delete("nope")


def test_empty_blob(storage):
    storage.write("empty", b"")
    assert storage.read("empty") == b"" and storage.exists("empty")


def test_directory_conflicts_are_bad_requests(storage):
    storage.write("x/y", b"1")
    with pytest.raises(BadRequest):
        storage.write("x", b"2")
    with pytest.raises(BadRequest):
        storage.write("x/y/z", b"3")
    with pytest.raises(NotFound):
        storage.read("x")
    assert storage.read("x/y") == b"1"


def test_readers_never_see_a_torn_blob(storage):
    old, new = b"a" * 1_000_000, b"b" * 1_000_000
    storage.write("big", old)
    seen = set()
    done = threading.Event()

    def read():
        while not done.is_set():
            data = storage.read("big")
            seen.add((len(data), data[:1], data[-1:]))

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(20):
        storage.write("big", new)
        storage.write("big", old)
    done.set()
    reader.join()
    assert seen <= {(1_000_000, b"a", b"a"), (1_000_000, b"b", b"b")}


def test_symlinks_never_lead_outside(storage, tmp_path):
    """A function may create symlinks in the shared directory: reads must not follow
    them out of the storage root."""
    if storage.local_path("x") is None:
        pytest.skip("only local storage has host paths")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"host file")
    shared = storage.local_path("shared")
    shared.mkdir(parents=True, exist_ok=True)
    (shared / "link").symlink_to(secret)
    (shared / "rel").symlink_to("../../secret.txt")
    (shared / "dirlink").symlink_to(tmp_path)
    for key in ("shared/link", "shared/rel", "shared/dirlink/secret.txt"):
        with pytest.raises(NotFound):
            storage.read(key)
        assert storage.version(key) is None
    with pytest.raises(BadRequest):
        storage.write("shared/dirlink/planted.txt", b"x")
    assert not (tmp_path / "planted.txt").exists()
