"""A call's execution graph: the tree of calls it chained, with their outcomes.

Built from the call records (each chained call names its parent, and the
request's first call keeps the set of every call it started) and one read
of all their results. Rendered three ways: this platform's JSON
(``GET /status/{id}/graph``), the seed API's ``exec_graph`` answer and the
planner's GET_EXEC_GRAPH answer (faabric's text layouts, docs/COMPATIBILITY.md),
and a terminal tree (``faasm graph ID``, in faasm_client/cli/commands.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from faasm.calls import CallStatus, Outcome
from faasm.planner import MessageResult

#: ``outcomes(ids)`` -> the Outcome of each ID.
Outcomes = Callable[[list[int]], list[Outcome]]


@dataclass
class GraphNode:
    id: int
    user: str
    function: str
    status: str
    python: bool = False
    worker: str | None = None
    submitted: float | None = None  # epoch seconds
    start: float | None = None
    end: float | None = None
    output: bytes = b""
    error: str | None = None
    children: list[GraphNode] = field(default_factory=list)

    def to_json(self) -> dict:
        """This platform's form (``GET /status/{id}/graph``)."""
        duration = (self.end - self.start) if self.start and self.end else None
        return {"id": self.id, "user": self.user, "function": self.function,
                "python": self.python, "status": self.status, "worker": self.worker,
                "submitted": _iso(self.submitted), "start": _iso(self.start),
                "end": _iso(self.end), "duration": duration,
                "output_bytes": len(self.output), "error": self.error,
                "children": [c.to_json() for c in self.children]}

    def count(self) -> int:
        return 1 + sum(c.count() for c in self.children)


def _iso(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp, UTC).isoformat() if stamp else None


def epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def build(call_id: int, record: dict, tree: dict[int, dict], outcomes: Outcomes) -> GraphNode:
    """The graph below ``call_id`` (whose ``record`` is given) from its request's ``tree``."""
    tree = dict(tree)
    tree[call_id] = record
    children: dict[int, list[int]] = {}
    for cid, rec in tree.items():
        parent = rec.get("parent")
        if parent and cid != call_id:
            children.setdefault(int(parent), []).append(cid)
    ids: list[int] = []
    pending = [call_id]
    while pending:  # the subtree under call_id only
        cid = pending.pop()
        ids.append(cid)
        pending.extend(children.get(cid, []))
    ends = dict(zip(ids, outcomes(ids), strict=True))
    nodes: dict[int, GraphNode] = {}
    for cid in ids:
        rec, outcome = tree[cid], ends[cid]
        node = GraphNode(id=cid, user=rec.get("user", ""), function=rec.get("function", ""),
                         status=outcome.status.value, python=rec.get("python") == "1",
                         submitted=float(rec["submitted"]) if rec.get("submitted") else None,
                         end=epoch(outcome.finished))
        if outcome.ok:
            ran = outcome.result
            node.output, node.worker = ran.output, ran.worker or None
            if ran.started:
                node.start, node.end = ran.started, ran.finished
        elif outcome.ended:
            node.error = outcome.reason
            node.output = outcome.reason.encode("utf-8")  # faabric's failed outputData
        nodes[cid] = node
    for cid in ids:
        nodes[cid].children = [nodes[c] for c in sorted(children.get(cid, []))]
    return nodes[call_id]


def _layout(node: GraphNode, message: Callable[[GraphNode], str]) -> str:
    """faabric's execNodeToJson text layout (spaces and newlines as upstream)."""
    text = '{ "msg": ' + message(node)
    if node.children:
        text += ", \n" + '"chained": [\n'
        text += ", \n".join(_layout(c, message) for c in node.children)
        text += "\n]"
    return text + "}"


def _seed_message(node: GraphNode) -> str:
    """The seed generation's messageToJson (its own field names, in its order)."""
    msg: dict = {"id": node.id, "type": 0, "user": node.user, "function": node.function,
                 "hops": 0}
    if node.worker:
        msg["exec_host"] = node.worker
    if node.end:
        msg["finished"] = int(node.end * 1000)
    if node.submitted:
        msg["timestamp"] = int(node.submitted * 1000)
    if node.output:
        msg["output_data"] = node.output.decode("utf-8", "replace")
    if node.python:
        msg["python"] = True
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False)


def _planner_message(node: GraphNode) -> str:
    """Today's messageToJson (protobuf JSON of faabric.Message)."""
    result = MessageResult(
        id=node.id, app_id=0, user=node.user, function=node.function, output=node.output,
        return_value=0 if node.status != CallStatus.FAILED.value else 1,
        start_ms=int((node.start or node.submitted or 0) * 1000),
        finish_ms=int((node.end or 0) * 1000), host=node.worker or "",
        chained=[c.id for c in node.children])
    return json.dumps(result.to_dict(), separators=(",", ":"), ensure_ascii=False)


def seed_json(root: GraphNode) -> str:
    """The seed API's ``exec_graph`` answer."""
    return "{ \n" + '"root": ' + _layout(root, _seed_message) + "\n }"


def planner_json(root: GraphNode) -> str:
    """The planner's GET_EXEC_GRAPH answer."""
    return "{ \n" + '"root": ' + _layout(root, _planner_message) + "\n }"
