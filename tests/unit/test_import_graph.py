"""What each kind of process loads, checked in a clean interpreter.

The core (``faasm``) imports neither Falcon nor Celery, nor the client side;
the API processes never load wasmtime (uploads compile in a child); the client
side (``faasm_client``: the HTTP client and the ``faasm`` CLI) talks HTTP only.
"""

import json
import pkgutil
import subprocess
import sys

import pytest

import faasm
import faasm_client
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


#: What a user's install of the client side must do without.
PLATFORM_ONLY = {"redis", "celery", "kombu", "wasmtime", "falcon"}


def core_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(faasm.__path__, "faasm.")
            if not m.name.startswith("faasm.guest")  # runs inside the sandbox
            and m.name != "faasm.__main__"]  # runs the CLI


def client_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(faasm_client.__path__, "faasm_client.")]


def test_the_core_imports_neither_falcon_nor_celery_nor_the_client():
    assert not loaded(*core_modules()) & {"falcon", "celery", "kombu", "gunicorn",
                                          "faasm_client"}


@pytest.mark.parametrize("app", ["api.upload", "api.invoke"])
def test_the_api_processes_load_no_wasmtime(app):
    assert "wasmtime" not in loaded(app, "deploy.gunicorn.base")


@pytest.mark.parametrize("entry", ["faasm_client", "faasm_client.cli"])
def test_the_client_side_talks_http_only(entry):
    assert not loaded(entry) & PLATFORM_ONLY


def test_no_client_module_loads_the_platform():
    """Every module of the package, the CLI's commands and the toolchain included."""
    modules = client_modules()
    assert "faasm_client.cli.commands" in modules and "faasm_client.toolchain" in modules
    assert not loaded(*modules) & PLATFORM_ONLY
