"""The README quick start and the docs/CLI.md tour, run as written, in a fresh clone.

The commands are read from the documents (the README's "Quick start" ```bash
blocks, the tour's ```console lines after ``$ ``), not copied here, and run
one by one with bash in a clone of the committed repository, against a
platform of its own. What the test changes, and why:

- ``localhost:8002``/``:8080`` in curl lines become the platform's ports (the
  ``faasm`` commands find them through FAASM_UPLOAD_PORT/FAASM_INVOKE_PORT);
- the clone's ``.venv/bin/faasm`` and ``activate`` stand in for ``make setup``
  (they run this interpreter on the clone's code);
- a call ID the docs show (``7``) stands for the ID the call really got;
- ``make ...``, ``faasm up`` and ``faasm bench`` are not run (the platform is up).

A command must exit 0, or non-zero where the docs show it failing (``FAILED:``,
``faasm:``); each line the docs show it printing that holds no digit (IDs,
times and sizes vary) must be in what it printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from deploy.processes import ROOT, Platform
from tests import module_database

SKIPPED = re.compile(r"^(make |faasm (up|bench)\b)")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Quick start"):]
    section = section[:section.index("\n## ", 3)]
    lines = [line for block in re.findall(r"```bash\n(.*?)```", section, re.S)
             for line in block.splitlines()]
    return [line for line in lines if line.strip() and not SKIPPED.match(line)]


def tour_commands() -> list[tuple[str, list[str]]]:
    """(command, the lines the docs show it printing)."""
    text = (ROOT / "docs" / "CLI.md").read_text()
    section = text[text.index("## A tour"):text.index("## Options")]
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found and line.strip():
                found[-1][1].append(line)
    return [(cmd, out) for cmd, out in found if not SKIPPED.match(cmd)]


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh clone of the committed repository, with `faasm` on its .venv/bin."""
    where = tmp_path_factory.mktemp("clone") / "faasm-py"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{ROOT}", str(where)],
                   check=True)
    bin_dir = where / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "faasm").write_text(
        f'#!/bin/sh\nPYTHONPATH="{where}" exec "{sys.executable}" -m faasm "$@"\n')
    (bin_dir / "faasm").chmod(0o755)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return where


@pytest.fixture(scope="module")
def walk(redis_url, tmp_path_factory, clone):
    url = module_database(redis_url, 4)
    plat = Platform(url, tmp_path_factory.mktemp("walk"), concurrency=2).start()
    env = dict(os.environ, FAASM_UPLOAD_PORT=str(plat.upload_port),
               FAASM_INVOKE_PORT=str(plat.invoke_port), FAASM_TOKEN="",
               # The machine's compiler cache (the first C build otherwise takes a minute).
               FAASM_DATA_DIR=str(ROOT / "data"),
               PATH=f"{clone / '.venv' / 'bin'}:{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    ports = {"localhost:8002": f"localhost:{plat.upload_port}",
             "localhost:8080": f"localhost:{plat.invoke_port}"}

    def run(command: str) -> subprocess.CompletedProcess:
        for doc, real in ports.items():
            command = command.replace(doc, real)
        return subprocess.run(["bash", "-c", command], cwd=clone, env=env, text=True,
                              capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    try:
        yield run
    finally:
        plat.stop()


@pytest.mark.slow
def test_the_readme_quick_start_and_the_cli_tour_run_as_written(walk):
    for command in readme_commands():
        done = walk(command)
        printed = done.stdout + done.stderr
        assert done.returncode == 0, (command, printed)
        assert not re.search(r"^(Invalid|No worker|This is the|Internal error)|not found$",
                             printed, re.M), (command, printed)

    ids: dict[str, str] = {}
    last = 0
    for command, shown in tour_commands():
        command = re.sub(r"(faasm (?:status|logs|cancel) )(\d+)",
                         lambda m: m.group(1) + ids.get(m.group(2), m.group(2)), command)
        if command == "echo $?":
            assert shown == [str(last)]
            continue
        done = walk(command)
        printed = done.stdout + done.stderr
        # An async call the tour polls just after starting it may not have ended yet.
        deadline = time.monotonic() + 30
        while (re.match(r"faasm (status|logs) \d+$", command)
               and re.search(r"\b(RUNNING|QUEUED)\b", printed)
               and not any(re.search(r"\b(RUNNING|QUEUED)\b", line) for line in shown)
               and time.monotonic() < deadline):
            time.sleep(0.2)
            done = walk(command)
            printed = done.stdout + done.stderr
        last = done.returncode
        fails = any(line.startswith(("FAILED:", "faasm:")) for line in shown)
        assert (done.returncode != 0) == fails, (command, done.returncode, printed)
        if len(shown) == 1 and shown[0].strip().isdigit():  # a call ID
            ids[shown[0].strip()] = done.stdout.strip()
            continue
        flat = " ".join(printed.split())
        for line in shown:
            if not re.search(r"\d|<-|⠹", line):
                assert " ".join(line.split()) in flat, (command, line, printed)
