"""The current Faasm API (faabric's planner HttpMessage on POST :8080/), through real
gunicorn, a real Celery worker and real Redis, with the bodies faasmctl sends and
the answers faabric's planner gives, byte for byte where a client parses them."""

from __future__ import annotations

import base64
import json
import random
import re
import time

import pytest
import requests

from tests import wat


def planner_body(kind, payload=None, names=("http_type", "payload")) -> str:
    """What faasmctl's prepare_planner_msg sends (protobuf MessageToJson, indent=None)."""
    body = {names[0]: kind}
    if payload is not None:
        body[names[1]] = json.dumps(payload)
    return json.dumps(body)


def post(platform, kind, payload=None, **kwargs):
    return requests.post(platform.invoke_url, data=planner_body(kind, payload, **kwargs),
                         timeout=60)


def ber(user, function, inputs, app_id=None, **extra):
    """A BatchExecuteRequest as faasmctl's batch_exec_factory builds it."""
    app_id = app_id or random.randint(100000, 999999)
    messages = []
    for data in inputs:
        msg = {"id": random.randint(100000, 999999), "appId": app_id, "user": user,
               "function": function, **extra}
        if data is not None:
            msg["input_data"] = base64.b64encode(data).decode()
        messages.append(msg)
    return {"appId": app_id, "user": user, "function": function, "messages": messages}


def await_batch(platform, app_id, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = post(platform, "EXECUTE_BATCH_STATUS", {"appId": app_id, "expectedNumMessages": 1})
        assert r.status_code == 200, r.text
        status = json.loads(r.text)
        if status.get("finished"):
            return r
        time.sleep(0.05)
    raise AssertionError(f"app {app_id} not finished after {seconds} s")


def test_execute_batch_then_status_as_faasmctl_reads_them(platform):
    request = ber("demo", "hello", [b"a", b"b", b"c"])
    r = post(platform, "EXECUTE_BATCH", request)
    # faabric answers batchExecStatusFactory(ber): the app id alone, compact JSON.
    assert (r.status_code, r.text) == (200, f'{{"appId":{request["appId"]}}}')
    assert r.headers["Content-Type"].startswith("text/plain")
    status = json.loads(await_batch(platform, request["appId"]).text)
    assert status["appId"] == request["appId"] and status["finished"] is True
    results = status["messageResults"]
    assert sorted(m["output_data"] for m in results) == ["out:a", "out:b", "out:c"]
    sent_ids = {m["id"] for m in request["messages"]}
    for m in results:
        assert m["id"] in sent_ids  # the call got the message's own id
        assert (m["appId"], m["user"], m["function"]) == (request["appId"], "demo", "hello")
        assert "returnValue" not in m  # 0 is a default: protobuf leaves it out
        # int64 timestamps print as strings, in ms; start <= finish
        assert re.fullmatch(r"\d{13}", m["start_ts"]) and re.fullmatch(r"\d{13}", m["finish_ts"])
        assert int(m["start_ts"]) <= int(m["finish_ts"])
        assert m["executedHost"]
    # Each call is a call of the platform too: its id polls on the seed API.
    call_id = results[0]["id"]
    answer = requests.post(platform.invoke_url, json={"status": True, "id": call_id}).text
    assert answer.startswith("SUCCESS: out:")


def test_status_before_the_end_lists_only_the_finished(platform, upload):
    upload("demo", "sleepy", wat.SLEEP)
    request = ber("demo", "sleepy", [None])
    request["messages"][0]["id"] = 0  # no id: the platform picks one
    assert post(platform, "EXECUTE_BATCH", request).status_code == 200
    r = post(platform, "EXECUTE_BATCH_STATUS", {"appId": request["appId"]})
    assert (r.status_code, r.text) == (200, f'{{"appId":{request["appId"]}}}')
    result = json.loads(await_batch(platform, request["appId"]).text)["messageResults"][0]
    assert result["output_data"] == "slept" and result["id"] > 0


def test_names_numbers_and_proto_field_names_are_all_accepted(platform):
    request = ber("demo", "hello", [b"n"])
    r = post(platform, 10, request, names=("type", "payloadJson"))
    assert r.status_code == 200, r.text
    status = json.loads(await_batch(platform, request["appId"]).text)
    assert status["messageResults"][0]["output_data"] == "out:n"


def test_a_failed_message_has_a_return_value_and_its_error_as_output(platform, upload):
    upload("demo", "exit3", wat.EXIT_3)
    request = ber("demo", "exit3", [b""])
    assert post(platform, "EXECUTE_BATCH", request).status_code == 200
    result = json.loads(await_batch(platform, request["appId"]).text)["messageResults"][0]
    assert result["returnValue"] == 1
    assert result["output_data"] == "Function exited with code 3"


def test_binary_input_reaches_the_function(platform, upload):
    upload("demo", "echo", wat.ECHO)
    request = ber("demo", "echo", [bytes(range(200))])
    assert post(platform, "EXECUTE_BATCH", request).status_code == 200
    result = json.loads(await_batch(platform, request["appId"]).text)["messageResults"][0]
    # outputData is a proto string: the bytes read as UTF-8, bad ones replaced.
    assert result["output_data"] == bytes(range(200)).decode("utf-8", "replace")


def test_python_messages_in_faasms_form(platform):
    assert requests.put(f"{platform.upload_url}/p/python/shout",
                        data=b"from pyfaasm.core import get_input, set_output\n"
                             b"set_output(get_input().upper())\n").ok
    request = ber("python", "py_func", [b"quiet"], python=True, py_user="python",
                  py_func="shout")
    assert post(platform, "EXECUTE_BATCH", request).status_code == 200, request
    result = json.loads(await_batch(platform, request["appId"], 120).text)["messageResults"][0]
    assert result["output_data"] == "QUIET", result
    assert (result["python"], result["py_user"], result["py_func"]) == (True, "python", "shout")


@pytest.mark.parametrize("kind, text", [
    ("FLUSH_EXECUTORS", "Flushed executors!"),
    ("FLUSH_AVAILABLE_HOSTS", "Flushed available hosts!"),
    ("RESET", "Planner fully reset!"),
])
def test_flush_and_reset_answer_as_faabric(platform, kind, text):
    r = post(platform, kind)
    assert (r.status_code, r.text) == (200, text)
    ok = requests.post(platform.invoke_url, json={"user": "demo", "function": "hello"})
    assert ok.status_code == 200


def test_available_hosts_are_the_celery_workers(platform):
    r = post(platform, "GET_AVAILABLE_HOSTS")
    assert r.status_code == 200, r.text
    hosts = json.loads(r.text)["hosts"]
    assert len(hosts) == 1 and "@" in hosts[0]["ip"]
    assert hosts[0]["slots"] == 2  # the fixture's worker concurrency


def test_config(platform):
    r = post(platform, "GET_CONFIG")
    assert r.status_code == 200 and json.loads(r.text)["ip"]


@pytest.mark.parametrize("kind", ["SET_POLICY", "GET_POLICY", "GET_IN_FLIGHT_APPS",
                                  "PRELOAD_SCHEDULING_DECISION", "SET_NEXT_EVICTED_VM",
                                  "FLUSH_SCHEDULING_STATE", "NO_TYPE"])
def test_other_types_are_400s_naming_the_type(platform, kind):
    r = post(platform, kind, {"appId": 1})
    assert r.status_code == 400 and r.text.startswith(
        f"Unsupported planner message type: {kind} "), r.text
    assert r.text.count("\n") == 1


@pytest.mark.parametrize("body, text", [
    ('{"http_type": "NOPE"}', "Unrecognised message type: NOPE\n"),
    ('{"http_type": 99}', "Unrecognised message type: 99\n"),
    ('{"http_type": "EXECUTE_BATCH", "payload": "{broken"}', "Bad JSON in body's payload\n"),
    ('{"http_type": "EXECUTE_BATCH", "payload": "{}"}', "Bad BatchExecRequest"),
    ('{"http_type": "EXECUTE_BATCH", "payload": 7}', "payload must be a JSON string"),
    ('{"http_type": "EXECUTE_BATCH_STATUS", "payload": "{\\"appId\\": 5}"}',
     "App 5 not registered in results\n"),
])
def test_bad_planner_messages(platform, body, text):
    r = requests.post(platform.invoke_url, data=body, timeout=30)
    assert 400 <= r.status_code < 500 and text in r.text, r.text


def test_a_message_of_another_user_or_app_is_a_bad_batch(platform):
    request = ber("demo", "hello", [b"x", b"y"])
    request["messages"][1]["user"] = "other"
    r = post(platform, "EXECUTE_BATCH", request)
    assert r.status_code == 400 and r.text.startswith("Bad BatchExecRequest")
    request = ber("demo", "nothing", [b"x"])
    r = post(platform, "EXECUTE_BATCH", request)
    assert r.status_code == 404 and "demo/nothing" in r.text


def test_a_reused_app_id_is_refused(platform):
    request = ber("demo", "hello", [b"x"])
    assert post(platform, "EXECUTE_BATCH", request).status_code == 200
    again = ber("demo", "hello", [b"x"], app_id=request["appId"])
    r = post(platform, "EXECUTE_BATCH", again)
    assert r.status_code == 400 and "already exists" in r.text


def test_a_big_batch_is_one_request(platform):
    request = ber("demo", "hello", [str(i).encode() for i in range(200)])
    for m in request["messages"]:
        m["id"] = 0  # faasmctl's random ids would collide in a batch this big
    started = time.monotonic()
    r = post(platform, "EXECUTE_BATCH", request)
    assert r.status_code == 200, r.text
    submitted = time.monotonic() - started
    status = json.loads(await_batch(platform, request["appId"], 120).text)
    outputs = sorted(m["output_data"] for m in status["messageResults"])
    assert outputs == sorted(f"out:{i}" for i in range(200))
    assert len({m["id"] for m in status["messageResults"]}) == 200
    assert submitted < 10
