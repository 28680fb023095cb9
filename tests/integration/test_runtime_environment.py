"""What a function sees around it, through the platform: argv from ``cmdline``,
Faasm's environment variables, its own scratch filesystem and read-only /etc,
stderr in /status/{id}, fixed conf flags; for wasm (examples/runtime_env.c)
and Python functions alike."""

import time
from base64 import b64decode

import pytest
import requests


class Answer:
    """A sync answer as the seed's API gives it: 200 with the output (or a failed
    call's reason) and Faasm's newline; ``status`` is its X-Faasm-Status, SUCCESS or
    FAILED. An async answer is the call ID."""

    def __init__(self, response):
        self.status_code = response.status_code
        self.status = response.headers.get("X-Faasm-Status")
        self.content = response.content
        if self.status is not None and response.status_code == 200:
            assert self.content.endswith(b"\n"), self.content
            self.content = self.content[:-1]
        self.text = self.content.decode("utf-8", "replace")
        self.ok = response.ok


def call(platform, function, input_data="", user="rt", **extra):
    body = {"user": user, "function": function, "input_data": input_data, **extra}
    return Answer(requests.post(platform.invoke_url, json=body, timeout=120))


def report(platform, call_id):
    deadline = time.monotonic() + 60
    while True:
        data = requests.get(f"{platform.invoke_url}/status/{call_id}", timeout=10).json()
        if data["status"] not in ("QUEUED", "RUNNING") or time.monotonic() > deadline:
            return data
        time.sleep(0.1)


@pytest.fixture(scope="module")
def rt(platform, examples):
    r = requests.put(f"{platform.upload_url}/f/rt/env", data=examples["runtime_env"])
    assert r.ok, r.text
    return platform


@pytest.mark.parametrize("cmdline, expected", [
    (None, "1|function.wasm"),
    ("", "1|function.wasm"),
    ("--size 10 x", "4|function.wasm|--size|10|x"),
])
def test_argv_comes_from_cmdline(rt, cmdline, expected):
    extra = {} if cmdline is None else {"cmdline": cmdline}
    r = call(rt, "env", "argv", **extra)
    assert r.status_code == 200 and r.text == expected, r.text


def test_bad_cmdline_is_a_400(rt):
    r = call(rt, "env", "argv", cmdline=["a", "b"])
    assert r.status_code == 400 and "cmdline" in r.text


@pytest.mark.parametrize("name, value", [("PYTHONWASM", "1"), ("LANG", "en_GB.UTF-8"),
                                         ("TMPDIR", "/tmp"), ("HOME", "/"),
                                         ("FAASM_REDIS_URL", "(unset)")])
def test_environment_variables(rt, name, value):
    assert call(rt, "env", f"env:{name}").text == value


def test_scratch_cwd_tmp_and_etc(rt):
    r = call(rt, "env", "files")
    assert r.status_code == 200, r.text
    cwd, here, tmp, hosts, listing, tty = r.text.split("|")
    assert (cwd, here, tmp, hosts, tty) == ("/", "cwd:in cwd", "tmp:in tmp", "hosts:ok",
                                            "tty")
    listed = set(listing.removeprefix("ls:").strip(",").split(","))
    assert listed == {"here.txt", "tmp", "etc", "lib"}


def test_escapes_fail_and_nothing_reaches_the_next_call(rt):
    r = call(rt, "env", "escape")
    assert r.status_code == 200 and r.text == "escaped:|wrote", r.text
    # Any call of any worker process: none sees what the earlier one left.
    for _ in range(4):
        assert call(rt, "env", "leftover").text == "clean"


def test_scratch_quota_fails_the_call_and_the_worker_lives_on(rt):
    r = call(rt, "env", "fill:100")
    assert r.status == "FAILED" and "scratch filesystem quota" in r.text, r.text
    assert call(rt, "env", "fill:2").text == "wrote 2 MiB"


def test_stderr_is_in_the_status_report(rt):
    call_id = call(rt, "env", "stderr", **{"async": True}).text
    data = report(rt, call_id)
    assert data["status"] == "SUCCESS", data
    assert (data["output"], data["stdout"], data["stderr"]) == ("done", "to stdout\n",
                                                                "to stderr\n")
    # The seed's answer is the output alone (Faasm captures no stdout by default);
    # the stdout rides in a header.
    r = requests.post(rt.invoke_url, json={"user": "rt", "function": "env",
                                           "input_data": "stderr"}, timeout=120)
    assert r.content == b"done\n"
    assert b64decode(r.headers["X-Faasm-Stdout"]) == b"to stdout\n"


@pytest.mark.parametrize("flag, on", [("ALWAYS_ON", "1"), ("ALWAYS_OFF", "0"),
                                      ("test_flag", "1"), ("other", "0")])
def test_conf_flags(rt, flag, on):
    assert call(rt, "env", f"flag:{flag}").text == on


# -- Python functions: the same environment ------------------------------------------
PY_SOURCES = {
    "looks_around": b'''
import os, sys
from pyfaasm.core import set_output

def faasm_main():
    open("/tmp/scratch.txt", "w").write("mine")
    print("to stderr", file=sys.stderr)
    host = open("/etc/hosts").read().split()[1]
    set_output(",".join([os.getcwd(), os.environ["PYTHONWASM"], host,
                         str(os.path.exists("/tmp/left.txt"))]))
    open("/tmp/left.txt", "w").write("left")
    return 0
''',
    "returns_one": b'''
def faasm_main():
    print("ran, then said no")
    return 1
''',
    # What faasm/python's bench_deltablue, numpy_conf and numpy_test lean on: Faasm's
    # packages in site-packages, numpy 1.x's get_info and itemset.
    "faasms_python": b'''
import numpy as np
import pyperformance
from pyperformance.benchmarks.bm_deltablue import delta_blue
from pyfaasm.core import set_output

def faasm_main():
    delta_blue(10)
    a = np.arange(6.0).reshape(2, 3)
    a.itemset(4, 40.0)
    a.itemset((0, 0), -1.0)
    set_output(" ".join([pyperformance.__file__, repr(a.tolist()),
                         np.__config__.get_info("openblas_info")["libraries"][0],
                         repr(np.__config__.get_info("blas_mkl_info"))]))
''',
}


@pytest.fixture(scope="module")
def py(platform):
    for name, source in PY_SOURCES.items():
        r = requests.put(f"{platform.upload_url}/p/rtpy/{name}", data=source)
        assert r.ok, r.text
    return platform


def test_python_sees_the_same_environment(py):
    for _ in range(3):
        r = call(py, "looks_around", user="rtpy")
        assert r.status_code == 200 and r.text == "/,1,localhost,False", r.text


def test_python_non_zero_return_fails_the_call(py):
    r = call(py, "returns_one", user="rtpy")
    assert r.status == "FAILED" and r.text == "Function returned 1", r.text
    faasm_form = {"user": "python", "function": "py_func", "py_user": "rtpy",
                  "py_func": "returns_one", "python": True}
    r = Answer(requests.post(py.invoke_url, json=faasm_form, timeout=120))
    assert r.status == "FAILED" and "Function returned 1" in r.text


def test_python_sees_faasms_packages_and_numpy_1_names(py):
    from faasm.runtime.python import packages
    from faasm.settings import get_settings

    if packages.folder(get_settings()) is None:
        pytest.fail("Faasm's Python packages are not installed: the set-up step "
                    "(python -m faasm.runtime.python) installs them")
    faasm_form = {"user": "python", "function": "py_func", "py_user": "rtpy",
                  "py_func": "faasms_python", "python": True}
    for _ in range(2):
        r = Answer(requests.post(py.invoke_url, json=faasm_form, timeout=120))
        assert r.status == "SUCCESS", r.text
        assert r.text == ("/lib/python3.15/site-packages/pyperformance/__init__.py "
                          "[[-1.0, 1.0, 2.0], [3.0, 40.0, 5.0]] openblas {}"), r.text


def test_python_stderr_is_in_the_status_report(py):
    call_id = call(py, "looks_around", user="rtpy", **{"async": True}).text
    data = report(py, call_id)
    assert data["status"] == "SUCCESS" and data["stderr"] == "to stderr\n", data


# -- state: one local copy per worker process, shared by its calls -------------------
@pytest.fixture(scope="module")
def one_process(redis_url, examples, tmp_path_factory):
    """A platform of its own (own Redis DB) with one worker process: every call shares
    its local state tier."""
    from deploy.processes import Platform
    from tests import module_database

    url = module_database(redis_url, 5)
    plat = Platform(url, tmp_path_factory.mktemp("one"), concurrency=1).start()
    try:
        assert requests.put(f"{plat.upload_url}/f/st/shared",
                            data=examples["state_shared"]).ok
        yield plat
    finally:
        plat.stop()


def test_pointer_writes_are_seen_by_the_next_call_until_pushed(one_process):
    plat = one_process
    value_url = f"{plat.upload_url}/s/st/shared"
    assert requests.put(value_url, data=b"0123456789abcdef").ok
    assert call(plat, "shared", "small", user="st").content == b"4567"
    assert call(plat, "shared", "get", user="st").content == b"0123456789abcdef"
    assert call(plat, "shared", "set:HELLO", user="st").text == "set"
    assert call(plat, "shared", "get", user="st").content == b"HELLO" + bytes(11)
    assert requests.get(value_url).content == b"0123456789abcdef"  # not pushed yet
    assert call(plat, "shared", "push", user="st").text == "pushed"
    assert requests.get(value_url).content == b"HELLO" + bytes(11)
    # A clean copy follows the global value: an upload is seen by the next call.
    assert requests.put(value_url, data=b"fedcba9876543210").ok
    assert call(plat, "shared", "get", user="st").content == b"fedcba9876543210"


NO_FILES_C = r"""
#include <faasm/faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    char out[256];
    const char* lang = getenv("LANG");
    snprintf(out, sizeof(out), "%d%d%d|%d|%s|%s", isatty(0), isatty(1), isatty(2), argc,
             argc > 1 ? argv[argc - 1] : "-", lang ? lang : "-");
    fprintf(stderr, "err\n");
    faasmSetOutput((const void*)out, (long)strlen(out));
    return 0;
}
"""


def test_modules_that_open_no_files_get_argv_environment_and_a_tty(rt, tmp_path):
    """A module without path_open runs on the fast stdio path: the same environment."""
    from faasm_client.toolchain import build

    source = tmp_path / "nofiles.c"
    source.write_text(NO_FILES_C)
    wasm = build([source], tmp_path / "nofiles.wasm").read_bytes()
    assert b"path_open" not in wasm
    assert requests.put(f"{rt.upload_url}/f/rt/nofiles", data=wasm).ok
    r = call(rt, "nofiles", cmdline="x last")
    assert r.status_code == 200 and r.text == "111|3|last|en_GB.UTF-8", r.text
    data = report(rt, call(rt, "nofiles", **{"async": True}).text)
    assert data["stderr"] == "err\n"


def test_cmdline_of_a_planner_batch_message(rt):
    """faasmctl's form: a faabric Message's cmdline is the call's argv too."""
    import json as jsonlib

    from tests.integration.test_planner_api import await_batch, ber, post

    request = ber("rt", "env", [b"argv"], cmdline="--n 5")
    assert post(rt, "EXECUTE_BATCH", request).status_code == 200
    status = jsonlib.loads(await_batch(rt, request["appId"]).text)
    assert [m["output_data"] for m in status["messageResults"]] == ["3|function.wasm|--n|5"]
    bad = ber("rt", "env", [b"argv"], cmdline=7)
    r = post(rt, "EXECUTE_BATCH", bad)
    assert r.status_code == 400 and "cmdline" in r.text


def test_a_flush_drops_unpushed_local_copies(one_process):
    plat = one_process
    value_url = f"{plat.upload_url}/s/st/shared"
    assert requests.put(value_url, data=b"global value....").ok
    assert call(plat, "shared", "set:LOCAL ONLY", user="st").text == "set"
    assert call(plat, "shared", "get", user="st").content == b"LOCAL ONLY" + bytes(6)
    assert requests.post(plat.invoke_url, json={"flush": True}, timeout=30).ok
    assert call(plat, "shared", "get", user="st").content == b"global value...."


def test_a_failed_calls_stdout_is_in_the_status_report(py):
    call_id = call(py, "returns_one", user="rtpy", **{"async": True}).text
    data = report(py, call_id)
    assert (data["status"], data["error"]) == ("FAILED", "Function returned 1"), data
    assert data["stdout"] == "ran, then said no\n", data
