"""schemathesis over both OpenAPI documents, against a platform of its own: no 5xx,
and every answer's status, content type and body as its document says. Examples are
bounded (``-n``, a fixed seed) so the run stays under a minute."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deploy.processes import Platform
from tests import module_database, wat

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")


@pytest.fixture(scope="module")
def fuzzed(redis_url, tmp_path_factory):
    url = module_database(redis_url, 15)
    plat = Platform(url, tmp_path_factory.mktemp("schemathesis"), concurrency=1,
                    FAASM_WORKER_WAIT="1",
                    # Fuzzed flushes and cancels wait this long for the workers' replies.
                    FAASM_FLUSH_TIMEOUT="0.2").start()
    try:
        import requests

        assert requests.put(f"{plat.upload_url}/f/demo/hello", data=wat.HELLO).ok
        yield plat
    finally:
        plat.stop()


@pytest.fixture(scope="module")
def runs(fuzzed, tmp_path_factory) -> dict[str, tuple[int, str]]:
    """Both documents fuzzed at once (each run mostly waits on the platform)."""
    st = Path(sys.executable).parent / "schemathesis"
    procs = {}
    for api, base in (("upload", fuzzed.upload_url), ("invoke", fuzzed.invoke_url)):
        procs[api] = subprocess.Popen(
            [str(st), "run", f"{base}/openapi.json", "--url", base, "--checks", CHECKS,
             "--max-examples", "5", "--seed", "7", "--no-color", "--request-timeout", "20",
             "--phases", "examples,coverage,fuzzing", "--continue-on-failure"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=tmp_path_factory.mktemp(api))
    outputs = {api: proc.communicate(timeout=240)[0] for api, proc in procs.items()}
    return {api: (procs[api].returncode, out) for api, out in outputs.items()}


@pytest.mark.parametrize("api", ["upload", "invoke"])
def test_schemathesis(runs, api):
    code, out = runs[api]
    summary = out[out.rfind("SUMMARY"):]
    assert code == 0, out[-6000:]
    assert " passed" in summary and "failed" not in summary, summary
