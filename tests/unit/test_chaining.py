"""Chaining's claim protocol against a real Redis, with an in-memory dispatcher."""

import time
import uuid

import pytest
import redis

from faasm.calls import CallResult
from faasm.chaining import Chaining, MemoryDispatcher, Outcome
from faasm.errors import BadRequest, CallFailed, CallTimedOut
from faasm.records import CallRecords


class AnyFunction:
    def resolve(self, user, function, python):
        return bool(python)


@pytest.fixture
def records(redis_url):
    return CallRecords(redis.Redis.from_url(redis_url), f"test-{uuid.uuid4().hex[:8]}", 60)


def make(records, execute):
    dispatcher = MemoryDispatcher()
    return Chaining(records, AnyFunction(), dispatcher, execute, lambda call: 30), dispatcher


def test_awaiting_a_queued_child_runs_it_inline_once(records):
    ran = []

    def execute(call):
        ran.append(call.id)
        return CallResult(output=call.input.upper())

    chaining, dispatcher = make(records, execute)
    parent = records.issue(dict(user="u", function="f"))
    child = chaining.chain(parent, "g", b"abc")
    assert dispatcher.submitted == [child] and child.parent == parent.id
    outcome = chaining.await_call(parent, child.id, time.monotonic() + 5, known=child)
    assert outcome.result.output == b"ABC" and ran == [child.id]
    assert outcome.result.worker.startswith("inline@")
    assert dispatcher.outcomes[child.id].ok  # stored for pollers
    # A worker receiving the message later finds the claim taken.
    assert records.claim(child.id, CallRecords.TASK, 30) == (False, CallRecords.INLINE)


def test_a_child_already_claimed_is_waited_for(records):
    chaining, dispatcher = make(records, lambda call: pytest.fail("ran twice"))
    parent = records.issue(dict(user="u", function="f"))
    child = chaining.chain(parent, "g", b"")
    assert records.claim(child.id, CallRecords.TASK, 30) == (True, CallRecords.TASK)
    dispatcher.outcomes[child.id] = Outcome(reason="it failed")
    outcome = chaining.await_call(parent, child.id, time.monotonic() + 5, known=child)
    assert not outcome.ok and outcome.reason == "it failed"


def test_failed_inline_child_gives_its_reason(records):
    def execute(call):
        raise CallFailed("Function exited with code 3")

    chaining, _ = make(records, execute)
    parent = records.issue(dict(user="u", function="f"))
    child = chaining.chain(parent, "g", b"")
    outcome = chaining.await_call(parent, child.id, time.monotonic() + 5, known=child)
    assert outcome.reason == "Function exited with code 3"


def test_await_is_bounded_by_the_callers_deadline(records):
    chaining, _ = make(records, lambda call: CallResult())
    parent = records.issue(dict(user="u", function="f"))
    other = records.issue(dict(user="u", function="g"))  # nobody will finish it
    started = time.monotonic()
    with pytest.raises(CallTimedOut):
        chaining.await_call(parent, other.id, time.monotonic() + 0.2)
    assert time.monotonic() - started < 2


def test_calls_of_other_users_cannot_be_awaited(records):
    chaining, _ = make(records, lambda call: CallResult())
    mine = records.issue(dict(user="u", function="f"))
    theirs = records.issue(dict(user="someone_else", function="f"))
    with pytest.raises(BadRequest, match="another user"):
        chaining.await_call(mine, theirs.id, time.monotonic() + 1)


def test_inline_child_gets_at_most_the_callers_remaining_time(records):
    seen = []

    def execute(call):
        seen.append(call.timeout)
        return CallResult()

    chaining, _ = make(records, execute)
    parent = records.issue(dict(user="u", function="f", timeout=60))
    child = chaining.chain(parent, "g", b"")
    chaining.await_call(parent, child.id, time.monotonic() + 2, known=child)
    assert 0 < seen[0] <= 2


def budgeted(records, **limits):
    from faasm.records import ChainBudget
    dispatcher = MemoryDispatcher()
    chaining = Chaining(records, AnyFunction(), dispatcher,
                        lambda call: CallResult(), lambda call: 30, ChainBudget(**limits))
    return chaining, dispatcher


def test_chain_depth_is_bounded_and_the_root_says_why(records):
    chaining, _ = budgeted(records, max_depth=3)
    root = records.issue(dict(user="u", function="f"))
    call = root
    for depth in (1, 2, 3):
        call = chaining.chain(call, "f", b"")
        assert (call.root, call.depth) == (root.id, depth)
    with pytest.raises(CallFailed, match="chain depth limit reached: 3"):
        chaining.chain(call, "f", b"")
    assert "FAASM_CHAIN_MAX_DEPTH" in records.get(root.id)["limit"]


def test_fan_out_per_call_is_bounded(records):
    chaining, dispatcher = budgeted(records, max_fanout=4)
    root = records.issue(dict(user="u", function="f"))
    for _ in range(4):
        chaining.chain(root, "g", b"")
    with pytest.raises(CallFailed, match="fan-out limit reached"):
        chaining.chain(root, "g", b"")
    assert len(dispatcher.submitted) == 4
    # Another call of the same request has its own fan-out.
    assert chaining.chain(dispatcher.submitted[0], "g", b"").depth == 2


def test_calls_per_request_are_bounded_across_the_tree(records):
    chaining, dispatcher = budgeted(records, max_calls=5, max_fanout=2)
    root = records.issue(dict(user="u", function="f"))
    frontier, refused = [root], 0
    while frontier:
        parent = frontier.pop(0)
        for _ in range(2):
            try:
                frontier.append(chaining.chain(parent, "g", b""))
            except CallFailed as exc:
                assert "calls per request limit reached: 5" in exc.reason
                refused += 1
    assert len(dispatcher.submitted) == 5 and refused > 0
    assert "FAASM_CHAIN_MAX_CALLS" in records.get(root.id)["limit"]
    # Another request is not affected.
    other = records.issue(dict(user="u", function="f"))
    assert chaining.chain(other, "g", b"").root == other.id


def test_a_cancelled_request_chains_nothing_more(records):
    chaining, dispatcher = budgeted(records)
    root = records.issue(dict(user="u", function="f"))
    child = chaining.chain(root, "g", b"")
    grandchild = chaining.chain(child, "g", b"")
    assert records.cancel(root.id) == [root.id, child.id, grandchild.id]
    assert records.cancelled(root.id)
    with pytest.raises(CallFailed, match=f"Call {root.id} was cancelled"):
        chaining.chain(grandchild, "g", b"")


def test_a_recursion_error_inline_fails_the_call_cleanly(records):
    def execute(call):
        raise RecursionError("maximum recursion depth exceeded")

    chaining, dispatcher = make(records, execute)
    parent = records.issue(dict(user="u", function="f"))
    child = chaining.chain(parent, "g", b"")
    outcome = chaining.await_call(parent, child.id, time.monotonic() + 5, known=child)
    assert not outcome.ok and "nested too deeply" in outcome.reason
    assert dispatcher.outcomes[child.id] is outcome  # stored: never left RUNNING
