"""Python functions through the platform: uploaded with /p/, run in the WebAssembly sandbox."""

import base64

import pytest
import requests

SOURCES = {
    "echo": b'''
from pyfaasm.core import get_input, set_output

def faasm_main():
    data = get_input()
    print("got", len(data), "bytes")
    set_output(data[::-1])
''',
    "state": b'''
from pyfaasm.core import read_state, write_state, set_output, read_state_size

def faasm_main():
    size = read_state_size("py_counter")
    n = int(read_state("py_counter", size)) if size else 0
    write_state("py_counter", str(n + 1).encode())
    set_output(str(n + 1).encode())
''',
    "chainer": b'''
from pyfaasm.core import chain, await_call_output, set_output

def shout(data):
    from pyfaasm.core import set_output
    set_output(data.upper())

def faasm_main():
    call_id = chain(shout, b"quiet words")
    status, output = await_call_output(call_id)
    set_output(b"child said: " + output + b" status=" + str(status).encode())
''',
    "boom": b'''
def faasm_main():
    return {}["missing"]
''',
    "numpy_fn": b'''
import numpy as np
from pyfaasm.core import set_output
set_output(str(int(np.arange(10).sum())).encode())
''',
    "escape": b'''
from pyfaasm.core import set_output
results = []
try:
    passwd = open("/etc/passwd").read()  # the sandbox's own minimal one
    results.append("host passwd" if "daemon" in passwd or "bin/bash" in passwd else "own passwd")
except OSError as exc:
    results.append("no passwd")
try:
    import socket
    socket.create_connection(("127.0.0.1", 6379), timeout=1)
    results.append("socket open")
except Exception:
    results.append("no socket")
set_output(",".join(results).encode())
''',
}


@pytest.fixture(scope="module")
def py(platform):
    for name, source in SOURCES.items():
        r = requests.put(f"{platform.upload_url}/p/pyt/{name}", data=source)
        assert r.ok, r.text
    return platform


def call(plat, function, input_data="", faasm_form=False, **extra):
    body = ({"user": "python", "function": "py_func", "py_user": "pyt", "py_func": function,
             "python": True} if faasm_form else {"user": "pyt", "function": function})
    body.update(input_data=input_data, **extra)
    return requests.post(plat.invoke_url, json=body, timeout=120)


@pytest.mark.parametrize("faasm_form", [False, True])
def test_input_output_and_print(py, faasm_form):
    r = call(py, "echo", "hello", faasm_form=faasm_form)
    assert r.status_code == 200, r.text
    # Faasm's answer: the output and a newline; what it printed is in a header.
    assert r.content == b"olleh\n"
    assert base64.b64decode(r.headers["X-Faasm-Stdout"]) == b"got 5 bytes\n"


def test_state_is_shared_with_the_upload_api(py):
    requests.put(f"{py.upload_url}/s/pyt/py_counter", data=b"41")
    assert call(py, "state").text == "42\n"
    assert requests.get(f"{py.upload_url}/s/pyt/py_counter").content == b"42"


def test_chaining_a_function_of_the_same_file(py):
    r = call(py, "chainer")
    assert r.status_code == 200, r.text
    assert r.content == b"child said: QUIET WORDS status=0\n"


def test_uncaught_exception_fails_with_its_reason(py):
    r = call(py, "boom")
    assert r.status_code == 200 and r.headers["X-Faasm-Status"] == "FAILED"
    assert r.text.startswith("Uncaught KeyError") and "missing" in r.text


def test_numpy(py):
    r = call(py, "numpy_fn")
    assert r.status_code == 200 and r.text == "45\n", r.text


def test_host_files_and_sockets_are_out_of_reach(py):
    r = call(py, "escape")
    assert r.status_code == 200 and r.text == "own passwd,no socket\n", r.text
