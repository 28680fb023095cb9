"""One contract for every faasm.chaining.Dispatcher: the shipped in-memory one and
the workers' Celery one (over a real Redis, no worker), held to the same behaviour."""

from __future__ import annotations

import threading
import time

import pytest

from faasm.calls import Call, CallResult
from faasm.chaining import MemoryDispatcher, Outcome
from faasm.settings import Settings
from tests import fresh_database


@pytest.fixture(params=["memory", "celery"])
def dispatcher(request, redis_url):
    if request.param == "memory":
        return MemoryDispatcher()
    from workers.app import CallQueue, create_celery
    from workers.dispatch import CeleryDispatcher

    settings = Settings(redis_url=fresh_database(redis_url))
    app = create_celery(settings)
    return CeleryDispatcher(app, CallQueue(app, settings))


_ids = iter(range(1000, 10**6))


def a_call() -> Call:
    return Call(id=next(_ids), user="contract", function="f", input=b"in")


def test_a_call_nobody_ran_has_no_outcome_within_the_wait(dispatcher):
    call = a_call()
    dispatcher.submit(call)
    started = time.monotonic()
    assert dispatcher.wait(call.id, 0.3) is None
    assert 0.25 <= time.monotonic() - started < 5


def test_a_stored_success_is_what_a_waiter_reads(dispatcher):
    call = a_call()
    result = CallResult(output=b"out\x00put", stdout=b"printed\n", worker="w/1")
    dispatcher.store(call.id, Outcome(result=result))
    outcome = dispatcher.wait(call.id, 5)
    assert outcome.ok and outcome.result.output == b"out\x00put"
    assert (outcome.result.stdout, outcome.result.worker) == (b"printed\n", "w/1")


def test_a_stored_failure_keeps_its_reason(dispatcher):
    call = a_call()
    dispatcher.store(call.id, Outcome(reason="Call failed: it said no"))
    outcome = dispatcher.wait(call.id, 5)
    assert not outcome.ok and outcome.reason == "Call failed: it said no"


def test_a_waiter_wakes_when_the_outcome_is_stored(dispatcher):
    call = a_call()
    threading.Timer(0.3, dispatcher.store, (call.id, Outcome(result=CallResult()))).start()
    started = time.monotonic()
    outcome = dispatcher.wait(call.id, 20)
    assert outcome is not None and outcome.ok
    assert time.monotonic() - started < 10  # woken, not timed out


def test_cancel_counts_the_calls_that_had_not_ended_whoever_records_the_kill(redis_url):
    """A worker that kills a running call records it REVOKED itself, often before
    cancel reads it back (a full-suite run saw "0 of 1 calls stopped"): the count is
    of the calls that had not ended when the cancel came, and each reads cancelled."""
    from workers.app import CANCELLED, CallQueue, create_celery

    settings = Settings(redis_url=fresh_database(redis_url))
    app = create_celery(settings)
    queue = CallQueue(app, settings)
    ended, queued, running = 7001, 7002, 7003
    app.backend.store_result(str(ended), CallResult(output=b"done").to_message(), "SUCCESS")

    def revoke_as_the_worker_would(ids, **options):
        # What the running call's worker writes when it kills the call, before any reply.
        app.backend.mark_as_revoked(str(running), "terminated")

    app.control.revoke = revoke_as_the_worker_would
    assert queue.cancel([ended, queued, running]) == 2
    assert queue.status(ended).ok
    for call_id in (queued, running):
        outcome = queue.status(call_id)
        assert not outcome.ok and outcome.reason == CANCELLED, outcome


def _stand_in_worker(redis_url):
    """A CallQueue on a database of its own, with a worker announced (none runs: the
    test plays it) and a short queue grace."""
    from workers.app import CallQueue, create_celery

    settings = Settings(redis_url=fresh_database(redis_url)).replace(queue_grace=1.0)
    app = create_celery(settings)
    queue = CallQueue(app, settings)
    queue.registry.announce("stand-in@test", ["faasm-sync"], 1, 1)
    return app, queue


def test_a_sync_calls_message_the_broker_lost_is_sent_again(redis_url):
    """kombu takes a message with BRPOP; Redis stopping in the turn that served it keeps
    the pop but never sends the reply, and the message is nowhere (CI saw "Call 74 did
    not finish within 20 s" under test_redis_restart_under_load). The sender still has
    it: a sync call neither taken nor queued by the end of the queue grace is sent
    again, once, and answered."""
    app, queue = _stand_in_worker(redis_url)
    client = queue.registry.client
    call = Call(id=8001, user="contract", function="f", input=b"in")
    sent = queue.submit(call, sync=True)
    assert client.lpop("faasm-sync") is not None  # taken, the reply lost: nowhere now
    resent = threading.Event()

    def worker():  # the message comes back; run it
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not client.lpop("faasm-sync"):
            time.sleep(0.05)
        resent.set()
        app.backend.store_result(str(call.id), CallResult(output=b"ran").to_message(),
                                 "SUCCESS")

    threading.Thread(target=worker, daemon=True).start()
    started = time.monotonic()
    assert queue.wait(call, sent, 5).output == b"ran"
    # Sent again at the end of the 1 s grace, well before the 11 s the caller waits.
    assert resent.is_set() and 1.0 < time.monotonic() - started < 9


@pytest.mark.parametrize("where", ["queued", "taken"])
def test_a_sync_call_still_queued_or_taken_is_not_sent_again(redis_url, where):
    from faasm.records import started_key

    app, queue = _stand_in_worker(redis_url)
    client = queue.registry.client
    call = Call(id=8002, user="contract", function="f", input=b"in")
    sent = queue.submit(call, sync=True)
    if where == "taken":
        message = client.lpop("faasm-sync")
        client.set(started_key(queue.settings.key_prefix, call.id), b"1")
    threading.Timer(3.5, app.backend.store_result,
                    (str(call.id), CallResult(output=b"ran").to_message(), "SUCCESS")).start()
    assert queue.wait(call, sent, 5).output == b"ran"
    assert client.llen("faasm-sync") == (1 if where == "queued" else 0)
    if where == "taken":
        assert message is not None
