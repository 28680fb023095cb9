import itertools
import os
import shutil

import pytest
import requests

from deploy.processes import Platform
from faasm.settings import Settings
from faasm.storage import open_storage
from tests import wat


@pytest.fixture(scope="session")
def platform(redis_url, tmp_path_factory):
    """Real gunicorn (both APIs) + a real Celery worker + real Redis, for the session."""
    plat = Platform(redis_url, tmp_path_factory.mktemp("platform"), concurrency=2,
                    FAASM_MEMORY_LIMIT=str(256 * 1024 * 1024),
                    FAASM_CONF_FLAGS="test_flag",
                    FAASM_MAX_UPLOAD_BYTES=str(8 * 1024 * 1024))
    plat.start()
    try:
        up = requests.put(f"{plat.upload_url}/f/demo/hello", data=wat.HELLO)
        assert up.status_code == 200, up.text
        yield plat.wait_ready()
    finally:
        plat.stop()


@pytest.fixture(scope="session")
def examples(tmp_path_factory):
    """The C/C++ examples built to wasm with the SDK toolchain, by name."""
    from faasm.settings import PROJECT_ROOT
    from faasm_client.toolchain import build

    out = tmp_path_factory.mktemp("examples")
    sources = sorted((PROJECT_ROOT / "examples").glob("*.c*"))
    return {src.stem + ("_cpp" if src.suffix == ".cpp" else ""):
            build([src], out / f"{src.stem}{src.suffix}.wasm").read_bytes()
            for src in sources}


@pytest.fixture
def upload(platform):
    def put(user, function, wasm):
        r = requests.put(f"{platform.upload_url}/f/{user}/{function}", data=wasm)
        assert r.status_code == 200, r.text
    return put


@pytest.fixture
def invoke(platform):
    def post(body, **kwargs):
        return requests.post(platform.invoke_url, json=body, timeout=60, **kwargs)
    return post


_fresh = itertools.count()


@pytest.fixture(scope="session")
def upload_api(tmp_path_factory):
    """An upload API alone (storage needs no Redis), keeping its storage in a directory."""
    data = tmp_path_factory.mktemp("fileserver")
    plat = Platform("redis://127.0.0.1:1/0", data, FAASM_STORAGE=str(data / "storage"))
    plat.start_upload()
    yield plat, data / "storage"
    plat.stop()


@pytest.fixture
def remote_storage(request, tmp_path):
    """``make("fileserver" | "s3")``: an empty remote storage, its cache under tmp_path."""
    settings = Settings().replace(data_dir=tmp_path / "data")

    def make(kind: str):
        if kind == "fileserver":
            plat, root = request.getfixturevalue("upload_api")
            shutil.rmtree(root / "shared", ignore_errors=True)
            return open_storage(plat.upload_url, settings)
        endpoint = request.getfixturevalue("s3_endpoint")
        return open_storage(f"s3://faasm/test-{os.getpid()}-{next(_fresh)}",
                            settings.replace(s3_endpoint_url=endpoint))

    return make
