"""faasm.graph: a request's records and results as a tree, and faabric's text layouts."""

from faasm import graph
from faasm.calls import CallResult, CallStatus, Outcome


def outcomes(table):
    return lambda ids: [table[i] for i in ids]


def test_build_the_subtree_of_a_call_with_its_outcomes():
    tree = {1: {"user": "u", "function": "a", "submitted": "100.0"},
            2: {"user": "u", "function": "b", "parent": "1", "submitted": "100.5"},
            3: {"user": "u", "function": "c", "parent": "2", "submitted": "100.7"},
            4: {"user": "u", "function": "d", "parent": "1", "submitted": "100.8"}}
    ok = CallResult(output=b"out", worker="w/1", started=101.0, finished=101.25)
    table = {1: Outcome(result=ok, finished="1970-01-01T00:01:41.300000+00:00"),
             2: Outcome(reason="boom", finished="1970-01-01T00:01:42+00:00"),
             3: Outcome(status=CallStatus.RUNNING),
             4: Outcome(result=ok)}
    root = graph.build(1, tree[1], tree, outcomes(table))
    assert root.count() == 4 and [c.id for c in root.children] == [2, 4]
    assert (root.start, root.end, root.output, root.worker) == (101.0, 101.25, b"out", "w/1")
    failed = root.children[0]
    assert (failed.status, failed.error, failed.output, failed.end) == (
        "FAILED", "boom", b"boom", 102.0)
    assert failed.children[0].status == "RUNNING"
    sub = graph.build(2, tree[2], tree, outcomes(table))
    assert sub.count() == 2
    js = root.to_json()
    assert js["duration"] == 0.25 and js["output_bytes"] == 3
    assert js["start"] == "1970-01-01T00:01:41+00:00"


def test_seed_layout_is_faabrics_exec_graph_text():
    leaf = graph.GraphNode(id=2, user="u", function="f", status="SUCCESS", submitted=1.5,
                           end=2.0, output=b"x", worker="w")
    root = graph.GraphNode(id=1, user="u", function="f", status="SUCCESS", submitted=1.0,
                           end=3.0, children=[leaf])
    assert graph.seed_json(root) == (
        '{ \n"root": { "msg": {"id":1,"type":0,"user":"u","function":"f","hops":0,'
        '"finished":3000,"timestamp":1000}, \n"chained": [\n'
        '{ "msg": {"id":2,"type":0,"user":"u","function":"f","hops":0,"exec_host":"w",'
        '"finished":2000,"timestamp":1500,"output_data":"x"}}\n]}\n }')
    assert graph.planner_json(leaf) == (
        '{ \n"root": { "msg": {"id":2,"user":"u","function":"f","output_data":"x",'
        '"start_ts":"1500","executedHost":"w","finish_ts":"2000"}}\n }')
