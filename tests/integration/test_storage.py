"""The storage contract, run against every backend: local, fileserver and S3.

Fileserver runs against a real upload API (gunicorn) keeping its storage in
a directory; S3 against moto's S3-compatible server. Keys live under
``shared/``, the one prefix every backend can write through.
"""

import os
import threading

import pytest

from faasm.errors import BadRequest, NotFound
from faasm.settings import Settings
from faasm.storage import open_storage
from tests import fresh_database


@pytest.fixture(params=["local", "fileserver", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return open_storage(str(tmp_path / "storage"))
    return request.getfixturevalue("remote_storage")(request.param)


def test_write_read_version(storage):
    assert storage.version("shared/a/b.bin") is None
    storage.write("shared/a/b.bin", b"\x00one")
    first = storage.version("shared/a/b.bin")
    assert storage.read("shared/a/b.bin") == b"\x00one" and first is not None
    storage.write("shared/a/b.bin", b"\x00two")
    assert storage.version("shared/a/b.bin") != first
    assert storage.read("shared/a/b.bin") == b"\x00two"
    assert storage.exists("shared/a/b.bin") and not storage.exists("shared/a")


def test_missing_is_not_found(storage):
    with pytest.raises(NotFound):
        storage.read("shared/nope")
    storage.delete("shared/nope")


def test_delete(storage):
    storage.write("shared/gone", b"x")
    storage.delete("shared/gone")
    assert storage.version("shared/gone") is None
    with pytest.raises(NotFound):
        storage.read("shared/gone")


def test_empty_blob(storage):
    storage.write("shared/empty", b"")
    assert storage.read("shared/empty") == b"" and storage.exists("shared/empty")


def test_list_gives_every_blob_below_with_its_version(storage):
    assert storage.list("shared/") == {}
    for key in ("shared/a", "shared/d/b", "shared/d/e/c", "shared/other/x"):
        storage.write(key, key.encode())
    listed = storage.list("shared/d/")
    assert listed == {"shared/d/b": storage.version("shared/d/b"),
                      "shared/d/e/c": storage.version("shared/d/e/c")}
    assert len(storage.list("shared/")) == 4


def test_bad_keys_are_bad_requests(storage):
    for key in ("../x", "shared/../x", "/shared/x", "shared//x", "shared/x\x00"):
        with pytest.raises(BadRequest):
            storage.read(key)
    with pytest.raises(BadRequest):
        storage.list("shared")  # a prefix ends with /


def test_directory_conflicts_are_bad_requests(storage):
    storage.write("shared/x/y", b"1")
    with pytest.raises(BadRequest):
        storage.write("shared/x", b"2")
    with pytest.raises(BadRequest):
        storage.write("shared/x/y/z", b"3")
    with pytest.raises(NotFound):
        storage.read("shared/x")
    assert storage.read("shared/x/y") == b"1"


def test_readers_never_see_a_torn_blob(storage):
    old, new = b"a" * 1_000_000, b"b" * 1_000_000
    storage.write("shared/big", old)
    seen = set()
    done = threading.Event()

    def read():
        while not done.is_set():
            data = storage.read("shared/big")
            seen.add((len(data), data[:1], data[-1:]))

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(10):
        storage.write("shared/big", new)
        storage.write("shared/big", old)
    done.set()
    reader.join()
    assert seen <= {(1_000_000, b"a", b"a"), (1_000_000, b"b", b"b")}
    assert len(seen) >= 1


def test_artifacts_are_cached_on_the_host(storage, tmp_path):
    """Content-addressed keys: a real local file to map, whatever the backend."""
    key = "artifacts/" + "0" * 64 + "-engine.cwasm"
    with pytest.raises(NotFound):
        storage.open(key)
    storage.write(key, b"machine code")
    with storage.open(key) as f:
        assert os.pread(f.fileno(), 100, 0) == b"machine code"
    assert storage.read(key) == b"machine code"


# Backend-specific rules.

def test_local_refuses_symlinks_out_of_the_root(tmp_path):
    storage = open_storage(str(tmp_path / "storage"))
    (tmp_path / "secret").write_bytes(b"host file")
    storage.write("shared/ok", b"1")
    os.symlink(tmp_path, tmp_path / "storage/shared/escape")
    os.symlink(tmp_path / "secret", tmp_path / "storage/shared/leak")
    for key in ("shared/escape/secret", "shared/leak"):
        with pytest.raises(NotFound):
            storage.read(key)
    with pytest.raises(BadRequest):
        storage.write("shared/escape/new", b"x")
    assert not (tmp_path / "new").exists()
    assert storage.list("shared/") == {"shared/ok": storage.version("shared/ok")}


def test_fileserver_writes_only_shared_files(upload_api, tmp_path):
    plat, root = upload_api
    storage = open_storage(plat.upload_url, Settings().replace(data_dir=tmp_path))
    with pytest.raises(BadRequest):
        storage.write("functions/u/f/function.wasm", b"\0asm")
    assert not (root / "functions/u/f/function.wasm").exists()
    key = "artifacts/" + "1" * 64 + "-engine.cwasm"
    storage.write(key, b"compiled here")  # kept on this host only
    assert not (root / key).exists() and storage.read(key) == b"compiled here"
    (root / "functions/u/g").mkdir(parents=True)
    (root / "functions/u/g/function.wasm").write_bytes(b"\0asm-bytes")
    assert storage.read("functions/u/g/function.wasm") == b"\0asm-bytes"


def test_fileserver_routes_refuse_other_writes(upload_api):
    import requests

    plat, root = upload_api
    url = f"{plat.upload_url}/storage/blob"
    r = requests.put(url, params={"key": "artifacts/x.cwasm"}, data=b"evil")
    assert r.status_code == 403 and not (root / "artifacts/x.cwasm").exists()
    assert requests.delete(url, params={"key": "functions/u/g/function.wasm"}).status_code == 403
    assert requests.get(url, params={"key": "../etc/passwd"}).status_code == 400
    assert requests.get(url).status_code == 400
    assert requests.get(f"{plat.upload_url}/storage/list",
                        params={"prefix": "shared"}).status_code == 400


def test_unreachable_remote_storage_is_unavailable(tmp_path):
    from faasm.errors import Unavailable

    settings = Settings().replace(data_dir=tmp_path, s3_endpoint_url="http://127.0.0.1:9")
    for url in ("http://127.0.0.1:9", "s3://bucket/prefix"):
        with pytest.raises(Unavailable):
            open_storage(url, settings).version("shared/x")


def test_open_storage_refuses_unknown_schemes():
    with pytest.raises(ValueError):
        open_storage("ftp://host/x")


def test_fileserver_with_auth_on_needs_the_admin_token(redis_url, tmp_path):
    from deploy.processes import Platform
    from faasm.errors import Unavailable

    admin = "admin-token-" + "s" * 32
    plat = Platform(fresh_database(redis_url), tmp_path / "api", FAASM_AUTH="on",
                    FAASM_ADMIN_TOKEN=admin).start_upload()
    try:
        settings = Settings().replace(data_dir=tmp_path / "worker")
        with pytest.raises(Unavailable, match="FAASM_ADMIN_TOKEN"):
            open_storage(plat.upload_url, settings.replace(admin_token="")).list("shared/")
        storage = open_storage(plat.upload_url, settings.replace(admin_token=admin))
        storage.write("shared/x", b"with the admin token")
        assert storage.read("shared/x") == b"with the admin token"
    finally:
        plat.stop()
