"""The `faasm` command line, run as a real subprocess against the real platform."""

from __future__ import annotations

import argparse
import contextlib
import html
import http.server
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from deploy.processes import ROOT, free_port, wait_for_port
from faasm.settings import get_settings
from faasm_client.cli import build_parser
from tests import wat

#: Counts a register down from 1.5e9 (about a second), then outputs "done".
SPIN = wat.module('''
 (data (i32.const 300) "done")
 (func (export "_start") (local $i i32)
   (local.set $i (i32.const 1500000000))
   (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1)))
            (br_if $l (local.get $i)))
   (call $write_output (i32.const 300) (i32.const 4)))
''')

HINT = "make run"


def run_faasm(*args: str, urls: tuple[str, str] | None = None, input: bytes | None = None,
              env: dict | None = None, timeout: float = 120,
              **kwargs) -> subprocess.CompletedProcess:
    """``python -m faasm [--upload-url U --invoke-url I] ARGS`` as a user would run it."""
    flags = ["--upload-url", urls[0], "--invoke-url", urls[1]] if urls else []
    return subprocess.run([sys.executable, "-m", "faasm", *flags, *args], input=input, check=False,
                          capture_output=True, timeout=timeout, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})), **kwargs)


@pytest.fixture(scope="module")
def urls(platform):
    return platform.upload_url, platform.invoke_url


@pytest.fixture
def faasm(urls):
    def run(*args, **kwargs):
        return run_faasm(*args, urls=urls, **kwargs)
    return run


@pytest.fixture(scope="module")
def wasm_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("wasm")
    files = {}
    for name, data in (("echo", wat.ECHO), ("exit3", wat.EXIT_3), ("loop", wat.LOOP),
                       ("spin", SPIN), ("hello", wat.HELLO)):
        files[name] = out / f"{name}.wasm"
        files[name].write_bytes(data)
    return files


@pytest.fixture(scope="module")
def uploaded(urls, wasm_files):
    for name, path in wasm_files.items():
        r = run_faasm("upload", "cli", name, str(path), urls=urls)
        assert r.returncode == 0, r.stderr
    return wasm_files


def subcommands() -> list[list[str]]:
    """Every subcommand path of the parser (``state get``, ``invoke`` ...)."""
    found = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and path:
            found.append(path)
        for action in subs:
            for name, child in action.choices.items():
                walk(child, [*path, name])

    walk(build_parser(), [])
    return found


def test_every_subcommand_is_tested_here():
    """A new subcommand needs a test in this file: this lists the ones that have one."""
    tested = {"up", "upload", "upload-py", "download", "invoke", "status", "graph",
              "state get",
              "state put", "file get", "file put", "flush", "ping", "build", "bench", "cancel",
              "ls", "rm", "state ls", "state rm", "file ls", "file rm",
              # In test_health.py, against a platform without, then with, a worker:
              "doctor",
              # In test_observe.py, with the calls whose logs it reads:
              "logs",
              "config", "new", "deploy", "completion",
              # In test_auth.py, against a platform with FAASM_AUTH on:
              "token create", "token list", "token revoke"}
    assert {" ".join(path) for path in subcommands()} == tested


@pytest.mark.parametrize("path", [" ".join(p) for p in subcommands()] + [""])
def test_help_of_every_subcommand(path):
    r = run_faasm(*path.split(), "--help")
    assert r.returncode == 0, r.stderr
    prog = "faasm build" if path == "build" else f"faasm {path}".strip()
    assert r.stdout.decode().startswith(f"usage: {prog}")


# -- upload, download ---------------------------------------------------------

def test_upload_and_download_a_wasm_function(faasm, wasm_files, tmp_path):
    r = faasm("upload", "cli", "roundtrip", str(wasm_files["echo"]))
    assert (r.returncode, r.stdout) == (0, b"Function upload complete\n")
    assert faasm("download", "cli", "roundtrip").stdout == wat.ECHO
    out = tmp_path / "copy.wasm"
    assert faasm("download", "cli", "roundtrip", "-o", str(out)).returncode == 0
    assert out.read_bytes() == wat.ECHO
    # From stdin too.
    r = faasm("upload", "cli", "from-stdin", "-", input=wat.HELLO)
    assert r.returncode == 0 and faasm("download", "cli", "from-stdin").stdout == wat.HELLO


def test_upload_refuses_source_code_and_bad_wasm(faasm, tmp_path):
    r = faasm("upload", "cli", "c", str(ROOT / "examples" / "hello.c"))
    assert r.returncode == 2 and b"faasm build" in r.stderr
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"not wasm at all")
    r = faasm("upload", "cli", "junk", str(junk))
    assert r.returncode == 2 and b"(HTTP 400)" in r.stderr
    assert len(r.stderr.decode().strip().splitlines()) == 1


def test_upload_py_and_download_its_source(faasm, tmp_path):
    source = tmp_path / "hello.py"
    source.write_text("def main():\n    print('hi')\n")
    r = faasm("upload-py", "cli", "pyhello", str(source))
    assert (r.returncode, r.stdout) == (0, b"Python function upload complete\n")
    r = faasm("download", "cli", "pyhello", "--python")
    assert r.stdout == source.read_bytes()
    source.write_text("def main(:\n")
    r = faasm("upload-py", "cli", "broken", str(source))
    assert r.returncode == 2 and b"Invalid Python" in r.stderr


def test_invoke_a_python_function_both_ways(faasm, tmp_path):
    source = tmp_path / "greet.py"
    source.write_text("from pyfaasm.core import get_input, set_output\n\n\n"
                      "def faasm_main():\n"
                      "    print('printed')\n"
                      "    set_output(b'Hello ' + (get_input() or b'faasm'))\n")
    assert faasm("upload-py", "cli", "greet", str(source)).returncode == 0
    r = faasm("invoke", "cli", "greet", "--input", "Bob", timeout=300)
    assert (r.returncode, r.stdout) == (0, b"Hello Bobprinted\n"), r.stderr
    r = faasm("invoke", "cli", "greet", "--python", "--poll")
    assert (r.returncode, r.stdout) == (0, b"Hello faasmprinted\n"), r.stderr


# -- invoke, status -------------------------------------------------------------

def test_invoke_sync_prints_output_then_stdout(faasm, uploaded):
    r = faasm("invoke", "cli", "hello", "--input", "abc")
    assert (r.returncode, r.stdout) == (0, b"out:abchello from wasm\n")


def test_invoke_binary_input_from_a_file_and_stdin(faasm, uploaded, tmp_path):
    data = bytes(range(256)) * 4000
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    assert faasm("invoke", "cli", "echo", "--input-file", str(source)).stdout == data
    assert faasm("invoke", "cli", "echo", "--input-file", "-", input=data).stdout == data
    out = tmp_path / "out.bin"
    r = faasm("invoke", "cli", "echo", "--input-file", str(source), "--poll", "-o", str(out))
    assert r.returncode == 0 and out.read_bytes() == data


def test_invoke_async_prints_the_call_id_and_status_follows_it(faasm, uploaded):
    r = faasm("invoke", "cli", "hello", "--input", "x", "--async")
    assert r.returncode == 0 and re.fullmatch(rb"\d+\n", r.stdout)
    call_id = r.stdout.decode().strip()
    r = faasm("status", call_id, "--wait")
    assert (r.returncode, r.stdout) == (0, b"out:xhello from wasm\n")
    assert b"SUCCESS" in r.stderr
    # Faasm's status text: the output alone (stdout is in --json).
    assert faasm("status", call_id).stdout == b"SUCCESS: out:x"
    report = json.loads(faasm("status", call_id, "--json").stdout)
    assert report["id"] == int(call_id) and report["status"] == "SUCCESS"
    assert (report["output"], report["stdout"]) == ("out:x", "hello from wasm\n")
    assert report["worker"] and "run" in report["timings"]


def test_invoke_async_poll_shows_progress_then_the_output(faasm, uploaded):
    r = faasm("invoke", "cli", "spin", "--async", "--poll")
    assert (r.returncode, r.stdout) == (0, b"done")
    lines = r.stderr.decode().splitlines()
    assert re.fullmatch(r"call \d+: RUNNING \(\d+\.\d s\)", lines[0])
    assert re.fullmatch(r"call \d+: SUCCESS after \d+\.\d s on \S+", lines[-1])


def test_poll_shows_a_live_spinner_on_a_terminal(urls, uploaded):
    """stderr on a pseudo-terminal: a spinner redrawn in place, then the final line."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "faasm", "--upload-url", urls[0], "--invoke-url", urls[1],
         "invoke", "cli", "spin", "--poll"], stdout=subprocess.PIPE, stderr=slave,
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    os.close(slave)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, "no output in 60 s"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(30) == 0
    finally:
        os.close(master)
    text = seen.decode()
    assert proc.stdout.read() == b"done"
    assert text.count("\r\x1b[2K") >= 3
    assert re.search(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] call \d+: RUNNING  \d+\.\d s", text)
    assert re.search(r"call \d+: SUCCESS after \d+\.\d s", text)


def test_a_failed_call_exits_1_with_the_reason(faasm, uploaded):
    for extra in ([], ["--poll"]):
        r = faasm("invoke", "cli", "exit3", *extra)
        assert r.returncode == 1 and r.stdout == b""
        assert r.stderr.decode().splitlines()[-1] == "FAILED: Function exited with code 3"
    call_id = faasm("invoke", "cli", "exit3", "--async").stdout.decode().strip()
    r = faasm("status", call_id, "--wait")
    assert r.returncode == 1 and b"FAILED: Function exited with code 3" in r.stderr
    r = faasm("status", call_id)
    assert (r.returncode, r.stdout) == (1, b"FAILED: Function exited with code 3")
    report = json.loads(faasm("status", call_id, "--json").stdout)
    assert report["status"] == "FAILED" and report["error"] == "Function exited with code 3"


def test_timeout_limits_the_call(faasm, uploaded):
    started = time.monotonic()
    r = faasm("invoke", "cli", "loop", "--timeout", "1")
    assert r.returncode == 1 and b"exceeded its 1 s timeout" in r.stderr
    assert time.monotonic() - started < 30


def test_status_of_a_running_call_and_wait_timeout(faasm, uploaded):
    # A limit far beyond the test (a slow machine took the 2 s one before the last status).
    call_id = faasm("invoke", "cli", "loop", "--timeout", "60", "--async").stdout.decode().strip()
    r = faasm("status", call_id)
    assert (r.returncode, r.stdout) == (0, b"RUNNING")
    r = faasm("status", call_id, "--wait", "--wait-timeout", "0.3")
    assert r.returncode == 1 and b"still RUNNING" in r.stderr
    assert faasm("cancel", call_id).returncode == 0


def test_cancel_stops_a_running_call(faasm, uploaded):
    call_id = faasm("invoke", "cli", "loop", "--timeout", "60", "--async").stdout.decode().strip()
    deadline = time.monotonic() + 30
    while faasm("status", call_id).stdout != b"RUNNING":
        assert time.monotonic() < deadline, "the call never started"
        time.sleep(0.1)
    r = faasm("cancel", call_id)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"request {call_id}: 1 of 1 calls stopped (the others had ended)\n".encode()
    report = json.loads(faasm("status", call_id, "--json").stdout)
    assert report["status"] == "FAILED" and "cancel" in report["error"].lower()
    assert faasm("cancel", "999999999").returncode == 2


# -- state, shared files ---------------------------------------------------------

def test_state_put_and_get(faasm, tmp_path):
    assert faasm("state", "put", "cli", "greeting", "hello").stdout == b"State upload complete\n"
    assert faasm("state", "get", "cli", "greeting").stdout == b"hello"
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)))
    assert faasm("state", "put", "cli", "blob", "-f", str(blob)).returncode == 0
    out = tmp_path / "out.bin"
    assert faasm("state", "get", "cli", "blob", "-o", str(out)).returncode == 0
    assert out.read_bytes() == blob.read_bytes()
    assert faasm("state", "put", "cli", "piped", input=b"\x00piped").returncode == 0
    assert faasm("state", "get", "cli", "piped").stdout == b"\x00piped"
    assert faasm("state", "put", "cli", "empty", input=b"").returncode == 0
    assert faasm("state", "get", "cli", "empty").stdout == b""
    r = faasm("state", "get", "cli", "never-set")
    assert r.returncode == 2 and b"not found" in r.stderr


def test_file_put_and_get(faasm, tmp_path):
    data = os.urandom(3 * 1024 * 1024)
    local = tmp_path / "data.bin"
    local.write_bytes(data)
    assert faasm("file", "put", "cli/data.bin", "-f", str(local)).stdout == \
        b"Shared file uploaded\n"
    assert faasm("file", "get", "cli/data.bin").stdout == data
    assert faasm("file", "put", "cli/note.txt", "a note").returncode == 0
    assert faasm("file", "get", "cli/note.txt").stdout == b"a note"
    r = faasm("file", "put", "../escape", "x")
    assert r.returncode == 2 and b"(HTTP 400)" in r.stderr
    assert faasm("file", "get", "cli/missing").returncode == 2


# -- inventory and removal -------------------------------------------------------

def test_ls_and_rm_functions(faasm, wasm_files, tmp_path):
    assert faasm("upload", "lsuser", "hello", str(wasm_files["hello"])).returncode == 0
    source = tmp_path / "shout.py"
    source.write_text("print('HI')\n")
    assert faasm("upload-py", "lsuser", "hello", str(source)).returncode == 0
    assert faasm("state", "put", "lsuser", "count", "12345").returncode == 0
    assert faasm("file", "put", "lsuser/in.txt", "abc").returncode == 0
    r = faasm("ls", "lsuser")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].split() == ["FUNCTION", "KIND", "SIZE", "UPLOADED", "SHA256"]
    assert lines[1].split()[:2] == ["hello", "wasm"] and lines[2].split()[:2] == \
        ["hello", "python"]
    assert any(line.split()[:1] == ["count"] for line in lines)
    assert any(line.startswith("lsuser/in.txt") for line in lines)
    listed = json.loads(faasm("ls", "lsuser", "--json").stdout)
    assert [f["kind"] for f in listed["functions"]] == ["wasm", "python"]
    assert listed["state"] == [{"key": "count", "size": 5}]
    assert [f["path"] for f in listed["files"]] == ["lsuser/in.txt"]
    described = faasm("ls", "lsuser", "hello").stdout.decode()
    assert "lsuser/hello (wasm)" in described and "sha256" in described

    r = faasm("rm", "lsuser", "hello", "--python")
    assert (r.returncode, r.stdout) == (0, b"removed lsuser/hello (python)\n")
    assert faasm("rm", "lsuser", "hello", "--python").returncode == 2
    r = faasm("rm", "lsuser", "hello", "--json")
    assert json.loads(r.stdout)["removed"] == ["wasm"]
    r = faasm("rm", "lsuser", "hello")
    assert r.returncode == 2 and b"not found" in r.stderr
    assert faasm("invoke", "lsuser", "hello").returncode == 2
    r = faasm("ls", "nobody-at-all")
    assert r.returncode == 0 and r.stdout == b"" and b"has no functions" in r.stderr


def test_state_ls_and_rm(faasm):
    assert faasm("state", "put", "lsstate", "k1", "abc").returncode == 0
    assert faasm("state", "put", "lsstate", "k2", "").returncode == 0
    r = faasm("state", "ls", "lsstate")
    assert r.stdout.decode().split("\n")[1].split() == ["k1", "3", "B"]
    assert faasm("state", "rm", "lsstate", "k1").stdout == b"State deleted\n"
    assert json.loads(faasm("state", "ls", "lsstate", "--json").stdout)["keys"] == \
        [{"key": "k2", "size": 0}]
    assert faasm("state", "rm", "lsstate", "k1").returncode == 2


def test_file_ls_and_rm(faasm):
    for path in ("lsfile/a.txt", "lsfile/d/b.txt"):
        assert faasm("file", "put", path, "x").returncode == 0
    r = faasm("file", "ls", "lsfile")
    paths = [line.split()[0] for line in r.stdout.decode().splitlines()[1:]]
    assert paths == ["lsfile/a.txt", "lsfile/d/b.txt"]
    r = faasm("file", "rm", "lsfile/a.txt", "lsfile/missing")
    assert r.returncode == 2 and b"lsfile/missing not found" in r.stderr
    assert r.stdout == b"Shared file deleted: lsfile/a.txt\n"
    listing = json.loads(faasm("file", "ls", "lsfile", "--json").stdout)
    assert [f["path"] for f in listing["files"]] == ["lsfile/d/b.txt"]


# -- author workflow, --json, config, completion ----------------------------------

def test_new_python_then_deploy_and_invoke(faasm, tmp_path):
    r = faasm("new", "greet_py", "--lang", "python", "--dir", str(tmp_path / "greet_py"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "greet_py" / "greet_py.py").is_file()
    assert json.loads((tmp_path / "greet_py" / "faasm.json").read_text())["lang"] == "python"
    r = faasm("deploy", "author", str(tmp_path / "greet_py"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"deployed author/greet_py (python): Python function upload complete\n"
    r = faasm("invoke", "author", "greet_py", "--input", "you")
    assert (r.returncode, r.stdout) == (0, b"Hello you!greet_py greeted you\n"), r.stderr
    again = faasm("new", "greet_py", "--lang", "python", "--dir", str(tmp_path / "greet_py"))
    assert again.returncode == 2 and b"not empty" in again.stderr
    assert faasm("new", "bad/name", "--dir", str(tmp_path / "x")).returncode == 2


def test_deploy_a_wasm_file_and_refuse_others(faasm, wasm_files, tmp_path):
    r = faasm("deploy", "author", str(wasm_files["hello"]), "--function", "hi", "--json")
    assert json.loads(r.stdout)["answer"] == "Function upload complete", r.stderr
    assert faasm("invoke", "author", "hi").stdout.startswith(b"out:")
    other = tmp_path / "notes.txt"
    other.write_text("x")
    r = faasm("deploy", "author", str(other))
    assert r.returncode == 2 and b"deploy takes C/C++" in r.stderr
    assert faasm("deploy", "author", str(tmp_path / "missing")).returncode == 2


@pytest.mark.slow
def test_new_c_then_deploy_builds_and_uploads(faasm, tmp_path):
    assert faasm("new", "greet", "--dir", str(tmp_path / "greet")).returncode == 0
    r = faasm("deploy", "author", str(tmp_path / "greet"), timeout=600)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "greet" / "greet.wasm").is_file()
    r = faasm("invoke", "author", "greet", "--input", "you")
    assert (r.returncode, r.stdout) == (0, b"Hello you!greet greeted you\n"), r.stderr


def test_build_refuses_what_is_not_c(tmp_path):
    source = tmp_path / "f.py"
    source.write_text("print(1)\n")
    r = run_faasm("build", str(source))
    assert r.returncode == 1
    assert r.stderr.decode().strip().splitlines() == [
        f"faasm build: {source} is not a C or C++ source: a Python function is uploaded as "
        f"it is: `faasm upload-py USER NAME {source}` (or `faasm deploy USER {source}`)"]
    r = run_faasm("build", str(source), "--json")
    assert json.loads(r.stdout) == {"ok": False, "wasm": None, "size": None}


def test_json_on_every_command(faasm, uploaded, tmp_path):
    assert json.loads(faasm("upload", "cli", "j", str(uploaded["hello"]), "--json").stdout) \
        == {"name": "cli/j", "stored": "function", "answer": "Function upload complete"}
    r = json.loads(faasm("invoke", "cli", "j", "--input", "x", "--json").stdout)
    assert r == {"user": "cli", "function": "j", "data": "out:xhello from wasm\n",
                 "encoding": "utf-8"}
    call_id = json.loads(faasm("invoke", "cli", "j", "--async", "--json").stdout)["id"]
    report = json.loads(faasm("status", str(call_id), "--wait", "--json").stdout)
    assert report["status"] == "SUCCESS" and report["id"] == call_id
    assert json.loads(faasm("download", "cli", "j", "--json").stdout)["encoding"] == "base64"
    assert faasm("state", "put", "cli", "js", "v", "--json").returncode == 0
    assert json.loads(faasm("state", "get", "cli", "js", "--json").stdout)["data"] == "v"
    assert faasm("file", "put", "cli/j.txt", "f", "--json").returncode == 0
    assert json.loads(faasm("file", "get", "cli/j.txt", "--json").stdout)["data"] == "f"
    assert json.loads(faasm("flush", "--json").stdout)["flushed"] >= 1
    assert set(json.loads(faasm("ping", "--json").stdout)) == {"upload", "invoke"}
    assert json.loads(faasm("cancel", str(call_id), "--json").stdout)["cancelled"] == 0


def test_config_shows_the_settings_in_force(urls):
    r = run_faasm("config", urls=urls, env={"FAASM_CALL_TIMEOUT": "7",
                                            "FAASM_ADMIN_TOKEN": "s" * 40})
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert f"upload {urls[0]}" in out
    assert re.search(r"^FAASM_CALL_TIMEOUT +7.0  \(from the environment\)$", out, re.M)
    assert re.search(r"^FAASM_ADMIN_TOKEN +<set>", out, re.M) and "s" * 40 not in out
    assert re.search(r"^FAASM_BROKER_URL +redis://", out, re.M)  # in effect, not ""
    data = json.loads(run_faasm("config", "--json", urls=urls).stdout)
    assert {row["variable"] for row in data["settings"]} >= {"FAASM_REDIS_URL", "FAASM_AUTH"}
    same = subprocess.run([sys.executable, "-m", "faasm.settings"], capture_output=True,
                          cwd=ROOT, env=dict(os.environ, FAASM_CALL_TIMEOUT="7"))
    assert re.search(rb"^FAASM_CALL_TIMEOUT +7.0  \(from the environment\)$", same.stdout,
                     re.M)
    table = subprocess.run([sys.executable, "-m", "faasm.settings", "--defaults"],
                           capture_output=True, cwd=ROOT).stdout.decode()
    assert table.startswith("| `FAASM_REDIS_URL` |")


@pytest.mark.parametrize("line, expected", [
    ("faasm ", {"upload", "ls", "rm", "logs", "doctor", "--json"}),
    ("faasm sta", {"state", "status"}),
    ("faasm state ", {"get", "put", "ls", "rm"}),
    ("faasm logs --f", {"--follow"}),
    ("faasm state get --o", {"--output"}),
    ("faasm upload demo hello --q", {"--quiet"}),
])
def test_completion(line, expected):
    script = run_faasm("completion", "bash").stdout.decode()
    words = line.split(" ")
    probe = (f'{script}\nCOMP_WORDS=({" ".join(repr(w) for w in words)}); '
             f'COMP_CWORD={len(words) - 1}; _faasm_complete; printf "%s\\n" "${{COMPREPLY[@]}}"')
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    offered = set(done.stdout.split())
    assert expected <= offered, offered
    assert run_faasm("completion", "zsh").stdout.startswith(b"autoload -U +X bashcompinit")


# -- flush, ping, default URLs ---------------------------------------------------

# -- batches, graphs -------------------------------------------------------------

def test_invoke_a_batch_of_n_calls_in_one_request(faasm, uploaded):
    r = faasm("invoke", "cli", "hello", "--input", "b", "--batch", "5")
    assert (r.returncode, r.stdout) == (0, b"out:b\n" * 5), r.stderr
    assert re.fullmatch(r"batch \d+: 5 of 5 calls succeeded in \d+\.\d s",
                        r.stderr.decode().splitlines()[-1])
    listing = json.loads(faasm("invoke", "cli", "hello", "--batch", "2", "--json").stdout)
    assert [c["output"] for c in listing["calls"]] == ["out:", "out:"]
    assert all(c["status"] == "SUCCESS" and c["id"] > 0 for c in listing["calls"])
    r = faasm("invoke", "cli", "hello", "--batch", "3", "--async")
    assert r.returncode == 0 and re.fullmatch(rb"\d+\n", r.stdout)


def test_invoke_a_batch_from_a_file_of_inputs(faasm, uploaded, tmp_path):
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("one\ntwo\nthree\n")
    r = faasm("invoke", "cli", "hello", "--inputs", str(inputs))
    assert (r.returncode, r.stdout) == (0, b"out:one\nout:two\nout:three\n"), r.stderr
    r = faasm("invoke", "cli", "exit3", "--inputs", "-", input=b"a\nb\n")
    assert r.returncode == 1 and r.stdout == b"\n\n"
    failures = [line for line in r.stderr.decode().splitlines() if "FAILED" in line]
    assert len(failures) == 2 and all(line.endswith("FAILED: Function exited with code 3")
                                      for line in failures)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert faasm("invoke", "cli", "hello", "--inputs", str(empty)).returncode == 2


def test_graph_draws_the_chain(faasm, urls, examples, tmp_path):
    wasm = tmp_path / "chain.wasm"
    wasm.write_bytes(examples["chain_recursive"])
    assert faasm("upload", "cli", "chain", str(wasm)).returncode == 0
    r = requests.post(urls[1], json={"user": "cli", "function": "chain", "input_data": "2"},
                      timeout=60)
    call_id = r.headers["X-Faasm-Call-Id"]
    r = faasm("graph", call_id)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(rf"call {call_id} cli/chain SUCCESS \d+\.\d ms on \S+, \d+ B out",
                        lines[0])
    assert re.fullmatch(r"└─ call \d+ cli/chain SUCCESS .* out", lines[1])
    assert re.fullmatch(r"   └─ call \d+ cli/chain SUCCESS .* out", lines[2])
    answer = json.loads(faasm("graph", call_id, "--json").stdout)
    assert answer["calls"] == 3 and answer["root"]["id"] == int(call_id)
    assert faasm("graph", "999999999").returncode == 2


def test_flush(faasm):
    r = faasm("flush")
    assert r.returncode == 0 and re.fullmatch(rb"Flushed [1-9]\d* workers\n", r.stdout)


def test_ping(faasm, urls):
    r = faasm("ping")
    assert r.returncode == 0
    lines = r.stdout.decode().splitlines()
    assert lines[0].startswith(f"upload API  {urls[0]}  PONG")
    assert lines[1].startswith(f"invoke API  {urls[1]}  PONG")


def test_urls_default_from_the_settings(platform):
    env = {"FAASM_UPLOAD_PORT": str(platform.upload_port),
           "FAASM_INVOKE_PORT": str(platform.invoke_port), "FAASM_BIND_HOST": "0.0.0.0"}
    assert run_faasm("ping", env=env).returncode == 0
    # Connection options are accepted after the subcommand too.
    r = run_faasm("ping", "--upload-url", platform.upload_url, "--invoke-url",
                  platform.invoke_url)
    assert r.returncode == 0


# -- exit codes 2 and 3 ----------------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["no-such-command"], ["invoke"], ["invoke", "cli"], ["status", "abc"],
    ["status", "0"], ["invoke", "cli", "echo", "--timeout", "-1"],
    ["invoke", "cli", "echo", "--input", "a", "--input-file", "b"],
    ["upload", "cli", "x", "/no/such/file.wasm"], ["state"], ["file", "put"],
    ["state", "put", "cli", "k", "v", "-f", "also"],
])
def test_usage_errors_exit_2(faasm, args):
    r = faasm(*args)
    assert r.returncode == 2, (args, r.stderr)
    assert r.stderr and b"Traceback" not in r.stderr


@pytest.mark.parametrize("args", [
    ["invoke", "cli", "no-such-function"], ["invoke", "bad name", "f"],
    ["status", "999999999"], ["download", "cli", "nothing"],
])
def test_requests_the_platform_refuses_exit_2_with_its_reason(faasm, args):
    r = faasm(*args)
    assert r.returncode == 2
    line, = r.stderr.decode().splitlines()
    assert re.fullmatch(r"faasm: .+ \(HTTP 40\d\)", line)


@pytest.mark.parametrize("args", [
    ["ping"], ["invoke", "cli", "echo"], ["invoke", "cli", "echo", "--poll"],
    ["upload", "cli", "x", "-"], ["upload-py", "cli", "x", "-"], ["download", "cli", "x"],
    ["status", "1"], ["state", "get", "cli", "k"], ["state", "put", "cli", "k", "v"],
    ["file", "get", "a"], ["file", "put", "a", "b"], ["flush"],
])
def test_an_unreachable_platform_exits_3_with_a_hint(args):
    port = free_port()
    dead = (f"http://127.0.0.1:{port}",) * 2
    r = run_faasm(*args, urls=dead, input=b"")
    assert r.returncode == 3, r.stderr
    text = r.stderr.decode()
    assert f"cannot reach http://127.0.0.1:{port}" in text and HINT in text
    assert "Traceback" not in text


def test_a_platform_without_redis_exits_3_with_a_hint():
    """An API that answers 503 (its Redis or broker is down) is 'unreachable' too."""

    class Unavailable(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = b"Broker unavailable: Error 111 connecting to 127.0.0.1:6379\n"
            self.send_response(503)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        r = run_faasm("invoke", "demo", "hello", urls=(url, url))
    finally:
        server.shutdown()
    assert r.returncode == 3
    assert r.stderr.decode().startswith("faasm: Broker unavailable: Error 111")
    assert b"hint: the API answers but Redis" in r.stderr


# -- build, up, bench ------------------------------------------------------------

@pytest.mark.slow
def test_build_upload_invoke_the_c_example(faasm, tmp_path):
    wasm = tmp_path / "hello.wasm"
    r = faasm("build", str(ROOT / "examples" / "hello.c"), "-o", str(wasm), timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == str(wasm) and wasm.read_bytes()[:4] == b"\0asm"
    assert faasm("upload", "cli", "c-hello", str(wasm)).returncode == 0
    r = faasm("invoke", "cli", "c-hello")
    assert (r.returncode, r.stdout) == (0, b"Hello faasm!Hello faasm!\n")
    r = faasm("invoke", "cli", "c-hello", "--async", "--poll")
    assert (r.returncode, r.stdout) == (0, b"Hello faasm!Hello faasm!\n")


@pytest.mark.slow
def test_build_errors_exit_1_with_the_compilers_messages(faasm, tmp_path):
    source = tmp_path / "broken.c"
    source.write_text("int main(void) { return missing; }\n")
    r = faasm("build", str(source), "-o", str(tmp_path / "b.wasm"), timeout=300)
    assert r.returncode == 1 and b"missing" in r.stderr


@contextlib.contextmanager
def stopped_by_ctrl_c(argv: list[str], log_path, **kwargs):
    """Run ``argv`` in its own process group; stop it as Ctrl-C would, whatever happens."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **kwargs)
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def test_up_starts_every_procfile_process(tmp_path, wasm_files):
    """`faasm up` is `make run`: its own Redis, both APIs, a worker and Flower."""
    ports = {name: free_port() for name in ("REDIS", "UPLOAD", "INVOKE", "FLOWER")}
    settings = {"FAASM_DATA_DIR": str(tmp_path),
                "FAASM_REDIS_URL": f"redis://127.0.0.1:{ports['REDIS']}/0",
                "FAASM_UPLOAD_PORT": str(ports["UPLOAD"]),
                "FAASM_INVOKE_PORT": str(ports["INVOKE"]),
                "FAASM_FLOWER_PORT": str(ports["FLOWER"]), "FAASM_WORKER_CONCURRENCY": "1",
                # The machine's compiled Python runtime (`make test` prepared it).
                "FAASM_PYTHON_CACHE": str(get_settings().python_cache)}
    urls = (f"http://127.0.0.1:{ports['UPLOAD']}", f"http://127.0.0.1:{ports['INVOKE']}")
    with stopped_by_ctrl_c([sys.executable, "-m", "faasm", "up"], tmp_path / "up.log",
                           cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                  **settings)) as proc:
        for name in ("UPLOAD", "INVOKE", "FLOWER"):
            wait_for_port(ports[name], proc, seconds=60)
        assert run_faasm("ping", env=settings).returncode == 0  # URLs from the settings
        assert run_faasm("upload", "demo", "hello", str(wasm_files["hello"]),
                         urls=urls).returncode == 0
        r = run_faasm("invoke", "demo", "hello", "--input", "up", urls=urls, timeout=90)
        assert (r.returncode, r.stdout) == (0, b"out:uphello from wasm\n"), r.stderr
        call_id = run_faasm("invoke", "demo", "hello", "--async", urls=urls).stdout
        call_id = call_id.decode().strip()
        assert run_faasm("status", call_id, "--wait", urls=urls).returncode == 0
        # Flower shows the call under its ID, by task name, readable arguments and worker.
        page = f"http://127.0.0.1:{ports['FLOWER']}/task/{call_id}"
        for _ in range(100):
            r = requests.get(page, timeout=10)
            if r.status_code == 200 and "SUCCESS" in r.text:
                break
            time.sleep(0.2)
        text = html.unescape(r.text)
        assert r.status_code == 200 and "faasm.call" in text
        assert f"('demo/hello', id={call_id})" in text and "worker@" in text
    assert "invoke API  http://" in (tmp_path / "up.log").read_text(errors="replace")
    with pytest.raises(OSError):  # Ctrl-C stopped every process
        wait_for_port(ports["INVOKE"], seconds=0.5)


@pytest.mark.slow
def test_bench_runs_the_benchmarks(tmp_path):
    """`faasm bench` is `python -m bench`: it starts its own platform and measures.

    The whole run takes minutes (it also builds C with a cold cache), so the test
    runs a twentieth of each sample and stops it once the first benchmark has
    reported through the real platform.
    """
    lines = []
    with stopped_by_ctrl_c([sys.executable, "-m", "faasm", "bench"], tmp_path / "bench.log",
                           cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                   PYTHONUNBUFFERED="1",
                                                   FAASM_BENCH_SCALE="0.05")) as proc:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None and \
                not any("target calls/s at 64" in line for line in lines):
            time.sleep(1)
            lines = (tmp_path / "bench.log").read_text(errors="replace").splitlines()
    assert any(line.startswith("Sync calls: faasm-py next to its floor") for line in lines), \
        lines
    assert any(re.search(r"target sequential p50 .*: \d+\.\d+x", line) for line in lines), \
        lines
