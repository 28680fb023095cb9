import itertools
import os
import shutil

import pytest

from deploy.processes import Platform
from faasm.settings import Settings
from faasm.storage import open_storage

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
