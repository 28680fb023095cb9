"""The current Faasm API on ``POST /`` of the invoke API: faabric's planner messages.

``api/invoke.py`` hands a body here when ``faasm.planner.detect`` says it is
a planner ``HttpMessage``; each type is translated to the core and answered
as faabric's planner endpoint answers it (docs/COMPATIBILITY.md).
"""

from __future__ import annotations

from api.auth import principal
from api.common import plain
from faasm import graph, planner
from faasm.calls import Outcome
from faasm.errors import NotFound
from faasm.planner import MessageResult, PlannerMessage, PlannerType


class Planner:
    """One planner message in, faabric's answer out."""

    def __init__(self, deps):
        self.deps = deps  # api.invoke.InvokeDeps

    def answer(self, req, resp, msg: PlannerMessage) -> None:
        planner.check_supported(msg)
        if msg.type in planner.ANSWERS:
            principal(req).require_admin(f"{msg.type.name}")
            self.deps.queue.flush()
            plain(resp, planner.ANSWERS[msg.type])
        elif msg.type is PlannerType.EXECUTE_BATCH:
            self._execute(req, resp, msg)
        elif msg.type is PlannerType.EXECUTE_BATCH_STATUS:
            self._status(req, resp, planner.status_app_id(msg))
        elif msg.type is PlannerType.GET_EXEC_GRAPH:
            call_id = planner.graph_call_id(msg)
            root = exec_graph(self.deps, req, call_id)
            plain(resp, graph.planner_json(root))
        elif msg.type is PlannerType.GET_AVAILABLE_HOSTS:
            plain(resp, planner.host_list(self.deps.queue.workers()))
        else:  # GET_CONFIG
            settings = self.deps.settings
            plain(resp, planner.planner_config(settings.bind_host,
                                               int(settings.flush_timeout), 0))

    def _execute(self, req, resp, msg: PlannerMessage) -> None:
        deps = self.deps
        batch = planner.parse_batch(msg)
        who = principal(req)
        kinds: dict[tuple[str, str, bool], bool] = {}
        for m in batch.messages:
            key = (m.user, m.function, m.python)
            if key not in kinds:
                who.require_user(m.user)
                kinds[key] = deps.functions.resolve(m.user, m.function, m.python or None)
        app_id = deps.batches.reserve(batch.app_id)
        try:
            calls = deps.records.issue_many(
                [dict(user=m.user, function=m.function, input=m.input,
                      python=kinds[(m.user, m.function, m.python)], cmdline=m.cmdline)
                 for m in batch.messages],
                wanted=[m.id for m in batch.messages], extra={"app": app_id})
            deps.batches.save(app_id, batch.user, [
                {"id": c.id, "user": m.sent_user, "function": m.sent_function,
                 "python": m.python, "py_user": m.user if m.python else "",
                 "py_func": m.function if m.python else ""}
                for c, m in zip(calls, batch.messages, strict=True)])
        except BaseException:
            deps.batches.release(app_id)
            raise
        deps.queue.submit_many(calls)
        plain(resp, planner.batch_status(app_id, [], False))

    def _status(self, req, resp, app_id: int) -> None:
        record = self.deps.batches.get(app_id)
        if record is None:
            raise NotFound(f"App {app_id} not registered in results")
        principal(req).require_user(record.get("user"), f"App {app_id}")
        calls = record["calls"]
        outcomes = self.deps.queue.outcomes([c["id"] for c in calls])
        results = []
        for call, outcome in zip(calls, outcomes, strict=True):
            if outcome.ended:
                results.append(message_result(call, app_id, outcome))
        finished = bool(calls) and len(results) == len(calls)
        plain(resp, planner.batch_status(app_id, results, finished))


def message_result(call: dict, app_id: int, outcome: Outcome) -> MessageResult:
    end = _ms(outcome.finished)
    result = MessageResult(id=call["id"], app_id=app_id, user=call["user"],
                           function=call["function"], python=call.get("python", False),
                           py_user=call.get("py_user", ""), py_func=call.get("py_func", ""),
                           finish_ms=end, start_ms=end)
    if outcome.ok:
        ran = outcome.result
        result.output, result.host = ran.output, ran.worker
        if ran.started:
            result.start_ms, result.finish_ms = int(ran.started * 1000), int(ran.finished * 1000)
    else:
        # faabric: a failed call's outputData is its error, its returnValue non-zero.
        result.output, result.return_value = outcome.reason.encode("utf-8"), 1
    return result


def _ms(iso: str | None) -> int:
    stamp = graph.epoch(iso)
    return int(stamp * 1000) if stamp else 0


def exec_graph(deps, req, call_id: int) -> graph.GraphNode:
    """The execution graph below ``call_id``, for a principal who may see it."""
    record = deps.records.get(call_id)  # 404 never issued, 410 expired
    principal(req).require_user(record.get("user"), f"Call {call_id}")
    root = int(record.get("root") or call_id)
    tree = deps.records.tree(root)
    return graph.build(call_id, record, tree, deps.queue.outcomes)
