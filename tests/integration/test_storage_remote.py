"""The platform end to end on remote storage: S3 (moto) and fileserver mode.

Workers (and the invoke API) read functions, machine code and shared files
from the remote storage only; the upload API writes it (to S3, or to its
own directory that it serves in fileserver mode).
"""

import pytest
import requests

from deploy.processes import Platform
from tests import fresh_database, wat

#: A Python function reading and writing shared files.
PY_SHOUT = b"""
from pyfaasm.core import get_input, set_output

def faasm_main():
    text = open("faasm://py/in.txt").read()
    with open("faasm://py/out.txt", "w") as f:
        f.write(text.upper() + get_input().decode())
    set_output(b"shouted")
"""


@pytest.fixture(scope="module", params=["fileserver", "s3"])
def remote(request, redis_url, examples, tmp_path_factory):
    url = fresh_database(redis_url)
    data = tmp_path_factory.mktemp(request.param)
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        plat = Platform(url, data, concurrency=1, FAASM_STORAGE="s3://faasm/platform",
                        FAASM_S3_ENDPOINT_URL=endpoint)
    else:
        plat = Platform(url, data, concurrency=1, fileserver=True)
    plat.start()
    try:
        for name, wasm in (("hello", wat.HELLO), ("shared_file", examples["shared_file"])):
            r = requests.put(f"{plat.upload_url}/f/demo/{name}", data=wasm)
            assert r.status_code == 200, r.text
        assert requests.put(f"{plat.upload_url}/p/demo/shout", data=PY_SHOUT).ok
        yield plat
    finally:
        plat.stop()


def invoke(plat, function, input_data=""):
    return requests.post(plat.invoke_url, timeout=60, json={
        "user": "demo", "function": function, "input_data": input_data})


def test_calls_run_and_a_reupload_runs_the_new_code(remote):
    first = invoke(remote, "hello")
    assert first.status_code == 200, first.text + remote.log("worker")[-3000:]
    assert requests.put(f"{remote.upload_url}/f/demo/hello", data=wat.ECHO).ok
    r = invoke(remote, "hello", "now an echo")
    assert r.status_code == 200 and r.content.startswith(b"now an echo"), r.text
    assert invoke(remote, "missing").status_code == 404


def test_shared_files_round_trip_through_a_call(remote):
    r = requests.put(f"{remote.upload_url}/file", data=b"from upload",
                     headers={"FilePath": "examples_shared.txt"})
    assert r.ok
    r = invoke(remote, "shared_file", "written by wasm")
    assert r.status_code == 200 and r.content.startswith(b"written by wasm"), r.text
    r = requests.get(f"{remote.upload_url}/file", headers={"FilePath": "examples_shared.txt"})
    assert r.content == b"written by wasm"


def test_python_functions_read_and_write_shared_files(remote):
    r = requests.put(f"{remote.upload_url}/file", data=b"quiet",
                     headers={"FilePath": "py/in.txt"})
    assert r.ok
    r = invoke(remote, "shout", "!")
    assert r.status_code == 200 and r.content.startswith(b"shouted"), r.text
    r = requests.get(f"{remote.upload_url}/file", headers={"FilePath": "py/out.txt"})
    assert r.content == b"QUIET!"
