import base64
import json

import pytest

from faasm.calls import Call, CallResult, RequestKind, parse_call_id, parse_invoke
from faasm.errors import BadRequest


def parse(body, max_timeout=300.0):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_invoke(raw, max_timeout)


def test_sync_call():
    req = parse({"user": "demo", "function": "hello", "input_data": "héllo"})
    assert req.kind is RequestKind.CALL
    assert (req.user, req.function, req.input, req.is_async) == ("demo", "hello",
                                                                "héllo".encode(), False)
    assert req.python is None and req.timeout is None


def test_async_binary_input_and_timeout():
    req = parse({"user": "u", "function": "f", "async": True, "timeout": 3,
                 "input_data_b64": base64.b64encode(b"\x00\xff").decode()})
    assert req.is_async and req.input == b"\x00\xff" and req.timeout == 3.0


def test_timeout_is_capped():
    assert parse({"user": "u", "function": "f", "timeout": 9999}, 60.0).timeout == 60.0


def test_python_forms():
    faasm_form = parse({"user": "python", "function": "py_func", "py_user": "alice",
                        "py_func": "hello", "python": True})
    assert (faasm_form.user, faasm_form.function, faasm_form.python) == ("alice", "hello", True)
    direct = parse({"user": "alice", "function": "hello"})
    assert direct.python is None


def test_status_and_flush():
    assert parse({"status": True, "id": 42}).call_id == 42
    assert parse({"status": True, "id": "42"}).call_id == 42
    assert parse({"flush": True}).kind is RequestKind.FLUSH


def test_unknown_fields_are_ignored():
    assert parse({"user": "u", "function": "f", "whatever": [1, 2]}).function == "f"


@pytest.mark.parametrize("body, message", [
    (b"", "Empty request"),
    (b"   ", "Empty request"),
    (b"{not json", "Invalid JSON"),
    (b"[1, 2]", "expected a JSON object"),
    ({"function": "f"}, "Empty user"),
    ({"user": "u"}, "Empty function"),
    ({"user": "u", "function": ""}, "Empty function"),
    ({"user": "../etc", "function": "f"}, "Invalid user"),
    ({"user": "u", "function": "a/b"}, "Invalid function"),
    ({"user": "u", "function": "f", "input_data": 5}, "Invalid input_data"),
    ({"user": "u", "function": "f", "input_data_b64": "!!"}, "not base64"),
    ({"user": "u", "function": "f", "timeout": -1}, "Invalid timeout"),
    ({"user": "u", "function": "f", "timeout": "soon"}, "Invalid timeout"),
    ({"user": "u", "function": "f", "async": "maybe"}, "Invalid async"),
    ({"status": True}, "Invalid id"),
    ({"status": True, "id": 0}, "Invalid id"),
    ({"status": True, "id": -3}, "Invalid id"),
    ({"status": True, "id": "abc"}, "Invalid id"),
    ({"status": True, "id": True}, "Invalid id"),
])
def test_bad_requests(body, message):
    with pytest.raises(BadRequest, match=message):
        parse(body)


def test_call_message_round_trip():
    call = Call(id=7, user="u", function="f", input=b"\x00\x01", python=True, idx=2,
                timeout=3.5, parent=5)
    again = Call.from_message(json.loads(json.dumps(call.to_message())))
    assert again == call


def test_result_round_trip_and_body():
    result = CallResult(output=b"out", stdout=b"printed\n", timings={"run": 0.1}, worker="w")
    again = CallResult.from_message(json.loads(json.dumps(result.to_message())))
    assert again == result
    assert CallResult.from_message(json.loads(result.to_message())) == result
    assert again.response_body() == b"outprinted\n"


def test_call_id_parsing():
    assert parse_call_id(" 12 ") == 12
    with pytest.raises(BadRequest):
        parse_call_id(2**63)


@pytest.mark.parametrize("body", [
    {"user": "u", "function": "f", "async": 1}, {"flush": 0}, {"flush": 1},
    {"status": "true", "id": 1}, {"user": "u", "function": "f", "python": "1"}])
def test_flags_are_json_booleans_only(body):
    key = next(k for k in ("async", "flush", "status", "python") if k in body)
    with pytest.raises(BadRequest) as err:
        parse_invoke(json.dumps(body).encode(), 300)
    assert err.value.reason.startswith(f"Invalid {key}: ")
    assert f'send "{key}": true or false' in err.value.reason
    assert "\n" not in err.value.reason


def test_a_result_shows_its_output_as_text_first():
    assert CallResult(output=b"Hello faasm!").to_message().startswith(
        '{"output_text":"Hello faasm!","output":"SGVsbG8gZmFhc20h"')
    text = CallResult(output="Grüße ".encode() * 100).to_message()
    assert json.loads(text)["output_text"] == ("Grüße " * 100)[:200]
    assert CallResult.from_message(text).output == "Grüße ".encode() * 100
    assert "output_text" not in CallResult(output=b"\xff\xfe").to_message()
    # A multi-byte character cut by the preview's byte slice is not "binary".
    assert json.loads(CallResult(output=b"a" + "é".encode() * 500).to_message())["output_text"]
