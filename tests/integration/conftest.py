import pytest
import requests

from deploy.processes import Platform
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
