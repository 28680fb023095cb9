"""What each kind of process loads, checked in a clean interpreter.

The core (``faasm``) imports neither Falcon nor Celery; the API processes
never load wasmtime (uploads compile in a child); the client side (the
``faasm`` CLI and ``faasm.client``) talks HTTP only.
"""

import json
import pkgutil
import subprocess
import sys

import pytest

import faasm
from deploy.processes import ROOT


def loaded(*modules: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after importing ``modules``."""
    probe = (f"import importlib, json, sys\n"
             f"for m in {list(modules)!r}: importlib.import_module(m)\n"
             f"print(json.dumps(sorted({{n.split('.')[0] for n in sys.modules}})))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout))


#: Client-side modules: what the `faasm` command line and faasm.client load.
CLIENT = ("faasm.client", "faasm.cli", "faasm.cli_commands", "faasm.progress", "faasm.toolchain")


def core_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(faasm.__path__, "faasm.")
            if not m.name.startswith("faasm.guest")  # runs inside the sandbox
            and m.name not in CLIENT and m.name != "faasm.__main__"]


def test_the_core_imports_neither_falcon_nor_celery():
    assert not loaded(*core_modules()) & {"falcon", "celery", "kombu", "gunicorn"}


@pytest.mark.parametrize("app", ["api.upload", "api.invoke"])
def test_the_api_processes_load_no_wasmtime(app):
    assert "wasmtime" not in loaded(app, "deploy.gunicorn.base")


def test_the_client_side_talks_http_only():
    assert not loaded(*CLIENT) & {"redis", "celery", "kombu", "wasmtime", "falcon"}
