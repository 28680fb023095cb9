"""FAASM_TRACING on: a call's spans, from the invoke API's HTTP request to the worker
that ran it, share one trace (OpenTelemetry's Falcon and Celery instrumentation)."""

from __future__ import annotations

import json
import time

import requests

from deploy.processes import Platform
from tests import module_database, wat


def spans(text: str) -> list[dict]:
    """The spans a ConsoleSpanExporter printed into a log."""
    found, decoder, at = [], json.JSONDecoder(), 0
    while (at := text.find('{\n    "name":', at)) != -1:
        span, end = decoder.raw_decode(text, at)
        found.append(span)
        at = end
    return found


def test_a_call_is_one_trace_from_http_to_worker(redis_url, tmp_path):
    url = module_database(redis_url, 14)
    plat = Platform(url, tmp_path, concurrency=1, FAASM_TRACING="on").start()
    try:
        assert requests.put(f"{plat.upload_url}/f/demo/hello", data=wat.HELLO).ok
        for _ in range(100):  # the worker is ready once a call goes through
            r = requests.post(plat.invoke_url, json={"user": "demo", "function": "hello",
                                                     "input_data": "traced"}, timeout=60)
            if r.status_code == 200:
                break
            time.sleep(0.2)
        assert r.status_code == 200, r.text
        # Spans are written once they end, after the answer: wait for all three kinds.
        deadline = time.monotonic() + 15
        while True:
            http = [s for s in spans(plat.log("invoke")) if s["name"] == "POST /"]
            sent = [s for s in spans(plat.log("invoke")) if s["name"].startswith("apply_async/")]
            ran = [s for s in spans(plat.log("worker")) if s["name"] == "run/faasm.call"]
            if (http and sent and ran) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert http and sent and ran, (plat.log("invoke")[-2000:], plat.log("worker")[-2000:])
        trace = http[-1]["context"]["trace_id"]
        assert sent[-1]["context"]["trace_id"] == trace
        assert sent[-1]["parent_id"] == http[-1]["context"]["span_id"]
        assert ran[-1]["context"]["trace_id"] == trace
        assert ran[-1]["parent_id"] == sent[-1]["context"]["span_id"]
    finally:
        plat.stop()


def test_tracing_is_off_by_default(platform):
    r = requests.post(platform.invoke_url, json={"user": "demo", "function": "hello"})
    assert r.status_code == 200
    assert spans(platform.log("invoke")) == [] and spans(platform.log("worker")) == []
