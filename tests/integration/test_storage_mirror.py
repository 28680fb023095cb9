"""Shared files of calls over remote storage: the per-process mirror (CallFiles.mount)."""

import os

import pytest

from faasm.files import CallFiles, SharedFiles
from faasm.storage import open_storage


@pytest.fixture(params=["fileserver", "s3"])
def storage(request, remote_storage):
    return remote_storage(request.param)


@pytest.fixture
def files(storage, tmp_path):
    return CallFiles(storage, mirror_root=tmp_path / "mirrors")


def test_a_call_sees_the_shared_files_and_its_writes_land_when_it_succeeds(storage, files):
    shared = SharedFiles(storage)
    shared.put("in/data.txt", b"input")
    shared.put("old.txt", b"old")
    with files.mount() as mount:
        assert (mount.path / "in/data.txt").read_bytes() == b"input"
        (mount.path / "out").mkdir()
        (mount.path / "out/result.txt").write_bytes(b"result")
        (mount.path / "in/data.txt").write_bytes(b"changed")
        (mount.path / "old.txt").unlink()
        assert files.read_for_call("out/result.txt") == b"result"  # the call's own view
        assert storage.version("shared/out/result.txt") is None  # not before success
        mount.commit()
    assert shared.get("out/result.txt") == b"result"
    assert shared.get("in/data.txt") == b"changed"
    assert not storage.exists("shared/old.txt")


def test_a_failed_call_changes_nothing_and_the_next_call_sees_storage(storage, files):
    shared = SharedFiles(storage)
    shared.put("keep.txt", b"keep")
    with files.mount() as mount:
        (mount.path / "keep.txt").write_bytes(b"scribbled")
        (mount.path / "new.txt").write_bytes(b"new")
        (mount.path / "keep.txt").rename(mount.path / "moved.txt")
    assert storage.list("shared/") == {"shared/keep.txt": storage.version("shared/keep.txt")}
    with files.mount() as mount:
        assert sorted(p.name for p in mount.path.rglob("*")) == ["keep.txt"]
        assert (mount.path / "keep.txt").read_bytes() == b"keep"


def test_other_writers_changes_appear_at_the_next_call(storage, files):
    shared = SharedFiles(storage)
    shared.put("a.txt", b"one")
    shared.put("d", b"a file")
    with files.mount() as mount:
        assert (mount.path / "a.txt").read_bytes() == b"one"
    shared.put("a.txt", b"two")
    storage.delete("shared/d")
    shared.put("d/now-a-dir.txt", b"inside")
    with files.mount() as mount:
        assert (mount.path / "a.txt").read_bytes() == b"two"
        assert (mount.path / "d/now-a-dir.txt").read_bytes() == b"inside"
    storage.delete("shared/a.txt")
    with files.mount() as mount:
        assert not (mount.path / "a.txt").exists()


def test_a_file_written_back_is_fetched_again_if_another_host_rewrites_it(storage, files):
    with files.mount() as mount:
        (mount.path / "x.txt").write_bytes(b"mine")
        mount.commit()
    SharedFiles(storage).put("x.txt", b"theirs")
    with files.mount() as mount:
        assert (mount.path / "x.txt").read_bytes() == b"theirs"


def test_symlinks_made_by_a_call_are_never_followed_or_uploaded(storage, files, tmp_path):
    (tmp_path / "secret").write_bytes(b"host secret")
    with files.mount() as mount:
        os.symlink(tmp_path / "secret", mount.path / "leak")
        os.symlink(tmp_path, mount.path / "escape")
        mount.commit()
        assert not os.path.lexists(mount.path / "leak")
    assert storage.list("shared/") == {}
    assert (tmp_path / "secret").read_bytes() == b"host secret"


def test_inline_chained_calls_share_the_callers_mirror(storage, files):
    SharedFiles(storage).put("f.txt", b"base")
    with files.mount() as parent:
        (parent.path / "f.txt").write_bytes(b"parent's")
        with files.mount() as child:  # a chained call run inline: no re-sync
            assert (child.path / "f.txt").read_bytes() == b"parent's"
            (child.path / "g.txt").write_bytes(b"child's")
            child.commit()
        assert SharedFiles(storage).get("g.txt") == b"child's"
        parent.commit()
    assert SharedFiles(storage).get("f.txt") == b"parent's"


def test_local_storage_mounts_the_storage_itself(tmp_path):
    storage = open_storage(str(tmp_path / "storage"))
    files = CallFiles(storage)
    with files.mount() as mount:
        assert mount.path == tmp_path / "storage/shared"
        (mount.path / "x").write_bytes(b"at once")
        assert SharedFiles(storage).get("x") == b"at once"


def test_flush_drops_the_process_copy(storage, files):
    SharedFiles(storage).put("cached.txt", b"v1")
    with files.mount() as mount:
        first_dir = mount.path
        assert (mount.path / "cached.txt").read_bytes() == b"v1"
    files.flush()
    assert not first_dir.exists()
    with files.mount() as mount:  # fetched again on next use
        assert (mount.path / "cached.txt").read_bytes() == b"v1"
