"""Endpoints beyond Faasm's API, through real gunicorn: /ping, /status/{id}, /openapi.json."""

from __future__ import annotations

import base64
import time
from datetime import datetime

import pytest
import requests
from openapi_spec_validator import validate

from tests import wat


def api_url(platform, which):
    return platform.upload_url if which == "upload" else platform.invoke_url


def wait_report(platform, call_id, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = requests.get(f"{platform.invoke_url}/status/{call_id}", timeout=10)
        assert r.status_code == 200, r.text
        if r.json()["status"] not in ("QUEUED", "RUNNING"):
            return r
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} still RUNNING after {seconds} s")


@pytest.mark.parametrize("which", ["upload", "invoke"])
def test_ping(platform, which):
    r = requests.get(f"{api_url(platform, which)}/ping", timeout=10)
    assert (r.status_code, r.text) == (200, "PONG")
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("which", ["upload", "invoke"])
def test_openapi_document_is_served_and_valid(platform, which):
    r = requests.get(f"{api_url(platform, which)}/openapi.json", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    document = r.json()
    validate(document)
    assert "/ping" in document["paths"] and document["info"]["title"].endswith(f"{which} API")


def test_status_json_of_a_successful_call(platform, invoke):
    call_id = int(invoke({"user": "demo", "function": "hello", "input_data": "j",
                          "async": True}).text)
    r = wait_report(platform, call_id)
    report = r.json()
    assert r.headers["Content-Type"].startswith("application/json")
    assert {k: report[k] for k in ("id", "user", "function", "python", "status", "output",
                                   "output_encoding", "stdout", "stdout_encoding", "error")} == {
        "id": call_id, "user": "demo", "function": "hello", "python": False,
        "status": "SUCCESS", "output": "out:j", "output_encoding": "utf-8",
        "stdout": "hello from wasm\n", "stdout_encoding": "utf-8", "error": None}
    assert report["worker"] and report["worker"].split("/")[-1].isdigit()
    assert set(report["timings"]) >= {"run"} and all(
        isinstance(v, float) for v in report["timings"].values())
    submitted = datetime.fromisoformat(report["submitted"])
    finished = datetime.fromisoformat(report["finished"])
    assert submitted <= finished and finished.tzinfo is not None


def test_status_json_gives_binary_output_as_base64(platform, invoke, upload):
    upload("demo", "echo", wat.ECHO)
    data = bytes(range(256))
    call_id = int(invoke({"user": "demo", "function": "echo", "async": True,
                          "input_data_b64": base64.b64encode(data).decode()}).text)
    report = wait_report(platform, call_id).json()
    assert report["output_encoding"] == "base64"
    assert base64.b64decode(report["output"]) == data


def test_status_json_of_a_failed_and_a_running_call(platform, invoke, upload):
    upload("demo", "exit3", wat.EXIT_3)
    upload("demo", "loop", wat.LOOP)
    running = int(invoke({"user": "demo", "function": "loop", "timeout": 2,
                          "async": True}).text)
    failed = int(invoke({"user": "demo", "function": "exit3", "async": True}).text)
    report = requests.get(f"{platform.invoke_url}/status/{running}", timeout=10).json()
    assert report["status"] in ("QUEUED", "RUNNING")
    assert (report["error"], report["finished"]) == (None, None)
    report = wait_report(platform, failed).json()
    assert report["status"] == "FAILED" and report["error"] == "Function exited with code 3"
    assert report["finished"] and report["output"] == ""
    assert wait_report(platform, running).json()["error"].startswith("Call timed out")


@pytest.mark.parametrize("call_id, status", [
    ("999999999", 404), ("abc", 400), ("0", 400), ("-3", 400)])
def test_status_json_of_bad_ids(platform, call_id, status):
    r = requests.get(f"{platform.invoke_url}/status/{call_id}", timeout=10)
    assert r.status_code == status and r.headers["Content-Type"].startswith("text/plain")
    assert r.text.count("\n") == 1
