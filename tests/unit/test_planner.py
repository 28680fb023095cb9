"""faasm.planner: which bodies are planner messages, and faabric's JSON printing."""

import base64
import json

import pytest

from faasm import planner
from faasm.errors import BadRequest
from faasm.planner import MessageResult, PlannerMessage, PlannerType


@pytest.mark.parametrize("body, kind", [
    ({"http_type": "EXECUTE_BATCH", "payload": "{}"}, PlannerType.EXECUTE_BATCH),
    ({"type": "RESET"}, PlannerType.RESET),
    ({"type": 5}, PlannerType.GET_AVAILABLE_HOSTS),
    ({"type": "11", "payloadJson": "{}"}, PlannerType.EXECUTE_BATCH_STATUS),
    ({"payload": "{}"}, PlannerType.NO_TYPE),
    ({"type": 3, "payloadJson": ""}, PlannerType.FLUSH_EXECUTORS),
])
def test_planner_messages_are_recognised(body, kind):
    assert planner.detect(body).type is kind


@pytest.mark.parametrize("body", [
    {"user": "demo", "function": "hello"}, {"status": True, "id": 3}, {"flush": True},
    {"type": 3},  # the seed's own FLUSH message
    {"type": 0, "user": "demo", "function": "f"}, [1, 2], "text", None,
    {"type": True},
])
def test_seed_bodies_are_not(body):
    assert planner.detect(body) is None


@pytest.mark.parametrize("body", [{"http_type": "NOPE"}, {"http_type": 9},
                                  {"http_type": 1.5}])
def test_unknown_types_are_400s(body):
    with pytest.raises(BadRequest, match="Unrecognised message type"):
        planner.detect(body)


def test_unsupported_types_name_themselves():
    with pytest.raises(BadRequest, match="Unsupported planner message type: SET_POLICY"):
        planner.check_supported(PlannerMessage(PlannerType.SET_POLICY))


def _batch(**changes):
    data = {"appId": 7, "user": "u", "function": "f",
            "messages": [{"appId": 7, "user": "u", "function": "f", "id": 4,
                          "input_data": base64.b64encode(b"\xff\x00").decode()}]}
    data.update(changes)
    return PlannerMessage(PlannerType.EXECUTE_BATCH, json.dumps(data))


def test_batch_parsing_keeps_ids_and_binary_input():
    batch = planner.parse_batch(_batch())
    assert (batch.app_id, batch.user, batch.function) == (7, "u", "f")
    message = batch.messages[0]
    assert (message.id, message.input, message.python) == (4, b"\xff\x00", False)


def test_url_safe_and_unpadded_base64_as_protobuf_reads_it():
    data = json.loads(_batch().payload)
    data["messages"][0]["inputData"] = "_w"  # b"\xff" URL-safe, unpadded
    del data["messages"][0]["input_data"]
    batch = planner.parse_batch(PlannerMessage(PlannerType.EXECUTE_BATCH, json.dumps(data)))
    assert batch.messages[0].input == b"\xff"


@pytest.mark.parametrize("changes, text", [
    ({"messages": []}, "Bad BatchExecRequest"),
    ({"user": ""}, "Bad BatchExecRequest"),
    ({"appId": 8}, "Bad BatchExecRequest"),
    ({"appId": "x"}, "appId is not an int32"),
    ({"messages": "x"}, "messages is a list"),
    ({"messages": [{"appId": 7, "user": "u", "function": "../x"}]}, "Invalid function"),
    ({"messages": [{"appId": 7, "user": "u", "function": "f", "input_data": "!!"}]},
     "not base64"),
])
def test_bad_batches(changes, text):
    with pytest.raises(BadRequest, match=text):
        planner.parse_batch(_batch(**changes))


def test_python_messages_run_py_user_py_func():
    data = json.loads(_batch().payload)
    data.update(user="python", function="py_func")
    data["messages"][0].update(user="python", function="py_func", python=True,
                               py_user="alice", py_func="shout")
    message = planner.parse_batch(
        PlannerMessage(PlannerType.EXECUTE_BATCH, json.dumps(data))).messages[0]
    assert (message.user, message.function, message.python) == ("alice", "shout", True)
    assert (message.sent_user, message.sent_function) == ("python", "py_func")


def test_status_json_is_faabrics():
    result = MessageResult(id=5, app_id=7, user="u", function="f", output=b"hi",
                           start_ms=1700000000000, finish_ms=1700000000001, host="w@h")
    assert planner.batch_status(7, [result], True) == (
        '{"appId":7,"finished":true,"messageResults":[{"id":5,"appId":7,"user":"u",'
        '"function":"f","output_data":"hi","start_ts":"1700000000000",'
        '"executedHost":"w@h","finish_ts":"1700000000001"}]}')
    assert planner.batch_status(7, [], False) == '{"appId":7}'
    failed = MessageResult(id=5, app_id=7, user="u", function="f", output=b"\xffboom",
                           return_value=1)
    assert failed.to_dict()["output_data"] == "\ufffdboom"
    assert failed.to_dict()["returnValue"] == 1
