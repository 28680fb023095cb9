"""The seed's JSON API replayed byte for byte (faabric's HTTP endpoint of the seed's
generation, docs/COMPATIBILITY.md), and the execution graph, through real processes."""

from __future__ import annotations

import json
import random
import time
from datetime import datetime

import requests

from tests import wat


def post_raw(platform, body: bytes):
    return requests.post(platform.invoke_url, data=body, timeout=60)


def wait_status(platform, call_id, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = post_raw(platform, b'{"status": true, "id": %d}' % call_id)
        if r.content != b"RUNNING":
            return r
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} still RUNNING")


def test_each_answer_a_faasm_client_parses(platform, upload):
    upload("demo", "exit3", wat.EXIT_3)
    sync = post_raw(platform, b'{"user": "demo", "function": "hello", "input_data": "q"}')
    assert (sync.status_code, sync.content) == (200, b"out:q\n")
    call_id = post_raw(platform, b'{"user": "demo", "function": "hello", "async": true}')
    assert call_id.status_code == 200 and call_id.content.isdigit()
    assert wait_status(platform, int(call_id.content)).content == b"SUCCESS: out:"
    failed = post_raw(platform, b'{"user": "demo", "function": "exit3"}')
    assert (failed.status_code, failed.content) == (200, b"Function exited with code 3\n")
    failed_id = int(post_raw(platform, b'{"user": "demo", "function": "exit3", '
                                       b'"async": true}').content)
    assert wait_status(platform, failed_id).content == b"FAILED: Function exited with code 3"
    flush = post_raw(platform, b'{"type": 3}')
    assert (flush.status_code, flush.content) == (200, b"")


def test_a_client_chosen_id_is_the_calls(platform):
    chosen = random.randint(10**9, 2**31 - 2)
    r = post_raw(platform, b'{"user": "demo", "function": "hello", "async": true, '
                           b'"input_data": "c", "id": %d}' % chosen)
    assert (r.status_code, r.content) == (200, str(chosen).encode())
    assert wait_status(platform, chosen).content == b"SUCCESS: out:c"
    # A sync call may choose its ID too; an ID in use is refused.
    again = post_raw(platform, b'{"user": "demo", "function": "hello", "id": %d}' % chosen)
    assert again.status_code == 400 and f"Call id {chosen} is in use" in again.text
    sync = post_raw(platform, b'{"user": "demo", "function": "hello", "id": %d}' % (chosen + 1))
    assert sync.content == b"out:\n" and sync.headers["X-Faasm-Call-Id"] == str(chosen + 1)
    too_big = post_raw(platform, b'{"user": "demo", "function": "hello", "id": %d}' % 2**31)
    assert too_big.status_code == 400 and "at most 2147483647" in too_big.text


def _chain(platform, examples, depth=2):
    r = requests.put(f"{platform.upload_url}/f/demo/chain_recursive",
                     data=examples["chain_recursive"])
    assert r.ok, r.text
    r = post_raw(platform, b'{"user": "demo", "function": "chain_recursive", '
                           b'"input_data": "%d"}' % depth)
    assert r.status_code == 200 and r.content.startswith(b"2 1 0"), r.text
    return int(r.headers["X-Faasm-Call-Id"])


def test_exec_graph_on_the_seed_api(platform, examples):
    root = _chain(platform, examples)
    r = post_raw(platform, b'{"exec_graph": true, "id": %d}' % root)
    assert r.status_code == 200 and r.text.startswith('{ \n"root": { "msg": {"id":' + f"{root},")
    assert r.text.endswith("}\n }")
    graph = json.loads(r.text)["root"]
    assert graph["msg"]["function"] == "chain_recursive" and graph["msg"]["type"] == 0
    assert graph["msg"]["output_data"].startswith("2 1 0")
    child = graph["chained"][0]
    grandchild = child["chained"][0]
    assert "chained" not in grandchild
    for node in (graph, child, grandchild):
        assert node["msg"]["finished"] >= node["msg"]["timestamp"] > 0
        assert node["msg"]["exec_host"]
    # The call was not run again: no new call behind the graph.
    assert post_raw(platform, b'{"exec_graph": true, "id": %d}' % root).text == r.text


def test_graph_json_and_the_planners_exec_graph(platform, examples):
    root = _chain(platform, examples)
    r = requests.get(f"{platform.invoke_url}/status/{root}/graph", timeout=10)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["calls"] == 3
    node = answer["root"]
    depth = 0
    while node:
        assert node["function"] == "chain_recursive" and node["status"] == "SUCCESS"
        assert node["worker"] and node["output_bytes"] > 0 and node["error"] is None
        start, end = (datetime.fromisoformat(node[k]) for k in ("start", "end"))
        assert start <= end and node["duration"] >= 0
        node = node["children"][0] if node["children"] else None
        depth += 1
    assert depth == 3
    # The graph of a chained call is its own subtree.
    child = answer["root"]["children"][0]["id"]
    sub = requests.get(f"{platform.invoke_url}/status/{child}/graph", timeout=10).json()
    assert sub["calls"] == 2 and sub["root"]["id"] == child
    # faabric's planner form of the same graph.
    planner = requests.post(platform.invoke_url, data=json.dumps(
        {"http_type": "GET_EXEC_GRAPH", "payload": json.dumps({"id": root})}), timeout=10)
    assert planner.status_code == 200
    tree = json.loads(planner.text)["root"]
    assert tree["msg"]["id"] == root and tree["msg"]["chainedMsgIds"] == [child]
    assert tree["chained"][0]["msg"]["id"] == child


def test_graph_of_unknown_calls(platform):
    assert requests.get(f"{platform.invoke_url}/status/999999999/graph").status_code == 404
    r = post_raw(platform, b'{"exec_graph": true, "id": 999999999}')
    assert (r.status_code, r.text) == (404, "Call 999999999 not found\n")
    r = post_raw(platform, b'{"exec_graph": true}')
    assert r.status_code == 400 and "Invalid id" in r.text
