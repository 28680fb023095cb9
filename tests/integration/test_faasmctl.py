"""Acceptance: Faasm's own client, faasmctl from PyPI, drives the platform unchanged.

faasmctl is installed, unmodified, in a virtual environment of its own (cached
under the data dir, keyed by the pinned version, so reruns take no network), and
pointed at a running platform through its ini file: it uploads a wasm function,
a Python function and a shared file, invokes (its wait-for-result path: an
EXECUTE_BATCH, then EXECUTE_BATCH_STATUS until ``finished``), runs a batch and
flushes. With FAASM_TEST_REQUIRE=1 a PyPI that cannot be reached fails the test.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from faasm.settings import get_settings
from tests import require_or_skip, wat

#: The faasmctl release this test pins (PyPI).
FAASMCTL_VERSION = "0.51.0"


@pytest.fixture(scope="session")
def faasmctl_venv() -> Path:
    """A venv with faasmctl==FAASMCTL_VERSION from PyPI, built once per version.

    A venv's scripts name their interpreter by absolute path, so it is built
    where it stays; a stamp written last marks it complete, and a lock keeps
    two test runs from building it at once.
    """
    venv = get_settings().data_dir / "test-venvs" / f"faasmctl-{FAASMCTL_VERSION}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    stamp = venv / "installed"
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True)
        pip = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", f"faasmctl=={FAASMCTL_VERSION}"],
            capture_output=True, text=True, timeout=600)
        if pip.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            require_or_skip(f"cannot install faasmctl=={FAASMCTL_VERSION} from PyPI: "
                            f"{(pip.stderr.strip().splitlines() or ['?'])[-1]}")
        stamp.write_text(FAASMCTL_VERSION + "\n")
    return venv


@pytest.fixture(scope="module")
def ctl(faasmctl_venv, platform, tmp_path_factory):
    """Run faasmctl (its console script, or Python against its API) on the platform."""
    home = tmp_path_factory.mktemp("faasmctl")
    ini = home / "faasm.ini"
    upload = re.match(r"http://([^:]+):(\d+)", platform.upload_url)
    invoke = re.match(r"http://([^:]+):(\d+)", platform.invoke_url)
    ini.write_text(textwrap.dedent(f"""\
        [Faasm]
        backend = compose
        upload_host = {upload.group(1)}
        upload_port = {upload.group(2)}
        planner_host = {invoke.group(1)}
        planner_port = {invoke.group(2)}
        """))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(FAASM_INI_FILE=str(ini), PYTHONNOUSERSITE="1")

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(faasmctl_venv / "bin" / "faasmctl"), *args], env=env,
                              cwd=home, capture_output=True, text=True, timeout=timeout)

    def python(code: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([str(faasmctl_venv / "bin" / "python"), "-c", code], env=env,
                              cwd=home, capture_output=True, text=True, timeout=timeout)

    run.python = python
    run.home = home
    return run


def test_it_is_faasmctl_from_pypi_unmodified(faasmctl_venv):
    r = subprocess.run([str(faasmctl_venv / "bin" / "python"), "-m", "pip", "show",
                        "faasmctl"], capture_output=True, text=True)
    assert f"Version: {FAASMCTL_VERSION}" in r.stdout
    r = subprocess.run([str(faasmctl_venv / "bin" / "faasmctl"), "--version"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "faasmctl" in r.stdout


def test_upload_wasm_and_invoke(ctl, platform):
    wasm = ctl.home / "hello.wasm"
    wasm.write_bytes(wat.HELLO)
    r = ctl("upload.wasm", "ctl", "hello", str(wasm))
    assert r.returncode == 0, r.stdout + r.stderr
    assert requests.get(f"{platform.upload_url}/f/ctl/hello").content == wat.HELLO
    r = ctl("invoke", "ctl", "hello", "--input-data", "from faasmctl")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Function: \t\t\tctl/hello" in r.stdout
    assert "Return value: \t\t\t0" in r.stdout
    assert "Output:\nout:from faasmctl\n" in r.stdout
    assert re.search(r"Execution time: \t\t\d+\.\d\d s", r.stdout)


def test_a_failed_call_is_faasmctls_non_zero_exit(ctl, platform):
    wasm = ctl.home / "exit3.wasm"
    wasm.write_bytes(wat.EXIT_3)
    assert ctl("upload.wasm", "ctl", "exit3", str(wasm)).returncode == 0
    r = ctl("invoke", "ctl", "exit3")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Return value: \t\t\t1" in r.stdout
    assert "Output:\nFunction exited with code 3\n" in r.stdout


def test_shared_file_and_python_function(ctl, platform):
    data = ctl.home / "data.txt"
    data.write_text("shared via faasmctl")
    r = ctl("upload.file", "--host-path", str(data), "--faasm-path", "ctl/data.txt")
    assert r.returncode == 0 and "Response (200)" in r.stdout, r.stdout + r.stderr
    source = ctl.home / "reader.py"
    source.write_text(textwrap.dedent("""\
        from pyfaasm.core import get_input, set_output

        def faasm_main():
            with open("faasm://ctl/data.txt") as f:
                set_output((f.read() + " + " + get_input().decode()).encode())
        """))
    # faasmctl has no CLI task for Python functions: its API uploads and invokes them.
    r = ctl.python(textwrap.dedent(f"""\
        import json
        from faasmctl.util.upload import upload_python
        from faasmctl.util.invoke import invoke_wasm
        upload_python("reader", {str(source)!r})
        msg = {{"user": "python", "function": "py_func", "python": True,
               "py_user": "python", "py_func": "reader",
               "input_data": __import__("base64").b64encode(b"input").decode()}}
        result = invoke_wasm(msg, dict_out=True)
        print(json.dumps(result))
        """))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Response (200): Python function upload complete" in r.stdout
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["finished"] is True
    message = result["messageResults"][0]
    assert message["output_data"] == "shared via faasmctl + input", message  # json_name
    assert message.get("returnValue", 0) == 0


def test_a_batch_through_faasmctls_api(ctl, platform):
    wasm = ctl.home / "hello.wasm"
    wasm.write_bytes(wat.HELLO)
    assert ctl("upload.wasm", "ctl", "hello", str(wasm)).returncode == 0
    r = ctl.python(textwrap.dedent("""\
        import base64, json
        from faasmctl.util.invoke import invoke_wasm
        from faasmctl.util.results import get_return_code_from_message_results
        msg = {"user": "ctl", "function": "hello",
               "input_data": base64.b64encode(b"batch").decode()}
        result = invoke_wasm(msg, num_messages=8)
        print(json.dumps({"rv": get_return_code_from_message_results(result),
                          "outputs": [m.outputData for m in result.messageResults],
                          "ids": [m.id for m in result.messageResults],
                          "app": result.appId}))
        """))
    assert r.returncode == 0, r.stdout + r.stderr
    answer = json.loads(r.stdout.strip().splitlines()[-1])
    assert answer["rv"] == 0 and answer["outputs"] == ["out:batch"] * 8
    assert len(set(answer["ids"])) == 8
    # Each message was a call of the platform: the seed API polls it by its ID.
    status = requests.post(platform.invoke_url, json={"status": True, "id": answer["ids"][0]})
    assert status.text == "SUCCESS: out:batch"


def test_flush_and_hosts(ctl, platform):
    for task in ("flush.workers", "flush.hosts", "flush.all"):
        r = ctl(task)
        assert r.returncode == 0, (task, r.stdout + r.stderr)
    r = ctl.python("from faasmctl.util.planner import get_available_hosts, reset\n"
                   "hosts = get_available_hosts()\n"
                   "print(len(hosts.hosts), hosts.hosts[0].slots)\n"
                   "reset()\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split() == ["1", "2"]
    ok = requests.post(platform.invoke_url, json={"user": "ctl", "function": "hello"})
    assert ok.headers["X-Faasm-Status"] == "SUCCESS"
